"""Table builders that reproduce the MobileNet paper's tables and the seed decks' comparisons.

Every builder returns a :class:`~archcost.report.table.Table` of raw values:
computed counts (exact ints) beside the cited figures (strings as printed, from
``archcost/data/cited.yaml``), with a status per row and, for every flagged row,
a sentence in the table's notes. Rendering is :mod:`archcost.report.render`'s job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import zip_longest
from typing import Any

from archcost.categories import Category
from archcost.cost.conventions import PAPER
from archcost.cost.result import LayerRow, Report
from archcost.report.cited import UNITS, Check, load_cited, printed_value, source_text
from archcost.report.format import percent_of
from archcost.report.table import FLAGGED, NO_SPEC, OK, Column, Kind, Table, make_table

#: How every computed figure in these tables is counted.
CONVENTION = (f"{PAPER.name}: {PAPER.description}; parameters are conv and FC weights "
              "unless a column says otherwise")

#: The zoo models the paper reproduction reads, and the default report's name.
REPORT_NAME = "mobilenet_v1"


@dataclass
class Models:
    """Analyses needed by one report, each computed once per (model, parameters).

    Lives only as long as one report build: there is no module-level cache.
    """

    _reports: dict[tuple[str, tuple[tuple[str, str], ...]], Report] = field(default_factory=dict)

    @staticmethod
    def available(model: str) -> bool:
        """Whether the zoo has a spec for ``model`` (rows for missing ones say so)."""
        from archcost.zoo import specs_dir

        return (specs_dir() / f"{model}.yaml").is_file()

    def get(self, model: str, settings: Mapping[str, str] | None = None) -> Report:
        from archcost.cost.pipeline import analyze_model as analyze

        key = (model, tuple(sorted((settings or {}).items())))
        if key not in self._reports:
            self._reports[key] = analyze(model, params=dict(settings or {}))
        return self._reports[key]


# -- Table 1 -----------------------------------------------------------------------------------

_TABLE1_OPS = ("Conv", "GlobalAveragePool", "AveragePool", "Gemm", "Softmax")


def _stride(row: LayerRow) -> int:
    strides = row.attrs.get("strides") or [1]
    return int(strides[0])


def table1_cells(row: LayerRow) -> tuple[str, str, str]:
    """Type / stride, filter shape and input size, written as the paper's Table 1 writes them."""
    shape = row.inputs[0]
    if len(shape) == 4:
        _, c, h, w = shape
        size = f"{h}×{w}×{c}"
    else:
        size = f"1×1×{shape[-1]}"
    if row.op_type == "Conv":
        n, per_group, kh, kw = row.param_shapes[0]
        group = int(row.attrs.get("group", 1))
        if group > 1 and per_group == 1:
            return f"Conv dw / s{_stride(row)}", f"{kh}×{kw}×{n} dw", size
        return f"Conv / s{_stride(row)}", f"{kh}×{kw}×{per_group * group}×{n}", size
    if row.op_type in ("GlobalAveragePool", "AveragePool"):
        kernel = row.attrs.get("kernel_shape") or list(shape[2:])
        return f"Avg Pool / s{_stride(row)}", f"Pool {kernel[0]}×{kernel[1]}", size
    if row.op_type == "Gemm":
        out_features, in_features = row.param_shapes[0]
        if not row.attrs.get("transB", 0):
            in_features, out_features = out_features, in_features
        return "FC / s1", f"{in_features}×{out_features}", size
    return "Softmax / s1", "Classifier", size


def table1(models: Models) -> Table:
    """Table 1: the body architecture, computed, with MACs and weights per row."""
    cited = load_cited()["tables"]["table1"]
    report = models.get(REPORT_NAME)
    rows: list[list[Any]] = []
    notes: list[str] = []
    by_row = {n["row"]: n["text"] for n in cited.get("notes", [])}
    layers = [r for r in report.layers if r.op_type in _TABLE1_OPS]
    for i, (layer, printed) in enumerate(zip_longest(layers, cited["rows"]), start=1):
        if layer is None:
            rows.append([i, "", "", "", "", " | ".join(printed), None, None, FLAGGED])
            notes.append(f"Row {i}: Table 1 prints {' | '.join(printed)!r}, which the spec has no layer for.")
            continue
        cells = table1_cells(layer)
        differing = [p for c, p in zip(cells, printed or ("", "", ""), strict=False) if c != p]
        status = FLAGGED if differing else OK
        rows.append([i, layer.name, *cells, " | ".join(differing) if differing else "same",
                     layer.macs, layer.weights, status])
        if differing:
            text = by_row.get(i, "")
            notes.append(f"Flagged, row {i} ({layer.name}): computed {' | '.join(cells)}; the paper prints "
                         f"{' | '.join(printed or ())}. {text}".rstrip())
    total = ["", "total", "", "", "", "", sum(r[6] or 0 for r in rows), sum(r[7] or 0 for r in rows), ""]
    columns = (
        Column("row", "#"), Column("layer", "layer"), Column("type_stride", "Type / Stride"),
        Column("filter_shape", "Filter Shape"), Column("input_size", "Input Size"),
        Column("cited", "printed in Table 1 (cited), where different", cited=True),
        Column("macs", "MACs", Kind.EXACT), Column("weights", "weights", Kind.EXACT),
        Column("status", "status"),
    )
    return make_table(
        "table1_body_architecture", "Table 1. MobileNet body architecture (α = 1, 224×224)", columns, rows,
        convention=CONVENTION + ". Batch norm, ReLU and flatten rows are omitted, as in the paper "
        "(they have no MACs and no weights)",
        source=source_text(load_cited(), "table1"), total=total, notes=notes, summed=("macs", "weights"),
    )


