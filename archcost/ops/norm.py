"""Normalization: BatchNormalization, LayerNormalization.

γ and β are ``norm`` parameters (trainable); BN's running mean and variance are
``buffer`` (not trainable). The paper's Table 2 counts neither.
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
