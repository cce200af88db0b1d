"""Multi-model comparison: MACs, params, peak activation memory and where the MACs go."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcost.categories import Category
from archcost.cost.result import Report
from archcost.errors import UsageError
from archcost.report.format import percent_of
from archcost.report.table import Column, Kind, Table, make_table

#: Sort keys ``--sort`` accepts, each the column it sorts by (ascending).
SORT_KEYS = ("input", "name", "macs", "params", "weights", "peak_activation", "parameter_bytes")

#: Shown when activation memory cannot be computed (``archcost.cost.memory`` not present).
NOT_AVAILABLE = "n/a"


@dataclass(frozen=True)
class ModelRef:
    """A model named on the command line, with its per-model parameters."""

    model: str
    settings: dict[str, str]

    @property
    def label(self) -> str:
        if not self.settings:
            return self.model
        return self.model + ":" + ",".join(f"{k}={v}" for k, v in self.settings.items())


def parse_model_ref(text: str) -> ModelRef:
    """``mobilenet_v1:alpha=0.5,resolution=160`` → model ``mobilenet_v1`` with two settings."""
    model, sep, rest = text.rpartition(":")
    if not sep or "=" not in rest or os.path.lexists(text):  # a file named a:b=c is a file
        return ModelRef(text, {})
    settings: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, value = part.partition("=")
        if not eq or not name.strip() or not value.strip():
            raise UsageError(f"{text!r}: expected MODEL:NAME=VALUE[,NAME=VALUE], got {part!r}")
        settings[name.strip()] = value.strip()
    if not model:
        raise UsageError(f"{text!r}: no model before ':'")
    return ModelRef(model, settings)


def peak_activation(report: Report) -> int | str:
    """Peak activation bytes (default topological order), or ``n/a`` until the memory module exists."""
    try:
        from archcost.cost import memory  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return NOT_AVAILABLE
    profile = memory.activation_memory(report)
    peak = profile.peak_bytes
    return peak if isinstance(peak, int) else str(peak)


def _share(report: Report, category: Category) -> Fraction | None:
    """Percent of the model's MACs in ``category``; ``None`` when the MACs are symbolic."""
    total = report.totals.macs
    if not isinstance(total, int):
        return None
    shares = report.by_category()
    return percent_of(int(shares[category].cost) if category in shares else 0, total)


@dataclass(frozen=True)
class CompareEntry:
    """One model's row of the comparison, as raw figures (small, so it crosses processes cheaply)."""

    label: str
    macs: Any
    params: Any
    weights: Any
    peak_activation: int | str
    #: Percent of the MACs in 1×1 convolutions, depthwise convolutions and FC layers.
    conv_1x1: Fraction | None
    depthwise: Fraction | None
    fully_connected: Fraction | None
    convention: str
    convention_description: str
    #: Bytes of the parameters as stored, and the percent of them stored as integers
    #: (:mod:`archcost.cost.storage`).
    parameter_bytes: Any = None
    quantized: Fraction | None = None
    #: Names given to every model (``--set``) that this model does not declare, so did not take.
    not_taken: tuple[str, ...] = ()

    @property
    def row(self) -> list[Any]:
        return [self.label, self.macs, self.params, self.weights, self.peak_activation, self.conv_1x1,
                self.depthwise, self.fully_connected, self.parameter_bytes, self.quantized]


def compare_entry(ref: ModelRef, report: Report, not_taken: tuple[str, ...] = ()) -> CompareEntry:
    """The comparison row of one analyzed model (``ref``'s label names every setting it ran with)."""
    from archcost.cost.storage import parameter_storage

    t = report.totals
    storage = parameter_storage(report)
    share = storage.quantized_share
    stored = storage.bytes
    return CompareEntry(ref.label, t.macs, t.params, t.weights, peak_activation(report),
                        _share(report, Category.CONV_1X1), _share(report, Category.DEPTHWISE),
                        _share(report, Category.FULLY_CONNECTED), report.convention.name,
                        report.convention.description, stored if isinstance(stored, int) else str(stored),
                        None if share is None else 100 * share, not_taken)


