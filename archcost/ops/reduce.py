"""Reductions: ReduceMean, ReduceSum, ReduceMax, ReduceMin, ReduceProd,
ReduceL2, ReduceSumSquare.

A reduction is a pool over the reduced axes: ``pool_op`` = one add or compare
per input element, the same count GlobalAveragePool gets for the same data.
Axes come from the ``axes`` attribute (before opset 18) or input 1 (opset 18).
"""

from __future__ import annotations

from archcost.numeric import prod
from archcost.ops.registry import OpResult, OpView, register
from archcost.ops.tensor import concrete_ints, const_ints, normalize_axis

_DEFAULTS = {"keepdims": 1, "noop_with_empty_axes": 0}


def _reduce(view: OpView) -> OpResult:
    x = view.input(0)
    rank = len(x.shape)
    axes = view.attr("axes")
    if axes is None:
        axes = const_ints(view, 1, "axes")
    if not axes:
        if view.attr("noop_with_empty_axes"):
            return OpResult(outputs=(x.shape,))
        axes = list(range(rank))
    reduced = {normalize_axis(view, a, rank) for a in concrete_ints(view, list(axes), "axes")}
    keep = bool(view.attr("keepdims"))
    out = tuple(1 if i in reduced else d for i, d in enumerate(x.shape) if keep or i not in reduced)
    return OpResult(outputs=(out,), terms={"pool_op": prod(x.shape)})


@register("ReduceMean", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_mean(view: OpView) -> OpResult:
    """ReduceMean: pool_op = one add per input element (the divide is folded)."""
    return _reduce(view)


@register("ReduceSum", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_sum(view: OpView) -> OpResult:
    """ReduceSum: pool_op = one add per input element."""
    return _reduce(view)


@register("ReduceMax", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_max(view: OpView) -> OpResult:
    """ReduceMax: pool_op = one compare per input element."""
    return _reduce(view)


@register("ReduceMin", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_min(view: OpView) -> OpResult:
    """ReduceMin: pool_op = one compare per input element."""
    return _reduce(view)


@register("ReduceProd", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_prod(view: OpView) -> OpResult:
    """ReduceProd: pool_op = one multiply per input element."""
    return _reduce(view)


@register("ReduceL2", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_l2(view: OpView) -> OpResult:
    """ReduceL2: pool_op = one multiply-add per input element (the final sqrt is not counted)."""
    return _reduce(view)


@register("ReduceSumSquare", roles=("x", "const"), defaults=_DEFAULTS)
def reduce_sum_square(view: OpView) -> OpResult:
    """ReduceSumSquare: pool_op = one multiply-add per input element."""
    return _reduce(view)
