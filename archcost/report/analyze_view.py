"""``archcost analyze``'s terminal view: a summary first, then the layers that cost the most.

Modelled on torchinfo's and fvcore's summaries: the model, the convention and the parameter
values; the totals, numbers right-aligned; the categories; what is free or assumed; then the
top layers by cost (``--top N``), or every layer in graph order (``--layers all``). Every table
is cut to the screen's width (:mod:`archcost.report.terminal`): at the default 100 columns no
line wraps, and a wider terminal (or ``--width``) shows more columns.

The rows of the layer table always sum to its total row: the layers not shown are one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archcost.cost.result import LayerRow, Report
from archcost.numeric import is_concrete
from archcost.ops.registry import PARAM_ROLES
from archcost.report.escape import terminal as shown
from archcost.report.format import exact, formula_text, humanize, percent_of, shape_text
from archcost.report.layers import category_shares_table
from archcost.report.table import Column, Kind, Table, make_table
from archcost.report.terminal import Screen, fit

if TYPE_CHECKING:
    from archcost.cost.roofline import Roofline

#: Layers the view lists by default (``--top``).
DEFAULT_TOP = 10
#: Columns the layer table gives up first when the screen is narrow, in order.
_DROP = ("input", "buffer", "norm", "bias", "bytes_read", "bytes_written", "weight", "bound", "category",
         "share", "op", "est_us")


def analyze_screen(report: Report, screen: Screen, *, top: int | None = DEFAULT_TOP,
                   roofline: Roofline | None = None, tail: Sequence[str] = ()) -> str:
    """The whole view. ``top=None`` lists every layer; ``tail``: the lines on free symbols,
    assumptions, unknown ops and notes, which the other human formats share."""
    lines = _header(report, screen)
    wrapped_tail = [line for text in tail for line in (screen.wrap(text, "    ") if text else [""])]
    if report.is_symbolic:
        lines += _symbolic(report, screen)
        lines += ["", *wrapped_tail]
        return "\n".join(lines).rstrip("\n") + "\n"
    lines += ["", *_totals(report, screen)]
    if roofline is not None:
        from archcost.report.roofline import roofline_summary

        lines += screen.wrap(roofline_summary(roofline))
    lines += ["", screen.paint(f"where the {report.convention.unit} go", "bold")]
    categories = fit(category_shares_table(report), screen.width, drop=("weights_percent", "weights"))
    lines += [categories.text(), *_note(categories.note(), screen), ""]
    lines += wrapped_tail
    lines += _layers(report, screen, top, roofline)
    return "\n".join(lines).rstrip("\n") + "\n"


def _note(text: str, screen: Screen) -> list[str]:
    return [screen.paint(line, "dim") for line in screen.wrap(text)] if text else []


def _header(report: Report, screen: Screen) -> list[str]:
    lines = [screen.paint(f"model: {shown(report.model)}", "bold")]
    lines += screen.wrap(f"convention: {report.convention.name} ({report.convention.description})")
    if report.bindings:
        lines += screen.wrap("parameters: " + shown(", ".join(f"{k}={v}" for k, v in report.bindings.items())))
    if report.symbols:
        lines += screen.wrap("symbols: " + shown(", ".join(report.symbols)))
    return lines


def totals_table(report: Report) -> Table:
    """The totals, each exact and humanized: cost, params, weights, peak activation and weight bytes."""
    from archcost.cost.memory import activation_memory

    t, unit = report.totals, report.convention.unit
    m = activation_memory(report)
    def human(value: Any, suffix: str = "") -> str:
        return humanize(value) + suffix if is_concrete(value) else ""

    rows: list[list[Any]] = [
        [f"total {unit}", t.cost, human(t.cost)],
        ["params (trainable: weight + bias + norm)", t.params, human(t.params)],
        ["weights (conv and FC kernels, as the paper counts)", t.weights, human(t.weights)],
        ["peak activation bytes, default order", m.peak_bytes, human(m.peak_bytes, "B")],
        ["peak activation bytes, best order found", m.best_peak_bytes, human(m.best_peak_bytes, "B")],
        ["weight bytes (every initializer, BN buffers included)", m.weight_bytes, human(m.weight_bytes, "B")],
    ]
    from archcost.cost.storage import parameter_storage
    from archcost.report.format import percent_text

    s = parameter_storage(report)
    if s.bytes_by_dtype:  # parameters as stored: an int8 weight is one byte
        rows.append(["parameter bytes, as stored", s.bytes, human(s.bytes, "B")])
        rows.append(["quantized share (parameters stored as integers)", s.quantized_bytes,
                     percent_text(s.quantized_share, unit=" %")])
    return make_table("totals", f"{report.model}: totals", (Column("what", "totals"),
                      Column("exact", "exact", Kind.EXACT), Column("human", "≈", align="right")), rows,
                      convention=f"{report.convention.name}: {report.convention.description}")


def _totals(report: Report, screen: Screen) -> list[str]:
    """The totals as a two-number table (exact, humanized), then where the memory peaks."""
    from archcost.cost.memory import activation_memory

    m = activation_memory(report)
    table = totals_table(report)
    at = f"at {shown(m.steps[m.peak_step].layer)}" if m.peak_step is not None else ""
    lines = [fit(table, screen.width, cut="what").text()]
    lines += _note("; ".join(x for x in (f"the default order peaks {at}" if at else "",
                                          f"best order found: {m.heuristic}") if x), screen)
    if m.partial:
        lines += _note("memory figures are partial: ops without a cost rule are not scheduled", screen)
    from archcost.cost.storage import parameter_storage

    s = parameter_storage(report)
    if s.bytes_by_dtype:
        kinds = ", ".join(f"{kind} {exact(v)}" for kind, v in s.bytes_by_kind.items())
        dtypes = ", ".join(f"{dtype} {exact(v)}" for dtype, v in s.bytes_by_dtype.items())
        lines += _note(f"parameter bytes by kind: {kinds}; by dtype: {dtypes}", screen)
    return lines


def _layer_cells(report: Report, row: LayerRow, estimates: dict[str, Any]) -> list[Any]:
    from archcost.report.roofline import roofline_cells

    cost = report.cost_of(row)
    return [row.name, row.op_type, row.category.value, " ".join(shape_text(s) for s in row.inputs),
            " ".join(shape_text(s) for s in row.outputs), cost, percent_of(cost, report.totals.cost),
            *(row.params_by_kind.get(k, 0) for k in PARAM_ROLES), row.params,
            *(roofline_cells(estimates[row.name]) if estimates else ())]


def _rest_cells(report: Report, rest: Sequence[LayerRow], estimates: dict[str, Any]) -> list[Any]:
    """One row for the layers not listed: their sums (so the rows still add up to the total)."""
    cost = sum(report.cost_of(r) for r in rest)
    cells: list[Any] = [f"({len(rest)} other layers)", "", "", "", "", cost, percent_of(cost, report.totals.cost),
                        *(sum(r.params_by_kind.get(k, 0) for r in rest) for k in PARAM_ROLES),
                        sum(r.params for r in rest)]
    if estimates:
        mine = [estimates[r.name] for r in rest]
        cells += [sum(e.traffic.read for e in mine), sum(e.traffic.written for e in mine), None,
                  sum(float(e.time) * 1e6 for e in mine), ""]
    return cells


def layers_view_table(report: Report, top: int | None, roofline: Roofline | None = None) -> Table:
    """The layers the view lists: the ``top`` costliest (ties in graph order) and one row for
    the rest, or every layer in graph order (``top=None``); then the total row."""
    from archcost.report.roofline import ROOFLINE_COLUMNS, roofline_total_cells

    estimates = roofline.by_name() if roofline is not None else {}
    layers = list(report.layers)
    if top is None:
        rows = [_layer_cells(report, r, estimates) for r in layers]
    else:
        ranked = sorted(range(len(layers)), key=lambda i: -int(report.cost_of(layers[i])))
        shown = set(ranked[:top])
        rows = [_layer_cells(report, layers[i], estimates) for i in ranked[:top]]
        rest = [r for i, r in enumerate(layers) if i not in shown]
        if rest:
            rows.append(_rest_cells(report, rest, estimates))
    t, unit = report.totals, report.convention.unit
    total = ["total", "", "", "", "", t.cost, percent_of(t.cost, t.cost),
             *(t.params_by_kind.get(k, 0) for k in PARAM_ROLES), t.params,
             *(roofline_total_cells(roofline) if roofline is not None else ())]
    columns = (Column("layer", "layer"), Column("op", "op"), Column("category", "category"),
               Column("input", "input"), Column("output", "output"), Column("cost", unit, Kind.EXACT),
               Column("share", f"% {unit}", Kind.PERCENT), *(Column(k, k, Kind.EXACT) for k in PARAM_ROLES),
               Column("params", "params", Kind.EXACT), *(ROOFLINE_COLUMNS if roofline is not None else ()))
    return make_table("layers", f"{report.model}: layers", columns, rows, convention=report.convention.name,
                      total=total, summed=("cost", *PARAM_ROLES, "params"))


def _layers(report: Report, screen: Screen, top: int | None, roofline: Roofline | None) -> list[str]:
    unit, count = report.convention.unit, len(report.layers)
    if top is None or top >= count:
        title = f"all {count} layers, in graph order"
        top = None
    else:
        title = f"top {top} of {count} layers by {unit} (--top N for more; --layers all lists every layer)"
    fitted = fit(layers_view_table(report, top, roofline), screen.width, drop=_DROP, cut="layer")
    return [*(screen.paint(line, "bold") for line in screen.wrap(title)), fitted.text(),
            *_note(fitted.note(), screen)]


def _symbolic(report: Report, screen: Screen) -> list[str]:
    """Formulas do not fit a table: the totals, the categories, then each costed layer, each a
    readable formula wrapped to the screen."""
    from archcost.cost.memory import activation_memory

    t, unit = report.totals, report.convention.unit
    m = activation_memory(report)

    def item(label: str, value: Any, indent: str = "    ") -> list[str]:
        return screen.wrap(f"{label}: {exact(value) if isinstance(value, int) else formula_text(value)}", indent)

    lines = ["", screen.paint("totals", "bold")]
    lines += item(f"total {unit}", t.cost) + item("params (trainable)", t.params)
    lines += item("weights (conv and FC kernels)", t.weights)
    if m.best_peak_bytes == m.peak_bytes:  # one formula, printed once
        lines += item(f"peak activation bytes, default order = best order found ({m.heuristic})", m.peak_bytes)
    else:
        lines += item("peak activation bytes, default order", m.peak_bytes)
        lines += item(f"peak activation bytes, best order found ({m.heuristic})", m.best_peak_bytes)
    lines += item("weight bytes (every initializer, BN buffers included)", m.weight_bytes)
    lines += ["", screen.paint(f"{unit} by category", "bold")]
    for s in report.by_category().values():
        if s.cost != 0:
            lines += item(f"  {s.category.label}", s.cost, "      ")
    lines += ["", screen.paint(f"{unit} per layer (layers with no {unit} omitted)", "bold")]
    for r in report.layers:
        cost = report.cost_of(r)
        if cost != 0:
            lines += item(f"  {shown(r.name)} [{shown(r.op_type)}, {r.category.value}]", cost, "      ")
    return lines


def storage_lines(report: Report) -> list[str]:
    """Parameter bytes by kind and dtype, and the quantized share (:mod:`archcost.cost.storage`)."""
    from archcost.cost.storage import parameter_storage
    from archcost.report.format import percent_text

    s = parameter_storage(report)
    if not s.bytes_by_dtype:
        return []
    kinds = ", ".join(f"{kind} {exact(v)}" for kind, v in s.bytes_by_kind.items())
    dtypes = ", ".join(f"{dtype} {exact(v)}" for dtype, v in s.bytes_by_dtype.items())
    return [f"parameter bytes: {_byte_text(s.bytes)}: by kind {kinds}; by dtype {dtypes}",
            f"quantized share (parameters stored as integers): {percent_text(s.quantized_share, unit=' %')} of "
            f"parameters, {exact(s.quantized_bytes)} bytes"]


def _byte_text(value: Any) -> str:
    return f"{exact(value)} ({humanize(value)}B)" if isinstance(value, int) else formula_text(value)
