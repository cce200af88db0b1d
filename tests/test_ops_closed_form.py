"""Per-operator shape and cost checks against independent closed forms.

Output sizes are checked against a brute-force count of window positions (how many
placements of the dilated kernel fit in the padded input), not against the rule's
own formula; MACs against the paper's formulas.
"""

from __future__ import annotations

import math

import pytest

from archcost.categories import Category
from archcost.errors import ShapeError
from archcost.ops import lookup
from archcost.ops.registry import InputInfo, OpResult, apply_rule


def run(op_type: str, attrs: dict, *inputs: tuple[tuple[int, ...], bool]) -> OpResult:  # type: ignore[type-arg]
    infos = tuple(InputInfo(shape, is_initializer=stored) for shape, stored in inputs)
    return apply_rule(lookup(op_type), "n", attrs, infos)


def brute_force_positions(size: int, kernel: int, stride: int, dilation: int, pad_b: int, pad_e: int) -> int:
    """Count window starts whose dilated extent lies inside the padded input."""
    extent = dilation * (kernel - 1) + 1
    return sum(1 for start in range(0, size + pad_b + pad_e, stride) if start + extent <= size + pad_b + pad_e)


CONV_CASES = [
    # (id, C_in, C_out, H, W, kernel, stride, dilation, pads [t, l, b, r], group)
    ("standard", 3, 32, 224, 224, 3, 2, 1, [1, 1, 1, 1], 1),
    ("pointwise", 32, 64, 112, 112, 1, 1, 1, [0, 0, 0, 0], 1),
    ("depthwise", 64, 64, 112, 112, 3, 2, 1, [1, 1, 1, 1], 64),
    ("depthwise-multiplier", 16, 32, 20, 20, 3, 1, 1, [1, 1, 1, 1], 16),
    ("grouped", 64, 128, 28, 28, 3, 1, 1, [1, 1, 1, 1], 4),
    ("strided-unpadded", 8, 8, 15, 17, 3, 2, 1, [0, 0, 0, 0], 1),
    ("dilated", 8, 16, 32, 32, 3, 1, 2, [2, 2, 2, 2], 1),
    ("asymmetric-pads", 4, 4, 10, 11, 5, 3, 1, [0, 2, 1, 0], 1),
    ("rect-kernel", 6, 12, 9, 9, (1, 7), 1, 1, [0, 3, 0, 3], 2),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[c[0] for c in CONV_CASES])
