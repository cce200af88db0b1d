"""A structure-only ONNX reader: the protobuf wire format, decoded in pure Python from a memory map.

``onnx.load`` parses and copies every weight byte; a static analyzer needs none
of them. This reader walks the file's protobuf encoding directly (field tag,
then a varint, a fixed 32/64-bit word or a length-prefixed span) and keeps only
the structure. A weight payload (``raw_data`` or a typed ``*_data`` field) is
skipped by its length prefix, so the pages that hold it are never touched and
never copied; external data is never opened.

What is decoded
---------------
* Only the fields archcost reads. Each message class lists them in its ``_keeps``
  table, by their numbers in ``onnx/onnx.proto``. Every other field (doc strings,
  denotations, producer fields, training info, most metadata) is skipped by its
  length, exactly as an unknown field is, so nothing inside it is checked either.
  Node and model ``metadata_props`` are kept; their strings are decoded leniently
  (an invalid byte becomes U+FFFD), so metadata never makes a model unreadable.
* The hot messages (graph, node, tensor) read their common fields in hand-written
  loops and hand the rest to their tables; attributes that repeat on many nodes
  are decoded once (:func:`_shared_attribute`).
* A tensor's *contents* are kept only when they can be small: a data span is
  copied when it is at most :data:`SMALL_DATA_BYTES` bytes (raw data) or holds at
  most ``MAX_VALUE_ELEMENTS`` elements (typed fields). That is enough for every
  tensor :func:`archcost.frontends.onnx._small_values` can accept: it takes
  integer tensors of at most ``MAX_VALUE_ELEMENTS`` (1024) elements and float
  tensors of at most ``MAX_FLOAT_VALUE_ELEMENTS`` (8), at most 8 bytes an element.
  :meth:`TensorProto.flat_values` then decodes those bytes exactly as
  ``onnx.numpy_helper.to_array(t).reshape(-1).tolist()`` would, and raises
  :class:`ValueError` where that call raises, so both readers give the same values.

The returned objects have the field names of the ``onnx`` protobuf classes, for
the fields kept: repeated fields as sequences, unset message fields as empty
default messages, ``HasField`` for singular fields and oneofs. Protobuf's parsing
rules are followed where they change the result: the last value of a singular
scalar wins, a singular message that appears twice is merged, a oneof keeps its
last member, a known field with an unexpected wire type is an unknown field, and
an unknown value of a closed enum (``AttributeProto.type``,
``TensorProto.data_location``) leaves the field unset.

Every way the decoded bytes can fail to be protobuf (truncated, a length past the
end, a bad wire type, a string field that is not UTF-8) raises
:class:`~archcost.errors.ModelFormatError`; nesting deeper than :data:`MAX_DEPTH`
raises :class:`~archcost.errors.LimitError`.
"""

from __future__ import annotations

import enum
import mmap
import struct
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple, TypeVar

from archcost.errors import LimitError, ModelFormatError
from archcost.graph import MAX_NODES
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

#: Protobuf wire types: a field's tag is ``field number << 3 | wire type``.
VARINT, I64, LEN, I32 = 0, 1, 2, 5


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


class WireNodeLimit(WireError):
    """More graph nodes than :data:`archcost.graph.MAX_NODES` (internal; surfaces as LimitError)."""


#: Graph nodes (subgraphs' included) still allowed in the file being read: counted down while
#: reading, so a file over the limit is refused after reading that many nodes, not after all.
_node_budget = [MAX_NODES]


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


def _uint64(value: int) -> int:
    return value


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
    if wire == 0:  # VARINT
        while buf[pos] >= 0x80:
            pos += 1
        return pos + 1
    if wire == 2:  # LEN
        return _span(buf, pos, end)[1]
    if wire == 5:  # I32
        return pos + 4
    if wire == 1:  # I64
        return pos + 8
    if wire == 3:  # a group: skip fields until its matching end-group tag (wire type 4)
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


def _packed_ints(buf: Any, start: int, stop: int, out: list[int], convert: Any) -> None:
    while start < stop:
        v, start = _varint(buf, start)
        out.append(convert(v))
    if start != stop:
        raise WireError("a packed field's last varint runs past its length")


