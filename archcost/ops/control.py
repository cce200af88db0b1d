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
from archcost.numeric import Count, decide, is_concrete, same
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
    #: Declared ranks of the formal inputs, ``None`` where the file gives no shape.
    formal_ranks: tuple[int | None, ...] = ()

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
    #: Why the branch cannot run with these shapes (an If branch whose shape rules fail:
    #: the condition must then pick the other one); empty when it analyzed.
    error: str = ""
    #: The assumptions the analysis of this body made (an If branch that squeezes a dim it
    #: cannot prove is 1 assumes it is).
    assumed: tuple[Any, ...] = ()


def scale_terms(terms: Mapping[str, Count], factor: Count) -> dict[str, Count]:
    """Every term × ``factor`` (a trip count)."""
    return {k: v * factor for k, v in terms.items()}


def body_inputs(view: OpView, bodies: Mapping[str, Body]) -> dict[str, tuple[InputInfo, ...]]:
    """The InputInfo each body's formal inputs get, by attribute name."""
    op = view.op_type
    if op == "If":
        # ONNX If has only the condition; TFLite's IF passes its other inputs to the branches.
        passed = tuple(InputInfo(i.shape, i.dtype, value=i.value) for i in view.inputs[1:] if i is not None)
        return {key: passed for key in bodies}
    if op == "WHILE":  # TFLite: cond and body both take the loop values
        values = tuple(InputInfo(i.shape, i.dtype, value=i.value) for i in view.inputs if i is not None)
        return {key: values for key in bodies}
    if op == "CALL_ONCE":
        return {key: () for key in bodies}
    if op == "Loop":
        carried = tuple(i for i in view.inputs[2:] if i is not None)
        bound = (InputInfo((), "int64"), InputInfo((), "bool"),
                 *(InputInfo(i.shape, i.dtype, value=i.value) for i in carried))
        return {key: bound for key in bodies}
    if op == "Scan" and 0 < view.opset < 9:
        # Scan-8: every state and scan input has a leading batch axis, and the scan axis is 1.
        n_scan = _scan_count(view, bodies)
        ins = [i for i in view.inputs[1:] if i is not None]
        states = ins[: len(ins) - n_scan]
        return {key: (*(InputInfo(tuple(s.shape[1:]), s.dtype) for s in states),
                      *(InputInfo(tuple(i.shape[2:]), i.dtype) for i in ins[len(states):]))
                for key in bodies}
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
        # The first input is a sequence; each further one is a sequence when the body
        # declares its input one rank lower (an element), else a tensor passed whole.
        per_body: dict[str, tuple[InputInfo, ...]] = {}
        for key, body in bodies.items():
            ranks = tuple(body.formal_ranks) + (None,) * len(ins)
            per_body[key] = tuple(
                InputInfo(tuple(i.shape[1:]), i.dtype) if n == 0 or ranks[n] == len(i.shape) - 1
                else InputInfo(i.shape, i.dtype) for n, i in enumerate(ins))
        return per_body
    if op == "FlexAttention":
        # Each modifier takes the [B, H_q, L, S] scores (or probabilities) and returns them.
        q, k = view.input(0), view.input(1)
        if len(q.shape) != 4 or len(k.shape) != 4:
            raise view.fail("Q and K must be rank 4")
        scores = InputInfo((q.shape[0], q.shape[1], q.shape[2], k.shape[2]), q.dtype)
        return {key: (scores,) for key in bodies}
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
    if then.error and not other.error:
        return other, f"the then-branch cannot run with these shapes ({then.error}); the else-branch is used"
    if other.error and not then.error:
        return then, f"the else-branch cannot run with these shapes ({other.error}); the then-branch is used"
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
    for branch, alternative in ((then, other), (other, then)):
        if branch.error and (alternative.error or not alternative.selected):
            raise view.fail(f"the {branch.name!r} branch cannot run with these shapes: {branch.error}")
    chosen, _ = chosen_branch(then, other)
    if then.error or other.error:
        return OpResult(outputs=tuple(_shapes(view, chosen)), terms=dict(chosen.terms),
                        values=chosen.values, dtypes=chosen.dtypes)
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
            # Only the condition decides the rank. A branch that needed no assumption is kept over
            # one that did (a branch that squeezes a dim only if it is 1 holds only there); else
            # the higher rank (a lower-rank value broadcasts into it downstream). The report
            # states the choice, and drops what the other branch had to assume.
            if bool(then.assumed) != bool(other.assumed):
                take_then = not then.assumed
            else:
                take_then = len(sa) > len(sb)
            if view.ledger is not None:
                take_then = view.ledger.choose(view.name, "then" if take_then else "else") == "then"
            kept, side, dropped = (sa, "then", other) if take_then else (sb, "else", then)
            if view.ledger is not None:
                view.ledger.retract(dropped.assumed)
                view.ledger.assume(view.name, f"output {i} comes from the {side}-branch (the branches give "
                                   f"ranks {len(sa)} and {len(sb)}; the condition is known only at run time)")
            outputs.append(kept)
            values.append(None)
            continue
        dims = []
        for j, (da, db) in enumerate(zip(sa, sb, strict=True)):
            if same(da, db) is True:
                dims.append(da)
            else:
                dims.append(view.symbol(f"out{i}_dim{j}", f"output {i}, axis {j}: the branches give "
                                        f"{da} and {db}; the condition decides at run time"))
        outputs.append(tuple(dims))
        values.append(then.values[i] if then.values[i] == other.values[i] else None)
    return OpResult(outputs=tuple(outputs), terms=dict(chosen.terms), values=tuple(values),
                    dtypes=chosen.dtypes)


