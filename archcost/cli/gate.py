"""``archcost gate``: fail when a model exceeds its MAC, parameter or memory budget.

Exit codes: 0 every budget holds; 1 a budget is exceeded; 2 bad input.
Budgets come from the flags, from a budget file (``--config``: YAML, or a
pyproject.toml with ``[tool.archcost.budgets]``; ``./pyproject.toml`` is read
when it has that table), or both (flags win).
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcost.cli.common import (
    add_input_argument,
    add_set_argument,
    add_value_argument,
    parse_inputs,
    parse_sets,
    parse_values,
    write,
)

if TYPE_CHECKING:
    from archcost.budgets import ModelBudget
    from archcost.gate import Budgets, Check, GateResult


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "gate", help="check models against MAC, parameter and memory budgets (for CI)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help="zoo names, spec .yaml or .onnx files (default: every model in the budget file)")
    add_set_argument(parser, "set a spec parameter or bind an ONNX dimension for the named MODELs (repeatable)")
    add_input_argument(parser)
    add_value_argument(parser)
    budgets = parser.add_argument_group("budgets (SI or IEC suffixes: 600M, 1.2G, 17MB, 8MiB)")
    budgets.add_argument("--max-macs", metavar="N", help="multiply-accumulates (conv, Gemm, MatMul)")
    budgets.add_argument("--max-params", metavar="N", help="trainable parameters (weight + bias + norm)")
    budgets.add_argument("--max-weights-bytes", metavar="BYTES",
                         help="bytes of every initializer (weights, biases, norm, BN buffers)")
    budgets.add_argument("--max-peak-activation", metavar="BYTES",
                         help="peak live activation bytes (see --peak-order)")
    budgets.add_argument("--max-unknown-ops", metavar="N", help="nodes whose op has no cost rule")
    budgets.add_argument("--baseline", metavar="FILE", type=Path,
                         help="JSON from `archcost analyze --format json` to compare against")
    budgets.add_argument("--max-increase", metavar="PCT",
                         help="allowed growth over the baseline, e.g. 5%% (MACs, params, bytes)")
    budgets.add_argument("--peak-order", choices=("default", "best"), default=None,
                         help="gate the peak of the default order (default) or of the best order found")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="budget file: YAML, or pyproject.toml with [tool.archcost.budgets]")
    parser.add_argument("--zoo", action="store_true",
                        help="gate every spec in the zoo (specs/), each with its entry or the defaults")
    parser.add_argument("--format", default="text", choices=("text", "json"))
    parser.add_argument("-o", "--output", metavar="FILE", type=Path,
                        help="write the text or JSON result here instead of stdout")
    parser.add_argument("--junit", metavar="FILE", type=Path,
                        help="also write JUnit XML: one test suite per model, one test case per budget")
    parser.add_argument("--github", action="store_true",
                        help="print ::error:: annotations, and append a markdown summary to "
                             "$GITHUB_STEP_SUMMARY when it is set")
    parser.add_argument("--top", type=int, default=5, metavar="N",
                        help="layers to name per exceeded budget (default 5)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcost.errors import ArchcostError

    try:
        return _run(args)
    except ArchcostError as err:
        if args.github:
            write(annotation("error", f"archcost: {err}", title="archcost gate: bad input"))
        raise


def _run(args: argparse.Namespace) -> int:
    from archcost.api import analyze
    from archcost.budgets import load_baseline
    from archcost.cli import ExitCode
    from archcost.cost.memory import activation_memory
    from archcost.errors import UsageError
    from archcost.gate import evaluate

    if args.top < 0:
        raise UsageError(f"--top must be 0 or more, got {args.top}")
    if args.github and args.format == "json" and args.output is None:
        raise UsageError("--github writes annotations to stdout; with --format json, "
                         "send the JSON to a file with --output")
    targets = _targets(args)
    results = []
    for target in targets:
        report = analyze(target.model, params=dict(target.params),
                         input_shapes=parse_inputs(args.inputs) if args.models else None,
                         input_values=parse_values(args.values) if args.models else None)
        baseline = None
        if target.baseline is not None:
            baseline = load_baseline(target.baseline, peak_order=target.budgets.peak_order)
        results.append(evaluate(report, target.budgets, memory=activation_memory(report),
                                baseline=baseline, label=target.label, top=args.top))

    # Everything is known: only now write, so a bad input never leaves half the files.
    main_text = render_json(results) if args.format == "json" else render_text(results)
    if args.junit is not None:
        _write_file(args.junit, render_junit(results))
    if args.github:
        write(render_annotations(results, {t.label: _source_file(t.model) for t in targets}))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            _write_file(Path(summary), render_markdown(results), append=True)
    if args.output is not None:
        _write_file(args.output, main_text)
    else:
        write(main_text)
    return ExitCode.OK if all(r.passed for r in results) else ExitCode.FAILED


def _write_file(path: Path, text: str, *, append: bool = False) -> None:
    from archcost.errors import UsageError
    from archcost.report.output import write_atomic

    try:
        if append:  # the job summary other steps also write to: appended, not replaced
            with path.open("a", encoding="utf-8") as handle:
                handle.write(text)
        else:
            write_atomic(path, text.encode("utf-8"))
    except OSError as err:
        raise UsageError(f"cannot write: {err.strerror}", where=str(path)) from None


def _cli_budgets(args: argparse.Namespace) -> Budgets:
    from archcost.gate import budgets_from_mapping

    flags = {
        "max-macs": args.max_macs, "max-params": args.max_params,
        "max-weights-bytes": args.max_weights_bytes, "max-peak-activation": args.max_peak_activation,
        "max-unknown-ops": args.max_unknown_ops, "max-increase": args.max_increase,
        "peak-order": args.peak_order,
    }
    return budgets_from_mapping({k: v for k, v in flags.items() if v is not None}, where="command line")


def _targets(args: argparse.Namespace) -> list[ModelBudget]:
    from archcost.budgets import BudgetFile, ModelBudget, discover, load_budget_file
    from archcost.errors import UsageError
    from archcost.gate import Budgets

    cli = _cli_budgets(args)
    sets = parse_sets(args.sets)
    config: BudgetFile | None = None
    if args.config is not None:
        config = load_budget_file(args.config)
    else:
        found = discover(Path.cwd())
        if found is not None:
            config = load_budget_file(found)
    defaults = config.defaults if config is not None else Budgets()

    targets: list[ModelBudget] = []
    if args.models and args.zoo:
        raise UsageError("--zoo gates every spec in the zoo; do not name MODELs as well")
    if args.models:
        for name in args.models:
            entry = config.entry(name) if config is not None else None
            if entry is None:
                targets.append(ModelBudget(name, name, defaults.merged(cli), sets, args.baseline))
            else:
                targets.append(ModelBudget(entry.label, entry.model, entry.budgets.merged(cli),
                                      {**entry.params, **sets}, args.baseline or entry.baseline))
    else:
        if sets or args.inputs or args.values:
            raise UsageError("--set and --input apply to the MODELs named on the command line; name one, "
                             "or put `set:` in the budget file")
        if config is not None:
            targets = [ModelBudget(e.label, e.model, e.budgets.merged(cli), e.params, e.baseline)
                       for e in config.models]
        if args.zoo or (config is not None and config.zoo):
            from archcost.zoo import zoo_names

            covered = {t.label for t in targets} | {t.model for t in targets}
            targets += [ModelBudget(n, n, defaults.merged(cli)) for n in zoo_names() if n not in covered]
        if not targets:
            raise UsageError("nothing to gate: name a MODEL, or give a budget file with --config "
                             "(or [tool.archcost.budgets] in ./pyproject.toml)")
        if args.baseline is not None:
            raise UsageError("--baseline compares one model: name it on the command line")
    for t in targets:
        if t.budgets.empty:
            raise UsageError(f"{t.label}: no budget to check; give --max-macs, --max-params, ... or "
                             "an entry (or defaults) in the budget file")
    return targets


def _source_file(model: str) -> str | None:
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


# --- rendering (pure: results in, text out) ---------------------------------------------------

def _number(value: Fraction | int) -> str:
    """An exact figure with thousands separators; a non-integral limit as a decimal."""
    value = Fraction(value)
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{float(value):,.3f}"


def _human(value: Fraction | int, in_bytes: bool) -> str:
    from archcost.report.format import humanize

    value = Fraction(value)
    text = humanize(value.numerator if value.denominator == 1 else value)
    if not in_bytes:
        return text
    mib = float(value) / 2**20
    return f"{text}B, {mib:.3g} MiB" if value >= 2**20 else f"{text}B"


def _pct(ratio: Fraction | None, digits: int = 1) -> str:
    return "∞ %" if ratio is None else f"{float(100 * ratio):.{digits}f} %"


def _factor(ratio: Fraction | None) -> str:
    return "new" if ratio is None else f"×{float(ratio):.5g}"


def describe(check: Check) -> str:
    """One line: which budget, the figures, and by how much it is exceeded (or how close)."""
    unit = check.metric.unit_name
    actual = f"{_number(check.actual)} {unit}"
    if check.kind == "growth":
        assert check.baseline is not None and check.allowed_increase is not None
        growth = check.growth
        change = (f"{_factor(growth)} ({'+' if check.actual >= check.baseline else ''}"
                  f"{_pct(growth - 1 if growth is not None else None)})")
        text = (f"{check.budget}: {actual}, {change} over the baseline's {_number(check.baseline)}; "
                f"allowed +{_pct(check.allowed_increase, 2).replace('.00 ', ' ')}, "
                f"at most {_number(math.floor(check.limit))}")
        if not check.passed:
            text += f"; excess {_human(check.excess, check.metric.is_bytes)} ({_number(check.excess)})"
        return text
    limit = f"{_number(check.limit)} ({_human(check.limit, check.metric.is_bytes)})"
    if check.passed:
        used = "" if check.limit == 0 else f", {_pct(Fraction(check.actual) / check.limit)} of it"
        return f"{check.budget}: {actual} within the budget of {limit}{used}"
    if check.excess_ratio is None:
        return f"{check.budget}: {actual} exceed the budget of {limit}: excess {_number(check.excess)}"
    return (f"{check.budget}: {actual} exceed the budget of {limit}: "
            f"excess {_human(check.excess, check.metric.is_bytes)}, {_pct(check.excess_ratio)} "
            f"({_number(check.excess)})")


def _culprit_heading(check: Check) -> str:
    from archcost.gate import Metric

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


def _culprit_rows(check: Check) -> list[list[str]]:
    rows = []
    for c in check.culprits:
        if check.kind == "growth":
            before = "new" if c.baseline is None else _number(c.baseline)
            rows.append([c.name, f"{before} → {_number(c.value)}", _factor(c.growth), c.detail])
        else:
            share = _pct(Fraction(c.value, check.actual)) if check.actual else ""
            rows.append([c.name, _number(c.value), share, c.detail])
    return rows


def render_text(results: Sequence[GateResult]) -> str:
    """The human summary: per model, each budget, and for a failed one the layers responsible."""
    from tabulate import tabulate

    from archcost.gate import total_checks

    checks, failed = total_checks(results)
    models_failed = sum(not r.passed for r in results)
    verdict = "FAILED" if failed else "passed"
    lines = [f"archcost gate {verdict}: {failed} of {checks} budget(s) exceeded "
             f"in {models_failed} of {len(results)} model(s)", ""]
    for result in results:
        name = result.label if result.label == result.model else f"{result.label} ({result.model})"
        lines.append(f"{name}: {'ok' if result.passed else 'FAIL'}")
        for check in result.checks:
            lines.append(f"  {'ok  ' if check.passed else 'FAIL'} {describe(check)}")
            if check.passed:
                continue
            if check.breakdown:
                lines.append("       by category: " + ", ".join(
                    f"{label} {_pct(share)}" for label, share in check.breakdown))
            if check.culprits:
                lines.append(f"       {_culprit_heading(check)}")
                table = tabulate(_culprit_rows(check), tablefmt="plain", disable_numparse=True)
                lines += [f"         {line}" for line in table.splitlines()]
        for note in result.notes:
            lines.append(f"  note: {note}")
        lines.append("")
    return "\n".join(lines)


def _exact(value: Fraction | int | None) -> Any:
    if value is None:
        return None
    value = Fraction(value)
    return value.numerator if value.denominator == 1 else str(value)


def _ratio(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 6)


def result_dicts(results: Sequence[GateResult]) -> dict[str, Any]:
    """JSON-ready results: exact integers for figures; ratios as rounded floats for reading."""
    from archcost.gate import total_checks

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
                "notes": list(r.notes),
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
                            {"name": k.name, "value": k.value, "detail": k.detail,
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
    return json.dumps(result_dicts(results), indent=2, ensure_ascii=False) + "\n"


def _failure_text(check: Check) -> str:
    lines = [describe(check)]
    if check.breakdown:
        lines.append("by category: " + ", ".join(f"{label} {_pct(s)}" for label, s in check.breakdown))
    if check.culprits:
        lines.append(_culprit_heading(check))
        lines += ["  " + "  ".join(cell for cell in row if cell) for row in _culprit_rows(check)]
    return "\n".join(lines)


def render_junit(results: Sequence[GateResult]) -> str:
    """JUnit XML: ``<testsuites>``, one ``<testsuite>`` per model, one ``<testcase>`` per budget."""
    import xml.etree.ElementTree as ET

    from archcost.gate import total_checks

    checks, failed = total_checks(results)
    root = ET.Element("testsuites", name="archcost gate", tests=str(checks), failures=str(failed),
                      errors="0", time="0")
    for result in results:
        suite = ET.SubElement(root, "testsuite", name=result.label, tests=str(len(result.checks)),
                              failures=str(len(result.failures)), errors="0", skipped="0", time="0")
        for check in result.checks:
            case = ET.SubElement(suite, "testcase", name=check.budget,
                                 classname=f"archcost.gate.{result.label}", time="0")
            if not check.passed:
                failure = ET.SubElement(case, "failure", message=describe(check), type="BudgetExceeded")
                failure.text = _failure_text(check)
            else:
                ET.SubElement(case, "system-out").text = describe(check)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _escape_data(text: str) -> str:
    # GitHub's workflow-command encoding (as @actions/core escapes data).
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, message: str, *, title: str | None = None, file: str | None = None) -> str:
    """One GitHub workflow command line: ``::error file=F,title=T::message``."""
    props = []
    if file:
        props.append(f"file={_escape_property(file)}")
    if title:
        props.append(f"title={_escape_property(title)}")
    head = f"::{level} {','.join(props)}" if props else f"::{level}"
    return f"{head}::{_escape_data(message)}\n"


def render_annotations(results: Sequence[GateResult], files: Mapping[str, str | None]) -> str:
    """An ``::error::`` per exceeded budget, and a ``::warning::`` per note."""
    out = []
    for result in results:
        for check in result.failures:
            out.append(annotation("error", f"{result.label}: {_failure_text(check)}",
                                  title=f"archcost gate: {result.label} {check.budget}",
                                  file=files.get(result.label)))
        for note in result.notes:
            out.append(annotation("warning", f"{result.label}: {note}",
                                  title=f"archcost gate: {result.label}", file=files.get(result.label)))
    return "".join(out)


def render_markdown(results: Sequence[GateResult]) -> str:
    """The job summary: a table of every budget, then the layers behind each exceeded one."""
    from archcost.gate import total_checks
    from archcost.report.format import markdown_cell

    def cell(text: str) -> str:
        return str(markdown_cell(text)).replace("\n", " ")

    checks, failed = total_checks(results)
    head = "❌ budget exceeded" if failed else "✅ every budget holds"
    lines = [f"## archcost gate: {head}", "",
             f"{failed} of {checks} budget(s) exceeded in "
             f"{sum(not r.passed for r in results)} of {len(results)} model(s).", "",
             "| model | budget | limit | actual | result |", "|---|---|---|---|---|"]
    for r in results:
        for c in r.checks:
            if c.passed:
                verdict = "✅ ok"
            elif c.kind == "growth":
                verdict = f"❌ {_factor(c.growth)}, +{_number(c.excess)} over the allowed"
            else:
                verdict = f"❌ +{_human(c.excess, c.metric.is_bytes)} ({_pct(c.excess_ratio)})"
            lines.append(f"| {cell(r.label)} | `{c.budget}` | {_number(c.limit)} | {_number(c.actual)} "
                         f"| {cell(verdict)} |")
    for r in results:
        for c in r.failures:
            lines += ["", f"### {cell(r.label)}: `{c.budget}`", "", cell(describe(c)), ""]
            if c.culprits:
                second = "before → after" if c.kind == "growth" else "value"
                third = "growth" if c.kind == "growth" else "share"
                lines += [f"| {cell(_culprit_heading(c))} | {second} | {third} | detail |",
                          "|---|---|---|---|"]
                lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in _culprit_rows(c)]
        for note in r.notes:
            lines += ["", f"> {cell(r.label)}: {cell(note)}"]
    return "\n".join(lines) + "\n\n"
