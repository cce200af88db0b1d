"""Every TFLite rule on a model of one operator (or a few, for variables and control flow), written
by tests/tflite_builders.py and run in the LiteRT interpreter by ``verify``: every tensor's shape
and dtype as LiteRT produced it, and the MACs recomputed from those shapes by the closed forms,
must equal the analysis'. The MACs of the layers with weights are also checked against the
closed form written here from the layer's sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archcost.api import analyze

litert = pytest.importorskip("ai_edge_litert.interpreter",
                             reason="verify runs TFLite models in LiteRT: pip install '.[litert]'")
pytest.importorskip("tflite", reason="the test models are written with the official schema's bindings: "
                    "pip install tflite==2.18.0")

from tests.tflite_builders import Op, Subgraph, T, model  # noqa: E402

RNG = np.random.default_rng(0)


def w(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    """Stored weights."""
    return RNG.standard_normal(shape).astype(dtype)


def i32(*values: int) -> np.ndarray:
    return np.array(values, np.int32)


@dataclass
class Case:
    op: str
    inputs: list[T | None]
    outputs: list[T]
    options: str = ""
    values: dict[str, Any] | None = None
    macs: int = 0
    #: Contents of graph inputs a shape depends on (``verify --value``).
    given: dict[str, list[int]] | None = None
    version: int = 1


def X(shape: tuple[int, ...], dtype: str = "float32", name: str = "x") -> T:
    return T(name, shape, dtype)


def Y(shape: tuple[int, ...], dtype: str = "float32", name: str = "y") -> T:
    return T(name, shape, dtype)


_ACT = {"fused_activation_function": "NONE"}
CASES = [
    Case("CONV_2D", [X((1, 9, 9, 3)), T("w", (8, 3, 3, 3), data=w(8, 3, 3, 3)), T("b", (8,), data=w(8))],
         [Y((1, 5, 5, 8))], "Conv2DOptions",
         {"padding": "SAME", "stride_w": 2, "stride_h": 2, "fused_activation_function": "RELU6"},
         macs=5 * 5 * 8 * 3 * 3 * 3),
    Case("CONV_2D", [X((1, 10, 10, 4)), T("w", (6, 3, 3, 4), data=w(6, 3, 3, 4)), T("b", (6,), data=w(6))],
         [Y((1, 6, 6, 6))], "Conv2DOptions",
         {"padding": "VALID", "stride_w": 1, "stride_h": 1, "dilation_w_factor": 2, "dilation_h_factor": 2},
         macs=6 * 6 * 6 * 3 * 3 * 4),
    Case("DEPTHWISE_CONV_2D", [X((1, 8, 8, 4)), T("w", (1, 3, 3, 8), data=w(1, 3, 3, 8)), T("b", (8,), data=w(8))],
         [Y((1, 8, 8, 8))], "DepthwiseConv2DOptions",
         {"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 2}, macs=8 * 8 * 8 * 3 * 3),
    Case("TRANSPOSE_CONV", [T("shape", (4,), "int32", i32(1, 8, 8, 5)), T("w", (5, 3, 3, 4), data=w(5, 3, 3, 4)),
                            X((1, 4, 4, 4))], [Y((1, 8, 8, 5))], "TransposeConvOptions",
         {"padding": "SAME", "stride_w": 2, "stride_h": 2}, macs=4 * 4 * 4 * 5 * 3 * 3),
    Case("CONV_3D", [X((1, 4, 6, 6, 2)), T("w", (3, 3, 3, 2, 4), data=w(3, 3, 3, 2, 4)), T("b", (4,), data=w(4))],
         [Y((1, 2, 4, 4, 4))], "Conv3DOptions",
         {"padding": "VALID", "stride_d": 1, "stride_w": 1, "stride_h": 1}, macs=2 * 4 * 4 * 4 * 27 * 2),
    Case("FULLY_CONNECTED", [X((2, 3, 8)), T("w", (5, 8), data=w(5, 8)), T("b", (5,), data=w(5))],
         [Y((2, 3, 5))], "FullyConnectedOptions", {"keep_num_dims": True}, macs=6 * 5 * 8),
    Case("FULLY_CONNECTED", [X((2, 3, 8)), T("w", (5, 8), data=w(5, 8)), None],
         [Y((6, 5))], "FullyConnectedOptions", {"keep_num_dims": False, "fused_activation_function": "RELU"},
         macs=6 * 5 * 8),
    Case("BATCH_MATMUL", [X((2, 3, 4)), X((2, 5, 4), name="z")], [Y((2, 3, 5))], "BatchMatMulOptions",
         {"adj_y": True}, macs=2 * 3 * 5 * 4),
    Case("AVERAGE_POOL_2D", [X((1, 8, 8, 3))], [Y((1, 4, 4, 3))], "Pool2DOptions",
         {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2}),
    Case("MAX_POOL_2D", [X((1, 8, 8, 3))], [Y((1, 4, 4, 3))], "Pool2DOptions",
         {"padding": "SAME", "stride_w": 2, "stride_h": 2, "filter_width": 3, "filter_height": 3}),
    Case("L2_POOL_2D", [X((1, 8, 8, 3))], [Y((1, 4, 4, 3))], "Pool2DOptions",
         {"padding": "VALID", "stride_w": 2, "stride_h": 2, "filter_width": 2, "filter_height": 2}),
    Case("RESIZE_BILINEAR", [X((1, 4, 4, 2)), T("size", (2,), "int32", i32(8, 6))], [Y((1, 8, 6, 2))],
         "ResizeBilinearOptions", {}),
    Case("RESIZE_NEAREST_NEIGHBOR", [X((1, 4, 4, 2)), T("size", (2,), "int32", i32(8, 6))], [Y((1, 8, 6, 2))],
         "ResizeNearestNeighborOptions", {}),
    Case("PRELU", [X((1, 4, 4, 3)), T("alpha", (3,), data=w(3))], [Y((1, 4, 4, 3))]),
    Case("ADD_N", [X((2, 3)), X((2, 3), name="z"), X((2, 3), name="v")], [Y((2, 3))]),
    Case("CAST", [X((2, 3))], [Y((2, 3), "int32")], "CastOptions", {"in_data_type": 0, "out_data_type": 2}),
    Case("RESHAPE", [X((1, 4, 4, 3)), T("shape", (2,), "int32", i32(4, -1))], [Y((4, 12))]),
    Case("SQUEEZE", [X((1, 4, 1, 3))], [Y((1, 4, 3))], "SqueezeOptions", {"squeeze_dims": [2]}),
    Case("EXPAND_DIMS", [X((4, 3)), T("axis", (), "int32", i32(1))], [Y((4, 1, 3))]),
    Case("CONCATENATION", [X((1, 2, 2, 3)), X((1, 2, 2, 5), name="z")], [Y((1, 2, 2, 8))], "ConcatenationOptions",
         {"axis": 3}),
    Case("PACK", [X((3, 4)), X((3, 4), name="z")], [Y((3, 2, 4))], "PackOptions", {"values_count": 2, "axis": 1}),
    Case("UNPACK", [X((3, 2, 4))], [Y((3, 4)), Y((3, 4), name="y2")], "UnpackOptions", {"num": 2, "axis": 1}),
    Case("SPLIT", [T("axis", (), "int32", i32(1)), X((2, 6, 3))], [Y((2, 2, 3)), Y((2, 2, 3), name="y2"),
                                                                   Y((2, 2, 3), name="y3")],
         "SplitOptions", {"num_splits": 3}),
    Case("SPLIT_V", [X((2, 7)), T("sizes", (3,), "int32", i32(2, -1, 1)), T("axis", (), "int32", i32(1))],
         [Y((2, 2)), Y((2, 4), name="y2"), Y((2, 1), name="y3")], "SplitVOptions", {"num_splits": 3}),
    Case("PAD", [X((1, 3, 3, 2)), T("pads", (4, 2), "int32", i32(0, 0, 1, 2, 2, 1, 0, 0).reshape(4, 2))],
         [Y((1, 6, 6, 2))]),
    Case("PADV2", [X((1, 3, 3, 2)), T("pads", (4, 2), "int32", i32(0, 0, 1, 1, 0, 2, 0, 0).reshape(4, 2)),
                   T("value", (), data=np.array(0.5, np.float32))], [Y((1, 5, 5, 2))]),
    Case("MIRROR_PAD", [X((1, 3, 3, 2)), T("pads", (4, 2), "int32", i32(0, 0, 1, 1, 1, 1, 0, 0).reshape(4, 2))],
         [Y((1, 5, 5, 2))], "MirrorPadOptions", {"mode": "REFLECT"}),
    Case("TRANSPOSE", [X((1, 4, 5, 3)), T("perm", (4,), "int32", i32(0, 3, 1, 2))], [Y((1, 3, 4, 5))]),
    Case("SHAPE", [X((2, 3, 4))], [Y((3,), "int32")], "ShapeOptions", {"out_type": 2}),
    Case("GATHER", [T("table", (10, 4), data=w(10, 4)), X((3,), "int32", name="ids")], [Y((3, 4))],
         "GatherOptions", {"axis": 0}),
    Case("GATHER_ND", [X((4, 5)), T("idx", (2, 1), "int32", i32(0, 3).reshape(2, 1))], [Y((2, 5))]),
    Case("EMBEDDING_LOOKUP", [X((3,), "int32", name="ids"), T("table", (10, 4), data=w(10, 4))], [Y((3, 4))]),
    Case("SELECT_V2", [X((1, 4), "bool", name="c"), X((3, 4)), X((3, 4), name="z")], [Y((3, 4))]),
    Case("SELECT", [X((3, 4), "bool", name="c"), X((3, 4)), X((3, 4), name="z")], [Y((3, 4))]),
    Case("TILE", [X((2, 3)), T("m", (2,), "int32", i32(2, 2))], [Y((4, 6))]),
    # LiteRT registers BROADCAST_TO from version 2.
    Case("BROADCAST_TO", [X((1, 3)), T("s", (2,), "int32", i32(4, 3))], [Y((4, 3))], version=2),
    Case("FILL", [T("dims", (2,), "int32", i32(2, 3)), T("v", (), data=np.array(1.5, np.float32))], [Y((2, 3))]),
    Case("ZEROS_LIKE", [X((2, 3))], [Y((2, 3))]),
    Case("REVERSE_V2", [X((2, 3)), T("axis", (1,), "int32", i32(1))], [Y((2, 3))]),
    Case("RANGE", [X((), "int32", name="start"), T("limit", (), "int32", i32(10)),
                   T("delta", (), "int32", i32(2))], [Y((5,), "int32")], given={"start": [0]}),
    Case("CUMSUM", [X((3, 4)), T("axis", (), "int32", i32(1))], [Y((3, 4))], "CumsumOptions", {}),
    Case("ARG_MAX", [X((3, 4)), T("axis", (), "int32", i32(1))], [Y((3,), "int64")], "ArgMaxOptions",
         {"output_type": 4}),
    Case("ARG_MIN", [X((3, 4)), T("axis", (), "int32", i32(1))], [Y((3,), "int32")], "ArgMinOptions",
         {"output_type": 2}),
    Case("DEPTH_TO_SPACE", [X((1, 2, 2, 8))], [Y((1, 4, 4, 2))], "DepthToSpaceOptions", {"block_size": 2}),
    Case("SPACE_TO_DEPTH", [X((1, 4, 4, 2))], [Y((1, 2, 2, 8))], "SpaceToDepthOptions", {"block_size": 2}),
    Case("STRIDED_SLICE", [X((4, 6, 8)), T("b", (3,), "int32", i32(1, 0, 0)), T("e", (3,), "int32", i32(3, 6, 8)),
                           T("s", (3,), "int32", i32(1, 2, 3))], [Y((2, 3, 3))], "StridedSliceOptions", {}),
    Case("STRIDED_SLICE", [X((4, 6, 8)), T("b", (2,), "int32", i32(2, -4)), T("e", (2,), "int32", i32(0, 0)),
                           T("s", (2,), "int32", i32(1, 1))], [Y((4, 8))], "StridedSliceOptions",
         {"shrink_axis_mask": 1, "end_mask": 2}),
    Case("SLICE", [X((4, 6)), T("b", (2,), "int32", i32(1, 2)), T("s", (2,), "int32", i32(2, -1))], [Y((2, 4))]),
    Case("BATCH_TO_SPACE_ND", [X((4, 2, 2, 1)), T("block", (2,), "int32", i32(2, 2)),
                               T("crops", (2, 2), "int32", i32(0, 0, 0, 0).reshape(2, 2))], [Y((1, 4, 4, 1))]),
    Case("SPACE_TO_BATCH_ND", [X((1, 4, 4, 1)), T("block", (2,), "int32", i32(2, 2)),
                               T("pads", (2, 2), "int32", i32(0, 0, 0, 0).reshape(2, 2))], [Y((4, 2, 2, 1))]),
    Case("QUANTIZE", [X((2, 3))], [T("y", (2, 3), "int8", quant=([0.05], [0], 0))]),
    Case("DEQUANTIZE", [T("q", (4, 3), "int8", np.arange(12, dtype=np.int8).reshape(4, 3), quant=([0.1], [0], 0))],
         [Y((4, 3))]),
    Case("LOCAL_RESPONSE_NORMALIZATION", [X((1, 3, 3, 8))], [Y((1, 3, 3, 8))], "LocalResponseNormalizationOptions",
         {"radius": 2, "bias": 1.0, "alpha": 1.0, "beta": 0.5}),
    Case("LEAKY_RELU", [X((2, 3))], [Y((2, 3))], "LeakyReluOptions", {"alpha": 0.1}),
    Case("SOFTMAX", [X((2, 5))], [Y((2, 5))], "SoftmaxOptions", {"beta": 1.0}),
]
for _op in ("ADD", "SUB", "MUL", "DIV", "MAXIMUM", "MINIMUM", "POW", "SQUARED_DIFFERENCE", "FLOOR_DIV", "FLOOR_MOD"):
    _options = {"ADD": "AddOptions", "SUB": "SubOptions", "MUL": "MulOptions", "DIV": "DivOptions"}.get(_op, "")
    CASES.append(Case(_op, [X((1, 4, 4, 3)), T("c", (3,), data=w(3) + 3)], [Y((1, 4, 4, 3))], _options,
                      {"fused_activation_function": "RELU"} if _options else {}))
for _op in ("EQUAL", "NOT_EQUAL", "LESS", "GREATER", "LESS_EQUAL", "GREATER_EQUAL"):
    CASES.append(Case(_op, [X((2, 3)), X((1, 3), name="z")], [Y((2, 3), "bool")]))
for _op in ("LOGICAL_AND", "LOGICAL_OR"):
    CASES.append(Case(_op, [X((2, 3), "bool"), X((2, 3), "bool", name="z")], [Y((2, 3), "bool")]))
CASES.append(Case("LOGICAL_NOT", [X((2, 3), "bool")], [Y((2, 3), "bool")]))
for _op in ("LOGISTIC", "TANH", "RELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "HARD_SWISH", "ELU", "GELU", "EXP",
            "LOG", "SQRT", "RSQRT", "NEG", "ABS", "SIN", "COS", "FLOOR", "CEIL", "ROUND", "SIGN", "SQUARE",
            "LOG_SOFTMAX", "L2_NORMALIZATION"):
    CASES.append(Case(_op, [X((2, 5))], [Y((2, 5))]))
for _op in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"):
    CASES.append(Case(_op, [X((1, 4, 4, 3)), T("axes", (2,), "int32", i32(1, 2))], [Y((1, 1, 1, 3))],
                      "ReducerOptions", {"keep_dims": True}))
for _op in ("REDUCE_ANY", "REDUCE_ALL"):
    CASES.append(Case(_op, [X((2, 3), "bool"), T("axes", (1,), "int32", i32(1))], [Y((2,), "bool")],
                      "ReducerOptions", {"keep_dims": False}))


def _one(case: Case) -> bytes:
    tensors = [t for t in (*case.inputs, *case.outputs) if t is not None]
    index = {id(t): i for i, t in enumerate(tensors)}
    inputs = [index[id(t)] if t is not None else -1 for t in case.inputs]
    outputs = [index[id(t)] for t in case.outputs]
    graph_inputs = [index[id(t)] for t in case.inputs if t is not None and t.data is None]
    op = Op(case.op, inputs, outputs, case.options, dict(case.values or {}), version=case.version)
    return model([Subgraph(tensors, [op], graph_inputs, outputs, "main")])


def _verified(tmp_path: Path, data: bytes, name: str, **kwargs: Any) -> Any:
    from archcost.runtime.verify import verify

    path = tmp_path / f"{name}.tflite"
    path.write_bytes(data)
    result = verify(str(path), **kwargs)
    assert result.ok, (name, result.problems[:5], [(t.name, t.inferred, t.observed, t.inferred_dtype,
                                                   t.observed_dtype) for t in result.mismatched[:5]])
    return path


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{i}" for i, c in enumerate(CASES)])
def test_one_operator_runs_as_inferred(case: Case, tmp_path: Path) -> None:
    path = _verified(tmp_path, _one(case), case.op, input_values=case.given)
    report = analyze(str(path), input_values=case.given)
    assert report.unknown == ()
    assert report.totals.macs == case.macs
    assert [row.op_type for row in report.layers] == [case.op]


def test_conv_weights_and_biases_are_parameters_by_role(tmp_path: Path) -> None:
    path = _verified(tmp_path, _one(CASES[0]), "conv")
    report = analyze(str(path))
    assert report.totals.params_by_kind == {"weight": 8 * 3 * 3 * 3, "bias": 8, "norm": 0, "buffer": 0}


def test_variables_and_call_once(tmp_path: Path) -> None:
    """A streaming state: CALL_ONCE runs an init subgraph that assigns the variable; the main
    subgraph reads it, adds the input and stores the sum back (as the wake-word models do)."""
    init = Subgraph([T("h", (), "resource"), T("c", (2, 3), data=w(2, 3))],
                    [Op("VAR_HANDLE", [], [0], "VarHandleOptions", {"shared_name": "state"}),
                     Op("ASSIGN_VARIABLE", [0, 1], [])], [], [], "init")
    main = Subgraph([X((2, 3)), T("h", (), "resource"), T("v", (2, 3)), Y((2, 3))],
                    [Op("CALL_ONCE", [], [], "CallOnceOptions", {"init_subgraph_index": 1}),
                     Op("VAR_HANDLE", [], [1], "VarHandleOptions", {"shared_name": "state"}),
                     Op("READ_VARIABLE", [1], [2]), Op("ADD", [0, 2], [3], "AddOptions", {}),
                     Op("ASSIGN_VARIABLE", [1, 3], [])], [0], [3], "main")
    path = _verified(tmp_path, model([main, init]), "variables")
    report = analyze(str(path))
    assert [r.op_type for r in report.layers] == ["CALL_ONCE", "VAR_HANDLE", "READ_VARIABLE", "ADD",
                                                  "ASSIGN_VARIABLE"]
    assert report.totals.params_by_kind["bias"] == 0  # the initial value is the init subgraph's, not a weight


def test_while_counts_its_body_per_trip(tmp_path: Path) -> None:
    """WHILE i < 3: x = x·x, i = i + 1. The trip count is a symbol; LiteRT runs three trips."""
    cond = Subgraph([T("i", (), "int32"), T("x", (2, 3)), T("n", (), "int32", i32(3)), T("c", (), "bool")],
                    [Op("LESS", [0, 2], [3])], [0, 1], [3], "cond")
    body = Subgraph([T("i", (), "int32"), T("x", (2, 3)), T("one", (), "int32", i32(1)), T("i2", (), "int32"),
                     T("x2", (2, 3))],
                    [Op("ADD", [0, 2], [3], "AddOptions", {}), Op("MUL", [1, 1], [4], "MulOptions", {})],
                    [0, 1], [3, 4], "body")
    main = Subgraph([T("i0", (), "int32"), X((2, 3)), T("i_out", (), "int32"), Y((2, 3))],
                    [Op("WHILE", [0, 1], [2, 3], "WhileOptions", {"cond_subgraph_index": 1,
                                                                  "body_subgraph_index": 2})],
                    [0, 1], [2, 3], "main")
    path = _verified(tmp_path, model([main, cond, body]), "while")
    report = analyze(str(path), convention="flops")
    trips = next(s for s in report.free() if s.name.endswith("trips"))
    # flops: the body's ADD and MUL (1 + 6 elementwise ops), the condition's LESS (1), per trip.
    assert str(report.totals.cost) == f"7*{trips.name} + 1" or report.totals.cost.equals(
        __import__("sympy").Symbol(trips.name, integer=True, nonnegative=True) * 8 + 1)


def test_if_takes_the_larger_branch_and_verify_the_one_that_ran(tmp_path: Path) -> None:
    then = Subgraph([T("x", (1, 4)), T("w", (4, 4), data=w(4, 4)), T("y", (1, 4))],
                    [Op("FULLY_CONNECTED", [0, 1, -1], [2], "FullyConnectedOptions", {})], [0], [2], "then")
    other = Subgraph([T("x", (1, 4)), T("y", (1, 4))], [Op("MUL", [0, 0], [1], "MulOptions", {})], [0], [1], "else")
    main = Subgraph([X((1,), name="a"), T("zero", (1,), data=np.zeros(1, np.float32)), T("c", (1,), "bool"),
                     X((1, 4)), Y((1, 4))],
                    [Op("GREATER", [0, 1], [2]),
                     Op("IF", [2, 3], [4], "IfOptions", {"then_subgraph_index": 1, "else_subgraph_index": 2})],
                    [0, 3], [4], "main")
    path = _verified(tmp_path, model([main, then, other]), "if")
    report = analyze(str(path))
    assert report.totals.macs == 16 and [r.op_type for r in report.layers] == ["GREATER", "If"]
    assert analyze(str(path), branch="else").totals.macs == 0


def test_lstm_counts_as_the_onnx_lstm(tmp_path: Path) -> None:
    b, t, i, h = 2, 5, 3, 4
    tensors = [X((b, t, i)), *(T(f"w{k}", (h, i), data=w(h, i)) for k in range(4)),
               *(T(f"r{k}", (h, h), data=w(h, h)) for k in range(4)), *(T(f"b{k}", (h,), data=w(h)) for k in range(4)),
               T("hs", (b, h), variable=True), T("cs", (b, h), variable=True), Y((b, t, h))]
    ins = [0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -1, -1, 9, 10, 11, 12, -1, -1, 13, 14, -1, -1, -1, -1]
    op = Op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [15], "UnidirectionalSequenceLSTMOptions",
            {"fused_activation_function": "TANH", "time_major": False})
    path = _verified(tmp_path, model([Subgraph(tensors, [op], [0], [15], "main")]), "lstm")
    report = analyze(str(path))
    assert report.totals.macs == t * b * 4 * h * (i + h)
    assert report.totals.params_by_kind["weight"] == 4 * h * i + 4 * h * h


def test_lstm_step_counts_as_one_step_of_the_onnx_lstm(tmp_path: Path) -> None:
    b, i, h = 2, 3, 4
    tensors = [X((b, i)), *(T(f"w{k}", (h, i), data=w(h, i)) for k in range(4)),
               *(T(f"r{k}", (h, h), data=w(h, h)) for k in range(4)), *(T(f"b{k}", (h,), data=w(h)) for k in range(4)),
               T("hs", (b, h), variable=True), T("cs", (b, h), variable=True), Y((b, h))]
    ins = [0, 1, 2, 3, 4, 5, 6, 7, 8, -1, -1, -1, 9, 10, 11, 12, -1, -1, 13, 14, -1, -1, -1, -1]
    op = Op("LSTM", ins, [15], "LSTMOptions", {"fused_activation_function": "TANH", "kernel_type": 0})
    path = _verified(tmp_path, model([Subgraph(tensors, [op], [0], [15], "main")]), "lstm_step")
    report = analyze(str(path))
    assert report.totals.macs == b * 4 * h * (i + h)
    assert report.totals.params_by_kind["weight"] == 4 * h * i + 4 * h * h


def test_a_cifg_lstm_is_unknown_by_its_variant_and_the_analysis_goes_on(tmp_path: Path) -> None:
    """No input gate (input 1 omitted): no ONNX LSTM count. It is listed as unknown under a name that
    says why, its output takes the file's shape, and the FULLY_CONNECTED after it is counted."""
    b, t, i, h = 2, 5, 3, 4
    tensors = [X((b, t, i)), *(T(f"w{k}", (h, i), data=w(h, i)) for k in range(3)),
               *(T(f"r{k}", (h, h), data=w(h, h)) for k in range(3)), *(T(f"b{k}", (h,), data=w(h)) for k in range(3)),
               T("hs", (b, h), variable=True), T("cs", (b, h), variable=True), T("seq", (b, t, h)),
               T("fc", (6, h), data=w(6, h)), Y((b, t, 6))]
    ins = [0, -1, 1, 2, 3, -1, 4, 5, 6, -1, -1, -1, -1, 7, 8, 9, -1, -1, 10, 11, -1, -1, -1, -1]
    ops = [Op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [12], "UnidirectionalSequenceLSTMOptions",
              {"fused_activation_function": "TANH", "time_major": False}),
           Op("FULLY_CONNECTED", [12, 13, -1], [14], "FullyConnectedOptions", {"keep_num_dims": True})]
    path = tmp_path / "cifg.tflite"
    path.write_bytes(model([Subgraph(tensors, ops, [0], [14], "main")]))
    report = analyze(str(path))
    assert [(u.op_type, u.domain) for u in report.unknown] == [("UNIDIRECTIONAL_SEQUENCE_LSTM:CIFG", "tflite")]
    assert report.totals.macs == b * t * 6 * h
