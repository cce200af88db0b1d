"""TFLite (LiteRT) builtin operators, domain ``tflite``: elementwise math, activations,
reductions, data movement, quantization, resource variables and control flow.

As in :mod:`archcost.ops.tflite`, each rule hands the node to the ONNX rule with the same
semantics (named in its docstring), so a count is written once. TFLite operators whose inputs
are ONNX's in another form are mapped here: an axis in a tensor (``EXPAND_DIMS``), paddings as a
``[rank, 2]`` tensor (``PAD``), ``size_splits`` with one -1 (``SPLIT_V``). The few that ONNX lacks
(``STRIDED_SLICE`` with its masks, ``PACK``, ``UNPACK``, ``SLICE`` with -1 sizes, resource
variables, ``WHILE``) move no arithmetic, or only their subgraphs', and are written here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archcost.dtypes import DTYPE_CODES
from archcost.numeric import Count, prod
from archcost.ops.control import BodyResult, _after, if_, scale_terms
from archcost.ops.registry import InputInfo, OpResult, OpView, register
from archcost.ops.tensor import concrete_ints, input_values, normalize_axis
from archcost.ops.tflite import DOMAIN, finish, merge, nchw, nhwc, onnx_rule

Shape = tuple[Count, ...]

#: Broadcasting binary ops → (ONNX op, input roles). ADD/SUB/MUL take ONNX's parameter roles: a
#: stored operand of an add is a bias, of a multiply a weight, as for the ONNX twin.
_BINARY = {
    "ADD": ("Add", ("bias", "bias")), "SUB": ("Sub", ("bias", "bias")), "MUL": ("Mul", ("weight", "weight")),
    "DIV": ("Div", ("x", "x")), "MAXIMUM": ("Max", ("x", "x")), "MINIMUM": ("Min", ("x", "x")),
    "POW": ("Pow", ("x", "const")), "FLOOR_MOD": ("Mod", ("x", "const")), "EQUAL": ("Equal", ("x", "const")),
    "NOT_EQUAL": ("Equal", ("x", "const")), "LESS": ("Less", ("x", "const")),
    "GREATER": ("Greater", ("x", "const")), "LESS_EQUAL": ("LessOrEqual", ("x", "const")),
    "GREATER_EQUAL": ("GreaterOrEqual", ("x", "const")), "LOGICAL_AND": ("And", ("x", "x")),
    "LOGICAL_OR": ("Or", ("x", "x")),
}
#: Binary ops that are two ONNX ops: (x − y)², ⌊x / y⌋.
_TWO_STEP = {"SQUARED_DIFFERENCE": ("Sub", "Mul"), "FLOOR_DIV": ("Div", "Floor")}
#: Unary ops and activations → the ONNX rules whose terms they take, in order.
_UNARY: dict[str, tuple[str, ...]] = {
    "LOGISTIC": ("Sigmoid",), "TANH": ("Tanh",), "RELU": ("Relu",), "RELU6": ("Clip",),
    "RELU_N1_TO_1": ("Clip",), "RELU_0_TO_1": ("Clip",), "HARD_SWISH": ("HardSwish",), "ELU": ("Elu",),
    "GELU": ("Gelu",), "EXP": ("Exp",), "LOG": ("Log",), "SQRT": ("Sqrt",), "RSQRT": ("Sqrt", "Reciprocal"),
    "NEG": ("Neg",), "ABS": ("Abs",), "SIN": ("Sin",), "COS": ("Cos",), "FLOOR": ("Floor",), "CEIL": ("Ceil",),
    "ROUND": ("Round",), "SIGN": ("Sign",), "LOGICAL_NOT": ("Not",), "SQUARE": ("Mul",),
    "LEAKY_RELU": ("LeakyRelu",), "SOFTMAX": ("Softmax",), "LOG_SOFTMAX": ("LogSoftmax",),
    "L2_NORMALIZATION": ("LpNormalization",),
}
#: Reductions (input, axes tensor; ``keep_dims``) → ONNX reductions with axes as input 1 (opset 18).
#: REDUCE_ANY and REDUCE_ALL are a max and a min over booleans: one compare per element.
_REDUCE = {"MEAN": "ReduceMean", "SUM": "ReduceSum", "REDUCE_MAX": "ReduceMax", "REDUCE_MIN": "ReduceMin",
           "REDUCE_PROD": "ReduceProd", "REDUCE_ANY": "ReduceMax", "REDUCE_ALL": "ReduceMin"}


def _binary(view: OpView) -> OpResult:
    x, y = view.input(0), view.input(1)
    if view.op_type in _TWO_STEP:
        first, second = _TWO_STEP[view.op_type]
        a = onnx_rule(view, first, (x, y))
        out = InputInfo(a.outputs[0], x.dtype)
        b = onnx_rule(view, second, (out, out) if second == "Mul" else (out,))
        return OpResult(outputs=a.outputs, terms=merge(a.terms, b.terms), values=b.values)
    result = onnx_rule(view, _BINARY[view.op_type][0], (x, y))
    return finish(view, result, result.outputs)


def _unary(view: OpView) -> OpResult:
    x = view.input(0)
    steps = _UNARY[view.op_type]
    attrs: dict[str, Any] = {}
    if view.op_type == "LEAKY_RELU":
        attrs["alpha"] = view.attr("alpha", 0.2)
    results = [onnx_rule(view, step, (x, x) if step == "Mul" else (x,), attrs) for step in steps]
    return OpResult(outputs=results[0].outputs, terms=merge(*(r.terms for r in results)),
                    values=results[-1].values, dtypes=results[-1].dtypes)


def _reduce(view: OpView) -> OpResult:
    x, axes = view.input(0), view.input(1)
    return onnx_rule(view, _REDUCE[view.op_type], (x, axes), {"keepdims": int(bool(view.attr("keep_dims")))},
                     opset=18)


def _table(names: Any, rule: Callable[[OpView], OpResult], what: str, roles: Any = None) -> None:
    for name in names:
        def made(view: OpView) -> OpResult:
            return rule(view)

        spec = {**_BINARY, **{k: (" then ".join(v), ("x", "x")) for k, v in _TWO_STEP.items()},
                **{k: (" + ".join(v), ("x",)) for k, v in _UNARY.items()},
                **{k: (v, ("x", "const")) for k, v in _REDUCE.items()}}[name]
        made.__doc__ = f"{name}: {what} of ONNX {spec[0]}."
        made.__name__ = made.__qualname__ = name.lower()
        register(name, roles=roles or spec[1], domain=DOMAIN)(made)


_table(_BINARY, _binary, "the count (elementwise_op = 1 per output element; a fused activation adds its own)")
_table(_TWO_STEP, _binary, "elementwise_op = 2 per output element, the terms")
_table(_UNARY, _unary, "the ops per element")
_table(_REDUCE, _reduce, "the count (pool_op = 1 per input element)")


@register("PRELU", roles=("x", "weight"), domain=DOMAIN)
def prelu(view: OpView) -> OpResult:
    """PRELU(x, α): the terms of ONNX PRelu; a stored α is a weight (one slope per channel)."""
    return onnx_rule(view, "PRelu", (view.input(0), view.input(1)))


@register("LOCAL_RESPONSE_NORMALIZATION", domain=DOMAIN)
def local_response_normalization(view: OpView) -> OpResult:
    """LOCAL_RESPONSE_NORMALIZATION over the last (channel) axis, window 2·radius + 1: the terms of ONNX
    LRN on ``[B, C, H, W]``."""
    x = view.input(0)
    result = onnx_rule(view, "LRN", (nchw(x),), {"size": 2 * view.attr("radius", 0) + 1})
    return OpResult(outputs=(nhwc(result.outputs[0]),), terms=result.terms)


@register("ADD_N", domain=DOMAIN)
def add_n(view: OpView) -> OpResult:
    """ADD_N: ONNX Sum's count (elementwise_op = (n − 1) per output element)."""
    return onnx_rule(view, "Sum", view.inputs)


