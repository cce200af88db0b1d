"""Build small ONNX models with ``onnx.helper`` for the ONNX tests (never torch).

Dims given as strings become ``dim_param`` (symbolic); ``None`` leaves a dim unnamed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

Dim = int | str | None
OPSET = 18


def value_info(name: str, shape: Sequence[Dim] | None, elem: int = TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, None if shape is None else list(shape))


def const(name: str, values: Sequence[Any] | np.ndarray, dtype: Any = np.int64) -> onnx.TensorProto:
    """An initializer holding ``values``."""
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def weight(name: str, shape: Sequence[int], seed: int = 0) -> onnx.TensorProto:
    """A float32 initializer of random values, scaled so deep stacks stay finite."""
    rng = np.random.default_rng(seed)
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    data = rng.standard_normal(tuple(shape)).astype(np.float32) / np.float32(max(fan_in, 1) ** 0.5)
    return numpy_helper.from_array(data, name)


def node(op: str, inputs: Sequence[str], outputs: Sequence[str] | str, name: str | None = None,
         **attrs: Any) -> onnx.NodeProto:
    outs = [outputs] if isinstance(outputs, str) else list(outputs)
    return helper.make_node(op, list(inputs), outs, name=name or outs[0], **attrs)


def model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[tuple[str, Sequence[Dim]] | tuple[str, Sequence[Dim], int]],
    outputs: Sequence[str],
    initializers: Sequence[onnx.TensorProto] = (),
    opset: int = OPSET,
    name: str = "test",
    domains: Sequence[str] = (),
) -> onnx.ModelProto:
    """A model with the given nodes; outputs are declared by name only (no type or shape).

    ``domains`` are imported at version 1 besides the default domain (``com.microsoft``).
    """
    ins = [value_info(i[0], i[1], i[2] if len(i) > 2 else TensorProto.FLOAT) for i in inputs]  # type: ignore[misc]
    outs = [onnx.ValueInfoProto(name=o) for o in outputs]
    graph = helper.make_graph(list(nodes), name, ins, outs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, 1) for d in domains)]
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 8
    return m


def save(m: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(m.SerializeToString())
    return path


def single_op(op: str, x_shape: Sequence[Dim], params: Sequence[onnx.TensorProto] = (),
              extra_inputs: Sequence[str] = (), outputs: int = 1, opset: int = OPSET,
              **attrs: Any) -> onnx.ModelProto:
    """One ``op`` node on input ``x`` plus initializers ``params`` (in that order)."""
    names = ["x", *(p.name for p in params), *extra_inputs]
    outs = ["y"] + [f"y{i}" for i in range(1, outputs)]
    return model([node(op, names, outs, name="op", **attrs)], [("x", x_shape)], outs, params, opset)


def residual_block(channels: int = 8, size: int = 10) -> onnx.ModelProto:
    """conv3×3 → BN → relu → conv3×3 → BN, plus the input: a ResNet basic block."""
    c = channels
    inits = [weight("w1", [c, c, 3, 3], 1), weight("w2", [c, c, 3, 3], 2)]
    for i in (1, 2):
        inits += [const(f"g{i}", np.ones(c), np.float32), const(f"b{i}", np.zeros(c), np.float32),
                  const(f"m{i}", np.zeros(c), np.float32), const(f"v{i}", np.ones(c), np.float32)]
    nodes = [
        node("Conv", ["x", "w1"], "c1", pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["c1", "g1", "b1", "m1", "v1"], "n1"),
        node("Relu", ["n1"], "r1"),
        node("Conv", ["r1", "w2"], "c2", pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["c2", "g2", "b2", "m2", "v2"], "n2"),
        node("Add", ["n2", "x"], "sum"),
        node("Relu", ["sum"], "y"),
    ]
    return model(nodes, [("x", [1, c, size, size])], ["y"], inits)


def concat_block(size: int = 9) -> onnx.ModelProto:
    """An Inception-style block: 1×1, 3×3 and pooled branches concatenated on channels."""
    inits = [weight("w1", [4, 6, 1, 1], 1), weight("w3", [5, 6, 3, 3], 2), weight("wp", [3, 6, 1, 1], 3)]
    nodes = [
        node("Conv", ["x", "w1"], "b1"),
        node("Conv", ["x", "w3"], "b3", auto_pad="SAME_UPPER"),
        node("MaxPool", ["x"], "p", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        node("Conv", ["p", "wp"], "bp"),
        node("Concat", ["b1", "b3", "bp"], "cat", axis=1),
        node("GlobalAveragePool", ["cat"], "gap"),
        node("Flatten", ["gap"], "y"),
    ]
    return model(nodes, [("x", [2, 6, size, size])], ["y"], inits)


def attention(seq: Dim = "S", dim: int = 16, heads: int = 2, batch: Dim = 1) -> onnx.ModelProto:
    """Single-head-group self-attention as exporters write it.

    The head split reshapes through ``Shape → Gather → Unsqueeze → Concat → Reshape``,
    so a symbolic sequence length must flow through constant folding.
    """
    dh = dim // heads
    inits = [weight(f"w{k}", [dim, dim], i) for i, k in enumerate("qkvo")]
    inits += [const("i0", 0), const("i1", 1), const("ax0", [0]),
              const("heads_dh", [heads, dh]), const("neg1", [-1]),
              const("scale", np.float32(1.0 / dh**0.5), np.float32)]
    nodes = [
        node("Shape", ["x"], "xs"),
        node("Gather", ["xs", "i0"], "b", axis=0),
        node("Gather", ["xs", "i1"], "s", axis=0),
        node("Unsqueeze", ["b", "ax0"], "b1"),
        node("Unsqueeze", ["s", "ax0"], "s1"),
        node("Concat", ["b1", "s1", "heads_dh"], "split_shape", axis=0),
        node("Concat", ["b1", "s1", "neg1"], "merge_shape", axis=0),
    ]
    for k in "qkv":
        nodes += [
            node("MatMul", ["x", f"w{k}"], f"{k}"),
            node("Reshape", [k, "split_shape"], f"{k}_h"),
            node("Transpose", [f"{k}_h"], f"{k}_t", perm=[0, 2, 3, 1] if k == "k" else [0, 2, 1, 3]),
        ]
    nodes += [
        node("MatMul", ["q_t", "k_t"], "scores"),
        node("Mul", ["scores", "scale"], "scaled"),
        node("Softmax", ["scaled"], "probs", axis=-1),
        node("MatMul", ["probs", "v_t"], "ctx"),
        node("Transpose", ["ctx"], "ctx_t", perm=[0, 2, 1, 3]),
        node("Reshape", ["ctx_t", "merge_shape"], "merged"),
        node("MatMul", ["merged", "wo"], "y"),
    ]
    return model(nodes, [("x", [batch, seq, dim])], ["y"], inits)


#: An operator onnxruntime runs but archcost has no rule for: the stand-in for "unknown op".
UNKNOWN_OP = ("Inverse", "com.microsoft")  # onnxruntime runs it; archcost has no rule


def unknown_op(inputs: Sequence[str], output: str, name: str | None = None) -> onnx.NodeProto:
    """A node of :data:`UNKNOWN_OP` (import its domain with ``model(..., domains=[...])``)."""
    op, domain = UNKNOWN_OP
    return helper.make_node(op, list(inputs), [output], name=name or output, domain=domain)


# --- exporter families (tests/test_exporter_families.py) ---------------------------------

def constant_node(output: str, values: np.ndarray) -> onnx.NodeProto:
    """A Constant node holding ``values`` (paddle2onnx's way of storing weights)."""
    return helper.make_node("Constant", [], [output], name=output,
                            value=numpy_helper.from_array(values, output))


def dynamo_head(classes: int = 5) -> onnx.ModelProto:
    """PyTorch dynamo-style: Conv → Relu → ReduceMean(axes input) → Reshape → MatMul → Add."""
    inits = [weight("conv.weight", [8, 3, 3, 3], 1), weight("fc.weight_t", [8, classes], 2),
             const("fc.bias", np.zeros(classes), np.float32), const("axes", [2, 3]),
             const("flat", [1, -1])]
    nodes = [
        node("Conv", ["x", "conv.weight"], "conv", pads=[1, 1, 1, 1]),
        node("Relu", ["conv"], "relu"),
        node("ReduceMean", ["relu", "axes"], "mean", keepdims=0),
        node("Reshape", ["mean", "flat"], "flat_out"),
        node("MatMul", ["flat_out", "fc.weight_t"], "mm"),
        node("Add", ["mm", "fc.bias"], "y"),
    ]
    return model(nodes, [("x", [1, 3, 8, 8])], ["y"], inits)


def tf2onnx_nhwc(classes: int = 10) -> onnx.ModelProto:
    """tf2onnx-style: an NHWC input, Transposes around an NCHW Conv, then a dense layer."""
    inits = [weight("conv/kernel", [4, 3, 3, 3], 1), const("conv/bias", np.zeros(4), np.float32),
             weight("dense/kernel", [8 * 8 * 4, classes], 2),
             const("dense/bias", np.zeros(classes), np.float32), const("flat_shape", [1, -1])]
    nodes = [
        node("Transpose", ["x"], "to_nchw", perm=[0, 3, 1, 2]),
        node("Conv", ["to_nchw", "conv/kernel", "conv/bias"], "conv", pads=[1, 1, 1, 1]),
        node("Relu", ["conv"], "relu"),
        node("Transpose", ["relu"], "to_nhwc", perm=[0, 2, 3, 1]),
        node("Reshape", ["to_nhwc", "flat_shape"], "flat"),
        node("MatMul", ["flat", "dense/kernel"], "dense"),
        node("Add", ["dense", "dense/bias"], "y"),
    ]
    return model(nodes, [("x", [1, 8, 8, 3])], ["y"], inits)


def paddle_constants(classes: int = 6) -> onnx.ModelProto:
    """paddle2onnx-style: every weight in a Constant node, BatchNormalization not folded."""
    rng = np.random.default_rng(3)
    c = 4
    consts = [
        constant_node("conv_w", (rng.standard_normal((c, 3, 3, 3)) / 5).astype(np.float32)),
        constant_node("conv_b", np.zeros(c, np.float32)),
        constant_node("bn_scale", np.ones(c, np.float32)),
        constant_node("bn_bias", np.zeros(c, np.float32)),
        constant_node("bn_mean", np.zeros(c, np.float32)),
        constant_node("bn_var", np.ones(c, np.float32)),
        constant_node("fc_w", (rng.standard_normal((c, classes)) / 2).astype(np.float32)),
        constant_node("fc_b", np.zeros(classes, np.float32)),
        constant_node("flat_shape", np.array([1, -1], np.int64)),
    ]
    nodes = [
        *consts,
        node("Conv", ["x", "conv_w", "conv_b"], "conv", pads=[1, 1, 1, 1]),
        node("BatchNormalization", ["conv", "bn_scale", "bn_bias", "bn_mean", "bn_var"], "bn"),
        node("Relu", ["bn"], "relu"),
        node("GlobalAveragePool", ["relu"], "gap"),
        node("Reshape", ["gap", "flat_shape"], "flat"),
        node("Gemm", ["flat", "fc_w", "fc_b"], "y"),
    ]
    return model(nodes, [("x", [1, 3, 10, 10])], ["y"])


def yolo_head(channels: int = 8, size: int = 4, anchors: int = 3, outputs: int = 7) -> onnx.ModelProto:
    """A YOLO-style detect head: 1×1 conv, a reshape built from Shape/Gather/Concat, a grid
    built with Range/Expand/Concat, and a Resize with a scales input (the neck's upsample).
    """
    per = anchors * outputs
    inits = [weight("m.weight", [per, channels, 1, 1], 1), const("m.bias", np.zeros(per), np.float32),
             const("i0", 0), const("i2", 2), const("i3", 3), const("ax0", [0]), const("ax1", [1]),
             const("ax_last", [-1]), const("na_no", [anchors, outputs]), const("zero", 0),
             const("one", 1), const("start", [0]), const("stop", [1]), const("axis4", [4]),
             const("stride", np.float32(8.0), np.float32),
             const("scales", [1.0, 1.0, 2.0, 2.0], np.float32)]
    nodes = [
        node("Conv", ["x", "m.weight", "m.bias"], "p"),
        node("Shape", ["p"], "p_shape"),
        node("Gather", ["p_shape", "i0"], "bs", axis=0),
        node("Gather", ["p_shape", "i2"], "ny", axis=0),
        node("Gather", ["p_shape", "i3"], "nx", axis=0),
        node("Unsqueeze", ["bs", "ax0"], "bs1"),
        node("Unsqueeze", ["ny", "ax0"], "ny1"),
        node("Unsqueeze", ["nx", "ax0"], "nx1"),
        node("Concat", ["bs1", "na_no", "ny1", "nx1"], "view_shape", axis=0),
        node("Reshape", ["p", "view_shape"], "p_view"),
        node("Transpose", ["p_view"], "p_t", perm=[0, 1, 3, 4, 2]),
        node("Sigmoid", ["p_t"], "sig"),
        node("Slice", ["sig", "start", "stop", "axis4"], "xy"),
        node("Range", ["zero", "ny", "one"], "ys"),
        node("Unsqueeze", ["ys", "ax1"], "ys_col"),
        node("Concat", ["ny1", "nx1"], "grid_shape", axis=0),
        node("Expand", ["ys_col", "grid_shape"], "grid_i"),
        node("Cast", ["grid_i"], "grid_f", to=TensorProto.FLOAT),
        node("Unsqueeze", ["grid_f", "ax_last"], "grid"),
        node("Add", ["xy", "grid"], "xy_grid"),
        node("Mul", ["xy_grid", "stride"], "boxes"),
        node("Resize", ["x", "", "scales"], "up", mode="nearest"),
    ]
    return model(nodes, [("x", [1, channels, size, size])], ["boxes", "up"], inits)


def _lstm_branch(steps: int, inputs: int, hidden: int) -> onnx.GraphProto:
    """The then-branch: a forward LSTM on the outer input, weights from the outer scope."""
    nodes = [node("LSTM", ["x", "lstm.W", "lstm.R", "lstm.B"], ["lstm_y", "lstm_h"], name="lstm",
                  hidden_size=hidden)]
    out = helper.make_tensor_value_info("lstm_h", TensorProto.FLOAT, [1, 1, hidden])
    return helper.make_graph(nodes, "then", [], [out])


def _gru_branch(inputs: int, hidden: int) -> onnx.GraphProto:
    """The else-branch: a forward GRU whose weights are the branch's own initializers."""
    inits = [weight("gru.W", [1, 3 * hidden, inputs], 4), weight("gru.R", [1, 3 * hidden, hidden], 5),
             const("gru.B", np.zeros((1, 6 * hidden)), np.float32)]
    nodes = [node("GRU", ["x", "gru.W", "gru.R", "gru.B"], ["gru_y", "gru_h"], name="gru",
                  hidden_size=hidden)]
    out = helper.make_tensor_value_info("gru_h", TensorProto.FLOAT, [1, 1, hidden])
    return helper.make_graph(nodes, "else", [], [out], initializer=inits)


def voice_lstm_in_if(steps: Dim = 5, inputs: int = 4, hidden: int = 6, classes: int = 3) -> onnx.ModelProto:
    """A voice model: an If picks an LSTM (then) or a GRU (else) encoder, then a classifier."""
    inits = [weight("lstm.W", [1, 4 * hidden, inputs], 1), weight("lstm.R", [1, 4 * hidden, hidden], 2),
             const("lstm.B", np.zeros((1, 8 * hidden)), np.float32),
             weight("cls.W", [hidden, classes], 3), const("ax01", [0, 1])]
    nodes = [
        node("If", ["use_lstm"], "state", then_branch=_lstm_branch(0, inputs, hidden),
             else_branch=_gru_branch(inputs, hidden)),
        node("Squeeze", ["state", "ax01"], "feat"),
        node("MatMul", ["feat", "cls.W"], "y"),
    ]
    return model(nodes, [("x", [steps, 1, inputs]), ("use_lstm", [], TensorProto.BOOL)], ["y"], inits)


def qdq_resnet_block(c: int = 4, size: int = 6) -> onnx.ModelProto:
    """A QDQ-quantized ResNet basic block: int8 weights behind DequantizeLinear, uint8
    activations through QuantizeLinear/DequantizeLinear pairs, a residual Add.
    """
    rng = np.random.default_rng(7)
    inits = [
        const("act_scale", np.float32(0.05), np.float32), const("act_zp", np.uint8(128), np.uint8),
        const("w_scale", np.full(c, 0.01), np.float32), const("w_zp", np.zeros(c), np.int8),
        const("w1_q", rng.integers(-20, 20, (c, c, 3, 3)), np.int8),
        const("w2_q", rng.integers(-20, 20, (c, c, 3, 3)), np.int8),
        const("b1", np.zeros(c), np.float32), const("b2", np.zeros(c), np.float32),
    ]

    def qdq(name: str, src: str) -> list[onnx.NodeProto]:
        return [node("QuantizeLinear", [src, "act_scale", "act_zp"], f"{name}_q"),
                node("DequantizeLinear", [f"{name}_q", "act_scale", "act_zp"], f"{name}_dq")]

    nodes = [
        *qdq("in", "x"),
        node("DequantizeLinear", ["w1_q", "w_scale", "w_zp"], "w1", axis=0),
        node("DequantizeLinear", ["w2_q", "w_scale", "w_zp"], "w2", axis=0),
        node("Conv", ["in_dq", "w1", "b1"], "c1", pads=[1, 1, 1, 1]),
        node("Relu", ["c1"], "r1"),
        *qdq("r1", "r1"),
        node("Conv", ["r1_dq", "w2", "b2"], "c2", pads=[1, 1, 1, 1]),
        node("Add", ["c2", "in_dq"], "sum"),
        node("Relu", ["sum"], "r2"),
        *qdq("out", "r2"),
    ]
    return model(nodes, [("x", [1, c, size, size])], ["out_dq"], inits, opset=13)
