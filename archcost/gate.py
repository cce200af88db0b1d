"""Budget gates: budgets and baselines → pass/fail with reasons. Pure: no I/O, no printing.

A :class:`Budgets` holds absolute limits (``max-macs 600M``) and allowed growth
over a baseline (``max-increase 5%``). :func:`evaluate` measures one analyzed
model against them and returns a :class:`GateResult`: one :class:`Check` per
budget, each with the figures, the excess, and the layers most responsible, as
data; :mod:`archcost.report.gate_outputs` words it (text, JSON, JUnit XML, GitHub
annotations and job summary).

Quantities are parsed exactly (:func:`parse_quantity`): ``600M`` is 600·10⁶,
``1.2G`` is 1.2·10⁹, ``8MiB`` is 8·2²⁰ bytes, ``5%`` is 1/20. Every comparison
is between ``int`` and :class:`~fractions.Fraction`, never a float.

What each budget measures:

* ``max-macs``: ``report.totals.macs``, the multiply-accumulates of conv,
  conv-transpose, Gemm and MatMul (the ``mac`` term, whatever the convention);
* ``max-params``: trainable parameters, weight + bias + norm;
* ``max-weights-bytes``: bytes of every initializer, buffers included
  (:attr:`archcost.cost.memory.MemoryProfile.weight_bytes`);
* ``max-peak-activation``: peak live activation bytes of the default order,
  or of the best order found with ``peak-order: best``
  (:mod:`archcost.cost.memory` states the liveness convention);
* ``max-unknown-ops``: nodes whose op type has no cost rule;
* ``max-increase``: growth of each of the first four over a baseline (the JSON
  of ``archcost analyze --format json``), as a percentage.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from archcost.categories import Category
from archcost.errors import UsageError
from archcost.numeric import is_concrete

if TYPE_CHECKING:
    from archcost.cost.memory import MemoryProfile
    from archcost.cost.result import LayerRow, Report

#: How many layers a failed check names, by default.
TOP_LAYERS = 5


class Metric(str, enum.Enum):
    """A figure a budget limits."""

    MACS = "macs"
    PARAMS = "params"
    WEIGHT_BYTES = "weight_bytes"
    PEAK_ACTIVATION = "peak_activation"
    UNKNOWN_OPS = "unknown_ops"

    @property
    def budget(self) -> str:
        """The budget's name on the command line and in budget files."""
        return _BUDGET_NAMES[self]

    @property
    def unit_name(self) -> str:
        return _TITLES[self]

    @property
    def is_bytes(self) -> bool:
        return self in (Metric.WEIGHT_BYTES, Metric.PEAK_ACTIVATION)


_BUDGET_NAMES = {
    Metric.MACS: "max-macs",
    Metric.PARAMS: "max-params",
    Metric.WEIGHT_BYTES: "max-weights-bytes",
    Metric.PEAK_ACTIVATION: "max-peak-activation",
    Metric.UNKNOWN_OPS: "max-unknown-ops",
}
_TITLES = {
    Metric.MACS: "MACs",
    Metric.PARAMS: "params",
    Metric.WEIGHT_BYTES: "weight bytes",
    Metric.PEAK_ACTIVATION: "peak activation bytes",
    Metric.UNKNOWN_OPS: "unknown-op nodes",
}
#: Metrics a baseline can bound with ``max-increase``.
GROWTH_METRICS = (Metric.MACS, Metric.PARAMS, Metric.WEIGHT_BYTES, Metric.PEAK_ACTIVATION)
PEAK_ORDERS = ("default", "best")

_SI = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
_IEC = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_QUANTITY = re.compile(
    r"(?P<number>[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+)"
    r"\s*(?P<prefix>[kKMGTP]i?)?(?P<unit>B)?"
)
_MAX_TEXT = 64


