"""``archcost analyze``'s output for one :class:`~archcost.cost.result.Report`: per-layer table,
totals, categories, memory, free symbols, assumptions and unknown ops."""

from __future__ import annotations

from typing import Any

from archcost.cost.result import Report
from archcost.cost.roofline import Roofline
from archcost.report import escape
from archcost.report import render as renderer
from archcost.report.format import exact, humanize
from archcost.report.layers import category_shares_table, layers_table, modules_table
from archcost.report.terminal import Screen

FORMATS = ("table", "markdown", "csv", "json")
#: How ``analyze`` breaks the cost down: node by node, or by module (as a tree).
BREAKDOWNS = ("layer", "module")
#: The module tree's default depth: fvcore's ``flop_count_table`` and torchinfo's ``summary`` use 3.
DEFAULT_DEPTH = 3


def render(report: Report, fmt: str, roofline: Roofline | None = None, *, by: str = "layer",
           depth: int | None = DEFAULT_DEPTH, screen: Screen | None = None, top: int | None = 10) -> str:
    """The report in ``fmt``: ``table``, ``markdown``, ``csv`` or ``json``; ``roofline`` adds its columns.

    ``by="module"`` shows the module tree down to ``depth`` instead of the per-layer table (JSON
    carries both, the tree at every depth). ``table`` is the terminal view
    (:mod:`archcost.report.analyze_view`): fitted to ``screen``, listing the ``top`` costliest
    layers (``None``: every layer).
    """
    if fmt == "table" and by == "layer":
        from archcost.report.analyze_view import analyze_screen

        tail = [*_unknown_lines(report), *_free_lines(report, "simple"), *_assumption_lines(report, "simple"),
                *_note_lines(report)]
        return analyze_screen(report, screen or Screen(), top=top, roofline=roofline, tail=tail)
    if by == "module" and fmt != "json":
        return _by_module(report, fmt, depth, screen)
    if fmt == "json":
        from archcost.cost.memory import activation_memory
        from archcost.cost.storage import parameter_storage, storage_dict

        data = report.to_dict()
        data["memory"] = activation_memory(report).to_dict()
        data["parameter_storage"] = storage_dict(parameter_storage(report))
        if roofline is not None:
            data["roofline"] = roofline.to_dict()
        return renderer.json_text(data)
    if fmt == "csv":
        table = layers_table(report, detail=True, roofline=roofline, total_label="TOTAL")
        return renderer.table_csv(table, header="titles", convention=False, missing="—")
    return _text(report, "github" if fmt == "markdown" else "simple", roofline)


def render_reconciliation(report: Report, fmt: str) -> str:
    """The reconciliation view (:mod:`archcost.report.reconcile`) in ``fmt``."""
    from archcost.report.reconcile import reconciliation_document

    return renderer.render_document(reconciliation_document(report), fmt)


def _text(report: Report, style: str, roofline: Roofline | None = None) -> str:
    unit = report.convention.unit
    t = report.totals
    cell = _cell(style)
    lines = [
        f"# {cell(report.model)}" if style == "github" else f"model: {cell(report.model)}",
        "",
        f"convention: {report.convention.name} ({report.convention.description})",
    ]
    if report.bindings:
        lines.append("parameters: " + cell(", ".join(f"{k}={v}" for k, v in report.bindings.items())))
    if report.symbols:
        lines.append("symbols: " + cell(", ".join(report.symbols)))
    lines.append("")
    if report.is_symbolic:
        return "\n".join(lines + _symbolic_lines(report, style))
    lines.append(renderer.grid(layers_table(report, detail=True, roofline=roofline), style))
    if roofline is not None:
        from archcost.report.roofline import roofline_summary

        lines += ["", roofline_summary(roofline)]
    lines += ["", f"total {unit}: {exact(t.cost)} ({humanize(t.cost)})",
              f"params (trainable: weight + bias + norm): {exact(t.params)} ({humanize(t.params)})",
              f"weights (conv and FC kernels, as the MobileNet paper counts): "
              f"{exact(t.weights)} ({humanize(t.weights)})", *_memory_lines(report, style), ""]
    lines.append(renderer.grid(category_shares_table(report), style))
    lines.append("")
    lines += _assumption_lines(report, style)
    lines += _unknown_lines(report, style)
    lines += _note_lines(report, style)
    return "\n".join(lines)


def _unknown_lines(report: Report, style: str = "simple") -> list[str]:
    """Ops with no cost rule, and the nodes left uncosted downstream of them."""
    cell = _cell(style)
    lines = []
    if report.unknown:
        lines.append("unknown ops (no cost rule; counted as nothing, listed here):")
        for u in report.unknown:
            lines.append(f"  {cell(u.op_type)} ({cell(u.domain or 'ai.onnx')}): {len(u.nodes)} node(s), "
                         f"{100 * u.node_share:.1f}% of nodes, {100 * u.tensor_share:.1f}% of tensors: "
                         f"{cell(', '.join(u.nodes[:5]))}")
        lines.append("")
    if report.uncosted:
        lines.append(f"uncosted nodes (inputs downstream of an unknown op): {len(report.uncosted)}")
        lines.append("")
    return lines


