"""Render one :class:`~archcost.cost.report.Report`: per-layer table, categories, unknown ops."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from archcost.cost.report import Report
from archcost.cost.roofline import (
    ROOFLINE_HEADERS,
    Roofline,
    roofline_cells,
    roofline_summary,
    roofline_total_cells,
)
from archcost.ops.registry import PARAM_ROLES
from archcost.report.format import csv_cell, exact, humanize, markdown_cell, percent, shape_text

FORMATS = ("table", "markdown", "csv", "json")


def render(report: Report, fmt: str, roofline: Roofline | None = None) -> str:
    """The report in ``fmt``: ``table``, ``markdown``, ``csv`` or ``json``; ``roofline`` adds its columns."""
    if fmt == "json":
        from archcost.cost.memory import activation_memory

        data = report.to_dict()
        data["memory"] = activation_memory(report).to_dict()
        if roofline is not None:
            data["roofline"] = roofline.to_dict()
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return _csv(report, roofline)
    return _text(report, "github" if fmt == "markdown" else "simple", roofline)


def _layer_rows(report: Report, roofline: Roofline | None = None) -> list[list[Any]]:
    estimates = roofline.by_name() if roofline is not None else {}
    rows = []
    for r in report.layers:
        rows.append([
            r.name, r.op_type, r.category.value,
            " ".join(shape_text(s) for s in r.inputs), " ".join(shape_text(s) for s in r.outputs),
            report.cost_of(r), *(r.params_by_kind.get(k, 0) for k in PARAM_ROLES), r.params,
            *(roofline_cells(estimates[r.name]) if estimates else ()),
        ])
    return rows


def _headers(report: Report, roofline: Roofline | None = None) -> list[str]:
    return ["layer", "op", "category", "input", "output", report.convention.unit,
            *PARAM_ROLES, "params", *(ROOFLINE_HEADERS if roofline is not None else ())]


def _csv(report: Report, roofline: Roofline | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_headers(report, roofline))
    for row in _layer_rows(report, roofline):
        writer.writerow([csv_cell(c if isinstance(c, (int, str)) else str(c)) for c in row])
    t = report.totals
    writer.writerow(["TOTAL", "", "", "", "", t.cost if isinstance(t.cost, int) else str(t.cost),
                     *(t.params_by_kind.get(k, 0) for k in PARAM_ROLES), t.params,
                     *(roofline_total_cells(roofline) if roofline is not None else ())])
    return out.getvalue()


def _text(report: Report, style: str, roofline: Roofline | None = None) -> str:
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
        return "\n".join(lines + _symbolic_lines(report, style))
    rows = [[cell(c) if isinstance(c, str) else exact(c) for c in row]
            for row in _layer_rows(report, roofline)]
    rows.append(["total", "", "", "", "", exact(t.cost),
                 *(exact(t.params_by_kind.get(k, 0)) for k in PARAM_ROLES), exact(t.params),
                 *(exact(c) for c in (roofline_total_cells(roofline) if roofline is not None else ()))])
    lines.append(tabulate(rows, headers=_headers(report, roofline), tablefmt=style, disable_numparse=True))
    if roofline is not None:
        lines += ["", roofline_summary(roofline)]
    lines += ["", f"total {unit}: {exact(t.cost)} ({humanize(t.cost)})",
              f"params (trainable: weight + bias + norm): {exact(t.params)} ({humanize(t.params)})",
              f"weights (conv and FC kernels, as the MobileNet paper counts): "
              f"{exact(t.weights)} ({humanize(t.weights)})", *_memory_lines(report), ""]
    categories = [
        [s.category.label, exact(s.cost), percent(s.cost, t.cost), exact(s.weights),
         percent(s.weights, t.weights), s.nodes]
        for s in report.by_category().values()
    ]
    lines.append(tabulate(categories, headers=["category", unit, f"% {unit}", "weights", "% weights",
                                               "nodes"], tablefmt=style, disable_numparse=True))
    lines.append("")
    lines += _assumption_lines(report, style)
    if report.unknown:
        lines.append("unknown ops (no cost rule; counted as nothing, listed here):")
        for u in report.unknown:
            lines.append(f"  {u.op_type} ({u.domain or 'ai.onnx'}): {len(u.nodes)} node(s), "
                         f"{100 * u.node_share:.1f}% of nodes, {100 * u.tensor_share:.1f}% of tensors: "
                         f"{', '.join(u.nodes[:5])}")
        lines.append("")
    if report.uncosted:
        lines.append(f"uncosted nodes (inputs downstream of an unknown op): {len(report.uncosted)}")
        lines.append("")
    lines += _note_lines(report)
    return "\n".join(lines)


def _note_lines(report: Report) -> list[str]:
    """How control-flow nodes were costed (If branches, loop trip counts)."""
    if not report.notes:
        return []
    return ["notes:", *(f"  {note}" for note in report.notes), ""]


def _symbolic_lines(report: Report, style: str) -> list[str]:
    """Formulas are too wide for a table: one line per costed layer, then the totals."""
    unit = report.convention.unit
    lines = [f"{unit} per layer (layers with no {unit} omitted):"]
    for r in report.layers:
        cost = report.cost_of(r)
        if cost != 0:
            lines.append(f"  {r.name} [{r.op_type}, {r.category.value}]: {cost}")
    t = report.totals
    lines += ["", f"total {unit}: {t.cost}", f"params (trainable): {t.params}",
              f"weights (conv and FC kernels): {t.weights}", *_memory_lines(report), "",
              f"{unit} by category:"]
    lines += [f"  {s.category.label}: {s.cost}" for s in report.by_category().values() if s.cost != 0]
    return [*lines, "", *_free_lines(report, style), *_assumption_lines(report, style), *_note_lines(report)]


def _free_lines(report: Report, style: str) -> list[str]:
    """The symbols the figures depend on, where each comes from, and how to bind it."""
    free = report.free()
    if not free:
        return []
    cell = markdown_cell if style == "github" else (lambda v: v)
    lines = ["free symbols (bind with --set NAME=VALUE; --input NAME=DIMxDIM... binds a whole graph input):"]
    lines += [f"  {cell(s.name)}: {cell(s.origin)}" for s in free]
    return [*lines, ""]


def _assumption_lines(report: Report, style: str) -> list[str]:
    """Equalities taken as true because symbols left them open: the figures hold where these do."""
    if not report.assumptions:
        return []
    cell = markdown_cell if style == "github" else (lambda v: v)
    lines = ["assumed (neither provable nor refutable statically; the figures hold where these do):"]
    lines += [f"  {cell(str(a))}" for a in report.assumptions]
    return [*lines, ""]


def _memory_lines(report: Report) -> list[str]:
    """Peak activation bytes (default and best order found) and weight bytes."""
    from archcost.cost.memory import activation_memory

    m = activation_memory(report)
    at = f" at {m.steps[m.peak_step].layer}" if m.peak_step is not None else ""
    best = f" ({m.heuristic})"
    lines = [
        f"peak activation bytes, default order: {_bytes(m.peak_bytes)}{at}",
        f"peak activation bytes, best order found: {_bytes(m.best_peak_bytes)}{best}",
        f"weight bytes (every initializer, BN buffers included): {_bytes(m.weight_bytes)}",
    ]
    if m.partial:
        lines.append("memory figures are partial: ops without a cost rule are not scheduled")
    return lines


def _bytes(value: object) -> str:
    return f"{exact(value)} ({humanize(value)}B)" if isinstance(value, int) else str(value)