def parse_quantity(text: Any, *, name: str, in_bytes: bool = False, where: str | None = None) -> Fraction:
    """An exact, non-negative budget value from ``600M``, ``1.2G``, ``8MiB``, ``17MB`` or a number.

    SI prefixes (k or K, M, G, T, P) are powers of 1000; IEC prefixes (Ki, Mi,
    Gi, Ti, Pi) powers of 1024. A trailing ``B`` is allowed only for byte
    budgets (``in_bytes``). Examples: ``parse_quantity("1.2G", name="max-macs")``
    is ``Fraction(1200000000)``; ``parse_quantity("8MiB", name="m", in_bytes=True)``
    is ``Fraction(8388608)``.
    """
    if isinstance(text, bool):
        raise UsageError(f"{name}: expected a number such as 600M, got {text!r}", where=where)
    if isinstance(text, (int, Fraction)):
        value = Fraction(text)
    elif isinstance(text, float):
        # TOML and JSON give floats: read them as the decimal the user typed.
        value = _decimal(repr(text), name, where)
    elif isinstance(text, str):
        value = _parse_text(text, name=name, in_bytes=in_bytes, where=where)
    else:
        raise UsageError(f"{name}: expected a number such as 600M, got {text!r}", where=where)
    if value < 0:
        raise UsageError(f"{name}: a budget cannot be negative, got {text!r}", where=where)
    return value


def _parse_text(text: str, *, name: str, in_bytes: bool, where: str | None) -> Fraction:
    raw = text.strip()
    if len(raw) > _MAX_TEXT:
        raise UsageError(f"{name}: value is longer than {_MAX_TEXT} characters", where=where)
    match = _QUANTITY.fullmatch(raw)
    if match is None:
        hint = ""
        if re.fullmatch(r"[0-9._]+\s*[mgtp]i?b?", raw):
            hint = " (prefixes are upper case: M for mega, G for giga; k or K for kilo)"
        elif re.fullmatch(r"[0-9._]+\s*[kKMGTP]?i?b", raw):
            hint = " (bytes are an upper-case B)"
        raise UsageError(
            f"{name}: cannot read {text!r} as a number; write e.g. 600M, 1.2G, 4.5M, 8MiB or 17MB{hint}",
            where=where,
        )
    if match["unit"] and not in_bytes:
        raise UsageError(f"{name}: {text!r} is in bytes, but {name} counts; drop the B", where=where)
    prefix = match["prefix"] or ""
    scale = _IEC[prefix] if prefix.endswith("i") else _SI[prefix]
    return _decimal(match["number"].replace("_", ""), name, where) * scale


def _decimal(number: str, name: str, where: str | None) -> Fraction:
    try:
        value = Decimal(number)
    except InvalidOperation:
        raise UsageError(f"{name}: cannot read {number!r} as a number", where=where) from None
    if not value.is_finite():
        raise UsageError(f"{name}: {number!r} is not a finite number", where=where)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and abs(exponent) > 30:
        raise UsageError(f"{name}: {number!r} is out of range", where=where)
    return Fraction(value)


def parse_percent(text: Any, *, name: str = "max-increase", where: str | None = None) -> Fraction:
    """``"5%"`` → ``Fraction(1, 20)``: the allowed relative growth. The ``%`` sign is required."""
    if isinstance(text, str) and text.strip().endswith("%"):
        return parse_quantity(text.strip()[:-1].strip(), name=name, where=where) / 100
    raise UsageError(f"{name}: expected a percentage such as 5%, got {text!r}", where=where)


@dataclass(frozen=True)
class Budgets:
    """Limits for one model. ``None`` or an absent key means "not checked"."""

    limits: Mapping[Metric, Fraction] = field(default_factory=dict)
    #: Allowed relative growth over the baseline, per metric (``Fraction(1, 20)`` is 5 %).
    max_increase: Mapping[Metric, Fraction] = field(default_factory=dict)
    #: Which schedule ``max-peak-activation`` applies to: ``default`` or ``best``; ``None``: unset.
    order: str | None = None

    @property
    def peak_order(self) -> str:
        """The schedule whose peak is gated (``default`` unless set)."""
        return self.order or "default"

    def merged(self, override: Budgets) -> Budgets:
        """These budgets with every value ``override`` sets replaced."""
        return Budgets(
            {**self.limits, **override.limits},
            {**self.max_increase, **override.max_increase},
            override.order if override.order is not None else self.order,
        )

    @property
    def empty(self) -> bool:
        return not self.limits and not self.max_increase


