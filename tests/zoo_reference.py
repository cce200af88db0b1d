"""Independent closed-form costs for the spec zoo.

Plain arithmetic from the architecture tables, written without archcost, so the
engine's numbers for ``specs/*.yaml`` can be checked against a second, independent
derivation. Each network is a function that walks its layers with a tiny shape
tracker and returns the ``paper``-convention MACs (conv, fc and attention matmuls
only) and the parameter counts broken down by kind.

Run ``python tests/zoo_reference.py`` to print the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """MobileNetV2/V3 rounding: nearest multiple, never more than 10 % down."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@dataclass
class Costs:
    """Accumulated costs; ``params`` is the trainable total."""

    macs: int = 0
    weight: int = 0
    bias: int = 0
    norm: int = 0
    buffer: int = 0
    attention_macs: int = 0

    @property
    def params(self) -> int:
        return self.weight + self.bias + self.norm


@dataclass
class Net:
    """A shape tracker over (C, H, W) feature maps; batch is 1."""

    c: int
    h: int
    w: int
    cost: Costs = field(default_factory=Costs)

    def conv(
        self,
        out: int,
        k: int | tuple[int, int],
        s: int = 1,
        pad: str | int | tuple[int, int] = "same",
        groups: int = 1,
        bias: bool = False,
        bn: bool = True,
    ) -> Net:
        kh, kw = (k, k) if isinstance(k, int) else k
        if pad == "same":
            ho, wo = -(-self.h // s), -(-self.w // s)
        else:
            ph, pw = (0, 0) if pad == "valid" else ((pad, pad) if isinstance(pad, int) else pad)
            assert not isinstance(ph, str) and not isinstance(pw, str)
            ho = (self.h + 2 * ph - kh) // s + 1
            wo = (self.w + 2 * pw - kw) // s + 1
        w = kh * kw * (self.c // groups) * out
        self.cost.macs += w * ho * wo
        self.cost.weight += w
        if bias:
            self.cost.bias += out
        self.c, self.h, self.w = out, ho, wo
        if bn:
            self.bn()
        return self

    def dw(self, k: int, s: int = 1, bn: bool = True) -> Net:
        return self.conv(self.c, k, s, groups=self.c, bn=bn)

    def bn(self, c: int | None = None) -> None:
        c = self.c if c is None else c
        self.cost.norm += 2 * c
        self.cost.buffer += 2 * c

    def pool(self, k: int, s: int | None = None, pad: int = 0, ceil: bool = False) -> Net:
        s = k if s is None else s
        rnd = math.ceil if ceil else math.floor
        self.h = int(rnd((self.h + 2 * pad - k) / s)) + 1
        self.w = int(rnd((self.w + 2 * pad - k) / s)) + 1
        return self

    def gap(self) -> Net:
        self.h = self.w = 1
        return self

    def fc(self, out: int, bias: bool = True, tokens: int = 1) -> Net:
        self.cost.macs += tokens * self.c * out
        self.cost.weight += self.c * out
        if bias:
            self.cost.bias += out
        self.c = out
        return self

    def matmul(self, macs: int) -> None:
        self.cost.macs += macs
        self.cost.attention_macs += macs

    def branch(self) -> Net:
        """A new tracker on the same input that shares the cost accumulator."""
        return Net(self.c, self.h, self.w, self.cost)


# --------------------------------------------------------------------------- V1


def _v1_body(net: Net, rows: list[tuple[int, int]], full: bool) -> None:
    for out, s in rows:
        if full:  # Table 4 "Conv MobileNet": one full 3x3 conv per separable pair
            net.conv(out, 3, s)
        else:
            net.dw(3, s)
            net.conv(out, 1)


def _v1_rows(alpha: float, shallow: bool) -> list[tuple[int, int]]:
    def a(c: int) -> int:
        return int(c * alpha)

    rows = [(a(64), 1), (a(128), 2), (a(128), 1), (a(256), 2), (a(256), 1), (a(512), 2)]
    if not shallow:
        rows += [(a(512), 1)] * 5
    # Table 1 prints the second-to-last depthwise as s2 but it runs at 7x7: stride 1.
    rows += [(a(1024), 2), (a(1024), 1)]
    return rows


def mobilenet_v1(alpha: float = 1.0, resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(int(32 * alpha), 3, 2)
    _v1_body(net, _v1_rows(alpha, shallow=False), full=False)
    net.gap().fc(1000)
    return net.cost


def mobilenet_v1_conv(alpha: float = 1.0, resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(int(32 * alpha), 3, 2)
    _v1_body(net, _v1_rows(alpha, shallow=False), full=True)
    net.gap().fc(1000)
    return net.cost


def mobilenet_v1_shallow(alpha: float = 1.0, resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(int(32 * alpha), 3, 2)
    _v1_body(net, _v1_rows(alpha, shallow=True), full=False)
    net.gap().fc(1000)
    return net.cost


# --------------------------------------------------------------------------- V2


def mobilenet_v2(alpha: float = 1.0, resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(make_divisible(32 * alpha), 3, 2)
    table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
             (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    for t, c, n, s in table:
        out = make_divisible(c * alpha)
        for i in range(n):
            if t != 1:
                net.conv(net.c * t, 1)
            net.dw(3, s if i == 0 else 1)
            net.conv(out, 1)
    net.conv(make_divisible(1280 * max(1.0, alpha)), 1)
    net.gap().fc(1000)
    return net.cost


# --------------------------------------------------------------------------- V3


def _se(net: Net, squeeze: int) -> None:
    """Squeeze-and-excite on a branch: GAP, 1x1 conv+bias, act, 1x1 conv+bias."""
    b = net.branch().gap()
    b.conv(squeeze, 1, bias=True, bn=False)
    b.conv(net.c, 1, bias=True, bn=False)


def _v3(rows: list[tuple[int, int, int, bool, int]], stem: int, last: int, head: int,
        alpha: float, resolution: int) -> Costs:
    def adj(c: int) -> int:
        return make_divisible(c * alpha)

    net = Net(3, resolution, resolution)
    net.conv(adj(stem), 3, 2)
    for k, exp, out, se, s in rows:
        e = adj(exp)
        if e != net.c:
            net.conv(e, 1)
        net.dw(k, s)
        if se:
            _se(net, make_divisible(e // 4))
        net.conv(adj(out), 1)
    net.conv(adj(last), 1)
    net.gap().fc(adj(head)).fc(1000)
    return net.cost


def mobilenet_v3_large(alpha: float = 1.0, resolution: int = 224) -> Costs:
    rows = [(3, 16, 16, False, 1), (3, 64, 24, False, 2), (3, 72, 24, False, 1),
            (5, 72, 40, True, 2), (5, 120, 40, True, 1), (5, 120, 40, True, 1),
            (3, 240, 80, False, 2), (3, 200, 80, False, 1), (3, 184, 80, False, 1),
            (3, 184, 80, False, 1), (3, 480, 112, True, 1), (3, 672, 112, True, 1),
            (5, 672, 160, True, 2), (5, 960, 160, True, 1), (5, 960, 160, True, 1)]
    return _v3(rows, 16, 960, 1280, alpha, resolution)


def mobilenet_v3_small(alpha: float = 1.0, resolution: int = 224) -> Costs:
    rows = [(3, 16, 16, True, 2), (3, 72, 24, False, 2), (3, 88, 24, False, 1),
            (5, 96, 40, True, 2), (5, 240, 40, True, 1), (5, 240, 40, True, 1),
            (5, 120, 48, True, 1), (5, 144, 48, True, 1), (5, 288, 96, True, 2),
            (5, 576, 96, True, 1), (5, 576, 96, True, 1)]
    return _v3(rows, 16, 576, 1024, alpha, resolution)


# --------------------------------------------------------------------------- V4


def _uib(net: Net, start: int, mid: int, s: int, e: float, out: int, scale: bool) -> None:
    res = s == 1 and net.c == out
    if start:
        net.dw(start, 1 if mid else s)
    net.conv(make_divisible(net.c * e), 1)
    if mid:
        net.dw(mid, s)
    net.conv(out, 1)
    if scale:  # LayerScale2d gamma, hybrids only
        net.cost.weight += out
    del res


def _fused(net: Net, k: int, s: int, e: float, out: int) -> None:
    net.conv(make_divisible(net.c * e), k, s)
    net.conv(out, 1)


def _mqa(net: Net, heads: int, kdim: int, kv_stride: int, k: int = 3) -> None:
    """Mobile MQA: BN, then q (heads*kdim), shared k and v (kdim), output proj."""
    dim, h, w = net.c, net.h, net.w
    net.bn()
    q = net.branch()
    q.conv(heads * kdim, 1, bn=False)
    kv_hw = h * w
    for _ in range(2):  # key, value
        b = net.branch()
        if kv_stride > 1:
            b.dw(k, kv_stride)
        b.conv(kdim, 1, bn=False)
        kv_hw = b.h * b.w
    net.matmul(heads * h * w * kv_hw * kdim)  # Q K^T
    net.matmul(heads * h * w * kv_hw * kdim)  # A V
    o = Net(heads * kdim, h, w, net.cost)
    o.conv(dim, 1, bn=False)
    net.cost.weight += dim  # LayerScale2d gamma


def _v4_head(net: Net) -> Costs:
    net.conv(960, 1)
    net.gap().conv(1280, 1)  # timm: head conv, no bias, BN + act
    net.fc(1000)
    return net.cost


def mobilenet_v4_conv_small(resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(32, 3, 2)
    net.conv(32, 3, 2).conv(32, 1)
    net.conv(96, 3, 2).conv(64, 1)
    _uib(net, 5, 5, 2, 3, 96, False)
    for _ in range(4):
        _uib(net, 0, 3, 1, 2, 96, False)
    _uib(net, 3, 0, 1, 4, 96, False)
    _uib(net, 3, 3, 2, 6, 128, False)
    _uib(net, 5, 5, 1, 4, 128, False)
    _uib(net, 0, 5, 1, 4, 128, False)
    _uib(net, 0, 5, 1, 3, 128, False)
    _uib(net, 0, 3, 1, 4, 128, False)
    _uib(net, 0, 3, 1, 4, 128, False)
    return _v4_head(net)


def _uibs(net: Net, rows: list[tuple[int, int, int, int, float, int]], scale: bool) -> None:
    for r, a, k, s, e, c in rows:
        for i in range(r):
            _uib(net, a, k, s if i == 0 else 1, e, c, scale)


def mobilenet_v4_conv_medium(resolution: int = 256) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(32, 3, 2)
    _fused(net, 3, 2, 4, 48)
    _uibs(net, [(1, 3, 5, 2, 4, 80), (1, 3, 3, 1, 2, 80),
                (1, 3, 5, 2, 6, 160), (2, 3, 3, 1, 4, 160), (1, 3, 5, 1, 4, 160),
                (1, 3, 3, 1, 4, 160), (1, 3, 0, 1, 4, 160), (1, 0, 0, 1, 2, 160),
                (1, 3, 0, 1, 4, 160),
                (1, 5, 5, 2, 6, 256), (1, 5, 5, 1, 4, 256), (2, 3, 5, 1, 4, 256),
                (1, 0, 0, 1, 4, 256), (1, 3, 0, 1, 4, 256), (1, 3, 5, 1, 2, 256),
                (1, 5, 5, 1, 4, 256), (2, 0, 0, 1, 4, 256), (1, 5, 0, 1, 2, 256)], False)
    return _v4_head(net)


def mobilenet_v4_conv_large(resolution: int = 384) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(24, 3, 2)
    _fused(net, 3, 2, 4, 48)
    _uibs(net, [(1, 3, 5, 2, 4, 96), (1, 3, 3, 1, 4, 96),
                (1, 3, 5, 2, 4, 192), (3, 3, 3, 1, 4, 192), (1, 3, 5, 1, 4, 192),
                (5, 5, 3, 1, 4, 192), (1, 3, 0, 1, 4, 192),
                (4, 5, 5, 2, 4, 512), (1, 5, 0, 1, 4, 512), (1, 5, 3, 1, 4, 512),
                (2, 5, 0, 1, 4, 512), (1, 5, 3, 1, 4, 512), (1, 5, 5, 1, 4, 512),
                (3, 5, 0, 1, 4, 512)], False)
    return _v4_head(net)


def mobilenet_v4_hybrid_medium(resolution: int = 256) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(32, 3, 2)
    _fused(net, 3, 2, 4, 48)
    _uibs(net, [(1, 3, 5, 2, 4, 80), (1, 3, 3, 1, 2, 80),
                (1, 3, 5, 2, 6, 160), (1, 0, 0, 1, 2, 160), (1, 3, 3, 1, 4, 160),
                (1, 3, 5, 1, 4, 160)], True)
    for a, k in [(3, 3), (3, 0), (3, 3), (3, 0)]:
        _mqa(net, 4, 64, 2)
        _uib(net, a, k, 1, 4, 160, True)
    _uibs(net, [(1, 5, 5, 2, 6, 256), (1, 5, 5, 1, 4, 256), (2, 3, 5, 1, 4, 256),
                (1, 0, 0, 1, 2, 256), (1, 3, 5, 1, 2, 256), (1, 0, 0, 1, 2, 256),
                (1, 0, 0, 1, 4, 256)], True)
    for a, k in [(3, 0), (5, 5), (5, 0), (5, 0)]:
        _mqa(net, 4, 64, 1)
        _uib(net, a, k, 1, 4, 256, True)
    return _v4_head(net)


def mobilenet_v4_hybrid_large(resolution: int = 384) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(24, 3, 2)
    _fused(net, 3, 2, 4, 48)
    _uibs(net, [(1, 3, 5, 2, 4, 96), (1, 3, 3, 1, 4, 96),
                (1, 3, 5, 2, 4, 192), (3, 3, 3, 1, 4, 192), (1, 3, 5, 1, 4, 192),
                (2, 5, 3, 1, 4, 192)], True)
    for a, k in [(5, 3), (5, 3), (5, 3), (3, 0)]:
        _mqa(net, 8, 48, 2)
        _uib(net, a, k, 1, 4, 192, True)
    _uibs(net, [(4, 5, 5, 2, 4, 512), (1, 5, 0, 1, 4, 512), (1, 5, 3, 1, 4, 512),
                (2, 5, 0, 1, 4, 512), (1, 5, 3, 1, 4, 512), (1, 5, 5, 1, 4, 512)], True)
    for _ in range(4):
        _mqa(net, 8, 64, 1)
        _uib(net, 5, 0, 1, 4, 512, True)
    return _v4_head(net)


# --------------------------------------------------------------------------- ResNet


def resnet18(resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(64, 7, 2).pool(3, 2, 1)
    for i, width in enumerate([64, 128, 256, 512]):
        for j in range(2):
            s = 2 if (i > 0 and j == 0) else 1
            if s != 1 or net.c != width:
                net.branch().conv(width, 1, s)
            net.conv(width, 3, s).conv(width, 3)
    net.gap().fc(1000)
    return net.cost


def resnet50(version: str = "1.5", resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(64, 7, 2).pool(3, 2, 1)
    for i, (width, n) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
        for j in range(n):
            s = 2 if (i > 0 and j == 0) else 1
            if j == 0:
                net.branch().conv(width * 4, 1, s)
            s1, s3 = (s, 1) if version == "1" else (1, s)
            net.conv(width, 1, s1).conv(width, 3, s3).conv(width * 4, 1)
    net.gap().fc(1000)
    return net.cost


# --------------------------------------------------------------------------- classics


def vgg16(resolution: int = 224) -> Costs:
    net = Net(3, resolution, resolution)
    for c, n in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
        for _ in range(n):
            net.conv(c, 3, bias=True, bn=False)
        net.pool(2)
    net.c = net.c * net.h * net.w
    net.fc(4096).fc(4096).fc(1000)
    return net.cost


def alexnet(resolution: int = 227) -> Costs:
    """Krizhevsky et al. 2012, two-GPU grouping (conv2, conv4, conv5 have groups=2)."""
    net = Net(3, resolution, resolution)
    net.conv(96, 11, 4, pad="valid", bias=True, bn=False).pool(3, 2)
    net.conv(256, 5, groups=2, bias=True, bn=False).pool(3, 2)
    net.conv(384, 3, bias=True, bn=False)
    net.conv(384, 3, groups=2, bias=True, bn=False)
    net.conv(256, 3, groups=2, bias=True, bn=False).pool(3, 2)
    net.c = net.c * net.h * net.w
    net.fc(4096).fc(4096).fc(1000)
    return net.cost


def squeezenet1_0(resolution: int = 227) -> Costs:
    net = Net(3, resolution, resolution)
    net.conv(96, 7, 2, pad="valid", bias=True, bn=False).pool(3, 2, ceil=True)

    def fire(s: int, e: int) -> None:
        net.conv(s, 1, bias=True, bn=False)
        net.branch().conv(e, 1, bias=True, bn=False)
        net.branch().conv(e, 3, bias=True, bn=False)
        net.c = 2 * e

    fire(16, 64)
    fire(16, 64)
    fire(32, 128)
    net.pool(3, 2, ceil=True)
    fire(32, 128)
    fire(48, 192)
    fire(48, 192)
    fire(64, 256)
    net.pool(3, 2, ceil=True)
    fire(64, 256)
    net.conv(1000, 1, bias=True, bn=False)
    return net.cost


def googlenet(resolution: int = 224) -> Costs:
    """Szegedy et al. 2014, Table 1: convs with bias, no BN, true 5x5 branches."""
    net = Net(3, resolution, resolution)
    net.conv(64, 7, 2, bias=True, bn=False).pool(3, 2, ceil=True)
    net.conv(64, 1, bias=True, bn=False).conv(192, 3, bias=True, bn=False)
    net.pool(3, 2, ceil=True)

    def inception(c1: int, r3: int, c3: int, r5: int, c5: int, pp: int) -> None:
        net.branch().conv(c1, 1, bias=True, bn=False)
        net.branch().conv(r3, 1, bias=True, bn=False).conv(c3, 3, bias=True, bn=False)
        net.branch().conv(r5, 1, bias=True, bn=False).conv(c5, 5, bias=True, bn=False)
        net.branch().conv(pp, 1, bias=True, bn=False)
        net.c = c1 + c3 + c5 + pp

    inception(64, 96, 128, 16, 32, 32)
    inception(128, 128, 192, 32, 96, 64)
    net.pool(3, 2, ceil=True)
    inception(192, 96, 208, 16, 48, 64)
    inception(160, 112, 224, 24, 64, 64)
    inception(128, 128, 256, 24, 64, 64)
    inception(112, 144, 288, 32, 64, 64)
    inception(256, 160, 320, 32, 128, 128)
    net.pool(3, 2, ceil=True)
    inception(256, 160, 320, 32, 128, 128)
    inception(384, 192, 384, 48, 128, 128)
    net.gap().fc(1000)
    return net.cost


def inception_v3(aux_head: bool = False, resolution: int = 299) -> Costs:
    """torchvision / TF-slim Inception-v3; every conv is conv(no bias)+BN+ReLU."""
    net = Net(3, resolution, resolution)
    net.conv(32, 3, 2, pad="valid").conv(32, 3, pad="valid").conv(64, 3).pool(3, 2)
    net.conv(80, 1).conv(192, 3, pad="valid").pool(3, 2)

    def block_a(pool_features: int) -> None:
        net.branch().conv(64, 1)
        net.branch().conv(48, 1).conv(64, 5)
        net.branch().conv(64, 1).conv(96, 3).conv(96, 3)
        net.branch().conv(pool_features, 1)
        net.c = 64 + 64 + 96 + pool_features

    def block_c(c7: int) -> None:
        net.branch().conv(192, 1)
        net.branch().conv(c7, 1).conv(c7, (1, 7)).conv(192, (7, 1))
        b = net.branch().conv(c7, 1)
        b.conv(c7, (7, 1)).conv(c7, (1, 7)).conv(c7, (7, 1)).conv(192, (1, 7))
        net.branch().conv(192, 1)
        net.c = 768

    def block_e() -> None:
        net.branch().conv(320, 1)
        b = net.branch().conv(384, 1)
        b.branch().conv(384, (1, 3))
        b.branch().conv(384, (3, 1))
        b = net.branch().conv(448, 1).conv(384, 3)
        b.branch().conv(384, (1, 3))
        b.branch().conv(384, (3, 1))
        net.branch().conv(192, 1)
        net.c = 2048

    block_a(32)
    block_a(64)
    block_a(64)
    # Mixed_6a
    net.branch().conv(384, 3, 2, pad="valid")
    net.branch().conv(64, 1).conv(96, 3).conv(96, 3, 2, pad="valid")
    net.c, net.h, net.w = 384 + 96 + net.c, (net.h - 3) // 2 + 1, (net.w - 3) // 2 + 1
    for c7 in (128, 160, 160, 192):
        block_c(c7)
    if aux_head:
        aux = net.branch().pool(5, 3)
        aux.conv(128, 1).conv(768, 5, pad="valid")
        aux.gap().fc(1000)
    # Mixed_7a
    net.branch().conv(192, 1).conv(320, 3, 2, pad="valid")
    net.branch().conv(192, 1).conv(192, (1, 7)).conv(192, (7, 1)).conv(192, 3, 2, pad="valid")
    net.c, net.h, net.w = 320 + 192 + net.c, (net.h - 3) // 2 + 1, (net.w - 3) // 2 + 1
    block_e()
    block_e()
    net.gap().fc(1000)
    return net.cost


def efficientnet_b0(alpha: float = 1.0, resolution: int = 224) -> Costs:
    def adj(c: int) -> int:
        return make_divisible(c * alpha)

    net = Net(3, resolution, resolution)
    net.conv(adj(32), 3, 2)
    table = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
             (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
    for t, k, s, c, n in table:
        for i in range(n):
            cin = net.c
            if t != 1:
                net.conv(cin * t, 1)
            net.dw(k, s if i == 0 else 1)
            _se(net, max(1, cin // 4))
            net.conv(adj(c), 1)
    net.conv(adj(1280), 1)
    net.gap().fc(1000)
    return net.cost


def vit_b_16(resolution: int = 224) -> Costs:
    d, heads, mlp, layers, patch = 768, 12, 3072, 12, 16
    net = Net(3, resolution, resolution)
    net.conv(d, patch, patch, pad="valid", bias=True, bn=False)
    n = net.h * net.w + 1
    net.cost.weight += d  # class token
    # archcost files a learned tensor added to activations (the position embedding)
    # under "bias", as it does an FC bias after MatMul; the trainable total is the same.
    net.cost.bias += n * d
    for _ in range(layers):
        net.cost.norm += 2 * d
        net.fc(3 * d, tokens=n)
        net.c = d
        net.matmul(heads * n * n * (d // heads))
        net.matmul(heads * n * n * (d // heads))
        net.fc(d, tokens=n)
        net.cost.norm += 2 * d
        net.fc(mlp, tokens=n).fc(d, tokens=n)
    net.cost.norm += 2 * d
    net.fc(1000)
    return net.cost


REFERENCE: dict[str, Callable[[], Costs]] = {
    "mobilenet_v1": mobilenet_v1,
    "mobilenet_v1_conv": mobilenet_v1_conv,
    "mobilenet_v1_shallow": mobilenet_v1_shallow,
    "mobilenet_v2": mobilenet_v2,
    "mobilenet_v3_large": mobilenet_v3_large,
    "mobilenet_v3_small": mobilenet_v3_small,
    "mobilenet_v4_conv_small": mobilenet_v4_conv_small,
    "mobilenet_v4_conv_medium": mobilenet_v4_conv_medium,
    "mobilenet_v4_conv_large": mobilenet_v4_conv_large,
    "mobilenet_v4_hybrid_medium": mobilenet_v4_hybrid_medium,
    "mobilenet_v4_hybrid_large": mobilenet_v4_hybrid_large,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "vgg16": vgg16,
    "alexnet": alexnet,
    "squeezenet1_0": squeezenet1_0,
    "googlenet": googlenet,
    "inception_v3": inception_v3,
    "efficientnet_b0": efficientnet_b0,
    "vit_b_16": vit_b_16,
}


if __name__ == "__main__":
    for name, fn in REFERENCE.items():
        c = fn()
        print(f"{name:28s} macs={c.macs:>14,d} params={c.params:>12,d} "
              f"weight={c.weight:>12,d} bias={c.bias:>9,d} norm={c.norm:>8,d} "
              f"attn={c.attention_macs:,d}")
    print("resnet50 v1", resnet50("1").macs)
    print("inception_v3 with aux", inception_v3(True).macs, inception_v3(True).params)