# -- Table 2 -----------------------------------------------------------------------------------

_TABLE2_CATEGORIES = (Category.CONV_1X1, Category.DEPTHWISE, Category.FULL_CONV, Category.FULLY_CONNECTED)


def _percent(part: int, whole: int) -> Fraction:
    return percent_of(part, whole) or Fraction(0)


def table2(models: Models) -> Table:
    """Table 2: the share of MACs and of weights per layer type."""
    data = load_cited()
    cited = data["tables"]["table2"]["rows"]
    report = models.get(REPORT_NAME)
    shares = report.by_category()
    macs_total, weights_total = int(report.totals.macs), int(report.totals.weights)
    rows: list[list[Any]] = []
    notes: list[str] = []
    for category in Category:
        share = shares.get(category)
        entry = cited.get(category.value)
        if entry is None and (share is None or (share.cost == 0 and share.weights == 0)):
            continue
        macs = int(share.cost) if share else 0
        weights = int(share.weights) if share else 0
        mac_pct, weight_pct = _percent(macs, macs_total), _percent(weights, weights_total)
        status = OK
        if entry is not None:
            checks = [Check(mac_pct, entry["mult_adds_percent"], 1), Check(weight_pct, entry["params_percent"], 1)]
            if not all(c.ok for c in checks):
                status = FLAGGED
                what = [f"{name}: computed {c.rounded} %, cited {c.cited} %"
                        for name, c in zip(("Mult-Adds", "parameters"), checks, strict=False) if not c.ok]
                notes.append(f"Flagged, {entry['label']}: {'; '.join(what)}. {entry.get('note', '')}".rstrip())
        label = entry["label"] if entry else category.label
        rows.append([label, macs, mac_pct, entry["mult_adds_percent"] if entry else None,
                     weights, weight_pct, entry["params_percent"] if entry else None, status])
    cited_mac_sum = sum((printed_value(e["mult_adds_percent"])[0] for e in cited.values()), Fraction(0))
    cited_w_sum = sum((printed_value(e["params_percent"])[0] for e in cited.values()), Fraction(0))
    total = ["total", sum(r[1] for r in rows), _percent(sum(r[1] for r in rows), macs_total),
             f"{float(cited_mac_sum):.2f}", sum(r[4] for r in rows),
             _percent(sum(r[4] for r in rows), weights_total), f"{float(cited_w_sum):.2f}", ""]
    columns = (
        Column("type", "Type"), Column("macs", "MACs", Kind.EXACT),
        Column("macs_percent", "Mult-Adds %", Kind.PERCENT),
        Column("cited_macs_percent", "Mult-Adds % (cited)", cited=True),
        Column("weights", "weights", Kind.EXACT),
        Column("weights_percent", "Parameters %", Kind.PERCENT),
        Column("cited_weights_percent", "Parameters % (cited)", cited=True),
        Column("status", "status"),
    )
    return make_table(
        "table2_resource_per_layer_type", "Table 2. Resource per layer type (MobileNetV1, α = 1, 224×224)",
        columns, rows, convention=CONVENTION, source=source_text(data, "table2"), total=total,
        notes=notes, summed=("macs", "weights"),
    )


# -- Tables 4-9 and the seeds' comparison: model rows beside cited rows ------------------------

