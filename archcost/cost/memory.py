"""Peak activation memory: a liveness analysis over a schedule of the report's rows.

Liveness convention
-------------------
A *schedule* runs the costed rows of a :class:`~archcost.cost.result.Report`
one at a time; step ``i`` is the execution of the ``i``-th row. The default
schedule is ``report.layers`` (the graph's topological order). At step ``i``
a tensor is **live** when

* it is an activation: a graph input or an output of some row; initializers
  (weights, biases, norm parameters, BN buffers, stored constants) are never
  activations and are summed separately as :attr:`MemoryProfile.weight_bytes`;
* it has been produced at or before step ``i``; a **graph input** counts as
  produced before step 0, so it is live from step 0 until its last reader
  (the caller's buffer is memory the model holds);
* it is read at or after step ``i``, or it is a **graph output**, which stays
  live from its producing step to the end of the schedule.

Consequences, stated because conventions differ between tools:

* a row's inputs and outputs are live **together** during its step: no op runs
  in place (a ReLU holds its input and its output), and no buffer is shared
  between tensors whose lifetimes touch;
* an output nothing reads and that is not a graph output is live only during
  the step that produces it;
* a tensor a row reads twice counts once; every live tensor counts once.

``live_bytes[i]`` is the sum of the live tensors' sizes at step ``i``, and the
peak is the largest of them. A tensor's size is ``prod(shape) × bits / 8``,
rounded up to whole bytes, with the bits of its dtype (:mod:`archcost.dtypes`):
float32 is 4 bytes, float16 2, int8 1, int64 8, bool 1, int4 half a byte.

Symbolic shapes give symbolic sizes, and the peak is then ``sympy.Max`` over
the distinct step sums (unsimplified, except that when every step is a
multiple of one expression, such as ``batch``, the peak is that multiple).

Best order
----------
:attr:`MemoryProfile.best_peak_bytes` is the lowest peak among the default
order and two greedy list schedules, each of which repeatedly runs the ready
row that (a) leaves the least memory live after it, or (b) needs the least
memory during it, breaking ties by the default order. A row is *ready* once
every row producing a tensor it reads has run (sized or not, so the order is
always topological). Because the default order is one of the candidates, the
best peak is never more than the default peak. With free symbols, comparisons
are generally undecidable and the best order is the default order.

A ready row's score changes only when it becomes the last pending reader of
one of its inputs (running it then frees that input), which happens at most
once per tensor. Each list schedule keeps the ready rows in a heap and scores a
row when it becomes ready and again when its score changes: for ``n`` rows,
``t`` activation tensors and ``e`` tensor reads and writes, at most ``n + t``
score evaluations and heap pushes, O(e) bookkeeping, O(e + (n + t) log n) time.

Nodes without a cost rule, and the nodes downstream of them, are not rows:
they are not scheduled, and :attr:`MemoryProfile.partial` is then true.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from archcost.cost.result import LayerRow, Report
from archcost.dtypes import tensor_bytes
from archcost.numeric import Count, is_concrete

#: :attr:`MemoryProfile.heuristic` when no greedy order beats the default order.
DEFAULT_ORDER_BEST = "default order; no greedy order beats it"
#: :attr:`MemoryProfile.heuristic` when sizes are symbolic and no order is searched.
DEFAULT_ORDER_SYMBOLIC = "default order; sizes are symbolic, no search"


@dataclass(frozen=True)
class MemoryStep:
    """Step ``i`` of a schedule: the row it runs and what is live meanwhile."""

    layer: str
    live_bytes: Count
    #: Names of the live activation tensors, in the order they became live.
    live: tuple[str, ...]


@dataclass(frozen=True)
class MemoryProfile:
    """Activation liveness for the default order and the best order found, plus weight bytes."""

    steps: tuple[MemoryStep, ...]
    peak_bytes: Count
    #: Index into :attr:`steps` of the first step at the peak; ``None`` when symbolic or empty.
    peak_step: int | None
    best_order: tuple[str, ...]
    best_steps: tuple[MemoryStep, ...]
    best_peak_bytes: Count
    #: Bytes of every initializer (weights, biases, norm, buffers, stored constants), each once.
    weight_bytes: Count
    #: Initializer bytes each row reads first (a shared initializer counts at its first reader).
    weight_bytes_by_layer: Mapping[str, Count]
    #: Size of every activation tensor considered.
    tensor_bytes: Mapping[str, Count]
    #: Row that produces each activation (graph inputs are absent).
    producers: Mapping[str, str]
    #: True when nodes were left out (no cost rule) or tensors had no fixed size.
    partial: bool = False
    #: Activation tensors left out because their dtype has no fixed size.
    unsized: tuple[str, ...] = ()
    #: Which schedule gave :attr:`best_peak_bytes`.
    heuristic: str = DEFAULT_ORDER_BEST

    @property
    def live_bytes(self) -> tuple[Count, ...]:
        """Live bytes at each step of the default order."""
        return tuple(s.live_bytes for s in self.steps)

    @property
    def is_symbolic(self) -> bool:
        return not (is_concrete(self.peak_bytes) and is_concrete(self.weight_bytes))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: exact integers, SymPy expressions as strings."""
        def j(v: Count) -> Any:
            return v if isinstance(v, int) else str(v)

        peak_layer = self.steps[self.peak_step].layer if self.peak_step is not None else None
        return {
            "convention": "liveness over a schedule; inputs and outputs of a step live together, "
                          "graph inputs live from step 0, graph outputs to the end",
            "peak_activation_bytes": j(self.peak_bytes),
            "peak_layer": peak_layer,
            "best_peak_activation_bytes": j(self.best_peak_bytes),
            "best_order_heuristic": self.heuristic,
            "best_order": list(self.best_order) if self.best_order != tuple(
                s.layer for s in self.steps) else None,
            "weight_bytes": j(self.weight_bytes),
            "partial": self.partial,
            "steps": [{"layer": s.layer, "live_bytes": j(s.live_bytes),
                       "weight_bytes": j(self.weight_bytes_by_layer.get(s.layer, 0))}
                      for s in self.steps],
        }


