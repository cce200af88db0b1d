"""The quantized ``com.microsoft`` ops that onnxruntime's quantization tools and optimizer write:
weight-only and integer products, quantized attention and LSTM, the QLinear elementwise,
concat and pooling ops, and the domain's own QuantizeLinear / DequantizeLinear.

Formulas follow the operator schemas in onnxruntime's ``docs/ContribOperators.md``. As in
:mod:`archcost.ops.quantized`, a quantized op costs what its float counterpart costs,
computed by that op's own rule (mac = M · N · K for a product; Add's, Sigmoid's, AveragePool's
per-element counts), and rescaling an integer result by the scales and zero points is not
counted; scales and zero points are constants, not parameters. Two ops are defined as the
fusion of a standalone (de)quantization with a product, and count it as that op does:

* MatMulNBits dequantizes its packed weight: DequantizeLinear's elementwise_op = 2 per
  logical weight, K · N;
* DynamicQuantizeMatMul quantizes its float input A at run time: DynamicQuantizeLinear's
  pool_op = 2 and elementwise_op = 2 per element of A.
"""

from __future__ import annotations

from archcost.categories import Category
from archcost.numeric import Count, prod
from archcost.ops.activation import sigmoid
from archcost.ops.elementwise import binary
from archcost.ops.gemm import gemm, matmul
from archcost.ops.microsoft import MS, ms_attention
from archcost.ops.pool import average_pool, global_pool
from archcost.ops.quantized import dequantize_linear, dynamic_quantize_linear, quantize_linear
from archcost.ops.recurrent import lstm
from archcost.ops.registry import InputInfo, OpResult, OpView, lookup, register
from archcost.ops.shape import concat
from archcost.ops.unary import leaky_relu

#: Input roles shared by the single-input QLinear ops: X, X_scale, X_zero_point, Y_scale, Y_zero_point.
_QLINEAR_UNARY = ("x", "const")
#: Input roles of QLinearAdd and QLinearMul: A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_...
_QLINEAR_BINARY = ("x", "const", "const", "x", "const")


def _inner(view: OpView, op_type: str, inputs: tuple[InputInfo | None, ...],
           attrs: dict[str, object] | None = None) -> OpView:
    """A view of the float counterpart ``op_type`` on ``inputs``, with that op's defaults."""
    entry = lookup(op_type)
    return OpView(view.name, op_type, view.attrs if attrs is None else attrs, inputs, entry.defaults,
                  view.ledger, view.opset)


# --- products -------------------------------------------------------------------------------

@register("MatMulNBits", domain=MS, roles=("x", "weight", "const", "const", "const", "bias"),
          defaults={"accuracy_level": 0, "bits": 4, "weight_prepacked": 0})
def matmul_n_bits(view: OpView) -> OpResult:
    """MatMulNBits(A ``[..., K]``, B, scales, zero_points, g_idx, bias): A times the ``bits``-bit
    weight ``[K, N]`` (attributes K, N), dequantized block-wise along K. Output ``[..., N]``.

    * mac = (product of A's leading dims) · K · N, as MatMul;
    * elementwise_op = 2 · K · N (the weight's dequantization, (w − zero point) · scale,
      DequantizeLinear's count); bias_add = 1 per output element with a bias;
    * an omitted projection (a 0 in B's packed shape) multiplies nothing: the output is the
      bias, so mac = 0.

    The packed B ``[N, ⌈K/block_size⌉, block_size·bits/8]`` (uint8) is the ``weight``
    parameter, counted as stored: N · ⌈K/block_size⌉ · block_size·bits/8 elements, which is
    K · N · bits/8 when the block divides K (K·N/2 at 4 bits), not the K · N logical weights.
    Parameters are sized from initializer dims, never from attributes, so the weight bytes
    are exact; the logical K · N is in the mac term.
    """
    a, b = view.input(0), view.input(1)
    k, n = view.attr("K"), view.attr("N")
    if not isinstance(k, int) or not isinstance(n, int) or k < 1 or n < 1:
        raise view.fail("the 'K' and 'N' attributes must be positive integers")
    if not a.shape:
        raise view.fail("A must have rank ≥ 1")
    view.equal(a.shape[-1], k, "A's last axis is the weight's K")
    omitted = any(type(dim) is int and dim == 0 for dim in b.shape)
    if not omitted and not view.attr("weight_prepacked") and b.shape:
        view.equal(b.shape[0], n, "the packed weight has one row per output feature N")
    out = (*a.shape[:-1], n)
    rows = prod(a.shape[:-1])
    terms: dict[str, Count] = {} if omitted else {"mac": rows * k * n, "elementwise_op": 2 * k * n}
    if view.optional(5) is not None:
        terms["bias_add"] = prod(out)
    return OpResult(outputs=(out,), terms=terms, category=Category.FULLY_CONNECTED)


