"""Binary elementwise ops with NumPy broadcasting: Add, Sub, Mul, Div.

Cost: ``elementwise_op`` = one op per output element (flops convention only).
A stored operand of Add/Sub counts as a ``bias`` parameter and of Mul as a
``weight`` (an FC bias after MatMul, a layer scale, a position embedding).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from archcost.dtypes import is_integer
from archcost.numeric import Count, decide, is_concrete, normalize, prod, quotient, same
from archcost.ops import _contents
from archcost.ops.registry import OpResult, OpView, register
from archcost.ops.tensor import known_ints

Shape = tuple[Count, ...]


def broadcast(view: OpView, *shapes: Shape) -> Shape:
    """NumPy broadcasting of ``shapes``.

    Per axis, 1 gives way to any size and equal sizes agree. Two sizes that may
    differ are assumed equal (a symbol against 5: the symbol is 5, or 1) and the
    assumption is recorded; two concrete sizes that differ, neither 1, are an error.
    """
    if shapes and all(shape == shapes[0] for shape in shapes):
        return tuple(shapes[0])  # the common case, and equal shapes broadcast to themselves
    rank = max((len(s) for s in shapes), default=0)
    result: list[Count] = []
    for axis in range(rank):
        dim: Count = 1
        for shape in shapes:
            offset = axis - (rank - len(shape))
            if offset < 0:
                continue
            d = shape[offset]
            if type(d) is int and type(dim) is int:
                if d == dim or d == 1:
                    continue
                if dim == 1:
                    dim = d
                    continue
                raise view.fail(f"shapes {[list(s) for s in shapes]} do not broadcast")
            if same(d, 1) is True or same(d, dim) is True:
                continue
            if same(dim, 1) is True:
                dim = d
                continue
            dim = view.equal(dim, d, f"broadcast dims on axis {axis} of {rank} agree (or one is 1)")
        result.append(dim)
    return tuple(result)


def fold(view: OpView, out: Shape, fn: Callable[[Count, Count], Count]) -> tuple[Count, ...] | None:
    """Contents of a binary op's output, when both inputs' contents are known.

    Only small tensors whose contents are known (shape arithmetic, in integers
    or in floats such as a scale computed as ``Cast(Shape) * 2.0``) are folded;
    anything else, or an undecidable symbolic comparison, gives ``None``.
    """
    a, b = view.input(0), view.input(1)
    if a.value is None or b.value is None:
        return None
    size = prod(out)
    if not isinstance(size, int):
        return None
    a_values, b_values = a.value, b.value
    if len(a_values) not in (1, size) or len(b_values) not in (1, size):
        a_shape, b_shape, out_shape = known_ints(a.shape), known_ints(b.shape), known_ints(out)
        if a_shape is None or b_shape is None or out_shape is None:
            return None
        a_values = _contents.broadcast_to(a_values, a_shape, out_shape)
        b_values = _contents.broadcast_to(b_values, b_shape, out_shape)
    try:
        return tuple(normalize(fn(a_values[i % len(a_values)], b_values[i % len(b_values)]))
                     for i in range(size))
    except (ValueError, ZeroDivisionError, TypeError):
        return None


def _int_div(a: Count, b: Count) -> Count:
    """ONNX integer Div truncates toward zero; symbolic dims are positive, so floor."""
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b > 0) else -quotient
    return a // b


def _true_div(a: Count, b: Count) -> Count:
    """Float Div: exact, as a Fraction for numbers and a SymPy quotient for expressions."""
    if is_concrete(a) and is_concrete(b):
        return Fraction(a) / Fraction(b)
    return quotient(a, b) if same(b, 0) is False else a / b


def binary(view: OpView, fn: Callable[[Count, Count], Count] | None = None,
           dtype: str | None = None) -> OpResult:
    """A broadcasting binary op: elementwise_op = 1 per output element.

    ``fn`` folds small known contents (shape arithmetic); ``dtype`` overrides the
    output dtype (``bool`` for comparisons).
    """
    out = broadcast(view, view.input(0).shape, view.input(1).shape)
    value = fold(view, out, fn) if fn is not None else None
    return OpResult(outputs=(out,), terms={"elementwise_op": prod(out)}, values=(value,),
                    dtypes=(dtype,) if dtype else None)


def comparison(test: Callable[[Count, Count], object]) -> Callable[[Count, Count], Count]:
    """``test`` as a folding function giving 0/1; an undecidable symbolic test folds nothing."""

    def fn(a: Count, b: Count) -> Count:
        verdict = decide(test(a, b))
        if verdict is None:
            raise ValueError("undecidable")  # fold() turns this into "contents unknown"
        return int(verdict)

    return fn


@register("Add", roles=("bias", "bias"))
def add(view: OpView) -> OpResult:
    """Add: elementwise_op = 1 per output element."""
    return binary(view, lambda a, b: a + b)


@register("Sub", roles=("bias", "bias"))
def sub(view: OpView) -> OpResult:
    """Sub: elementwise_op = 1 per output element."""
    return binary(view, lambda a, b: a - b)


@register("Mul", roles=("weight", "weight"))
def mul(view: OpView) -> OpResult:
    """Mul: elementwise_op = 1 per output element."""
    return binary(view, lambda a, b: a * b)


@register("Div", roles=("x", "x"))
def div(view: OpView) -> OpResult:
    """Div: elementwise_op = 1 per output element (integer contents truncate, as ONNX does)."""
    return binary(view, _int_div if is_integer(view.input(0).dtype) else _true_div)
