"""More normalizations and reductions: InstanceNormalization, GroupNormalization,
RMSNormalization, LpNormalization, MeanVarianceNormalization, LRN, LpPool,
GlobalLpPool, ReduceL1, ReduceLogSum, ReduceLogSumExp.

γ and β are ``norm`` parameters, as for LayerNormalization, and the per-element
counts follow LayerNormalization's (see :mod:`archcost.ops.norm`): statistics
(mean: 1, variance: 3), normalize (2), affine scale (1, ``norm_op``) and shift
(``bias_add``).
"""

from __future__ import annotations

from archcost.numeric import prod
from archcost.ops.pool import global_pool, window_output
from archcost.ops.reduce import _reduce
from archcost.ops.registry import OpResult, OpView, register

_REDUCE_DEFAULTS = {"keepdims": 1, "noop_with_empty_axes": 0}


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


@register("LpPool", defaults={"auto_pad": "NOTSET", "ceil_mode": 0, "p": 2})
def lp_pool(view: OpView) -> OpResult:
    """LpPool: pool_op = 2 · B·C·H_out·W_out·K_h·K_w (a power and an add per window element)."""
    shape, kernel = window_output(view)
    return OpResult(outputs=(shape,), terms={"pool_op": 2 * prod(shape) * prod(kernel)})


@register("GlobalLpPool", defaults={"p": 2})
def global_lp_pool(view: OpView) -> OpResult:
    """GlobalLpPool: pool_op = 2 · B·C·H·W (a power and an add per element); ``[B, C, 1, 1]``."""
    return global_pool(view, ops_per_element=2)


@register("ReduceL1", roles=("x", "const"), defaults=_REDUCE_DEFAULTS)
def reduce_l1(view: OpView) -> OpResult:
    """ReduceL1: pool_op = one abs-add per input element."""
    return _reduce(view)


@register("ReduceLogSum", roles=("x", "const"), defaults=_REDUCE_DEFAULTS)
def reduce_log_sum(view: OpView) -> OpResult:
    """ReduceLogSum: pool_op = one add per input element (the final log is not counted)."""
    return _reduce(view)


@register("ReduceLogSumExp", roles=("x", "const"), defaults=_REDUCE_DEFAULTS)
def reduce_log_sum_exp(view: OpView) -> OpResult:
    """ReduceLogSumExp: pool_op = one exp-add per input element (the final log is not counted)."""
    return _reduce(view)
