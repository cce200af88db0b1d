"""Quantized and mixed-precision ops, and the other domains (ai.onnx.ml, com.microsoft).

Quantized products cost what their float counterparts cost; integer weights
are parameters, scales and zero points are not; weight bytes follow each
initializer's dtype. Every case runs in onnxruntime and the observed output
shapes and dtypes must equal the inferred ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from archcost import analyze
from archcost.cost.memory import activation_memory
from tests.conftest import run_cli, summary_figure
from tests.onnx_builders import save

F, U8, I8 = TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT8


def one_node(op: str, inputs: list[tuple[str, list[int], int]], consts: dict[str, np.ndarray],
             order: list[str], outputs: int = 1, domain: str = "", opset: int = 21,
             **attrs: Any) -> onnx.ModelProto:
    ins = [helper.make_tensor_value_info(n, e, s) for n, s, e in inputs]
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    outs = ["y"] + [f"y{i}" for i in range(1, outputs)]
    node = helper.make_node(op, order, outs, name="op", domain=domain or None, **attrs)
    opsets = [helper.make_opsetid("", opset)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    graph = helper.make_graph([node], op, ins, [onnx.ValueInfoProto(name=o) for o in outs], inits)
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 10
    return m


def check_against_onnxruntime(m: onnx.ModelProto, tmp_path: Path, feeds: dict[str, np.ndarray]) -> Any:
    report = analyze(str(save(m, tmp_path / "m.onnx")), convention="flops")
    assert not report.unknown and not report.uncosted
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    for name, value in zip([o.name for o in session.get_outputs()], session.run(None, feeds), strict=True):
        assert report.tensor_shapes[name] == value.shape, name
        assert report.tensor_dtypes[name] == str(value.dtype), name
    return report


def scalar(value: Any, dtype: Any) -> np.ndarray:
    return np.array(value, dtype=dtype)


def test_qlinear_conv_costs_conv_macs(tmp_path: Path) -> None:
    consts = {"xs": scalar(0.1, np.float32), "xz": scalar(128, np.uint8),
              "w": np.ones((5, 3, 3, 3), np.uint8), "ws": scalar(0.1, np.float32), "wz": scalar(0, np.uint8),
              "ys": scalar(0.2, np.float32), "yz": scalar(0, np.uint8), "b": np.zeros(5, np.int32)}
    m = one_node("QLinearConv", [("x", [1, 3, 7, 7], U8)], consts,
                 ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], pads=[1, 1, 1, 1], strides=[2, 2])
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((1, 3, 7, 7), np.uint8)})
    # H_out = ⌊(7 + 2 − 3)/2⌋ + 1 = 4: 5·4·4·3·9 = 2,160 MACs; bias adds 5·16.
    assert report.layers[0].terms == {"mac": 2160, "bias_add": 80}
    # The uint8 weight (135) and the int32 bias (5) are parameters; scales and zero points are not.
    assert dict(report.totals.params_by_kind) == {"weight": 135, "bias": 5, "norm": 0, "buffer": 0}


def test_qlinear_matmul_costs_matmul_macs(tmp_path: Path) -> None:
    consts = {"as": scalar(0.1, np.float32), "az": scalar(0, np.uint8), "b": np.ones((4, 6), np.uint8),
              "bs": scalar(0.1, np.float32), "bz": scalar(0, np.uint8), "ys": scalar(0.5, np.float32),
              "yz": scalar(0, np.uint8)}
    m = one_node("QLinearMatMul", [("a", [2, 3, 4], U8)], consts, ["a", "as", "az", "b", "bs", "bz", "ys", "yz"])
    report = check_against_onnxruntime(m, tmp_path, {"a": np.ones((2, 3, 4), np.uint8)})
    assert report.totals.macs == 2 * 3 * 6 * 4
    assert report.totals.params_by_kind["weight"] == 24


def test_conv_integer_and_matmul_integer(tmp_path: Path) -> None:
    m = one_node("ConvInteger", [("x", [1, 2, 5, 5], U8)], {"w": np.ones((3, 2, 3, 3), np.uint8)}, ["x", "w"])
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((1, 2, 5, 5), np.uint8)})
    assert report.totals.macs == 3 * 3 * 3 * 2 * 9  # 3 channels · 3×3 output · 2·3·3
    m = one_node("MatMulInteger", [("a", [3, 4], U8)], {"b": np.ones((4, 5), np.uint8)}, ["a", "b"])
    report = check_against_onnxruntime(m, tmp_path, {"a": np.ones((3, 4), np.uint8)})
    assert report.totals.macs == 3 * 4 * 5 and report.totals.params_by_kind["weight"] == 20


@pytest.mark.parametrize(("zero_dtype", "expect"), [(np.uint8, "uint8"), (np.int8, "int8")])
def test_quantize_dequantize_are_elementwise(zero_dtype: Any, expect: str, tmp_path: Path) -> None:
    consts = {"s": scalar(0.1, np.float32), "z": scalar(0, zero_dtype)}
    m = one_node("QuantizeLinear", [("x", [2, 3], F)], consts, ["x", "s", "z"])
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((2, 3), np.float32)})
    assert report.layers[0].terms == {"elementwise_op": 12}
    assert report.tensor_dtypes["y"] == expect
    m = one_node("DequantizeLinear", [("x", [2, 3], U8 if expect == "uint8" else I8)], consts, ["x", "s", "z"])
    feeds = {"x": np.ones((2, 3), zero_dtype)}
    report = check_against_onnxruntime(m, tmp_path, feeds)
    assert report.layers[0].terms == {"elementwise_op": 12}


def test_dynamic_quantize_linear(tmp_path: Path) -> None:
    m = one_node("DynamicQuantizeLinear", [("x", [2, 5], F)], {}, ["x"], outputs=3)
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((2, 5), np.float32)})
    assert report.layers[0].terms == {"pool_op": 20, "elementwise_op": 20}


@pytest.mark.parametrize(("elem", "bytes_per_1000"), [
    (TensorProto.FLOAT, 4000), (TensorProto.FLOAT16, 2000), (TensorProto.BFLOAT16, 2000),
    (TensorProto.INT8, 1000), (TensorProto.UINT8, 1000), (TensorProto.FLOAT8E4M3FN, 1000),
    (TensorProto.FLOAT8E5M2, 1000), (TensorProto.INT4, 500), (TensorProto.UINT4, 500),
])
def test_weight_bytes_follow_the_initializer_dtype(elem: int, bytes_per_1000: int, tmp_path: Path) -> None:
    # A [1000, 1] weight: quantized types read by a DequantizeLinear (its float scale adds
    # 4 bytes), float types by an Identity (the scale is then unread but still stored).
    floats = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.BFLOAT16)
    w = helper.make_tensor("w", elem, [1000, 1], vals=bytes(bytes_per_1000), raw=True)
    scale = numpy_helper.from_array(scalar(0.5, np.float32), "s")
    if elem in floats:
        node = helper.make_node("Identity", ["w"], ["y"], name="dq")
    else:
        node = helper.make_node("DequantizeLinear", ["w", "s"], ["y"], name="dq")
    graph = helper.make_graph([node], "w", [], [onnx.ValueInfoProto(name="y")], [w, scale])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    report = analyze(str(save(m, tmp_path / "w.onnx")))
    assert activation_memory(report).weight_bytes == bytes_per_1000 + 4
    out = run_cli("analyze", str(tmp_path / "w.onnx"))
    assert summary_figure(out.stdout, "weight bytes (every initializer, BN buffers included)") == \
        f"{bytes_per_1000 + 4:,}"


# --- com.microsoft fused ops ---------------------------------------------------------------

MS = "com.microsoft"


def test_fused_conv_and_fused_matmul(tmp_path: Path) -> None:
    m = one_node("FusedConv", [("x", [1, 2, 5, 5], F)], {"w": np.ones((3, 2, 3, 3), np.float32),
                                                         "b": np.zeros(3, np.float32)},
                 ["x", "w", "b"], domain=MS, activation="Relu", pads=[1, 1, 1, 1])
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((1, 2, 5, 5), np.float32)})
    # Conv: 3·5·5·2·9 = 1,350 MACs, 75 bias adds, and Relu's 1 op per output element.
    assert report.layers[0].terms == {"mac": 1350, "bias_add": 75, "activation_op": 75}
    m = one_node("FusedMatMul", [("a", [2, 4, 3], F)], {"b": np.ones((5, 4), np.float32)}, ["a", "b"],
                 domain=MS, transA=1, transB=1, alpha=0.5)
    report = check_against_onnxruntime(m, tmp_path, {"a": np.ones((2, 4, 3), np.float32)})
    assert report.totals.macs == 2 * 3 * 5 * 4  # [2, 3, 4] @ [4, 5]


def test_attention_and_multi_head_attention(tmp_path: Path) -> None:
    b, s, h, n = 2, 3, 8, 2
    m = one_node("Attention", [("x", [b, s, h], F)], {"w": np.ones((h, 3 * h), np.float32),
                                                      "bias": np.zeros(3 * h, np.float32)},
                 ["x", "w", "bias"], domain=MS, outputs=1, num_heads=n)
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((b, s, h), np.float32)})
    # QKV projection B·S·h·3h = 1,152; QKᵀ and AV: 2 · B·N·S·S·d = 2·2·2·3·3·4 = 288.
    assert report.layers[0].terms == {"mac": 1152 + 288, "softmax_op": 3 * b * n * s * s,
                                      "bias_add": b * s * 3 * h}
    m = one_node("MultiHeadAttention", [("q", [b, s, h], F), ("k", [b, 5, h], F), ("v", [b, 5, h], F)], {},
                 ["q", "k", "v"], domain=MS, num_heads=n)
    feeds = {"q": np.ones((b, s, h), np.float32), "k": np.ones((b, 5, h), np.float32),
             "v": np.ones((b, 5, h), np.float32)}
    report = check_against_onnxruntime(m, tmp_path, feeds)
    assert report.totals.macs == 2 * b * n * s * 5 * (h // n)


def test_group_query_attention_closed_form(tmp_path: Path) -> None:
    b, s, n, n_kv, d, past = 1, 4, 4, 2, 8, 6
    m = one_node("GroupQueryAttention", [("q", [b, s, n * d], F), ("k", [b, s, n_kv * d], F),
                                         ("v", [b, s, n_kv * d], F), ("pk", [b, n_kv, past, d], F),
                                         ("pv", [b, n_kv, past, d], F)], {},
                 ["q", "k", "v", "pk", "pv"], domain=MS, outputs=3, num_heads=n, kv_num_heads=n_kv)
    report = analyze(str(save(m, tmp_path / "g.onnx")))
    total = past + s
    assert report.totals.macs == 2 * b * n * s * total * d
    assert report.tensor_shapes["y1"] == (b, n_kv, total, d)


def test_skip_layer_norm_bias_gelu_quick_gelu(tmp_path: Path) -> None:
    m = one_node("SkipLayerNormalization", [("x", [2, 3, 4], F), ("skip", [2, 3, 4], F)],
                 {"g": np.ones(4, np.float32), "beta": np.zeros(4, np.float32)}, ["x", "skip", "g", "beta"],
                 domain=MS)
    feeds = {"x": np.ones((2, 3, 4), np.float32), "skip": np.ones((2, 3, 4), np.float32)}
    report = check_against_onnxruntime(m, tmp_path, feeds)
    assert report.layers[0].terms == {"elementwise_op": 24, "norm_op": 168, "bias_add": 24}
    assert report.totals.params_by_kind["norm"] == 8
    m = one_node("BiasGelu", [("x", [2, 4], F)], {"b": np.zeros(4, np.float32)}, ["x", "b"], domain=MS)
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((2, 4), np.float32)})
    assert report.layers[0].terms == {"bias_add": 8, "activation_op": 40}
    m = one_node("QuickGelu", [("x", [2, 4], F)], {}, ["x"], domain=MS, alpha=1.702)
    report = check_against_onnxruntime(m, tmp_path, {"x": np.ones((2, 4), np.float32)})
    assert report.layers[0].terms == {"activation_op": 40}


# --- ai.onnx.ml --------------------------------------------------------------------------

ML = "ai.onnx.ml"


@pytest.mark.parametrize(("op", "attrs", "terms", "shapes"), [
    ("LinearRegressor", {"coefficients": [1.0] * 8, "targets": 2, "intercepts": [0.0, 0.0]},
     {"mac": 3 * 4 * 2, "bias_add": 6}, [(3, 2)]),
    ("LinearClassifier", {"coefficients": [1.0] * 12, "classlabels_ints": [0, 1, 2],
                          "intercepts": [0.0] * 3}, {"mac": 3 * 4 * 3, "bias_add": 9}, [(3,), (3, 3)]),
    ("SVMRegressor", {"coefficients": [1.0, 1.0], "support_vectors": [1.0] * 8, "n_supports": 2,
                      "kernel_type": "RBF", "rho": [0.0], "kernel_params": [0.1, 0.0, 3.0],
                      "post_transform": "NONE"}, {"mac": 3 * 2 * 4 + 3 * 2}, [(3, 1)]),
    ("Scaler", {"scale": [2.0], "offset": [1.0]}, {"elementwise_op": 24}, [(3, 4)]),
    ("Normalizer", {"norm": "L2"}, {"elementwise_op": 36}, [(3, 4)]),
    ("Binarizer", {"threshold": 0.5}, {"elementwise_op": 12}, [(3, 4)]),
    ("Imputer", {"imputed_value_floats": [0.0], "replaced_value_float": 1.0}, {"elementwise_op": 12}, [(3, 4)]),
])
def test_ml_ops(op: str, attrs: dict[str, Any], terms: dict[str, int], shapes: list[tuple[int, ...]],
                tmp_path: Path) -> None:
    outputs = len(shapes)
    m = one_node(op, [("x", [3, 4], F)], {}, ["x"], outputs=outputs, domain=ML, **attrs)
    report = analyze(str(save(m, tmp_path / "m.onnx")), convention="flops")
    assert report.layers[0].terms == terms
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    observed = [tuple(v.shape) for v in session.run(None, {"x": np.ones((3, 4), np.float32)})]
    assert observed == shapes == [report.tensor_shapes[o] for o in (["y", "y1"][:outputs])]


def test_ml_lookup_ops_and_unknown_ml_ops_are_listed_by_domain(tmp_path: Path) -> None:
    for op, attrs in (("ArrayFeatureExtractor", {}), ("FeatureVectorizer", {"inputdimensions": [4]}),
                      ("LabelEncoder", {"keys_floats": [1.0], "values_int64s": [7]}),
                      ("CategoryMapper", {"cats_int64s": [1], "cats_strings": ["a"]}),
                      ("OneHotEncoder", {"cats_int64s": [1, 2, 3]})):
        assert analyze  # registered rules exist for each
        from archcost.ops import find

        assert find(op, ML) is not None, op
        del attrs
    # DictVectorizer reads a map, which archcost does not represent: listed as unknown, by domain.
    m = one_node("DictVectorizer", [("x", [3, 2], F)], {}, ["x"], domain=ML, int64_vocabulary=[0, 1])
    report = analyze(str(save(m, tmp_path / "z.onnx")))
    assert [(u.op_type, u.domain) for u in report.unknown] == [("DictVectorizer", ML)]