@register("CAST", domain=DOMAIN)
def cast(view: OpView) -> OpResult:
    """CAST: ONNX Cast (no cost) to the output dtype the file declares."""
    return onnx_rule(view, "Cast", (view.input(0),), {"to": DTYPE_CODES[view.attr("output_dtype", "float32")]})


@register("QUANTIZE", domain=DOMAIN)
def quantize(view: OpView) -> OpResult:
    """QUANTIZE: ONNX QuantizeLinear's count (elementwise_op = 2 per element), to the declared dtype."""
    result = onnx_rule(view, "QuantizeLinear", (view.input(0),))
    return OpResult(outputs=result.outputs, terms=result.terms, dtypes=(view.attr("output_dtype", "int8"),))


@register("DEQUANTIZE", domain=DOMAIN)
def dequantize(view: OpView) -> OpResult:
    """DEQUANTIZE: ONNX DequantizeLinear's count (elementwise_op = 2 per element), to the declared
    dtype. Its input's role is the reader's: a dequantized float16 or int8 filter counts as the
    weight of the CONV_2D that reads it, in its own stored dtype."""
    x = view.input(0)
    result = onnx_rule(view, "DequantizeLinear", (x, InputInfo((), "float32")))
    return OpResult(outputs=result.outputs, terms=result.terms, dtypes=(view.attr("output_dtype", "float32"),))


