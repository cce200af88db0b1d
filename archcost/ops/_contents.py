"""Index arithmetic over the flattened contents of small tensors.

Shape-computing subgraphs move small integer tensors around with the same ops
that move activations: Gather, Slice, Transpose, Tile, Expand, ReduceProd,
ScatterND. Their rules pass known contents along (``OpResult.values``, row-major,
flattened); the helpers here do the index arithmetic, once, for every such rule.
Each takes concrete int shapes (a caller with a symbolic shape has no contents
to compute) and returns ``None`` when an index falls outside the data, so a
malformed constant never becomes a wrong value.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from archcost.numeric import Count

Values = tuple[Count, ...]


def strides(shape: Sequence[int]) -> list[int]:
    """Row-major element strides of ``shape``."""
    out = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        out[i] = out[i + 1] * shape[i + 1]
    return out


def indices(shape: Sequence[int]) -> itertools.product[tuple[int, ...]]:
    """Every multi-index of ``shape`` in row-major order."""
    return itertools.product(*(range(d) for d in shape))


def gather(values: Values, shape: Sequence[int], axis: int, picks: Sequence[int],
           picks_shape: Sequence[int]) -> Values | None:
    """Gather along ``axis`` (negative picks count from the end)."""
    outer = 1
    for d in shape[:axis]:
        outer *= d
    inner = 1
    for d in shape[axis + 1:]:
        inner *= d
    length = shape[axis]
    out: list[Count] = []
    for o in range(outer):
        for p in picks:
            if not -length <= p < length:
                return None
            base = (o * length + (p % length)) * inner
            out.extend(values[base:base + inner])
    return tuple(out)


def take(values: Values, shape: Sequence[int], ranges: Sequence[Sequence[int]]) -> Values:
    """The sub-tensor at the given index ranges per axis (a Slice)."""
    st = strides(shape)
    return tuple(values[sum(i * s for i, s in zip(index, st, strict=True))]
                 for index in itertools.product(*ranges))


def transpose(values: Values, shape: Sequence[int], perm: Sequence[int]) -> Values:
    """Transpose by ``perm``."""
    st = strides(shape)
    out_shape = [shape[p] for p in perm]
    return tuple(values[sum(index[k] * st[perm[k]] for k in range(len(perm)))] for index in indices(out_shape))


def broadcast_to(values: Values, shape: Sequence[int], out_shape: Sequence[int]) -> Values:
    """NumPy-broadcast ``values`` of ``shape`` to ``out_shape``."""
    padded = [1] * (len(out_shape) - len(shape)) + list(shape)
    st = strides(padded)
    return tuple(values[sum((i if d != 1 else 0) * s for i, d, s in zip(index, padded, st, strict=True))]
                 for index in indices(out_shape))


def tile(values: Values, shape: Sequence[int], repeats: Sequence[int]) -> Values:
    """Tile ``repeats[i]`` times along each axis."""
    st = strides(shape)
    out_shape = [d * r for d, r in zip(shape, repeats, strict=True)]
    return tuple(values[sum((i % d) * s for i, d, s in zip(index, shape, st, strict=True))]
                 for index in indices(out_shape))


def reduce(values: Values, shape: Sequence[int], axes: set[int],
           fn: Callable[[list[Count]], Count]) -> Values:
    """Reduce ``axes`` with ``fn`` over each group; the result in row-major order of the kept axes."""
    st = strides(shape)
    kept = [d if i not in axes else 1 for i, d in enumerate(shape)]
    out: list[Count] = []
    for index in indices(kept):
        group_ranges = [range(d) if i in axes else (index[i],) for i, d in enumerate(shape)]
        group = [values[sum(i * s for i, s in zip(full, st, strict=True))]
                 for full in itertools.product(*group_ranges)]
        out.append(fn(group))
    return tuple(out)


def scatter_nd(values: Values, shape: Sequence[int], where: Values, where_shape: Sequence[int],
               updates: Values) -> Values | None:
    """ScatterND without reduction: write ``updates`` at the index tuples in ``where``."""
    depth = where_shape[-1]
    st = strides(shape)
    inner = 1
    for d in shape[depth:]:
        inner *= d
    out = list(values)
    count = len(where) // depth if depth else 0
    for n in range(count):
        index = where[n * depth:(n + 1) * depth]
        if not all(isinstance(i, int) and -d <= i < d for i, d in zip(index, shape, strict=False)):
            return None
        base = sum((i % d) * s for i, d, s in zip(index, shape, st, strict=False))
        out[base:base + inner] = updates[n * inner:(n + 1) * inner]
    return tuple(out)


def scatter_elements(values: Values, shape: Sequence[int], axis: int, where: Values,
                     where_shape: Sequence[int], updates: Values) -> Values | None:
    """ScatterElements without reduction along ``axis``."""
    st = strides(shape)
    out = list(values)
    for n, index in enumerate(indices(where_shape)):
        target = where[n]
        if not isinstance(target, int) or not -shape[axis] <= target < shape[axis]:
            return None
        full = list(index)
        full[axis] = target % shape[axis]
        out[sum(i * s for i, s in zip(full, st, strict=True))] = updates[n]
    return tuple(out)
