"""Multi-model comparison: MACs, params, peak activation memory and where the MACs go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcost.categories import Category
from archcost.cost.report import Report
from archcost.errors import UsageError
from archcost.report.table import Column, Kind, Table, make_table

#: Sort keys ``--sort`` accepts, each the column it sorts by (ascending).
SORT_KEYS = ("input", "name", "macs", "params", "weights", "peak_activation")

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
    if not sep or "=" not in rest:
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


def _share(report: Report, *categories: Category) -> Fraction | None:
    total = report.totals.macs
    if not isinstance(total, int) or total == 0:
        return None
    shares = report.by_category()
    part = sum(int(shares[c].cost) for c in categories if c in shares)
    return Fraction(100 * part, total)


def compare_rows(refs: Sequence[ModelRef], reports: Sequence[Report]) -> list[list[Any]]:
    """One row of raw values per model."""
    rows = []
    for ref, report in zip(refs, reports, strict=False):
        t = report.totals
        rows.append([
            ref.label, t.macs, t.params, t.weights, peak_activation(report),
            _share(report, Category.CONV_1X1), _share(report, Category.DEPTHWISE),
            _share(report, Category.FULLY_CONNECTED),
        ])
    return rows


def compare_table(refs: Sequence[ModelRef], reports: Sequence[Report], sort: str = "input") -> Table:
    """The comparison table, sorted ascending by ``sort`` (``input`` keeps the command-line order)."""
    if sort not in SORT_KEYS:
        raise UsageError(f"--sort {sort!r}: choose one of {', '.join(SORT_KEYS)}")
    columns = (
        Column("model", "model"), Column("macs", "MACs", Kind.COUNT), Column("params", "params", Kind.COUNT),
        Column("weights", "weights", Kind.COUNT),
        Column("peak_activation", "peak activation (bytes)", Kind.COUNT),
        Column("conv_1x1_percent", "% MACs in 1×1", Kind.PERCENT),
        Column("depthwise_percent", "% MACs depthwise", Kind.PERCENT),
        Column("fc_percent", "% MACs FC", Kind.PERCENT),
    )
    rows = compare_rows(refs, reports)
    if sort != "input":
        index = 0 if sort == "name" else [c.key for c in columns].index(sort)

        def key(row: list[Any]) -> tuple[int, Any]:
            value = row[index]
            if sort == "name":
                return (0, str(value))
            # Models without a figure (n/a, symbolic) sort last; the sort is stable.
            return (0, value) if isinstance(value, int) else (1, 0)

        rows.sort(key=key)
    conventions = {r.convention.name for r in reports}
    convention = "; ".join(f"{r.convention.name}: {r.convention.description}"
                           for r in reports[:1]) if len(conventions) == 1 else "mixed"
    convention += ("; params are the trainable total (weight + bias + norm), weights conv and FC kernels; "
                   "peak activation is the largest sum of live activation tensors, in bytes, in the "
                   "graph's default topological order")
    return make_table("compare", "Model comparison", columns, rows, convention=convention)