def activation_memory(report: Report) -> MemoryProfile:
    """Peak activation memory of ``report`` for its default order and the best order found.

    See the module docstring for the liveness convention.

    Examples
    --------
    >>> from archcost import analyze
    >>> activation_memory(analyze("mobilenet_v1")).peak_bytes  # 2 × 64×112×112 × 4 bytes
    6422528
    """
    initializers = report.initializers
    rows = report.layers
    names = [r.name for r in rows]
    producers: dict[str, str] = {}
    sizes: dict[str, Count] = {}
    unsized: list[str] = []

    def consider(t: str) -> bool:
        if not t or t in initializers:
            return False
        if t in sizes:
            return True
        shape = report.tensor_shapes.get(t)
        if shape is None:
            return False
        size = tensor_bytes(shape, report.tensor_dtypes.get(t, "float32"), tensor=t)
        if size is None:
            if t not in unsized:
                unsized.append(t)
            return False
        sizes[t] = size
        return True

    for t in report.graph_inputs:
        consider(t)
    reads: list[tuple[str, ...]] = []
    writes: list[tuple[str, ...]] = []
    for row in rows:
        reads.append(tuple(dict.fromkeys(t for t in row.input_names if consider(t))))
        out = tuple(dict.fromkeys(t for t in row.output_names if consider(t)))
        writes.append(out)
        for t in out:
            producers[t] = row.name
    for t in report.graph_outputs:
        consider(t)
    outputs = frozenset(report.graph_outputs)

    default = tuple(range(len(rows)))
    steps = _liveness(default, names, reads, writes, sizes, outputs)
    peak, peak_step = _peak(steps)

    best_order, best_steps, best_peak = default, steps, peak
    heuristic = DEFAULT_ORDER_SYMBOLIC
    if all(is_concrete(v) for v in sizes.values()):
        heuristic = DEFAULT_ORDER_BEST
        concrete = cast(Mapping[str, int], sizes)
        for label, order in _greedy_orders(_row_dag(rows), reads, writes, concrete, outputs):
            candidate_peak = _concrete_peak(order, reads, writes, concrete, outputs)
            if candidate_peak < best_peak:
                best_order, best_peak, heuristic = order, candidate_peak, label
        if best_order is not default:
            best_steps = _liveness(best_order, names, reads, writes, sizes, outputs)

    weight_total: Count = 0
    for t in sorted(initializers):
        size = tensor_bytes(report.tensor_shapes.get(t, ()), report.tensor_dtypes.get(t, "float32"),
                            tensor=t)
        if size is not None:
            weight_total = weight_total + size
    by_layer: dict[str, Count] = {}
    seen: set[str] = set()
    for row in rows:
        layer_total: Count = 0
        for t in row.input_names:
            if t in initializers and t not in seen:
                seen.add(t)
                size = tensor_bytes(report.tensor_shapes.get(t, ()),
                                    report.tensor_dtypes.get(t, "float32"), tensor=t)
                layer_total = layer_total + (size or 0)
        by_layer[row.name] = layer_total

    return MemoryProfile(
        steps=steps,
        peak_bytes=peak,
        peak_step=peak_step,
        best_order=tuple(names[i] for i in best_order),
        best_steps=best_steps,
        best_peak_bytes=best_peak,
        weight_bytes=weight_total,
        weight_bytes_by_layer=by_layer,
        tensor_bytes=sizes,
        producers=producers,
        partial=bool(report.unknown or report.uncosted or unsized),
        unsized=tuple(unsized),
        heuristic=heuristic,
    )


