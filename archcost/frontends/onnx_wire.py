"""A structure-only ONNX reader: the protobuf wire format, decoded in pure Python from a memory map.

``onnx.load`` parses and copies every weight byte; a static analyzer needs none
of them. This reader walks the file's protobuf encoding directly (field tag,
then a varint, a fixed 32/64-bit word or a length-prefixed span) and keeps only
the structure: names, op types, attributes, dims, dtypes, value infos, opset
imports and external-data entries (which are never opened). A weight payload
(``raw_data`` or a typed ``*_data`` field) is skipped by its length prefix, so
the pages that hold it are never touched and never copied.

What is decoded
---------------
* Every message the graph builder reads (model, graph and subgraphs, node,
  attribute of every ``AttributeProto`` type, tensor, sparse tensor, value
  info, type, shape, opset id, string-string entry, local function).
* A tensor's *contents* are kept only when they can be small: a data span is
  copied when it is at most :data:`SMALL_DATA_BYTES` bytes (raw data) or holds at
  most ``MAX_VALUE_ELEMENTS`` elements (typed fields). That is enough for every
  tensor :func:`archcost.frontends.onnx._small_values` can accept: it takes
  integer tensors of at most ``MAX_VALUE_ELEMENTS`` (1024) elements and float
  tensors of at most ``MAX_FLOAT_VALUE_ELEMENTS`` (8), at most 8 bytes an element.
  :meth:`TensorProto.flat_values` then decodes those bytes exactly as
  ``onnx.numpy_helper.to_array(t).reshape(-1).tolist()`` would, and raises
  :class:`ValueError` where that call raises, so both readers give the same values.

The returned objects mimic the part of the ``onnx`` protobuf API the graph
builder uses: the same field names, repeated fields as sequences, unset
message fields as empty default messages, ``HasField`` for singular fields and
oneofs. Protobuf's parsing rules are followed where they change the result: the
last value of a singular scalar wins, a singular message that appears twice is
merged, a oneof keeps its last member, a known field with an unexpected wire
type is an unknown field, unknown fields are skipped, and an unknown value of a
closed enum (``AttributeProto.type``, ``TensorProto.data_location``) leaves the
field unset. Payload fields (``raw_data``, ``float_data`` ...) are not exposed.

Every way the bytes can fail to be protobuf (truncated, a length past the end,
a bad wire type, nesting deeper than :data:`MAX_DEPTH`, a string field that is
not UTF-8) raises :class:`~archcost.errors.ModelFormatError`.
"""

from __future__ import annotations

import enum
import mmap
import struct
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from archcost.errors import LimitError, ModelFormatError
from archcost.ops.tensor import MAX_VALUE_ELEMENTS

#: Raw data longer than this is never copied: no tensor small enough for its
#: contents to matter (``MAX_VALUE_ELEMENTS`` elements of at most 8 bytes) has more.
SMALL_DATA_BYTES = MAX_VALUE_ELEMENTS * 8
#: Protobuf's own nesting limit (upb's default, which ``onnx.load`` applies): a message
#: nested deeper than this below the model is refused, as ``onnx.load`` refuses it. It
#: bounds this reader's recursion, and allows subgraphs 32 deep (3 levels each).
MAX_DEPTH = 100

_MASK64 = (1 << 64) - 1
_SIGN64 = 1 << 63
_MASK32 = (1 << 32) - 1
_SIGN32 = 1 << 31
_TOO_LARGE = "too large"



class AttributeType(enum.IntEnum):
    """``AttributeProto.AttributeType`` of ``onnx/onnx.proto``, written out so reading needs no ``onnx``."""

    UNDEFINED = 0
    FLOAT = 1
    INT = 2
    STRING = 3
    TENSOR = 4
    GRAPH = 5
    FLOATS = 6
    INTS = 7
    STRINGS = 8
    TENSORS = 9
    GRAPHS = 10
    SPARSE_TENSOR = 11
    SPARSE_TENSORS = 12
    TYPE_PROTO = 13
    TYPE_PROTOS = 14


#: ``TensorProto.DataLocation.EXTERNAL``.
DATA_LOCATION_EXTERNAL = 1
_ATTRIBUTE_TYPES = frozenset(int(t) for t in AttributeType)
#: ``TensorProto.DataLocation`` values (DEFAULT, EXTERNAL); both enums are closed (proto2).
_DATA_LOCATIONS = frozenset((0, DATA_LOCATION_EXTERNAL))


class WireError(Exception):
    """The bytes are not valid protobuf (internal; surfaces as ModelFormatError)."""


class WireDepthError(WireError):
    """Messages nest deeper than :data:`MAX_DEPTH` (internal; surfaces as LimitError)."""


# --- messages ----------------------------------------------------------------------------
#
# Class attributes are the protobuf defaults; a parser sets an instance attribute
# only for a field present on the wire, so ``HasField`` is a dict lookup and an
# unset message field reads as the shared, empty default message.


class _Message:
    #: For each oneof member, the members it clears.
    _oneofs: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType({})

    def HasField(self, name: str) -> bool:
        return name in self.__dict__

    def _set_oneof(self, name: str) -> None:
        for other in self._oneofs.get(name, ()):
            self.__dict__.pop(other, None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__})"


class StringStringEntryProto(_Message):
    key = ""
    value = ""


class OperatorSetIdProto(_Message):
    domain = ""
    version = 0