#: Keys :func:`budgets_from_mapping` accepts (``_`` may replace ``-``).
BUDGET_KEYS = (*(m.budget for m in Metric), "max-increase", "peak-order")


def budgets_from_mapping(data: Mapping[str, Any], *, where: str | None = None,
                         line_of: Any = None) -> Budgets:
    """Budgets from a mapping such as one table of a budget file.

    ``line_of(key)``, when given, returns a location for ``key`` in error messages.
    """
    limits: dict[Metric, Fraction] = {}
    increase: dict[Metric, Fraction] = {}
    peak_order: str | None = None
    by_name = {m.budget: m for m in Metric}
    for raw_key, value in data.items():
        key = str(raw_key).replace("_", "-")
        at = line_of(raw_key) if line_of is not None else where
        if key in by_name:
            metric = by_name[key]
            limits[metric] = _limit(metric, value, at)
        elif key == "max-increase":
            increase.update(_increase(value, at))
        elif key == "peak-order":
            if value not in PEAK_ORDERS:
                raise UsageError(f"peak-order: expected one of {', '.join(PEAK_ORDERS)}, got {value!r}",
                                 where=at)
            peak_order = str(value)
        else:
            raise UsageError(f"unknown budget {raw_key!r}; budgets are: {', '.join(BUDGET_KEYS)}", where=at)
    return Budgets(limits, increase, peak_order)


def _limit(metric: Metric, value: Any, where: str | None) -> Fraction:
    limit = parse_quantity(value, name=metric.budget, in_bytes=metric.is_bytes, where=where)
    if metric is Metric.UNKNOWN_OPS and limit.denominator != 1:
        raise UsageError(f"{metric.budget}: expected a whole number of nodes, got {value!r}", where=where)
    return limit


def _increase(value: Any, where: str | None) -> dict[Metric, Fraction]:
    if isinstance(value, Mapping):
        by_value = {m.value: m for m in GROWTH_METRICS}
        result = {}
        for k, v in value.items():
            metric = by_value.get(str(k).replace("-", "_"))
            if metric is None:
                raise UsageError(
                    f"max-increase: unknown metric {k!r}; metrics are: "
                    f"{', '.join(m.value for m in GROWTH_METRICS)}", where=where)
            result[metric] = parse_percent(v, where=where)
        return result
    pct = parse_percent(value, where=where)
    return dict.fromkeys(GROWTH_METRICS, pct)


@dataclass(frozen=True)
class Baseline:
    """Figures of an earlier run: totals and per-layer values, by metric."""

    model: str
    totals: Mapping[Metric, int]
    #: Per-layer values by metric (``peak_activation`` is per step: the live bytes at that layer).
    layers: Mapping[Metric, Mapping[str, int]]
    peak_order: str = "default"


