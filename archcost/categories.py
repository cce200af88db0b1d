"""Layer categories: the one answer to "where do the MACs go".

Operator handlers assign a category; reports (the MobileNet paper's Table 2)
and the gate read it. Defined once, here.
"""

from __future__ import annotations

import enum


class Category(str, enum.Enum):
    """What kind of layer a node is, for the per-category breakdown."""

    CONV_1X1 = "conv_1x1"
    DEPTHWISE = "depthwise"
    FULL_CONV = "full_conv"
    GROUPED_CONV = "grouped_conv"
    FULLY_CONNECTED = "fully_connected"
    ATTENTION_MATMUL = "attention_matmul"
    OTHER = "other"

    @property
    def label(self) -> str:
        """How the category is named in tables."""
        return _TITLES[self]


_TITLES = {
    Category.CONV_1X1: "Conv 1×1 (pointwise)",
    Category.DEPTHWISE: "Depthwise conv k×k",
    Category.FULL_CONV: "Full conv k×k",
    Category.GROUPED_CONV: "Grouped conv",
    Category.FULLY_CONNECTED: "Fully connected",
    Category.ATTENTION_MATMUL: "Attention matmul",
    Category.OTHER: "Other",
}
