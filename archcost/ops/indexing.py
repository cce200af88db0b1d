"""Indexing and broadcasting ops: Slice, Expand.

Both move data and do no arithmetic, so they cost nothing under every
convention. A stored input of Expand is a learned tensor broadcast over the
batch (a ViT class token) and counts as a ``weight``, just as a stored operand
of Mul does.
"""

from __future__ import annotations

from archcost.numeric import Count, is_concrete, same
from archcost.ops import _contents
from archcost.ops.elementwise import broadcast
from archcost.ops.registry import OpResult, OpView, register
from archcost.ops.tensor import fresh_dims, input_values, known_ints, run_time, small

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
    An axis whose bounds or step only the run time knows gets the length
    ``<node>_d<axis>``; unknown axes make every axis such a symbol.
    """
    x = view.input(0)
    shape = list(x.shape)
    rank = len(shape)
    if view.attr("starts") is not None:
        starts, ends, axes_given, steps_given = (view.attr("starts"), view.attr("ends"), view.attr("axes"),
                                                 None)
    else:
        starts, ends, axes_given, steps_given = (input_values(view, i, what) for i, what in
                                                 ((1, "starts"), (2, "ends"), (3, "axes"), (4, "steps")))
    if starts is None or ends is None:
        raise view.fail("starts and ends are required")
    axes = tuple(axes_given) if axes_given is not None else tuple(range(len(starts)))
    steps = tuple(steps_given) if steps_given is not None else (1,) * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise view.fail("starts, ends, axes and steps must have the same length")
    if known_ints(axes) is None:
        return OpResult(outputs=(fresh_dims(view, rank),))
    picks: list[tuple[int, Count, Count]] = []
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        if not isinstance(axis, int) or not -rank <= axis < rank:
            raise view.fail(f"axis {axis} is out of range for rank {rank}")
        axis = axis + rank if axis < 0 else axis
        if isinstance(step, int) and step == 0:
            raise view.fail("steps must be non-zero integers, got 0")
        if not isinstance(step, int) or run_time(view, start) or run_time(view, end):
            shape[axis] = view.symbol(f"d{axis}", f"the length of axis {axis}, sliced with bounds or a "
                                      "step computed at run time")
            picks.append((axis, start, step))
            continue
        begin = _bound(start, shape[axis], step, is_end=False)
        stop = _bound(end, shape[axis], step, is_end=True)
        length = -((begin - stop) // step)  # ceil((stop - begin) / step)
        shape[axis] = max(length, 0) if is_concrete(length) else length
        picks.append((axis, begin, step))
    value = None
    sizes, out = known_ints(x.shape), known_ints(shape)
    if x.value is not None and sizes is not None and out is not None:
        ranges = [list(range(d)) for d in sizes]
        for axis, begin, step in picks:
            if not isinstance(begin, int) or not isinstance(step, int):
                break
            ranges[axis] = [begin + i * step for i in range(out[axis])]
        else:
            value = _contents.take(x.value, sizes, ranges)
    return OpResult(outputs=(tuple(shape),), values=(value,))


@register("Expand", roles=("weight", "const"))
def expand(view: OpView) -> OpResult:
    """Expand to the NumPy broadcast of the input and the target shape: no cost.

    A target entry known only at run time gives way to an input dim other than 1
    (the entry must be 1 or equal to it); against 1 it is the output dim.
    """
    data = view.input(0)
    target = input_values(view, 1, "shape")
    assert target is not None  # input 1 is required
    rank = max(len(data.shape), len(target))
    padded = (1,) * (rank - len(data.shape)) + tuple(data.shape)
    full = (1,) * (rank - len(target)) + tuple(target)
    wanted = tuple(d if run_time(view, t) and same(d, 1) is not True else t for d, t in zip(padded, full, strict=True))
    out = broadcast(view, padded, wanted)
    value = None
    sizes, out_sizes = known_ints(data.shape), known_ints(out)
    if data.value is not None and sizes is not None and out_sizes is not None and small(out):
        value = _contents.broadcast_to(data.value, sizes, out_sizes)
    return OpResult(outputs=(out,), values=(value,))