def baseline_from_dict(data: Any, *, where: str, peak_order: str = "default") -> Baseline:
    """A :class:`Baseline` from the JSON of ``archcost analyze --format json``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("totals"), Mapping):
        raise UsageError("not a baseline: expected the JSON of `archcost analyze --format json` "
                         "(an object with \"totals\" and \"layers\")", where=where)

    def count(value: Any, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"baseline {what} is {value!r}, not an exact integer; make the baseline "
                             "with concrete parameters (no --symbolic)", where=where)
        return value

    totals_raw = data["totals"]
    totals: dict[Metric, int] = {}
    layers: dict[Metric, dict[str, int]] = {Metric.MACS: {}, Metric.PARAMS: {}}
    for metric in (Metric.MACS, Metric.PARAMS):
        if metric.value in totals_raw:
            totals[metric] = count(totals_raw[metric.value], f"totals.{metric.value}")
    rows = data.get("layers", [])
    if not isinstance(rows, list):
        raise UsageError("baseline \"layers\" must be a list", where=where)
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get("name"), str):
            raise UsageError("baseline layer without a name", where=where)
        for metric in (Metric.MACS, Metric.PARAMS):
            if metric.value in row:
                layers[metric][row["name"]] = count(row[metric.value], f"{row['name']}.{metric.value}")
    memory = data.get("memory")
    if isinstance(memory, Mapping):
        peak_key = "best_peak_activation_bytes" if peak_order == "best" else "peak_activation_bytes"
        if peak_key in memory:
            totals[Metric.PEAK_ACTIVATION] = count(memory[peak_key], f"memory.{peak_key}")
        if "weight_bytes" in memory:
            totals[Metric.WEIGHT_BYTES] = count(memory["weight_bytes"], "memory.weight_bytes")
        live: dict[str, int] = {}
        weights: dict[str, int] = {}
        steps = memory.get("steps", []) if peak_order == "default" else []
        for step in steps if isinstance(steps, list) else []:
            if isinstance(step, Mapping) and isinstance(step.get("layer"), str):
                if "live_bytes" in step:
                    live[step["layer"]] = count(step["live_bytes"], "memory step live_bytes")
                if "weight_bytes" in step:
                    weights[step["layer"]] = count(step["weight_bytes"], "memory step weight_bytes")
        layers[Metric.PEAK_ACTIVATION] = live
        layers[Metric.WEIGHT_BYTES] = weights
    return Baseline(str(data.get("model", "")), totals, layers, peak_order)


@dataclass(frozen=True)
class LayerFacts:
    """A layer behind a figure: what it runs and on which shapes."""

    op_type: str
    category: Category
    inputs: tuple[tuple[Any, ...], ...]
    outputs: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class LiveTensor:
    """A tensor live at the peak: who made it (``None``: a graph input), and the peak step."""

    producer: str | None
    #: The step of the schedule at the peak (0-based) and the layer it runs.
    step: int
    layer: str


@dataclass(frozen=True)
class OpNodes:
    """An op type without a cost rule: its domain and its first nodes."""

    domain: str
    nodes: tuple[str, ...]
    #: More nodes of this op type exist than :attr:`nodes` lists.
    more: bool = False


@dataclass(frozen=True)
class LiveStep:
    """A step of the default schedule, measured by the bytes live while it runs."""


@dataclass(frozen=True)
class Culprit:
    """One layer (or tensor, or op type, or schedule step) behind a figure."""

    name: str
    value: int
    #: What the culprit is, for a report to describe (:mod:`archcost.report.gate_outputs`).
    about: LayerFacts | LiveTensor | OpNodes | LiveStep
    #: The baseline's value for the same layer (growth checks); ``None`` when new.
    baseline: int | None = None

    @property
    def growth(self) -> Fraction | None:
        """``value / baseline``; ``None`` when the layer is new or was 0."""
        if self.baseline is None or self.baseline == 0:
            return None
        return Fraction(self.value, self.baseline)


@dataclass(frozen=True)
class Check:
    """One budget, measured."""

    metric: Metric
    #: ``limit`` (an absolute budget) or ``growth`` (``max-increase`` over a baseline).
    kind: str
    #: The largest value that passes: the budget, or baseline × (1 + allowed increase).
    limit: Fraction
    actual: int
    #: The culprits, for a failed check; the largest first.
    culprits: tuple[Culprit, ...] = ()
    baseline: int | None = None
    allowed_increase: Fraction | None = None
    #: Share of the total per layer category, e.g. ("Conv 1×1 (pointwise)", 0.9486...).
    breakdown: tuple[tuple[str, Fraction], ...] = ()

    @property
    def budget(self) -> str:
        """``max-macs``, or ``max-increase:macs`` for a growth check."""
        return self.metric.budget if self.kind == "limit" else f"max-increase:{self.metric.value}"

    @property
    def passed(self) -> bool:
        return self.actual <= self.limit

    @property
    def excess(self) -> int:
        """How far over the largest whole number within the limit (0 when within).

        The figures are whole numbers, so a limit of baseline × 1.05 = 597,177,369.6
        admits at most 597,177,369, and the excess is counted from there.
        """
        return max(0, self.actual - math.floor(self.limit))

    @property
    def excess_ratio(self) -> Fraction | None:
        """Excess over the limit, relative to the limit; ``None`` for a zero limit."""
        return self.excess / self.limit if self.limit else None

    @property
    def growth(self) -> Fraction | None:
        """``actual / baseline`` for a growth check."""
        if self.baseline is None or self.baseline == 0:
            return None
        return Fraction(self.actual, self.baseline)


@dataclass(frozen=True)
class GateResult:
    """Every check for one model."""

    label: str
    model: str
    checks: tuple[Check, ...]
    #: The baseline's model name, when a baseline was given.
    baseline_model: str | None = None
    #: Nodes whose op has no cost rule, and those op types (sorted), when no budget gates them:
    #: they are not counted, and the result says so.
    unknown_nodes: int = 0
    unknown_ops: tuple[str, ...] = ()
    #: Nodes downstream of ops without a cost rule, whose input shapes are unknown (not counted).
    uncosted_nodes: int = 0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)


def measure(report: Report, memory: MemoryProfile, metric: Metric, peak_order: str = "default") -> Any:
    """The figure ``metric`` limits, for one analyzed model."""
    if metric is Metric.MACS:
        return report.totals.macs
    if metric is Metric.PARAMS:
        return report.totals.params
    if metric is Metric.WEIGHT_BYTES:
        return memory.weight_bytes
    if metric is Metric.PEAK_ACTIVATION:
        return memory.best_peak_bytes if peak_order == "best" else memory.peak_bytes
    return sum(len(u.nodes) for u in report.unknown)


def evaluate(
    report: Report,
    budgets: Budgets,
    *,
    memory: MemoryProfile | None = None,
    baseline: Baseline | None = None,
    label: str | None = None,
    top: int = TOP_LAYERS,
) -> GateResult:
    """Check ``report`` against ``budgets`` (and ``baseline``, for ``max-increase``).

    Raises :class:`~archcost.errors.UsageError` when a budgeted figure is
    symbolic, or when ``max-increase`` is set without a baseline.
    """
    if memory is None:
        from archcost.cost.memory import activation_memory

        memory = activation_memory(report)
    if budgets.max_increase and baseline is None:
        raise UsageError("max-increase needs a baseline (--baseline FILE, or baseline: in the budget file)")
    order = budgets.peak_order
    checks: list[Check] = []
    for metric in Metric:
        if metric not in budgets.limits:
            continue
        actual = _concrete(measure(report, memory, metric, order), metric, report)
        limit = budgets.limits[metric]
        check = Check(metric, "limit", limit, actual)
        if not check.passed:
            check = replace(check, culprits=_culprits(report, memory, metric, order, top),
                            breakdown=_breakdown(report, metric))
        checks.append(check)
    if baseline is not None:
        for metric in GROWTH_METRICS:
            pct = budgets.max_increase.get(metric)
            if pct is None:
                continue
            before = baseline.totals.get(metric)
            if before is None:
                raise UsageError(
                    f"max-increase: the baseline has no {metric.unit_name} figure; regenerate it with "
                    "`archcost analyze --format json`")
            actual = _concrete(measure(report, memory, metric, order), metric, report)
            check = Check(metric, "growth", before * (1 + pct), actual, baseline=before,
                          allowed_increase=pct)
            if not check.passed:
                check = replace(check, culprits=_growth_culprits(report, memory, baseline, metric, top))
            checks.append(check)
    ungated = bool(report.unknown) and Metric.UNKNOWN_OPS not in budgets.limits
    return GateResult(
        label or report.model, report.model, tuple(checks), baseline.model if baseline is not None else None,
        unknown_nodes=sum(len(u.nodes) for u in report.unknown) if ungated else 0,
        unknown_ops=tuple(sorted({u.op_type for u in report.unknown})) if ungated else (),
        uncosted_nodes=len(report.uncosted),
    )


def _concrete(value: Any, metric: Metric, report: Report) -> int:
    if not is_concrete(value) or not isinstance(value, int):
        free = report.binding_hint() or "the free dimensions with --set NAME=VALUE"
        raise UsageError(
            f"{report.model}: {metric.unit_name} is the formula {value}, not a number; "
            f"bind {free} (or set: in the budget file) to gate it")
    return value


def _layer_facts(row: LayerRow) -> LayerFacts:
    return LayerFacts(row.op_type, row.category, tuple(tuple(s) for s in row.inputs),
                      tuple(tuple(s) for s in row.outputs))


def _top_rows(report: Report, value_of: Any, top: int) -> tuple[Culprit, ...]:
    ranked = sorted(
        ((value_of(r), i, r) for i, r in enumerate(report.layers)),
        key=lambda item: (-item[0], item[1]),
    )
    return tuple(Culprit(r.name, v, _layer_facts(r)) for v, _, r in ranked[:top] if v > 0)


def _culprits(report: Report, memory: MemoryProfile, metric: Metric, order: str,
              top: int) -> tuple[Culprit, ...]:
    if metric is Metric.MACS:
        return _top_rows(report, lambda r: r.macs, top)
    if metric is Metric.PARAMS:
        return _top_rows(report, lambda r: r.params, top)
    if metric is Metric.WEIGHT_BYTES:
        return _top_rows(report, lambda r: memory.weight_bytes_by_layer.get(r.name, 0), top)
    if metric is Metric.PEAK_ACTIVATION:
        steps = memory.best_steps if order == "best" else memory.steps
        if not steps:
            return ()
        at = max(range(len(steps)), key=lambda i: (steps[i].live_bytes, -i))
        step = steps[at]
        live = sorted(step.live, key=lambda t: -memory.tensor_bytes[t])
        return tuple(Culprit(t, int(memory.tensor_bytes[t]), LiveTensor(memory.producers.get(t), at, step.layer))
                     for t in live[:top])
    return tuple(
        Culprit(u.op_type, len(u.nodes), OpNodes(u.domain, tuple(u.nodes[:top]), len(u.nodes) > top))
        for u in sorted(report.unknown, key=lambda u: -len(u.nodes))[:top]
    )


def _breakdown(report: Report, metric: Metric) -> tuple[tuple[str, Fraction], ...]:
    """Each layer category's share of the total, largest first (MACs and params only)."""
    if metric not in (Metric.MACS, Metric.PARAMS):
        return ()
    total = report.totals.macs if metric is Metric.MACS else report.totals.params
    if not isinstance(total, int) or total == 0:
        return ()
    parts: dict[str, int] = {}
    for r in report.layers:
        value = r.macs if metric is Metric.MACS else r.params
        if isinstance(value, int) and value:
            parts[r.category.label] = parts.get(r.category.label, 0) + value
    return tuple(sorted(((label, Fraction(v, total)) for label, v in parts.items()),
                        key=lambda s: -s[1]))


