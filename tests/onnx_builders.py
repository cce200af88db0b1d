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
) -> onnx.ModelProto:
    """A model with the given nodes; outputs are declared by name only (no type or shape)."""
    ins = [value_info(i[0], i[1], i[2] if len(i) > 2 else TensorProto.FLOAT) for i in inputs]  # type: ignore[misc]
    outs = [onnx.ValueInfoProto(name=o) for o in outputs]
    graph = helper.make_graph(list(nodes), name, ins, outs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
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