def _after(view: OpView, index: int, start: Shape, once: Shape, trips: Count) -> Shape:
    """The shape of loop-carried value ``index`` after ``trips`` iterations, from its shape
    before the loop and after one pass: a dim that grows by a constant step each pass
    (a sequence one element longer, a concatenated axis) is start + step × trips; a dim
    that changes otherwise becomes the symbol ``<node>_out<index>_dim<axis>``.
    """
    if len(start) == 1 and same(start[0], 0) is True and len(once) > 1:
        start = (0, *once[1:])  # an empty sequence: its element shape is the first insert's
    if len(start) != len(once):
        return tuple(view.symbol(f"out{index}_dim{axis}", f"loop-carried value {index} changes rank "
                                 "between passes; its size after the loop is decided at run time")
                     for axis in range(len(once)))
    final = []
    for axis, (a, b) in enumerate(zip(start, once, strict=True)):
        if same(a, b) is True:
            final.append(b)
            continue
        step = b - a
        if is_concrete(step) or getattr(step, "is_Number", False):
            final.append(a + step * trips)
        else:
            final.append(view.symbol(f"out{index}_dim{axis}", f"loop-carried value {index}, axis {axis}, "
                                     f"goes from {a} to {b} in one pass; its size after the loop is "
                                     "decided at run time"))
    return tuple(final)


def loop_trips(view: OpView) -> Count:
    """Loop's trip count: a known constant ``M``, else the symbol ``<node>_trips``."""
    m = view.optional(0)
    if m is not None and m.value is not None and len(m.value) == 1 and isinstance(m.value[0], int):
        return m.value[0]
    return view.symbol("trips", "the trip count, decided at run time", sign="positive")


@register("Loop", roles=("const", "const", "x"))
def loop(view: OpView) -> OpResult:
    """Loop: body terms × trip count (M when known, else the symbol ``<node>_trips``).

    Outputs: the final loop-carried values (the body's outputs 1..N), then each
    scan output stacked over the iterations, ``[trips, *shape]``.
    """
    body = _result(view, "body")
    trips = loop_trips(view)
    starts = [i.shape for i in view.inputs[2:] if i is not None]
    carried = len(starts)
    shapes = _shapes(view, body, 1)
    finals = [_after(view, k, start, once, trips) for k, (start, once) in enumerate(zip(starts, shapes, strict=False))]
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
    if 0 < view.opset < 9:
        return _scan_8(view, body, n_scan)
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


def _scan_8(view: OpView, body: BodyResult, n_scan: Any) -> OpResult:
    """Scan before opset 9: states ``[batch, *state]``, scan outputs ``[batch, length, *element]``;
    body terms × batch × length."""
    ins = [i for i in view.inputs[1:] if i is not None]
    if not isinstance(n_scan, int) or not 1 <= n_scan <= len(ins):
        raise view.fail("the 'num_scan_inputs' attribute must be between 1 and the input count")
    n_state = len(ins) - n_scan
    first_scan = ins[n_state]
    if len(first_scan.shape) < 2:
        raise view.fail(f"scan input {list(first_scan.shape)} needs a batch and a sequence axis")
    batch, trips = first_scan.shape[0], first_scan.shape[1]
    shapes = _shapes(view, body)
    states, scanned = shapes[:n_state], shapes[n_state:]
    outputs = (*((batch, *s) for s in states), *((batch, trips, *s) for s in scanned))
    return OpResult(outputs=tuple(outputs), terms=scale_terms(body.terms, batch * trips), dtypes=body.dtypes)


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
