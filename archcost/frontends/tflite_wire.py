"""A structure-only reader of TFLite (LiteRT) flatbuffers.

Reads the subgraphs, tensors (shape, ``shape_signature``, type, quantization parameters, buffer
index) and operators (opcode, inputs, outputs, builtin options) straight from the file's bytes,
with the slots of :mod:`archcost.frontends.tflite_schema`. The file is memory-mapped and only the
pages that hold the structure are touched: a weight buffer is read as its length and position,
never as its bytes; the contents of a small integer tensor (a reshape target, axes, paddings) and
of a float scalar are decoded, as the ONNX reader decodes them.

Every offset is checked to lie inside the file and every vector's length against the bytes left
after it, so a truncated file, garbage, a hostile offset or a vector claiming 2³¹ elements is a
:class:`~archcost.errors.ModelFormatError` naming the file and the place, never a wrong read or an
unbounded loop. Counts are bounded by :data:`MAX_TENSORS`, :data:`MAX_RANK` and the graph's
node limit. The flatbuffer's nesting is fixed by the schema (model → subgraph → tensor →
quantization), so reading never recurses; subgraphs that call subgraphs are linked by index and
checked by :mod:`archcost.frontends.tflite`.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archcost.errors import LimitError, ModelFormatError
from archcost.frontends import tflite_schema as schema
from archcost.graph import MAX_NODES
from archcost.ops.tensor import MAX_VALUE_ELEMENTS

#: The most dims a tensor may have (LiteRT kernels stop at 6; a hostile shape vector is refused).
MAX_RANK = 64
#: The most tensors, operators or inputs one subgraph, operator or list may hold.
MAX_TENSORS = MAX_NODES
#: The most subgraphs a model may have.
MAX_SUBGRAPHS = 10_000
#: Largest float tensor whose contents are decoded (a scalar, a few scales).
MAX_FLOAT_VALUES = 8
#: Flatbuffers address with 32-bit offsets: a larger file keeps its big buffers past the
#: flatbuffer (``Buffer.offset``), and the structure must still start in the first 2 GiB.
MAX_FLATBUFFER = 2**31 - 1

_STRUCT = {"b": struct.Struct("<b"), "B": struct.Struct("<B"), "h": struct.Struct("<h"), "H": struct.Struct("<H"),
           "i": struct.Struct("<i"), "I": struct.Struct("<I"), "q": struct.Struct("<q"), "Q": struct.Struct("<Q"),
           "f": struct.Struct("<f"), "?": struct.Struct("<?")}
_U32 = _STRUCT["I"]
_I32 = _STRUCT["i"]
_U16 = _STRUCT["H"]
#: Element format and size of the types whose small contents are decoded.
_VALUE_FORMATS = {"int32": "i", "int64": "q", "int8": "b", "uint8": "B", "int16": "h", "uint16": "H",
                  "uint32": "I", "uint64": "Q", "bool": "?", "float32": "f"}


@dataclass(frozen=True)
class Quantization:
    """A tensor's quantization parameters: how many scales and zero points, and the axis they
    run along (one of each per channel for a per-channel tensor, one for a per-tensor one)."""

    scales: int
    zero_points: int
    axis: int


@dataclass(frozen=True)
class TensorDef:
    index: int
    name: str
    shape: tuple[int, ...]
    #: ``shape_signature`` (``-1`` for a dynamic dim), or ``None`` when the file has none.
    signature: tuple[int, ...] | None
    dtype: str
    buffer: int
    quantization: Quantization | None
    is_variable: bool
    sparse: bool
    #: Stored bytes of the tensor's buffer (0: no data: an activation or a variable).
    data_bytes: int
    #: Contents of a small integer (or float scalar) constant, else ``None``.
    value: tuple[Any, ...] | None


@dataclass(frozen=True)
class OperatorDef:
    index: int
    #: The builtin name (``CONV_2D``), or the custom op's own name.
    op: str
    custom: bool
    version: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    intermediates: tuple[int, ...]
    options: Mapping[str, Any]
    #: The options table's type name (``Conv2DOptions``); ``""`` when it has none.
    options_type: str


@dataclass(frozen=True)
class SubgraphDef:
    index: int
    name: str
    tensors: tuple[TensorDef, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    operators: tuple[OperatorDef, ...]


@dataclass(frozen=True)
class ModelDef:
    version: int
    description: str
    subgraphs: tuple[SubgraphDef, ...]
    #: Bytes stored in each buffer, by index.
    buffer_sizes: tuple[int, ...]
    file_bytes: int


class _Bad(Exception):
    """Out-of-bounds structure; turned into one ModelFormatError that names the place."""


class _Reader:
    """Bounds-checked reads from the mapped file."""

    def __init__(self, data: Any, size: int) -> None:
        self.data = data
        self.size = size

    def scalar(self, fmt: str, pos: int) -> Any:
        st = _STRUCT[fmt]
        if pos < 0 or pos + st.size > self.size:
            raise _Bad(f"a {st.size}-byte field at offset {pos} lies outside the file")
        return st.unpack_from(self.data, pos)[0]

    def table(self, pos: int) -> tuple[int, int, int]:
        """``(table position, vtable position, vtable length)`` of the table at ``pos``."""
        if pos < 0 or pos + 4 > self.size:
            raise _Bad(f"a table at offset {pos} lies outside the file")
        vtable = pos - _I32.unpack_from(self.data, pos)[0]
        if vtable < 0 or vtable + 4 > self.size:
            raise _Bad(f"the table at offset {pos} has its vtable outside the file")
        length = _U16.unpack_from(self.data, vtable)[0]
        if length < 4 or length % 2 or vtable + length > self.size:
            raise _Bad(f"the table at offset {pos} has a malformed vtable")
        return pos, vtable, length

    def field(self, tab: tuple[int, int, int], slot: int) -> int:
        """The position of field ``slot``, 0 when the table does not store it."""
        pos, vtable, length = tab
        entry = 4 + 2 * slot
        if entry + 2 > length:
            return 0
        offset = _U16.unpack_from(self.data, vtable + entry)[0]
        return pos + offset if offset else 0

    def get(self, tab: tuple[int, int, int], slot: int, fmt: str, default: Any) -> Any:
        at = self.field(tab, slot)
        return self.scalar(fmt, at) if at else default

    def target(self, at: int) -> int:
        """Follow the uoffset stored at ``at``."""
        return at + int(self.scalar("I", at))

    def sub_table(self, tab: tuple[int, int, int], slot: int) -> tuple[int, int, int] | None:
        at = self.field(tab, slot)
        return self.table(self.target(at)) if at else None

    def vector(self, tab: tuple[int, int, int], slot: int, element: int) -> tuple[int, int]:
        """``(first element position, length)`` of a vector field; ``(0, 0)`` when absent."""
        at = self.field(tab, slot)
        if not at:
            return 0, 0
        start = self.target(at)
        length = self.scalar("I", start)
        if length * element > self.size - start - 4:
            raise _Bad(f"a vector at offset {start} claims {length:,} elements of {element} bytes, "
                       "more than the file holds")
        return start + 4, length

    def ints(self, tab: tuple[int, int, int], slot: int, limit: int, what: str) -> tuple[int, ...]:
        first, length = self.vector(tab, slot, 4)
        if length > limit:
            raise LimitError(f"{what} has {length:,} entries; archcost reads at most {limit:,}")
        return struct.unpack_from(f"<{length}i", self.data, first) if length else ()

    def tables(self, tab: tuple[int, int, int], slot: int, limit: int, what: str) -> list[tuple[int, int, int]]:
        first, length = self.vector(tab, slot, 4)
        if length > limit:
            raise LimitError(f"the model has {length:,} {what}; archcost reads at most {limit:,}")
        return [self.table(self.target(first + 4 * i)) for i in range(length)]

    def string(self, tab: tuple[int, int, int], slot: int) -> str:
        first, length = self.vector(tab, slot, 1)
        return bytes(self.data[first:first + length]).decode("utf-8", errors="replace") if length else ""


def read_tflite(path: Path, display: str) -> ModelDef:
    """The structure of the TFLite model at ``path``; bad bytes are a :class:`ModelFormatError`."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, 2)
            if size < 8:
                raise ModelFormatError(f"the file is {size} bytes, too short for a TFLite flatbuffer", where=display)
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _read(_Reader(data, size), display)
    except OSError as err:
        raise ModelFormatError(f"cannot read the file ({err.strerror})", where=display) from None


