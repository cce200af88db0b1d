"""Coverage of the default ONNX domain, and the long tail of operators checked by running them.

``test_every_default_domain_operator_has_a_rule`` walks every operator schema
onnx knows (every opset) and fails for an operator with neither a registry
entry nor a reasoned exclusion. ``python -c "from tests.test_onnx_coverage
import summary; print(summary())"`` prints the count covered and the exclusions.

The single-node cases run each operator in onnxruntime (or ``onnx.reference``
where onnxruntime has no kernel) and compare every output's shape and dtype
with the analysis; the cost column is the rule's documented closed form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, defs, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from archcost import analyze
from archcost.ops import REGISTRY
from tests.onnx_builders import save

#: Default-domain operators without a rule, and why. Keep this short.
EXCLUDED: dict[str, str] = {}


def default_domain_ops() -> list[str]:
    return sorted({s.name for s in defs.get_all_schemas_with_history() if s.domain == ""})


def summary() -> str:
    """One line: how many default-domain operators have a rule, and the exclusions."""
    ops = default_domain_ops()
    covered = [op for op in ops if ("", op) in REGISTRY]
    missing = [op for op in ops if ("", op) not in REGISTRY and op not in EXCLUDED]
    excluded = "; ".join(f"{op}: {why}" for op, why in EXCLUDED.items()) or "none"
    line = (f"{len(covered)} of {len(ops)} ai.onnx operators (opsets up to "
            f"{defs.onnx_opset_version()}) have a rule; excluded: {excluded}")
    if missing:
        line += f"; MISSING: {', '.join(missing)}"
    others = {d for d, _ in REGISTRY if d}
    for domain in sorted(others):
        line += f"; {domain}: {sum(1 for d, _ in REGISTRY if d == domain)} operators"
    return line


def test_every_default_domain_operator_has_a_rule() -> None:
    ops = default_domain_ops()
    missing = [op for op in ops if ("", op) not in REGISTRY and op not in EXCLUDED]
    assert not missing, summary()
    assert all(("", op) not in REGISTRY for op in EXCLUDED), "an excluded operator has a rule"
    assert len(EXCLUDED) <= 5, "the exclusion list must stay short"


def test_summary_counts_every_operator() -> None:
    line = summary()
    assert line.startswith(f"{len(default_domain_ops())} of {len(default_domain_ops())}")
    assert "MISSING" not in line


# --- single-node cases, run for real ---------------------------------------------------

F, I64 = TensorProto.FLOAT, TensorProto.INT64


@dataclass
class Case:
    op: str
    inputs: list[tuple[str, list[int], int]]
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    outputs: int = 1
    opset: int = 21
    #: ``{term: count}`` from the rule's closed form (checked under ``flops``).
    terms: dict[str, int] | None = None
    reference: bool = False
    id: str = ""
    feeds: dict[str, np.ndarray] = field(default_factory=dict)


X = [("x", [2, 3, 4], F)]
IMG = [("x", [1, 4, 6, 6], F)]


def unary(op: str, per: int, **attrs: Any) -> Case:
    return Case(op, X, attrs=attrs, terms={"activation_op": per * 24}, opset=22)


CASES = [
    *(unary(op, 1) for op in ("Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
                               "Atanh", "Ceil", "Floor", "Round", "Sign")),
    Case("Acosh", X, feeds={"x": np.full((2, 3, 4), 2.0, np.float32)}, terms={"activation_op": 24}),
    unary("Softplus", 3), unary("Softsign", 3), unary("Elu", 4), unary("Celu", 6), unary("Selu", 5),
    unary("LeakyRelu", 2), unary("ThresholdedRelu", 1), unary("Shrink", 2), unary("Mish", 5),
    Case("IsNaN", X, terms={"activation_op": 24}), Case("IsInf", X, terms={"activation_op": 24}),
    Case("BitwiseNot", [("x", [2, 3], I64)], opset=18, terms={"activation_op": 6}),
    Case("Swish", X, opset=24, reference=True, terms={"activation_op": 5 * 24}),
    Case("PRelu", X, consts={"slope": np.full(4, 0.1, np.float32)}, terms={"activation_op": 48}),
    Case("LogSoftmax", X, terms={"softmax_op": 72}),
    Case("Hardmax", X, terms={"pool_op": 24}),
    # comparison, logical, bitwise, variadic
    Case("GreaterOrEqual", X, consts={"c": np.zeros(4, np.float32)}, terms={"elementwise_op": 24}),
    Case("LessOrEqual", X, consts={"c": np.zeros(4, np.float32)}, terms={"elementwise_op": 24}),
    *(Case(op, [("x", [2, 3], TensorProto.BOOL), ("z", [3], TensorProto.BOOL)], terms={"elementwise_op": 6})
      for op in ("And", "Or", "Xor")),
    *(Case(op, [("x", [2, 3], I64), ("z", [2, 3], I64)], opset=18, terms={"elementwise_op": 6})
      for op in ("BitwiseAnd", "BitwiseOr", "BitwiseXor")),
    Case("BitShift", [("x", [4], TensorProto.UINT8), ("z", [4], TensorProto.UINT8)],
         attrs={"direction": "LEFT"}, terms={"elementwise_op": 4}),
    Case("Mod", [("x", [2, 3], I64)], consts={"d": np.array([3], np.int64)}, terms={"elementwise_op": 6}),
    Case("Sum", [("x", [2, 3], F), ("z", [3], F), ("w", [2, 1], F)], terms={"elementwise_op": 12}),
    Case("Mean", [("x", [2, 3], F), ("z", [3], F)], terms={"elementwise_op": 12}),
    Case("CastLike", X, consts={"like": np.zeros(1, np.float16)}),
    Case("BitCast", [("x", [2, 3], F)], attrs={"to": TensorProto.INT32}, opset=26, reference=True),
    # data movement and data-dependent
    Case("DepthToSpace", [("x", [1, 8, 2, 3], F)], attrs={"blocksize": 2}),
    Case("SpaceToDepth", [("x", [1, 2, 4, 6], F)], attrs={"blocksize": 2}),
    Case("GatherElements", X, consts={"i": np.zeros((2, 3, 2), np.int64)}, attrs={"axis": 2}),
    Case("GatherND", X, consts={"i": np.zeros((2, 2), np.int64)}),
    Case("ScatterElements", X, consts={"i": np.zeros((2, 3, 1), np.int64), "u": np.ones((2, 3, 1), np.float32)},
         attrs={"axis": 2, "reduction": "add"}, terms={"elementwise_op": 6}),
    Case("Scatter", X, consts={"i": np.zeros((2, 3, 1), np.int64), "u": np.ones((2, 3, 1), np.float32)},
         attrs={"axis": 2}, opset=10),
    Case("ScatterND", X, consts={"i": np.array([[0]], np.int64), "u": np.ones((1, 3, 4), np.float32)}),
    Case("Compress", X, consts={"c": np.array([True, False, True], np.bool_)}, attrs={"axis": 1}),
    Case("NonZero", [("x", [2, 3], F)], reference=True),
    Case("Unique", [("x", [6], F)], outputs=4, reference=True),
    Case("TopK", X, consts={"k": np.array([2], np.int64)}, outputs=2, terms={"pool_op": 24}),
    Case("ArgMax", X, attrs={"axis": 1}, terms={"pool_op": 24}),
    Case("ArgMin", X, attrs={"axis": -1, "keepdims": 0}, terms={"pool_op": 24}),
    Case("CumSum", X, consts={"axis": np.array(1, np.int64)}, terms={"elementwise_op": 24}),
    Case("CumProd", X, consts={"axis": np.array(1, np.int64)}, opset=26, reference=True,
         terms={"elementwise_op": 24}),
    Case("Trilu", [("x", [3, 4], F)]),
    Case("OneHot", [("x", [2, 3], I64)], consts={"depth": np.array(5, np.int64),
                                                 "v": np.array([0, 1], np.float32)}),
    Case("EyeLike", [("x", [3, 4], F)]),
    Case("ReverseSequence", [("x", [4, 2, 3], F)], consts={"len": np.array([4, 2], np.int64)}),
    Case("CenterCropPad", [("x", [5, 6], F)], consts={"s": np.array([3, 8], np.int64)}, reference=True),
    Case("Col2Im", [("x", [1, 8, 9], F)], consts={"img": np.array([4, 4], np.int64),
                                                  "blk": np.array([2, 2], np.int64)},
         opset=18, reference=True, terms={"elementwise_op": 72}),
    Case("Upsample", [("x", [1, 1, 2, 3], F)], consts={"s": np.array([1, 1, 2, 2], np.float32)}, opset=9),
    Case("NonMaxSuppression", [("b", [1, 5, 4], F), ("s", [1, 2, 5], F)],
         terms={"elementwise_op": 1 * 2 * 25}),
    Case("MaxUnpool", [("x", [1, 1, 2, 2], F)], consts={"i": np.zeros((1, 1, 2, 2), np.int64)},
         attrs={"kernel_shape": [2, 2], "strides": [2, 2]}),
    Case("Det", [("x", [3, 4, 4], F)], terms={"elementwise_op": 3 * 28}),
    Case("HannWindow", [], consts={"n": np.array(10, np.int64)}, opset=17, terms={"activation_op": 10}),
    Case("HammingWindow", [], consts={"n": np.array(8, np.int64)}, opset=17),
    Case("BlackmanWindow", [], consts={"n": np.array(6, np.int64)}, opset=17),
    Case("DFT", [("x", [2, 8, 1], F)], opset=20, terms={"mac": 4 * 2 * 8 * 8}),
    Case("STFT", [("x", [1, 32, 1], F)], consts={"step": np.array(8, np.int64),
                                                 "win": np.ones(16, np.float32)},
         opset=17, terms={"mac": 4 * 3 * 9 * 16, "elementwise_op": 3 * 16}),
    Case("MelWeightMatrix", [], consts={"bins": np.array(4, np.int64), "n": np.array(16, np.int64),
                                        "sr": np.array(8000, np.int64), "lo": np.array(0.0, np.float32),
                                        "hi": np.array(4000.0, np.float32)}, opset=17),
    Case("AffineGrid", [("theta", [2, 2, 3], F)], consts={"size": np.array([2, 1, 4, 5], np.int64)},
         opset=20, terms={"mac": 2 * 20 * 2 * 3}),
    Case("GridSample", [("x", [1, 2, 4, 4], F), ("g", [1, 3, 5, 2], F)], opset=20,
         terms={"elementwise_op": 4 * 30}),
    Case("RoiAlign", [("x", [1, 2, 8, 8], F)], consts={"r": np.array([[0, 0, 4, 4]], np.float32),
                                                       "bi": np.array([0], np.int64)},
         attrs={"output_height": 2, "output_width": 3}, terms={"pool_op": 16 * 12}),
    Case("MaxRoiPool", [("x", [1, 2, 8, 8], F)], consts={"r": np.array([[0, 0, 0, 4, 4]], np.float32)},
         attrs={"pooled_shape": [2, 2]}),
    Case("DeformConv", [("x", [1, 2, 5, 5], F)], consts={
        "w": np.ones((3, 2, 3, 3), np.float32), "off": np.zeros((1, 18, 3, 3), np.float32)},
        opset=19, reference=True, terms={"mac": 3 * 9 * 2 * 9, "elementwise_op": 4 * 9 * 2 * 9}),
    # normalization and pooling
    Case("InstanceNormalization", IMG, consts={"s": np.ones(4, np.float32), "b": np.zeros(4, np.float32)},
         terms={"norm_op": 7 * 144, "bias_add": 144}),
    Case("GroupNormalization", IMG, consts={"s": np.ones(4, np.float32), "b": np.zeros(4, np.float32)},
         attrs={"num_groups": 2}, terms={"norm_op": 7 * 144, "bias_add": 144}),
    Case("RMSNormalization", X, consts={"s": np.ones(4, np.float32)}, opset=23, reference=True,
         terms={"norm_op": 4 * 24}),
    Case("LpNormalization", X, terms={"norm_op": 72}),
    Case("MeanVarianceNormalization", IMG, terms={"norm_op": 6 * 144}),
    Case("LRN", IMG, attrs={"size": 3}, terms={"norm_op": 6 * 144}),
    Case("LpPool", IMG, attrs={"kernel_shape": [3, 3]}, terms={"pool_op": 2 * 4 * 16 * 9}),
    Case("GlobalLpPool", IMG, terms={"pool_op": 2 * 144}),
    Case("ReduceL1", X, consts={"a": np.array([1], np.int64)}, terms={"pool_op": 24}),
    Case("ReduceLogSum", X, consts={"a": np.array([1], np.int64)}, terms={"pool_op": 24}),
    Case("ReduceLogSumExp", X, consts={"a": np.array([1], np.int64)}, terms={"pool_op": 24}),
    # random, strings, losses
    Case("RandomNormal", [], attrs={"shape": [2, 3]}),
    Case("RandomUniform", [], attrs={"shape": [4]}),
    Case("RandomNormalLike", X), Case("RandomUniformLike", X),
    Case("Bernoulli", [("x", [3, 2], F)], feeds={"x": np.full((3, 2), 0.5, np.float32)}),
    Case("Multinomial", [("x", [2, 5], F)], attrs={"sample_size": 3}),
    Case("StringConcat", [("x", [2], TensorProto.STRING), ("z", [2], TensorProto.STRING)], opset=20,
         reference=True),
    Case("StringNormalizer", [("x", [3], TensorProto.STRING)], opset=10, reference=True),
    Case("RegexFullMatch", [("x", [3], TensorProto.STRING)], attrs={"pattern": "a.*"}, opset=20,
         reference=True),
    Case("StringSplit", [("x", [2], TensorProto.STRING)], outputs=2, opset=20, reference=True),
    Case("TfIdfVectorizer", [("x", [2, 4], I64)], attrs={
        "mode": "TF", "min_gram_length": 1, "max_gram_length": 1, "max_skip_count": 0,
        "ngram_counts": [0], "ngram_indexes": [0, 1], "pool_int64s": [1, 2]}, opset=9),
    Case("NegativeLogLikelihoodLoss", [("x", [3, 5], F)], consts={"t": np.array([0, 1, 2], np.int64)},
         terms={"elementwise_op": 9}),
    Case("SoftmaxCrossEntropyLoss", [("x", [3, 5], F)], consts={"t": np.array([0, 1, 2], np.int64)},
         outputs=2, terms={"softmax_op": 60, "elementwise_op": 9}),
    # sequences and optionals, as stacks
    Case("SplitToSequence", [("x", [6, 2], F)], consts={"s": np.array([2, 4], np.int64)}, id="stack"),
    # attention era
    Case("Attention", [("q", [2, 3, 4, 5], F), ("k", [2, 3, 6, 5], F), ("v", [2, 3, 6, 7], F)],
         outputs=4, opset=23, reference=True, attrs={"qk_matmul_output_mode": 0},
         terms={"mac": 2 * 3 * 4 * 6 * 12, "softmax_op": 3 * 2 * 3 * 4 * 6}),
    Case("RotaryEmbedding", [("x", [1, 2, 3, 8], F)], consts={
        "cos": np.ones((1, 3, 4), np.float32), "sin": np.zeros((1, 3, 4), np.float32)},
        opset=23, reference=True, terms={"elementwise_op": 3 * 48}),
    Case("SwiGLU", [("a", [2, 6], F), ("b", [2, 6], F)], opset=28, reference=True,
         terms={"activation_op": 72}),
    Case("TensorScatter", [("c", [1, 2, 6, 4], F), ("u", [1, 2, 1, 4], F)], opset=24, reference=True),
]


def _feeds(case: Case) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    feeds = {}
    for name, shape, elem in case.inputs:
        if name in case.feeds:
            feeds[name] = case.feeds[name]
            continue
        dtype = helper.tensor_dtype_to_np_dtype(elem)
        if elem == TensorProto.STRING:
            feeds[name] = np.array(["ab cd"] * int(np.prod(shape)), dtype=object).reshape(shape)
        elif np.issubdtype(dtype, np.floating):
            feeds[name] = rng.uniform(0.1, 0.9, shape).astype(dtype)
        else:
            feeds[name] = np.ones(shape, dtype=dtype)
    return feeds


def _model(case: Case) -> onnx.ModelProto:
    ins = [helper.make_tensor_value_info(n, e, s) for n, s, e in case.inputs]
    inits = [numpy_helper.from_array(v, k) for k, v in case.consts.items()]
    outs = ["y"] + [f"y{i}" for i in range(1, case.outputs)]
    names = [n for n, _, _ in case.inputs] + list(case.consts)
    node = helper.make_node(case.op, names, outs, name="op", **case.attrs)
    graph = helper.make_graph([node], case.op, ins, [onnx.ValueInfoProto(name=o) for o in outs], inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", case.opset)])
    m.ir_version = 10
    return m


def _run(case: Case, m: onnx.ModelProto) -> list[Any]:
    feeds = _feeds(case)
    if case.reference:
        return list(ReferenceEvaluator(m).run(None, feeds))
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, feeds))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.op}-{c.id}" if c.id else c.op for c in CASES])
def test_single_operator_shape_dtype_and_cost(case: Case, tmp_path: Path) -> None:
    m = _model(case)
    report = analyze(str(save(m, tmp_path / "m.onnx")), convention="flops")
    assert not report.unknown and not report.uncosted
    row = report.layers[0]
    observed = _run(case, m)
    for i, value in enumerate(observed):
        name = "y" if i == 0 else f"y{i}"
        inferred = report.tensor_shapes[name]
        if isinstance(value, list):  # a sequence: archcost's stack of its elements
            seen: tuple[int, ...] = (len(value), *np.asarray(value[0]).shape)
        else:
            value = np.asarray(value)
            seen = value.shape
            if value.dtype.kind not in "OU":  # strings: numpy spells them as objects
                assert report.tensor_dtypes[name] == str(value.dtype), name
        # A data-dependent (or element-dependent) dim is a named symbol; the rest are exact.
        assert len(inferred) == len(seen), name
        for dim, size in zip(inferred, seen, strict=True):
            assert dim == size or (not isinstance(dim, int) and str(dim).startswith("op_")), name
    if case.terms is not None:
        assert dict(row.terms) == case.terms


def test_data_dependent_sizes_are_named_symbols(tmp_path: Path) -> None:
    case = Case("NonZero", [("x", [2, 3], F)])
    report = analyze(str(save(_model(case), tmp_path / "m.onnx")))
    (dim,) = [d for d in report.tensor_shapes["y"] if not isinstance(d, int)]
    assert str(dim) == "op_count"


def test_sequences_are_stacks(tmp_path: Path) -> None:
    nodes = [helper.make_node("SequenceConstruct", ["a", "b"], ["s"], name="s"),
             helper.make_node("SequenceInsert", ["s", "a"], ["s2"], name="s2"),
             helper.make_node("SequenceErase", ["s2"], ["s3"], name="s3"),
             helper.make_node("SequenceAt", ["s3", "i"], ["e"], name="e"),
             helper.make_node("SequenceLength", ["s3"], ["n"], name="n"),
             helper.make_node("SequenceEmpty", [], ["empty"], name="empty"),
             helper.make_node("ConcatFromSequence", ["s3"], ["cat"], name="cat", axis=0),
             helper.make_node("Optional", ["a"], ["opt"], name="opt"),
             helper.make_node("OptionalHasElement", ["opt"], ["has"], name="has"),
             helper.make_node("OptionalGetElement", ["opt"], ["got"], name="got")]
    ins = [helper.make_tensor_value_info(n, F, [2, 3]) for n in ("a", "b")]
    outs = [onnx.ValueInfoProto(name=n) for n in ("e", "n", "cat", "has", "got", "empty")]
    m = helper.make_model(helper.make_graph(nodes, "seq", ins, outs,
                                            [numpy_helper.from_array(np.array(0, np.int64), "i")]),
                          opset_imports=[helper.make_opsetid("", 18)])
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    shapes = report.tensor_shapes
    assert shapes["s"] == (2, 2, 3) and shapes["s2"] == (3, 2, 3) and shapes["s3"] == (2, 2, 3)
    assert shapes["e"] == (2, 3) and shapes["n"] == () and shapes["cat"] == (4, 3)
    assert shapes["has"] == () and shapes["got"] == (2, 3) and shapes["empty"] == (0,)
    feeds = {"a": np.ones((2, 3), np.float32), "b": np.ones((2, 3), np.float32)}
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    e, n, cat, has, got, _ = session.run(None, feeds)
    assert e.shape == (2, 3) and int(n) == 2 and cat.shape == (4, 3) and bool(has) and got.shape == (2, 3)


def _single(op: str, inputs: list[tuple[str, list[int], int]], consts: dict[str, np.ndarray],
            outputs: int, opset: int, **attrs: Any) -> onnx.ModelProto:
    return _model(Case(op, inputs, consts=consts, attrs=attrs, outputs=outputs, opset=opset))


def test_causal_conv_with_state_and_linear_attention(tmp_path: Path) -> None:
    # Depthwise causal conv, [B, C, L] = [2, 3, 5], k = 4: B·C·L·k = 120 MACs; state [2, 3, 3].
    m = _single("CausalConvWithState", [("x", [2, 3, 5], F)], {"w": np.ones((3, 1, 4), np.float32)}, 2, 27)
    report = analyze(str(save(m, tmp_path / "c.onnx")))
    assert report.totals.macs == 120 and report.tensor_shapes["y1"] == (2, 3, 3)
    assert report.totals.params_by_kind["weight"] == 12
    # Linear attention, B = 1, T = 5, H_q = 4, H_kv = 2, d_k = 3, d_v = 2, gated delta rule:
    # B·T·d_k·d_v·(H_kv·2 + H_q) = 1·5·3·2·8 = 240 MACs; decay 1·5·2·3·2 = 60.
    m = _single("LinearAttention", [("q", [1, 5, 12], F), ("k", [1, 5, 6], F), ("v", [1, 5, 4], F)], {}, 2, 27,
                q_num_heads=4, kv_num_heads=2)
    report = analyze(str(save(m, tmp_path / "l.onnx")), convention="flops")
    assert report.layers[0].terms == {"mac": 240, "elementwise_op": 60}
    assert report.tensor_shapes["y"] == (1, 5, 8) and report.tensor_shapes["y1"] == (1, 2, 3, 2)


def test_image_decoder_sizes_are_symbols(tmp_path: Path) -> None:
    m = _single("ImageDecoder", [("x", [100], TensorProto.UINT8)], {}, 1, 20)
    report = analyze(str(save(m, tmp_path / "i.onnx")))
    h, w, c = report.tensor_shapes["y"]
    assert (str(h), str(w), c) == ("op_height", "op_width", 3)


def test_svm_classifier_closed_form(tmp_path: Path) -> None:
    m = _model(Case("SVMClassifier", [("x", [3, 4], F)], outputs=2, attrs={
        "classlabels_ints": [0, 1], "support_vectors": [1.0] * 12, "vectors_per_class": [1, 2],
        "coefficients": [1.0] * 3, "rho": [0.0], "kernel_type": "LINEAR"}))
    m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 1))
    m.graph.node[0].domain = "ai.onnx.ml"
    report = analyze(str(save(m, tmp_path / "s.onnx")))
    # 3 support vectors of 4 features: kernel 3·3·4 = 36, then 3·3·2 = 18 class weights.
    assert report.totals.macs == 36 + 18
    assert report.tensor_shapes["y"] == (3,) and report.tensor_shapes["y1"] == (3, 2)


def test_sequence_map_costs_body_times_length(tmp_path: Path) -> None:
    body = helper.make_graph([helper.make_node("MatMul", ["e", "W"], ["o"], name="mm")], "body",
                             [helper.make_tensor_value_info("e", F, [2, 4])],
                             [helper.make_tensor_value_info("o", F, [2, 3])])
    nodes = [helper.make_node("SplitToSequence", ["x"], ["seq"], name="split", axis=0, keepdims=0),
             helper.make_node("SequenceMap", ["seq"], ["mapped"], name="map", body=body),
             helper.make_node("ConcatFromSequence", ["mapped"], ["y"], name="cat", axis=0, new_axis=1)]
    w = numpy_helper.from_array(np.ones((4, 3), np.float32), "W")
    m = helper.make_model(helper.make_graph(nodes, "m", [helper.make_tensor_value_info("x", F, [5, 2, 4])],
                                            [onnx.ValueInfoProto(name="y")], [w]),
                          opset_imports=[helper.make_opsetid("", 17)])
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    # 5 elements, each [2, 4] @ [4, 3] = 24 MACs.
    assert report.totals.macs == 5 * 24
    assert report.tensor_shapes["seq"] == (5, 2, 4) and report.tensor_shapes["y"] == (5, 2, 3)
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"x": np.ones((5, 2, 4), np.float32)})
    assert out.shape == (5, 2, 3)
