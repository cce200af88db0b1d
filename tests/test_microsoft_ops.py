"""The ``com.microsoft`` ops of onnxruntime's transformer optimizer and quantization tools
(archcost/ops/microsoft.py, archcost/ops/microsoft_quantized.py), and the default-domain
SimplifiedLayerNormalization onnxruntime registers.

Every case is one node built with onnx.helper. Where onnxruntime has a CPU kernel the node is
run and every output's shape and dtype must equal the inferred ones; the cost terms must equal
the closed form written next to the case, exactly. Ops with no CPU kernel in this onnxruntime
build (BiasAdd, BiasSplitGelu, GemmFastGelu, BiasDropout, BitmaskBiasDropout, NhwcConv,
DecoderMaskedSelfAttention; a packed-QKV DecoderMaskedMultiHeadAttention) are checked against
the shapes their schema text states, and, where the op is a fusion of standard ops, against
that unfused graph run in onnxruntime.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import sympy
from onnx import TensorProto, helper, numpy_helper

from archcost import analyze
from archcost.errors import ShapeError
from archcost.symbols import dim_symbol
from tests.onnx_builders import save

MS = "com.microsoft"
F, F16, I8, U8, I32, I64 = (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.INT8, TensorProto.UINT8,
                            TensorProto.INT32, TensorProto.INT64)
NUMPY = {F: np.float32, F16: np.float16, I8: np.int8, U8: np.uint8, I32: np.int32, I64: np.int64}
CORPUS = Path(__file__).parent / "fixtures" / "corpus"

Dim = int | str


@dataclass(frozen=True)
class Case:
    """One node: graph inputs, initializers, the node's input order ("" for an absent optional
    input), attributes, its output names ("" for an absent optional output), and the closed form."""

    op: str
    inputs: tuple[tuple[str, tuple[Dim, ...], int], ...]
    consts: dict[str, np.ndarray]
    order: tuple[str, ...]
    terms: dict[str, int]
    attrs: dict[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ("y",)
    domain: str = MS
    #: Graph outputs declared float32 (onnxruntime's type inference needs it for some outputs).
    typed_outputs: bool = False
    #: Shapes the schema text states, for an op onnxruntime cannot run on CPU.
    schema_shapes: tuple[tuple[int, ...], ...] | None = None
    schema_dtypes: tuple[str, ...] | None = None


def build(case: Case) -> onnx.ModelProto:
    ins = [helper.make_tensor_value_info(n, e, list(s)) for n, s, e in case.inputs]
    inits = [numpy_helper.from_array(v, k) for k, v in case.consts.items()]
    node = helper.make_node(case.op, list(case.order), list(case.outputs), name="op",
                            domain=case.domain or None, **case.attrs)
    outs = [helper.make_tensor_value_info(o, F, None) if case.typed_outputs else onnx.ValueInfoProto(name=o)
            for o in case.outputs if o]
    graph = helper.make_graph([node], case.op, ins, outs, inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(MS, 1)])
    m.ir_version = 10
    return m


def feeds(case: Case, point: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """Ones for float and uint8 inputs, zeros for integer ids, at ``point`` for named dims."""
    out = {}
    for name, dims, elem in case.inputs:
        shape = tuple(point[d] if isinstance(d, str) else d for d in dims) if point else dims
        fill = np.zeros if elem in (I32, I64) else np.ones
        out[name] = fill(shape, NUMPY[elem])
    return out


def run(m: onnx.ModelProto, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # onnxruntime's own shape-inference warnings are not ours
    session = ort.InferenceSession(m.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs), strict=True))


def scalar(value: Any, dtype: Any = np.float32) -> np.ndarray:
    return np.array(value, dtype)


def ones(*shape: int, dtype: Any = np.float32) -> np.ndarray:
    return np.ones(shape, dtype)


# --- cases onnxruntime runs on CPU ------------------------------------------------------------

B, S, H = 2, 3, 8
N_ELEM = B * S * H  # 48 elements of a [2, 3, 8] activation
X = (("x", (B, S, H), F),)
IDS = np.zeros((B, S), np.int32)
Q_CONSTS = {"xs": scalar(0.1), "xz": scalar(0, np.uint8), "ys": scalar(0.2), "yz": scalar(0, np.uint8)}

CPU_CASES = [
    # Gelu: 5 per element, as the default-domain Gelu.
    pytest.param(Case("Gelu", X, {}, ("x",), {"activation_op": 5 * N_ELEM}), id="Gelu"),
    pytest.param(Case("FastGelu", X, {}, ("x",), {"activation_op": 5 * N_ELEM}), id="FastGelu"),
    # FastGelu with bias [h]: Gelu's 5 per element plus one bias add per element.
    pytest.param(Case("FastGelu", X, {"b": ones(H)}, ("x", "b"), {"activation_op": 5 * N_ELEM, "bias_add": N_ELEM}),
                 id="FastGelu-bias"),
    # EmbedLayerNormalization: 3 tables summed (2 adds), LayerNorm 7 + β 1 per element; the
    # mask's B·S entries are counted once each for mask_index.
    pytest.param(Case("EmbedLayerNormalization", (("ids", (B, S), I32), ("seg", (B, S), I32), ("mask", (B, S), I32)),
                      {"we": ones(10, H), "pe": ones(16, H), "se": ones(2, H), "g": ones(H),
                       "b": np.zeros(H, np.float32)},
                      ("ids", "seg", "we", "pe", "se", "g", "b", "mask"),
                      {"elementwise_op": 2 * N_ELEM, "norm_op": 7 * N_ELEM, "bias_add": N_ELEM, "pool_op": B * S},
                      outputs=("y", "mask_index", "sum")), id="EmbedLayerNormalization-segment-mask"),
    # Without segments: 2 tables, 1 add per element; no mask, no pool_op.
    pytest.param(Case("EmbedLayerNormalization", (("ids", (B, S), I32),),
                      {"we": ones(10, H), "pe": ones(16, H), "g": ones(H), "b": np.zeros(H, np.float32)},
                      ("ids", "", "we", "pe", "", "g", "b"),
                      {"elementwise_op": N_ELEM, "norm_op": 7 * N_ELEM, "bias_add": N_ELEM},
                      outputs=("y", "mask_index", "sum")), id="EmbedLayerNormalization-words-only"),
    # SimplifiedLayerNormalization (default domain): RMSNorm's 4 per element.
    pytest.param(Case("SimplifiedLayerNormalization", X, {"g": ones(H)}, ("x", "g"), {"norm_op": 4 * N_ELEM},
                      outputs=("y", "inv_std"), domain=""), id="SimplifiedLayerNormalization"),
    pytest.param(Case("SimplifiedLayerNormalization", X, {"g": ones(S, H)}, ("x", "g"), {"norm_op": 4 * N_ELEM},
                      attrs={"axis": 1}, outputs=("y", "inv_std"), domain=""), id="SimplifiedLayerNormalization-axis1"),
    # SkipSimplifiedLayerNormalization: skip add 1, bias 1, RMSNorm 4 per element.
    pytest.param(Case("SkipSimplifiedLayerNormalization", (*X, ("skip", (B, S, H), F)), {"g": ones(H), "bias": ones(H)},
                      ("x", "skip", "g", "bias"), {"elementwise_op": N_ELEM, "norm_op": 4 * N_ELEM, "bias_add": N_ELEM},
                      outputs=("y", "mean", "inv_std", "sum")), id="SkipSimplifiedLayerNormalization-3d-bias"),
    pytest.param(Case("SkipSimplifiedLayerNormalization", (("x", (B * S, H), F), ("skip", (B * S, H), F)),
                      {"g": ones(H)}, ("x", "skip", "g"), {"elementwise_op": N_ELEM, "norm_op": 4 * N_ELEM},
                      outputs=("y", "mean", "inv_std", "sum")), id="SkipSimplifiedLayerNormalization-2d"),
    # RotaryEmbedding (com.microsoft): 3 per rotated element; the whole head unless
    # rotary_embedding_dim r < d, then elements · r / d.
    pytest.param(Case("RotaryEmbedding", (*X, ("pos", (B, S), I64)), {"c": ones(16, 2), "s": ones(16, 2)},
                      ("x", "pos", "c", "s"), {"elementwise_op": 3 * N_ELEM}, attrs={"num_heads": 2}),
                 id="RotaryEmbedding-3d"),
    pytest.param(Case("RotaryEmbedding", (("x", (B, 2, S, 4), F), ("pos", (B, S), I64)),
                      {"c": ones(16, 2), "s": ones(16, 2)}, ("x", "pos", "c", "s"), {"elementwise_op": 3 * N_ELEM}),
                 id="RotaryEmbedding-4d"),
    pytest.param(Case("RotaryEmbedding", (("x", (B, S, 16), F), ("pos", (B, S), I64)),
                      {"c": ones(16, 2), "s": ones(16, 2)}, ("x", "pos", "c", "s"),
                      {"elementwise_op": 3 * (B * S * 16) * 4 // 8}, attrs={"num_heads": 2, "rotary_embedding_dim": 4}),
                 id="RotaryEmbedding-partial"),
    # No num_heads: the head size is read off the cache [max_len, d/2]; every element rotates.
    pytest.param(Case("RotaryEmbedding", (("x", (B, S, 16), F), ("pos", (B, S), I64)),
                      {"c": ones(16, 4), "s": ones(16, 4)}, ("x", "pos", "c", "s"), {"elementwise_op": 3 * B * S * 16}),
                 id="RotaryEmbedding-heads-from-cache"),
    # FusedGemm: Gemm's M·N·K and M·N bias adds, plus the activation per output element.
    pytest.param(Case("FusedGemm", (("a", (2, 8), F),), {"w": ones(8, 5), "c": ones(5)}, ("a", "w", "c"),
                      {"mac": 2 * 5 * 8, "bias_add": 2 * 5, "activation_op": 2 * (2 * 5)},
                      attrs={"activation": "LeakyRelu", "activation_alpha": 0.1}), id="FusedGemm-leaky-relu"),
    pytest.param(Case("FusedGemm", (("a", (8, 2), F),), {"w": ones(5, 8)}, ("a", "w"),
                      {"mac": 2 * 5 * 8, "activation_op": 1 * (2 * 5)},
                      attrs={"activation": "Relu", "transA": 1, "transB": 1}), id="FusedGemm-transposed-relu"),
    pytest.param(Case("FusedGemm", (("a", (2, 8), F),), {"w": ones(8, 5), "c": ones(2, 5)}, ("a", "w", "c"),
                      {"mac": 2 * 5 * 8, "bias_add": 2 * 5, "activation_op": 3 * (2 * 5)},
                      attrs={"activation": "HardSigmoid", "activation_alpha": 0.2, "activation_beta": 0.5}),
                 id="FusedGemm-hard-sigmoid"),
    # DecoderMaskedMultiHeadAttention, self attention on a shared buffer [B, N, M, d], M = 8, with
    # past_sequence_length 3: L = 3 + 1. mac = B·N·S·L·(d + d_v); bias on q, k and v.
    pytest.param(Case("DecoderMaskedMultiHeadAttention",
                      (("q", (B, 1, 8), F), ("k", (B, 1, 8), F), ("v", (B, 1, 8), F), ("pk", (B, 2, 8, 4), F),
                       ("pv", (B, 2, 8, 4), F)),
                      {"psl": scalar(3, np.int32), "bias": np.zeros(24, np.float32)},
                      ("q", "k", "v", "", "", "pk", "pv", "psl", "", "", "bias"),
                      {"mac": B * 2 * 1 * 4 * (4 + 4), "softmax_op": 3 * B * 2 * 1 * 4, "bias_add": B * (8 + 8 + 8)},
                      attrs={"num_heads": 2, "past_present_share_buffer": 1}, outputs=("y", "present_k", "present_v")),
                 id="DecoderMaskedMultiHeadAttention-shared-buffer"),
    # Cross attention: key and value [B, N, L, d] with L = 5; the bias reaches the query only.
    pytest.param(Case("DecoderMaskedMultiHeadAttention",
                      (("q", (B, 1, 8), F), ("k", (B, 2, 5, 4), F), ("v", (B, 2, 5, 4), F)),
                      {"bias": np.zeros(24, np.float32)}, ("q", "k", "v", "", "", "", "", "", "", "", "bias"),
                      {"mac": B * 2 * 1 * 5 * (4 + 4), "softmax_op": 3 * B * 2 * 1 * 5, "bias_add": B * 1 * 8},
                      attrs={"num_heads": 2, "output_qk": 1}, outputs=("y", "", "", "qk"), typed_outputs=True),
                 id="DecoderMaskedMultiHeadAttention-cross"),
]

# MatMulNBits: K = 64, N = 5, blocks of 32 → B [N, 2, 32·bits/8].
NBITS = {"b": np.zeros((5, 2, 16), np.uint8), "s": ones(5, 2)}
QUANTIZED_CASES = [
    # mac = rows·K·N; elementwise_op = 2·K·N (dequantizing the weight).
    pytest.param(Case("MatMulNBits", (("a", (2, 3, 64), F),), NBITS, ("a", "b", "s"),
                      {"mac": 2 * 3 * 64 * 5, "elementwise_op": 2 * 64 * 5}, attrs={"K": 64, "N": 5, "block_size": 32}),
                 id="MatMulNBits-4bit"),
    pytest.param(Case("MatMulNBits", (("a", (3, 64), F),),
                      {"b": np.zeros((5, 2, 32), np.uint8), "s": ones(5, 2), "zp": np.zeros((5, 2), np.uint8),
                       "bias": ones(5)}, ("a", "b", "s", "zp", "", "bias"),
                      {"mac": 3 * 64 * 5, "elementwise_op": 2 * 64 * 5, "bias_add": 3 * 5},
                      attrs={"K": 64, "N": 5, "block_size": 32, "bits": 8}), id="MatMulNBits-8bit-bias"),
    # K = 60 is not a multiple of the block: ⌈60/32⌉ = 2 blocks; the counts use K.
    pytest.param(Case("MatMulNBits", (("a", (3, 60), F),), NBITS, ("a", "b", "s"),
                      {"mac": 3 * 60 * 5, "elementwise_op": 2 * 60 * 5}, attrs={"K": 60, "N": 5, "block_size": 32}),
                 id="MatMulNBits-ragged-K"),
    # An omitted projection (a 0 in B's packed shape): the output is the bias, nothing multiplies.
    pytest.param(Case("MatMulNBits", (("a", (3, 64), F),),
                      {"b": np.zeros((5, 2, 0), np.uint8), "s": np.zeros(0, np.float32),
                       "zp": np.zeros(0, np.uint8), "gi": np.zeros(0, np.int32), "bias": ones(5)},
                      ("a", "b", "s", "zp", "gi", "bias"), {"bias_add": 3 * 5},
                      attrs={"K": 64, "N": 5, "block_size": 32}), id="MatMulNBits-omitted"),
    # MatMulIntegerToFloat: MatMul's (batch)·n·m·k and a bias add per output.
    pytest.param(Case("MatMulIntegerToFloat", (("a", (2, 3, 4), U8),),
                      {"b": ones(4, 6, dtype=np.uint8), "as": scalar(0.1), "bs": scalar(0.1),
                       "az": scalar(0, np.uint8), "bz": scalar(0, np.uint8), "bias": np.zeros(6, np.float32)},
                      ("a", "b", "as", "bs", "az", "bz", "bias"), {"mac": 2 * 3 * 6 * 4, "bias_add": 2 * 3 * 6}),
                 id="MatMulIntegerToFloat"),
    # DynamicQuantizeMatMul: the same, plus DynamicQuantizeLinear on A (2 + 2 per element of A).
    pytest.param(Case("DynamicQuantizeMatMul", (("a", (2, 3, 4), F),),
                      {"b": ones(4, 6, dtype=np.int8), "bs": scalar(0.1), "bz": scalar(0, np.int8),
                       "bias": np.zeros(6, np.float32)}, ("a", "b", "bs", "bz", "bias"),
                      {"mac": 2 * 3 * 6 * 4, "bias_add": 2 * 3 * 6, "pool_op": 2 * 24, "elementwise_op": 2 * 24}),
                 id="DynamicQuantizeMatMul"),
    # QGemm: Gemm's M·N·K, and M·N bias adds with C; float output without y_scale.
    pytest.param(Case("QGemm", (("a", (3, 4), U8),),
                      {"as": scalar(0.1), "az": scalar(0, np.uint8), "b": ones(6, 4, dtype=np.int8), "bs": scalar(0.1),
                       "bz": scalar(0, np.int8), "c": np.zeros(6, np.int32)}, ("a", "as", "az", "b", "bs", "bz", "c"),
                      {"mac": 3 * 6 * 4, "bias_add": 3 * 6}, attrs={"transB": 1}), id="QGemm-float-output"),
    pytest.param(Case("QGemm", (("a", (4, 3), U8),),
                      {"as": scalar(0.1), "az": scalar(0, np.uint8), "b": ones(4, 6, dtype=np.int8), "bs": scalar(0.1),
                       "bz": scalar(0, np.int8), "c": np.zeros(6, np.int32), "ys": scalar(0.1),
                       "yz": scalar(0, np.uint8)}, ("a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"),
                      {"mac": 3 * 6 * 4, "bias_add": 3 * 6}, attrs={"transA": 1}), id="QGemm-quantized-output"),
    # QAttention, B = 2, S = 3, h = 8, N = 2 (d = 4): projection B·S·h·3h plus B·N·S·L·2d.
    pytest.param(Case("QAttention", (("x", (B, S, H), U8),),
                      {"w": ones(8, 24, dtype=np.uint8), "b": np.zeros(24, np.float32), "is": scalar(0.1),
                       "ws": scalar(0.1), "mi": np.full(B, S, np.int32), "iz": scalar(0, np.uint8),
                       "wz": scalar(0, np.uint8)}, ("x", "w", "b", "is", "ws", "mi", "iz", "wz"),
                      {"mac": B * S * H * 24 + B * 2 * S * S * 8, "bias_add": B * S * 24,
                       "softmax_op": 3 * B * 2 * S * S},
                      attrs={"num_heads": 2}, outputs=("y", "present")), id="QAttention"),
    # No mask: the same count.
    pytest.param(Case("QAttention", (("x", (B, S, H), U8),),
                      {"w": ones(8, 24, dtype=np.uint8), "b": np.zeros(24, np.float32), "is": scalar(0.1),
                       "ws": scalar(0.1), "iz": scalar(0, np.uint8), "wz": scalar(0, np.uint8)},
                      ("x", "w", "b", "is", "ws", "", "iz", "wz"),
                      {"mac": B * S * H * 24 + B * 2 * S * S * 8, "bias_add": B * S * 24,
                       "softmax_op": 3 * B * 2 * S * S},
                      attrs={"num_heads": 2}, outputs=("y", "present")), id="QAttention-no-mask"),
    # With a past of 4: L = 4 + 3 = 7.
    pytest.param(Case("QAttention", (("x", (B, S, H), U8), ("past", (2, B, 2, 4, 4), F)),
                      {"w": ones(8, 24, dtype=np.uint8), "b": np.zeros(24, np.float32), "is": scalar(0.1),
                       "ws": scalar(0.1), "mi": np.full(B, 7, np.int32), "iz": scalar(0, np.uint8),
                       "wz": scalar(0, np.uint8)}, ("x", "w", "b", "is", "ws", "mi", "iz", "wz", "past"),
                      {"mac": B * S * H * 24 + B * 2 * S * 7 * 8, "bias_add": B * S * 24,
                       "softmax_op": 3 * B * 2 * S * 7},
                      attrs={"num_heads": 2, "unidirectional": 1}, outputs=("y", "present")), id="QAttention-past"),
    # QLinear elementwise: the float op's per-element counts.
    pytest.param(Case("QLinearAdd", (("a", (2, 3, 4), U8), ("b", (3, 4), U8)), {
        "as": scalar(0.1), "az": scalar(0, np.uint8), "bs": scalar(0.1), "bz": scalar(0, np.uint8),
        "cs": scalar(0.1), "cz": scalar(0, np.uint8)}, ("a", "as", "az", "b", "bs", "bz", "cs", "cz"),
        {"elementwise_op": 24}), id="QLinearAdd-broadcast"),
    pytest.param(Case("QLinearMul", (("a", (2, 3, 4), U8), ("b", (2, 1, 4), U8)), {
        "as": scalar(0.1), "az": scalar(0, np.uint8), "bs": scalar(0.1), "bz": scalar(0, np.uint8),
        "cs": scalar(0.1), "cz": scalar(0, np.uint8)}, ("a", "as", "az", "b", "bs", "bz", "cs", "cz"),
        {"elementwise_op": 24}), id="QLinearMul-broadcast"),
    pytest.param(Case("QLinearSigmoid", (("x", (2, 3, 4), U8),), Q_CONSTS, ("x", "xs", "xz", "ys", "yz"),
                      {"activation_op": 3 * 24}), id="QLinearSigmoid"),
    pytest.param(Case("QLinearLeakyRelu", (("x", (2, 3, 4), I8),),
                      {"xs": scalar(0.1), "xz": scalar(0, np.int8), "ys": scalar(0.1), "yz": scalar(0, np.int8)},
                      ("x", "xs", "xz", "ys", "yz"), {"activation_op": 2 * 24}, attrs={"alpha": 0.2}),
                 id="QLinearLeakyRelu-int8"),
    pytest.param(Case("QLinearConcat", (("a", (2, 3, 4), U8), ("b", (2, 5, 4), U8)),
                      {"ys": scalar(0.1), "yz": scalar(0, np.uint8), "as": scalar(0.1), "az": scalar(0, np.uint8),
                       "bs": scalar(0.2), "bz": scalar(0, np.uint8)}, ("ys", "yz", "a", "as", "az", "b", "bs", "bz"),
                      {}, attrs={"axis": 1}), id="QLinearConcat"),
    # Pools: GlobalAveragePool's B·C·H·W; AveragePool's B·C·H_out·W_out·K_h·K_w.
    pytest.param(Case("QLinearGlobalAveragePool", (("x", (1, 3, 6, 6), U8),), Q_CONSTS,
                      ("x", "xs", "xz", "ys", "yz"), {"pool_op": 3 * 36}), id="QLinearGlobalAveragePool"),
    pytest.param(Case("QLinearGlobalAveragePool", (("x", (1, 6, 6, 3), U8),), Q_CONSTS,
                      ("x", "xs", "xz", "ys", "yz"), {"pool_op": 3 * 36}, attrs={"channels_last": 1}),
                 id="QLinearGlobalAveragePool-channels-last"),
    # ⌊(6 + 2 − 3)/2⌋ + 1 = 3.
    pytest.param(Case("QLinearAveragePool", (("x", (1, 3, 6, 6), U8),), Q_CONSTS, ("x", "xs", "xz", "ys", "yz"),
                      {"pool_op": 3 * 3 * 3 * 9},
                      attrs={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
                 id="QLinearAveragePool-padded"),
    # ⌊(6 − 3)/2⌋ + 1 = 2, channels last.
    pytest.param(Case("QLinearAveragePool", (("x", (1, 6, 6, 3), U8),), Q_CONSTS, ("x", "xs", "xz", "ys", "yz"),
                      {"pool_op": 2 * 2 * 3 * 9},
                      attrs={"kernel_shape": [3, 3], "strides": [2, 2], "channels_last": 1}),
                 id="QLinearAveragePool-channels-last"),
    # ceil_mode: ⌈(6 − 3)/2⌉ + 1 = 3.
    pytest.param(Case("QLinearAveragePool", (("x", (1, 3, 6, 6), U8),), Q_CONSTS, ("x", "xs", "xz", "ys", "yz"),
                      {"pool_op": 3 * 3 * 3 * 9}, attrs={"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
                 id="QLinearAveragePool-ceil"),
    # The domain's QuantizeLinear and DequantizeLinear: 2 per element, as the default domain's.
    pytest.param(Case("QuantizeLinear", (("x", (2, 3), F),), {"s": scalar(0.1), "z": scalar(0, np.int8)},
                      ("x", "s", "z"), {"elementwise_op": 12}), id="QuantizeLinear-int8"),
    pytest.param(Case("QuantizeLinear", (("x", (2, 3), F),), {"s": scalar(0.1)}, ("x", "s"), {"elementwise_op": 12}),
                 id="QuantizeLinear-default-uint8"),
    pytest.param(Case("QuantizeLinear", (("x", (2, 3), F),), {"s": ones(3), "z": np.zeros(3, np.uint16)},
                      ("x", "s", "z"), {"elementwise_op": 12}, attrs={"axis": 1}), id="QuantizeLinear-per-axis-uint16"),
    pytest.param(Case("DequantizeLinear", (("x", (2, 3), I8),), {"s": scalar(0.1), "z": scalar(0, np.int8)},
                      ("x", "s", "z"), {"elementwise_op": 12}), id="DequantizeLinear"),
    pytest.param(Case("DequantizeLinear", (("x", (2, 3), I8),), {"s": scalar(0.1, np.float16), "z": scalar(0, np.int8)},
                      ("x", "s", "z"), {"elementwise_op": 12}), id="DequantizeLinear-float16"),
]


def _lstm_case(direction: str, dirs: int) -> Case:
    t, b, i, h = 5, 2, 3, 4
    consts = {"w": ones(dirs, i, 4 * h, dtype=np.int8), "r": ones(dirs, h, 4 * h, dtype=np.int8),
              "b": np.zeros((dirs, 8 * h), np.float32), "ws": ones(dirs), "wz": np.zeros(dirs, np.int8),
              "rs": ones(dirs), "rz": np.zeros(dirs, np.int8)}
    # LSTM's closed form (archcost/ops/recurrent.py): mac = T·D·B·4H·(I + H); bias_add = T·D·B·8H;
    # elementwise_op = T·D·B·H·(4 gate adds + 4); activation_op = T·B·H·11·D.
    terms = {"mac": t * dirs * b * 4 * h * (i + h), "bias_add": t * dirs * b * 8 * h,
             "elementwise_op": t * dirs * b * h * 8, "activation_op": t * b * h * 11 * dirs}
    return Case("DynamicQuantizeLSTM", (("x", (t, b, i), F),), consts,
                ("x", "w", "r", "b", "", "", "", "", "ws", "wz", "rs", "rz"), terms,
                attrs={"hidden_size": h, "direction": direction}, outputs=("y", "y_h", "y_c"))


QUANTIZED_CASES += [pytest.param(_lstm_case("forward", 1), id="DynamicQuantizeLSTM-forward"),
                    pytest.param(_lstm_case("bidirectional", 2), id="DynamicQuantizeLSTM-bidirectional")]


@pytest.mark.parametrize("case", CPU_CASES + QUANTIZED_CASES)
def test_op_matches_onnxruntime_and_its_closed_form(case: Case, tmp_path: Path) -> None:
    m = build(case)
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert report.unknown == () and report.uncosted == ()
    assert dict(report.layers[0].terms) == case.terms
    # The fast path: concrete shapes give plain ints, no SymPy objects.
    assert all(type(v) is int for v in report.layers[0].terms.values())
    assert all(type(d) is int for shape in report.layers[0].outputs for d in shape)
    observed = run(m, feeds(case))
    assert observed, "onnxruntime returned no outputs"
    for name, value in observed.items():
        assert report.tensor_shapes[name] == value.shape, name
        assert report.tensor_dtypes[name] == str(value.dtype), name


# --- ops with no CPU kernel: the schema's shapes, and the unfused graph they replace ------------

NO_CPU_CASES = [
    # "BiasAdd: X (N, S, C), bias (C), skip (N, S, C) → Y (N, S, C)": X + bias + skip.
    pytest.param(Case("BiasAdd", (*X, ("skip", (B, S, H), F)), {"b": ones(H)}, ("x", "b", "skip"),
                      {"bias_add": N_ELEM, "elementwise_op": N_ELEM}, schema_shapes=((B, S, H),),
                      schema_dtypes=("float32",)), id="BiasAdd"),
    # "BiasSplitGelu: X (N, S, D), bias (D) → Y (N, S, D/2)": bias on all D, Gelu's 5 and the product
    # on the D/2 half.
    pytest.param(Case("BiasSplitGelu", X, {"b": ones(H)}, ("x", "b"),
                      {"bias_add": N_ELEM, "activation_op": 5 * N_ELEM // 2, "elementwise_op": N_ELEM // 2},
                      schema_shapes=((B, S, H // 2),), schema_dtypes=("float32",)), id="BiasSplitGelu"),
    # "GemmFastGelu: a fusion of MatMul and FastGelu": [2, 3, 8] @ [8, 5] → [2, 3, 5].
    pytest.param(Case("GemmFastGelu", X, {"w": ones(H, 5), "b": ones(5)}, ("x", "w", "b"),
                      {"mac": B * S * 5 * H, "bias_add": B * S * 5, "activation_op": 5 * B * S * 5},
                      schema_shapes=((B, S, 5),), schema_dtypes=("float32",)), id="GemmFastGelu"),
    # "BiasDropout: output, dropout_mask = Dropout(data + bias, ratio) + residual"; the mask is T2 (bool).
    pytest.param(Case("BiasDropout", (*X, ("res", (B, S, H), F)), {"b": ones(H)}, ("x", "b", "res"),
                      {"bias_add": N_ELEM, "elementwise_op": N_ELEM}, outputs=("y", "mask"),
                      schema_shapes=((B, S, H), (B, S, H)), schema_dtypes=("float32", "bool")), id="BiasDropout"),
    # BitmaskBiasDropout's mask is T3 (uint32), one bit per element: ⌈48 / 32⌉ = 2 entries.
    pytest.param(Case("BitmaskBiasDropout", X, {"b": ones(H)}, ("x", "b"), {"bias_add": N_ELEM},
                      outputs=("y", "mask"), schema_shapes=((B, S, H), (math.ceil(N_ELEM / 32),)),
                      schema_dtypes=("float32", "uint32")), id="BitmaskBiasDropout"),
    # NhwcConv: Conv on [N, H, W, C]; 3×3, pads 1 → [1, 5, 5, 3]; mac = M·H_out·W_out·C·K_h·K_w.
    pytest.param(Case("NhwcConv", (("x", (1, 5, 5, 2), F),), {"w": ones(3, 2, 3, 3), "b": ones(3)}, ("x", "w", "b"),
                      {"mac": 3 * 5 * 5 * 2 * 9, "bias_add": 3 * 5 * 5}, attrs={"pads": [1, 1, 1, 1]},
                      schema_shapes=((1, 5, 5, 3),), schema_dtypes=("float32",)), id="NhwcConv"),
    # DecoderMaskedSelfAttention: "output (batch_size, sequence_length, v_hidden_size); present
    # (2, batch_size, num_heads, total_sequence_length, head_size)", L = P + S = 4 + 1.
    pytest.param(Case("DecoderMaskedSelfAttention", (("x", (B, 1, H), F), ("past", (2, B, 2, 4, 4), F)),
                      {"w": ones(H, 24), "b": np.zeros(24, np.float32), "psl": scalar(4, np.int32)},
                      ("x", "w", "b", "", "past", "", "psl"),
                      {"mac": B * 1 * H * 24 + B * 2 * 1 * 5 * 8, "bias_add": B * 24, "softmax_op": 3 * B * 2 * 1 * 5},
                      attrs={"num_heads": 2}, outputs=("y", "present"),
                      schema_shapes=((B, 1, H), (2, B, 2, 5, 4)), schema_dtypes=("float32", "float32")),
                 id="DecoderMaskedSelfAttention"),
    # "If past_present_share_buffer is set, its shape is (2, batch_size, num_heads, max_sequence_length,
    # head_size)": M = 8, and L = past_sequence_length + S = 3 + 1.
    pytest.param(Case("DecoderMaskedSelfAttention", (("x", (B, 1, H), F), ("past", (2, B, 2, 8, 4), F)),
                      {"w": ones(H, 24), "b": np.zeros(24, np.float32), "psl": scalar(3, np.int32)},
                      ("x", "w", "b", "", "past", "", "psl"),
                      {"mac": B * 1 * H * 24 + B * 2 * 1 * 4 * 8, "bias_add": B * 24, "softmax_op": 3 * B * 2 * 1 * 4},
                      attrs={"num_heads": 2, "past_present_share_buffer": 1}, outputs=("y", "present"),
                      schema_shapes=((B, 1, H), (2, B, 2, 8, 4)), schema_dtypes=("float32", "float32")),
                 id="DecoderMaskedSelfAttention-shared-buffer"),
    # Packed QKV "(batch_size, 1, 2 * hidden_size + v_hidden_size)" (the CPU kernel rejects it):
    # h = h_v = 24 / 3, L = 3 + 1 on the shared buffer.
    pytest.param(Case("DecoderMaskedMultiHeadAttention",
                      (("q", (B, 1, 24), F), ("pk", (B, 2, 8, 4), F), ("pv", (B, 2, 8, 4), F)),
                      {"psl": scalar(3, np.int32)}, ("q", "", "", "", "", "pk", "pv", "psl"),
                      {"mac": B * 2 * 1 * 4 * 8, "softmax_op": 3 * B * 2 * 1 * 4},
                      attrs={"num_heads": 2, "past_present_share_buffer": 1}, outputs=("y", "present_k", "present_v"),
                      schema_shapes=((B, 1, 8), (B, 2, 8, 4), (B, 2, 8, 4)),
                      schema_dtypes=("float32", "float32", "float32")),
                 id="DecoderMaskedMultiHeadAttention-packed"),
]


@pytest.mark.parametrize("case", NO_CPU_CASES)
def test_op_without_a_cpu_kernel_matches_its_schema(case: Case, tmp_path: Path) -> None:
    m = build(case)
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert report.unknown == () and report.uncosted == ()
    assert dict(report.layers[0].terms) == case.terms
    names = [o for o in case.outputs if o]
    assert tuple(report.tensor_shapes[n] for n in names) == case.schema_shapes
    assert tuple(report.tensor_dtypes[n] for n in names) == case.schema_dtypes
    # This build of onnxruntime has no CPU kernel for it; should one appear, run it instead.
    with pytest.raises((ort.capi.onnxruntime_pybind11_state.NotImplemented, ort.capi.onnxruntime_pybind11_state.Fail)):
        run(m, feeds(case))


def _unfused(nodes: list[onnx.NodeProto], case: Case, extra: list[onnx.TensorProto] = ()) -> onnx.ModelProto:
    ins = [helper.make_tensor_value_info(n, e, list(s)) for n, s, e in case.inputs]
    inits = [numpy_helper.from_array(v, k) for k, v in case.consts.items()] + list(extra)
    graph = helper.make_graph(nodes, "unfused", ins, [onnx.ValueInfoProto(name=o) for o in case.outputs], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21), helper.make_opsetid(MS, 1)])
    m.ir_version = 10
    return m


def _by_id(cases: list[Any], op_id: str) -> Case:
    return next(p.values[0] for p in cases if p.id == op_id)


# The graphs each fusion replaces, run in onnxruntime: the fused op's outputs must have their shapes.
UNFUSED = {
    "BiasAdd": lambda c: _unfused([helper.make_node("Add", ["x", "b"], ["xb"]),
                                   helper.make_node("Add", ["xb", "skip"], ["y"])], c),
    "BiasSplitGelu": lambda c: _unfused([helper.make_node("Add", ["x", "b"], ["xb"]),
                                         helper.make_node("Split", ["xb"], ["left", "right"], axis=-1, num_outputs=2),
                                         helper.make_node("Gelu", ["right"], ["g"]),
                                         helper.make_node("Mul", ["left", "g"], ["y"])], c),
    "GemmFastGelu": lambda c: _unfused([helper.make_node("MatMul", ["x", "w"], ["xw"]),
                                        helper.make_node("FastGelu", ["xw", "b"], ["y"], domain=MS)], c),
    "BiasDropout": lambda c: _unfused([helper.make_node("Add", ["x", "b"], ["xb"]),
                                       helper.make_node("Dropout", ["xb"], ["d", "mask"]),
                                       helper.make_node("Add", ["d", "res"], ["y"])], c),
    "NhwcConv": lambda c: _unfused([helper.make_node("Transpose", ["x"], ["nchw"], perm=[0, 3, 1, 2]),
                                    helper.make_node("Conv", ["nchw", "w", "b"], ["conv"], pads=[1, 1, 1, 1]),
                                    helper.make_node("Transpose", ["conv"], ["y"], perm=[0, 2, 3, 1])], c),
}


@pytest.mark.parametrize("op", sorted(UNFUSED))
def test_fusion_without_a_cpu_kernel_has_the_unfused_graphs_shapes(op: str, tmp_path: Path) -> None:
    case = _by_id(NO_CPU_CASES, op)
    report = analyze(str(save(build(case), tmp_path / "m.onnx")))
    observed = run(UNFUSED[op](case), feeds(case))
    for name, value in observed.items():
        assert report.tensor_shapes[name] == value.shape, name
        assert report.tensor_dtypes[name] == str(value.dtype), name


# --- symbolic dims: the formula, and the formula at a point equals the concrete analysis -------

BATCH, SEQ = dim_symbol("batch"), dim_symbol("sequence")
POINTS = [{"batch": 1, "sequence": 7}, {"batch": 3, "sequence": 5}]


def _symbolic(case: Case, leading: tuple[str, str]) -> Case:
    """``case`` with the two leading dims of its activations named ``leading``."""
    named = tuple((n, (*leading, *dims[2:]) if i == 0 or n in ("seg", "mask", "skip", "pos") else dims, e)
                  for i, (n, dims, e) in enumerate(case.inputs))
    return Case(case.op, named, case.consts, case.order, case.terms, case.attrs, case.outputs, case.domain,
                case.typed_outputs)


SYMBOLIC = [
    # EmbedLayerNormalization over [batch, sequence]: 2 adds, 7 + 1 norm ops per element; mask B·S.
    ("EmbedLayerNormalization-segment-mask",
     {"elementwise_op": 2 * BATCH * SEQ * H, "norm_op": 7 * BATCH * SEQ * H, "bias_add": BATCH * SEQ * H,
      "pool_op": BATCH * SEQ},
     {"y": (BATCH, SEQ, H), "mask_index": (BATCH,), "sum": (BATCH, SEQ, H)}),
    # MatMulNBits on A [batch, sequence, 64]: rows·K·N and 2·K·N.
    ("MatMulNBits-4bit", {"mac": BATCH * SEQ * 64 * 5, "elementwise_op": 2 * 64 * 5}, {"y": (BATCH, SEQ, 5)}),
    ("SkipSimplifiedLayerNormalization-3d-bias",
     {"elementwise_op": BATCH * SEQ * H, "norm_op": 4 * BATCH * SEQ * H, "bias_add": BATCH * SEQ * H},
     {"y": (BATCH, SEQ, H), "mean": (BATCH, SEQ, 1), "sum": (BATCH, SEQ, H)}),
    ("FastGelu-bias", {"activation_op": 5 * BATCH * SEQ * H, "bias_add": BATCH * SEQ * H}, {"y": (BATCH, SEQ, H)}),
    ("RotaryEmbedding-3d", {"elementwise_op": 3 * BATCH * SEQ * H}, {"y": (BATCH, SEQ, H)}),
    # QAttention: the projection is linear in B·S, the attention products quadratic in S.
    ("QAttention-no-mask", {"mac": BATCH * SEQ * H * 24 + BATCH * 2 * SEQ * SEQ * 8, "bias_add": BATCH * SEQ * 24,
                    "softmax_op": 3 * BATCH * 2 * SEQ * SEQ},
     {"y": (BATCH, SEQ, H), "present": (2, BATCH, 2, SEQ, 4)}),
    # DynamicQuantizeLSTM over X [sequence, batch, 3]: the LSTM's T = sequence, B = batch.
    ("DynamicQuantizeLSTM-bidirectional",
     {"mac": SEQ * 2 * BATCH * 16 * 7, "bias_add": SEQ * 2 * BATCH * 32, "elementwise_op": SEQ * 2 * BATCH * 4 * 8,
      "activation_op": SEQ * BATCH * 4 * 22},
     {"y": (SEQ, 2, BATCH, 4), "y_h": (2, BATCH, 4)}),
]


@pytest.mark.parametrize(("case_id", "terms", "shapes"), SYMBOLIC, ids=[s[0] for s in SYMBOLIC])
def test_symbolic_formula_and_its_value_at_a_point(case_id: str, terms: dict[str, Any],
                                                   shapes: dict[str, tuple[Any, ...]], tmp_path: Path) -> None:
    # Recurrent inputs are [T, B, I]; every other activation here is [B, S, ...].
    leading = ("sequence", "batch") if case_id.startswith("DynamicQuantizeLSTM") else ("batch", "sequence")
    case = _symbolic(_by_id(CPU_CASES + QUANTIZED_CASES, case_id), leading)
    path = save(build(case), tmp_path / "m.onnx")
    report = analyze(str(path))
    got = report.layers[0].terms
    assert set(got) == set(terms)
    for term, formula in terms.items():
        assert sympy.expand(got[term] - formula) == 0, term
    for name, shape in shapes.items():
        assert len(report.tensor_shapes[name]) == len(shape)
        assert all(sympy.expand(a - b) == 0 for a, b in zip(report.tensor_shapes[name], shape, strict=True)), name
    for point in POINTS:
        concrete = analyze(str(path), params=point)
        at_point = report.substitute({dim_symbol(k): v for k, v in point.items()})
        assert dict(concrete.layers[0].terms) == {k: int(v) for k, v in at_point.layers[0].terms.items()}
        observed = run(build(case), feeds(case, point))
        for name, value in observed.items():
            assert concrete.tensor_shapes[name] == value.shape, name
            assert tuple(int(d) for d in at_point.tensor_shapes[name]) == value.shape, name


def test_shared_buffer_length_known_only_at_run_time_is_a_symbol(tmp_path: Path) -> None:
    # past_sequence_length fed as a graph input: L = psl + 1 becomes a run-time symbol, and the
    # formula at psl = 3 is the analysis with psl stored.
    case = _by_id(CPU_CASES, "DecoderMaskedMultiHeadAttention-shared-buffer")
    consts = {k: v for k, v in case.consts.items() if k != "psl"}
    fed = Case(case.op, (*case.inputs, ("psl", (), I32)), consts, case.order, case.terms, case.attrs, case.outputs)
    report = analyze(str(save(build(fed), tmp_path / "fed.onnx")))
    psl = next(sympy.Symbol(f.name, integer=True) for f in report.free_symbols if f.name == "psl_0")
    total = psl + 1
    assert sympy.expand(report.layers[0].terms["mac"] - B * 2 * total * 8) == 0
    assert sympy.expand(report.layers[0].terms["softmax_op"] - 3 * B * 2 * total) == 0
    assert report.tensor_shapes["present_k"] == (B, 2, 8, 4)  # the shared buffer keeps its size
    at_three = report.substitute({psl: 3}).layers[0].terms
    assert {k: int(v) for k, v in at_three.items()} == case.terms
    inputs = feeds(fed)
    inputs["psl"] = scalar(3, np.int32)
    observed = run(build(fed), inputs)
    assert {n: v.shape for n, v in observed.items()} == {n: report.tensor_shapes[n] for n in observed}


# --- parameters ------------------------------------------------------------------------------

def test_parameter_roles(tmp_path: Path) -> None:
    # EmbedLayerNormalization: the three tables are weights (10·8 + 16·8 + 2·8), γ and β norm (8 + 8).
    report = analyze(str(save(build(_by_id(CPU_CASES, "EmbedLayerNormalization-segment-mask")), tmp_path / "e.onnx")))
    assert dict(report.totals.params_by_kind) == {"weight": 80 + 128 + 16, "bias": 0, "norm": 16, "buffer": 0}
    # MatMulNBits: the packed uint8 weight counts as stored, N·⌈K/32⌉·16 = 5·2·16 = K·N·4/8 bytes, and
    # the bias; the scales, zero points and g_idx are constants.
    report = analyze(str(save(build(_by_id(QUANTIZED_CASES, "MatMulNBits-8bit-bias")), tmp_path / "n.onnx")))
    assert dict(report.totals.params_by_kind) == {"weight": 5 * 2 * 32, "bias": 5, "norm": 0, "buffer": 0}
    # QGemm: the int8 B and the int32 C; DynamicQuantizeLSTM: the int8 W and R and the float bias.
    report = analyze(str(save(build(_by_id(QUANTIZED_CASES, "QGemm-float-output")), tmp_path / "q.onnx")))
    assert dict(report.totals.params_by_kind) == {"weight": 24, "bias": 6, "norm": 0, "buffer": 0}
    report = analyze(str(save(build(_by_id(QUANTIZED_CASES, "DynamicQuantizeLSTM-forward")), tmp_path / "l.onnx")))
    assert dict(report.totals.params_by_kind) == {"weight": 3 * 16 + 4 * 16, "bias": 32, "norm": 0, "buffer": 0}


def test_fused_activation_outside_onnxruntimes_list_is_an_error(tmp_path: Path) -> None:
    case = _by_id(CPU_CASES, "FusedGemm-transposed-relu")
    bad = Case(case.op, case.inputs, case.consts, case.order, case.terms, {**case.attrs, "activation": "Gelu"})
    with pytest.raises(ShapeError, match="activation 'Gelu' is not one onnxruntime fuses"):
        analyze(str(save(build(bad), tmp_path / "m.onnx")))


# --- onnxruntime-optimized transformers from the corpus ---------------------------------------

def _points() -> list[Any]:
    params = []
    for model in ("gpt2_ort_optimized", "bert_ort_optimized"):
        manifest = json.loads((CORPUS / f"{model}.json").read_text(encoding="utf-8"))
        params += [pytest.param(model, point, id=f"{model}-{i}") for i, point in enumerate(manifest["points"])]
    return params


@pytest.mark.parametrize(("model", "point"), _points())
def test_ort_optimized_transformer_is_fully_costed(model: str, point: dict[str, Any]) -> None:
    # gpt2: FastGelu and SkipLayerNormalization; bert: EmbedLayerNormalization, Attention, BiasGelu
    # and SkipLayerNormalization. The manifest's MACs are torch's FlopCounterMode count / 2.
    report = analyze(str(CORPUS / f"{model}.onnx"), params=point["dims"])
    assert report.unknown == () and report.uncosted == ()
    assert report.totals.macs == point["macs"]