def read_tflite_bytes(data: bytes, display: str) -> ModelDef:
    """:func:`read_tflite` on bytes already in memory."""
    return _read(_Reader(data, len(data)), display)


def _read(r: _Reader, display: str) -> ModelDef:
    where = "the model"
    try:
        if r.scalar("I", 4) != int.from_bytes(b"TFL3", "little"):
            raise _Bad("the file identifier is not TFL3")
        model = r.table(r.scalar("I", 0))
        where = "the model's operator codes"
        codes = [_opcode(r, t) for t in r.tables(model, schema.MODEL["operator_codes"], MAX_TENSORS,
                                                  "operator codes")]
        where = "the model's buffers"
        buffers = tuple(_buffer_size(r, t) for t in r.tables(model, schema.MODEL["buffers"], MAX_TENSORS, "buffers"))
        where = "the model's subgraphs"
        subgraph_tables = r.tables(model, schema.MODEL["subgraphs"], MAX_SUBGRAPHS, "subgraphs")
        subgraphs = []
        for index, tab in enumerate(subgraph_tables):
            where = f"subgraph {index}"
            subgraphs.append(_subgraph(r, tab, index, codes, buffers, display))
        where = "the model"
        description = r.string(model, schema.MODEL["description"])
        version = r.get(model, schema.MODEL["version"], "I", 0)
    except _Bad as bad:
        raise ModelFormatError(f"not a valid TFLite flatbuffer: {where}: {bad}; is the file truncated?",
                               where=display) from None
    except (LimitError, ModelFormatError) as err:
        raise err.located(display) if err.where is None else err from None
    if not subgraphs:
        raise ModelFormatError("not a TFLite model: the flatbuffer has no subgraph", where=display)
    return ModelDef(version, description, tuple(subgraphs), tuple(b for b, _ in buffers), r.size)


