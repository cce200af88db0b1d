"""Render one :class:`~archcost.cost.report.Report`: per-layer table, categories, unknown ops."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from archcost.cost.report import Report
from archcost.ops.registry import PARAM_ROLES
from archcost.report.format import csv_cell, exact, humanize, markdown_cell, percent, shape_text

FORMATS = ("table", "markdown", "csv", "json")


def render(report: Report, fmt: str) -> str:
    """The report in ``fmt``: ``table``, ``markdown``, ``csv`` or ``json``."""
    if fmt == "json":
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(report)
    return _text(report, "github" if fmt == "markdown" else "simple")


def _layer_rows(report: Report) -> list[list[Any]]:
    rows = []
    for r in report.layers:
        rows.append([
            r.name, r.op_type, r.category.value,
            " ".join(shape_text(s) for s in r.inputs), " ".join(shape_text(s) for s in r.outputs),
            report.cost_of(r), *(r.params_by_kind.get(k, 0) for k in PARAM_ROLES), r.params,
        ])
    return rows


def _headers(report: Report) -> list[str]:
    return ["layer", "op", "category", "input", "output", report.convention.unit,
            *PARAM_ROLES, "params"]


def _csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_headers(report))
    for row in _layer_rows(report):
        writer.writerow([csv_cell(c if isinstance(c, (int, str)) else str(c)) for c in row])
    t = report.totals
    writer.writerow(["TOTAL", "", "", "", "", t.cost if isinstance(t.cost, int) else str(t.cost),
                     *(t.params_by_kind.get(k, 0) for k in PARAM_ROLES), t.params])
    return out.getvalue()


def _text(report: Report, style: str) -> str:
    from tabulate import tabulate

    cell = markdown_cell if style == "github" else (lambda v: v)
    unit = report.convention.unit
    t = report.totals
    lines = [
        f"# {report.model}" if style == "github" else f"model: {report.model}",
        "",
        f"convention: {report.convention.name} ({report.convention.description})",
    ]
    if report.bindings:
        lines.append("parameters: " + ", ".join(f"{k}={v}" for k, v in report.bindings.items()))
    if report.symbols:
        lines.append("symbols: " + ", ".join(report.symbols))
    lines.append("")
    if report.is_symbolic:
        return "\n".join(lines + _symbolic_lines(report))
    rows = [[cell(c) if isinstance(c, str) else exact(c) for c in row] for row in _layer_rows(report)]
    rows.append(["total", "", "", "", "", exact(t.cost),
                 *(exact(t.params_by_kind.get(k, 0)) for k in PARAM_ROLES), exact(t.params)])
    lines.append(tabulate(rows, headers=_headers(report), tablefmt=style, disable_numparse=True))
    lines += ["", f"total {unit}: {exact(t.cost)} ({humanize(t.cost)})",
              f"params (trainable: weight + bias + norm): {exact(t.params)} ({humanize(t.params)})",
              f"weights (conv and FC kernels, as the MobileNet paper counts): "
              f"{exact(t.weights)} ({humanize(t.weights)})", ""]
    categories = [
        [s.category.label, exact(s.cost), percent(s.cost, t.cost), exact(s.weights),
         percent(s.weights, t.weights), s.nodes]
        for s in report.by_category().values()
    ]
    lines.append(tabulate(categories, headers=["category", unit, f"% {unit}", "weights", "% weights",
                                               "nodes"], tablefmt=style, disable_numparse=True))
    lines.append("")
    if report.unknown:
        lines.append("unknown ops (no cost rule; counted as nothing, listed here):")
        for u in report.unknown:
            lines.append(f"  {u.op_type} ({u.domain or 'ai.onnx'}): {len(u.nodes)} node(s), "
                         f"{100 * u.tensor_share:.1f}% of tensors: {', '.join(u.nodes[:5])}")
        lines.append("")
    if report.uncosted:
        lines.append(f"uncosted nodes (inputs downstream of an unknown op): {len(report.uncosted)}")
        lines.append("")
    return "\n".join(lines)


def _symbolic_lines(report: Report) -> list[str]:
    """Formulas are too wide for a table: one line per costed layer, then the totals."""
    unit = report.convention.unit
    lines = [f"{unit} per layer (layers with no {unit} omitted):"]
    for r in report.layers:
        cost = report.cost_of(r)
        if cost != 0:
            lines.append(f"  {r.name} [{r.op_type}, {r.category.value}]: {cost}")
    t = report.totals
    lines += ["", f"total {unit}: {t.cost}", f"params (trainable): {t.params}",
              f"weights (conv and FC kernels): {t.weights}", "", f"{unit} by category:"]
    lines += [f"  {s.category.label}: {s.cost}" for s in report.by_category().values() if s.cost != 0]
    return [*lines, ""]
