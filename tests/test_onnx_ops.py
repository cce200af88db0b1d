"""ONNX operators, one model each, checked three ways.

Each case states its expected output shape and MACs by closed form (worked out
in the comment next to it); the analysis must match them, and onnxruntime
running the same model must produce that very shape. Padding modes
(SAME_UPPER, SAME_LOWER, VALID, explicit), ceil_mode, dilations and group are
covered for Conv and the pools.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from archcost import analyze
from archcost.categories import Category
from tests.onnx_builders import const, model, node, save, single_op, weight

F = TensorProto.FLOAT
I64 = TensorProto.INT64
INT64_MAX = 2**63 - 1


@dataclass
class Case:
    id: str
    proto: onnx.ModelProto
    inputs: dict[str, tuple[tuple[int, ...], Any]]
    shape: tuple[int, ...]
    macs: int = 0
    category: Category | None = None
    params: dict[str, int] = field(default_factory=dict)


def unary(op: str, **attrs: Any) -> Case:
    return Case(op, single_op(op, [2, 3, 4], opset=20, **attrs), {"x": ((2, 3, 4), np.float32)}, (2, 3, 4))


def binary(op: str, c_shape: list[int]) -> Case:
    # [2, 3, 4] with a stored [.., 4] operand broadcasts to [2, 3, 4].
    return Case(op, single_op(op, [2, 3, 4], [const("c", np.full(c_shape, 2.0), np.float32)]),
                {"x": ((2, 3, 4), np.float32)}, (2, 3, 4))


def conv(id_: str, x: list[int], w: list[int], shape: tuple[int, ...], macs: int, category: Category,
         **attrs: Any) -> Case:
    return Case(f"Conv-{id_}", single_op("Conv", x, [weight("w", w)], **attrs),
                {"x": (tuple(x), np.float32)}, shape, macs, category, {"weight": int(np.prod(w))})


def pool(op: str, id_: str, x: list[int], shape: tuple[int, ...], **attrs: Any) -> Case:
    return Case(f"{op}-{id_}", single_op(op, x, **attrs), {"x": (tuple(x), np.float32)}, shape)


def graph_case(id_: str, nodes: list[onnx.NodeProto], x: tuple[int, ...], shape: tuple[int, ...],
               inits: list[onnx.TensorProto] | None = None, macs: int = 0, x_type: int = F,
               category: Category | None = None, opset: int = 18, outputs: tuple[str, ...] = ("y",)) -> Case:
    dtype = np.float32 if x_type == F else np.int64
    proto = model(nodes, [("x", list(x), x_type)], list(outputs), inits or [], opset)
    return Case(id_, proto, {"x": (x, dtype)}, shape, macs, category)


CASES = [
    # Conv, x [1, 4, 10, 11], w [6, 4, 3, 3] unless said; MACs = |Y| · (C_in/g) · K_h · K_w.
    # explicit pads 1, stride 2: H = ⌊(10+2−3)/2⌋+1 = 5, W = ⌊(11+2−3)/2⌋+1 = 6; 6·5·6·4·9 = 6480
    conv("pads", [1, 4, 10, 11], [6, 4, 3, 3], (1, 6, 5, 6), 6480, Category.FULL_CONV,
         pads=[1, 1, 1, 1], strides=[2, 2]),
    # SAME_UPPER, stride 2: ⌈10/2⌉ = 5, ⌈11/2⌉ = 6
    conv("same-upper", [1, 4, 10, 11], [6, 4, 3, 3], (1, 6, 5, 6), 6480, Category.FULL_CONV,
         auto_pad="SAME_UPPER", strides=[2, 2]),
    # SAME_LOWER, stride 3: ⌈10/3⌉ = 4, ⌈11/3⌉ = 4; 6·4·4·36 = 3456
    conv("same-lower", [1, 4, 10, 11], [6, 4, 3, 3], (1, 6, 4, 4), 3456, Category.FULL_CONV,
         auto_pad="SAME_LOWER", strides=[3, 3]),
    # VALID, dilation 2 (extent 5): 10−5+1 = 6, 11−5+1 = 7; 6·6·7·36 = 9072
    conv("valid-dilated", [1, 4, 10, 11], [6, 4, 3, 3], (1, 6, 6, 7), 9072, Category.FULL_CONV,
         auto_pad="VALID", dilations=[2, 2]),
    # pads [t=0, l=2, b=1, r=0]: H = 10+1−3+1 = 9, W = 11+2−3+1 = 11; 6·9·11·36 = 21384
    conv("asymmetric", [1, 4, 10, 11], [6, 4, 3, 3], (1, 6, 9, 11), 21384, Category.FULL_CONV,
         pads=[0, 2, 1, 0]),
    # group 2: 6·8·8·(4/2)·9 = 6912
    conv("group", [1, 4, 8, 8], [6, 2, 3, 3], (1, 6, 8, 8), 6912, Category.GROUPED_CONV,
         pads=[1, 1, 1, 1], group=2),
    # depthwise, group = C_in = 4: 4·8·8·1·9 = 2304 (D_K²·M·D_F²)
    conv("depthwise", [1, 4, 8, 8], [4, 1, 3, 3], (1, 4, 8, 8), 2304, Category.DEPTHWISE,
         pads=[1, 1, 1, 1], group=4),
    # pointwise: M·N·D_F² = 4·6·64 = 1536
    conv("pointwise", [1, 4, 8, 8], [6, 4, 1, 1], (1, 6, 8, 8), 1536, Category.CONV_1X1),
    # batch 3: 3 · 1536
    conv("batch", [3, 4, 8, 8], [6, 4, 1, 1], (3, 6, 8, 8), 4608, Category.CONV_1X1),
    # ConvTranspose: s·(D−1) + output_padding + K − pads = 2·4+1+3−2 = 10; MACs = |X|·(N/g)·K² = 100·3·9
    Case("ConvTranspose-pads", single_op("ConvTranspose", [1, 4, 5, 5], [weight("w", [4, 3, 3, 3])],
                                         strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
         {"x": ((1, 4, 5, 5), np.float32)}, (1, 3, 10, 10), 2700, Category.FULL_CONV, {"weight": 108}),
    # ConvTranspose SAME_UPPER: D·s = 10; depthwise (group = C_in = 4): 100·1·9
    Case("ConvTranspose-same-depthwise",
         single_op("ConvTranspose", [1, 4, 5, 5], [weight("w", [4, 1, 3, 3])], strides=[2, 2],
                   auto_pad="SAME_UPPER", group=4),
         {"x": ((1, 4, 5, 5), np.float32)}, (1, 4, 10, 10), 900, Category.DEPTHWISE, {"weight": 36}),
    # Gemm [3, 8] · [5, 8]ᵀ + b: 3·5·8 = 120
    Case("Gemm", single_op("Gemm", [3, 8], [weight("w", [5, 8]), const("b", np.zeros(5), np.float32)],
                           transB=1),
         {"x": ((3, 8), np.float32)}, (3, 5), 120, Category.FULLY_CONNECTED, {"weight": 40, "bias": 5}),
    # MatMul [2, 3, 8] @ [8, 5]: 2·3·5·8 = 240
    Case("MatMul", single_op("MatMul", [2, 3, 8], [weight("w", [8, 5])]),
         {"x": ((2, 3, 8), np.float32)}, (2, 3, 5), 240, Category.FULLY_CONNECTED, {"weight": 40}),
    # Einsum with a stored operand: 2·3·4·5 = 120
    Case("Einsum-fc", single_op("Einsum", [2, 3, 4], [weight("w", [4, 5])], equation="bij,jk->bik"),
         {"x": ((2, 3, 4), np.float32)}, (2, 3, 5), 120, Category.FULLY_CONNECTED, {"weight": 20}),
    # Einsum of two activations (QKᵀ): B·H·I·J·D = 1·2·5·5·4 = 200
    graph_case("Einsum-attention", [node("Einsum", ["x", "x"], "y", equation="bhid,bhjd->bhij")],
               (1, 2, 5, 4), (1, 2, 5, 5), macs=200, category=Category.ATTENTION_MATMUL),
    Case("BatchNormalization",
         single_op("BatchNormalization", [1, 4, 6, 6],
                   [const(n, np.ones(4), np.float32) for n in ("g", "b", "m", "v")]),
         {"x": ((1, 4, 6, 6), np.float32)}, (1, 4, 6, 6), 0, Category.OTHER, {"norm": 8, "buffer": 8}),
    Case("LayerNormalization",
         single_op("LayerNormalization", [2, 5, 8], [const("g", np.ones(8), np.float32),
                                                    const("b", np.zeros(8), np.float32)]),
         {"x": ((2, 5, 8), np.float32)}, (2, 5, 8), 0, Category.OTHER, {"norm": 16}),
    *(unary(op) for op in ("Relu", "Sigmoid", "HardSwish", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg",
                           "Abs", "Reciprocal", "Identity", "Dropout")),
    unary("HardSigmoid", alpha=1 / 6),
    unary("Gelu", approximate="tanh"),
    unary("Softmax", axis=1),
    Case("Clip", single_op("Clip", [2, 3, 4], [const("lo", np.float32(0), np.float32),
                                               const("hi", np.float32(6), np.float32)]),
         {"x": ((2, 3, 4), np.float32)}, (2, 3, 4)),
    *(binary(op, [4]) for op in ("Add", "Sub", "Mul", "Div", "Max", "Min")),
    binary("Pow", []),
    # pools on [1, 4, 6, 7]
    pool("GlobalAveragePool", "x", [1, 4, 6, 7], (1, 4, 1, 1)),
    pool("GlobalMaxPool", "x", [1, 4, 6, 7], (1, 4, 1, 1)),
    # k3 s2 on 8: floor mode ⌊5/2⌋+1 = 3; ceil mode ⌈5/2⌉+1 = 4 (last window starts at 6 < 8)
    pool("AveragePool", "floor", [1, 2, 8, 8], (1, 2, 3, 3), kernel_shape=[3, 3], strides=[2, 2]),
    pool("AveragePool", "ceil", [1, 2, 8, 8], (1, 2, 4, 4), kernel_shape=[3, 3], strides=[2, 2],
         ceil_mode=1),
    # k2 s2 pads 1 on 5, ceil: ⌈5/2⌉+1 = 4, but window 4 would start at 6 = inside the end pad → 3
    pool("MaxPool", "ceil-dropped", [1, 2, 5, 5], (1, 2, 3, 3), kernel_shape=[2, 2], strides=[2, 2],
         pads=[1, 1, 1, 1], ceil_mode=1),
    # k2 dilation 2 (extent 3) on 6, stride 1: 6−3+1 = 4
    pool("MaxPool", "dilated", [1, 2, 6, 6], (1, 2, 4, 4), kernel_shape=[2, 2], dilations=[2, 2]),
    pool("MaxPool", "same-upper", [1, 2, 7, 7], (1, 2, 4, 4), kernel_shape=[3, 3], strides=[2, 2],
         auto_pad="SAME_UPPER"),
    pool("AveragePool", "same-lower", [1, 2, 7, 7], (1, 2, 3, 3), kernel_shape=[2, 2], strides=[3, 3],
         auto_pad="SAME_LOWER"),
    # VALID k3 s2 on 7: ⌊(7−3)/2⌋+1 = 3
    pool("MaxPool", "valid", [1, 2, 7, 7], (1, 2, 3, 3), kernel_shape=[3, 3], strides=[2, 2],
         auto_pad="VALID"),
    # reductions: opset 18 takes axes as input 1
    Case("ReduceMean", single_op("ReduceMean", [1, 4, 6, 7], [const("axes", [2, 3])]),
         {"x": ((1, 4, 6, 7), np.float32)}, (1, 4, 1, 1)),
    Case("ReduceSum-nokeep", single_op("ReduceSum", [1, 4, 6, 7], [const("axes", [1])], keepdims=0),
         {"x": ((1, 4, 6, 7), np.float32)}, (1, 6, 7)),
    *(Case(op, single_op(op, [2, 3, 4], [const("axes", [-1])]), {"x": ((2, 3, 4), np.float32)}, (2, 3, 1))
      for op in ("ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2", "ReduceSumSquare")),
    # opset 13 ReduceMean: axes is an attribute
    Case("ReduceMean-opset13", single_op("ReduceMean", [1, 4, 6, 7], axes=[1], opset=13),
         {"x": ((1, 4, 6, 7), np.float32)}, (1, 1, 6, 7)),
    Case("Concat", single_op("Concat", [1, 2, 3], [weight("c", [1, 4, 3])], axis=1),
         {"x": ((1, 2, 3), np.float32)}, (1, 6, 3)),
    Case("Reshape", single_op("Reshape", [2, 3, 4], [const("s", [0, -1])]),
         {"x": ((2, 3, 4), np.float32)}, (2, 12)),
    Case("Flatten", single_op("Flatten", [2, 3, 4, 5], axis=2), {"x": ((2, 3, 4, 5), np.float32)}, (6, 20)),
    Case("Transpose", single_op("Transpose", [2, 3, 4], perm=[2, 0, 1]),
         {"x": ((2, 3, 4), np.float32)}, (4, 2, 3)),
    Case("Squeeze", single_op("Squeeze", [2, 1, 4], [const("axes", [1])]),
         {"x": ((2, 1, 4), np.float32)}, (2, 4)),
    Case("Squeeze-opset11", single_op("Squeeze", [1, 2, 1, 4], opset=11),
         {"x": ((1, 2, 1, 4), np.float32)}, (2, 4)),
    Case("Unsqueeze", single_op("Unsqueeze", [2, 3], [const("axes", [0, 3])]),
         {"x": ((2, 3), np.float32)}, (1, 2, 3, 1)),
    # pads [begins 0,0,1,2; ends 0,0,3,4]: [1, 2, 3+1+3, 4+2+4]
    Case("Pad", single_op("Pad", [1, 2, 3, 4], [const("pads", [0, 0, 1, 2, 0, 0, 3, 4])]),
         {"x": ((1, 2, 3, 4), np.float32)}, (1, 2, 7, 10)),
    Case("Resize-scales", model([node("Resize", ["x", "", "scales"], "y")], [("x", [1, 2, 3, 4])], ["y"],
                                [const("scales", [1, 1, 2, 2.5], np.float32)]),
         {"x": ((1, 2, 3, 4), np.float32)}, (1, 2, 6, 10)),  # ⌊3·2⌋, ⌊4·2.5⌋
    Case("Resize-sizes", model([node("Resize", ["x", "", "", "sizes"], "y", mode="linear")],
                               [("x", [1, 2, 3, 4])], ["y"], [const("sizes", [1, 2, 5, 7])]),
         {"x": ((1, 2, 3, 4), np.float32)}, (1, 2, 5, 7)),
    # Slice 1:end:2 on 9 → ⌈8/2⌉ = 4
    Case("Slice", single_op("Slice", [2, 9, 4], [const("st", [1]), const("en", [INT64_MAX]),
                                                 const("ax", [1]), const("sp", [2])]),
         {"x": ((2, 9, 4), np.float32)}, (2, 4, 4)),
    # Slice −1:−100:−1 on 4 → start 3, end clamps to −1: ⌈(−1−3)/−1⌉ = 4
    Case("Slice-negative-step", single_op("Slice", [2, 9, 4], [const("st", [-1]), const("en", [-100]),
                                                               const("ax", [2]), const("sp", [-1])]),
         {"x": ((2, 9, 4), np.float32)}, (2, 9, 4)),
    Case("Split-sizes", single_op("Split", [2, 9, 4], [const("split", [2, 7])], outputs=2, axis=1),
         {"x": ((2, 9, 4), np.float32)}, (2, 2, 4)),
    # opset 13, no sizes: equal parts, one per output
    Case("Split-even-opset13", single_op("Split", [2, 9, 4], outputs=3, axis=1, opset=13),
         {"x": ((2, 9, 4), np.float32)}, (2, 3, 4)),
    # opset 18 num_outputs 2 on 9: ⌈9/2⌉ = 5, then 4
    Case("Split-num-outputs", single_op("Split", [2, 9, 4], outputs=2, axis=1, num_outputs=2),
         {"x": ((2, 9, 4), np.float32)}, (2, 5, 4)),
    # embedding lookup: [10, 4] table, [2, 3] ids → [2, 3, 4]; the table is a weight
    Case("Gather", model([node("Gather", ["table", "x"], "y")], [("x", [2, 3], I64)], ["y"],
                         [weight("table", [10, 4])]),
         {"x": ((2, 3), np.int64)}, (2, 3, 4), 0, Category.OTHER, {"weight": 40}),
    graph_case("Shape", [node("Shape", ["x"], "y")], (2, 3, 4), (3,)),
    graph_case("Shape-start", [node("Shape", ["x"], "y", start=1)], (2, 3, 4), (2,)),
    graph_case("Size", [node("Size", ["x"], "y")], (2, 3, 4), ()),
    # Constant feeding Reshape: the target's contents must fold
    graph_case("Constant", [
        node("Constant", [], "c", value=helper.make_tensor("v", I64, [2], [4, 6])),
        node("Reshape", ["x", "c"], "y"),
    ], (2, 3, 4), (4, 6)),
    graph_case("Constant-value-ints", [
        node("Constant", [], "c", value_ints=[3, 8]), node("Reshape", ["x", "c"], "y"),
    ], (2, 3, 4), (3, 8)),
    # Shape → ConstantOfShape → Add
    graph_case("ConstantOfShape", [
        node("Shape", ["x"], "s"),
        node("ConstantOfShape", ["s"], "z", value=helper.make_tensor("v", F, [1], [1.0])),
        node("Add", ["x", "z"], "y"),
    ], (2, 3, 4), (2, 3, 4)),
    # Range(0, dim 1 of x, 1) → 7 entries
    graph_case("Range", [
        node("Shape", ["x"], "s"), node("Gather", ["s", "one"], "n"),
        node("Range", ["zero", "n", "one"], "y"),
    ], (2, 7), (7,), [const("zero", np.int64(0)), const("one", np.int64(1))]),
    Case("Expand", single_op("Expand", [3, 1], [const("shape", [2, 3, 4])]),
         {"x": ((3, 1), np.float32)}, (2, 3, 4)),
    Case("Tile", single_op("Tile", [2, 3], [const("reps", [2, 1])]), {"x": ((2, 3), np.float32)}, (4, 3)),
    graph_case("Cast", [node("Cast", ["x"], "y", to=I64)], (2, 3), (2, 3)),
    # Where(x > 0, x, 0) with the bool mask from Greater; Less, Equal and Not on the way
    graph_case("Where", [
        node("Greater", ["x", "zero"], "pos"), node("Less", ["x", "zero"], "neg"),
        node("Equal", ["pos", "neg"], "same"), node("Not", ["same"], "mask"),
        node("Where", ["mask", "x", "zero"], "y"),
    ], (2, 3), (2, 3), [const("zero", np.float32(0), np.float32)]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_shape_macs_and_category_by_closed_form_and_onnxruntime(case: Case, tmp_path: Path) -> None:
    path = save(case.proto, tmp_path / "m.onnx")
    report = analyze(str(path))
    assert not report.unknown and not report.uncosted
    assert report.tensor_shapes["y"] == case.shape
    assert report.totals.macs == case.macs
    assert all(type(d) is int for d in case.shape)
    if case.category is not None:
        assert report.layers[-1].category is case.category
    for kind, count in case.params.items():
        assert report.totals.params_by_kind[kind] == count
    # onnxruntime, running the same file, is the oracle for the shape
    rng = np.random.default_rng(0)
    feeds = {n: (rng.standard_normal(s).astype(t) if t == np.float32 else np.zeros(s, t))
             for n, (s, t) in case.inputs.items()}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (observed,) = session.run(["y"], feeds)
    assert observed.shape == case.shape


def test_conv_bias_counts_bias_adds_and_parameters(tmp_path: Path) -> None:
    m = single_op("Conv", [1, 4, 8, 8], [weight("w", [6, 4, 1, 1]), const("b", np.zeros(6), np.float32)])
    report = analyze(str(save(m, tmp_path / "m.onnx")), convention="flops")
    # flops = 2·MACs + one add per output element: 2·1536 + 6·64
    assert report.totals.cost == 2 * 1536 + 384
    assert report.totals.params_by_kind["bias"] == 6


def test_split_outputs_all_have_shapes(tmp_path: Path) -> None:
    m = single_op("Split", [2, 9, 4], [const("split", [2, 7])], outputs=2, axis=1)
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert report.tensor_shapes["y1"] == (2, 7, 4)


def test_layer_norm_statistics_outputs(tmp_path: Path) -> None:
    m = model([node("LayerNormalization", ["x", "g"], ["y", "mean", "inv"], axis=1)],
              [("x", [2, 5, 8])], ["y", "mean", "inv"], [const("g", np.ones((5, 8)), np.float32)])
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert report.tensor_shapes["mean"] == (2, 1, 1)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    _, mean, _ = session.run(None, {"x": np.ones((2, 5, 8), np.float32)})
    assert mean.shape == (2, 1, 1)