@register("MatMulIntegerToFloat", domain=MS, roles=("weight", "weight", "const", "const", "const", "const", "bias"))
def matmul_integer_to_float(view: OpView) -> OpResult:
    """MatMulIntegerToFloat(A, B, a_scale, b_scale, a_zp, b_zp, bias) = (A − a_zp)(B − b_zp) ·
    a_scale · b_scale + bias: MatMul's count, mac = (batch) · n · m · k, and bias_add = 1 per
    output element with a bias. Output dtype: the scales'.
    """
    result = matmul(_inner(view, "MatMul", (view.input(0), view.input(1)), {}))
    terms = dict(result.terms)
    if view.optional(6) is not None:
        terms["bias_add"] = prod(result.outputs[0])
    return OpResult(outputs=result.outputs, terms=terms, category=result.category,
                    dtypes=(view.input(2).dtype,))


@register("DynamicQuantizeMatMul", domain=MS, roles=("weight", "weight", "const", "const", "bias"))
def dynamic_quantize_matmul(view: OpView) -> OpResult:
    """DynamicQuantizeMatMul(A, B, b_scale, b_zp, bias): A (float) quantized at run time, then
    an integer MatMul with B, rescaled to float.

    * mac = (batch) · n · m · k, as MatMul; bias_add = 1 per output element with a bias;
    * pool_op = 2 · |A| and elementwise_op = 2 · |A| (DynamicQuantizeLinear on A).
    """
    a = view.input(0)
    result = matmul(_inner(view, "MatMul", (a, view.input(1)), {}))
    quantize = dynamic_quantize_linear(_inner(view, "DynamicQuantizeLinear", (a,), {}))
    terms = {**result.terms, **quantize.terms}
    if view.optional(4) is not None:
        terms["bias_add"] = prod(result.outputs[0])
    return OpResult(outputs=result.outputs, terms=terms, category=result.category, dtypes=(a.dtype,))


@register("QGemm", domain=MS, roles=("weight", "const", "const", "weight", "const", "const", "bias", "const",
                                     "const"),
          defaults={"alpha": 1.0, "transA": 0, "transB": 0})
def qgemm(view: OpView) -> OpResult:
    """QGemm(A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp): Gemm's count, mac = M · N · K
    and bias_add = M · N with C (int32). Output dtype: y_zp's with y_scale (quantized), else float32.
    """
    attrs = {"transA": view.attr("transA"), "transB": view.attr("transB")}
    result = gemm(_inner(view, "Gemm", (view.input(0), view.input(3), view.optional(6)), attrs))
    y_scale, y_zero_point = view.optional(7), view.optional(8)
    if y_scale is None:
        dtype = "float32"
    else:
        dtype = y_zero_point.dtype if y_zero_point is not None else "uint8"
    return OpResult(outputs=result.outputs, terms=result.terms, category=result.category, dtypes=(dtype,))


@register("QAttention", domain=MS, roles=("x", "weight", "bias", "const", "const", "const", "const", "const", "x"),
          defaults={"unidirectional": 0})
def qattention(view: OpView) -> OpResult:
    """QAttention(input, weight, bias, input_scale, weight_scale, mask_index, input_zp, weight_zp,
    past): com.microsoft Attention's count on the integer input ``[B, S, h_in]``:

    * mac = B · S · h_in · 3h (the packed QKV projection) + 2 · B · N · S · L · d, L = past + S;
    * bias_add = B · S · 3h; softmax_op = 3 · B · N · S · L.

    Output ``[B, S, h]`` and present ``[2, B, N, L, d]``, in the bias's dtype.
    """
    inputs = (view.input(0), view.input(1), view.input(2), view.optional(5), view.optional(8))
    result = ms_attention(OpView(view.name, "Attention", view.attrs, inputs, view.defaults, view.ledger))
    dtype = view.input(2).dtype
    return OpResult(outputs=result.outputs, terms=result.terms, category=result.category, dtypes=(dtype, dtype))


@register("DynamicQuantizeLSTM", domain=MS,
          roles=("x", "weight", "weight", "bias", "const", "const", "const", "weight", "const", "const", "const",
                 "const"),
          defaults={"direction": "forward", "input_forget": 0})
def dynamic_quantize_lstm(view: OpView) -> OpResult:
    """DynamicQuantizeLSTM(X, W ``[D, I, 4H]``, R ``[D, H, 4H]``, B, sequence_lens, initial_h,
    initial_c, P, W_scale, W_zp, R_scale, R_zp): LSTM with integer weights stored transposed.
    LSTM's count (:mod:`archcost.ops.recurrent`): mac = T · D · B · 4H · (I + H), and its
    bias_add, elementwise_op and activation_op. The kernel's quantization of X and h for its
    integer products is not counted (no standalone op does it).
    """
    w, r = view.input(1), view.input(2)
    if len(w.shape) != 3 or len(r.shape) != 3:
        raise view.fail(f"W {list(w.shape)} and R {list(r.shape)} must be rank 3")
    # ONNX LSTM stores the gates first: [D, 4H, I] and [D, 4H, H].
    w_t = InputInfo((w.shape[0], w.shape[2], w.shape[1]), w.dtype, w.is_initializer)
    r_t = InputInfo((r.shape[0], r.shape[2], r.shape[1]), r.dtype, r.is_initializer)
    inputs = (view.input(0), w_t, r_t, *(view.optional(i) for i in range(3, 8)))
    return lstm(_inner(view, "LSTM", inputs))


