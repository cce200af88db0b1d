"""Tensor plumbing: Shape, Gather, Squeeze, Unsqueeze, Split, Pad, Resize, Tile,
Constant, ConstantOfShape, Range.

None of them multiplies or accumulates, so none has a ``mac`` term. They matter
for shapes: exporters compute Reshape targets and Resize sizes with small
integer subgraphs (``Shape → Gather → Concat → Reshape``), so these rules pass
the statically known contents of small integer tensors along in
:attr:`OpResult.values`. On a concrete model those contents are plain ints; when
a dim is symbolic they carry its SymPy expression.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcost.dtypes import dtype_name, is_integer
from archcost.numeric import Count, any_below, ceil_div, floor_value, is_concrete, normalize, prod, same
from archcost.ops import _contents
from archcost.ops.registry import InputInfo, OpResult, OpView, register

Shape = tuple[Count, ...]
Values = tuple[Count, ...]

#: Largest tensor whose contents rules compute statically (shape vectors are tiny).
MAX_VALUE_ELEMENTS = 1024
#: Most parts a split may produce: a count from the file (``num_outputs = 2**40``) must not
#: make a rule build a list that size.
MAX_SPLIT_PARTS = 1 << 16


@dataclass(frozen=True)
class ConstTensor:
    """A tensor-valued attribute (``Constant.value``, ``ConstantOfShape.value``).

    ``values`` holds the contents, flattened, when they are small and stored
    inline; ``None`` otherwise (the analysis never needs float weights).
    """

    shape: tuple[int, ...]
    dtype: str
    values: tuple[Any, ...] | None = None


def normalize_axis(view: OpView, axis: Any, rank: int) -> int:
    """``axis`` in ``[0, rank)``, counting negative axes from the end."""
    if not isinstance(axis, int) or isinstance(axis, bool) or not -rank <= axis < rank:
        raise view.fail(f"axis {axis!r} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def input_values(view: OpView, index: int, what: str) -> tuple[Count, ...] | None:
    """The contents of optional input ``index`` (axes, pads, sizes), or ``None`` when absent.

    Contents only the run time knows (a graph input, data-dependent arithmetic)
    become one symbol per entry, named after the tensor: ``<tensor>_<i>``, an
    integer of any sign, or a real for a float tensor (Resize scales). The count
    of entries must be known: it fixes the output's rank.
    """
    info = view.optional(index)
    if info is None:
        return None
    if info.value is not None:
        return info.value
    return run_time_values(view, info, f"{what} (input {index})")


def run_time_values(view: OpView, info: InputInfo, what: str) -> tuple[Count, ...]:
    """One symbol per entry of ``info``, a tensor whose contents only the run time knows."""
    count = prod(info.shape)
    if not isinstance(count, int):
        raise view.fail(f"{what} has {count} entries, a number known only at run time; archcost needs "
                        "it to know the output's rank")
    if count > MAX_VALUE_ELEMENTS:
        raise view.fail(f"{what} has {count:,} entries; archcost follows at most {MAX_VALUE_ELEMENTS:,}")
    sign = "any" if is_integer(info.dtype) or info.dtype == "bool" else "real"
    owner = info.name or f"{view.name}_{what.split()[0]}"
    origin = f"contents of tensor {owner!r}, computed at run time (read as {what} by node {view.name!r})"
    return tuple(view.symbol(str(i), origin, sign=sign, owner=owner) for i in range(count))


def fresh_dims(view: OpView, rank: int, output: int = 0, why: str = "") -> tuple[Count, ...]:
    """An output shape of ``rank`` dims only the run time knows: ``<node>_d<axis>`` symbols
    (``<node>_o<k>_d<axis>`` for output k > 0), sizes ≥ 0."""
    prefix = f"o{output}_" if output else ""
    reason = why or "depends on values known only at run time"
    return tuple(view.symbol(f"{prefix}d{axis}", f"output {output}, axis {axis} {reason}")
                 for axis in range(rank))


def run_time(view: OpView, value: Count) -> bool:
    """Whether ``value`` involves a value only the run time knows (a symbol the ledger made),
    as opposed to a formula in the graph's dims."""
    if is_concrete(value) or view.ledger is None:
        return False
    return any(view.ledger.is_run_time(s) for s in getattr(value, "free_symbols", ()))


