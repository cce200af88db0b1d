"""Arithmetic shared by the fast path (``int``) and the symbolic path (SymPy).

Operator formulas are written once over ``+ - * //`` and the helpers here, so
the same function runs on Python ints (creating no SymPy objects) and on SymPy
expressions. Nothing here imports SymPy unless it is handed a SymPy object.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Union

if TYPE_CHECKING:
    import sympy

#: A count or a dimension: an exact ``int`` on the fast path, a SymPy expression otherwise.
Count = Union[int, "sympy.Expr"]
#: A value an expression can take: Fractions appear for decimals such as ``alpha: 0.75``.
Scalar = Union[int, Fraction, "sympy.Expr"]


def is_concrete(value: object) -> bool:
    """True for plain Python numbers (the fast path)."""
    return isinstance(value, (int, Fraction)) and not isinstance(value, bool)


def ceil_div(a: Count, b: Count) -> Count:
    """``ceil(a / b)`` exactly, for ints and SymPy expressions alike."""
    if isinstance(a, int) and isinstance(b, int):
        return -((-a) // b)
    import sympy

    return sympy.ceiling(a / b)


def exact_div(a: Count, b: Count) -> Count:
    """``a / b`` for a division known to be exact (channels per group).

    Ints use ``//``; SymPy uses true division, which cancels symbolically where
    ``//`` would leave a ``floor`` around a real-valued expression.
    """
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    if a == b:
        # Depthwise: channels / channels. SymPy does not cancel Piecewise (make_divisible) terms.
        return 1
    return a / b


def prod(values: object) -> Count:
    """Product of dims; ``1`` for an empty shape (a scalar)."""
    result: Count = 1
    for v in values:  # type: ignore[attr-defined]
        result = result * v
    return result


def floor_value(x: Scalar) -> Scalar:
    """``floor(x)``: an int for concrete input, ``sympy.floor`` otherwise."""
    if isinstance(x, int):
        return x
    if isinstance(x, Fraction):
        return math.floor(x)
    import sympy

    return sympy.floor(x)


def ceil_value(x: Scalar) -> Scalar:
    """``ceil(x)``: an int for concrete input, ``sympy.ceiling`` otherwise."""
    if isinstance(x, int):
        return x
    if isinstance(x, Fraction):
        return math.ceil(x)
    import sympy

    return sympy.ceiling(x)


def trunc_value(x: Scalar) -> Scalar:
    """``int(x)``: truncation toward zero, as Python's and Keras's ``int()``.

    For the positive sizes specs deal in this is ``floor``; SymPy symbols are
    created positive, so the symbolic form is ``floor`` too.
    """
    if isinstance(x, int):
        return x
    if isinstance(x, Fraction):
        return math.trunc(x)
    import sympy

    return sympy.floor(x)


def normalize(x: Scalar) -> Scalar:
    """Turn a whole Fraction (or integral SymPy number) into an ``int``."""
    if isinstance(x, Fraction):
        return x.numerator if x.denominator == 1 else x
    if isinstance(x, int):
        return x
    if getattr(x, "is_Integer", False):
        return int(x)
    return x


def decide(condition: object) -> bool | None:
    """Truth value of a comparison, or ``None`` when symbols leave it open (or it is ``None``)."""
    if isinstance(condition, bool) or condition is None:
        return condition
    try:
        return bool(condition)
    except TypeError:
        return None


def any_below(values: Iterable[Count], bound: int) -> bool:
    """Whether some value is certainly below ``bound``; an open symbolic comparison is not.

    Ints are compared directly: shape checks run this on every node of a graph.
    """
    for v in values:
        if type(v) is int:
            if v < bound:
                return True
        elif decide(v < bound) is True:
            return True
    return False


def same(a: Scalar, b: Scalar) -> bool | None:
    """Whether ``a == b`` as numbers: ``True``, ``False``, or ``None`` when symbols leave it open.

    SymPy's ``==`` compares structure (``2*(H + 1) == 2*H + 2`` is ``False``), so a
    symbolic pair is compared through its difference: zero or a nonzero number decides;
    otherwise SymPy's assumptions (a positive difference) and one expansion are tried.
    """
    if type(a) is int and type(b) is int:
        return a == b
    if is_concrete(a) and is_concrete(b):
        return bool(a == b)
    if a is b:
        return True
    diff: Any = a - b
    if is_concrete(diff) or getattr(diff, "is_Number", False):
        return bool(diff == 0)
    verdict = diff.is_zero
    if verdict is not None:
        return bool(verdict)
    import sympy

    expanded = sympy.expand(diff)
    if expanded.is_Number:
        return bool(expanded == 0)
    if any(arg.is_Pow and arg.exp.is_negative for arg in sympy.preorder_traversal(expanded)):
        cancelled = sympy.cancel(expanded)
        if cancelled.is_Number:
            return bool(cancelled == 0)
    return None


def quotient(a: Count, b: Count) -> Count:
    """``a / b`` for a division known to be exact, simplified.

    Ints divide with ``//``. A symbolic quotient of polynomials that cancel
    (``(1024*w + 1024)/(w + 1)``) becomes the polynomial (``1024``), so a
    Reshape's inferred dim stays the formula it is.
    """
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    if b == 1:
        return a
    if a == b:
        return 1
    q: Any = a / b
    if getattr(q, "is_Number", False):
        return normalize(q)
    _, denominator = q.as_numer_denom()
    if getattr(denominator, "free_symbols", None):
        import sympy

        q = sympy.cancel(q)
        if getattr(q, "is_Number", False):
            return normalize(q)
    return q


def is_zero(x: Scalar) -> bool | None:
    """Whether ``x == 0``: exact for numbers, decided by SymPy for expressions."""
    if is_concrete(x):
        return x == 0
    return getattr(x, "is_zero", None)
