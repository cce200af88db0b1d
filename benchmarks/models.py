"""Benchmark models: real architectures' graphs with realistic initializer sizes, built with onnx.helper.

The weights are zero bytes streamed straight into the file: a 553 MB VGG-16 is
written without ever holding 553 MB in memory. The file is ordinary ONNX
(protobuf fields may come in any order, so the initializers are appended after
the rest of the graph); ``onnx.load`` and onnx-tool read it like any export.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tools.protowire import varint

OPSET = 17
_CHUNK = bytes(8 << 20)


def _tag(number: int) -> bytes:
    """A length-delimited field's tag; its length and payload are written after it."""
    return varint(number << 3 | 2)


class Net:
    """Collects nodes and initializers; big float weights are written later as zero payloads."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[tuple[str, tuple[int, ...]]] = []
        self.small: list[onnx.TensorProto] = []
        self._count = 0

    def fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def weight(self, shape: Sequence[int], prefix: str = "w") -> str:
        name = self.fresh(prefix)
        self.weights.append((name, tuple(shape)))
        return name

    def const(self, values: Any, dtype: Any = np.int64) -> str:
        name = self.fresh("c")
        self.small.append(numpy_helper.from_array(np.asarray(values, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], **attrs: Any) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1, bias: bool = True,
             pad: int | None = None) -> str:
        w = self.weight((cout, cin // group, k, k))
        inputs = [x, w] + ([self.weight((cout,), "b")] if bias else [])
        pad = k // 2 if pad is None else pad
        return self.op("Conv", inputs, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=group)

    def params(self) -> int:
        return sum(math.prod(shape) for _, shape in self.weights)

    def write(self, path: Path, inputs: Sequence[onnx.ValueInfoProto], output: str) -> Path:
        graph = helper.make_graph(self.nodes, self.name, list(inputs), [onnx.ValueInfoProto(name=output)],
                                  initializer=self.small)
        body = graph.SerializeToString()
        records = []
        for name, shape in self.weights:
            header = TensorProto(name=name, dims=shape, data_type=TensorProto.FLOAT).SerializeToString()
            payload = math.prod(shape) * 4
            raw_field = _tag(9) + varint(payload)
            records.append((header + raw_field, payload))
        graph_length = len(body) + sum(
            len(_tag(5)) + len(varint(len(h) + n)) + len(h) + n for h, n in records
        )
        model = helper.make_model(onnx.GraphProto(), opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="archcost-benchmarks")
        model.ir_version = 8
        model.ClearField("graph")
        partial = path.with_suffix(".partial")
        with open(partial, "wb") as out:
            out.write(model.SerializeToString())
            out.write(_tag(7) + varint(graph_length) + body)
            for header, payload in records:
                out.write(_tag(5) + varint(len(header) + payload) + header)
                while payload:
                    step = min(payload, len(_CHUNK))
                    out.write(_CHUNK[:step])
                    payload -= step
        partial.replace(path)
        return path


def _image(net: Net, size: int = 224) -> tuple[str, onnx.ValueInfoProto]:
    return "image", helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])


def _head(net: Net, x: str, features: int, classes: int = 1000) -> str:
    x = net.op("GlobalAveragePool", [x])
    x = net.op("Flatten", [x])
    return net.op("Gemm", [x, net.weight((classes, features)), net.weight((classes,), "b")], transB=1)


def vgg16(path: Path) -> Path:
    """VGG-16 (Simonyan & Zisserman 2015, configuration D): 138,357,544 parameters, 553 MB."""
    net = Net("vgg16")
    x, image = _image(net)
    cin = 3
    for item in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"):
        if item == "M":
            x = net.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        else:
            assert isinstance(item, int)
            x = net.op("Relu", [net.conv(x, cin, item, 3)])
            cin = item
    x = net.op("Flatten", [x])
    for fin, fout in ((25088, 4096), (4096, 4096), (4096, 1000)):
        x = net.op("Gemm", [x, net.weight((fout, fin)), net.weight((fout,), "b")], transB=1)
        if fout != 1000:
            x = net.op("Relu", [x])
    assert net.params() == 138_357_544
    return net.write(path, [image], x)


def resnet50(path: Path) -> Path:
    """ResNet-50 v1.5 with batch norm folded into the convs, as exporters write it: 25.5M parameters."""
    net = Net("resnet50")
    x, image = _image(net)
    x = net.op("Relu", [net.conv(x, 3, 64, 7, 2)])
    x = net.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for width, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for block in range(blocks):
            s = stride if block == 0 else 1
            y = net.op("Relu", [net.conv(x, cin, width, 1)])
            y = net.op("Relu", [net.conv(y, width, width, 3, s)])
            y = net.conv(y, width, width * 4, 1)
            shortcut = net.conv(x, cin, width * 4, 1, s) if block == 0 else x
            x = net.op("Relu", [net.op("Add", [y, shortcut])])
            cin = width * 4
    return net.write(path, [image], _head(net, x, 2048))


def mobilenet_v2(path: Path) -> Path:
    """MobileNetV2 (Sandler et al. 2018, Table 2) with folded batch norm and ReLU6 as Clip: 3.5M parameters."""
    net = Net("mobilenet_v2")
    x, image = _image(net)
    low, high = net.const(0.0, np.float32), net.const(6.0, np.float32)

    def relu6(y: str) -> str:
        return net.op("Clip", [y, low, high])

    x = relu6(net.conv(x, 3, 32, 3, 2))
    cin = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = relu6(net.conv(x, cin, hidden, 1)) if t != 1 else x
            y = relu6(net.conv(y, hidden, hidden, 3, stride, group=hidden))
            y = net.conv(y, hidden, c, 1)
            x = net.op("Add", [x, y]) if stride == 1 and cin == c else y
            cin = c
    x = relu6(net.conv(x, cin, 1280, 1))
    return net.write(path, [image], _head(net, x, 1280))


def vit_b16(path: Path) -> Path:
    """ViT-B/16 (Dosovitskiy et al. 2021, Table 1: 12 layers, width 768, MLP 3072, 12 heads): 86.6M parameters."""
    net = Net("vit_b_16")
    x, image = _image(net)
    d, heads, tokens = 768, 12, 197
    x = net.conv(x, 3, d, 16, 16, pad=0)
    x = net.op("Reshape", [x, net.const([1, d, 196])])
    x = net.op("Transpose", [x], perm=[0, 2, 1])
    x = net.op("Concat", [net.weight((1, 1, d), "cls"), x], axis=1)
    x = net.op("Add", [x, net.weight((1, tokens, d), "pos")])
    split = net.const([1, tokens, heads, d // heads])
    merge = net.const([1, tokens, d])
    scale = net.const(1 / math.sqrt(d // heads), np.float32)
    root2, one, half = (net.const(v, np.float32) for v in (math.sqrt(2), 1.0, 0.5))

    def linear(y: str, fin: int, fout: int) -> str:
        return net.op("Add", [net.op("MatMul", [y, net.weight((fin, fout))]), net.weight((fout,), "b")])

    def norm(y: str) -> str:
        return net.op("LayerNormalization", [y, net.weight((d,), "g"), net.weight((d,), "beta")], axis=-1)

    for _ in range(12):
        y = norm(x)
        q, k, v = (net.op("Reshape", [linear(y, d, d), split]) for _ in "qkv")
        q = net.op("Transpose", [q], perm=[0, 2, 1, 3])
        k = net.op("Transpose", [k], perm=[0, 2, 3, 1])
        v = net.op("Transpose", [v], perm=[0, 2, 1, 3])
        scores = net.op("Softmax", [net.op("Mul", [net.op("MatMul", [q, k]), scale])], axis=-1)
        context = net.op("Transpose", [net.op("MatMul", [scores, v])], perm=[0, 2, 1, 3])
        x = net.op("Add", [x, linear(net.op("Reshape", [context, merge]), d, d)])
        y = linear(norm(x), d, 4 * d)
        gelu = net.op("Mul", [net.op("Mul", [y, net.op("Add", [net.op("Erf", [net.op("Div", [y, root2])]), one])]),
                              half])
        x = net.op("Add", [x, linear(gelu, 4 * d, d)])
    x = net.op("Gather", [norm(x), net.const(0)], axis=1)
    return net.write(path, [image], linear(x, d, 1000))


def synthetic(nodes: int) -> Callable[[Path], Path]:
    """A chain of ResNet-style units (3×3 Conv with bias, Relu, Add): ``nodes`` operators.

    Each Conv has its own 16×16×3×3 weight (2,304 floats, skipped by length) and a
    16-float bias, which both readers decode, as they decode every float tensor of
    at most MAX_VALUE_ELEMENTS elements.
    """

    def build(path: Path) -> Path:
        net = Net(f"synthetic_{nodes}")
        x = "x"
        inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 8, 8])]
        for _ in range(nodes // 3):
            x = net.op("Add", [x, net.op("Relu", [net.conv(x, 16, 16, 3)])])
        return net.write(path, inputs, x)

    return build


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "resnet50": resnet50,
    "vgg16": vgg16,
    "vit_b16": vit_b16,
    "mobilenet_v2": mobilenet_v2,
    "synthetic_10k": synthetic(10_000),
    "synthetic_100k": synthetic(100_000),
}


def model_path(case: str, cache: Path) -> Path:
    """The cached model for ``case``, built on first use."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{case}.onnx"
    if not path.exists():
        BUILDERS[case](path)
    return path