def known_ints(values: Sequence[Count]) -> list[int] | None:
    """``values`` as plain ints, or ``None`` when some entry is symbolic."""
    if all(isinstance(v, int) for v in values):
        return [int(v) for v in values]
    return None


def concrete_ints(view: OpView, values: Sequence[Count], what: str) -> list[int]:
    """``values`` as plain ints; a symbolic entry is an error naming ``what``."""
    if not all(isinstance(v, int) for v in values):
        raise view.fail(f"{what} must be concrete integers, got {[str(v) for v in values]}")
    return [int(v) for v in values]


def small(shape: Shape) -> bool:
    """Whether a tensor of ``shape`` is small enough to carry its contents."""
    size = prod(shape)
    return isinstance(size, int) and size <= MAX_VALUE_ELEMENTS


# Shape and Size read only their input's dims: a weight's contents are never behind their output,
# so a node that reads that output (an Expand to a weight's shape) does not count the weight.
@register("Shape", roles=("const",), defaults={"start": 0})
def shape_(view: OpView) -> OpResult:
    """Shape: the input's dims ``[start:end]`` as a 1-D int64 tensor; no cost.

    Its contents are the (possibly symbolic) dims, which is how Reshape targets resolve.
    """
    dims = view.input(0).shape
    rank = len(dims)
    start, end = view.attr("start"), view.attr("end", rank)
    start = min(max(start + rank if start < 0 else start, 0), rank)
    end = min(max(end + rank if end < 0 else end, 0), rank)
    out = tuple(dims[start:end])
    return OpResult(outputs=((len(out),),), values=(out,), dtypes=("int64",))


@register("Size", roles=("const",))
def size_(view: OpView) -> OpResult:
    """Size: the input's element count as an int64 scalar; no cost."""
    return OpResult(outputs=((),), values=((prod(view.input(0).shape),),), dtypes=("int64",))


@register("Gather", roles=("weight", "const"), defaults={"axis": 0})
def gather(view: OpView) -> OpResult:
    """Gather rows of ``data`` at ``indices`` along ``axis``; no cost (a lookup).

    Output shape: ``data[:axis] + indices + data[axis+1:]``. A stored ``data`` is an
    embedding table and counts as a ``weight``. Known contents are gathered too
    (``Shape → Gather`` picks a dim).
    """
    data, picks = view.input(0), view.input(1)
    if not data.shape:
        raise view.fail("data must have rank ≥ 1")
    axis = normalize_axis(view, view.attr("axis"), len(data.shape))
    out = (*data.shape[:axis], *picks.shape, *data.shape[axis + 1:])
    value = None
    data_shape, picks_shape = known_ints(data.shape), known_ints(picks.shape)
    if data.value is not None and picks.value is not None and data_shape is not None and picks_shape is not None:
        chosen = known_ints(picks.value)
        if chosen is not None:
            value = _contents.gather(data.value, data_shape, axis, chosen, picks_shape)
    return OpResult(outputs=(out,), values=(value,))


def _axes(view: OpView) -> list[Count] | None:
    """Axes from input 1 (opset ≥ 13) or the ``axes`` attribute (earlier opsets)."""
    if view.attr("axes") is not None:
        return list(view.attr("axes"))
    given = input_values(view, 1, "axes")
    return list(given) if given is not None else None


@register("Squeeze", roles=("x", "const"))
def squeeze(view: OpView) -> OpResult:
    """Squeeze the size-1 ``axes`` (all size-1 dims when none are given); no cost.

    A symbolic dim squeezed by name is assumed to be 1 (and the report says so).
    """
    x = view.input(0)
    axes = _axes(view)
    rank = len(x.shape)
    if axes is None:
        drop = {i for i, d in enumerate(x.shape) if same(d, 1) is True}
    else:
        given = known_ints(axes)
        if given is None:
            return OpResult(outputs=(fresh_dims(view, rank - len(axes)),), values=(x.value,))
        drop = {normalize_axis(view, a, rank) for a in given}
        for i in sorted(drop):
            view.equal(x.shape[i], 1, f"squeezed axis {i}")
    out = tuple(d for i, d in enumerate(x.shape) if i not in drop)
    return OpResult(outputs=(out,), values=(x.value,))


