"""Control flow: If, Loop, Scan and SequenceMap, whose subgraphs are analyzed by the same walk.

A subgraph attribute is a :class:`Body`: a :class:`~archcost.graph.Graph` of its
own whose *formal inputs* the node binds, and which may read tensors of the
enclosing scopes (its ``outer`` names). The analysis walk
(:mod:`archcost.cost.analyze`) analyzes every body with an explicit stack, no
recursion, binding the formal inputs with :func:`body_inputs`, and then hands
the rule a :class:`BodyResult` in place of each :class:`Body` attribute:
output shapes, dtypes and contents, and the body's summed cost terms.

* **If**: both branches are analyzed. The totals use the branch with the larger
  cost under the analysis' convention (the then-branch when symbols leave the
  comparison open), or the one a known condition or ``--branch`` picks; the
  report says which, with each branch's cost.
* **Loop**: body terms × trip count. The trip count is ``M`` when it is a
  known constant (an upper bound when the body computes an early exit), else
  the symbol ``<node>_trips``.
* **Scan**: body terms × the scanned axis' length.
* **SequenceMap**: body terms × the sequence length.

Parameters inside bodies are counted once, like any other stored tensor,
never multiplied by the trip count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archcost.graph import Graph
from archcost.numeric import Count, decide
from archcost.ops.registry import InputInfo, OpResult, OpView, register

Shape = tuple[Count, ...]


@dataclass(frozen=True)
class Body:
    """A graph-valued attribute: an If branch, a Loop or Scan body."""

    name: str
    graph: Graph
    #: The subgraph's declared inputs, which the node binds (in order).
    formal_inputs: tuple[str, ...]
    #: Tensors it reads from enclosing scopes (declared in :attr:`graph` as inputs too).
    outer: tuple[str, ...]
    outputs: tuple[str, ...]
    #: Declared dtypes of the formal inputs (Loop's iteration number is int64, ...).
    formal_dtypes: tuple[str, ...] = ()

    @property
    def nodes(self) -> int:
        return len(self.graph)


@dataclass(frozen=True)
class BodyResult:
    """What the walk found in one body, handed to the rule in place of the :class:`Body`."""

    name: str
    outputs: tuple[Shape | None, ...]
    dtypes: tuple[str, ...]
    values: tuple[tuple[Count, ...] | None, ...]
    #: Cost terms summed over the body's nodes (one pass through the body).
    terms: Mapping[str, Count] = field(default_factory=dict)
    #: The same under the analysis' convention, for choosing an If branch.
    cost: Count = 0
    #: False for the If branch ``--branch`` (or a constant condition) rules out.
    selected: bool = True


def scale_terms(terms: Mapping[str, Count], factor: Count) -> dict[str, Count]:
    """Every term × ``factor`` (a trip count)."""
    return {k: v * factor for k, v in terms.items()}


def body_inputs(view: OpView, bodies: Mapping[str, Body]) -> dict[str, tuple[InputInfo, ...]]:
    """The InputInfo each body's formal inputs get, by attribute name."""
    op = view.op_type
    if op == "If":
        return {key: () for key in bodies}
    if op == "Loop":
        carried = tuple(i for i in view.inputs[2:] if i is not None)
        bound = (InputInfo((), "int64"), InputInfo((), "bool"),
                 *(InputInfo(i.shape, i.dtype, value=i.value) for i in carried))
        return {key: bound for key in bodies}
    if op == "Scan":
        n_scan = _scan_count(view, bodies)
        ins = [i for i in view.inputs if i is not None]
        states = ins[: len(ins) - n_scan]
        axes = _axes(view, "scan_input_axes", n_scan, [len(i.shape) for i in ins[len(states):]])
        scans = tuple(InputInfo(tuple(d for a, d in enumerate(i.shape) if a != axes[j]), i.dtype)
                      for j, i in enumerate(ins[len(states):]))
        return {key: (*(InputInfo(s.shape, s.dtype, value=s.value) for s in states), *scans)
                for key in bodies}
    if op == "SequenceMap":
        ins = [i for i in view.inputs if i is not None]
        if not ins:
            raise view.fail("needs an input sequence")
        first = InputInfo(tuple(ins[0].shape[1:]), ins[0].dtype)
        rest = tuple(InputInfo(i.shape, i.dtype) for i in ins[1:])
        return {key: (first, *rest) for key in bodies}
    raise view.fail("has subgraphs archcost does not know how to bind")


def _scan_count(view: OpView, bodies: Mapping[str, Body]) -> int:
    body = bodies.get("body") if bodies else None
    n = view.attr("num_scan_inputs")
    if not isinstance(n, int) or n < 1:
        raise view.fail("the 'num_scan_inputs' attribute must be a positive integer")
    if body is not None and len(body.formal_inputs) != len([i for i in view.inputs if i]):
        raise view.fail(f"the body takes {len(body.formal_inputs)} inputs, the node gives "
                        f"{len([i for i in view.inputs if i])}")
    return n


def _axes(view: OpView, key: str, count: int, ranks: list[int]) -> list[int]:
    given = view.attr(key)
    axes = list(given) if given else [0] * count
    if len(axes) != count:
        raise view.fail(f"{key} needs {count} entries, got {axes}")
    out = []
    for axis, rank in zip(axes, ranks, strict=True):
        if not -rank <= axis < rank:
            raise view.fail(f"{key} entry {axis} is out of range for rank {rank}")
        out.append(axis + rank if axis < 0 else axis)
    return out


def _result(view: OpView, key: str) -> BodyResult:
    value = view.attrs.get(key)
    if not isinstance(value, BodyResult):
        raise view.fail(f"the {key!r} subgraph was not analyzed")
    return value


