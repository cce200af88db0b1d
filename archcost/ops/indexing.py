"""Indexing and broadcasting ops: Slice, Expand.

Both move data and do no arithmetic, so they cost nothing under every
convention. A stored input of Expand is a learned tensor broadcast over the
batch (a ViT class token) and counts as a ``weight``, just as a stored operand
of Mul does.
"""

from __future__ import annotations

from archcost.numeric import Count, is_concrete
from archcost.ops.elementwise import broadcast
from archcost.ops.registry import OpResult, OpView, register


def _clamp(index: Count, dim: Count) -> Count:
    """ONNX Slice index rule for a positive step: negative counts from the end, then clamp."""
    if not (is_concrete(index) and is_concrete(dim)):
        return index  # symbolic: assumed already in range
    if index < 0:
        index = index + dim
    return min(max(index, 0), dim)


@register("Slice", roles=("x", "const", "const", "const", "const"))
def slice_(view: OpView) -> OpResult:
    """Slice ``starts:ends`` (step ``steps``, positive) on ``axes``: no cost.

    Output length per sliced axis: ceil((end - start) / step) after ONNX clamping.
    """
    shape = list(view.input(0).shape)
    consts = [view.optional(i) for i in range(1, 5)]
    values = [c.value if c is not None else None for c in consts]
    starts, ends = values[0], values[1]
    if starts is None or ends is None:
        raise view.fail("starts and ends must be constants archcost can resolve")
    axes = values[2] if values[2] is not None else tuple(range(len(starts)))
    steps = values[3] if values[3] is not None else (1,) * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise view.fail("starts, ends, axes and steps must have the same length")
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        if not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
            raise view.fail(f"axis {axis} is out of range for rank {len(shape)}")
        if not isinstance(step, int) or step < 1:
            raise view.fail(f"only positive integer steps are supported, got {step}")
        axis = axis + len(shape) if axis < 0 else axis
        begin, stop = _clamp(start, shape[axis]), _clamp(end, shape[axis])
        length = -((begin - stop) // step)  # ceil((stop - begin) / step)
        shape[axis] = max(length, 0) if is_concrete(length) else length
    return OpResult(outputs=(tuple(shape),))


@register("Expand", roles=("weight", "const"))
def expand(view: OpView) -> OpResult:
    """Expand to the NumPy broadcast of the input and the target shape: no cost."""
    data, target = view.input(0), view.input(1)
    if target.value is None:
        raise view.fail("the target shape is not a constant archcost can resolve")
    return OpResult(outputs=(broadcast(view, data.shape, tuple(target.value)),))