@register("Unsqueeze", roles=("x", "const"))
def unsqueeze(view: OpView) -> OpResult:
    """Unsqueeze: insert size-1 dims at ``axes`` (positions in the output); no cost."""
    x = view.input(0)
    axes = _axes(view)
    if axes is None:
        raise view.fail("axes are required")
    rank = len(x.shape) + len(axes)
    given = known_ints(axes)
    if given is None:
        return OpResult(outputs=(fresh_dims(view, rank),), values=(x.value,))
    where = {normalize_axis(view, a, rank) for a in given}
    if len(where) != len(axes):
        raise view.fail(f"axes {list(axes)} repeat an axis")
    dims = iter(x.shape)
    out = tuple(1 if i in where else next(dims) for i in range(rank))
    return OpResult(outputs=(out,), values=(x.value,))


@register("Split", roles=("x", "const"), defaults={"axis": 0})
def split(view: OpView) -> OpResult:
    """Split along ``axis`` by ``split`` sizes, or into ``num_outputs`` parts; no cost.

    With ``num_outputs`` each part has ceil(D / n) entries and the last one the rest
    (opset 18). The ONNX front end fills in ``num_outputs`` from the node's output
    count when an older model gives neither sizes nor a count. Sizes known only at
    run time are symbols; they must add up to D, which is assumed and reported.
    """
    x = view.input(0)
    axis = normalize_axis(view, view.attr("axis"), len(x.shape))
    dim = x.shape[axis]
    sizes = view.attr("split")
    if sizes is None:
        sizes = input_values(view, 1, "split")
    if sizes is None:
        n = view.attr("num_outputs")
        if not isinstance(n, int) or n < 1:
            raise view.fail("give 'split' sizes or a positive 'num_outputs'")
        if n > MAX_SPLIT_PARTS:
            raise view.fail(f"num_outputs {n:,} is more than the {MAX_SPLIT_PARTS:,} parts archcost follows")
        chunk = ceil_div(dim, n)
        sizes = [chunk] * (n - 1) + [dim - chunk * (n - 1)]
    sizes = list(sizes)
    if any_below(sizes, 0):
        raise view.fail(f"split sizes {[str(s) for s in sizes]} have a negative entry")
    total: Count = sum(sizes[1:], start=sizes[0]) if sizes else 0
    view.equal(total, dim, f"split sizes add up to axis {axis}")
    outs = tuple(tuple(s if i == axis else d for i, d in enumerate(x.shape)) for s in sizes)
    values: tuple[Values | None, ...] = ()
    parts = known_ints(sizes)
    if x.value is not None and len(x.shape) == 1 and parts is not None:
        offsets = [sum(parts[:i]) for i in range(len(parts))]
        values = tuple(tuple(x.value[o:o + n]) for o, n in zip(offsets, parts, strict=True))
    return OpResult(outputs=outs, values=values)


@register("Pad", roles=("x", "const", "const", "const"), defaults={"mode": "constant"})
def pad(view: OpView) -> OpResult:
    """Pad each axis by ``pads`` (begins then ends; input 1, or the attribute before opset 11);
    no cost (a copy). Output dim = D + p_begin + p_end.
    """
    x = view.input(0)
    pads = view.attr("pads")
    if pads is None:
        pads = input_values(view, 1, "pads")
    if pads is None:
        raise view.fail("pads are required")
    axes_given = input_values(view, 3, "axes")
    rank = len(x.shape)
    if axes_given is not None and known_ints(axes_given) is None:
        return OpResult(outputs=(fresh_dims(view, rank),))
    axes = ([normalize_axis(view, a, rank) for a in concrete_ints(view, axes_given, "axes")]
            if axes_given is not None else list(range(rank)))
    if len(pads) != 2 * len(axes):
        raise view.fail(f"pads {[str(p) for p in pads]} need {2 * len(axes)} entries")
    out = list(x.shape)
    for i, axis in enumerate(axes):
        out[axis] = out[axis] + pads[i] + pads[i + len(axes)]
        if any_below((out[axis],), 0):
            raise view.fail(f"pads {list(pads)} remove more than axis {axis} holds")
    return OpResult(outputs=(tuple(out),))