class Segment(_Message):
    begin = 0
    end = 0


class TensorProto(_Message):
    """A tensor's name, dims, dtype, location and, when small, the bytes of its contents."""

    dims: Sequence[int] = ()
    data_type = 0
    segment = Segment()
    name = ""
    doc_string = ""
    external_data: Sequence[StringStringEntryProto] = ()
    data_location = 0
    metadata_props: Sequence[StringStringEntryProto] = ()
    #: raw_data: absent (None), its bytes, or _TOO_LARGE.
    _raw: bytes | str | None = None
    #: typed data field number → its values, or None when there are too many to matter.
    _typed: Mapping[int, list[Any] | None] = MappingProxyType({})

    def HasField(self, name: str) -> bool:
        if name == "raw_data":
            return self._raw is not None
        return name in self.__dict__

    def flat_values(self) -> list[Any]:
        """``numpy_helper.to_array(self).reshape(-1).tolist()``, without NumPy.

        Raises :class:`ValueError` in the cases ``to_array`` raises (a segment, a
        data length that does not match the dims), and for data this reader did
        not keep because it is larger than any small tensor.
        """
        return _flat_values(self)


class SparseTensorProto(_Message):
    values = TensorProto()
    indices = TensorProto()
    dims: Sequence[int] = ()


class TensorShapeDimension(_Message):
    _oneofs: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType(
        {"dim_value": ("dim_param",), "dim_param": ("dim_value",)})
    dim_value = 0
    dim_param = ""
    denotation = ""


class TensorShapeProto(_Message):
    dim: Sequence[TensorShapeDimension] = ()


class TypeTensor(_Message):
    elem_type = 0
    shape = TensorShapeProto()


class TypeOpaque(_Message):
    domain = ""
    name = ""


class TypeProto(_Message):
    tensor_type = TypeTensor()
    sparse_tensor_type = TypeTensor()
    opaque_type = TypeOpaque()
    denotation = ""


class TypeSequence(_Message):
    elem_type = TypeProto()


class TypeMap(_Message):
    key_type = 0
    value_type = TypeProto()


class TypeOptional(_Message):
    elem_type = TypeProto()


TypeProto.sequence_type = TypeSequence()  # type: ignore[attr-defined]
TypeProto.map_type = TypeMap()  # type: ignore[attr-defined]
TypeProto.optional_type = TypeOptional()  # type: ignore[attr-defined]
_TYPE_MEMBERS = ("tensor_type", "sequence_type", "map_type", "optional_type", "sparse_tensor_type", "opaque_type")
TypeProto._oneofs = MappingProxyType({m: tuple(o for o in _TYPE_MEMBERS if o != m) for m in _TYPE_MEMBERS})


class ValueInfoProto(_Message):
    name = ""
    type = TypeProto()
    doc_string = ""


class AttributeProto(_Message):
    name = ""
    ref_attr_name = ""
    doc_string = ""
    type = 0
    f = 0.0
    i = 0
    s = b""
    t = TensorProto()
    sparse_tensor = SparseTensorProto()
    tp = TypeProto()
    floats: Sequence[float] = ()
    ints: Sequence[int] = ()
    strings: Sequence[bytes] = ()
    tensors: Sequence[TensorProto] = ()
    sparse_tensors: Sequence[SparseTensorProto] = ()
    type_protos: Sequence[TypeProto] = ()


class NodeProto(_Message):
    input: Sequence[str] = ()
    output: Sequence[str] = ()
    name = ""
    op_type = ""
    domain = ""
    overload = ""
    attribute: Sequence[AttributeProto] = ()
    doc_string = ""


class GraphProto(_Message):
    node: Sequence[NodeProto] = ()
    name = ""
    initializer: Sequence[TensorProto] = ()
    sparse_initializer: Sequence[SparseTensorProto] = ()
    doc_string = ""
    input: Sequence[ValueInfoProto] = ()
    output: Sequence[ValueInfoProto] = ()
    value_info: Sequence[ValueInfoProto] = ()


AttributeProto.g = GraphProto()  # type: ignore[attr-defined]
AttributeProto.graphs = ()  # type: ignore[attr-defined]


class FunctionProto(_Message):
    name = ""
    domain = ""
    overload = ""
    input: Sequence[str] = ()
    output: Sequence[str] = ()
    attribute: Sequence[str] = ()
    attribute_proto: Sequence[AttributeProto] = ()
    node: Sequence[NodeProto] = ()
    opset_import: Sequence[OperatorSetIdProto] = ()
    value_info: Sequence[ValueInfoProto] = ()
    doc_string = ""


class ModelProto(_Message):
    """The structure of an ONNX model, as read from the wire."""

    ir_version = 0
    opset_import: Sequence[OperatorSetIdProto] = ()
    producer_name = ""
    producer_version = ""
    domain = ""
    model_version = 0
    doc_string = ""
    graph = GraphProto()
    functions: Sequence[FunctionProto] = ()


# --- primitives --------------------------------------------------------------------------
# ``buf`` is the mmap (or bytes); indexing it yields an int, slicing copies only the slice.


