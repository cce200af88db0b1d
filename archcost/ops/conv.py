"""Convolutions: Conv.

Notation from Howard et al. 2017: D_K kernel size, M input channels, N output
channels, D_F output feature-map size; g groups, B batch.
"""

from __future__ import annotations

from archcost.categories import Category
from archcost.numeric import Count, any_below, decide, prod, same
from archcost.ops._spatial import output_size, spatial_attrs
from archcost.ops.registry import OpResult, OpView, register


def conv_category(group: Count, in_channels: Count, per_group: Count, kernel: list[Count]) -> Category:
    """Classify a convolution: pointwise, depthwise, full k×k or grouped."""
    # SymPy's == is structural and returns a bool, as int's does: no decide() needed.
    pointwise = all(k == 1 for k in kernel)
    if group == 1:
        return Category.CONV_1X1 if pointwise else Category.FULL_CONV
    if same(group, in_channels) and same(per_group, 1):
        return Category.DEPTHWISE
    return Category.GROUPED_CONV


@register("Conv", roles=("x", "weight", "bias"), defaults={"group": 1, "auto_pad": "NOTSET"})
def conv(view: OpView) -> OpResult:
    """Conv (any spatial rank), X ``[B, M, H, W]``, W ``[N, M/g, K_h, K_w]``.

    * mac = B · N · H_out · W_out · (M/g) · K_h · K_w.
      Standard conv: D_K·D_K·M·N·D_F·D_F; depthwise (g = M): D_K·D_K·M·D_F·D_F;
      pointwise: M·N·D_F·D_F.
    * bias_add = B · N · H_out · W_out when a bias is given.
    * Output size per axis: see :func:`archcost.ops._spatial.output_size`.
    """
    x, w, b = view.input(0), view.input(1), view.optional(2)
    if len(x.shape) < 3 or len(w.shape) != len(x.shape):
        raise view.fail(f"input {list(x.shape)} and weight {list(w.shape)} must both be rank ≥ 3 and equal")
    batch, in_channels, spatial = x.shape[0], x.shape[1], x.shape[2:]
    out_channels, per_group = w.shape[0], w.shape[1]
    kernel = list(view.attr("kernel_shape") or w.shape[2:])
    if any(a != b for a, b in zip(kernel, w.shape[2:], strict=False)):
        raise view.fail(f"kernel_shape {kernel} disagrees with weight shape {list(w.shape)}")
    group = view.attr("group")
    if decide(group < 1) is True:
        raise view.fail(f"group must be positive, got {group}")
    if same(per_group * group, in_channels) is False:
        raise view.fail(
            f"input has {in_channels} channels, but weight {list(w.shape)} with group={group} "
            f"expects {per_group * group}"
        )
    in_channels = view.equal(in_channels, per_group * group, "input channels match the weight's")
    if isinstance(out_channels, int) and isinstance(group, int) and out_channels % group:
        raise view.fail(f"output channels {out_channels} are not divisible by group={group}")
    strides, dilations, pads, auto_pad = spatial_attrs(view, len(spatial), kernel)
    rank = len(spatial)
    out_spatial = [
        output_size(spatial[i], kernel[i], strides[i], dilations[i], pads[i], pads[rank + i], auto_pad)
        for i in range(rank)
    ]
    if any_below(out_spatial, 1):
        raise view.fail(f"output spatial size {out_spatial} is empty for input {list(x.shape)}")
    positions = batch * prod(out_spatial)
    terms = {"mac": positions * out_channels * per_group * prod(kernel)}
    if b is not None:
        terms["bias_add"] = positions * out_channels
    return OpResult(
        outputs=((batch, out_channels, *out_spatial),),
        terms=terms,
        category=conv_category(group, in_channels, per_group, kernel),
    )