def _opcode(r: _Reader, tab: tuple[int, int, int]) -> tuple[str, bool, int]:
    """(name, custom?, version) of an OperatorCode: the larger of the two builtin code fields
    (``deprecated_builtin_code`` is an int8 that stops at 127), or the custom code's string."""
    slots = schema.OPERATOR_CODE
    code = max(r.get(tab, slots["deprecated_builtin_code"], "b", 0), r.get(tab, slots["builtin_code"], "i", 0))
    version = r.get(tab, slots["version"], "i", 1)
    if code == schema.CUSTOM:
        return r.string(tab, slots["custom_code"]) or "CUSTOM", True, version
    if 0 <= code < len(schema.BUILTIN_OPERATORS):
        return schema.BUILTIN_OPERATORS[code], False, version
    return f"BUILTIN_{code}", True, version  # a newer schema's op: unknown, by its number


def _buffer_size(r: _Reader, tab: tuple[int, int, int]) -> tuple[int, int]:
    """(bytes, position of the first byte) of a Buffer: its ``data`` vector, or the
    ``offset``/``size`` pair of a buffer stored past the flatbuffer (models over 2 GiB)."""
    first, length = r.vector(tab, schema.BUFFER["data"], 1)
    if length:
        return length, first
    offset = r.get(tab, schema.BUFFER["offset"], "Q", 0)
    size = r.get(tab, schema.BUFFER["size"], "Q", 0)
    if offset > 1 and (offset + size > r.size):
        raise _Bad(f"a buffer at offset {offset:,} of {size:,} bytes lies outside the file")
    return (size, offset) if offset > 1 else (0, 0)


def _subgraph(r: _Reader, tab: tuple[int, int, int], index: int, codes: list[tuple[str, bool, int]],
              buffers: tuple[tuple[int, int], ...], display: str) -> SubgraphDef:
    slots = schema.SUBGRAPH
    tensor_tables = r.tables(tab, slots["tensors"], MAX_TENSORS, "tensors in a subgraph")
    tensors = tuple(_tensor(r, t, i, buffers, index) for i, t in enumerate(tensor_tables))
    count = len(tensors)
    inputs = _indices(r.ints(tab, slots["inputs"], MAX_TENSORS, "a subgraph's input list"), count, "input")
    outputs = _indices(r.ints(tab, slots["outputs"], MAX_TENSORS, "a subgraph's output list"), count, "output")
    operators = []
    for i, op in enumerate(r.tables(tab, slots["operators"], MAX_NODES, "operators in a subgraph")):
        try:
            operators.append(_operator(r, op, i, codes, count))
        except _Bad as bad:
            raise _Bad(f"operator {i}: {bad}") from None
    return SubgraphDef(index, r.string(tab, slots["name"]), tensors, inputs, outputs, tuple(operators))


def _indices(values: tuple[int, ...], count: int, what: str) -> tuple[int, ...]:
    """Tensor indices, checked (``-1`` is an omitted optional input)."""
    for v in values:
        if not -1 <= v < count:
            raise _Bad(f"{what} tensor index {v} is not one of the subgraph's {count} tensors")
    return values