def _varint(buf: Any, pos: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise WireError("a varint longer than 10 bytes")


def _int64(value: int) -> int:
    return value - (1 << 64) if value & _SIGN64 else value


def _int32(value: int) -> int:
    value &= _MASK32
    return value - (1 << 32) if value & _SIGN32 else value


def _span(buf: Any, pos: int, end: int) -> tuple[int, int]:
    """A length-delimited field's (start, stop), checked against ``end``."""
    b = buf[pos]
    if b < 0x80:
        pos += 1
        n = b
    else:
        n, pos = _varint(buf, pos)
    stop = pos + n
    if stop > end:
        raise WireError("a length-delimited field runs past the end of its message")
    return pos, stop


def _text(buf: Any, start: int, stop: int) -> str:
    try:
        return str(buf[start:stop], "utf-8")
    except UnicodeDecodeError:
        raise WireError("a string field is not valid UTF-8") from None


def _skip(buf: Any, pos: int, end: int, key: int) -> int:
    """Skip an unknown field (or a known one with an unexpected wire type)."""
    wire = key & 7
    if key >> 3 == 0:
        raise WireError("field number 0")
    if wire == 0:
        while buf[pos] >= 0x80:
            pos += 1
        return pos + 1
    if wire == 2:
        return _span(buf, pos, end)[1]
    if wire == 5:
        return pos + 4
    if wire == 1:
        return pos + 8
    if wire == 3:  # a group: skip fields until its matching end-group tag
        field = key >> 3
        while True:
            if pos >= end:
                raise WireError("an unterminated group")
            inner, pos = _varint(buf, pos)
            if inner & 7 == 4:
                if inner >> 3 != field:
                    raise WireError("mismatched end-group tag")
                return pos
            pos = _skip(buf, pos, end, inner)
    raise WireError(f"invalid wire type {wire}")


def _ints(buf: Any, pos: int, end: int, key: int, out: list[int], convert: Any) -> int:
    """A repeated varint field element: packed (wire type 2) or one value (wire type 0)."""
    if key & 7 == 2:
        start, stop = _span(buf, pos, end)
        p = start
        while p < stop:
            v, p = _varint(buf, p)
            out.append(convert(v))
        if p != stop:
            raise WireError("a packed field's last varint runs past its length")
        return stop
    v, pos = _varint(buf, pos)
    out.append(convert(v))
    return pos


def _uint64(value: int) -> int:
    return value


def _floats(buf: Any, pos: int, end: int, key: int, out: list[float], fmt: str, size: int) -> int:
    """A repeated fixed-width float field element: packed or one value."""
    if key & 7 == 2:
        start, stop = _span(buf, pos, end)
        if (stop - start) % size:
            raise WireError("a packed float field's length is not a multiple of the element size")
        out.extend(struct.unpack_from(f"<{(stop - start) // size}{fmt}", buf, start))
        return stop
    out.append(struct.unpack_from(f"<{fmt}", buf, pos)[0])
    return pos + size


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise WireDepthError(f"messages nested deeper than {MAX_DEPTH} levels")


def _check_end(pos: int, end: int) -> None:
    if pos != end:
        raise WireError("a field runs past the end of its message")


# --- parsers -----------------------------------------------------------------------------


def _entry(buf: Any, pos: int, end: int, depth: int) -> StringStringEntryProto:
    _check_depth(depth)
    entry = StringStringEntryProto()
    d = entry.__dict__
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 10:
            s, pos = _span(buf, pos, end)
            d["key"] = _text(buf, s, pos)
        elif key == 18:
            s, pos = _span(buf, pos, end)
            d["value"] = _text(buf, s, pos)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return entry


def _opset(buf: Any, pos: int, end: int, depth: int) -> OperatorSetIdProto:
    _check_depth(depth)
    opset = OperatorSetIdProto()
    d = opset.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 10:
            s, pos = _span(buf, pos, end)
            d["domain"] = _text(buf, s, pos)
        elif key == 16:
            v, pos = _varint(buf, pos)
            d["version"] = _int64(v)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return opset


def _segment(buf: Any, pos: int, end: int, depth: int, seg: Segment) -> Segment:
    _check_depth(depth)
    d = seg.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key in (8, 16):
            v, pos = _varint(buf, pos)
            d["begin" if key == 8 else "end"] = _int64(v)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return seg


#: Typed data fields: field number → (element format, size) for fixed-width ones;
#: varint ones (int32_data 5, int64_data 7, uint64_data 11) map to their converter.
_FIXED_DATA = {4: ("f", 4), 10: ("d", 8)}
_VARINT_DATA = {5: _int32, 7: _int64, 11: _uint64}


def _typed_data(buf: Any, pos: int, end: int, key: int, typed: dict[int, list[Any] | None]) -> int:
    """One typed-data field element: decoded while the field stays small, else skipped by length.

    ``typed[field]`` becomes ``None`` once the field holds more elements than any
    small tensor: its values can no longer matter, so the rest is only skipped.
    """
    field = key >> 3
    if field not in typed:
        typed[field] = []
    kept = typed[field]
    if kept is None:
        return _skip(buf, pos, end, key)
    fixed = _FIXED_DATA.get(field)
    if key & 7 == 2:
        start, stop = _span(buf, pos, end)
        # A varint takes at least one byte and a fixed element its size, so this many
        # bytes hold more elements than any small tensor.
        if stop - start > MAX_VALUE_ELEMENTS * (fixed[1] if fixed else 10):
            typed[field] = None
            return stop
    if fixed:
        pos = _floats(buf, pos, end, key, kept, fixed[0], fixed[1])
    else:
        pos = _ints(buf, pos, end, key, kept, _VARINT_DATA[field])
    if len(kept) > MAX_VALUE_ELEMENTS:
        typed[field] = None
    return pos


_DATA_KEYS = frozenset(
    (f << 3) | w for f in (4, 10) for w in (2, 5 if f == 4 else 1)
) | frozenset((f << 3) | w for f in (5, 7, 11) for w in (0, 2))


def _tensor(buf: Any, pos: int, end: int, depth: int, tensor: TensorProto | None = None) -> TensorProto:
    _check_depth(depth)
    if tensor is None:
        tensor = TensorProto()
    d = tensor.__dict__
    dims: list[int] = list(d.get("dims", ()))
    entries: list[StringStringEntryProto] = list(d.get("external_data", ()))
    typed: dict[int, list[Any] | None] = d.get("_typed") or {}  # this tensor's own, never the default
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 74:  # raw_data: the payload, skipped unless small
            s, pos = _span(buf, pos, end)
            d["_raw"] = bytes(buf[s:pos]) if pos - s <= SMALL_DATA_BYTES else _TOO_LARGE
        elif key in _DATA_KEYS:
            pos = _typed_data(buf, pos, end, key, typed)
        elif key == 8 or key == 10:
            pos = _ints(buf, pos, end, key, dims, _int64)
        elif key == 16:
            v, pos = _varint(buf, pos)
            d["data_type"] = _int32(v)
        elif key == 66:
            s, pos = _span(buf, pos, end)
            d["name"] = _text(buf, s, pos)
        elif key == 106:
            s, pos = _span(buf, pos, end)
            entries.append(_entry(buf, s, pos, depth + 1))
        elif key == 112:
            v, pos = _varint(buf, pos)
            v = _int32(v)
            if v in _DATA_LOCATIONS:
                d["data_location"] = v
        elif key == 26:
            s, pos = _span(buf, pos, end)
            d["segment"] = _segment(buf, s, pos, depth + 1, d.get("segment") or Segment())
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    if dims:
        d["dims"] = dims
    if entries:
        d["external_data"] = entries
    if typed:
        d["_typed"] = typed
    return tensor


def _sparse(buf: Any, pos: int, end: int, depth: int, sparse: SparseTensorProto | None = None) -> SparseTensorProto:
    _check_depth(depth)
    if sparse is None:
        sparse = SparseTensorProto()
    d = sparse.__dict__
    dims: list[int] = list(d.get("dims", ()))
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 10 or key == 18:
            s, pos = _span(buf, pos, end)
            field = "values" if key == 10 else "indices"
            d[field] = _tensor(buf, s, pos, depth + 1, d.get(field))
        elif key == 24 or key == 26:
            pos = _ints(buf, pos, end, key, dims, _int64)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    if dims:
        d["dims"] = dims
    return sparse


def _dimension(buf: Any, pos: int, end: int, depth: int) -> TensorShapeDimension:
    _check_depth(depth)
    dim = TensorShapeDimension()
    d = dim.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 8:
            v, pos = _varint(buf, pos)
            d.pop("dim_param", None)
            d["dim_value"] = _int64(v)
        elif key == 18:
            s, pos = _span(buf, pos, end)
            d.pop("dim_value", None)
            d["dim_param"] = _text(buf, s, pos)
        elif key == 26:
            s, pos = _span(buf, pos, end)
            d["denotation"] = _text(buf, s, pos)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return dim


def _shape(buf: Any, pos: int, end: int, depth: int, shape: TensorShapeProto | None) -> TensorShapeProto:
    _check_depth(depth)
    if shape is None:
        shape = TensorShapeProto()
    dims = list(shape.dim)
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 10:
            s, pos = _span(buf, pos, end)
            dims.append(_dimension(buf, s, pos, depth + 1))
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    shape.__dict__["dim"] = dims
    return shape


def _type_tensor(buf: Any, pos: int, end: int, depth: int, tt: TypeTensor | None) -> TypeTensor:
    _check_depth(depth)
    if tt is None:
        tt = TypeTensor()
    d = tt.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 8:
            v, pos = _varint(buf, pos)
            d["elem_type"] = _int32(v)
        elif key == 18:
            s, pos = _span(buf, pos, end)
            d["shape"] = _shape(buf, s, pos, depth + 1, d.get("shape"))
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return tt


def _type(buf: Any, pos: int, end: int, depth: int, tp: TypeProto | None = None) -> TypeProto:
    _check_depth(depth)
    if tp is None:
        tp = TypeProto()
    d = tp.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key in (10, 66):
            s, pos = _span(buf, pos, end)
            member = "tensor_type" if key == 10 else "sparse_tensor_type"
            tp._set_oneof(member)
            d[member] = _type_tensor(buf, s, pos, depth + 1, d.get(member))
        elif key in (34, 74):
            s, pos = _span(buf, pos, end)
            member = "sequence_type" if key == 34 else "optional_type"
            tp._set_oneof(member)
            holder = d.get(member) or (TypeSequence() if key == 34 else TypeOptional())
            d[member] = _holder(buf, s, pos, depth + 1, holder)
        elif key == 42:
            s, pos = _span(buf, pos, end)
            tp._set_oneof("map_type")
            d["map_type"] = _map_type(buf, s, pos, depth + 1, d.get("map_type") or TypeMap())
        elif key == 58:
            s, pos = _span(buf, pos, end)
            tp._set_oneof("opaque_type")
            d["opaque_type"] = _opaque(buf, s, pos, depth + 1, d.get("opaque_type") or TypeOpaque())
        elif key == 50:
            s, pos = _span(buf, pos, end)
            d["denotation"] = _text(buf, s, pos)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return tp


def _holder(buf: Any, pos: int, end: int, depth: int, holder: Any) -> Any:
    """``TypeProto.Sequence`` or ``Optional``: one field, ``elem_type`` (a TypeProto)."""
    _check_depth(depth)
    d = holder.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 10:
            s, pos = _span(buf, pos, end)
            d["elem_type"] = _type(buf, s, pos, depth + 1, d.get("elem_type"))
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return holder


def _map_type(buf: Any, pos: int, end: int, depth: int, mt: TypeMap) -> TypeMap:
    _check_depth(depth)
    d = mt.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 8:
            v, pos = _varint(buf, pos)
            d["key_type"] = _int32(v)
        elif key == 18:
            s, pos = _span(buf, pos, end)
            d["value_type"] = _type(buf, s, pos, depth + 1, d.get("value_type"))
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return mt


def _opaque(buf: Any, pos: int, end: int, depth: int, op: TypeOpaque) -> TypeOpaque:
    _check_depth(depth)
    d = op.__dict__
    while pos < end:
        key, pos = _varint(buf, pos)
        if key in (10, 18):
            s, pos = _span(buf, pos, end)
            d["domain" if key == 10 else "name"] = _text(buf, s, pos)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return op


def _value_info(buf: Any, pos: int, end: int, depth: int) -> ValueInfoProto:
    _check_depth(depth)
    vi = ValueInfoProto()
    d = vi.__dict__
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 10:
            s, pos = _span(buf, pos, end)
            d["name"] = _text(buf, s, pos)
        elif key == 18:
            s, pos = _span(buf, pos, end)
            d["type"] = _type(buf, s, pos, depth + 1, d.get("type"))
        elif key == 26:
            s, pos = _span(buf, pos, end)
            d["doc_string"] = _text(buf, s, pos)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return vi


def _attribute(buf: Any, pos: int, end: int, depth: int) -> AttributeProto:
    _check_depth(depth)
    attr = AttributeProto()
    d = attr.__dict__
    floats: list[float] = []
    ints: list[int] = []
    strings: list[bytes] = []
    tensors: list[TensorProto] = []
    graphs: list[GraphProto] = []
    sparse_tensors: list[SparseTensorProto] = []
    type_protos: list[TypeProto] = []
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 10:
            s, pos = _span(buf, pos, end)
            d["name"] = _text(buf, s, pos)
        elif key == 160:  # type (field 20)
            v, pos = _varint(buf, pos)
            v = _int32(v)
            if v in _ATTRIBUTE_TYPES:
                d["type"] = v
        elif key == 24:
            v, pos = _varint(buf, pos)
            d["i"] = _int64(v)
        elif key == 64 or key == 66:
            pos = _ints(buf, pos, end, key, ints, _int64)
        elif key == 21:
            d["f"] = struct.unpack_from("<f", buf, pos)[0]
            pos += 4
        elif key == 61 or key == 58:
            pos = _floats(buf, pos, end, key, floats, "f", 4)
        elif key == 34:
            s, pos = _span(buf, pos, end)
            d["s"] = bytes(buf[s:pos])
        elif key == 74:
            s, pos = _span(buf, pos, end)
            strings.append(bytes(buf[s:pos]))
        elif key == 42:
            s, pos = _span(buf, pos, end)
            d["t"] = _tensor(buf, s, pos, depth + 1, d.get("t"))
        elif key == 82:
            s, pos = _span(buf, pos, end)
            tensors.append(_tensor(buf, s, pos, depth + 1))
        elif key == 50:
            s, pos = _span(buf, pos, end)
            d["g"] = _graph(buf, s, pos, depth + 1, d.get("g"))
        elif key == 90:
            s, pos = _span(buf, pos, end)
            graphs.append(_graph(buf, s, pos, depth + 1))
        elif key == 178:  # sparse_tensor (field 22)
            s, pos = _span(buf, pos, end)
            d["sparse_tensor"] = _sparse(buf, s, pos, depth + 1, d.get("sparse_tensor"))
        elif key == 186:  # sparse_tensors (field 23)
            s, pos = _span(buf, pos, end)
            sparse_tensors.append(_sparse(buf, s, pos, depth + 1))
        elif key == 114:
            s, pos = _span(buf, pos, end)
            d["tp"] = _type(buf, s, pos, depth + 1, d.get("tp"))
        elif key == 122:
            s, pos = _span(buf, pos, end)
            type_protos.append(_type(buf, s, pos, depth + 1))
        elif key == 170:  # ref_attr_name (field 21)
            s, pos = _span(buf, pos, end)
            d["ref_attr_name"] = _text(buf, s, pos)
        elif key == 106:
            s, pos = _span(buf, pos, end)
            d["doc_string"] = _text(buf, s, pos)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    if floats:
        d["floats"] = floats
    if ints:
        d["ints"] = ints
    if strings:
        d["strings"] = strings
    if tensors:
        d["tensors"] = tensors
    if graphs:
        d["graphs"] = graphs
    if sparse_tensors:
        d["sparse_tensors"] = sparse_tensors
    if type_protos:
        d["type_protos"] = type_protos
    return attr


#: Whether the reader asks the kernel to read dense stretches ahead (see _Readahead).
_READAHEAD = hasattr(mmap, "MADV_WILLNEED") and hasattr(mmap.mmap, "madvise")
#: Attributes up to this many bytes with only scalar, list or string values are decoded
#: once per distinct encoding: a large model repeats the same few (``kernel_shape: [3, 3]``,
#: ``strides``, ``pads``) on thousands of nodes.
_SHARED_ATTRIBUTE_BYTES = 64
#: Fields of such attributes: name, f, i, s, floats, ints, strings, type, ref_attr_name, doc_string.
_PLAIN_ATTRIBUTE_FIELDS = frozenset(("name", "f", "i", "s", "floats", "ints", "strings", "type",
                                     "ref_attr_name", "doc_string"))
#: Bytes → decoded attribute. The key is the exact encoding, so a hit is the same attribute;
#: the objects are never modified after decoding, so nodes may share one.
_attribute_cache: dict[bytes, AttributeProto] = {}
_ATTRIBUTE_CACHE_ENTRIES = 4096


def _shared_attribute(buf: Any, pos: int, end: int, depth: int) -> AttributeProto:
    """:func:`_attribute`, decoded once per distinct small plain attribute."""
    if end - pos > _SHARED_ATTRIBUTE_BYTES:
        return _attribute(buf, pos, end, depth)
    key = bytes(buf[pos:end])
    attr = _attribute_cache.get(key)
    if attr is None:
        attr = _attribute(buf, pos, end, depth)
        if attr.__dict__.keys() <= _PLAIN_ATTRIBUTE_FIELDS:
            if len(_attribute_cache) >= _ATTRIBUTE_CACHE_ENTRIES:
                _attribute_cache.clear()
            _attribute_cache[key] = attr
    return attr


def _node(buf: Any, pos: int, end: int, depth: int) -> NodeProto:
    # The hot loop of a large graph: one-byte tags and lengths are read and strings
    # decoded inline (a UnicodeDecodeError anywhere is one WireError below).
    _check_depth(depth)
    node = NodeProto()
    d = node.__dict__
    inputs: list[str] = []
    outputs: list[str] = []
    attributes: list[AttributeProto] = []
    try:
        while pos < end:
            key = buf[pos]
            pos += 1
            if key >= 0x80:
                key, pos = _varint(buf, pos - 1)
            if key & 7 == 2 and key < 128:
                n = buf[pos]
                pos += 1
                if n >= 0x80:
                    n, pos = _varint(buf, pos - 1)
                s = pos
                pos += n
                if pos > end:
                    raise WireError("a length-delimited field runs past the end of its message")
                if key == 10:
                    inputs.append(str(buf[s:pos], "utf-8"))
                elif key == 18:
                    outputs.append(str(buf[s:pos], "utf-8"))
                elif key == 42:
                    attributes.append(_shared_attribute(buf, s, pos, depth + 1))
                elif key == 26:
                    d["name"] = str(buf[s:pos], "utf-8")
                elif key == 34:
                    d["op_type"] = str(buf[s:pos], "utf-8")
                elif key == 58:
                    d["domain"] = str(buf[s:pos], "utf-8")
                elif key == 66:
                    d["overload"] = str(buf[s:pos], "utf-8")
                elif key == 50:
                    d["doc_string"] = str(buf[s:pos], "utf-8")
                # other length-delimited fields (metadata, device configurations) are skipped
            else:
                pos = _skip(buf, pos, end, key)
    except UnicodeDecodeError:
        raise WireError("a string field is not valid UTF-8") from None
    _check_end(pos, end)
    if inputs:
        d["input"] = inputs
    if outputs:
        d["output"] = outputs
    if attributes:
        d["attribute"] = attributes
    return node


class _Readahead:
    """Asks the kernel to read the file ahead while the structure is dense, and not where it is sparse.

    The map is opened with ``MADV_RANDOM``, so an uncached page is read alone when it
    is first touched, and a weight payload that is skipped is never read. That is
    right when headers are far apart (VGG-16: a few headers among 100 MB tensors),
    but when they are close together (thousands of nodes, or small tensors a few KB
    apart) one synchronous 4 KB read per page made an uncached 100k-node model take
    seven times as long as a cached one. So while the fields of a graph stay inside
    the stretch already requested, the file is requested (``MADV_WILLNEED``,
    asynchronous) up to :data:`LEAD` bytes ahead of the parser, :data:`CHUNK` bytes
    at a time; after a jump past the requested stretch (a large payload skipped),
    nothing is requested until the fields stay within :data:`PROBE` bytes again.
    Pages read ahead count towards peak RSS once mapped, so a dense model's RSS
    includes the stretches it was read through; a sparse one's (VGG-16) does not.
    """

    CHUNK = 512 << 10
    LEAD = 1 << 20
    PROBE = 64 << 10

    def __init__(self, data: mmap.mmap, pos: int) -> None:
        self.data = data
        self.size = len(data)
        self.until = pos - pos % mmap.PAGESIZE

    def advance(self, pos: int) -> int:
        """Called when the parser reaches ``pos``; returns the position of the next call."""
        if pos >= self.until + mmap.PAGESIZE:  # jumped past the requested stretch: sparse here
            probe = pos + self.PROBE
            self.until = probe - probe % mmap.PAGESIZE
            return self.until - self.PROBE // 2
        while self.until < min(pos + self.LEAD, self.size):
            try:
                self.data.madvise(mmap.MADV_WILLNEED, self.until, min(self.CHUNK, self.size - self.until))
            except (OSError, ValueError):  # advice only: reading works without it
                return self.size
            self.until += self.CHUNK
        if self.until >= self.size:
            return self.size  # the rest of the file is requested: no more calls
        return self.until - self.LEAD + self.CHUNK


def _graph(buf: Any, pos: int, end: int, depth: int, graph: GraphProto | None = None) -> GraphProto:
    _check_depth(depth)
    if graph is None:
        graph = GraphProto()
    d = graph.__dict__
    nodes: list[NodeProto] = list(d.get("node", ()))
    initializers: list[TensorProto] = list(d.get("initializer", ()))
    sparse: list[SparseTensorProto] = list(d.get("sparse_initializer", ()))
    inputs: list[ValueInfoProto] = list(d.get("input", ()))
    outputs: list[ValueInfoProto] = list(d.get("output", ()))
    value_info: list[ValueInfoProto] = list(d.get("value_info", ()))
    node = _node
    ahead = _Readahead(buf, pos) if _READAHEAD and isinstance(buf, mmap.mmap) else None
    ahead_at = pos if ahead is not None else end
    while pos < end:
        if pos >= ahead_at:
            assert ahead is not None
            ahead_at = ahead.advance(pos)
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 10:
            s, pos = _span(buf, pos, end)
            nodes.append(node(buf, s, pos, depth + 1))
        elif key == 42:
            s, pos = _span(buf, pos, end)
            initializers.append(_tensor(buf, s, pos, depth + 1))
        elif key == 106:
            s, pos = _span(buf, pos, end)
            value_info.append(_value_info(buf, s, pos, depth + 1))
        elif key == 90:
            s, pos = _span(buf, pos, end)
            inputs.append(_value_info(buf, s, pos, depth + 1))
        elif key == 98:
            s, pos = _span(buf, pos, end)
            outputs.append(_value_info(buf, s, pos, depth + 1))
        elif key == 18:
            s, pos = _span(buf, pos, end)
            d["name"] = _text(buf, s, pos)
        elif key == 122:
            s, pos = _span(buf, pos, end)
            sparse.append(_sparse(buf, s, pos, depth + 1))
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    d.update(node=nodes, initializer=initializers, sparse_initializer=sparse, input=inputs,
             output=outputs, value_info=value_info)
    return graph


def _function(buf: Any, pos: int, end: int, depth: int) -> FunctionProto:
    _check_depth(depth)
    function = FunctionProto()
    d = function.__dict__
    lists: dict[int, list[Any]] = {4: [], 5: [], 6: [], 7: [], 9: [], 11: [], 12: []}
    while pos < end:
        key, pos = _varint(buf, pos)
        if key & 7 != 2:
            pos = _skip(buf, pos, end, key)
            continue
        field = key >> 3
        s, pos = _span(buf, pos, end)
        if field in (4, 5, 6):
            lists[field].append(_text(buf, s, pos))
        elif field == 7:
            lists[7].append(_node(buf, s, pos, depth + 1))
        elif field == 9:
            lists[9].append(_opset(buf, s, pos, depth + 1))
        elif field == 11:
            lists[11].append(_attribute(buf, s, pos, depth + 1))
        elif field == 12:
            lists[12].append(_value_info(buf, s, pos, depth + 1))
        elif field in (1, 10, 13, 8):
            d[{1: "name", 10: "domain", 13: "overload", 8: "doc_string"}[field]] = _text(buf, s, pos)
    _check_end(pos, end)
    d.update(input=lists[4], output=lists[5], attribute=lists[6], node=lists[7], opset_import=lists[9],
             attribute_proto=lists[11], value_info=lists[12])
    return function


def _model(buf: Any, pos: int, end: int) -> ModelProto:
    model = ModelProto()
    d = model.__dict__
    opsets: list[OperatorSetIdProto] = []
    functions: list[FunctionProto] = []
    while pos < end:
        key, pos = _varint(buf, pos)
        if key == 58:
            s, pos = _span(buf, pos, end)
            d["graph"] = _graph(buf, s, pos, 1, d.get("graph"))
        elif key == 8 or key == 40:
            v, pos = _varint(buf, pos)
            d["ir_version" if key == 8 else "model_version"] = _int64(v)
        elif key == 66:
            s, pos = _span(buf, pos, end)
            opsets.append(_opset(buf, s, pos, 1))
        elif key in (18, 26, 34, 50):
            s, pos = _span(buf, pos, end)
            field = {18: "producer_name", 26: "producer_version", 34: "domain", 50: "doc_string"}[key]
            d[field] = _text(buf, s, pos)
        elif key == 202:  # functions (field 25)
            s, pos = _span(buf, pos, end)
            functions.append(_function(buf, s, pos, 1))
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    d["opset_import"] = opsets
    d["functions"] = functions
    return model


# --- tensor contents ---------------------------------------------------------------------

#: dtype code → (struct format of one raw element, item size).
_RAW_FORMATS = {
    1: ("f", 4), 2: ("B", 1), 3: ("b", 1), 4: ("H", 2), 5: ("h", 2), 6: ("i", 4), 7: ("q", 8),
    9: ("B", 1), 10: ("e", 2), 11: ("d", 8), 12: ("I", 4), 13: ("Q", 8), 16: ("H", 2),
}


def _bfloat16(bits: list[int]) -> list[float]:
    return list(struct.unpack(f"<{len(bits)}f", struct.pack(f"<{len(bits)}I", *(b << 16 for b in bits))))


def _half(bits: list[int]) -> list[float]:
    return list(struct.unpack(f"<{len(bits)}e", struct.pack(f"<{len(bits)}H", *bits)))


def _signed(bits: int) -> Any:
    half = 1 << (bits - 1)
    mask = (1 << bits) - 1
    return lambda v: ((v & mask) ^ half) - half


def _check_count(count: int, dims: Sequence[int]) -> None:
    """Raise where ``ndarray.reshape(dims)`` of ``count`` elements raises."""
    known = 1
    unknown = 0
    for d in dims:
        if d == -1:
            unknown += 1
        elif d < 0:
            raise ValueError("negative dimension")
        else:
            known *= d
    if unknown > 1:
        raise ValueError("more than one -1")
    if unknown:
        if known == 0 or count % known:
            raise ValueError("cannot infer the -1 dimension")
    elif known != count:
        raise ValueError(f"{count} elements do not fill dims {list(dims)}")


def _flat_values(tensor: TensorProto) -> list[Any]:
    if tensor.HasField("segment"):
        raise ValueError("segments are not supported")
    code = tensor.data_type
    if code not in _RAW_FORMATS:
        raise ValueError(f"no numeric decoding for data type {code}")
    raw = tensor._raw
    if raw is not None:
        if not isinstance(raw, bytes):
            raise ValueError("raw data too large for a small tensor")
        fmt, size = _RAW_FORMATS[code]
        if len(raw) % size:
            raise ValueError("raw data is not a whole number of elements")
        count = len(raw) // size
        _check_count(count, tensor.dims)
        if code == 16:
            return _bfloat16(list(struct.unpack(f"<{count}H", raw)))
        values = list(struct.unpack(f"<{count}{fmt}", raw))
        return [v != 0 for v in values] if code == 9 else values
    # The typed field each dtype is stored in, and the cast to_array applies to it.
    field = {1: 4, 7: 7, 11: 10, 12: 11, 13: 11}.get(code, 5)
    kept = tensor._typed.get(field, [])
    if kept is None:
        raise ValueError("typed data too large for a small tensor")
    _check_count(len(kept), tensor.dims)
    if code in (4, 10, 16):  # uint16, float16, bfloat16: the low 16 bits of each int32
        bits = [v & 0xFFFF for v in kept]
        return _half(bits) if code == 10 else _bfloat16(bits) if code == 16 else bits
    if code == 5:
        return [_signed(16)(v) for v in kept]
    if code == 9:
        return [(v & 0xFF) != 0 for v in kept]
    if code == 3:
        return [_signed(8)(v) for v in kept]
    if code == 2:
        return [v & 0xFF for v in kept]
    if code == 12:
        return [v & _MASK32 for v in kept]
    return list(kept)


# --- entry point -------------------------------------------------------------------------


def parse_model(data: Any) -> ModelProto:
    """Parse serialized ONNX bytes (``bytes`` or an ``mmap``); raises :class:`WireError`.

    The parser recurses once per nested message, at most :data:`MAX_DEPTH` deep; the
    interpreter's recursion limit is raised for the call if the caller's stack would
    not leave that much room, and restored after.
    """
    frame, used = sys._getframe(), 0
    while frame is not None:
        used += 1
        frame = frame.f_back  # type: ignore[assignment]
    limit = sys.getrecursionlimit()
    needed = used + 2 * MAX_DEPTH + 50
    if needed > limit:
        sys.setrecursionlimit(needed)
    try:
        return _model(data, 0, len(data))
    except (IndexError, struct.error) as err:
        raise WireError(f"truncated ({err})") from None
    finally:
        _attribute_cache.clear()
        if needed > limit:
            sys.setrecursionlimit(limit)


def read_structure(path: Path, display: str) -> ModelProto:
    """The structure of the ONNX model at ``path``, read through a memory map.

    The map is closed before this returns: everything kept was copied out of it,
    and nothing else was read.
    """
    try:
        with open(path, "rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if hasattr(mmap, "MADV_RANDOM"):
                # No read-ahead: the structure is scattered between payloads, and reading
                # ahead would page in (and count towards RSS) the weights being skipped.
                data.madvise(mmap.MADV_RANDOM)
            return parse_model(data)
    except OSError as err:
        raise ModelFormatError(f"cannot read the file ({err.strerror or err})", where=display) from None
    except WireDepthError:
        # One If/Loop/Scan level is three nested messages (node, attribute, graph).
        raise LimitError(
            f"the model nests protobuf messages deeper than {MAX_DEPTH} levels (about "
            f"{MAX_DEPTH // 3} levels of If/Loop/Scan subgraphs), the limit protobuf itself sets",
            where=display,
        ) from None
    except (WireError, ValueError) as err:
        raise ModelFormatError(
            f"not a valid ONNX model: the protobuf does not parse ({err}); is the file truncated or not ONNX?",
            where=display,
        ) from None