def _liveness(
    order: Sequence[int],
    names: Sequence[str],
    reads: Sequence[tuple[str, ...]],
    writes: Sequence[tuple[str, ...]],
    sizes: Mapping[str, Count],
    outputs: frozenset[str],
) -> tuple[MemoryStep, ...]:
    """Per-step live bytes of the schedule ``order`` (indices into the rows)."""
    starting, ending = _lifetimes(order, reads, writes, sizes, outputs)
    result = []
    live: dict[str, None] = {}
    total: Count = 0
    for position, index in enumerate(order):
        for t in starting[position]:
            live[t] = None
            total = total + sizes[t]
        result.append(MemoryStep(names[index], total, tuple(live)))
        for t in ending[position]:
            del live[t]
            total = total - sizes[t]
    return tuple(result)


def _concrete_peak(
    order: Sequence[int],
    reads: Sequence[tuple[str, ...]],
    writes: Sequence[tuple[str, ...]],
    sizes: Mapping[str, int],
    outputs: frozenset[str],
) -> int:
    """The peak of :func:`_liveness` for concrete sizes, without naming each step's live tensors.

    A step's tuple of live names costs as much as the live set is long; a candidate order
    only needs its peak.
    """
    starting, ending = _lifetimes(order, reads, writes, sizes, outputs)
    peak = total = 0
    for position in range(len(order)):
        total += sum(sizes[t] for t in starting[position])
        peak = max(peak, total)
        total -= sum(sizes[t] for t in ending[position])
    return peak


def _lifetimes(
    order: Sequence[int],
    reads: Sequence[tuple[str, ...]],
    writes: Sequence[tuple[str, ...]],
    sizes: Mapping[str, Count],
    outputs: frozenset[str],
) -> tuple[list[list[str]], list[list[str]]]:
    """The tensors that become live at each step of ``order``, and those that die after it."""
    n = len(order)
    born: dict[str, int] = {}
    last: dict[str, int] = {}
    for position, index in enumerate(order):
        for t in writes[index]:
            born.setdefault(t, position)
            last.setdefault(t, position)
        for t in reads[index]:
            # A graph input has no producing row: it is live from step 0.
            born.setdefault(t, 0)
            last[t] = position
    if n:
        for t in outputs:
            if t in sizes:
                born.setdefault(t, 0)
                last[t] = n - 1
    starting: list[list[str]] = [[] for _ in range(n)]
    ending: list[list[str]] = [[] for _ in range(n)]
    for t, b in born.items():
        starting[b].append(t)
        ending[last[t]].append(t)
    return starting, ending


def _peak(steps: Sequence[MemoryStep]) -> tuple[Count, int | None]:
    if not steps:
        return 0, None
    values = [s.live_bytes for s in steps]
    if all(is_concrete(v) for v in values):
        best = max(range(len(values)), key=lambda i: (values[i], -i))
        return values[best], best
    import sympy

    unique = list(dict.fromkeys(sympy.sympify(v) for v in values))
    split = [v.as_coeff_Mul() for v in unique]
    if len({rest for _, rest in split}) == 1 and all(c.is_positive for c, _ in split):
        # Every step is a multiple of one expression (e.g. of ``batch``): the peak is the largest.
        return max(c for c, _ in split) * split[0][1], None
    # SymPy's own Max simplification compares every pair of floor/ceiling sums, which takes
    # seconds; the unsimplified Max is exact and cheap.
    numbers = [v for v in unique if v.is_Number]
    formulas = [v for v in unique if not v.is_Number]
    return sympy.Max(*([max(numbers)] if numbers else []), *formulas, evaluate=False), None


#: Rows by index: the successors of each row (the rows that read what it produces).
_Dependencies = list[set[int]]