@register("DENSIFY", domain=DOMAIN)
def densify(view: OpView) -> OpResult:
    """DENSIFY: a sparse stored tensor in its dense shape (the shape the file gives it); no cost."""
    x = view.input(0)
    return OpResult(outputs=(x.shape,), dtypes=(view.attr("output_dtype", x.dtype),))


@register("RESHAPE", roles=("x", "const"), domain=DOMAIN)
def reshape(view: OpView) -> OpResult:
    """RESHAPE(x, shape) or the ``new_shape`` option: ONNX Reshape with ``allowzero`` (a 0 is a 0); no cost."""
    x, target = view.input(0), view.optional(1)
    if target is None or (target.value is None and view.attr("new_shape")):
        shape = tuple(view.attr("new_shape") or ())
        target = InputInfo((len(shape),), "int32", True, shape)
    return onnx_rule(view, "Reshape", (x, target), {"allowzero": 1})


@register("SQUEEZE", domain=DOMAIN)
def squeeze(view: OpView) -> OpResult:
    """SQUEEZE(``squeeze_dims``; all size-1 dims when empty): ONNX Squeeze; no cost."""
    dims = tuple(view.attr("squeeze_dims") or ())
    axes = InputInfo((len(dims),), "int64", True, dims) if dims else None
    return onnx_rule(view, "Squeeze", (view.input(0), axes))


@register("EXPAND_DIMS", roles=("x", "const"), domain=DOMAIN)
def expand_dims(view: OpView) -> OpResult:
    """EXPAND_DIMS(x, axis): ONNX Unsqueeze at ``axis``; no cost."""
    axis = view.input(1)
    return onnx_rule(view, "Unsqueeze", (view.input(0), axis._replace(shape=(1,))))


@register("CONCATENATION", domain=DOMAIN)
def concatenation(view: OpView) -> OpResult:
    """CONCATENATION along ``axis``: ONNX Concat; no cost (a fused activation adds its own)."""
    result = onnx_rule(view, "Concat", view.inputs, {"axis": view.attr("axis", 0)})
    return finish(view, result, result.outputs)


