"""Comparison, logical, bitwise and variadic elementwise ops, and type relabelling.

Binary ops broadcast as NumPy does and cost ``elementwise_op`` = 1 per output
element (a compare, a logical or bitwise op, a modulo). Variadic Sum costs
(n − 1) adds per output element and Mean n (the adds and the divide); Max and
Min are in :mod:`archcost.ops.transformer`. CastLike and BitCast relabel data
and have an explicit zero cost.
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.numeric import Count, decide, prod
from archcost.ops._dtypes import DTYPE_CODES
from archcost.ops.elementwise import broadcast, fold
from archcost.ops.registry import OpResult, OpView, register


def _binary(view: OpView, fn: Callable[[Count, Count], Count] | None = None,
            dtype: str | None = None) -> OpResult:
    out = broadcast(view, view.input(0).shape, view.input(1).shape)
    value = fold(view, out, fn) if fn is not None else None
    return OpResult(outputs=(out,), terms={"elementwise_op": prod(out)}, values=(value,),
                    dtypes=(dtype,) if dtype else None)


def _truth(test: Callable[[Count, Count], object]) -> Callable[[Count, Count], Count]:
    def fn(a: Count, b: Count) -> Count:
        verdict = decide(test(a, b))
        if verdict is None:
            raise ValueError("undecidable")
        return int(verdict)

    return fn


@register("GreaterOrEqual", roles=("x", "const"))
def greater_or_equal(view: OpView) -> OpResult:
    """GreaterOrEqual: elementwise_op = 1 per output element (a compare); bool output."""
    return _binary(view, _truth(lambda a, b: a >= b), "bool")


@register("LessOrEqual", roles=("x", "const"))
def less_or_equal(view: OpView) -> OpResult:
    """LessOrEqual: elementwise_op = 1 per output element (a compare); bool output."""
    return _binary(view, _truth(lambda a, b: a <= b), "bool")


@register("And")
def and_(view: OpView) -> OpResult:
    """And: elementwise_op = 1 per output element; bool output."""
    return _binary(view, _truth(lambda a, b: bool(a) and bool(b)), "bool")


@register("Or")
def or_(view: OpView) -> OpResult:
    """Or: elementwise_op = 1 per output element; bool output."""
    return _binary(view, _truth(lambda a, b: bool(a) or bool(b)), "bool")


@register("Xor")
def xor(view: OpView) -> OpResult:
    """Xor: elementwise_op = 1 per output element; bool output."""
    return _binary(view, _truth(lambda a, b: bool(a) != bool(b)), "bool")


@register("BitwiseAnd")
def bitwise_and(view: OpView) -> OpResult:
    """BitwiseAnd: elementwise_op = 1 per output element."""
    return _binary(view)


@register("BitwiseOr")
def bitwise_or(view: OpView) -> OpResult:
    """BitwiseOr: elementwise_op = 1 per output element."""
    return _binary(view)


@register("BitwiseXor")
def bitwise_xor(view: OpView) -> OpResult:
    """BitwiseXor: elementwise_op = 1 per output element."""
    return _binary(view)


@register("BitShift")
def bit_shift(view: OpView) -> OpResult:
    """BitShift (``direction`` LEFT or RIGHT): elementwise_op = 1 per output element."""
    return _binary(view)


def _mod(a: Count, b: Count) -> Count:
    if isinstance(a, int) and isinstance(b, int):
        return a % b
    raise ValueError("symbolic modulo is not folded")


@register("Mod", roles=("x", "const"), defaults={"fmod": 0})
def mod(view: OpView) -> OpResult:
    """Mod: elementwise_op = 1 per output element (integer contents fold, sign of the divisor)."""
    if view.attr("fmod"):
        return _binary(view)
    return _binary(view, _mod)


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
