"""TFLite (LiteRT) builtin operators, domain ``tflite``: the layers with weights.

Every rule here maps a TFLite operator onto the registry's ONNX rule and calls it, so each
operator still has one formula (:mod:`archcost.ops.conv`, :mod:`archcost.ops.gemm`, ...). Why rules
rather than ONNX nodes built by the front end: the tensors keep the shapes the file and the
LiteRT interpreter have (NHWC activations, OHWI filters), so ``verify`` compares every tensor
as it ran, and each TFLite operator stays one report row under its own name. The rule only
moves axes: an NHWC input ``[B, H, W, C]`` is handed to the ONNX rule as ``[B, C, H, W]``, a
filter in its ONNX layout, and the ONNX output is moved back to NHWC.

* ``padding`` SAME is ONNX's ``auto_pad`` SAME_UPPER (output ⌈D/s⌉, the odd pad at the end, as
  TensorFlow pads); VALID is VALID.
* A fused activation (``fused_activation_function`` RELU, RELU6, RELU_N1_TO_1, TANH, SIGN_BIT)
  adds the terms of the matching ONNX activation rule on the output (Relu, Clip, Tanh, Sign):
  the ``paper`` convention counts none of them, ``flops`` does, as for an unfused activation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archcost.numeric import Count, exact_div, prod, same
from archcost.ops.registry import REGISTRY, InputInfo, OpResult, OpView, register

DOMAIN = "tflite"
Shape = tuple[Count, ...]

#: TFLite padding → ONNX auto_pad.
PADDING = {"SAME": "SAME_UPPER", "VALID": "VALID"}
#: Fused activation → the ONNX rule whose terms it adds.
FUSED = {"RELU": "Relu", "RELU6": "Clip", "RELU_N1_TO_1": "Clip", "TANH": "Tanh", "SIGN_BIT": "Sign"}


def onnx_rule(view: OpView, op_type: str, inputs: tuple[InputInfo | None, ...],
              attrs: Mapping[str, Any] | None = None, opset: int = 0) -> OpResult:
    """Run the ONNX rule of ``op_type`` for this node, with ``inputs`` and ``attrs``."""
    entry = REGISTRY[("", op_type)]
    return entry.rule(OpView(view.name, op_type, attrs or {}, inputs, entry.defaults, view.ledger, opset))


def nchw(info: InputInfo) -> InputInfo:
    """An NHWC (or NDHWC) tensor as ONNX's channels-first rules read it."""
    s = info.shape
    return info._replace(shape=(s[0], s[-1], *s[1:-1]))


def nhwc(shape: Shape) -> Shape:
    """A channels-first output back in the file's channels-last layout."""
    return (shape[0], *shape[2:], shape[1])


def merge(*term_sets: Mapping[str, Count]) -> dict[str, Count]:
    """Term dicts added key by key."""
    out: dict[str, Count] = {}
    for terms in term_sets:
        for key, value in terms.items():
            out[key] = out[key] + value if key in out else value
    return out


def finish(view: OpView, result: OpResult, outputs: tuple[Shape, ...], dtype: str | None = None) -> OpResult:
    """``result`` with ``outputs`` and the fused activation's terms added."""
    terms: Mapping[str, Count] = result.terms
    fused = view.attr("fused_activation_function", "NONE")
    if fused in FUSED and outputs:
        act = onnx_rule(view, FUSED[fused], (InputInfo(outputs[0]),))
        terms = merge(terms, act.terms)
    elif fused not in ("NONE", None):
        raise view.fail(f"unknown fused activation {fused!r}")
    return OpResult(outputs=outputs, terms=terms, category=result.category, values=result.values,
                    dtypes=(dtype,) * len(outputs) if dtype else result.dtypes)


def _rank(view: OpView, info: InputInfo, rank: int, what: str) -> Shape:
    if len(info.shape) != rank:
        raise view.fail(f"{what} must be rank {rank}, got {list(info.shape)}")
    return info.shape


def _window(view: OpView, kernel: list[Count], spatial: int = 2) -> dict[str, Any]:
    names = ("d", "h", "w")[-spatial:]
    return {"strides": [view.attr(f"stride_{n}", 1) for n in names],
            "dilations": [view.attr(f"dilation_{n}_factor", 1) for n in names],
            "auto_pad": PADDING.get(view.attr("padding", "SAME"), "NOTSET"), "kernel_shape": kernel}