@register("PACK", domain=DOMAIN)
def pack(view: OpView) -> OpResult:
    """PACK n tensors of one shape along a new ``axis``: ONNX Unsqueeze then Concat; no cost."""
    first = view.input(0)
    rank = len(first.shape) + 1
    axis = normalize_axis(view, view.attr("axis", 0), rank)
    axes = InputInfo((1,), "int64", True, (axis,))
    parts = tuple(onnx_rule(view, "Unsqueeze", (view.input(i), axes)) for i in range(len(view.inputs)))
    infos = tuple(InputInfo(p.outputs[0], first.dtype, value=view.input(i).value) for i, p in enumerate(parts))
    return onnx_rule(view, "Concat", infos, {"axis": axis})


@register("UNPACK", domain=DOMAIN)
def unpack(view: OpView) -> OpResult:
    """UNPACK into ``num`` tensors along ``axis``, which is dropped; no cost."""
    x = view.input(0)
    axis = normalize_axis(view, view.attr("axis", 0), len(x.shape))
    num = view.attr("num") or x.shape[axis]
    view.equal(num, x.shape[axis], f"num matches axis {axis}")
    part = tuple(d for i, d in enumerate(x.shape) if i != axis)
    return OpResult(outputs=tuple(part for _ in range(concrete_ints(view, [num], "num")[0])))


@register("SPLIT", roles=("const", "x"), domain=DOMAIN)
def split(view: OpView) -> OpResult:
    """SPLIT(axis, x) into ``num_splits`` equal parts: ONNX Split; no cost."""
    axis = concrete_ints(view, input_values(view, 0, "axis") or (), "axis")
    x = view.input(1)
    parts = concrete_ints(view, [view.attr("num_splits", 0)], "num_splits")[0]
    result = onnx_rule(view, "Split", (x,), {"axis": axis[0] if axis else 0, "num_outputs": parts})
    return result._replace(dtypes=(x.dtype,) * len(result.outputs))


@register("SPLIT_V", roles=("x", "const", "const"), domain=DOMAIN)
def split_v(view: OpView) -> OpResult:
    """SPLIT_V(x, size_splits, axis), one size may be -1 (the rest): ONNX Split; no cost."""
    x = view.input(0)
    sizes = list(input_values(view, 1, "size_splits") or ())
    axis = normalize_axis(view, concrete_ints(view, input_values(view, 2, "axis") or (0,), "axis")[0], len(x.shape))
    if -1 in sizes:
        rest = [s for s in sizes if s != -1]
        sizes[sizes.index(-1)] = x.shape[axis] - (sum(rest[1:], start=rest[0]) if rest else 0)
    return onnx_rule(view, "Split", (x,), {"axis": axis, "split": sizes})


def _pads(view: OpView, index: int, rank: int) -> list[Count]:
    flat = list(input_values(view, index, "paddings") or ())
    if len(flat) != 2 * rank:
        raise view.fail(f"paddings need {rank}×2 entries, got {len(flat)}")
    return [flat[2 * i] for i in range(rank)] + [flat[2 * i + 1] for i in range(rank)]


def _pad(view: OpView) -> OpResult:
    x = view.input(0)
    return onnx_rule(view, "Pad", (x,), {"pads": _pads(view, 1, len(x.shape))})


for _name in ("PAD", "PADV2", "MIRROR_PAD"):
    def _pad_rule(view: OpView) -> OpResult:
        return _pad(view)

    _pad_rule.__doc__ = f"{_name}(x, paddings ``[rank, 2]``): ONNX Pad; no cost (a copy)."
    _pad_rule.__name__ = _pad_rule.__qualname__ = _name.lower()
    register(_name, roles=("x", "const", "const"), domain=DOMAIN)(_pad_rule)


@register("TRANSPOSE", roles=("x", "const"), domain=DOMAIN)
def transpose(view: OpView) -> OpResult:
    """TRANSPOSE(x, perm): ONNX Transpose; no cost."""
    perm = concrete_ints(view, input_values(view, 1, "perm") or (), "perm")
    return onnx_rule(view, "Transpose", (view.input(0),), {"perm": perm})