_MODEL_TABLES = {
    "table4": ("table4_separable_vs_full", "Table 4. Depthwise separable vs full convolution MobileNet"),
    "table5": ("table5_narrow_vs_shallow", "Table 5. Narrow vs shallow MobileNet"),
    "table6": ("table6_width_multiplier", "Table 6. MobileNet width multiplier (224×224)"),
    "table7": ("table7_resolution", "Table 7. MobileNet resolution (α = 1)"),
    "table8": ("table8_popular_models", "Table 8. MobileNet comparison to popular models"),
    "table9": ("table9_smaller_models", "Table 9. Smaller MobileNet comparison to popular models"),
    "seeds": ("seeds_comparison", "The seed deck's comparison table"),
}


@dataclass(frozen=True)
class ModelRow:
    """One cited row with what the computation gives (``report`` is None when the spec is missing)."""

    entry: Mapping[str, Any]
    report: Report | None
    counts: str

    @property
    def label(self) -> str:
        return str(self.entry["label"])

    @property
    def settings(self) -> dict[str, str]:
        return {str(k): str(v) for k, v in (self.entry.get("set") or {}).items()}

    def macs_check(self) -> Check | None:
        if self.report is None:
            return None
        unit = self.entry.get("mult_adds_unit", "M")
        return Check(int(self.report.totals.macs), self.entry["mult_adds"], UNITS[unit])

    def params_check(self) -> Check | None:
        if self.report is None:
            return None
        t = self.report.totals
        value = t.weights if self.counts == "weights" else t.params
        return Check(int(value), self.entry["params"], UNITS[self.entry.get("params_unit", "M")])


def model_rows(models: Models, key: str) -> Iterator[ModelRow]:
    """The rows of a cited model table, each with its analysis (or None: no spec yet)."""
    table = load_cited()["tables"][key]
    for entry in table["rows"]:
        settings = {str(k): str(v) for k, v in (entry.get("set") or {}).items()}
        model = str(entry["model"])
        report = models.get(model, settings) if Models.available(model) else None
        yield ModelRow(entry, report, table.get("counts", "weights"))


def model_table(models: Models, key: str) -> Table:
    """Tables 4-9 and the seeds' comparison: computed beside cited, flagged beyond printed precision."""
    data = load_cited()
    file_key, title = _MODEL_TABLES[key]
    counts = data["tables"][key].get("counts", "weights")
    params_word = "weights" if counts == "weights" else "params"
    rows: list[list[Any]] = []
    notes: list[str] = []
    for row in model_rows(models, key):
        e = row.entry
        m_unit, p_unit = e.get("mult_adds_unit", "M"), e.get("params_unit", "M")
        settings = ", ".join(f"{k}={v}" for k, v in row.settings.items())
        spec = f"{e['model']}" + (f" ({settings})" if settings else "")
        mc, pc = row.macs_check(), row.params_check()
        if row.report is None or mc is None or pc is None:
            rows.append([row.label, spec, None, None, f"{e['mult_adds']}{m_unit}", None, None,
                         f"{e['params']}{p_unit}", e.get("accuracy"), NO_SPEC])
            notes.append(f"{row.label}: no spec yet for {e['model']!r}; only the cited figures are shown.")
            continue
        status = OK if mc.ok and pc.ok else FLAGGED
        rows.append([row.label, spec, mc.computed, f"{mc.rounded}{m_unit}", f"{e['mult_adds']}{m_unit}",
                     pc.computed, f"{pc.rounded}{p_unit}", f"{e['params']}{p_unit}", e.get("accuracy"), status])
        if status == FLAGGED:
            what = []
            if not mc.ok:
                what.append(f"computed {mc.computed:,} Mult-Adds ({mc.rounded}{m_unit} at the printed "
                            f"precision), cited {e['mult_adds']}{m_unit}")
            if not pc.ok:
                what.append(f"computed {pc.computed:,} {params_word} ({pc.rounded}{p_unit}), "
                            f"cited {e['params']}{p_unit}")
            notes.append(f"Flagged, {row.label}: {'; '.join(what)}. {e.get('note', '')}".rstrip())
        elif e.get("note"):
            notes.append(f"{row.label}: {e['note']}")
    columns = (
        Column("model", "model"), Column("spec", "spec (parameters)"),
        Column("macs", "Mult-Adds (computed)", Kind.EXACT),
        Column("macs_rounded", "computed, at printed precision"),
        Column("cited_macs", "Mult-Adds (cited)", cited=True),
        Column(params_word, f"{params_word} (computed)", Kind.EXACT),
        Column(f"{params_word}_rounded", "computed, at printed precision"),
        Column(f"cited_{params_word}", "parameters (cited)", cited=True),
        Column("cited_accuracy", "ImageNet top-1 (cited, not measured)", cited=True),
        Column("status", "status"),
    )
    convention = CONVENTION if counts == "weights" else (
        f"{PAPER.name}: {PAPER.description}; params are the trainable total (weight + bias + norm), "
        "as the deck's sources count them")
    return make_table(file_key, title, columns, rows, convention=convention,
                      source=source_text(data, key), notes=notes)


