"""Shape and data-movement ops: Flatten, Reshape, Transpose, Concat, Identity, Dropout.

These cost nothing under every convention: they move or relabel data and do
no arithmetic. Each rule says so by returning no cost terms.
"""

from __future__ import annotations

from archcost.numeric import Count, decide, prod
from archcost.ops.registry import OpResult, OpView, register


@register("Flatten", defaults={"axis": 1})
def flatten(view: OpView) -> OpResult:
    """Flatten to 2-D ``[prod(d[:axis]), prod(d[axis:])]``: no cost (a relabelling)."""
    shape = view.input(0).shape
    axis = view.attr("axis")
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 <= axis <= len(shape):
        raise view.fail(f"axis {view.attr('axis')} is out of range for rank {len(shape)}")
    return OpResult(outputs=((prod(shape[:axis]), prod(shape[axis:])),))


@register("Reshape", roles=("x", "const"), defaults={"allowzero": 0})
def reshape(view: OpView) -> OpResult:
    """Reshape to the shape given by input 1 (0 copies a dim, -1 infers one): no cost."""
    data, target = view.input(0), view.input(1)
    if target.value is None:
        raise view.fail("the target shape is not a constant archcost can resolve")
    dims: list[Count] = []
    infer = None
    for i, d in enumerate(target.value):
        if isinstance(d, int) and d == 0 and not view.attr("allowzero"):
            if i >= len(data.shape):
                raise view.fail(f"shape entry {i} is 0 but the input has rank {len(data.shape)}")
            dims.append(data.shape[i])
        elif isinstance(d, int) and d == -1:
            if infer is not None:
                raise view.fail(f"at most one -1 is allowed in shape {list(target.value)}")
            infer = i
            dims.append(1)
        elif isinstance(d, int) and d < 0:
            raise view.fail(f"invalid shape entry {d} in {list(target.value)}")
        else:
            dims.append(d)
    total = prod(data.shape)
    if infer is not None:
        known = prod(dims)
        if isinstance(total, int) and isinstance(known, int):
            if known == 0 or total % known:
                raise view.fail(f"cannot reshape {list(data.shape)} to {list(target.value)}")
            dims[infer] = total // known
        else:
            dims[infer] = total / known
    elif decide(prod(dims) == total) is False and isinstance(total, int):
        raise view.fail(f"cannot reshape {list(data.shape)} ({total} elements) to {dims}")
    return OpResult(outputs=(tuple(dims),))


@register("Transpose")
def transpose(view: OpView) -> OpResult:
    """Transpose by ``perm`` (default: reverse the axes): no cost."""
    shape = view.input(0).shape
    perm = list(view.attr("perm") or reversed(range(len(shape))))
    if sorted(perm) != list(range(len(shape))):
        raise view.fail(f"perm {perm} is not a permutation of {len(shape)} axes")
    return OpResult(outputs=(tuple(shape[p] for p in perm),))


@register("Concat")
def concat(view: OpView) -> OpResult:
    """Concat along ``axis`` (required): no cost (a copy)."""
    shapes = [view.input(i).shape for i in range(len(view.inputs))]
    if not shapes:
        raise view.fail("Concat needs at least one input")
    rank = len(shapes[0])
    axis = view.attr("axis")
    if axis is None:
        raise view.fail("the 'axis' attribute is required")
    axis = axis + rank if axis < 0 else axis
    if not 0 <= axis < rank:
        raise view.fail(f"axis {view.attr('axis')} is out of range for rank {rank}")
    for s in shapes[1:]:
        if len(s) != rank or any(
            i != axis and decide(a == b) is False for i, (a, b) in enumerate(zip(s, shapes[0], strict=False))
        ):
            raise view.fail(f"inputs {[list(x) for x in shapes]} differ outside axis {axis}")
    out = list(shapes[0])
    out[axis] = sum((s[axis] for s in shapes[1:]), start=shapes[0][axis])
    values = [view.input(i).value for i in range(len(shapes))]
    value = None
    if rank == 1 and all(v is not None for v in values):
        value = tuple(d for v in values for d in v)  # type: ignore[union-attr]
    return OpResult(outputs=(tuple(out),), values=(value,))


@register("Identity")
def identity(view: OpView) -> OpResult:
    """Identity: no cost."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), values=(x.value,))


@register("Dropout", roles=("x", "const", "const"))
def dropout(view: OpView) -> OpResult:
    """Dropout at inference is the identity: no cost. The optional mask has the input's shape."""
    shape = view.input(0).shape
    return OpResult(outputs=(shape, shape), dtypes=("float32", "bool"))
