"""Pooling: AveragePool, MaxPool, LpPool, GlobalAveragePool, GlobalMaxPool, GlobalLpPool.

``pool_op`` counts one add (average) or compare (max) per window element per
output element; the paper convention counts none of it.
"""

from __future__ import annotations

from archcost.numeric import Count, any_below, prod
from archcost.ops._spatial import output_size, spatial_attrs
from archcost.ops.registry import OpResult, OpView, register

_POOL_DEFAULTS = {"auto_pad": "NOTSET", "ceil_mode": 0}


def window_output(view: OpView) -> tuple[tuple[Count, ...], list[Count]]:
    """A windowed pool's output shape ``[B, C, spatial_out...]`` and its kernel."""
    x = view.input(0)
    if len(x.shape) < 3:
        raise view.fail(f"input must be [B, C, spatial...], got {list(x.shape)}")
    spatial = x.shape[2:]
    kernel = list(view.attr("kernel_shape") or [])
    if len(kernel) != len(spatial):
        raise view.fail(f"kernel_shape {kernel} needs {len(spatial)} entries")
    strides, dilations, pads, auto_pad = spatial_attrs(view, len(spatial), kernel)
    rank = len(spatial)
    ceil_mode = bool(view.attr("ceil_mode"))
    out = [
        output_size(spatial[i], kernel[i], strides[i], dilations[i], pads[i], pads[rank + i],
                    auto_pad, ceil_mode)
        for i in range(rank)
    ]
    if any_below(out, 1):
        raise view.fail(f"output size {out} is empty for input {list(x.shape)}")
    return (x.shape[0], x.shape[1], *out), kernel


def _window_pool(view: OpView) -> OpResult:
    shape, kernel = window_output(view)
    return OpResult(outputs=(shape,), terms={"pool_op": prod(shape) * prod(kernel)})


@register("AveragePool", defaults={**_POOL_DEFAULTS, "count_include_pad": 0})
def average_pool(view: OpView) -> OpResult:
    """AveragePool: pool_op = B·C·H_out·W_out·K_h·K_w (adds; the divide is folded)."""
    return _window_pool(view)


@register("MaxPool", defaults={**_POOL_DEFAULTS, "storage_order": 0})
def max_pool(view: OpView) -> OpResult:
    """MaxPool: pool_op = B·C·H_out·W_out·K_h·K_w (compares). The optional Indices output
    has the output's shape (int64)."""
    shape, kernel = window_output(view)
    return OpResult(outputs=(shape, shape), terms={"pool_op": prod(shape) * prod(kernel)},
                    dtypes=(view.input(0).dtype, "int64"))


def global_pool(view: OpView, ops_per_element: int = 1) -> OpResult:
    """A global pool: ``[B, C, 1, ...]``; pool_op = ops_per_element · B·C·H·W."""
    x = view.input(0)
    if len(x.shape) < 3:
        raise view.fail(f"input must be [B, C, spatial...], got {list(x.shape)}")
    shape = (x.shape[0], x.shape[1], *([1] * (len(x.shape) - 2)))
    return OpResult(outputs=(shape,), terms={"pool_op": ops_per_element * prod(x.shape)})


@register("GlobalAveragePool")
def global_average_pool(view: OpView) -> OpResult:
    """GlobalAveragePool: pool_op = B·C·H·W; output ``[B, C, 1, 1]``."""
    return global_pool(view)


@register("GlobalMaxPool")
def global_max_pool(view: OpView) -> OpResult:
    """GlobalMaxPool: pool_op = B·C·H·W; output ``[B, C, 1, 1]``."""
    return global_pool(view)


@register("LpPool", defaults={"auto_pad": "NOTSET", "ceil_mode": 0, "p": 2})
def lp_pool(view: OpView) -> OpResult:
    """LpPool: pool_op = 2 · B·C·H_out·W_out·K_h·K_w (a power and an add per window element)."""
    shape, kernel = window_output(view)
    return OpResult(outputs=(shape,), terms={"pool_op": 2 * prod(shape) * prod(kernel)})


@register("GlobalLpPool", defaults={"p": 2})
def global_lp_pool(view: OpView) -> OpResult:
    """GlobalLpPool: pool_op = 2 · B·C·H·W (a power and an add per element); ``[B, C, 1, 1]``."""
    return global_pool(view, ops_per_element=2)
