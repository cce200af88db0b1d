"""Quantized ops: QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger,
QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear.

A quantized product costs the MACs of its float counterpart (Conv, MatMul),
computed by the same rule; the scales and zero points are constants, not
parameters. Integer weights of these ops *are* parameters (see
:data:`INTEGER_WEIGHT_OPS`), as is the int8 weight a DequantizeLinear reads in
a QDQ model. Quantize and dequantize are elementwise:

* QuantizeLinear: elementwise_op = 2 per element (divide by the scale, add the
  zero point; rounding and saturation are not counted);
* DequantizeLinear: elementwise_op = 2 per element (subtract the zero point,
  multiply by the scale).
"""

from __future__ import annotations

from archcost.dtypes import dtype_name
from archcost.numeric import prod
from archcost.ops.conv import conv
from archcost.ops.gemm import matmul
from archcost.ops.registry import InputInfo, OpResult, OpView, register

#: ``(domain, op_type)`` of ops whose stored integer inputs in a ``weight`` or ``bias``
#: role are quantized parameters; elsewhere integer tensors are shape or index data.
INTEGER_WEIGHT_OPS = frozenset({
    ("", "QLinearConv"), ("", "QLinearMatMul"), ("", "ConvInteger"), ("", "MatMulInteger"),
    ("", "DequantizeLinear"),
    ("com.microsoft", "QGemm"), ("com.microsoft", "DynamicQuantizeMatMul"),
    ("com.microsoft", "MatMulNBits"), ("com.microsoft", "MatMulIntegerToFloat"),
    # TFLite: an int8 model's int32 biases (and int16x8's int64 ones) are read by the op itself.
    *(("tflite", op) for op in ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_3D", "TRANSPOSE_CONV", "FULLY_CONNECTED",
                                "UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM")),
})

_CONV_DEFAULTS = {"group": 1, "auto_pad": "NOTSET"}


def _inner(view: OpView, op_type: str, inputs: tuple[InputInfo | None, ...],
           defaults: dict[str, object] | None = None) -> OpView:
    return OpView(view.name, op_type, view.attrs, inputs, defaults or {})


@register("QLinearConv", roles=("x", "const", "const", "weight", "const", "const", "const", "const", "bias"),
          defaults={"auto_pad": "NOTSET", "group": 1})
def qlinear_conv(view: OpView) -> OpResult:
    """QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B): Conv's count,
    mac = B · N · H_out · W_out · (M/g) · K_h · K_w and bias_add with B; output dtype is y_zp's.
    """
    result = conv(_inner(view, "Conv", (view.input(0), view.input(3), view.optional(8)), _CONV_DEFAULTS))
    out_dtype = view.input(7).dtype
    return OpResult(outputs=result.outputs, terms=result.terms, category=result.category,
                    dtypes=(out_dtype,))


@register("QLinearMatMul", roles=("weight", "const", "const", "weight", "const", "const", "const", "const"))
def qlinear_matmul(view: OpView) -> OpResult:
    """QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp): MatMul's count,
    mac = (batch) · n · m · k; output dtype is y_zp's.
    """
    result = matmul(_inner(view, "MatMul", (view.input(0), view.input(3))))
    return OpResult(outputs=result.outputs, terms=result.terms, category=result.category,
                    dtypes=(view.input(7).dtype,))


@register("ConvInteger", roles=("x", "weight", "const", "const"), defaults={"auto_pad": "NOTSET", "group": 1})
def conv_integer(view: OpView) -> OpResult:
    """ConvInteger(x, w, x_zp, w_zp): Conv's count, mac = B · N · H_out · W_out · (M/g) · K_h · K_w;
    int32 output.
    """
    result = conv(_inner(view, "Conv", (view.input(0), view.input(1)), _CONV_DEFAULTS))
    return OpResult(outputs=result.outputs, terms=result.terms, category=result.category,
                    dtypes=("int32",))


@register("MatMulInteger", roles=("weight", "weight", "const", "const"))
def matmul_integer(view: OpView) -> OpResult:
    """MatMulInteger(A, B, a_zp, b_zp): MatMul's count, mac = (batch) · n · m · k; int32 output."""
    result = matmul(_inner(view, "MatMul", (view.input(0), view.input(1))))
    return OpResult(outputs=result.outputs, terms=result.terms, category=result.category,
                    dtypes=("int32",))


@register("QuantizeLinear", roles=("x", "const", "const"),
          defaults={"axis": 1, "block_size": 0, "output_dtype": 0, "precision": 0, "saturate": 1})
def quantize_linear(view: OpView) -> OpResult:
    """QuantizeLinear: elementwise_op = 2 per element. Output dtype: the zero point's, else
    ``output_dtype``, else uint8.
    """
    x = view.input(0)
    zero_point = view.optional(2)
    if zero_point is not None:
        dtype = zero_point.dtype
    elif view.attr("output_dtype"):
        dtype = dtype_name(view.attr("output_dtype"))
    else:
        dtype = "uint8"
    return OpResult(outputs=(x.shape,), terms={"elementwise_op": 2 * prod(x.shape)}, dtypes=(dtype,))


@register("DequantizeLinear", roles=("weight", "const", "const"),
          defaults={"axis": 1, "block_size": 0, "output_dtype": 0})
def dequantize_linear(view: OpView) -> OpResult:
    """DequantizeLinear: elementwise_op = 2 per element. Output dtype: ``output_dtype``, else
    the scale's. A stored input is a quantized ``weight`` (the QDQ pattern).
    """
    x, scale = view.input(0), view.input(1)
    dtype = dtype_name(view.attr("output_dtype")) if view.attr("output_dtype") else scale.dtype
    return OpResult(outputs=(x.shape,), terms={"elementwise_op": 2 * prod(x.shape)}, dtypes=(dtype,))


@register("DynamicQuantizeLinear")
def dynamic_quantize_linear(view: OpView) -> OpResult:
    """DynamicQuantizeLinear: uint8 y, float32 scalar scale, uint8 scalar zero point.

    pool_op = 2 per element (running min and max) and elementwise_op = 2 per element
    (the quantization, as QuantizeLinear).
    """
    x = view.input(0)
    n = prod(x.shape)
    return OpResult(outputs=(x.shape, (), ()), terms={"pool_op": 2 * n, "elementwise_op": 2 * n},
                    dtypes=("uint8", "float32", "uint8"))
