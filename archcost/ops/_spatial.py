"""Spatial output sizes shared by convolutions and pools (ONNX's floor/ceil rules)."""

from __future__ import annotations

from collections.abc import Sequence

from archcost.numeric import Count, any_below, ceil_div, decide
from archcost.ops.registry import OpView

_AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


def spatial_attrs(
    view: OpView, spatial_rank: int, kernel: Sequence[Count]
) -> tuple[list[Count], list[Count], list[Count], str]:
    """Strides, dilations, pads (begin..., end...) and auto_pad, with ONNX's defaults."""
    strides = list(view.attr("strides") or [1] * spatial_rank)
    dilations = list(view.attr("dilations") or [1] * spatial_rank)
    pads = list(view.attr("pads") or [0] * (2 * spatial_rank))
    auto_pad = view.attr("auto_pad", "NOTSET")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad not in _AUTO_PADS:
        raise view.fail(f"auto_pad must be one of {', '.join(_AUTO_PADS)}, got {auto_pad!r}")
    if len(kernel) != spatial_rank or len(strides) != spatial_rank or len(dilations) != spatial_rank:
        raise view.fail(
            f"kernel {list(kernel)}, strides {strides} and dilations {dilations} "
            f"must each have {spatial_rank} entries, one per spatial axis"
        )
    if len(pads) != 2 * spatial_rank:
        raise view.fail(f"pads must have {2 * spatial_rank} entries, got {pads}")
    for name, values in (("kernel", kernel), ("strides", strides), ("dilations", dilations)):
        if any_below(values, 1):
            raise view.fail(f"{name} must be positive, got {list(values)}")
    if any_below(pads, 0):
        raise view.fail(f"pads must not be negative, got {pads}")
    return strides, dilations, pads, auto_pad


def output_size(
    size: Count,
    kernel: Count,
    stride: Count,
    dilation: Count,
    pad_begin: Count,
    pad_end: Count,
    auto_pad: str,
    ceil_mode: bool = False,
) -> Count:
    """One spatial output size, by the ONNX Conv/Pool formulas.

    * ``SAME_UPPER``/``SAME_LOWER``: ``ceil(D_in / s)``;
    * ``VALID``: ``floor((D_in - d·(k-1) - 1) / s) + 1``;
    * explicit pads: ``floor((D_in + p_b + p_e - d·(k-1) - 1) / s) + 1``,
      or ``ceil`` with ``ceil_mode``, where the last window must still start
      inside the input or its leading padding (as onnxruntime and PyTorch do).
    """
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return ceil_div(size, stride)
    if auto_pad == "VALID":
        pad_begin = pad_end = 0
    span = size + pad_begin + pad_end - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return span // stride + 1
    out = ceil_div(span, stride) + 1
    if decide((out - 1) * stride >= size + pad_begin) is True:
        out = out - 1
    return out