@register("SHAPE", roles=("const",), domain=DOMAIN)
def shape(view: OpView) -> OpResult:
    """SHAPE: ONNX Shape (no cost), int32 unless ``out_type`` says int64."""
    result = onnx_rule(view, "Shape", (view.input(0),))
    return OpResult(outputs=result.outputs, values=result.values,
                    dtypes=("int64" if view.attr("out_type") == 4 else "int32",))


@register("GATHER", roles=("weight", "const"), domain=DOMAIN)
def gather(view: OpView) -> OpResult:
    """GATHER(params, indices) along ``axis``: ONNX Gather, no cost; a stored table is a weight (an embedding)."""
    return onnx_rule(view, "Gather", (view.input(0), view.input(1)), {"axis": view.attr("axis", 0)})


@register("GATHER_ND", roles=("x", "const"), domain=DOMAIN)
def gather_nd(view: OpView) -> OpResult:
    """GATHER_ND(params, indices): ONNX GatherND; no cost."""
    return onnx_rule(view, "GatherND", (view.input(0), view.input(1)))


@register("EMBEDDING_LOOKUP", roles=("const", "weight"), domain=DOMAIN)
def embedding_lookup(view: OpView) -> OpResult:
    """EMBEDDING_LOOKUP(ids, table): ONNX Gather(table, ids), no cost; the table is a weight, and
    the output has its dtype."""
    table = view.input(1)
    result = onnx_rule(view, "Gather", (table, view.input(0)))
    return result._replace(dtypes=(table.dtype,))


@register("SELECT_V2", roles=("const", "x", "x"), domain=DOMAIN)
def select_v2(view: OpView) -> OpResult:
    """SELECT_V2(condition, x, y), broadcasting: ONNX Where's elementwise_op = 1 per output element."""
    return onnx_rule(view, "Where", (view.input(0), view.input(1), view.input(2)))


register("SELECT", roles=("const", "x", "x"), domain=DOMAIN)(select_v2)


@register("TILE", roles=("x", "const"), domain=DOMAIN)
def tile(view: OpView) -> OpResult:
    """TILE(x, multiples): ONNX Tile; no cost."""
    return onnx_rule(view, "Tile", (view.input(0), view.input(1)))


@register("BROADCAST_TO", roles=("x", "const"), domain=DOMAIN)
def broadcast_to(view: OpView) -> OpResult:
    """BROADCAST_TO(x, shape): ONNX Expand; no cost."""
    return onnx_rule(view, "Expand", (view.input(0), view.input(1)))


@register("FILL", roles=("const", "x"), domain=DOMAIN)
def fill(view: OpView) -> OpResult:
    """FILL(dims, value): ONNX ConstantOfShape; no cost; the value's dtype."""
    result = onnx_rule(view, "ConstantOfShape", (view.input(0),))
    return OpResult(outputs=result.outputs, dtypes=(view.input(1).dtype,))


@register("ZEROS_LIKE", domain=DOMAIN)
def zeros_like(view: OpView) -> OpResult:
    """ZEROS_LIKE: ONNX Identity's shape; no cost."""
    return onnx_rule(view, "Identity", (view.input(0),))




@register("REVERSE_V2", roles=("x", "const"), domain=DOMAIN)
def reverse_v2(view: OpView) -> OpResult:
    """REVERSE_V2(x, axes): the input's shape, its elements reordered along ``axes``; no cost."""
    return onnx_rule(view, "Identity", (view.input(0),))


@register("RANGE", roles=("const", "const", "const"), domain=DOMAIN)
def range_(view: OpView) -> OpResult:
    """RANGE(start, limit, delta): ONNX Range; no cost."""
    return onnx_rule(view, "Range", (view.input(0), view.input(1), view.input(2)))