def _groups(view: OpView, channels: Count, per_group: Count) -> Count:
    if same(channels, per_group) is not False:
        return 1
    return exact_div(channels, per_group)


@register("CONV_2D", roles=("x", "weight", "bias"), domain=DOMAIN,
          defaults={"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "NONE",
                    "dilation_w_factor": 1, "dilation_h_factor": 1})
def conv_2d(view: OpView) -> OpResult:
    """CONV_2D, input ``[B, H, W, M]``, filter OHWI ``[N, K_h, K_w, M/g]``: ONNX Conv's count,
    mac = B · N · H_out · W_out · (M/g) · K_h · K_w; bias_add with the bias (TFLite always stores one).
    """
    x, w, b = view.input(0), view.input(1), view.optional(2)
    _rank(view, x, 4, "the input")
    n, kh, kw, per_group = _rank(view, w, 4, "the filter")
    attrs = {**_window(view, [kh, kw]), "group": _groups(view, x.shape[3], per_group)}
    result = onnx_rule(view, "Conv", (nchw(x), w._replace(shape=(n, per_group, kh, kw)), b), attrs)
    return finish(view, result, (nhwc(result.outputs[0]),))


@register("DEPTHWISE_CONV_2D", roles=("x", "weight", "bias"), domain=DOMAIN,
          defaults={"padding": "SAME", "stride_w": 1, "stride_h": 1, "depth_multiplier": 0,
                    "fused_activation_function": "NONE", "dilation_w_factor": 1, "dilation_h_factor": 1})
def depthwise_conv_2d(view: OpView) -> OpResult:
    """DEPTHWISE_CONV_2D, input ``[B, H, W, M]``, filter ``[1, K_h, K_w, M·m]`` (m the depth
    multiplier): ONNX Conv with group = M and weight ``[M·m, 1, K_h, K_w]``,
    mac = B · M·m · H_out · W_out · K_h · K_w (the paper's D_K·D_K·M·D_F·D_F for m = 1).
    """
    x, w, b = view.input(0), view.input(1), view.optional(2)
    _rank(view, x, 4, "the input")
    _, kh, kw, out = _rank(view, w, 4, "the filter")
    attrs = {**_window(view, [kh, kw]), "group": x.shape[3]}
    result = onnx_rule(view, "Conv", (nchw(x), w._replace(shape=(out, 1, kh, kw)), b), attrs)
    return finish(view, result, (nhwc(result.outputs[0]),))


@register("CONV_3D", roles=("x", "weight", "bias"), domain=DOMAIN,
          defaults={"padding": "SAME", "stride_d": 1, "stride_w": 1, "stride_h": 1,
                    "fused_activation_function": "NONE", "dilation_d_factor": 1, "dilation_w_factor": 1,
                    "dilation_h_factor": 1})
def conv_3d(view: OpView) -> OpResult:
    """CONV_3D, input ``[B, D, H, W, M]``, filter ``[K_d, K_h, K_w, M, N]``: ONNX Conv's count,
    mac = B · N · D_out · H_out · W_out · M · K_d · K_h · K_w."""
    x, w, b = view.input(0), view.input(1), view.optional(2)
    _rank(view, x, 5, "the input")
    kd, kh, kw, m, n = _rank(view, w, 5, "the filter")
    attrs = {**_window(view, [kd, kh, kw], 3), "group": _groups(view, x.shape[4], m)}
    result = onnx_rule(view, "Conv", (nchw(x), w._replace(shape=(n, m, kd, kh, kw)), b), attrs)
    return finish(view, result, (nhwc(result.outputs[0]),))


