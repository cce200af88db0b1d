"""Unary activations and Softmax.

Each keeps its input's shape. Under the ``flops`` convention each costs
``activation_op`` = (ops per element) × elements, with the per-element count
stated in the rule's docstring. The ``paper`` convention counts none of them.
"""

from __future__ import annotations

from archcost.numeric import prod
from archcost.ops.registry import OpResult, OpView, register


def _unary(view: OpView, ops_per_element: int, term: str = "activation_op") -> OpResult:
    shape = view.input(0).shape
    return OpResult(outputs=(shape,), terms={term: ops_per_element * prod(shape)})


@register("Relu")
def relu(view: OpView) -> OpResult:
    """Relu: 1 op per element (max(x, 0))."""
    return _unary(view, 1)


@register("Clip", roles=("x", "const", "const"))
def clip(view: OpView) -> OpResult:
    """Clip (ReLU6 when min=0, max=6): 1 op per element."""
    return _unary(view, 1)


@register("Sigmoid")
def sigmoid(view: OpView) -> OpResult:
    """Sigmoid: 3 ops per element (exp, add, divide)."""
    return _unary(view, 3)


@register("HardSigmoid", defaults={"alpha": 0.2, "beta": 0.5})
def hard_sigmoid(view: OpView) -> OpResult:
    """HardSigmoid max(0, min(1, αx + β)): 3 ops per element (mul, add, clamp)."""
    return _unary(view, 3)


@register("HardSwish")
def hard_swish(view: OpView) -> OpResult:
    """HardSwish x · HardSigmoid(x): 4 ops per element."""
    return _unary(view, 4)


@register("Tanh")
def tanh(view: OpView) -> OpResult:
    """Tanh: 1 op per element (one transcendental, as fvcore and ptflops leave it)."""
    return _unary(view, 1)


@register("Gelu", defaults={"approximate": "none"})
def gelu(view: OpView) -> OpResult:
    """Gelu 0.5·x·(1 + erf(x/√2)): 5 ops per element (div, erf, add, mul, mul)."""
    return _unary(view, 5)


@register("Softmax", defaults={"axis": -1})
def softmax(view: OpView) -> OpResult:
    """Softmax: 3 ops per element (exp, running sum, divide); ``softmax_op``."""
    return _unary(view, 3, "softmax_op")