# -- the seeds' formulas -----------------------------------------------------------------------


def formula_values() -> dict[str, Any]:
    """The seeds' formulas, derived by the engine from a spec with the paper's symbols left free."""
    import sympy

    from archcost.cost.pipeline import analyze_model as analyze
    from archcost.report.cited import data_path

    spec = str(data_path().parent / "formulas" / "separable.yaml")
    plain = analyze(spec, symbols=("M", "N", "D_K", "D_F"))
    cost = {r.name: r.macs for r in plain.layers}
    scaled = analyze(spec, symbols=("M", "N", "D_K", "D_F", "alpha", "rho"), continuous=True)
    # A feature map of side ρ·D_F has an integer side, so "same" padding's ceil(ρ·D_F / 1)
    # is ρ·D_F itself: the paper's continuous form (its Eq. 7).
    scaled_cost = {r.name: sympy.sympify(r.macs).replace(sympy.ceiling, lambda a: a) for r in scaled.layers}
    alpha, rho = sympy.Symbol("alpha", positive=True), sympy.Symbol("rho", positive=True)
    separable = cost["depthwise"] + cost["pointwise"]
    both = scaled_cost["depthwise"] + scaled_cost["pointwise"]
    return {
        "standard": cost["standard"],
        "depthwise": cost["depthwise"],
        "pointwise": cost["pointwise"],
        "separable": separable,
        "ratio": sympy.expand(sympy.simplify(separable / cost["standard"])),
        "alpha": both.subs(rho, 1),
        "rho": both.subs(alpha, 1),
        "alpha_rho": both,
    }


def cited_formula(text: str) -> Any:
    """A cited formula, parsed by archcost's own expression grammar (never ``sympify``)."""
    from archcost.expr import evaluate_text
    from archcost.symbols import param_symbol

    names = ("M", "N", "D_K", "D_F", "alpha", "rho")
    return evaluate_text(text, {n: param_symbol(n) for n in names})


def formulas_table() -> Table:
    """The seeds' formulas: the engine's derivation beside the deck's printed formula."""
    import sympy

    data = load_cited()
    cited = data["formulas"]
    derived = formula_values()
    rows: list[list[Any]] = []
    notes: list[str] = []
    for key, entry in cited["rows"].items():
        engine = derived[key]
        same = sympy.simplify(engine - cited_formula(entry["expr"])) == 0
        rows.append([entry["label"], engine, entry["printed"], OK if same else FLAGGED])
        if not same:
            notes.append(f"Flagged, {entry['label']}: the engine gives {engine}, the deck prints "
                         f"{entry['printed']}. {entry.get('note', '')}".rstrip())
    columns = (Column("formula", "formula"), Column("engine", "derived by archcost", Kind.FORMULA),
               Column("cited", "as printed (cited)", cited=True), Column("status", "status"))
    source = data["sources"][cited["source"]]["citation"] + "; Howard et al. 2017, Sec. 3, Eqs. 1-7"
    return make_table(
        "seeds_formulas", "The seeds' cost formulas, derived by the engine", columns, rows,
        convention=f"{PAPER.name}: {PAPER.description}. Derived from archcost/data/formulas/separable.yaml "
        "with D_K, M, N, D_F, α, ρ left free (α, ρ rows: continuous form, no rounding)",
        source=source, notes=notes,
    )


# -- the summary -------------------------------------------------------------------------------


def discrepancies(tables: list[Table]) -> Table:
    """Every flagged row of every table, in words, so none is hidden in a long report."""
    rows = []
    for table in tables:
        for note in table.notes:
            if note.startswith("Flagged"):
                rows.append([table.title.split(".")[0] if table.title.startswith("Table") else table.title,
                             note.removeprefix("Flagged, ")])
    columns = (Column("table", "table"), Column("discrepancy", "computed vs cited"))
    return make_table(
        "discrepancies", "Where the computation and the citations differ", columns, rows,
        convention=CONVENTION + ". A row is flagged when the computed figure differs from the cited "
        "one by more than half a unit of the last printed digit",
    )


def paper_tables(models: Models | None = None) -> list[Table]:
    """Every table of the MobileNet paper reproduction, discrepancies first."""
    models = models or Models()
    tables = [table1(models), table2(models)]
    tables += [model_table(models, key) for key in _MODEL_TABLES]
    tables.append(formulas_table())
    return [discrepancies(tables), *tables]