@register(
    "Resize",
    roles=("x", "const", "const", "const"),
    defaults={
        "mode": "nearest", "coordinate_transformation_mode": "half_pixel", "cubic_coeff_a": -0.75,
        "exclude_outside": 0, "extrapolation_value": 0.0, "nearest_mode": "round_prefer_floor",
        "keep_aspect_ratio_policy": "stretch", "antialias": 0,
    },
)
def resize(view: OpView) -> OpResult:
    """Resize to ``sizes``, or to floor(D · scale) per axis.

    elementwise_op = one per output element (the interpolation, counted as
    ptflops counts upsampling; the paper convention counts none of it).
    Inputs: ``X, roi, scales, sizes`` (opset ≥ 11) or ``X, scales`` (opset 10).
    With ``keep_aspect_ratio_policy`` ``not_larger`` (``not_smaller``) every resized
    axis takes the smallest (largest) ratio size/D, and its size is round-half-up(D · ratio).
    """
    x = view.input(0)
    rank = len(x.shape)
    if len(view.inputs) == 2:
        scales, sizes = input_values(view, 1, "scales"), None
    else:
        scales = input_values(view, 2, "scales") if view.optional(2) is not None else None
        sizes = input_values(view, 3, "sizes") if view.optional(3) is not None else None
    if scales is not None and len(scales) == 0:
        scales = None
    axes = [normalize_axis(view, a, rank) for a in (view.attr("axes") or range(rank))]
    out = list(x.shape)
    policy = view.attr("keep_aspect_ratio_policy")
    policy = policy.decode() if isinstance(policy, bytes) else policy
    if sizes is not None and len(sizes) > 0:
        if len(sizes) != len(axes):
            raise view.fail(f"sizes {[str(s) for s in sizes]} need {len(axes)} entries")
        if policy == "stretch":
            for axis, size in zip(axes, sizes, strict=True):
                out[axis] = size
        elif policy in ("not_larger", "not_smaller") and all(is_concrete(v) for v in (*sizes, *out)):
            ratios = [Fraction(size, out[axis]) for axis, size in zip(axes, sizes, strict=True)]
            ratio = min(ratios) if policy == "not_larger" else max(ratios)
            for axis in axes:
                out[axis] = math.floor(ratio * out[axis] + Fraction(1, 2))
        elif policy in ("not_larger", "not_smaller"):
            fresh = fresh_dims(view, rank, why=f"is set by the {policy} ratio of symbolic sizes, decided at run time")
            for axis in axes:
                out[axis] = fresh[axis]
        else:
            raise view.fail(f"keep_aspect_ratio_policy must be stretch, not_larger or not_smaller, got {policy!r}")
    elif scales is not None:
        if len(scales) != len(axes):
            raise view.fail(f"scales need {len(axes)} entries, got {len(scales)}")
        for axis, scale in zip(axes, scales, strict=True):
            # A float scale's floor is a SymPy Integer: the size is an int.
            out[axis] = normalize(floor_value(out[axis] * scale))
    else:
        raise view.fail("give scales or sizes")
    shape = tuple(out)
    return OpResult(outputs=(shape,), terms={"elementwise_op": prod(shape)})


@register("Tile", roles=("x", "const"))
def tile(view: OpView) -> OpResult:
    """Tile: repeat the input ``repeats[i]`` times along axis i; no cost (a copy)."""
    x = view.input(0)
    repeats = input_values(view, 1, "repeats")
    if repeats is None or len(repeats) != len(x.shape):
        raise view.fail(f"repeats must have one entry per axis of {list(x.shape)}")
    out = tuple(d * r for d, r in zip(x.shape, repeats, strict=True))
    value = None
    shape, counts = known_ints(x.shape), known_ints(repeats)
    if x.value is not None and shape is not None and counts is not None and small(out):
        value = _contents.tile(x.value, shape, counts)
    return OpResult(outputs=(out,), values=(value,))