def _ints(buf: Any, pos: int, end: int, key: int, out: list[int], convert: Any) -> int:
    """A repeated varint field element: packed (wire type 2) or one value (wire type 0)."""
    if key & 7 == 2:
        start, stop = _span(buf, pos, end)
        _packed_ints(buf, start, stop, out, convert)
        return stop
    v, pos = _varint(buf, pos)
    out.append(convert(v))
    return pos


def _packed_floats(buf: Any, start: int, stop: int, out: list[float], fmt: str, size: int) -> None:
    if (stop - start) % size:
        raise WireError("a packed float field's length is not a multiple of the element size")
    out.extend(struct.unpack_from(f"<{(stop - start) // size}{fmt}", buf, start))


def _floats(buf: Any, pos: int, end: int, key: int, out: list[float], fmt: str, size: int) -> int:
    """A repeated fixed-width float field element: packed or one value."""
    if key & 7 == 2:
        start, stop = _span(buf, pos, end)
        _packed_floats(buf, start, stop, out, fmt, size)
        return stop
    out.append(struct.unpack_from(f"<{fmt}", buf, pos)[0])
    return pos + size


def _check_depth(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise WireDepthError(f"messages nested deeper than {MAX_DEPTH} levels")


def _check_end(pos: int, end: int) -> None:
    if pos != end:
        raise WireError("a field runs past the end of its message")


# --- messages, decoded by table ----------------------------------------------------------
#
# A message class's table maps each tag it keeps to a _Field: into which attribute, and
# how to read one occurrence. Class attributes are the protobuf defaults (set from the
# table); a parser sets an instance attribute only for a field present on the wire, so
# ``HasField`` is a dict lookup and an unset message field reads as the shared, empty
# default message. Every parser takes the message to fill: a fresh one, or for a singular
# message field that appears again, the one to merge into.

_M = TypeVar("_M", bound="_Message")


class _Field(NamedTuple):
    """One kept field of a message, under one of its tags."""

    #: Length-delimited: ``read(buf, start, stop, depth, d, field)`` for the field's bytes;
    #: otherwise ``read(buf, pos, d, field)``, which returns the position after the value.
    #: Either sets or extends ``d[field.name]``.
    read: Callable[..., Any]
    name: str
    #: The message class of a message field; the values of a closed enum.
    arg: Any
    #: The other members of its oneof, which reading it clears.
    clears: tuple[str, ...]


class _Message:
    #: The fields this reader keeps (see _Keeps); other fields are skipped.
    _keeps: ClassVar[Mapping[int, tuple[Any, ...]]] = MappingProxyType({})
    #: The kept members of the message's oneof, which clear each other.
    _oneof: ClassVar[tuple[str, ...]] = ()
    #: Tag → field, built from ``_keeps`` by :func:`_link`.
    _fields: ClassVar[dict[int, _Field]] = {}
    #: ``(buf, pos, end, depth, message) -> message``: :func:`_decode` unless hand-written.
    _parse: ClassVar[Callable[[Any, int, int, int, Any], Any]]

    def HasField(self, name: str) -> bool:
        return name in self.__dict__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__})"

    if TYPE_CHECKING:
        # The fields are class attributes set from the tables, which mypy cannot see.
        def __getattr__(self, name: str) -> Any: ...


def _decode(buf: Any, pos: int, end: int, depth: int, message: _M) -> _M:
    """Read ``buf[pos:end]`` into ``message`` by its table, skipping every field it does not keep."""
    _check_depth(depth)
    fields = message._fields
    d = message.__dict__
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        field = fields.get(key)
        if field is None:
            pos = _skip(buf, pos, end, key)
            continue
        if field.clears:
            for other in field.clears:
                d.pop(other, None)
        if key & 7 == 2:  # length-delimited: the span is read here, as _span would
            n = buf[pos]
            pos += 1
            if n >= 0x80:
                n, pos = _varint(buf, pos - 1)
            start = pos
            pos += n
            if pos > end:
                raise WireError("a length-delimited field runs past the end of its message")
            field.read(buf, start, pos, depth, d, field)
        else:
            pos = field.read(buf, pos, d, field)
    _check_end(pos, end)
    return message


