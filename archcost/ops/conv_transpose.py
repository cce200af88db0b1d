"""Transposed convolution: ConvTranspose.

Notation as in :mod:`archcost.ops.conv`: M input channels, N output channels,
g groups. The weight is ``[M, N/g, K_h, K_w]``: each input pixel scatters a
K_h·K_w window into the N/g output channels of its group.
"""

from __future__ import annotations

from archcost.numeric import Count, any_below, decide, exact_div, prod
from archcost.ops._spatial import spatial_attrs
from archcost.ops.conv import conv_category
from archcost.ops.registry import OpResult, OpView, register


@register("ConvTranspose", roles=("x", "weight", "bias"), defaults={"group": 1, "auto_pad": "NOTSET"})
def conv_transpose(view: OpView) -> OpResult:
    """ConvTranspose, X ``[B, M, H, W]``, W ``[M, N/g, K_h, K_w]``.

    * mac = B · M · H_in · W_in · (N/g) · K_h · K_w (every input element times its
      group's kernel; the transpose of the matching Conv's count).
    * bias_add = B · N · H_out · W_out when a bias is given.
    * Output size per axis: ``output_shape`` when given; SAME_*: D_in · s;
      otherwise s·(D_in − 1) + output_padding + d·(k − 1) + 1 − p_begin − p_end.
    """
    x, w, b = view.input(0), view.input(1), view.optional(2)
    if len(x.shape) < 3 or len(w.shape) != len(x.shape):
        raise view.fail(f"input {list(x.shape)} and weight {list(w.shape)} must both be rank ≥ 3 and equal")
    batch, in_channels, spatial = x.shape[0], x.shape[1], x.shape[2:]
    rank = len(spatial)
    group = view.attr("group")
    if decide(group < 1) is True:
        raise view.fail(f"group must be positive, got {group}")
    in_channels = view.equal(in_channels, w.shape[0], f"input channels match weight {list(w.shape)}")
    out_channels = w.shape[1] * group
    kernel = list(view.attr("kernel_shape") or w.shape[2:])
    strides, dilations, pads, auto_pad = spatial_attrs(view, rank, kernel)
    output_padding = list(view.attr("output_padding") or [0] * rank)
    output_shape = view.attr("output_shape")
    out: list[Count]
    if output_shape is not None:
        out = list(output_shape)[-rank:]
    elif auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = [spatial[i] * strides[i] for i in range(rank)]
    else:
        if auto_pad == "VALID":
            pads = [0] * (2 * rank)
        out = [
            strides[i] * (spatial[i] - 1) + output_padding[i] + dilations[i] * (kernel[i] - 1) + 1
            - pads[i] - pads[rank + i]
            for i in range(rank)
        ]
    if any_below(out, 1):
        raise view.fail(f"output spatial size {out} is empty for input {list(x.shape)}")
    terms = {"mac": prod(x.shape) * w.shape[1] * prod(kernel)}
    if b is not None:
        terms["bias_add"] = batch * out_channels * prod(out)
    return OpResult(
        outputs=((batch, out_channels, *out),),
        terms=terms,
        category=conv_category(group, in_channels, exact_div(in_channels, group), kernel),
    )