def _row_dag(rows: Sequence[LayerRow]) -> _Dependencies:
    """Each row's successors: the rows that read a tensor it produces.

    Every tensor counts, sized or not: a row must follow the producer of a ``string`` tensor
    too. Plain sets, not a networkx graph: networkx's topological sorts fix each node's key
    once, while this schedule's scores change as rows run, and importing networkx would cost
    the default CLI output a tenth of a second.
    """
    producer = {t: i for i, row in enumerate(rows) for t in row.output_names if t}
    successors: _Dependencies = [set() for _ in rows]
    for i, row in enumerate(rows):
        for t in row.input_names:
            p = producer.get(t)
            if p is not None and p != i:
                successors[p].add(i)
    return successors


#: The greedy rules, by :attr:`MemoryProfile.heuristic` label: whether the score puts the
#: change in live bytes (produced − freed) before the bytes produced.
_GREEDY_RULES = (("greedy: least memory after each step", True),
                 ("greedy: least memory during each step", False))


def _priority(after_first: bool, produced: int, freed: int, index: int) -> tuple[int, int, int]:
    """A ready row's score: lower runs first; the row index breaks ties by the default order."""
    delta = produced - freed
    return (delta, produced, index) if after_first else (produced, delta, index)


def _greedy_orders(
    dependencies: _Dependencies,
    reads: Sequence[tuple[str, ...]],
    writes: Sequence[tuple[str, ...]],
    sizes: Mapping[str, int],
    outputs: frozenset[str],
) -> list[tuple[str, tuple[int, ...]]]:
    """The two greedy list schedules, as (label, order) pairs."""
    readers: dict[str, int] = {}
    for row_reads in reads:
        for t in row_reads:
            readers[t] = readers.get(t, 0) + 1
    produced = [sum(sizes[t] for t in row_writes) for row_writes in writes]
    # An output that nothing reads and that is no graph output dies in the step that makes it.
    dead = [sum(sizes[t] for t in row_writes if t not in readers and t not in outputs)
            for row_writes in writes]
    return [(label, _list_schedule(dependencies, reads, sizes, outputs, readers, produced, dead,
                                   after_first))
            for label, after_first in _GREEDY_RULES]


def _list_schedule(
    dependencies: _Dependencies,
    reads: Sequence[tuple[str, ...]],
    sizes: Mapping[str, int],
    outputs: frozenset[str],
    readers: Mapping[str, int],
    produced: Sequence[int],
    dead: Sequence[int],
    after_first: bool,
) -> tuple[int, ...]:
    """Run the ready row with the lowest :func:`_priority` until every row has run.

    The heap holds each ready row's current score; a row whose score changes is pushed
    again, and the entry it replaces is skipped when it surfaces.
    """
    n = len(reads)
    remaining = dict(readers)
    # The sum of the indices of a tensor's readers still to run: once one is left, it is that one.
    pending_readers: dict[str, int] = {}
    for i, row_reads in enumerate(reads):
        for t in row_reads:
            pending_readers[t] = pending_readers.get(t, 0) + i
    # Bytes running the row would free: its dead outputs, and the inputs it is the last to read.
    freed = list(dead)
    for t, count in readers.items():
        if count == 1 and t not in outputs:
            freed[pending_readers[t]] += sizes[t]
    waiting = [0] * n
    for row_successors in dependencies:
        for s in row_successors:
            waiting[s] += 1
    # The heap entry that holds each ready row's current score (``None``: not ready, or run).
    current: list[tuple[int, int, int] | None] = [None] * n
    heap: list[tuple[int, int, int]] = []

    def push(i: int) -> None:
        entry = _priority(after_first, produced[i], freed[i], i)
        current[i] = entry
        heapq.heappush(heap, entry)

    for i in range(n):
        if waiting[i] == 0:
            push(i)
    order: list[int] = []
    successors = dependencies
    while heap:
        entry = heapq.heappop(heap)
        chosen = entry[2]
        if entry is not current[chosen]:
            continue
        current[chosen] = None
        order.append(chosen)
        for t in reads[chosen]:
            remaining[t] -= 1
            pending_readers[t] -= chosen
            if remaining[t] == 1 and t not in outputs:
                last = pending_readers[t]
                freed[last] += sizes[t]
                if current[last] is not None:
                    push(last)
        for s in successors[chosen]:
            waiting[s] -= 1
            if waiting[s] == 0:
                push(s)
    return tuple(order)