def _growth_culprits(report: Report, memory: MemoryProfile, baseline: Baseline, metric: Metric,
                     top: int) -> tuple[Culprit, ...]:
    before = baseline.layers.get(metric, {})
    now: list[tuple[str, int, LayerFacts | LiveStep]] = []
    if metric is Metric.PEAK_ACTIVATION:
        now = [(s.layer, int(s.live_bytes), LiveStep()) for s in memory.steps]
    else:
        for r in report.layers:
            value = {Metric.MACS: r.macs, Metric.PARAMS: r.params,
                     Metric.WEIGHT_BYTES: memory.weight_bytes_by_layer.get(r.name, 0)}[metric]
            now.append((r.name, int(value), _layer_facts(r)))
    if not before:
        return ()
    ranked = sorted(
        ((value - before.get(name, 0), i, name, value, facts) for i, (name, value, facts) in enumerate(now)),
        key=lambda item: (-item[0], item[1]),
    )
    return tuple(Culprit(name, value, facts, before.get(name))
                 for grew, _, name, value, facts in ranked[:top] if grew > 0)


def total_checks(results: Sequence[GateResult]) -> tuple[int, int]:
    """(checks, failed checks) over several results."""
    checks = sum(len(r.checks) for r in results)
    return checks, sum(len(r.failures) for r in results)
