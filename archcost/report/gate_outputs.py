"""The gate's results in words: terminal text, JSON, JUnit XML, GitHub annotations and job summary.

:func:`archcost.gate.evaluate` returns data (figures, exact ratios, the culprit rows);
every function here is pure, results in and text out, so a Python user of the gate gets
each format without the command line::

    results = [evaluate(report, budgets)]
    xml = render_junit(results)
    commands = render_annotations(results, {"mobilenet_v1": "specs/mobilenet_v1.yaml"})
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.gate import (
    Check,
    Culprit,
    GateResult,
    LayerFacts,
    LiveTensor,
    Metric,
    OpNodes,
    total_checks,
)
from archcost.report import escape, render
from archcost.report.format import factor, number, percent_text, quantity, shape_text
from archcost.report.table import Column, Kind, Table, make_table
from archcost.report.terminal import Screen


def _pct(ratio: Fraction | None, digits: int = 1) -> str:
    return percent_text(ratio, digits, unit=" %", missing="∞ %")


# -- one check in words --------------------------------------------------------------------------


def describe(check: Check) -> str:
    """One line: which budget, the figures, and by how much it is exceeded (or how close)."""
    unit = check.metric.unit_name
    actual = f"{number(check.actual)} {unit}"
    if check.kind == "growth":
        assert check.baseline is not None and check.allowed_increase is not None
        growth = check.growth
        change = (f"{factor(growth)} ({'+' if check.actual >= check.baseline else ''}"
                  f"{_pct(growth - 1 if growth is not None else None)})")
        text = (f"{check.budget}: {actual}, {change} over the baseline's {number(check.baseline)}; "
                f"allowed +{_pct(check.allowed_increase, 2).replace('.00 ', ' ')}, "
                f"at most {number(math.floor(check.limit))}")
        if not check.passed:
            text += f"; excess {quantity(check.excess, check.metric.is_bytes)} ({number(check.excess)})"
        return text
    limit = f"{number(check.limit)} ({quantity(check.limit, check.metric.is_bytes)})"
    if check.passed:
        used = "" if check.limit == 0 else f", {_pct(Fraction(check.actual) / check.limit)} of it"
        return f"{check.budget}: {actual} within the budget of {limit}{used}"
    if check.excess_ratio is None:
        return f"{check.budget}: {actual} exceed the budget of {limit}: excess {number(check.excess)}"
    return (f"{check.budget}: {actual} exceed the budget of {limit}: "
            f"excess {quantity(check.excess, check.metric.is_bytes)}, {_pct(check.excess_ratio)} "
            f"({number(check.excess)})")


def culprit_heading(check: Check) -> str:
    """What the culprit rows of ``check`` are: ``largest layers by MACs:``."""
    if check.kind == "growth":
        return "layers that grew most:" if check.metric is not Metric.PEAK_ACTIVATION else \
            "steps whose live bytes grew most:"
    return {
        Metric.MACS: "largest layers by MACs:",
        Metric.PARAMS: "largest layers by params:",
        Metric.WEIGHT_BYTES: "largest layers by weight bytes:",
        Metric.PEAK_ACTIVATION: "largest tensors live at the peak:",
        Metric.UNKNOWN_OPS: "op types without a cost rule:",
    }[check.metric]


def culprit_detail(culprit: Culprit) -> str:
    """What the culprit is: ``Conv, conv_1x1, 1×128×56×56 → 1×128×56×56``, ``graph input; live at step 3 (c)``."""
    about = culprit.about
    if isinstance(about, LayerFacts):
        shapes = " ".join(shape_text(s) for s in about.inputs) + " → " + " ".join(
            shape_text(s) for s in about.outputs)
        return f"{about.op_type}, {about.category.value}, {shapes}"
    if isinstance(about, LiveTensor):
        made = f"output of {about.producer}" if about.producer else "graph input"
        return f"{made}; live at step {about.step + 1} ({about.layer})"
    if isinstance(about, OpNodes):
        return f"{about.domain or 'ai.onnx'}: " + ", ".join(about.nodes) + (", ..." if about.more else "")
    return "live bytes at this step"


def culprit_table(check: Check) -> Table:
    """The culprits of a failed check: name, value (or before → after), share (or growth), detail."""
    growth = check.kind == "growth"
    rows: list[list[Any]] = []
    for c in check.culprits:
        if growth:
            before = "new" if c.baseline is None else number(c.baseline)
            rows.append([c.name, f"{before} → {number(c.value)}", factor(c.growth), culprit_detail(c)])
        else:
            rows.append([c.name, c.value, 100 * Fraction(c.value, check.actual) if check.actual else "",
                         culprit_detail(c)])
    columns = (
        Column("name", culprit_heading(check)),
        Column("value", "before → after") if growth else Column("value", "value", Kind.EXACT),
        Column("growth", "growth") if growth else Column("share", "share", Kind.DECIMAL, digits=1, unit=" %"),
        Column("detail", "detail"),
    )
    return make_table("culprits", culprit_heading(check), columns, rows, convention="")


def gate_notes(result: GateResult) -> list[str]:
    """What the gate did not count: nodes without a cost rule (when ungated), and those after them."""
    notes = []
    if result.unknown_nodes:
        notes.append(f"{result.unknown_nodes} node(s) have no cost rule and are not counted "
                     f"({', '.join(result.unknown_ops)}); gate them with max-unknown-ops")
    if result.uncosted_nodes:
        notes.append(f"{result.uncosted_nodes} node(s) downstream of ops without a cost rule have "
                     "unknown input shapes and are not counted")
    return notes


def _breakdown(check: Check) -> str:
    return "by category: " + ", ".join(f"{label} {_pct(share)}" for label, share in check.breakdown)


# -- terminal text and JSON ------------------------------------------------------------------------


def render_text(results: Sequence[GateResult], screen: Screen | None = None) -> str:
    """The human summary: per model, each budget, and for a failed one the layers responsible.

    ``screen``: wrap every line and fit the culprit tables to its width, and colour the
    verdicts when it allows colour (default: no wrapping, no colour)."""
    from archcost.report.terminal import fit

    width = screen.width if screen is not None else None

    def wrapped(text: str, indent: str) -> list[str]:
        if screen is None or len(text) <= screen.width:
            return [text]
        return screen.wrap(text, indent)

    def paint(text: str, style: str) -> str:
        return screen.paint(text, style) if screen is not None else text

    checks, failed = total_checks(results)
    models_failed = sum(not r.passed for r in results)
    verdict = "FAILED" if failed else "passed"
    lines = [paint(f"archcost gate {verdict}: {failed} of {checks} budget(s) exceeded "
                   f"in {models_failed} of {len(results)} model(s)", "red" if failed else "bold"), ""]
    for result in results:
        name = result.label if result.label == result.model else f"{result.label} ({result.model})"
        lines.append(f"{name}: " + (paint("ok", "green") if result.passed else paint("FAIL", "red")))
        for check in result.checks:
            word = paint("ok  ", "green") if check.passed else paint("FAIL", "red")
            first, *rest = wrapped(f"  FAIL {describe(check)}", " " * 7)
            lines += [f"  {word}{first[6:]}", *rest]
            if check.passed:
                continue
            if check.breakdown:
                lines += wrapped("       " + _breakdown(check), " " * 9)
            if check.culprits:
                lines.append(f"       {culprit_heading(check)}")
                table = culprit_table(check)
                if width is not None:
                    table = fit(table, width - 9, cut="detail", keep="start", style="plain").table
                lines += [f"         {line}" for line in render.grid(table, "plain").splitlines()]
        for note in gate_notes(result):
            lines += wrapped(f"  note: {note}", " " * 8)
        lines.append("")
    # Names reach these lines raw; each line is one line of the terminal sink.
    return "\n".join(map(escape.terminal, lines))


def _exact(value: Fraction | int | None) -> Any:
    if value is None:
        return None
    value = Fraction(value)
    return value.numerator if value.denominator == 1 else str(value)


def _ratio(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def result_dicts(results: Sequence[GateResult]) -> dict[str, Any]:
    """JSON-ready results: exact integers for figures; ratios as rounded floats for reading."""
    checks, failed = total_checks(results)
    return {
        "passed": failed == 0,
        "checks": checks,
        "failed": failed,
        "models": [
            {
                "label": r.label,
                "model": r.model,
                "passed": r.passed,
                "baseline_model": r.baseline_model,
                "notes": gate_notes(r),
                "checks": [
                    {
                        "budget": c.budget,
                        "metric": c.metric.value,
                        "kind": c.kind,
                        "limit": _exact(c.limit),
                        "actual": c.actual,
                        "passed": c.passed,
                        "excess": _exact(c.excess),
                        "excess_ratio": _ratio(c.excess_ratio),
                        "baseline": c.baseline,
                        "allowed_increase": _ratio(c.allowed_increase),
                        "growth": _ratio(c.growth),
                        "breakdown": [{"category": label, "share": _ratio(share)}
                                      for label, share in c.breakdown],
                        "culprits": [
                            {"name": k.name, "value": k.value, "detail": culprit_detail(k),
                             "baseline": k.baseline, "growth": _ratio(k.growth)}
                            for k in c.culprits
                        ],
                    }
                    for c in r.checks
                ],
            }
            for r in results
        ],
    }


def render_json(results: Sequence[GateResult]) -> str:
    return render.json_text(result_dicts(results))


# -- CI formats ----------------------------------------------------------------------------------


def failure_text(check: Check) -> str:
    """A failed check in a few lines: the description, the breakdown and the culprits."""
    lines = [describe(check)]
    if check.breakdown:
        lines.append(_breakdown(check))
    if check.culprits:
        table = culprit_table(check)
        lines.append(culprit_heading(check))
        lines += ["  " + "  ".join(cell for cell in row if cell)
                  for row in (_human_row(table, row) for row in table.rows)]
    return "\n".join(lines)


def _human_row(table: Table, row: tuple[Any, ...]) -> list[str]:
    return [render.human_cell(v, c) for v, c in zip(row, table.columns, strict=True)]


def render_junit(results: Sequence[GateResult]) -> str:
    """JUnit XML: ``<testsuites>``, one ``<testsuite>`` per model, one ``<testcase>`` per budget."""
    import xml.etree.ElementTree as ET

    checks, failed = total_checks(results)
    root = ET.Element("testsuites", name="archcost gate", tests=str(checks), failures=str(failed),
                      errors="0", time="0")
    x = escape.xml
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=x(result.label), tests=str(len(result.checks)),
                              failures=str(len(result.failures)), errors="0", skipped="0", time="0")
        for check in result.checks:
            case = ET.SubElement(suite, "testcase", name=x(check.budget),
                                 classname=x(f"archcost.gate.{result.label}"), time="0")
            if not check.passed:
                failure = ET.SubElement(case, "failure", message=x(describe(check)), type="BudgetExceeded")
                failure.text = x(failure_text(check))
            else:
                ET.SubElement(case, "system-out").text = x(describe(check))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def annotation(level: str, message: str, *, title: str | None = None, file: str | None = None) -> str:
    """One GitHub workflow command line: ``::error file=F,title=T::message``."""
    props = []
    if file:
        props.append(f"file={escape.github_property(file)}")
    if title:
        props.append(f"title={escape.github_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{escape.github_data(message)}\n"


def render_annotations(results: Sequence[GateResult], files: Mapping[str, str | None]) -> str:
    """An ``::error::`` per exceeded budget, and a ``::warning::`` per note; ``files`` maps a
    result's label to the file the annotation points at (:func:`source_file`)."""
    out = []
    for result in results:
        for check in result.failures:
            out.append(annotation("error", f"{result.label}: {failure_text(check)}",
                                  title=f"archcost gate: {result.label} {check.budget}",
                                  file=files.get(result.label)))
        for note in gate_notes(result):
            out.append(annotation("warning", f"{result.label}: {note}",
                                  title=f"archcost gate: {result.label}", file=files.get(result.label)))
    return "".join(out)


