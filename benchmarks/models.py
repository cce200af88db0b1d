"""Benchmark models: real architectures' graphs with realistic initializer sizes, built with onnx.helper.

The weights are zero bytes streamed straight into the file: a 553 MB VGG-16 is
written without ever holding 553 MB in memory. The file is ordinary ONNX
(protobuf fields may come in any order, so the initializers are appended after
the rest of the graph); ``onnx.load`` and onnx-tool read it like any export.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial
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

    def write(self, path: Path, inputs: Sequence[onnx.ValueInfoProto], output: str | Sequence[str]) -> Path:
        outputs = [output] if isinstance(output, str) else list(output)
        graph = helper.make_graph(self.nodes, self.name, list(inputs),
                                  [onnx.ValueInfoProto(name=name) for name in outputs], initializer=self.small)
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


def _make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's channel rounding for width multipliers: nearest multiple of 8, never 10 % below."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def mobilenet_v2(path: Path, alpha: float = 1.0) -> Path:
    """MobileNetV2 (Sandler et al. 2018, Table 2) with folded batch norm and ReLU6 as Clip: 3.5M parameters.

    ``alpha`` is the width multiplier, with torchvision's rounding (the last layer keeps
    1,280 channels below α = 1).
    """
    net = Net("mobilenet_v2" if alpha == 1 else f"mobilenet_v2_{alpha:g}")
    x, image = _image(net)
    low, high = net.const(0.0, np.float32), net.const(6.0, np.float32)

    def relu6(y: str) -> str:
        return net.op("Clip", [y, low, high])

    cin = _make_divisible(32 * alpha)
    x = relu6(net.conv(x, 3, cin, 3, 2))
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                       (6, 160, 3, 2), (6, 320, 1, 1)):
        cout = _make_divisible(c * alpha)
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = relu6(net.conv(x, cin, hidden, 1)) if t != 1 else x
            y = relu6(net.conv(y, hidden, hidden, 3, stride, group=hidden))
            y = net.conv(y, hidden, cout, 1)
            x = net.op("Add", [x, y]) if stride == 1 and cin == cout else y
            cin = cout
    last = _make_divisible(1280 * max(1.0, alpha))
    x = relu6(net.conv(x, cin, last, 1))
    return net.write(path, [image], _head(net, x, last))


def resnet18(path: Path, width: int = 64) -> Path:
    """ResNet-18 (He et al. 2016, Table 1) with folded batch norm: 11.7M parameters at ``width`` 64.

    ``width`` is the first stage's channel count; the stages have 1×, 2×, 4× and 8× it.
    """
    net = Net("resnet18" if width == 64 else f"resnet18_w{width}")
    x, image = _image(net)
    x = net.op("Relu", [net.conv(x, 3, width, 7, 2)])
    x = net.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = width
    for scale, stride in ((1, 1), (2, 2), (4, 2), (8, 2)):
        cout = width * scale
        for block in range(2):
            s = stride if block == 0 else 1
            y = net.op("Relu", [net.conv(x, cin, cout, 3, s)])
            y = net.conv(y, cout, cout, 3)
            shortcut = net.conv(x, cin, cout, 1, s, pad=0) if s != 1 or cin != cout else x
            x = net.op("Relu", [net.op("Add", [y, shortcut])])
            cin = cout
    return net.write(path, [image], _head(net, x, cin))


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


def densenet121(path: Path) -> Path:
    """DenseNet-121 (Huang et al. 2017, Table 1: growth rate 32, dense blocks of 6/12/24/16 layers) as the
    ONNX-zoo model writes it: 910 nodes, 8.1M parameters.

    The zoo model comes from Caffe, so every batch norm is BatchNormalization followed by Caffe's
    per-channel Scale (an Unsqueeze of the scale and of the shift, Mul, Add); each dense layer is
    BN-ReLU-Conv1×1(128)-BN-ReLU-Conv3×3(32) and a Concat with its input, so the feature map
    grows by 32 channels per layer; transitions halve channels (1×1 conv) and resolution (AveragePool);
    the classifier is a 1×1 Conv after GlobalAveragePool.
    """
    net = Net("densenet121")
    x, image = _image(net)
    axes = net.const([1, 2])
    growth, bottleneck = 32, 128

    def bn_relu(y: str, channels: int) -> str:
        stats = [net.weight((channels,), name) for name in ("gamma", "beta", "mean", "var")]
        y = net.op("BatchNormalization", [y, *stats], epsilon=1e-5)
        y = net.op("Mul", [y, net.op("Unsqueeze", [net.weight((channels,), "scale"), axes])])
        y = net.op("Add", [y, net.op("Unsqueeze", [net.weight((channels,), "shift"), axes])])
        return net.op("Relu", [y])

    x = bn_relu(net.conv(x, 3, 64, 7, 2, bias=False), 64)
    x = net.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    channels = 64
    for index, layers in enumerate((6, 12, 24, 16)):
        for _ in range(layers):
            y = net.conv(bn_relu(x, channels), channels, bottleneck, 1, bias=False)
            y = net.conv(bn_relu(y, bottleneck), bottleneck, growth, 3, bias=False)
            x = net.op("Concat", [x, y], axis=1)
            channels += growth
        if index < 3:
            x = net.conv(bn_relu(x, channels), channels, channels // 2, 1, bias=False)
            x = net.op("AveragePool", [x], kernel_shape=[2, 2], strides=[2, 2])
            channels //= 2
    x = net.op("GlobalAveragePool", [bn_relu(x, channels)])
    x = net.conv(x, channels, 1000, 1)
    assert len(net.nodes) == 910
    return net.write(path, [image], x)


def unet(path: Path) -> Path:
    """U-Net (Ronneberger et al. 2015, Fig. 1): a 572×572 one-channel tile in, a 388×388 two-class map out;
    31.0M parameters, 53 nodes.

    Four levels down (two unpadded 3×3 convs with ReLU, then 2×2 max pooling; 64 → 1024
    channels), four up (2×2 ConvTranspose halving the channels, the encoder's map cropped
    by a Slice to the same size and concatenated, two 3×3 convs), and a 1×1 conv to the classes.
    """
    net = Net("unet")
    x = "image"
    inputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 1, 572, 572])]
    spatial = net.const([2, 3])

    def double_conv(y: str, cin: int, cout: int) -> str:
        y = net.op("Relu", [net.conv(y, cin, cout, 3, pad=0)])
        return net.op("Relu", [net.conv(y, cout, cout, 3, pad=0)])

    skips: list[tuple[str, int]] = []
    size, cin = 572, 1
    for cout in (64, 128, 256, 512):
        x = double_conv(x, cin, cout)
        size -= 4
        skips.append((x, size))
        x = net.op("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])
        size, cin = size // 2, cout
    x = double_conv(x, 512, 1024)
    size, cin = size - 4, 1024
    for skip, skip_size in reversed(skips):
        cout = cin // 2
        w, b = net.weight((cin, cout, 2, 2)), net.weight((cout,), "b")
        x = net.op("ConvTranspose", [x, w, b], kernel_shape=[2, 2], strides=[2, 2])
        size *= 2
        offset = (skip_size - size) // 2
        crop = net.op("Slice", [skip, net.const([offset, offset]), net.const([offset + size, offset + size]),
                                spatial])
        x = double_conv(net.op("Concat", [crop, x], axis=1), cin, cout)
        size, cin = size - 4, cout
    x = net.conv(x, 64, 2, 1, pad=0)
    assert size == 388 and net.params() == 31_030_658 and len(net.nodes) == 53
    return net.write(path, inputs, x)


def bert_base(path: Path, batch: int = 1, sequence: int = 128) -> Path:
    """BERT-base (Devlin et al. 2019: 12 layers, hidden 768, 12 heads, FFN 3072) as a Hugging Face
    ``BertModel`` export writes it (opset 14's forms, in a file of opset 17 like every model here):
    109.5M parameters, batch 1, sequence 128, 974 nodes.

    As the exporter traces ``transformers``' code: every head split and merge is a
    Shape/Gather/Unsqueeze/Concat chain feeding a Reshape (``x.size()[:-1] + (12, 64)``);
    layer norm is decomposed (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add);
    GELU is the exact one, with Erf; the attention mask becomes ``(1 - mask) * float32 min``
    added to the scores; the position ids are a Slice of a [1, 512] buffer. Outputs: the last
    hidden state and the pooler's.
    """
    net = Net("bert_base")
    d, heads, ffn, layers, vocab, max_positions = 768, 12, 3072, 12, 30522, 512
    inputs = [helper.make_tensor_value_info(name, TensorProto.INT64, [batch, sequence])
              for name in ("input_ids", "attention_mask", "token_type_ids")]
    zero, one = net.const(0), net.const(1)
    axis0 = net.const([0])
    head_dims = net.const([heads]), net.const([d // heads])
    hidden_dim = net.const([d])
    scale = net.const(math.sqrt(d // heads), np.float32)
    root2, one_f, half, two, eps = (net.const(v, np.float32) for v in (math.sqrt(2), 1.0, 0.5, 2.0, 1e-12))
    lowest = net.const(np.finfo(np.float32).min, np.float32)

    def linear(y: str, fin: int, fout: int) -> str:
        return net.op("Add", [net.op("MatMul", [y, net.weight((fin, fout))]), net.weight((fout,), "b")])

    def layer_norm(y: str) -> str:
        mean = net.op("ReduceMean", [y], axes=[-1])
        centred = net.op("Sub", [y, mean])
        variance = net.op("ReduceMean", [net.op("Pow", [centred, two])], axes=[-1])
        y = net.op("Div", [centred, net.op("Sqrt", [net.op("Add", [variance, eps])])])
        return net.op("Add", [net.op("Mul", [y, net.weight((d,), "gamma")]), net.weight((d,), "beta")])

    def size_of(y: str, axis: str) -> str:
        """``y.size(axis)`` as the exporter writes it: a 1-element tensor, ready for Concat."""
        return net.op("Unsqueeze", [net.op("Gather", [net.op("Shape", [y]), axis], axis=0), axis0])

    def split_heads(y: str) -> str:
        shape = net.op("Concat", [size_of(y, zero), size_of(y, one), *head_dims], axis=0)
        return net.op("Transpose", [net.op("Reshape", [y, shape])], perm=[0, 2, 1, 3])

    def merge_heads(y: str) -> str:
        y = net.op("Transpose", [y], perm=[0, 2, 1, 3])
        shape = net.op("Concat", [size_of(y, zero), size_of(y, one), hidden_dim], axis=0)
        return net.op("Reshape", [y, shape])

    positions = net.const(np.arange(max_positions)[None])
    position_ids = net.op("Slice", [positions, net.const([0]), size_of("input_ids", one), net.const([1])])
    x = net.op("Add", [net.op("Gather", [net.weight((vocab, d), "word"), "input_ids"]),
                       net.op("Gather", [net.weight((2, d), "type"), "token_type_ids"])])
    x = layer_norm(net.op("Add", [x, net.op("Gather", [net.weight((max_positions, d), "position"), position_ids])]))
    mask = net.op("Cast", [net.op("Unsqueeze", ["attention_mask", net.const([1, 2])])], to=TensorProto.FLOAT)
    mask = net.op("Mul", [net.op("Sub", [one_f, mask]), lowest])
    for _ in range(layers):
        q, k, v = (split_heads(linear(x, d, d)) for _ in "qkv")
        k = net.op("Transpose", [k], perm=[0, 1, 3, 2])
        scores = net.op("Add", [net.op("Div", [net.op("MatMul", [q, k]), scale]), mask])
        context = merge_heads(net.op("MatMul", [net.op("Softmax", [scores], axis=-1), v]))
        x = layer_norm(net.op("Add", [linear(context, d, d), x]))
        y = linear(x, d, ffn)
        gelu = net.op("Mul", [net.op("Mul", [y, net.op("Add", [net.op("Erf", [net.op("Div", [y, root2])]), one_f])]),
                              half])
        x = layer_norm(net.op("Add", [linear(gelu, ffn, d), x]))
    pooled = net.op("Tanh", [linear(net.op("Gather", [x, zero], axis=1), d, d)])
    assert net.params() == 109_482_240 and len(net.nodes) == 974
    return net.write(path, inputs, [x, pooled])


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
    "densenet121": densenet121,
    "unet": unet,
    "bert_base": bert_base,
    "synthetic_10k": synthetic(10_000),
    "synthetic_100k": synthetic(100_000),
}


def _cached(path: Path, build: Callable[[Path], Path]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        build(path)
    return path


def model_path(case: str, cache: Path) -> Path:
    """The cached model for ``case``, built on first use."""
    return _cached(cache / f"{case}.onnx", BUILDERS[case])


def gate_model_paths(cache: Path, count: int = 100) -> list[Path]:
    """``count`` small-to-medium models for ``archcost gate`` over many files, built on first use.

    Alternately MobileNetV2 at width multipliers 0.35, 0.375, … (7 to 30 MB at 100 models)
    and ResNet-18 at first-stage widths 16, 17, … (3 to 48 MB), all at 224×224, in
    ``cache/gate``: 1.8 GB for the 100.
    """
    paths = []
    for index in range(count):
        step = index // 2
        if index % 2 == 0:
            alpha = 0.35 + 0.025 * step
            paths.append(_cached(cache / "gate" / f"mobilenet_v2_a{alpha:.3f}.onnx",
                                 partial(mobilenet_v2, alpha=alpha)))
        else:
            width = 16 + step
            paths.append(_cached(cache / "gate" / f"resnet18_w{width}.onnx", partial(resnet18, width=width)))
    return paths
