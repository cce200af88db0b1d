"""Reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd,
ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSum, ReduceLogSumExp.

A reduction is a pool over the reduced axes: ``pool_op`` = one add or compare
per input element, the same count GlobalAveragePool gets for the same data.
Axes come from the ``axes`` attribute (before opset 18) or input 1 (opset 18).
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.numeric import Count, is_concrete, prod
from archcost.ops import _contents
from archcost.ops.registry import OpResult, OpView, register
from archcost.ops.tensor import fresh_dims, input_values, known_ints, normalize_axis

_DEFAULTS = {"keepdims": 1, "noop_with_empty_axes": 0}


def _reduce(view: OpView, fold: Callable[[list[Count]], Count] | None = None) -> OpResult:
    """The shape of a reduction; axes only the run time knows give ``<node>_d<axis>`` dims.

    ``fold`` combines known contents (``ReduceProd`` of a shape vector is its element count).
    """
    x = view.input(0)
    rank = len(x.shape)
    axes = view.attr("axes")
    if axes is None:
        axes = input_values(view, 1, "axes")
    terms = {"pool_op": prod(x.shape)}
    if not axes:
        if view.attr("noop_with_empty_axes"):
            return OpResult(outputs=(x.shape,), values=(x.value,))
        axes = list(range(rank))
    keep = bool(view.attr("keepdims"))
    given = known_ints(list(axes))
    if given is None:
        return OpResult(outputs=(fresh_dims(view, rank if keep else rank - len(axes)),), terms=terms)
    reduced = {normalize_axis(view, a, rank) for a in given}
    out = tuple(1 if i in reduced else d for i, d in enumerate(x.shape) if keep or i not in reduced)
    value = None
    sizes = known_ints(x.shape)
    if fold is not None and x.value is not None and sizes is not None:
        try:
            value = _contents.reduce(x.value, sizes, reduced, fold)
        except (TypeError, ValueError):  # an undecidable symbolic max or min
            value = None
    return OpResult(outputs=(out,), terms=terms, values=(value,))


def _product(values: list[Count]) -> Count:
    return prod(values)


def _total(values: list[Count]) -> Count:
    return sum(values[1:], start=values[0]) if values else 0


def _largest(values: list[Count]) -> Count:
    return _extreme(values, max)


def _smallest(values: list[Count]) -> Count:
    return _extreme(values, min)


def _extreme(values: list[Count], pick: Callable[[list[Count]], Count]) -> Count:
    if not values:
        raise ValueError("empty reduction")
    if all(is_concrete(v) for v in values):
        return pick(values)
    import sympy

    return (sympy.Max if pick is max else sympy.Min)(*values)


@register("ReduceMean", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_mean(view: OpView) -> OpResult:
    """ReduceMean: pool_op = one add per input element (the divide is folded)."""
    return _reduce(view)


@register("ReduceSum", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_sum(view: OpView) -> OpResult:
    """ReduceSum: pool_op = one add per input element."""
    return _reduce(view, _total)


@register("ReduceMax", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_max(view: OpView) -> OpResult:
    """ReduceMax: pool_op = one compare per input element."""
    return _reduce(view, _largest)


@register("ReduceMin", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_min(view: OpView) -> OpResult:
    """ReduceMin: pool_op = one compare per input element."""
    return _reduce(view, _smallest)


@register("ReduceProd", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_prod(view: OpView) -> OpResult:
    """ReduceProd: pool_op = one multiply per input element."""
    return _reduce(view, _product)


@register("ReduceL2", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_l2(view: OpView) -> OpResult:
    """ReduceL2: pool_op = one multiply-add per input element (the final sqrt is not counted)."""
    return _reduce(view)


@register("ReduceSumSquare", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_sum_square(view: OpView) -> OpResult:
    """ReduceSumSquare: pool_op = one multiply-add per input element."""
    return _reduce(view)


@register("ReduceL1", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_l1(view: OpView) -> OpResult:
    """ReduceL1: pool_op = one abs-add per input element."""
    return _reduce(view)


@register("ReduceLogSum", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_log_sum(view: OpView) -> OpResult:
    """ReduceLogSum: pool_op = one add per input element (the final log is not counted)."""
    return _reduce(view)


@register("ReduceLogSumExp", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_log_sum_exp(view: OpView) -> OpResult:
    """ReduceLogSumExp: pool_op = one exp-add per input element (the final log is not counted)."""
    return _reduce(view)