def _read_field(buf: Any, pos: int, end: int, key: int, depth: int, d: dict[str, Any], field: _Field) -> int:
    """One occurrence of ``field`` (as :func:`_decode` reads it), for the hand-written loops."""
    for other in field.clears:
        d.pop(other, None)
    if key & 7 == 2:
        start, pos = _span(buf, pos, end)
        field.read(buf, start, pos, depth, d, field)
        return pos
    result: int = field.read(buf, pos, d, field)
    return result


_Message._parse = _decode


def _list(d: dict[str, Any], name: str) -> list[Any]:
    """The list a repeated field's values go to: ``d[name]``, made on its first value."""
    items = d.get(name)
    if items is None:
        items = d[name] = []
    return items


def _read_string(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    d[field.name] = _text(buf, start, stop)


def _read_strings(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    _list(d, field.name).append(_text(buf, start, stop))


def _read_lenient_string(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    d[field.name] = str(buf[start:stop], "utf-8", "replace")


def _read_bytes(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    d[field.name] = bytes(buf[start:stop])


def _read_bytes_list(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    _list(d, field.name).append(bytes(buf[start:stop]))


def _read_message(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    cls = field.arg
    message = d.get(field.name)
    d[field.name] = cls._parse(buf, start, stop, depth + 1, cls() if message is None else message)


def _read_messages(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    cls = field.arg
    message = cls._parse(buf, start, stop, depth + 1, cls())
    items = d.get(field.name)
    if items is None:
        d[field.name] = [message]
    else:
        items.append(message)


#: Stands for a message whose contents nobody reads: only ``HasField`` is asked of it.
_UNREAD = _Message()


def _read_presence(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    d[field.name] = _UNREAD


def _read_packed_floats(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    _packed_floats(buf, start, stop, _list(d, field.name), "f", 4)


def _read_packed_int64s(buf: Any, start: int, stop: int, depth: int, d: dict[str, Any], field: _Field) -> None:
    _packed_ints(buf, start, stop, _list(d, field.name), _int64)


def _read_int64(buf: Any, pos: int, d: dict[str, Any], field: _Field) -> int:
    v = buf[pos]
    if v < 0x80:  # most dims and dtypes fit one byte
        d[field.name] = v
        return pos + 1
    v, pos = _varint(buf, pos)
    d[field.name] = _int64(v)
    return pos


def _read_int32(buf: Any, pos: int, d: dict[str, Any], field: _Field) -> int:
    v = buf[pos]
    if v < 0x80:
        d[field.name] = v
        return pos + 1
    v, pos = _varint(buf, pos)
    d[field.name] = _int32(v)
    return pos


def _read_enum(buf: Any, pos: int, d: dict[str, Any], field: _Field) -> int:
    v, pos = _varint(buf, pos)
    v = _int32(v)
    if v in field.arg:  # a closed enum: an unknown value leaves the field as it was
        d[field.name] = v
    return pos


def _read_one_int64(buf: Any, pos: int, d: dict[str, Any], field: _Field) -> int:
    v, pos = _varint(buf, pos)
    _list(d, field.name).append(_int64(v))
    return pos


def _read_float(buf: Any, pos: int, d: dict[str, Any], field: _Field) -> int:
    d[field.name] = struct.unpack_from("<f", buf, pos)[0]
    return pos + 4


def _read_one_float(buf: Any, pos: int, d: dict[str, Any], field: _Field) -> int:
    _list(d, field.name).append(struct.unpack_from("<f", buf, pos)[0])
    return pos + 4


class _Kind(NamedTuple):
    """How a field is encoded: wire type → reader of one occurrence (protobuf accepts a repeated
    number packed or one per tag), and what the field reads as when unset (``None``: an empty
    message of the field's class)."""

    reads: Mapping[int, Callable[..., Any]]
    default: Any


STRING = _Kind({LEN: _read_string}, "")
#: A string decoded leniently: an invalid UTF-8 byte becomes U+FFFD instead of an error.
LENIENT_STRING = _Kind({LEN: _read_lenient_string}, "")
STRINGS = _Kind({LEN: _read_strings}, ())
BYTES = _Kind({LEN: _read_bytes}, b"")
BYTES_LIST = _Kind({LEN: _read_bytes_list}, ())
INT64 = _Kind({VARINT: _read_int64}, 0)
INT32 = _Kind({VARINT: _read_int32}, 0)
#: A closed enum; the field's third table entry is the set of its values.
ENUM = _Kind({VARINT: _read_enum}, 0)
FLOAT = _Kind({I32: _read_float}, 0.0)
FLOATS = _Kind({LEN: _read_packed_floats, I32: _read_one_float}, ())
INT64S = _Kind({LEN: _read_packed_int64s, VARINT: _read_one_int64}, ())
#: A singular message; the field's third table entry is its class.
MESSAGE = _Kind({LEN: _read_message}, None)
MESSAGES = _Kind({LEN: _read_messages}, ())
#: A message whose fields nobody reads: only whether it is set is kept.
PRESENCE = _Kind({LEN: _read_presence}, _UNREAD)


#: A message's kept fields: ``{number: (name, kind[, argument])}``, by their numbers in
#: ``onnx/onnx.proto``. The argument of a message field is the name of its class; of an
#: enum, the set of its values.
_Keeps = Mapping[int, tuple[Any, ...]]


def _link(*classes: type[_Message]) -> None:
    """Build each class's tag table from its ``_keeps``, and set its fields' defaults."""
    for cls in classes:
        table: dict[int, _Field] = {}
        for number, (name, kind, *rest) in cls._keeps.items():
            arg: Any = rest[0] if rest else None
            if kind is MESSAGE or kind is MESSAGES:
                arg = globals()[arg]  # by name: the classes refer to each other
            setattr(cls, name, arg() if kind is MESSAGE else kind.default)
            clears = tuple(m for m in cls._oneof if m != name) if name in cls._oneof else ()
            for wire, read in kind.reads.items():
                table[number << 3 | wire] = _Field(read, name, arg, clears)
        cls._fields = table


# --- the messages ------------------------------------------------------------------------
# Stand-ins for the ``onnx`` classes of the same names. Each lists the fields it keeps,
# and after the table the fields a reader might look for that are skipped.


class ModelProto(_Message):
    """The structure of an ONNX model, as read from the wire."""

    _keeps: ClassVar[_Keeps] = {
        1: ("ir_version", INT64),
        7: ("graph", MESSAGE, "GraphProto"),
        8: ("opset_import", MESSAGES, "OperatorSetIdProto"),
        14: ("metadata_props", MESSAGES, "MetadataEntry"),
        25: ("functions", MESSAGES, "FunctionProto"),
    }  # skipped: producer_name 2, producer_version 3, domain 4, model_version 5, doc_string 6, training_info 20


class GraphProto(_Message):
    _keeps: ClassVar[_Keeps] = {
        1: ("node", MESSAGES, "NodeProto"),
        2: ("name", STRING),
        5: ("initializer", MESSAGES, "TensorProto"),
        11: ("input", MESSAGES, "ValueInfoProto"),
        12: ("output", MESSAGES, "ValueInfoProto"),
        13: ("value_info", MESSAGES, "ValueInfoProto"),
        15: ("sparse_initializer", MESSAGES, "SparseTensorProto"),
    }  # skipped: doc_string 10, quantization_annotation 14, metadata_props 16


class NodeProto(_Message):
    _keeps: ClassVar[_Keeps] = {
        1: ("input", STRINGS),
        2: ("output", STRINGS),
        3: ("name", STRING),
        4: ("op_type", STRING),
        5: ("attribute", MESSAGES, "AttributeProto"),
        7: ("domain", STRING),
        8: ("overload", STRING),
        9: ("metadata_props", MESSAGES, "MetadataEntry"),
    }  # skipped: doc_string 6, device_configurations 10


class AttributeProto(_Message):
    _keeps: ClassVar[_Keeps] = {
        1: ("name", STRING),
        2: ("f", FLOAT),
        3: ("i", INT64),
        4: ("s", BYTES),
        5: ("t", MESSAGE, "TensorProto"),
        6: ("g", MESSAGE, "GraphProto"),
        7: ("floats", FLOATS),
        8: ("ints", INT64S),
        9: ("strings", BYTES_LIST),
        10: ("tensors", MESSAGES, "TensorProto"),
        11: ("graphs", MESSAGES, "GraphProto"),
        20: ("type", ENUM, _ATTRIBUTE_TYPES),
        21: ("ref_attr_name", STRING),
    }  # skipped: doc_string 13, tp 14, type_protos 15, sparse_tensor 22, sparse_tensors 23 (read only as `type`)


class FunctionProto(_Message):
    _keeps: ClassVar[_Keeps] = {
        1: ("name", STRING),
        4: ("input", STRINGS),
        5: ("output", STRINGS),
        7: ("node", MESSAGES, "NodeProto"),
        10: ("domain", STRING),
        11: ("attribute_proto", MESSAGES, "AttributeProto"),
        13: ("overload", STRING),
    }  # skipped: attribute 6 (names only), doc_string 8, opset_import 9, value_info 12, metadata_props 14


class OperatorSetIdProto(_Message):
    _keeps: ClassVar[_Keeps] = {1: ("domain", STRING), 2: ("version", INT64)}


class StringStringEntryProto(_Message):
    _keeps: ClassVar[_Keeps] = {1: ("key", STRING), 2: ("value", STRING)}


class MetadataEntry(StringStringEntryProto):
    """A ``metadata_props`` entry: a StringStringEntryProto whose strings are decoded leniently.

    A node's value is decoded when first read (see :func:`_metadata_value`): a dynamo export
    carries four entries on every node, and only the module scopes are read (the stack
    traces, the longest, never are)."""

    _keeps: ClassVar[_Keeps] = {1: ("key", LENIENT_STRING), 2: ("value", LENIENT_STRING)}

    def HasField(self, name: str) -> bool:
        return name in self.__dict__ or (name == "value" and "_value_bytes" in self.__dict__)


def _metadata_value(entry: MetadataEntry) -> str:
    """``entry.value``: decoded from the bytes :func:`_metadata_entry` kept, once."""
    d = entry.__dict__
    if "value" in d:
        return str(d["value"])
    raw = d.pop("_value_bytes", None)
    value = d["value"] = "" if raw is None else str(raw, "utf-8", "replace")
    return value


class TensorProto(_Message):
    """A tensor's name, dims, dtype, location and, when small, the bytes of its contents."""

    _keeps: ClassVar[_Keeps] = {
        1: ("dims", INT64S),
        2: ("data_type", INT32),
        3: ("segment", PRESENCE),  # flat_values refuses a segmented tensor, as to_array does
        8: ("name", STRING),
        13: ("external_data", MESSAGES, "StringStringEntryProto"),
        14: ("data_location", ENUM, _DATA_LOCATIONS),
    }  # payloads, which _tensor reads itself: float_data 4, int32_data 5, int64_data 7, raw_data 9,
    #    double_data 10, uint64_data 11; skipped: string_data 6, doc_string 12, metadata_props 16
    dims: Sequence[int]
    data_type: int
    #: raw_data: absent (None), its bytes, or _TOO_LARGE.
    _raw: bytes | str | None = None
    #: typed data field number → its values, or None when there are too many to matter.
    _typed: Mapping[int, list[Any] | None] = MappingProxyType({})

    def flat_values(self) -> list[Any]:
        """``numpy_helper.to_array(self).reshape(-1).tolist()``, without NumPy.

        Raises :class:`ValueError` in the cases ``to_array`` raises (a segment, a
        data length that does not match the dims), and for data this reader did
        not keep because it is larger than any small tensor.
        """
        return _flat_values(self)


class SparseTensorProto(_Message):
    _keeps: ClassVar[_Keeps] = {1: ("values", MESSAGE, "TensorProto"), 2: ("indices", MESSAGE, "TensorProto"),
                                3: ("dims", INT64S)}


class ValueInfoProto(_Message):
    _keeps: ClassVar[_Keeps] = {1: ("name", STRING), 2: ("type", MESSAGE, "TypeProto")}
    # skipped: doc_string 3, metadata_props 4


class TypeProto(_Message):
    _keeps: ClassVar[_Keeps] = {
        1: ("tensor_type", MESSAGE, "TypeTensor"),
        4: ("sequence_type", MESSAGE, "TypeSequence"),
        5: ("map_type", PRESENCE),
        7: ("opaque_type", PRESENCE),
        8: ("sparse_tensor_type", PRESENCE),
        9: ("optional_type", MESSAGE, "TypeOptional"),
    }  # skipped: denotation 6
    _oneof = ("tensor_type", "sequence_type", "map_type", "opaque_type", "sparse_tensor_type", "optional_type")


class TypeTensor(_Message):
    """``TypeProto.Tensor``."""

    _keeps: ClassVar[_Keeps] = {1: ("elem_type", INT32), 2: ("shape", MESSAGE, "TensorShapeProto")}


class TypeSequence(_Message):
    """``TypeProto.Sequence``."""

    _keeps: ClassVar[_Keeps] = {1: ("elem_type", MESSAGE, "TypeProto")}


class TypeOptional(_Message):
    """``TypeProto.Optional``."""

    _keeps: ClassVar[_Keeps] = {1: ("elem_type", MESSAGE, "TypeProto")}


class TensorShapeProto(_Message):
    _keeps: ClassVar[_Keeps] = {1: ("dim", MESSAGES, "TensorShapeDimension")}


class TensorShapeDimension(_Message):
    """``TensorShapeProto.Dimension``."""

    _keeps: ClassVar[_Keeps] = {1: ("dim_value", INT64), 2: ("dim_param", STRING)}  # skipped: denotation 3
    _oneof = ("dim_value", "dim_param")


_MESSAGES = (ModelProto, GraphProto, NodeProto, AttributeProto, FunctionProto, OperatorSetIdProto,
             StringStringEntryProto, MetadataEntry, TensorProto, SparseTensorProto, ValueInfoProto, TypeProto,
             TypeTensor, TypeSequence, TypeOptional, TensorShapeProto, TensorShapeDimension)
_link(*_MESSAGES)
# After _link, which sets every field's default on its class: a node's metadata value is lazy.
MetadataEntry.value = property(_metadata_value)  # type: ignore[attr-defined]


# --- the hot messages: graph, node, attribute cache, tensor ------------------------------
# A large graph is thousands of nodes and initializers. Their common fields are read
# inline, with one-byte tags compared as literals (``key == 10``: field 1, wire type 2);
# any other tag goes to the message's table.


def _graph(buf: Any, pos: int, end: int, depth: int, graph: GraphProto) -> GraphProto:
    _check_depth(depth)
    d = graph.__dict__
    fields = GraphProto._fields
    nodes: list[NodeProto] = d.setdefault("node", [])
    initializers: list[TensorProto] = d.setdefault("initializer", [])
    node = _node
    budget = _node_budget
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
        if key == 10:  # node = 1
            s, pos = _span(buf, pos, end)
            nodes.append(node(buf, s, pos, depth + 1, NodeProto()))
            budget[0] -= 1
            if budget[0] < 0:
                raise WireNodeLimit()
        elif key == 42:  # initializer = 5
            s, pos = _span(buf, pos, end)
            initializers.append(_tensor(buf, s, pos, depth + 1, TensorProto()))
        else:
            field = fields.get(key)
            pos = _skip(buf, pos, end, key) if field is None else _read_field(buf, pos, end, key, depth, d, field)
    _check_end(pos, end)
    return graph


def _node(buf: Any, pos: int, end: int, depth: int, node: NodeProto) -> NodeProto:
    # The hot loop of a large graph: one-byte lengths are read and strings decoded inline
    # (a UnicodeDecodeError anywhere is one WireError below).
    _check_depth(depth)
    d = node.__dict__
    inputs: list[str] = []
    outputs: list[str] = []
    attributes: list[AttributeProto] = []
    metadata: list[MetadataEntry] = []
    try:
        while pos < end:
            key = buf[pos]
            pos += 1
            if key >= 0x80:
                key, pos = _varint(buf, pos - 1)
            if key & 7 == 2 and key < 128:  # length-delimited, fields 1-15
                n = buf[pos]
                pos += 1
                if n >= 0x80:
                    n, pos = _varint(buf, pos - 1)
                s = pos
                pos += n
                if pos > end:
                    raise WireError("a length-delimited field runs past the end of its message")
                if key == 10:  # input = 1
                    inputs.append(str(buf[s:pos], "utf-8"))
                elif key == 18:  # output = 2
                    outputs.append(str(buf[s:pos], "utf-8"))
                elif key == 42:  # attribute = 5
                    attributes.append(_shared_attribute(buf, s, pos, depth + 1))
                elif key == 26:  # name = 3
                    d["name"] = str(buf[s:pos], "utf-8")
                elif key == 34:  # op_type = 4
                    d["op_type"] = str(buf[s:pos], "utf-8")
                elif key == 58:  # domain = 7
                    d["domain"] = str(buf[s:pos], "utf-8")
                elif key == 74:  # metadata_props = 9
                    metadata.append(_metadata_entry(buf, s, pos, depth + 1))
                else:
                    field = NodeProto._fields.get(key)
                    if field is not None:
                        field.read(buf, s, pos, depth, d, field)
            else:
                field = NodeProto._fields.get(key)
                pos = _skip(buf, pos, end, key) if field is None else _read_field(buf, pos, end, key, depth, d, field)
    except UnicodeDecodeError:
        raise WireError("a string field is not valid UTF-8") from None
    _check_end(pos, end)
    if inputs:
        d["input"] = inputs
    if outputs:
        d["output"] = outputs
    if attributes:
        d["attribute"] = attributes
    if metadata:
        d["metadata_props"] = metadata
    return node


def _metadata_entry(buf: Any, pos: int, end: int, depth: int) -> MetadataEntry:
    """:func:`_decode` of a MetadataEntry, unrolled: a dynamo export has four on every node."""
    _check_depth(depth)
    entry = MetadataEntry()
    d = entry.__dict__
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 10 or key == 18:  # key = 1, value = 2
            n = buf[pos]
            pos += 1
            if n >= 0x80:
                n, pos = _varint(buf, pos - 1)
            s = pos
            pos += n
            if pos > end:
                raise WireError("a length-delimited field runs past the end of its message")
            if key == 10:
                d["key"] = str(buf[s:pos], "utf-8", "replace")
            else:
                d["_value_bytes"] = buf[s:pos]  # decoded when read (MetadataEntry.__getattr__)
        else:
            pos = _skip(buf, pos, end, key)
    _check_end(pos, end)
    return entry


def _attribute(buf: Any, pos: int, end: int, depth: int) -> AttributeProto:
    return _decode(buf, pos, end, depth, AttributeProto())


#: Attributes up to this many bytes with only scalar, list or string values are decoded
#: once per distinct encoding: a large model repeats the same few (``kernel_shape: [3, 3]``,
#: ``strides``, ``pads``) on thousands of nodes.
_SHARED_ATTRIBUTE_BYTES = 64
#: The fields of such attributes: every kept field but the tensors and graphs.
_PLAIN_ATTRIBUTE_FIELDS = frozenset(f.name for f in AttributeProto._fields.values()
                                    if f.read not in (_read_message, _read_messages))
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


# TensorProto's typed data fields, by number: the fixed-width ones with their element
# format and size, the varint ones with their conversion.
_FLOAT_DATA, _INT32_DATA, _INT64_DATA, _DOUBLE_DATA, _UINT64_DATA = 4, 5, 7, 10, 11
_FIXED_DATA = {_FLOAT_DATA: ("f", 4), _DOUBLE_DATA: ("d", 8)}
_VARINT_DATA = {_INT32_DATA: _int32, _INT64_DATA: _int64, _UINT64_DATA: _uint64}
#: Their tags, packed or not.
_DATA_KEYS = frozenset(
    (f << 3) | w for f in (_FLOAT_DATA, _DOUBLE_DATA) for w in (LEN, I32 if f == _FLOAT_DATA else I64)
) | frozenset((f << 3) | w for f in _VARINT_DATA for w in (VARINT, LEN))


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


def _tensor(buf: Any, pos: int, end: int, depth: int, tensor: TensorProto) -> TensorProto:
    _check_depth(depth)
    d = tensor.__dict__
    fields = TensorProto._fields
    dims: list[int] = d.setdefault("dims", [])
    typed: dict[int, list[Any] | None] = d.get("_typed") or {}  # this tensor's own, never the default
    while pos < end:
        key = buf[pos]
        pos += 1
        if key >= 0x80:
            key, pos = _varint(buf, pos - 1)
        if key == 74:  # raw_data = 9: the payload, skipped unless small
            s, pos = _span(buf, pos, end)
            d["_raw"] = bytes(buf[s:pos]) if pos - s <= SMALL_DATA_BYTES else _TOO_LARGE
        elif key in _DATA_KEYS:
            pos = _typed_data(buf, pos, end, key, typed)
        elif key == 8 or key == 10:  # dims = 1, one element or packed
            pos = _ints(buf, pos, end, key, dims, _int64)
        elif key == 16:  # data_type = 2
            v, pos = _varint(buf, pos)
            d["data_type"] = _int32(v)
        elif key == 66:  # name = 8
            s, pos = _span(buf, pos, end)
            d["name"] = _text(buf, s, pos)
        else:
            field = fields.get(key)
            pos = _skip(buf, pos, end, key) if field is None else _read_field(buf, pos, end, key, depth, d, field)
    _check_end(pos, end)
    if typed:
        d["_typed"] = typed
    return tensor


GraphProto._parse = _graph
NodeProto._parse = _node
TensorProto._parse = _tensor


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


#: Whether the reader asks the kernel to read dense stretches ahead (see _Readahead).
_READAHEAD = hasattr(mmap, "MADV_WILLNEED") and hasattr(mmap.mmap, "madvise")


# --- tensor contents ---------------------------------------------------------------------

#: dtype code → (struct format of one raw element, item size).
_RAW_FORMATS = {
    1: ("f", 4), 2: ("B", 1), 3: ("b", 1), 4: ("H", 2), 5: ("h", 2), 6: ("i", 4), 7: ("q", 8),
    9: ("B", 1), 10: ("e", 2), 11: ("d", 8), 12: ("I", 4), 13: ("Q", 8), 16: ("H", 2),
}
#: dtype code → the typed data field it is stored in, when not in raw_data (int32_data otherwise).
_DATA_FIELDS = {1: _FLOAT_DATA, 7: _INT64_DATA, 11: _DOUBLE_DATA, 12: _UINT64_DATA, 13: _UINT64_DATA}


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
    kept = tensor._typed.get(_DATA_FIELDS.get(code, _INT32_DATA), [])
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

    The parser recurses at most two Python frames per nested message, at most
    :data:`MAX_DEPTH` deep; the interpreter's recursion limit is raised for the call
    if the caller's stack would not leave that much room, and restored after.
    """
    frame, used = sys._getframe(), 0
    while frame is not None:
        used += 1
        frame = frame.f_back  # type: ignore[assignment]
    limit = sys.getrecursionlimit()
    needed = used + 2 * MAX_DEPTH + 50
    if needed > limit:
        sys.setrecursionlimit(needed)
    _node_budget[0] = MAX_NODES
    try:
        return _decode(data, 0, len(data), 0, ModelProto())
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
    except WireNodeLimit:
        raise LimitError(f"the model has more than {MAX_NODES:,} nodes, subgraphs included; refused while "
                         "reading, at that node", where=display) from None
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
