"""Shape and data-movement ops: Flatten, Reshape, Transpose, Concat, Identity, Dropout.

These cost nothing under every convention: they move or relabel data and do
no arithmetic. Each rule says so by returning no cost terms. Each passes known
contents along (a Reshape of a shape vector keeps its entries), so shape
arithmetic survives them.
"""

from __future__ import annotations

from archcost.numeric import Count, prod, quotient, same
from archcost.ops import _contents
from archcost.ops.registry import InputInfo, OpResult, OpView, register
from archcost.ops.tensor import input_values, known_ints, run_time


@register("Flatten", defaults={"axis": 1})
def flatten(view: OpView) -> OpResult:
    """Flatten to 2-D ``[prod(d[:axis]), prod(d[axis:])]``: no cost (a relabelling)."""
    x = view.input(0)
    shape = x.shape
    axis = view.attr("axis")
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 <= axis <= len(shape):
        raise view.fail(f"axis {view.attr('axis')} is out of range for rank {len(shape)}")
    return OpResult(outputs=((prod(shape[:axis]), prod(shape[axis:])),), values=(x.value,))


@register("Reshape", roles=("x", "const"), defaults={"allowzero": 0})
def reshape(view: OpView) -> OpResult:
    """Reshape to the shape given by input 1 (0 copies a dim, -1 infers one): no cost.

    A target entry known only at run time is taken as the output dim itself; when
    it is the only one (and no -1 is given), it is inferred from the element count,
    which Reshape preserves. An inferred dim is the exact quotient, cancelled.
    """
    data, target = view.input(0), view.input(1)
    entries = input_values(view, 1, "shape")
    assert entries is not None  # input 1 is required: view.input(1) raised otherwise
    dims: list[Count] = []
    infer = None
    for i, d in enumerate(entries):
        if isinstance(d, int) and d == 0 and not view.attr("allowzero"):
            if i >= len(data.shape):
                raise view.fail(f"shape entry {i} is 0 but the input has rank {len(data.shape)}")
            dims.append(data.shape[i])
        elif isinstance(d, int) and d == -1:
            if infer is not None:
                raise view.fail(f"at most one -1 is allowed in shape {list(entries)}")
            infer = i
            dims.append(1)
        elif isinstance(d, int) and d < 0:
            raise view.fail(f"invalid shape entry {d} in {list(entries)}")
        else:
            dims.append(d)
    total = prod(data.shape)
    if infer is None:
        unknown = [i for i, d in enumerate(dims) if run_time(view, d)]
        if len(unknown) == 1 and target.value is None:
            infer = unknown[0]
            dims[infer] = 1
    if infer is not None:
        known = prod(dims)
        if isinstance(total, int) and isinstance(known, int):
            if known == 0 or total % known:
                raise view.fail(f"cannot reshape {list(data.shape)} to {list(entries)}")
            dims[infer] = total // known
        elif same(known, 0) is True:
            raise view.fail(f"cannot infer the -1 of {list(entries)}: the other entries hold no elements")
        else:
            dims[infer] = quotient(total, known)
    elif same(prod(dims), total) is False and isinstance(total, int) and isinstance(prod(dims), int):
        raise view.fail(f"cannot reshape {list(data.shape)} ({total} elements) to {dims}")
    return OpResult(outputs=(tuple(dims),), values=(data.value,))


@register("Transpose")
def transpose(view: OpView) -> OpResult:
    """Transpose by ``perm`` (default: reverse the axes): no cost."""
    x = view.input(0)
    shape = x.shape
    perm = list(view.attr("perm") or reversed(range(len(shape))))
    if sorted(perm) != list(range(len(shape))):
        raise view.fail(f"perm {perm} is not a permutation of {len(shape)} axes")
    value = None
    sizes = known_ints(shape)
    if x.value is not None and sizes is not None:
        value = _contents.transpose(x.value, sizes, perm)
    return OpResult(outputs=(tuple(shape[p] for p in perm),), values=(value,))


@register("Concat")
def concat(view: OpView) -> OpResult:
    """Concat along ``axis`` (required): no cost (a copy).

    The inputs must agree on every other axis; where symbols leave that open
    (branches upsampled back to a size that matches only for some input sizes),
    the agreement is assumed and reported.
    """
    infos = [view.input(i) for i in range(len(view.inputs))]
    shapes = [info.shape for info in infos]
    if not shapes:
        raise view.fail("Concat needs at least one input")
    rank = len(shapes[0])
    axis = view.attr("axis")
    if axis is None:
        raise view.fail("the 'axis' attribute is required")
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise view.fail(f"axis {view.attr('axis')} is out of range for rank {rank}")
    out = list(shapes[0])
    for s in shapes[1:]:
        if len(s) != rank:
            raise view.fail(f"inputs {[list(x) for x in shapes]} differ in rank")
        for i, d in enumerate(s):
            if i != axis:
                out[i] = view.equal(out[i], d, f"Concat inputs agree on axis {i}")
    out[axis] = sum((s[axis] for s in shapes[1:]), start=shapes[0][axis])
    value = None
    if all(info.value is not None for info in infos):
        sizes = [known_ints(s) for s in shapes]
        if rank == 1:
            value = tuple(d for info in infos for d in info.value)  # type: ignore[union-attr]
        elif all(size is not None for size in sizes):
            value = _concat_values(infos, [s for s in sizes if s is not None], axis)
    return OpResult(outputs=(tuple(out),), values=(value,))


def _concat_values(infos: list[InputInfo], sizes: list[list[int]], axis: int) -> tuple[Count, ...]:
    """Contents of a Concat of known tensors along ``axis``, row-major."""
    outer = prod(sizes[0][:axis])
    chunks = [prod(size[axis:]) for size in sizes]
    values: list[Count] = []
    for o in range(int(outer)):
        for info, chunk in zip(infos, chunks, strict=True):
            values.extend((info.value or ())[o * chunk:(o + 1) * chunk])
    return tuple(values)


@register("Identity")
def identity(view: OpView) -> OpResult:
    """Identity: no cost."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), values=(x.value,))


@register("Dropout", roles=("x", "const", "const"))
def dropout(view: OpView) -> OpResult:
    """Dropout at inference is the identity: no cost. The optional mask has the input's shape:
    bool from opset 10, the input's dtype before.
    """
    x = view.input(0)
    mask = "bool" if view.opset == 0 or view.opset >= 10 else x.dtype
    return OpResult(outputs=(x.shape, x.shape), dtypes=(x.dtype, mask), values=(x.value,))

