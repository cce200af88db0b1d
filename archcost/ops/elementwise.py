"""Binary elementwise ops with NumPy broadcasting: Add, Sub, Mul, Div.

Cost: ``elementwise_op`` = one op per output element (flops convention only).
A stored operand of Add/Sub counts as a ``bias`` parameter and of Mul as a
``weight`` (an FC bias after MatMul, a layer scale, a position embedding).
"""

from __future__ import annotations

from archcost.numeric import Count, decide, prod
from archcost.ops.registry import OpResult, OpView, register

Shape = tuple[Count, ...]


def broadcast(view: OpView, *shapes: Shape) -> Shape:
    """NumPy broadcasting of ``shapes``; symbolic dims that may differ are assumed equal."""
    rank = max((len(s) for s in shapes), default=0)
    result: list[Count] = []
    for axis in range(rank):
        dim: Count = 1
        for shape in shapes:
            offset = axis - (rank - len(shape))
            if offset < 0:
                continue
            d = shape[offset]
            if decide(d == 1):
                continue
            if decide(dim == 1):
                dim = d
            elif decide(dim == d) is False and isinstance(dim, int) and isinstance(d, int):
                raise view.fail(f"shapes {[list(s) for s in shapes]} do not broadcast")
        result.append(dim)
    return tuple(result)


def _binary(view: OpView) -> OpResult:
    out = broadcast(view, view.input(0).shape, view.input(1).shape)
    return OpResult(outputs=(out,), terms={"elementwise_op": prod(out)})


@register("Add", roles=("bias", "bias"))
def add(view: OpView) -> OpResult:
    """Add: elementwise_op = 1 per output element."""
    return _binary(view)


@register("Sub", roles=("bias", "bias"))
def sub(view: OpView) -> OpResult:
    """Sub: elementwise_op = 1 per output element."""
    return _binary(view)


@register("Mul", roles=("weight", "weight"))
def mul(view: OpView) -> OpResult:
    """Mul: elementwise_op = 1 per output element."""
    return _binary(view)


@register("Div", roles=("x", "x"))
def div(view: OpView) -> OpResult:
    """Div: elementwise_op = 1 per output element."""
    return _binary(view)
