"""One model's tables: the per-layer table and where the cost goes, for ``analyze`` and ``report``.

Cells hold the report's raw figures (exact ``int`` or SymPy counts, exact shares);
:mod:`archcost.report.render` decides how they look in each format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archcost.cost.result import Report
from archcost.ops.registry import PARAM_ROLES
from archcost.report.format import percent_of, shape_text
from archcost.report.table import Column, Kind, Table, make_table

if TYPE_CHECKING:
    from archcost.cost.roofline import Roofline


def convention_text(report: Report) -> str:
    """The convention, the parameter values and what "params" and "weights" count, in one line."""
    text = f"{report.convention.name}: {report.convention.description}"
    if report.bindings:
        text += "; parameters " + ", ".join(f"{k}={v}" for k, v in report.bindings.items())
    return text + "; params are the trainable total (weight + bias + norm), weights conv and FC kernels"


def layers_table(report: Report, *, detail: bool = False, roofline: Roofline | None = None,
                 total_label: str = "total") -> Table:
    """Every node with its shapes, cost and parameters; the rows sum to the total row.

    The report's table shows the first input, and weights beside the trainable params;
    ``detail`` (``analyze``) shows every input and the parameters by role (weight, bias, norm,
    buffer). ``roofline`` adds each node's bytes, intensity, estimated time and bound.
    """
    from archcost.report.roofline import ROOFLINE_COLUMNS, roofline_cells, roofline_total_cells

    unit = report.convention.unit
    estimates = roofline.by_name() if roofline is not None else {}
    rows = []
    for r in report.layers:
        inputs = r.inputs if detail else r.inputs[:1]
        params: list[Any] = [r.params_by_kind.get(k, 0) for k in PARAM_ROLES] if detail else [r.weights]
        rows.append([r.name, r.op_type, r.category.value, " ".join(shape_text(s) for s in inputs),
                     " ".join(shape_text(s) for s in r.outputs), report.cost_of(r), *params, r.params,
                     *(roofline_cells(estimates[r.name]) if roofline is not None else ())])
    t = report.totals
    total_params: list[Any] = [t.params_by_kind.get(k, 0) for k in PARAM_ROLES] if detail else [t.weights]
    total = [total_label, "", "", "", "", t.cost, *total_params, t.params,
             *(roofline_total_cells(roofline) if roofline is not None else ())]
    param_columns = ([Column(k, k, Kind.EXACT) for k in PARAM_ROLES] if detail
                     else [Column("weights", "weights", Kind.EXACT)])
    columns = (Column("layer", "layer"), Column("op", "op"), Column("category", "category"),
               Column("input", "input"), Column("output", "output"), Column("cost", unit, Kind.EXACT),
               *param_columns, Column("params", "params", Kind.EXACT),
               *(ROOFLINE_COLUMNS if roofline is not None else ()))
    summed = ("cost", *(c.key for c in param_columns), "params")
    return make_table("layers", f"{report.model}: per-layer costs", columns, rows,
                      convention=convention_text(report), total=total, summed=summed)


def categories_table(report: Report) -> Table:
    """Cost and weights per layer category, with exact shares, and a totals row."""
    t = report.totals
    rows: list[list[Any]] = []
    for s in report.by_category().values():
        rows.append([s.category.label, s.cost, percent_of(s.cost, t.cost), s.weights,
                     percent_of(s.weights, t.weights), s.nodes])
    total = ["total", t.cost, percent_of(t.cost, t.cost), t.weights, percent_of(t.weights, t.weights),
             sum(r[5] for r in rows)]
    unit = report.convention.unit
    columns = (Column("category", "category"), Column("cost", unit, Kind.EXACT),
               Column("cost_percent", f"% {unit}", Kind.PERCENT), Column("weights", "weights", Kind.EXACT),
               Column("weights_percent", "% weights", Kind.PERCENT), Column("nodes", "nodes", Kind.EXACT))
    return make_table("categories", f"{report.model}: where the {unit} go", columns, rows,
                      convention=convention_text(report), total=total, summed=("cost", "weights", "nodes"))


def category_shares_table(report: Report) -> Table:
    """The terminal's short form of :func:`categories_table`: shares to two decimals, no totals row."""
    t = report.totals
    unit = report.convention.unit
    rows = [[s.category.label, s.cost, percent_of(s.cost, t.cost), s.weights, percent_of(s.weights, t.weights),
             s.nodes] for s in report.by_category().values()]
    columns = (Column("category", "category"), Column("cost", unit, Kind.EXACT),
               Column("cost_percent", f"% {unit}", Kind.DECIMAL), Column("weights", "weights", Kind.EXACT),
               Column("weights_percent", "% weights", Kind.DECIMAL), Column("nodes", "nodes", Kind.EXACT))
    return make_table("categories", f"{report.model}: where the {unit} go", columns, rows,
                      convention=convention_text(report))



def modules_table(report: Report, depth: int | None = None) -> Table:
    """Cost, share of the total, params and output shape per module, as a tree down to ``depth``.

    The first row is the whole model; each module's figures include its submodules'. When
    the graph records no module scopes the table is that one row, and a note says so.
    """
    t = report.totals
    rows = [[m.name or report.model, m.depth, m.kind, m.cost, percent_of(m.cost, t.cost), m.params,
             shape_text(m.output) if m.output else ""] for m in report.by_module(depth)]
    unit = report.convention.unit
    columns = (Column("module", "module", depth_from="depth"), Column("depth", "depth", Kind.EXACT),
               Column("class", "class"), Column("cost", unit, Kind.EXACT),
               Column("cost_percent", f"% {unit}", Kind.PERCENT), Column("params", "params", Kind.EXACT),
               Column("output", "output"))
    if report.has_module_scopes:
        notes = ["A module's figures include its submodules'; what it computes outside them counts in it "
                 "alone, so children can sum to less than their parent."]
    else:
        notes = ["This graph records no module scopes (no exporter name scopes, no '/'-separated node "
                 "names, no spec blocks), so the model is shown as one module."]
    return make_table("modules", f"{report.model}: where the {unit} go by module", columns, rows,
                      convention=convention_text(report), notes=notes)
