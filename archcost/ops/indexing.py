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

#: Slice bounds at least this large mean "to the end" (exporters write INT64_MAX or INT32_MAX).
_TO_END = 2**31 - 1


def _bound(index: Count, dim: Count, step: int, is_end: bool) -> Count:
    """ONNX's Slice index rule: negative counts from the end, then clamp into the axis.

    With a symbolic dim a concrete in-range index is assumed to fit, and the
    "to the end" sentinels become the dim itself.
    """
    low, high = (0, dim) if step > 0 else ((-1, dim - 1) if is_end else (0, dim - 1))
    if is_concrete(index) and is_concrete(dim):
        if index < 0:
            index = index + dim
        return min(max(index, low), high)
    if is_concrete(index):
        if index >= _TO_END:
            return high
        if index <= -_TO_END:
            return low
        if index < 0:
            return index + dim
    return index


@register("Slice", roles=("x", "const", "const", "const", "const"))
def slice_(view: OpView) -> OpResult:
    """Slice ``starts:ends`` with step ``steps`` on ``axes``: no cost.

    Output length per sliced axis: max(ceil((end − start) / step), 0) after ONNX
    clamping. Bounds come from inputs 1-4, or from attributes before opset 10.
    """
    x = view.input(0)
    shape = list(x.shape)
    if view.attr("starts") is not None:
        values = [view.attr(k) for k in ("starts", "ends", "axes")] + [None]
    else:
        consts = [view.optional(i) for i in range(1, 5)]
        values = [c.value if c is not None else None for c in consts]
        for c, what in zip(consts, ("starts", "ends", "axes", "steps"), strict=True):
            if c is not None and c.value is None:
                raise view.fail(f"{what} must be a constant archcost can resolve")
    starts, ends = values[0], values[1]
    if starts is None or ends is None:
        raise view.fail("starts and ends must be constants archcost can resolve")
    axes = values[2] if values[2] is not None else tuple(range(len(starts)))
    steps = values[3] if values[3] is not None else (1,) * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise view.fail("starts, ends, axes and steps must have the same length")
    picks: list[tuple[int, Count, int]] = []
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        if not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
            raise view.fail(f"axis {axis} is out of range for rank {len(shape)}")
        if not isinstance(step, int) or step == 0:
            raise view.fail(f"steps must be non-zero integers, got {step}")
        axis = axis + len(shape) if axis < 0 else axis
        begin = _bound(start, shape[axis], step, is_end=False)
        stop = _bound(end, shape[axis], step, is_end=True)
        length = -((begin - stop) // step)  # ceil((stop - begin) / step)
        shape[axis] = max(length, 0) if is_concrete(length) else length
        picks.append((axis, begin, step))
    value = None
    if x.value is not None and len(x.shape) == 1 and picks and isinstance(shape[0], int):
        _, begin, step = picks[-1]
        if isinstance(begin, int):
            value = tuple(x.value[begin + i * step] for i in range(shape[0]))
    return OpResult(outputs=(tuple(shape),), values=(value,))


@register("Expand", roles=("weight", "const"))
def expand(view: OpView) -> OpResult:
    """Expand to the NumPy broadcast of the input and the target shape: no cost."""
    data, target = view.input(0), view.input(1)
    if target.value is None:
        raise view.fail("the target shape is not a constant archcost can resolve")
    return OpResult(outputs=(broadcast(view, data.shape, tuple(target.value)),))
