"""PyTorch modules for tests/test_pytorch.py, importable as ``tests.torch_zoo:NAME`` references.

torchvision 0.28.0 beside the CPU torch 2.13.0 wheel that CI installs cannot import
``torchvision.models`` until the two compiled-op schemas it registers fakes for exist
(ENVIRONMENT.md): :func:`torchvision_models` defines them first, on any machine where they
are missing, and keeps the library alive. Importing this module needs torch.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import torch

_SCHEMAS: Any = None


def torchvision_models() -> Any:
    """``torchvision.models``, importable beside a CPU-only torch."""
    global _SCHEMAS
    try:
        import torchvision.models as models
    except RuntimeError:
        if _SCHEMAS is None:
            _SCHEMAS = torch.library.Library("torchvision", "DEF")
            _SCHEMAS.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            _SCHEMAS.define("qnms(Tensor qdets, Tensor qscores, float iou_threshold) -> Tensor")
        import torchvision.models as models
    return models


def torchvision_models_or_skip(*, needed: bool = True) -> Any:
    """:func:`torchvision_models` for a test, which skips, saying why, where torchvision is absent
    or installed but unable to import (its datasets import PIL at import time, so a machine with
    torchvision and without pillow cannot import it). With ``needed=False`` (a test that needs
    torchvision only because another package imports it when installed), an absent torchvision
    is fine and gives None."""
    import pytest

    if importlib.util.find_spec("torchvision") is None:
        if not needed:
            return None
        pytest.skip("torchvision is not installed: pip install torchvision")
    try:
        return torchvision_models()
    except ImportError as error:
        pytest.skip(f"torchvision is installed but does not import ({error}): pip install pillow")


def resnet18() -> torch.nn.Module:
    return torchvision_models().resnet18()


class TinyConvNet(torch.nn.Module):
    """conv-bn-relu, a residual add in forward, pooling and a classifier: modules and functional
    code side by side."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8),
                                        torch.nn.ReLU())
        self.body = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.head = torch.nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        y = y + self.body(y)
        return self.head(torch.nn.functional.adaptive_avg_pool2d(y, 1).flatten(1))


class TinyTokenModel(torch.nn.Module):
    """Token ids in: an embedding and a projection (int64 example inputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(100, 16)
        self.proj = torch.nn.Linear(16, 4)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.proj(self.embed(input_ids))



class MobileNetV1(torch.nn.Module):
    """Howard et al. 2017, Table 1 (α = 1): a conv-bn-relu stem, 13 depthwise-separable blocks
    (3×3 depthwise then 1×1 pointwise, each followed by BatchNorm and ReLU), global average
    pooling and a 1024 → 1000 classifier. No bias on the convolutions (BatchNorm follows each);
    the classifier returns logits, as torchvision's classifiers do (no softmax module)."""

    #: (output channels, stride) of each depthwise-separable block; the last depthwise row of
    #: Table 1 is printed s2 but runs at 7×7, so it is stride 1.
    BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
              (512, 1), (512, 1), (1024, 2), (1024, 1))

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        nn = torch.nn

        def conv_bn_relu(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                                 nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        layers = [conv_bn_relu(3, 32, 3, 2)]
        channels = 32
        for out, stride in self.BLOCKS:
            layers.append(nn.Sequential(conv_bn_relu(channels, channels, 3, stride, groups=channels),
                                        conv_bn_relu(channels, out, 1, 1)))
            channels = out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))


def mobilenet_v1() -> torch.nn.Module:
    return MobileNetV1()

#: An instance, not a callable: a reference may name a module object too.
INSTANCE = TinyConvNet()


def not_a_module() -> int:
    return 3