def _tensor(r: _Reader, tab: tuple[int, int, int], index: int, buffers: tuple[tuple[int, int], ...],
            subgraph: int) -> TensorDef:
    slots = schema.TENSOR
    try:
        shape = r.ints(tab, slots["shape"], MAX_RANK, f"tensor {index}'s shape")
        signature_present = r.field(tab, slots["shape_signature"])
        signature = r.ints(tab, slots["shape_signature"], MAX_RANK, f"tensor {index}'s shape signature") \
            if signature_present else None
        code = r.get(tab, slots["type"], "b", 0)
        dtype = schema.TENSOR_TYPES.get(code, f"tflite_type{code}")
        buffer = r.get(tab, slots["buffer"], "I", 0)
        if buffer >= max(len(buffers), 1):
            raise _Bad(f"buffer index {buffer} is not one of the model's {len(buffers)} buffers")
        name = r.string(tab, slots["name"])
        quant = _quantization(r, r.sub_table(tab, slots["quantization"]))
        variable = bool(r.get(tab, slots["is_variable"], "?", False))
        sparse = bool(r.field(tab, slots["sparsity"]))
    except _Bad as bad:
        raise _Bad(f"tensor {index}: {bad}") from None
    if any(d < 0 for d in shape) and signature is None:
        raise ModelFormatError(f"subgraph {subgraph}, tensor {index} ({name!r}) has negative dims {list(shape)}")
    data_bytes, first = buffers[buffer] if buffers else (0, 0)
    value = _small_value(r, dtype, shape, data_bytes, first) if data_bytes and quant is None else None
    return TensorDef(index, name, tuple(shape), tuple(signature) if signature is not None else None, dtype,
                     buffer, quant, variable, sparse, data_bytes, value)


def _quantization(r: _Reader, tab: tuple[int, int, int] | None) -> Quantization | None:
    if tab is None:
        return None
    _, scales = r.vector(tab, schema.QUANTIZATION["scale"], 4)
    _, zeros = r.vector(tab, schema.QUANTIZATION["zero_point"], 8)
    if not scales and not zeros:
        return None  # min/max only: a calibration record, not a quantized tensor
    return Quantization(scales, zeros, r.get(tab, schema.QUANTIZATION["quantized_dimension"], "i", 0))


def _small_value(r: _Reader, dtype: str, shape: tuple[int, ...], data_bytes: int, first: int) -> tuple[Any, ...] | None:
    fmt = _VALUE_FORMATS.get(dtype)
    if fmt is None or any(d < 0 for d in shape):
        return None
    count = 1
    for d in shape:
        count *= d
    limit = MAX_FLOAT_VALUES if fmt == "f" else MAX_VALUE_ELEMENTS
    if count > limit or count * _STRUCT[fmt].size != data_bytes:
        return None
    values = struct.unpack_from(f"<{count}{fmt}", r.data, first)
    return tuple(bool(v) if fmt == "?" else v for v in values)


def _operator(r: _Reader, tab: tuple[int, int, int], index: int, codes: list[tuple[str, bool, int]],
              tensors: int) -> OperatorDef:
    slots = schema.OPERATOR
    opcode = r.get(tab, slots["opcode_index"], "I", 0)
    if opcode >= len(codes):
        raise _Bad(f"opcode index {opcode} is not one of the model's {len(codes)} operator codes")
    name, custom, version = codes[opcode]
    inputs = _indices(r.ints(tab, slots["inputs"], MAX_TENSORS, "an operator's input list"), tensors, "input")
    outputs = _indices(r.ints(tab, slots["outputs"], MAX_TENSORS, "an operator's output list"), tensors, "output")
    intermediates = _indices(r.ints(tab, slots["intermediates"], MAX_TENSORS, "an operator's intermediates"),
                             tensors, "intermediate")
    kind = r.get(tab, slots["builtin_options_type"], "B", 0)
    options: dict[str, Any] = {}
    options_type = ""
    table = r.sub_table(tab, slots["builtin_options"]) if kind else None
    if table is not None and kind in schema.OPTIONS:
        options_type, fields = schema.OPTIONS[kind]
        for slot, entry in enumerate(fields):
            if entry is None:
                continue
            key, fmt, default = entry
            if fmt == "i*":
                options[key] = r.ints(table, slot, MAX_RANK, f"option {key!r}") if r.field(table, slot) else default
            elif fmt == "s":
                options[key] = r.string(table, slot)
            else:
                options[key] = r.get(table, slot, fmt, default)
            if key in schema.ENUM_FIELDS:
                names = schema.ENUM_FIELDS[key]
                options[key] = names[options[key]] if 0 <= options[key] < len(names) else f"UNKNOWN_{options[key]}"
    elif kind:
        options_type = f"BuiltinOptions{kind}"
    return OperatorDef(index, name, custom, version, inputs, outputs, intermediates, options, options_type)