def _shapes(view: OpView, body: BodyResult, start: int = 0) -> list[Shape]:
    shapes = []
    for i, shape in enumerate(body.outputs[start:], start=start):
        if shape is None:
            raise view.fail(f"output {i} of subgraph {body.name!r} has no inferred shape")
        shapes.append(shape)
    return shapes


def chosen_branch(then: BodyResult, other: BodyResult) -> tuple[BodyResult, str]:
    """The branch If's totals use, and why."""
    if then.selected and not other.selected:
        return then, "the then-branch is selected"
    if other.selected and not then.selected:
        return other, "the else-branch is selected"
    larger = decide(then.cost >= other.cost)
    if larger is None:
        return then, "the costs are symbolic and not comparable; the then-branch is used"
    if larger:
        return then, "the larger branch (then) is used"
    return other, "the larger branch (else) is used"


@register("If", roles=("const",))
def if_(view: OpView) -> OpResult:
    """If: the terms of one branch: the larger under the active convention, or the one a
    known condition or ``--branch`` selects (see the module docstring). Output shapes: the
    branches' where they agree; a dim they disagree on becomes the symbol ``<node>_out<i>_dim<j>``.
    """
    then, other = _result(view, "then_branch"), _result(view, "else_branch")
    chosen, _ = chosen_branch(then, other)
    a, b = _shapes(view, then), _shapes(view, other)
    if len(a) != len(b):
        raise view.fail(f"the branches have {len(a)} and {len(b)} outputs")
    outputs: list[Shape] = []
    values: list[tuple[Count, ...] | None] = []
    for i, (sa, sb) in enumerate(zip(a, b, strict=True)):
        if not (then.selected and other.selected):
            outputs.append(_shapes(view, chosen)[i])
            values.append(chosen.values[i])
            continue
        if len(sa) != len(sb):
            raise view.fail(f"output {i} has rank {len(sa)} in one branch and {len(sb)} in the other")
        dims = []
        for j, (da, db) in enumerate(zip(sa, sb, strict=True)):
            if decide(da == db) is True:
                dims.append(da)
            else:
                from archcost.symbols import dim_symbol

                dims.append(dim_symbol(f"{view.name}_out{i}_dim{j}"))
        outputs.append(tuple(dims))
        values.append(then.values[i] if then.values[i] == other.values[i] else None)
    return OpResult(outputs=tuple(outputs), terms=dict(chosen.terms), values=tuple(values),
                    dtypes=chosen.dtypes)


def loop_trips(view: OpView) -> Count:
    """Loop's trip count: a known constant ``M``, else the symbol ``<node>_trips``."""
    m = view.optional(0)
    if m is not None and m.value is not None and len(m.value) == 1 and isinstance(m.value[0], int):
        return m.value[0]
    from archcost.symbols import dim_symbol

    return dim_symbol(f"{view.name}_trips")


@register("Loop", roles=("const", "const", "x"))
def loop(view: OpView) -> OpResult:
    """Loop: body terms × trip count (M when known, else the symbol ``<node>_trips``).

    Outputs: the final loop-carried values (the body's outputs 1..N), then each
    scan output stacked over the iterations, ``[trips, *shape]``.
    """
    body = _result(view, "body")
    trips = loop_trips(view)
    carried = len([i for i in view.inputs[2:] if i is not None])
    shapes = _shapes(view, body, 1)
    finals = shapes[:carried]
    stacked = [(trips, *s) for s in shapes[carried:]]
    dtypes = body.dtypes[1:]
    values = tuple(body.values[1: 1 + carried]) + (None,) * len(stacked)
    return OpResult(outputs=(*finals, *stacked), terms=scale_terms(body.terms, trips),
                    values=values, dtypes=dtypes)


@register("Scan", roles=("x",))
def scan(view: OpView) -> OpResult:
    """Scan: body terms × the scanned length (the scan inputs' axis ``scan_input_axes``).

    Outputs: the final states, then each scan output with the length inserted
    at its ``scan_output_axes`` entry (default 0).
    """
    body = _result(view, "body")
    n_scan = view.attr("num_scan_inputs")
    ins = [i for i in view.inputs if i is not None]
    if not isinstance(n_scan, int) or not 1 <= n_scan <= len(ins):
        raise view.fail("the 'num_scan_inputs' attribute must be between 1 and the input count")
    n_state = len(ins) - n_scan
    first_scan = ins[n_state]
    axes = _axes(view, "scan_input_axes", n_scan, [len(i.shape) for i in ins[n_state:]])
    trips: Count = first_scan.shape[axes[0]]
    shapes = _shapes(view, body)
    states, scanned = shapes[:n_state], shapes[n_state:]
    out_axes = _axes(view, "scan_output_axes", len(scanned), [len(s) + 1 for s in scanned])
    stacked = [(*s[:a], trips, *s[a:]) for s, a in zip(scanned, out_axes, strict=True)]
    return OpResult(outputs=(*states, *stacked), terms=scale_terms(body.terms, trips),
                    dtypes=body.dtypes)


@register("SequenceMap", roles=("x",))
def sequence_map(view: OpView) -> OpResult:
    """SequenceMap: body terms × the input sequence's length; each output is a sequence
    (represented as the stack ``[length, *element]``, see :mod:`archcost.ops.misc`).
    """
    body = _result(view, "body")
    length = view.input(0).shape[0]
    return OpResult(outputs=tuple((length, *s) for s in _shapes(view, body)),
                    terms=scale_terms(body.terms, length), dtypes=body.dtypes)


def subgraph_attrs(attrs: Mapping[str, Any]) -> dict[str, Body]:
    """The :class:`Body` attributes of a node, by attribute name."""
    return {k: v for k, v in attrs.items() if isinstance(v, Body)}
