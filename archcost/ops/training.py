"""Training ops of ``ai.onnx.preview.training``: Adagrad, Adam, Momentum, Gradient.

An optimizer step updates each tensor it is given; its outputs have the shapes
of the inputs they update, in the order the operator lists them. Each rule
counts ``elementwise_op`` per updated element, with the per-element count in
its docstring (a square root or a divide counts 1, as any elementwise op).
"""

from __future__ import annotations

from archcost.numeric import Count, prod
from archcost.ops.registry import OpResult, OpView, register

TRAINING = "ai.onnx.preview.training"


def _groups(view: OpView, groups: int) -> list[list[tuple[Count, ...]]]:
    """The tensors after R and T, split into ``groups`` equal lists (X…, G…, V…, H…)."""
    shapes = [view.input(i).shape for i in range(2, len(view.inputs))]
    if not shapes or len(shapes) % groups:
        raise view.fail(f"needs {groups} groups of tensors after R and T, got {len(shapes)} tensors")
    n = len(shapes) // groups
    return [shapes[k * n:(k + 1) * n] for k in range(groups)]


def _step(view: OpView, groups: int, updated: tuple[int, ...], per_element: int) -> OpResult:
    lists = _groups(view, groups)
    outputs = tuple(shape for g in updated for shape in lists[g])
    elements: Count = sum((prod(shape) for shape in lists[0]), start=0)
    return OpResult(outputs=outputs, terms={"elementwise_op": per_element * elements})


@register("Adagrad", domain=TRAINING, defaults={"decay_factor": 0.0, "epsilon": 0.0, "norm_coefficient": 0.0})
def adagrad(view: OpView) -> OpResult:
    """Adagrad on X…, G…, H…: outputs X_new…, H_new…; elementwise_op = 8 per element of X
    (regularize G: 2; H += G²: 2; X −= r·G / (√H + ε): 4)."""
    return _step(view, 3, (0, 2), 8)


@register("Adam", domain=TRAINING, defaults={"alpha": 0.9, "beta": 0.999, "epsilon": 0.0,
                                            "norm_coefficient": 0.0, "norm_coefficient_post": 0.0})
def adam(view: OpView) -> OpResult:
    """Adam on X…, G…, V…, H…: outputs X_new…, V_new…, H_new…; elementwise_op = 14 per
    element of X (regularize G: 2; V = αV + (1 − α)G: 3; H = βH + (1 − β)G²: 4; the step
    r·V / (√H + ε): 4; post-update regularization: 1)."""
    return _step(view, 4, (0, 2, 3), 14)


@register("Momentum", domain=TRAINING, defaults={"alpha": 0.9, "beta": 1.0, "mode": "standard",
                                                "norm_coefficient": 0.0})
def momentum(view: OpView) -> OpResult:
    """Momentum on X…, G…, V…: outputs X_new…, V_new…; elementwise_op = 7 per element of X
    (regularize G: 2; V = αV + βG: 3; X −= r·V: 2; Nesterov's extra term folded in)."""
    return _step(view, 3, (0, 2), 7)


@register("Gradient", domain=TRAINING)
def gradient(view: OpView) -> OpResult:
    """Gradient of ``y`` with respect to the ``xs``: output i has the shape of input i.

    No cost is counted: its cost is a backward pass through the part of the graph between
    the ``xs`` and ``y``, which archcost does not differentiate (``Gradient`` appears only
    in training graphs).
    """
    xs = view.attr("xs") or []
    if len(xs) > len(view.inputs):
        raise view.fail(f"lists {len(xs)} xs but has {len(view.inputs)} inputs")
    return OpResult(outputs=tuple(view.input(i).shape for i in range(len(xs))))