@register("CUMSUM", roles=("x", "const"), domain=DOMAIN)
def cumsum(view: OpView) -> OpResult:
    """CUMSUM(x, axis): ONNX CumSum's count (elementwise_op = 1 per element)."""
    return onnx_rule(view, "CumSum", (view.input(0), view.input(1)))


def _arg(view: OpView, onnx: str) -> OpResult:
    axis = concrete_ints(view, input_values(view, 1, "axis") or (0,), "axis")[0]
    result = onnx_rule(view, onnx, (view.input(0),), {"axis": axis, "keepdims": 0})
    return OpResult(outputs=result.outputs, terms=result.terms,
                    dtypes=("int32" if view.attr("output_type") == 2 else "int64",))


@register("ARG_MAX", roles=("x", "const"), domain=DOMAIN)
def arg_max(view: OpView) -> OpResult:
    """ARG_MAX(x, axis): ONNX ArgMax's count (pool_op = 1 per input element), the axis dropped."""
    return _arg(view, "ArgMax")


@register("ARG_MIN", roles=("x", "const"), domain=DOMAIN)
def arg_min(view: OpView) -> OpResult:
    """ARG_MIN(x, axis): ONNX ArgMin's count (pool_op = 1 per input element), the axis dropped."""
    return _arg(view, "ArgMin")


def _space(view: OpView, onnx: str) -> OpResult:
    x = view.input(0)
    result = onnx_rule(view, onnx, (nchw(x),), {"blocksize": view.attr("block_size", 1)})
    return OpResult(outputs=(nhwc(result.outputs[0]),), terms=result.terms)


@register("DEPTH_TO_SPACE", domain=DOMAIN)
def depth_to_space(view: OpView) -> OpResult:
    """DEPTH_TO_SPACE on ``[B, H, W, C]``: ONNX DepthToSpace's shape, ``[B, H·b, W·b, C/b²]``; no cost."""
    return _space(view, "DepthToSpace")


@register("SPACE_TO_DEPTH", domain=DOMAIN)
def space_to_depth(view: OpView) -> OpResult:
    """SPACE_TO_DEPTH on ``[B, H, W, C]``: ONNX SpaceToDepth's shape, ``[B, H/b, W/b, C·b²]``; no cost."""
    return _space(view, "SpaceToDepth")


def _bit(mask: int, i: int) -> bool:
    return bool(mask >> i & 1)


@register("STRIDED_SLICE", roles=("x", "const", "const", "const"), domain=DOMAIN,
          defaults={"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0,
                    "shrink_axis_mask": 0, "offset": False})