def _by_module(report: Report, fmt: str, depth: int | None, screen: Screen | None = None) -> str:
    table = modules_table(report, depth)
    if fmt == "csv":
        return renderer.table_csv(table, header="titles", convention=False)
    style = "github" if fmt == "markdown" else "simple"
    left_out = ""
    if style == "simple":
        from archcost.report.terminal import fit

        # The terminal's table fits its width (the depth column stays: the tree's indent reads it).
        fitted = fit(table, (screen or Screen()).width, drop=("output", "class"), cut="module")
        table, left_out = fitted.table, fitted.note()
    t = report.totals
    unit = report.convention.unit
    cell = _cell(style)
    lines = [f"# {cell(report.model)}" if style == "github" else f"model: {cell(report.model)}", "",
             f"convention: {report.convention.name} ({report.convention.description})", "",
             renderer.grid(table, style), *([left_out] if left_out else []), "",
             *(f"{cell(n)}" for n in table.notes), "",
             f"total {unit}: {_formula(style)(t.cost)}" + ("" if report.is_symbolic else f" ({humanize(t.cost)})"),
             f"params (trainable: weight + bias + norm): {_formula(style)(t.params)}", ""]
    lines += _free_lines(report, style) + _assumption_lines(report, style) + _note_lines(report, style)
    if style == "simple":  # running text wrapped to the screen; the table already fits it
        grid = lines[4]
        lines = [wrapped for line in lines for wrapped in
                 ([line] if line == grid or not line else (screen or Screen()).wrap(line, "  "))]
    return "\n".join(lines)


def _note_lines(report: Report, style: str = "simple") -> list[str]:
    """How control-flow nodes were costed (If branches, loop trip counts)."""
    if not report.notes:
        return []
    cell = _cell(style)
    return ["notes:", *(f"  {cell(note)}" for note in report.notes), ""]


def _symbolic_lines(report: Report, style: str) -> list[str]:
    """Formulas are too wide for a table: one line per costed layer, then the totals."""
    unit = report.convention.unit
    cell, f = _cell(style), _formula(style)
    lines = [f"{unit} per layer (layers with no {unit} omitted):"]
    for r in report.layers:
        cost = report.cost_of(r)
        if cost != 0:
            lines.append(f"  {cell(r.name)} [{cell(r.op_type)}, {r.category.value}]: {f(cost)}")
    t = report.totals
    lines += ["", f"total {unit}: {f(t.cost)}", f"params (trainable): {f(t.params)}",
              f"weights (conv and FC kernels): {f(t.weights)}", *_memory_lines(report, style), "",
              f"{unit} by category:"]
    lines += [f"  {s.category.label}: {f(s.cost)}" for s in report.by_category().values() if s.cost != 0]
    return [*lines, "", *_free_lines(report, style), *_assumption_lines(report, style),
            *_note_lines(report, style)]


def _formula(style: str) -> Any:
    """A count as text: readable formulas (α, ², ⌊⌋), in a code span in markdown (whose ``*`` and
    ``_`` would otherwise turn into italics and bold)."""
    from archcost.report.format import formula_text

    def text(value: Any) -> str:
        if isinstance(value, int):
            return exact(value)
        return f"`{formula_text(value)}`" if style == "github" else formula_text(value)

    return text


def _cell(style: str) -> Any:
    """The sink's escaping for text from the input: markdown, or the terminal's."""
    return escape.markdown if style == "github" else escape.terminal


def _free_lines(report: Report, style: str) -> list[str]:
    """The symbols the figures depend on, where each comes from, and how to bind it."""
    free = report.free()
    if not free:
        return []
    cell = _cell(style)
    lines = ["free symbols (bind with --set NAME=VALUE; --input NAME=DIMxDIM... binds a whole graph input):"]
    lines += [f"  {cell(s.name)}: {cell(s.origin)}" for s in free]
    return [*lines, ""]


def _assumption_lines(report: Report, style: str) -> list[str]:
    """Equalities taken as true because symbols left them open: the figures hold where these do."""
    if not report.assumptions:
        return []
    cell, f = _cell(style), _formula(style)

    def text(a: Any) -> str:
        if a.left is None:
            return str(cell(str(a)))
        when = f" ({cell(a.condition)})" if a.condition else ""
        return f"{cell(f'node {a.node!r}: {a.what}')}: {f(a.left)} = {f(a.right)}{when}"

    lines = ["assumed (neither provable nor refutable statically; the figures hold where these do):"]
    lines += [f"  {text(a)}" for a in report.assumptions]
    return [*lines, ""]


def _memory_lines(report: Report, style: str = "simple") -> list[str]:
    """Peak activation bytes (default and best order found) and weight bytes."""
    from archcost.cost.memory import activation_memory

    m = activation_memory(report)
    at = f" at {_cell(style)(m.steps[m.peak_step].layer)}" if m.peak_step is not None else ""
    best = f" ({m.heuristic})"
    lines = [
        f"peak activation bytes, default order: {_bytes(m.peak_bytes, style)}{at}",
        f"peak activation bytes, best order found: {_bytes(m.best_peak_bytes, style)}{best}",
        f"weight bytes (every initializer, BN buffers included): {_bytes(m.weight_bytes, style)}",
    ]
    if m.partial:
        lines.append("memory figures are partial: ops without a cost rule are not scheduled")
    from archcost.report.analyze_view import storage_lines

    return lines + storage_lines(report)


def _bytes(value: object, style: str = "simple") -> str:
    """A byte count, exact and humanized; a formula where it is symbolic."""
    return f"{exact(value)} ({humanize(value)}B)" if isinstance(value, int) else str(_formula(style)(value))