def test_conv_shape_and_macs(case: tuple) -> None:  # type: ignore[type-arg]
    _, c_in, c_out, h, w, kernel, stride, dilation, pads, group = case
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    attrs = {"kernel_shape": [kh, kw], "strides": [stride, stride], "dilations": [dilation, dilation],
             "pads": pads, "group": group}
    result = run("Conv", attrs, ((2, c_in, h, w), False), ((c_out, c_in // group, kh, kw), True),
                 ((c_out,), True))
    h_out = brute_force_positions(h, kh, stride, dilation, pads[0], pads[2])
    w_out = brute_force_positions(w, kw, stride, dilation, pads[1], pads[3])
    assert result.outputs == ((2, c_out, h_out, w_out),)
    # K_h·K_w·(C_in/g)·C_out·H_out·W_out × batch (DESIGN.md, grouped conv, general)
    assert result.terms["mac"] == kh * kw * (c_in // group) * c_out * h_out * w_out * 2
    assert result.terms["bias_add"] == c_out * h_out * w_out * 2


@pytest.mark.parametrize(
    ("group", "c_in", "c_out", "kernel", "category"),
    [(1, 32, 64, 1, Category.CONV_1X1), (32, 32, 32, 3, Category.DEPTHWISE),
     (32, 32, 64, 3, Category.DEPTHWISE), (1, 3, 32, 3, Category.FULL_CONV),
     (4, 32, 64, 3, Category.GROUPED_CONV), (4, 32, 64, 1, Category.GROUPED_CONV),
     (1, 1, 8, 3, Category.FULL_CONV)],
    ids=["pointwise", "depthwise", "depthwise-multiplier", "full", "grouped", "grouped-1x1",
         "single-channel-full"],
)
def test_conv_category(group: int, c_in: int, c_out: int, kernel: int, category: Category) -> None:
    result = run("Conv", {"group": group, "pads": [kernel // 2] * 4},
                 ((1, c_in, 8, 8), False), ((c_out, c_in // group, kernel, kernel), True))
    assert result.category is category


@pytest.mark.parametrize(
    ("auto_pad", "size", "stride", "kernel"),
    [("SAME_UPPER", 224, 2, 3), ("SAME_UPPER", 7, 2, 3), ("SAME_LOWER", 15, 4, 5), ("VALID", 15, 4, 5)],
    ids=["same-upper-even", "same-upper-odd", "same-lower", "valid"],
)
def test_conv_auto_pad(auto_pad: str, size: int, stride: int, kernel: int) -> None:
    result = run("Conv", {"auto_pad": auto_pad, "strides": [stride, stride]},
                 ((1, 2, size, size), False), ((4, 2, kernel, kernel), True))
    expected = math.ceil(size / stride) if auto_pad.startswith("SAME") else (
        brute_force_positions(size, kernel, stride, 1, 0, 0))
    assert result.outputs[0][2:] == (expected, expected)


def test_conv_rejects_channel_mismatch() -> None:
    with pytest.raises(ShapeError, match="channels"):
        run("Conv", {}, ((1, 3, 8, 8), False), ((8, 4, 3, 3), True))


@pytest.mark.parametrize(
    ("m", "k", "n", "trans_b", "bias"),
    [(1, 1024, 1000, 1, True), (8, 512, 10, 0, False), (3, 7, 5, 1, True)],
    ids=["mobilenet-fc", "batched-no-bias", "odd"],
)
def test_gemm_fully_connected(m: int, k: int, n: int, trans_b: int, bias: bool) -> None:
    weight = (n, k) if trans_b else (k, n)
    inputs = [((m, k), False), (weight, True)] + ([((n,), True)] if bias else [])
    result = run("Gemm", {"transB": trans_b}, *inputs)
    assert result.outputs == ((m, n),)
    assert result.terms["mac"] == m * k * n  # inputs × outputs per sample
    assert result.terms.get("bias_add", 0) == (m * n if bias else 0)
    assert result.category is Category.FULLY_CONNECTED


def test_matmul_attention_and_fc() -> None:
    # QKᵀ of 12 heads, 197 tokens, head dim 64: 12·197·197·64 MACs between two activations.
    scores = run("MatMul", {}, ((1, 12, 197, 64), False), ((1, 12, 64, 197), False))
    assert scores.outputs == ((1, 12, 197, 197),)
    assert scores.terms["mac"] == 12 * 197 * 197 * 64
    assert scores.category is Category.ATTENTION_MATMUL
    fc = run("MatMul", {}, ((1, 197, 768), False), ((768, 3072), True))
    assert fc.outputs == ((1, 197, 3072),) and fc.terms["mac"] == 197 * 768 * 3072
    assert fc.category is Category.FULLY_CONNECTED
    vector = run("MatMul", {}, ((5,), False), ((5, 3), True))
    assert vector.outputs == ((3,),) and vector.terms["mac"] == 15


@pytest.mark.parametrize(
    ("op_type", "attrs", "size", "out"),
    [("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2]}, 112, 55),
     ("MaxPool", {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, 112, 56),
     ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, 5, 3),
     ("AveragePool", {"kernel_shape": [7, 7]}, 7, 1),
     ("AveragePool", {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]}, 28, 28)],
    ids=["max-floor", "max-ceil", "max-ceil-partial", "avg-global-size", "avg-padded"],
)
def test_pools(op_type: str, attrs: dict, size: int, out: int) -> None:  # type: ignore[type-arg]
    result = run(op_type, attrs, ((1, 8, size, size), False))
    assert result.outputs[0] == (1, 8, out, out)
    k = attrs["kernel_shape"][0]
    assert result.terms["pool_op"] == 8 * out * out * k * k
    assert "mac" not in result.terms


def test_global_pool_batch_norm_and_activations() -> None:
    assert run("GlobalAveragePool", {}, ((2, 16, 7, 7), False)).outputs == ((2, 16, 1, 1),)
    global_max = run("GlobalMaxPool", {}, ((2, 16, 7, 7), False))
    assert global_max.outputs == ((2, 16, 1, 1),) and global_max.terms == {"pool_op": 2 * 16 * 49}
    layer_norm = run("LayerNormalization", {}, ((1, 197, 768), False), ((768,), True), ((768,), True))
    elements = 197 * 768
    # Output 0 is Y; the optional Mean and InvStdDev keep the leading axes (ONNX schema).
    assert layer_norm.outputs[0] == (1, 197, 768)
    assert all(shape == (1, 197, 1) for shape in layer_norm.outputs[1:])
    assert layer_norm.terms == {"norm_op": 7 * elements, "bias_add": elements}
    bn = run("BatchNormalization", {}, ((1, 16, 4, 4), False), *[((16,), True)] * 4)
    assert bn.outputs[0] == (1, 16, 4, 4) and bn.terms == {"norm_op": 2 * 16 * 16}
    for op_type, per_element in [("Relu", 1), ("Sigmoid", 3), ("HardSigmoid", 3), ("HardSwish", 4),
                                 ("Tanh", 1), ("Gelu", 5)]:
        assert run(op_type, {}, ((2, 10), False)).terms == {"activation_op": per_element * 20}
    assert run("Softmax", {}, ((2, 10), False)).terms == {"softmax_op": 60}
    clip = run("Clip", {}, ((2, 10), False), ((), True), ((), True))
    assert clip.outputs == ((2, 10),)


def test_elementwise_broadcast() -> None:
    result = run("Mul", {}, ((1, 32, 14, 14), False), ((1, 32, 1, 1), False))
    assert result.outputs == ((1, 32, 14, 14),)
    assert result.terms == {"elementwise_op": 32 * 14 * 14}
    for op_type in ("Add", "Sub", "Div"):
        assert run(op_type, {}, ((4, 1, 3), False), ((5, 1), False)).outputs == ((4, 5, 3),)
    with pytest.raises(ShapeError, match="broadcast"):
        run("Add", {}, ((2, 3), False), ((4, 3), False))


def test_shape_ops_cost_nothing() -> None:
    assert run("Flatten", {}, ((2, 3, 4, 5), False)).outputs == ((2, 60),)
    assert run("Transpose", {"perm": [0, 2, 1]}, ((2, 3, 4), False)).outputs == ((2, 4, 3),)
    concat = run("Concat", {"axis": 1}, ((1, 3, 8, 8), False), ((1, 5, 8, 8), False))
    assert concat.outputs == ((1, 8, 8, 8),) and not concat.terms
    assert run("Identity", {}, ((3,), False)).outputs == ((3,),)
    assert run("Dropout", {}, ((3, 2), False)).outputs[0] == (3, 2)
    reshape = apply_rule(lookup("Reshape"), "n", {}, (InputInfo((2, 3, 4)), InputInfo((3,), value=(0, -1, 2))))
    assert reshape.outputs == ((2, 6, 2),) and not reshape.terms


def _with_consts(op_type: str, shape: tuple[int, ...], *consts: tuple[int, ...]) -> OpResult:
    infos = (InputInfo(shape), *(InputInfo((len(c),), is_initializer=True, value=c) for c in consts))
    return apply_rule(lookup(op_type), "n", {}, infos)


@pytest.mark.parametrize(
    ("starts", "ends", "axes", "steps"),
    [((0,), (1,), (1,), (1,)), ((1,), (-1,), (2,), (1,)), ((0,), (10**9,), (0,), (3,)), ((-4,), (5,), (2,), (2,))],
    ids=["class-token", "negative-end", "clamped-step", "negative-start"],
)
def test_slice_matches_python_slicing(starts: tuple, ends: tuple, axes: tuple, steps: tuple) -> None:  # type: ignore[type-arg]
    shape = (7, 197, 10)
    result = _with_consts("Slice", shape, starts, ends, axes, steps)
    # Independent: Python's own slice semantics on a range of the sliced axis' length.
    expected = list(shape)
    expected[axes[0]] = len(range(shape[axes[0]])[slice(starts[0], ends[0], steps[0])])
    assert result.outputs == (tuple(expected),) and not result.terms


def test_expand_broadcasts_without_cost() -> None:
    result = _with_consts("Expand", (1, 1, 768), (8, 1, 1))
    assert result.outputs == ((8, 1, 768),) and not result.terms