def _literal(view: OpView) -> ConstTensor:
    """The tensor a Constant node holds, from whichever ``value*`` attribute it uses."""
    given = [k for k in ("value", "value_float", "value_floats", "value_int", "value_ints",
                         "value_string", "value_strings", "sparse_value") if k in view.attrs]
    if len(given) != 1:
        raise view.fail(f"needs exactly one value attribute, got {given or 'none'}")
    key = given[0]
    raw = view.attrs[key]
    if isinstance(raw, ConstTensor):
        return raw
    if key in ("value_float", "value_int", "value_string"):
        dtype = {"value_float": "float32", "value_int": "int64", "value_string": "string"}[key]
        return ConstTensor((), dtype, (raw,))
    if key in ("value_floats", "value_ints", "value_strings"):
        dtype = {"value_floats": "float32", "value_ints": "int64", "value_strings": "string"}[key]
        return ConstTensor((len(raw),), dtype, tuple(raw))
    raise view.fail(f"attribute {key!r} is not a tensor archcost can read")


@register("Constant")
def constant(view: OpView) -> OpResult:
    """Constant: the tensor in its ``value*`` attribute; no cost.

    A small integer constant carries its contents, for shape arithmetic downstream.
    """
    literal = _literal(view)
    value = literal.values if literal.values is not None and small(literal.shape) else None
    return OpResult(outputs=(literal.shape,), values=(value,), dtypes=(literal.dtype,))


@register("ConstantOfShape", roles=("const",))
def constant_of_shape(view: OpView) -> OpResult:
    """ConstantOfShape: a tensor of the shape given by input 0, filled with ``value``
    (default float32 zero); no cost.
    """
    dims = input_values(view, 0, "shape")
    if dims is None:
        raise view.fail("the shape input is required")
    if any_below(dims, 0):
        raise view.fail(f"shape {[str(d) for d in dims]} has a negative entry")
    fill = view.attr("value")
    dtype = fill.dtype if isinstance(fill, ConstTensor) else "float32"
    shape = tuple(dims)
    value = None
    if isinstance(fill, ConstTensor) and fill.values and small(shape):
        value = (fill.values[0],) * int(prod(shape))
    elif not isinstance(fill, ConstTensor) and small(shape):
        value = (0,) * int(prod(shape))
    return OpResult(outputs=(shape,), values=(value,), dtypes=(dtype,))


def _scalar(info: InputInfo | None) -> Count | None:
    if info is None or info.value is None or len(info.value) != 1:
        return None
    return info.value[0]


@register("Range", roles=("const", "const", "const"))
def range_(view: OpView) -> OpResult:
    """Range(start, limit, delta): max(ceil((limit − start) / delta), 0) entries; no cost.

    Bounds from dims (``Range(0, seq_len, 1)``) give a formula; a bound known only
    at run time makes the length the symbol ``<node>_length``.
    """
    start, limit, delta = (_scalar(view.input(i)) for i in range(3))
    length: Count
    if start is None or limit is None or delta is None:
        length = view.symbol("length", "the length of a Range whose bounds are computed at run time")
        return OpResult(outputs=((length,),))
    if same(delta, 0) is True:
        raise view.fail("delta must not be 0")
    if is_concrete(start) and is_concrete(limit) and is_concrete(delta):
        length = max(math.ceil(Fraction(limit - start) / Fraction(delta)), 0)
    elif is_concrete(delta):
        # Symbolic bounds come from dims (Range(0, seq_len, 1)); they are ordered.
        length = ceil_div(limit - start, delta)
    else:
        length = view.symbol("length", f"the length of a Range with a symbolic step {delta}")
    value = None
    if isinstance(length, int) and length <= MAX_VALUE_ELEMENTS:
        value = tuple(normalize(start + i * delta) for i in range(length))
    return OpResult(outputs=((length,),), values=(value,))


def cast_dtype(view: OpView) -> str:
    """The dtype named by Cast's ``to`` attribute."""
    to = view.attr("to")
    if not isinstance(to, int):
        raise view.fail("the 'to' attribute is required")
    return dtype_name(to)