# --- QLinear elementwise, concat and pooling ---------------------------------------------------

@register("QLinearAdd", domain=MS, roles=_QLINEAR_BINARY)
def qlinear_add(view: OpView) -> OpResult:
    """QLinearAdd(A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp): Add's count,
    elementwise_op = 1 per (broadcast) output element; A's dtype.
    """
    return binary(_inner(view, "Add", (view.input(0), view.input(3)), {}))


@register("QLinearMul", domain=MS, roles=_QLINEAR_BINARY)
def qlinear_mul(view: OpView) -> OpResult:
    """QLinearMul(A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp): Mul's count,
    elementwise_op = 1 per (broadcast) output element; A's dtype.
    """
    return binary(_inner(view, "Mul", (view.input(0), view.input(3)), {}))


@register("QLinearSigmoid", domain=MS, roles=_QLINEAR_UNARY)
def qlinear_sigmoid(view: OpView) -> OpResult:
    """QLinearSigmoid(X, X_scale, X_zp, Y_scale, Y_zp): Sigmoid's count, activation_op = 3 per element."""
    return sigmoid(view)


@register("QLinearLeakyRelu", domain=MS, roles=_QLINEAR_UNARY, defaults={"alpha": 0.01})
def qlinear_leaky_relu(view: OpView) -> OpResult:
    """QLinearLeakyRelu(X, X_scale, X_zp, Y_scale, Y_zp): LeakyRelu's count, activation_op = 2 per
    element.
    """
    return leaky_relu(view)


@register("QLinearConcat", domain=MS, roles=("const", "const", "x"))
def qlinear_concat(view: OpView) -> OpResult:
    """QLinearConcat(Y_scale, Y_zp, X₁, X₁_scale, X₁_zp, X₂, ...): Concat of the X along ``axis``,
    no cost (a copy, requantized); Y_zp's dtype.
    """
    tensors = view.inputs[2::3]
    if len(view.inputs) < 5 or (len(view.inputs) - 2) % 3:
        raise view.fail(f"takes Y_scale, Y_zero_point and (tensor, scale, zero point) triples, "
                        f"got {len(view.inputs)} inputs")
    result = concat(_inner(view, "Concat", tensors, dict(view.attrs)))
    return OpResult(outputs=result.outputs, dtypes=(view.input(1).dtype,))


def _channels_first(view: OpView) -> tuple[OpView, bool]:
    """The view with its input as ``[N, C, spatial...]``, and whether it was channels-last."""
    x = view.input(0)
    if not view.attr("channels_last") or len(x.shape) < 3:
        return view, False
    moved = InputInfo((x.shape[0], x.shape[-1], *x.shape[1:-1]), x.dtype, x.is_initializer)
    return OpView(view.name, view.op_type, view.attrs, (moved, *view.inputs[1:]), view.defaults, view.ledger,
                  view.opset), True


def _channels_back(result: OpResult, moved: bool) -> OpResult:
    if not moved:
        return result
    y = result.outputs[0]
    return OpResult(outputs=((y[0], *y[2:], y[1]),), terms=result.terms, category=result.category)


@register("QLinearGlobalAveragePool", domain=MS, roles=_QLINEAR_UNARY, defaults={"channels_last": 0})
def qlinear_global_average_pool(view: OpView) -> OpResult:
    """QLinearGlobalAveragePool: GlobalAveragePool's count, pool_op = N·C·H·W; output
    ``[N, C, 1, 1]``, or ``[N, 1, 1, C]`` with ``channels_last``.
    """
    inner, moved = _channels_first(view)
    return _channels_back(global_pool(inner), moved)


@register("QLinearAveragePool", domain=MS, roles=_QLINEAR_UNARY,
          defaults={"auto_pad": "NOTSET", "ceil_mode": 0, "channels_last": 0, "count_include_pad": 0})
def qlinear_average_pool(view: OpView) -> OpResult:
    """QLinearAveragePool: AveragePool's count, pool_op = N·C·H_out·W_out·K_h·K_w, with
    AveragePool's output sizes; ``channels_last`` keeps the channels last.
    """
    inner, moved = _channels_first(view)
    return _channels_back(average_pool(inner), moved)


# --- the domain's own QuantizeLinear and DequantizeLinear ------------------------------------

@register("QuantizeLinear", domain=MS, roles=("x", "const", "const"))
def ms_quantize_linear(view: OpView) -> OpResult:
    """QuantizeLinear (com.microsoft): as the default domain's, elementwise_op = 2 per element;
    the zero point's dtype, else uint8.
    """
    return quantize_linear(view)


@register("DequantizeLinear", domain=MS, roles=("weight", "const", "const"))
def ms_dequantize_linear(view: OpView) -> OpResult:
    """DequantizeLinear (com.microsoft): as the default domain's, elementwise_op = 2 per element;
    the scale's dtype. A stored input is a quantized ``weight`` (the QDQ pattern).
    """
    return dequantize_linear(view)