def measure(ref: ModelRef, *, convention: str = "paper", common: Mapping[str, str] | None = None,
            input_shapes: Mapping[str, Any] | None = None,
            input_values: Mapping[str, Any] | None = None) -> CompareEntry:
    """Analyze one model of a comparison: the model is read once.

    ``common`` holds parameters given for every model: a spec takes those it declares, an ONNX
    model takes them all (as dimension bindings), and the model's own settings win.
    ``input_shapes`` and ``input_values`` bind the graph inputs of an ONNX model.
    """
    from archcost.cost.pipeline import analyze_model
    from archcost.frontends.loader import open_model

    source = open_model(ref.model)
    declared: dict[str, str] = {}
    if common:
        declared = dict(common) if source.spec is None else {
            k: v for k, v in common.items() if k in source.spec.params}
    # Graph inputs (ONNX, TFLite), or a PyTorch module's example inputs.
    onnx = source.format in ("onnx", "tflite", "torch")
    settings = {**declared, **ref.settings}
    report = analyze_model(source, convention=convention, params=settings,
                           input_shapes=input_shapes if onnx else None,
                           input_values=input_values if onnx else None)
    # The row's label names every setting the model ran with, --set ones included.
    return compare_entry(ModelRef(ref.model, settings), report,
                         tuple(k for k in (common or {}) if k not in declared))


def settings_notes(entries: Sequence[CompareEntry], common: Mapping[str, str]) -> list[str]:
    """A note for each ``--set`` name some models did not take; an error when none took it."""
    notes = []
    for name in common:
        skipped = [e.label for e in entries if name in e.not_taken]
        if len(skipped) == len(entries):
            raise UsageError(f"--set {name}: no model declares a parameter {name!r} "
                             "(`archcost analyze MODEL` lists a model's parameters)")
        if skipped:
            notes.append(f"--set {name}={common[name]} applies only to the models that declare it; "
                         f"not to {', '.join(skipped)}")
    return notes


def compare_rows(refs: Sequence[ModelRef], reports: Sequence[Report]) -> list[list[Any]]:
    """One row of raw values per model."""
    return [compare_entry(ref, report).row for ref, report in zip(refs, reports, strict=False)]


def compare_table(refs: Sequence[ModelRef], reports: Sequence[Report], sort: str = "input") -> Table:
    """The comparison table, sorted ascending by ``sort`` (``input`` keeps the command-line order)."""
    return entries_table([compare_entry(ref, report) for ref, report in zip(refs, reports, strict=False)],
                         sort)


#: Shorter and two-line column titles for a terminal.
TERMINAL_TITLES = {"peak_activation": "peak act.\nbytes", "conv_1x1_percent": "% MACs\nin 1×1",
                   "depthwise_percent": "% MACs\ndepthwise", "fc_percent": "% MACs\nFC",
                   "parameter_bytes": "param\nbytes", "quantized_percent": "% params\nquantized"}
#: Columns a narrow terminal gives up first.
TERMINAL_DROP = ("weights", "quantized_percent", "parameter_bytes", "fc_percent", "depthwise_percent",
                 "conv_1x1_percent")


def entries_table(entries: Sequence[CompareEntry], sort: str = "input", notes: Sequence[str] = ()) -> Table:
    """The comparison table of :func:`measure`'s entries, sorted ascending by ``sort``."""
    if sort not in SORT_KEYS:
        raise UsageError(f"--sort {sort!r}: choose one of {', '.join(SORT_KEYS)}")
    columns = (
        Column("model", "model"), Column("macs", "MACs", Kind.COUNT), Column("params", "params", Kind.COUNT),
        Column("weights", "weights", Kind.COUNT),
        Column("peak_activation", "peak activation (bytes)", Kind.COUNT),
        Column("conv_1x1_percent", "% MACs in 1×1", Kind.PERCENT),
        Column("depthwise_percent", "% MACs depthwise", Kind.PERCENT),
        Column("fc_percent", "% MACs FC", Kind.PERCENT),
        Column("parameter_bytes", "param bytes", Kind.COUNT),
        Column("quantized_percent", "% params quantized", Kind.PERCENT),
    )
    rows = [e.row for e in entries]
    if sort != "input":
        index = 0 if sort == "name" else [c.key for c in columns].index(sort)

        def key(row: list[Any]) -> tuple[int, Any]:
            value = row[index]
            if sort == "name":
                return (0, str(value))
            # Models without a figure (n/a, symbolic) sort last; the sort is stable.
            return (0, value) if isinstance(value, int) else (1, 0)

        rows.sort(key=key)
    conventions = {e.convention for e in entries}
    convention = "; ".join(f"{e.convention}: {e.convention_description}"
                           for e in entries[:1]) if len(conventions) == 1 else "mixed"
    convention += ("; params are the trainable total (weight + bias + norm), weights conv and FC kernels; "
                   "peak activation is the largest sum of live activation tensors, in bytes, in the "
                   "graph's default topological order; param bytes are the parameters as stored (an int8 "
                   "weight is one byte), % params quantized the share of parameters stored as integers")
    return make_table("compare", "Model comparison", columns, rows, convention=convention, notes=notes)