@register("TRANSPOSE_CONV", roles=("const", "weight", "x", "bias"), domain=DOMAIN,
          defaults={"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "NONE"})
def transpose_conv(view: OpView) -> OpResult:
    """TRANSPOSE_CONV(output_shape, filter ``[N, K_h, K_w, M]``, input ``[B, H, W, M]``, bias):
    ONNX ConvTranspose's count, mac = B · M · H · W · N · K_h · K_w; the output size is the
    ``output_shape`` input when its contents are stored, else a symbol per axis."""
    shape, w, x, b = view.input(0), view.input(1), view.input(2), view.optional(3)
    _rank(view, x, 4, "the input")
    n, kh, kw, m = _rank(view, w, 4, "the filter")
    attrs = _window(view, [kh, kw])
    if shape.value is not None and len(shape.value) == 4:
        attrs["output_shape"] = [shape.value[1], shape.value[2]]
    else:
        attrs["output_shape"] = [view.symbol(f"out_dim{axis}", f"output axis {axis} is the run-time contents of "
                                             f"the output_shape input {shape.name!r}") for axis in (1, 2)]
    result = onnx_rule(view, "ConvTranspose", (nchw(x), w._replace(shape=(m, n, kh, kw)), b), attrs)
    return finish(view, result, (nhwc(result.outputs[0]),), x.dtype)


@register("FULLY_CONNECTED", roles=("x", "weight", "bias"), domain=DOMAIN,
          defaults={"fused_activation_function": "NONE", "keep_num_dims": False})
def fully_connected(view: OpView) -> OpResult:
    """FULLY_CONNECTED, input ``[..., K]`` read as ``[R, K]`` rows, weights ``[N, K]``: ONNX Gemm
    (transB) on the rows, mac = R · N · K, bias_add = R · N with a bias. The output is
    ``[..., N]`` with ``keep_num_dims``, else ``[R, N]``."""
    x, w, b = view.input(0), view.input(1), view.optional(2)
    n, k = _rank(view, w, 2, "the weights")
    if not x.shape:
        raise view.fail("the input must have rank ≥ 1")
    if same(x.shape[-1], k) is not False:
        view.equal(x.shape[-1], k, "the input's last dim matches the weights' input size")
        rows = prod(x.shape[:-1])
    else:
        rows = exact_div(prod(x.shape), k)
    result = onnx_rule(view, "Gemm", (x._replace(shape=(rows, k)), w, b), {"transB": 1})
    out = (*x.shape[:-1], n) if view.attr("keep_num_dims") else (rows, n)
    return finish(view, result, (out,))


@register("BATCH_MATMUL", roles=("weight", "weight"), domain=DOMAIN, defaults={"adj_x": False, "adj_y": False})
def batch_matmul(view: OpView) -> OpResult:
    """BATCH_MATMUL (``adj_x``, ``adj_y`` transpose the last two axes first): ONNX MatMul's
    count, mac = (broadcast batch dims) · n · m · k."""
    x, y = view.input(0), view.input(1)

    def adjusted(info: InputInfo, flag: str) -> InputInfo:
        s = info.shape
        return info._replace(shape=(*s[:-2], s[-1], s[-2])) if view.attr(flag) and len(s) >= 2 else info

    return onnx_rule(view, "MatMul", (adjusted(x, "adj_x"), adjusted(y, "adj_y")))


_POOLS = {"AVERAGE_POOL_2D": "AveragePool", "MAX_POOL_2D": "MaxPool", "L2_POOL_2D": "LpPool"}


def _pool(view: OpView) -> OpResult:
    x = view.input(0)
    _rank(view, x, 4, "the input")
    attrs = _window(view, [view.attr("filter_height"), view.attr("filter_width")])
    del attrs["dilations"]
    result = onnx_rule(view, _POOLS[view.op_type], (nchw(x),), attrs)
    return finish(view, result, (nhwc(result.outputs[0]),))


def _pool_rule(name: str, onnx: str) -> None:
    def rule(view: OpView) -> OpResult:
        return _pool(view)

    rule.__doc__ = (f"{name}, input ``[B, H, W, C]``, window ``filter_height × filter_width``: ONNX {onnx}'s "
                    "count on ``[B, C, H, W]``, pool_op = B·C·H_out·W_out·K_h·K_w.")
    rule.__name__ = rule.__qualname__ = name.lower()
    register(name, domain=DOMAIN, defaults={"padding": "SAME", "stride_w": 1, "stride_h": 1,
                                            "fused_activation_function": "NONE"})(rule)


for _name, _onnx in _POOLS.items():
    _pool_rule(_name, _onnx)


_RESIZES = {"RESIZE_BILINEAR": "linear", "RESIZE_NEAREST_NEIGHBOR": "nearest"}


def _resize(view: OpView) -> OpResult:
    x, size = view.input(0), view.input(1)
    _rank(view, x, 4, "the input")
    if size.value is not None and len(size.value) == 2:
        new = size.value
    else:
        new = tuple(view.symbol(f"out_dim{axis}", f"output axis {axis} is the run-time contents of the size input "
                                f"{size.name!r}") for axis in (1, 2))
    sizes = InputInfo((4,), "int64", True, (x.shape[0], x.shape[3], *new))
    result = onnx_rule(view, "Resize", (nchw(x), None, None, sizes), {"mode": _RESIZES[view.op_type]})
    return finish(view, result, (nhwc(result.outputs[0]),))


def _resize_rule(name: str) -> None:
    def rule(view: OpView) -> OpResult:
        return _resize(view)

    rule.__doc__ = (f"{name}(input ``[B, H, W, C]``, size ``[H', W']``): ONNX Resize's count, "
                    "elementwise_op = one per output element B·H'·W'·C.")
    rule.__name__ = rule.__qualname__ = name.lower()
    register(name, roles=("x", "const"), domain=DOMAIN,
             defaults={"align_corners": False, "half_pixel_centers": False})(rule)


for _name in _RESIZES:
    _resize_rule(_name)


#: UNIDIRECTIONAL_SEQUENCE_LSTM inputs (``lstm.cc``): 0 input, 1-4 input-to-gate weights (i, f, c, o),
#: 5-8 recurrent weights, 9-11 peepholes, 12-15 gate biases, 16 projection weights, 17 projection
#: bias, 18-19 output and cell state (variables), 20-23 layer-norm coefficients.
_LSTM_ROLES = ("x", *(["weight"] * 11), *(["bias"] * 4), "weight", "bias", "const", "const", *(["norm"] * 4))


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", roles=_LSTM_ROLES, domain=DOMAIN,
          defaults={"fused_activation_function": "TANH", "time_major": False})
def unidirectional_sequence_lstm(view: OpView) -> OpResult:
    """UNIDIRECTIONAL_SEQUENCE_LSTM, input ``[B, T, I]`` (``[T, B, I]`` when ``time_major``), four
    gates of H units with input-to-gate weights ``[H, I]``: ONNX LSTM's count,
    mac = T · B · 4H · (I + H). Output ``[B, T, H]`` (``[T, B, H]``). A CIFG (no input gate) or a
    projection layer has no ONNX LSTM form: the front end names those variants apart
    (``UNIDIRECTIONAL_SEQUENCE_LSTM:CIFG``), which leaves them unknown rather than miscounted.
    """
    x = view.input(0)
    _rank(view, x, 3, "the input")
    return _lstm(view, x, 0 if view.attr("time_major") else 1)


@register("LSTM", roles=_LSTM_ROLES, domain=DOMAIN, defaults={"fused_activation_function": "TANH",
                                                              "kernel_type": 0})
def lstm(view: OpView) -> OpResult:
    """LSTM, one time step (the FULL kernel; inputs as UNIDIRECTIONAL_SEQUENCE_LSTM's), input
    ``[B, I]``: ONNX LSTM's count for T = 1, mac = B · 4H · (I + H); output ``[B, H]``."""
    x = view.input(0)
    _rank(view, x, 2, "the input")
    if view.attr("kernel_type") != 0:
        raise view.fail("the BASIC LSTM kernel (kernel_type 1) has no count here; archcost counts the FULL one")
    result = _lstm(view, x._replace(shape=(1, *x.shape)), 0)
    return result._replace(outputs=(result.outputs[0][1:],))


def _lstm(view: OpView, x: InputInfo, layout: int) -> OpResult:
    """The sequence LSTM's outputs and terms on ``x`` (``[T, B, I]`` for layout 0, ``[B, T, I]`` for 1)."""
    if view.optional(1) is None or view.optional(16) is not None:
        raise view.fail("a CIFG or projected LSTM has no ONNX LSTM count; archcost counts the standard one")
    forget, recurrent = view.input(2), view.input(6)
    hidden, inputs = _rank(view, forget, 2, "the input-to-forget weights")
    four = InputInfo((1, 4 * hidden, inputs), forget.dtype, True)
    recur = InputInfo((1, 4 * hidden, recurrent.shape[-1]), recurrent.dtype, True)
    bias = InputInfo((1, 8 * hidden), forget.dtype, True) if view.optional(12) is not None else None
    peep = InputInfo((1, 3 * hidden), forget.dtype, True) if view.optional(9) is not None else None
    result = onnx_rule(view, "LSTM", (x, four, recur, bias, None, None, None, peep),
                       {"hidden_size": hidden, "layout": layout})
    t, b = (x.shape[0], x.shape[1]) if layout == 0 else (x.shape[1], x.shape[0])
    out = (t, b, hidden) if layout == 0 else (b, t, hidden)
    # ONNX counts both of its bias vectors; TFLite stores one per gate.
    terms = dict(result.terms)
    if bias is not None:
        terms["bias_add"] = t * b * 4 * hidden
    return OpResult(outputs=(out,), terms=terms, category=result.category)
