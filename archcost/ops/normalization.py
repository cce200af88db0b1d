"""Normalizations: BatchNormalization, LayerNormalization, InstanceNormalization,
GroupNormalization, RMSNormalization, LpNormalization, MeanVarianceNormalization, LRN.

γ and β are ``norm`` parameters (trainable); BN's running mean and variance are
``buffer`` (not trainable). The paper's Table 2 counts neither. The per-element
counts follow LayerNormalization's: statistics (mean: 1, variance: 3), normalize
(2), affine scale (1, ``norm_op``) and shift (``bias_add``).
"""

from __future__ import annotations

from archcost.numeric import prod
from archcost.ops.registry import OpResult, OpView, register


@register(
    "BatchNormalization",
    roles=("x", "norm", "norm", "buffer", "buffer"),
    defaults={"epsilon": 1e-5, "momentum": 0.9, "training_mode": 0},
)
def batch_norm(view: OpView) -> OpResult:
    """BatchNormalization: norm_op = 2 per element (a folded scale and shift).

    In training mode (``training_mode`` = 1, or the extra outputs of opsets before 9)
    the optional outputs are the updated running mean and variance, ``[C]`` each
    (and, before opset 14, the batch's saved mean and variance).
    """
    x = view.input(0)
    if len(x.shape) < 2:
        raise view.fail(f"input must have a channel axis, got shape {list(x.shape)}")
    scale = view.input(1)
    if len(scale.shape) != 1 or (isinstance(scale.shape[0], int) and isinstance(x.shape[1], int)
                                 and scale.shape[0] != x.shape[1]):
        raise view.fail(f"scale {list(scale.shape)} must be [C] for input {list(x.shape)}")
    channels = (x.shape[1],)
    return OpResult(outputs=(x.shape, channels, channels, channels, channels),
                    terms={"norm_op": 2 * prod(x.shape)})


@register(
    "LayerNormalization",
    roles=("x", "norm", "norm"),
    defaults={"axis": -1, "epsilon": 1e-5, "stash_type": 1},
)
def layer_norm(view: OpView) -> OpResult:
    """LayerNormalization: norm_op = 7 per element.

    Mean (1 add), variance (subtract, square, add: 3), normalize (subtract
    mean, multiply by 1/σ: 2 — the per-row rsqrt is not counted), affine (1
    mul; the β add is counted as ``bias_add``).
    """
    x = view.input(0)
    rank = len(x.shape)
    axis = view.attr("axis")
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise view.fail(f"axis {axis!r} is out of range for rank {rank}")
    axis = axis + rank if axis < 0 else axis
    elements = prod(x.shape)
    terms = {"norm_op": 7 * elements}
    if view.optional(2) is not None:
        terms["bias_add"] = elements
    # The optional Mean and InvStdDev outputs keep the leading dims, size 1 on the rest.
    stats = (*x.shape[:axis], *([1] * (rank - axis)))
    return OpResult(outputs=(x.shape, stats, stats), terms=terms,
                    dtypes=(x.dtype, "float32", "float32"))


def _channel_norm(view: OpView) -> OpResult:
    x = view.input(0)
    if len(x.shape) < 2:
        raise view.fail(f"input must have a channel axis, got {list(x.shape)}")
    elements = prod(x.shape)
    return OpResult(outputs=(x.shape,), terms={"norm_op": 7 * elements, "bias_add": elements})


@register("InstanceNormalization", roles=("x", "norm", "norm"), defaults={"epsilon": 1e-5})
def instance_norm(view: OpView) -> OpResult:
    """InstanceNormalization (per sample and channel over the spatial dims): norm_op = 7 per
    element and bias_add = 1 per element, as LayerNormalization.
    """
    return _channel_norm(view)


@register("GroupNormalization", roles=("x", "norm", "norm"), defaults={"epsilon": 1e-5, "stash_type": 1})
def group_norm(view: OpView) -> OpResult:
    """GroupNormalization (per sample and group): norm_op = 7 per element and bias_add = 1 per
    element, as LayerNormalization.
    """
    return _channel_norm(view)


@register("RMSNormalization", roles=("x", "norm"), defaults={"axis": -1, "epsilon": 1e-5, "stash_type": 1})
def rms_norm(view: OpView) -> OpResult:
    """RMSNormalization x / √(mean(x²) + ε) · γ: norm_op = 4 per element (square, add,
    multiply by 1/rms, scale; the per-row rsqrt is not counted).
    """
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"norm_op": 4 * prod(x.shape)})


@register("LpNormalization", defaults={"axis": -1, "p": 2})
def lp_norm(view: OpView) -> OpResult:
    """LpNormalization x / ‖x‖_p along ``axis``: norm_op = 3 per element (power or abs,
    add, divide; the per-row root is not counted).
    """
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"norm_op": 3 * prod(x.shape)})


@register("MeanVarianceNormalization", defaults={"axes": [0, 2, 3]})
def mvn(view: OpView) -> OpResult:
    """MeanVarianceNormalization (x − μ) / σ over ``axes``: norm_op = 6 per element (mean 1,
    variance 3, normalize 2), LayerNormalization without the affine step.
    """
    x = view.input(0)
    return OpResult(outputs=(x.shape,), terms={"norm_op": 6 * prod(x.shape)})


@register("LRN", defaults={"alpha": 0.0001, "beta": 0.75, "bias": 1.0})
def lrn(view: OpView) -> OpResult:
    """LRN across ``size`` channels: norm_op = (size + 3) per element (size square-adds,
    then scale, power and divide).
    """
    x = view.input(0)
    size = view.attr("size")
    if not isinstance(size, int) or size < 1:
        raise view.fail("the 'size' attribute must be a positive integer")
    return OpResult(outputs=(x.shape,), terms={"norm_op": (size + 3) * prod(x.shape)})
