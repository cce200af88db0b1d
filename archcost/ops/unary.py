"""Elementwise unary math and the activations beyond the common ones.

Each keeps its input's shape and costs ``activation_op`` = (ops per element) ×
elements, with the per-element count in the rule's docstring: a
transcendental (sin, exp, log, ...) counts 1, as fvcore and ptflops leave it,
and each extra add, multiply or compare counts 1. Rounding and sign tests
(Ceil, Floor, Round, Sign, IsInf, IsNaN, BitwiseNot) count 1 per element.
The ``paper`` convention counts none of them.
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.numeric import Count, ceil_value, floor_value, is_concrete, prod, same
from archcost.ops.registry import OpResult, OpView, register


def _unary(view: OpView, ops_per_element: int, term: str = "activation_op",
           dtype: str | None = None, fold: Callable[[Count], Count] | None = None) -> OpResult:
    x = view.input(0)
    value = None
    if fold is not None and x.value is not None:
        try:
            value = tuple(fold(v) for v in x.value)
        except (TypeError, ValueError):  # a value this fold cannot take (a symbolic Round)
            value = None
    return OpResult(outputs=(x.shape,), terms={term: ops_per_element * prod(x.shape)},
                    dtypes=(dtype,) if dtype else None, values=(value,))


def _round(v: Count) -> Count:
    if not is_concrete(v):
        raise ValueError("a symbolic Round is not folded")
    return round(v)


def _sign(v: Count) -> Count:
    if not is_concrete(v):
        raise ValueError("a symbolic Sign is not folded")
    return (v > 0) - (v < 0)


#: Contents these ops fold (shape arithmetic done in floats: ``Floor(Cast(H) / 2)``).
_FOLDS: dict[str, Callable[[Count], Count]] = {
    "Ceil": ceil_value, "Floor": floor_value, "Round": _round, "Sign": _sign,
}


def _one_op(op_type: str, what: str) -> None:
    fold = _FOLDS.get(op_type)

    def rule(view: OpView) -> OpResult:
        return _unary(view, 1, fold=fold)

    rule.__doc__ = f"{op_type} ({what}): activation_op = 1 per element."
    rule.__name__ = rule.__qualname__ = op_type.lower()
    register(op_type)(rule)


for _op, _what in (
    ("Sin", "sine"), ("Cos", "cosine"), ("Tan", "tangent"), ("Asin", "arcsine"),
    ("Acos", "arccosine"), ("Atan", "arctangent"), ("Sinh", "hyperbolic sine"),
    ("Cosh", "hyperbolic cosine"), ("Asinh", "inverse hyperbolic sine"),
    ("Acosh", "inverse hyperbolic cosine"), ("Atanh", "inverse hyperbolic tangent"),
    ("Ceil", "round up"), ("Floor", "round down"), ("Round", "round half to even"),
    ("Sign", "sign test"), ("BitwiseNot", "bit flip"),
):
    _one_op(_op, _what)


@register("IsNaN")
def is_nan(view: OpView) -> OpResult:
    """IsNaN: activation_op = 1 per element (a test); bool output."""
    return _unary(view, 1, dtype="bool")


@register("IsInf", defaults={"detect_negative": 1, "detect_positive": 1})
def is_inf(view: OpView) -> OpResult:
    """IsInf: activation_op = 1 per element (a test); bool output."""
    return _unary(view, 1, dtype="bool")


@register("Softplus")
def softplus(view: OpView) -> OpResult:
    """Softplus log(1 + eˣ): activation_op = 3 per element (exp, add, log)."""
    return _unary(view, 3)


@register("Softsign")
def softsign(view: OpView) -> OpResult:
    """Softsign x / (1 + |x|): activation_op = 3 per element (abs, add, divide)."""
    return _unary(view, 3)


@register("Elu", defaults={"alpha": 1.0})
def elu(view: OpView) -> OpResult:
    """Elu α(eˣ − 1) for x < 0: activation_op = 4 per element (compare, exp, subtract, multiply)."""
    return _unary(view, 4)


@register("Celu", defaults={"alpha": 1.0})
def celu(view: OpView) -> OpResult:
    """Celu max(0, x) + min(0, α(e^(x/α) − 1)): activation_op = 6 per element."""
    return _unary(view, 6)


@register("Selu")
def selu(view: OpView) -> OpResult:
    """Selu γ·(α(eˣ − 1) for x ≤ 0, else x): activation_op = 5 per element (Elu's 4, times γ)."""
    return _unary(view, 5)


@register("LeakyRelu", defaults={"alpha": 0.01})
def leaky_relu(view: OpView) -> OpResult:
    """LeakyRelu: activation_op = 2 per element (compare, multiply)."""
    return _unary(view, 2)


@register("ThresholdedRelu", defaults={"alpha": 1.0})
def thresholded_relu(view: OpView) -> OpResult:
    """ThresholdedRelu x if x > α else 0: activation_op = 1 per element (a compare)."""
    return _unary(view, 1)


@register("Shrink", defaults={"bias": 0.0, "lambd": 0.5})
def shrink(view: OpView) -> OpResult:
    """Shrink: activation_op = 2 per element (compare, add or subtract the bias)."""
    return _unary(view, 2)


@register("Mish")
def mish(view: OpView) -> OpResult:
    """Mish x·tanh(softplus(x)): activation_op = 5 per element (softplus 3, tanh 1, multiply 1)."""
    return _unary(view, 5)


@register("Swish", defaults={"alpha": 1.0})
def swish(view: OpView) -> OpResult:
    """Swish x·sigmoid(αx): activation_op = 5 per element (multiply, sigmoid 3, multiply)."""
    return _unary(view, 5)


@register("PRelu", roles=("x", "weight"))
def prelu(view: OpView) -> OpResult:
    """PRelu with a learned slope (a ``weight``): activation_op = 2 per element (compare,
    multiply). The output has the broadcast shape of X and the slope. Before opset 7 the
    slope was per channel: a ``[C]`` slope applies along axis 1 of ``[N, C, ...]``.
    """
    from archcost.ops.elementwise import broadcast

    x, slope = view.input(0), view.input(1)
    if 0 < view.opset < 7 and len(slope.shape) == 1 and len(x.shape) >= 2:
        if same(slope.shape[0], 1) is not True:
            view.equal(slope.shape[0], x.shape[1], "the slope has one entry per channel (or one in all)")
        return OpResult(outputs=(x.shape,), terms={"activation_op": 2 * prod(x.shape)})
    out = broadcast(view, x.shape, slope.shape)
    return OpResult(outputs=(out,), terms={"activation_op": 2 * prod(out)})


@register("LogSoftmax", defaults={"axis": -1})
def log_softmax(view: OpView) -> OpResult:
    """LogSoftmax: softmax_op = 3 per element (exp, running sum, subtract; the per-row log is
    not counted), the same count as Softmax.
    """
    return _unary(view, 3, "softmax_op")


@register("Hardmax", defaults={"axis": -1})
def hardmax(view: OpView) -> OpResult:
    """Hardmax: pool_op = 1 compare per element (an argmax along the axis, then a one-hot)."""
    return _unary(view, 1, "pool_op")