def strided_slice(view: OpView) -> OpResult:
    """STRIDED_SLICE(x, begin, end, strides) with TensorFlow's masks; no cost.

    Per axis: a begin (end) mask bit takes the axis' start (stop); negative indices count from
    the end and are clamped; the length is ⌈(stop − start) / stride⌉ (0 when negative); a shrink
    bit drops the axis (length 1), a new-axis bit inserts a 1. ``offset`` makes end = begin + end.
    An ellipsis stands for the axes the spec does not name. Indices known only at run time give
    the symbol ``<node>_d<axis>`` for that axis.
    """
    x = view.input(0)
    begin, end = input_values(view, 1, "begin") or (), input_values(view, 2, "end") or ()
    strides = input_values(view, 3, "strides") if view.optional(3) is not None else (1,) * len(begin)
    strides = strides or (1,) * len(begin)
    if not len(begin) == len(end) == len(strides):
        raise view.fail("begin, end and strides must have one entry per sliced axis")
    masks = {k: int(view.attr(k)) for k in ("begin_mask", "end_mask", "ellipsis_mask", "new_axis_mask",
                                            "shrink_axis_mask")}
    out: list[Count] = []
    axis = 0
    named = sum(1 for i in range(len(begin)) if not _bit(masks["new_axis_mask"], i)
                and not _bit(masks["ellipsis_mask"], i))
    for i in range(len(begin)):
        if _bit(masks["ellipsis_mask"], i):
            skip = len(x.shape) - named
            out.extend(x.shape[axis:axis + skip])
            axis += skip
            continue
        if _bit(masks["new_axis_mask"], i):
            out.append(1)
            continue
        if axis >= len(x.shape):
            raise view.fail(f"the slice names more axes than the input's {len(x.shape)}")
        dim, b, e, s = x.shape[axis], begin[i], end[i], strides[i]
        axis += 1
        if view.attr("offset") and not _bit(masks["end_mask"], i):
            e = b + e
        if _bit(masks["shrink_axis_mask"], i):
            continue
        if not all(isinstance(v, int) for v in (b, e, s)) or not isinstance(dim, int):
            out.append(_length(view, dim, b, e, s, masks, i, len(out)))
            continue
        if s == 0:
            raise view.fail(f"stride 0 on axis {axis - 1}")
        start, stop = _bounds(dim, b, e, s, _bit(masks["begin_mask"], i), _bit(masks["end_mask"], i))
        out.append(max(0, -((start - stop) // s) if s > 0 else -((stop - start) // -s)))
    out.extend(x.shape[axis:])
    value = None
    if x.value is not None and len(x.shape) == 1 and isinstance(x.shape[0], int) and len(begin) == 1 \
            and all(isinstance(v, int) for v in (begin[0], end[0], strides[0])) and strides[0]:
        # Shape arithmetic: a slice of a shape vector (a Shape's dims, one of them picked out).
        start, stop = _bounds(x.shape[0], begin[0], end[0], strides[0], _bit(masks["begin_mask"], 0),
                              _bit(masks["end_mask"], 0) and not _bit(masks["shrink_axis_mask"], 0))
        if _bit(masks["shrink_axis_mask"], 0):
            stop = start + 1
        value = tuple(x.value[start:stop:strides[0]])
    return OpResult(outputs=(tuple(out),), values=(value,))


def _bounds(dim: int, b: int, e: int, s: int, full_begin: bool, full_end: bool) -> tuple[int, int]:
    """Python's slice bounds of ``[b:e:s]`` on an axis of ``dim``, with the mask bits."""
    start, stop, _ = slice(None if full_begin else b, None if full_end else e, s).indices(dim)
    return start, stop


def _length(view: OpView, dim: Count, b: Count, e: Count, s: Count, masks: dict[str, int], i: int,
            index: int) -> Count:
    """A sliced length on a symbolic axis: the whole axis for a full slice, else a symbol."""
    full = (_bit(masks["begin_mask"], i) or b == 0) and (_bit(masks["end_mask"], i)) and s == 1
    if full:
        return dim
    return view.symbol(f"d{index}", f"output axis {index}: a slice of a dim or with bounds known only at run time")


@register("SLICE", roles=("x", "const", "const"), domain=DOMAIN)
def slice_(view: OpView) -> OpResult:
    """SLICE(x, begin, size), a size of -1 taking the rest of the axis; no cost."""
    x = view.input(0)
    begin, size = input_values(view, 1, "begin") or (), input_values(view, 2, "size") or ()
    if len(begin) != len(x.shape) or len(size) != len(x.shape):
        raise view.fail(f"begin and size need {len(x.shape)} entries")
    return OpResult(outputs=(tuple(d - b if s == -1 else s for d, b, s in zip(x.shape, begin, size, strict=True)),))


@register("BATCH_TO_SPACE_ND", roles=("x", "const", "const"), domain=DOMAIN)
def batch_to_space_nd(view: OpView) -> OpResult:
    """BATCH_TO_SPACE_ND(x, block_shape, crops): ``[B/∏b, H·b₀ − crops, W·b₁ − crops, C]``; no cost."""
    x = view.input(0)
    block = input_values(view, 1, "block_shape") or ()
    crops = input_values(view, 2, "crops") or (0,) * (2 * len(block))
    spatial = [x.shape[1 + i] * b - crops[2 * i] - crops[2 * i + 1] for i, b in enumerate(block)]
    return OpResult(outputs=((x.shape[0] // prod(block), *spatial, *x.shape[1 + len(block):]),))


@register("SPACE_TO_BATCH_ND", roles=("x", "const", "const"), domain=DOMAIN)
def space_to_batch_nd(view: OpView) -> OpResult:
    """SPACE_TO_BATCH_ND(x, block_shape, paddings): ``[B·∏b, (H + pads)/b₀, ..., C]``; no cost."""
    x = view.input(0)
    block = input_values(view, 1, "block_shape") or ()
    pads = input_values(view, 2, "paddings") or (0,) * (2 * len(block))
    spatial = [(x.shape[1 + i] + pads[2 * i] + pads[2 * i + 1]) // b for i, b in enumerate(block)]
    return OpResult(outputs=((x.shape[0] * prod(block), *spatial, *x.shape[1 + len(block):]),))


@register("VAR_HANDLE", roles=(), domain=DOMAIN)
def var_handle(view: OpView) -> OpResult:
    """VAR_HANDLE: a handle to the resource variable ``shared_name`` (a scalar of no size); no cost."""
    return OpResult(outputs=((),), dtypes=("resource",))


@register("READ_VARIABLE", roles=("const",), domain=DOMAIN)
def read_variable(view: OpView) -> OpResult:
    """READ_VARIABLE: the variable's value, in the shape and dtype the file declares (a variable's
    shape is set by the ASSIGN_VARIABLE that stored it, possibly in another subgraph); no cost."""
    return OpResult(outputs=(tuple(view.attr("shape", ())),), dtypes=(view.attr("output_dtype", "float32"),))


@register("ASSIGN_VARIABLE", roles=("const", "x"), domain=DOMAIN)
def assign_variable(view: OpView) -> OpResult:
    """ASSIGN_VARIABLE(handle, value): stores the value; no output, no cost."""
    return OpResult(outputs=())


def _body(view: OpView, key: str) -> BodyResult:
    value = view.attrs.get(key)
    if not isinstance(value, BodyResult):
        raise view.fail(f"the {key!r} subgraph was not analyzed")
    return value


# TFLite's IF (the front end names it ``If``): ONNX If's rule, whose branches the walk binds to
# the node's inputs after the condition (archcost.ops.control.body_inputs).
register("If", roles=("const", "x"), domain=DOMAIN)(if_)


@register("CALL_ONCE", roles=(), domain=DOMAIN)
def call_once(view: OpView) -> OpResult:
    """CALL_ONCE: runs subgraph ``init`` once (resource variables' initial values): its terms, once."""
    return OpResult(outputs=(), terms=dict(_body(view, "init").terms))


@register("WHILE", domain=DOMAIN)
def while_(view: OpView) -> OpResult:
    """WHILE(loop values): body terms × trips + cond terms × (trips + 1); the trip count is the
    symbol ``<node>_trips``. Outputs: the final loop values (see :func:`archcost.ops.control._after`)."""
    body, cond = _body(view, "body"), _body(view, "cond")
    trips = view.symbol("trips", "the trip count, decided at run time", sign="nonnegative")
    starts = [i.shape if i is not None else () for i in view.inputs]
    outs = []
    for k, (start, once) in enumerate(zip(starts, body.outputs, strict=False)):
        if once is None:
            raise view.fail(f"output {k} of the body has no inferred shape")
        outs.append(_after(view, k, start, once, trips))
    terms = merge(scale_terms(body.terms, trips), scale_terms(cond.terms, trips + 1))
    return OpResult(outputs=tuple(outs), terms=terms, dtypes=body.dtypes)
