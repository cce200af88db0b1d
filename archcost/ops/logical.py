"""Comparison, logical, bitwise and variadic elementwise ops, and type relabelling.

Binary ops broadcast as NumPy does and cost ``elementwise_op`` = 1 per output
element (a compare, a logical or bitwise op, a modulo). Variadic Sum costs
(n − 1) adds per output element and Mean n (the adds and the divide); Max and
Min are in :mod:`archcost.ops.transformer`. CastLike and BitCast relabel data
and have an explicit zero cost.
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.dtypes import DTYPE_CODES
from archcost.numeric import Count, prod
from archcost.ops.elementwise import binary, broadcast, comparison
from archcost.ops.registry import OpResult, OpView, register


@register("GreaterOrEqual", roles=("x", "const"))
def greater_or_equal(view: OpView) -> OpResult:
    """GreaterOrEqual: elementwise_op = 1 per output element (a compare); bool output."""
    return binary(view, comparison(lambda a, b: a >= b), "bool")


@register("LessOrEqual", roles=("x", "const"))
def less_or_equal(view: OpView) -> OpResult:
    """LessOrEqual: elementwise_op = 1 per output element (a compare); bool output."""
    return binary(view, comparison(lambda a, b: a <= b), "bool")


@register("And")
def and_(view: OpView) -> OpResult:
    """And: elementwise_op = 1 per output element; bool output."""
    return binary(view, comparison(lambda a, b: bool(a) and bool(b)), "bool")


@register("Or")
def or_(view: OpView) -> OpResult:
    """Or: elementwise_op = 1 per output element; bool output."""
    return binary(view, comparison(lambda a, b: bool(a) or bool(b)), "bool")


@register("Xor")
def xor(view: OpView) -> OpResult:
    """Xor: elementwise_op = 1 per output element; bool output."""
    return binary(view, comparison(lambda a, b: bool(a) != bool(b)), "bool")


@register("BitwiseAnd")
def bitwise_and(view: OpView) -> OpResult:
    """BitwiseAnd: elementwise_op = 1 per output element."""
    return binary(view)


@register("BitwiseOr")
def bitwise_or(view: OpView) -> OpResult:
    """BitwiseOr: elementwise_op = 1 per output element."""
    return binary(view)


@register("BitwiseXor")
def bitwise_xor(view: OpView) -> OpResult:
    """BitwiseXor: elementwise_op = 1 per output element."""
    return binary(view)


@register("BitShift")
def bit_shift(view: OpView) -> OpResult:
    """BitShift (``direction`` LEFT or RIGHT): elementwise_op = 1 per output element."""
    return binary(view)


def _mod(a: Count, b: Count) -> Count:
    if isinstance(a, int) and isinstance(b, int):
        return a % b
    raise ValueError("symbolic modulo is not folded")


@register("Mod", roles=("x", "const"), defaults={"fmod": 0})
def mod(view: OpView) -> OpResult:
    """Mod: elementwise_op = 1 per output element (integer contents fold, sign of the divisor)."""
    if view.attr("fmod"):
        return binary(view)
    return binary(view, _mod)


def _variadic(view: OpView, ops: Callable[[int], int]) -> OpResult:
    shapes = [view.input(i).shape for i in range(len(view.inputs))]
    if not shapes:
        raise view.fail("needs at least one input")
    out = broadcast(view, *shapes)
    return OpResult(outputs=(out,), terms={"elementwise_op": ops(len(shapes)) * prod(out)})


@register("Sum", roles=("x", "bias"))
def sum_(view: OpView) -> OpResult:
    """Sum of n tensors: elementwise_op = (n − 1) per output element."""
    return _variadic(view, lambda n: n - 1)


@register("Mean")
def mean(view: OpView) -> OpResult:
    """Mean of n tensors: elementwise_op = n per output element ((n − 1) adds and a divide)."""
    return _variadic(view, lambda n: n)


@register("CastLike", roles=("x", "const"), defaults={"saturate": 1})
def cast_like(view: OpView) -> OpResult:
    """CastLike: cast input 0 to input 1's dtype; no cost (a conversion)."""
    x, like = view.input(0), view.input(1)
    return OpResult(outputs=(x.shape,), values=(x.value,), dtypes=(like.dtype,))


@register("BitCast")
def bit_cast(view: OpView) -> OpResult:
    """BitCast: reinterpret the bits as dtype ``to``; no cost. Equal widths keep the shape."""
    from archcost.ops.tensor import cast_dtype

    x = view.input(0)
    dtype = cast_dtype(view)
    if dtype not in DTYPE_CODES:
        raise view.fail(f"unsupported target dtype {dtype!r}")
    return OpResult(outputs=(x.shape,), dtypes=(dtype,))