def _verdict(check: Check) -> str:
    if check.passed:
        return "✅ ok"
    if check.kind == "growth":
        return f"❌ {factor(check.growth)}, +{number(check.excess)} over the allowed"
    return f"❌ +{quantity(check.excess, check.metric.is_bytes)} ({_pct(check.excess_ratio)})"


def _cell(text: str) -> str:
    return escape.markdown(text)


def render_markdown(results: Sequence[GateResult]) -> str:
    """The job summary: a table of every budget, then the layers behind each exceeded one."""
    checks, failed = total_checks(results)
    head = "❌ budget exceeded" if failed else "✅ every budget holds"
    budgets = make_table(
        "budgets", "budgets",
        (Column("model", "model"), Column("budget", "budget", Kind.CODE), Column("limit", "limit"),
         Column("actual", "actual", Kind.EXACT), Column("result", "result")),
        [[r.label, c.budget, number(c.limit), c.actual, _verdict(c)] for r in results for c in r.checks],
        convention="")
    lines = [f"## archcost gate: {head}", "",
             f"{failed} of {checks} budget(s) exceeded in "
             f"{sum(not r.passed for r in results)} of {len(results)} model(s).", "",
             render.pipe_table(budgets).rstrip("\n")]
    for r in results:
        for c in r.failures:
            lines += ["", f"### {_cell(r.label)}: `{c.budget}`", "", _cell(describe(c)), ""]
            if c.culprits:
                lines.append(render.pipe_table(culprit_table(c)).rstrip("\n"))
        for note in gate_notes(r):
            lines += ["", f"> {_cell(r.label)}: {_cell(note)}"]
    return "\n".join(lines) + "\n\n"


def source_file(model: str) -> str | None:
    """The model's file, as a path from the working directory, when there is one (for annotations)."""
    from archcost.errors import ArchcostError
    from archcost.zoo import resolve

    try:
        path, display = resolve(model)
    except ArchcostError:
        return None
    for candidate in (Path(display), path):
        if candidate.is_file():
            try:
                return candidate.resolve().relative_to(Path.cwd().resolve()).as_posix()
            except ValueError:
                continue
    return None
