"""Small TFLite models written with the ``flatbuffers`` runtime, for the tests.

Independent of archcost's reader: every field slot, enum number and option type is taken from
the ``tflite`` package (the official ``schema.fbs`` compiled by ``flatc``) by reading its generated
accessors, so a wrong slot in :mod:`archcost.frontends.tflite_schema` cannot hide behind a builder
that shares it; and the LiteRT interpreter runs what is written here.

``model([Subgraph(...)])`` returns the bytes of a model; each :class:`T` is a tensor (data given as
a NumPy array makes it stored), each :class:`Op` an operator with its builtin options by the
schema's snake_case names (``{"padding": "VALID", "stride_w": 2}``).
"""

from __future__ import annotations

import importlib
import inspect
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

flatbuffers = __import__("flatbuffers")


@cache
def _enum(module: str) -> dict[str, int]:
    cls = getattr(importlib.import_module(f"tflite.{module}"), module)
    return {k: v for k, v in vars(cls).items() if not k.startswith("_")}


def builtin_code(name: str) -> int:
    return _enum("BuiltinOperator")[name]


def options_type(name: str) -> int:
    return _enum("BuiltinOptions")[name]


def tensor_type(dtype: str) -> int:
    names = {"float32": "FLOAT32", "float16": "FLOAT16", "int32": "INT32", "uint8": "UINT8", "int64": "INT64",
             "bool": "BOOL", "int16": "INT16", "int8": "INT8", "resource": "RESOURCE"}
    return _enum("TensorType")[names[dtype]]


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@cache
def fields(table: str) -> dict[str, tuple[int, str, Any]]:
    """``{snake_name: (slot, kind, default)}`` of a table, read from the tflite package's accessors:
    kind is the flatbuffers number type (``Int8``, ``Int32``, ``Bool``, ``Float32``, ...) or
    ``vector``/``string``/``table``."""
    source = inspect.getsource(getattr(importlib.import_module(f"tflite.{table}"), table))
    found = {}
    for method in re.split(r"\n\s*# " + table + r"\n", source):
        m = re.match(r"\s*def (\w+)\(self(, j)?\):\s*\n\s*o = .*?Offset\((\d+)\)\)", method)
        if m is None or m.group(1).endswith(("AsNumpy", "Length", "IsNone")):
            continue
        number = re.search(r"number_types\.(\w+)Flags, o \+", method)
        if m.group(2) or "Vector(" in method:
            kind = "vector"
        elif "String(" in method:
            kind = "string"
        elif "Indirect(" in method:
            kind = "table"
        else:
            kind = number.group(1) if number else "?"
        default = re.findall(r"return (.*)", method)[-1].strip()
        found[_snake(m.group(1))] = ((int(m.group(3)) - 4) // 2, kind, default)
    return found


_ENUMS = {"padding": "Padding", "fused_activation_function": "ActivationFunctionType", "mode": "MirrorPadMode"}


@dataclass
class T:
    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    data: np.ndarray | None = None
    signature: tuple[int, ...] | None = None
    #: (scales, zero points, quantized dimension)
    quant: tuple[list[float], list[int], int] | None = None
    variable: bool = False
    #: Bytes of a buffer stored past the flatbuffer (``Buffer.offset``/``size``, as models over
    #: 2 GiB store their weights), whose contents are not written: with ``model(external_at=...)``.
    external: int = 0


@dataclass
class Op:
    op: str
    inputs: list[int]
    outputs: list[int]
    options: str = ""  # options table name, e.g. "Conv2DOptions"
    values: dict[str, Any] = field(default_factory=dict)
    custom: str = ""
    #: The operator code's version (LiteRT registers some builtins from version 2 on).
    version: int = 1


@dataclass
class Subgraph:
    tensors: list[T]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    name: str = ""


def _vector(b: Any, values: list[Any], prepend: str, size: int) -> int:
    b.StartVector(size, len(values), size)
    for v in reversed(values):
        getattr(b, prepend)(v)
    return int(b.EndVector())


def _offsets(b: Any, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for o in reversed(offsets):
        b.PrependUOffsetTRelative(o)
    return int(b.EndVector())


def _table(b: Any, slots: dict[int, tuple[str, Any]]) -> int:
    b.StartObject(max(slots, default=-1) + 1)
    for slot, (kind, value) in slots.items():
        if kind == "offset":
            b.PrependUOffsetTRelativeSlot(slot, value, 0)
        else:
            getattr(b, f"Prepend{kind}Slot")(slot, value, 0)  # written even when 0: ForceDefaults
    return int(b.EndObject())


def _options(b: Any, table: str, values: dict[str, Any]) -> int:
    known = fields(table)
    slots: dict[int, tuple[str, Any]] = {}
    for key, value in values.items():
        slot, kind, _ = known[key]
        if key in _ENUMS and isinstance(value, str):
            value = _enum(_ENUMS[key])[value]
        if kind == "vector":
            slots[slot] = ("offset", _vector(b, list(value), "PrependInt32", 4))
        elif kind == "string":
            slots[slot] = ("offset", b.CreateString(value))
        else:
            slots[slot] = (kind, value)
    return _table(b, slots)


def model(subgraphs: list[Subgraph], *, description: str = "archcost test", external_at: int = 0) -> bytes:
    """The model's flatbuffer. With ``external_at``, the buffers of tensors with ``external`` bytes lie
    one after the other from that file offset: the caller extends the file to hold them."""
    b = flatbuffers.Builder(1024)
    b.ForceDefaults(True)
    buffers: list[bytes | tuple[int, int]] = [b""]
    next_external = external_at
    codes: list[tuple[str, str, int]] = []
    built = []
    f = {name: fields(name) for name in ("Model", "SubGraph", "Tensor", "Operator", "OperatorCode", "Buffer",
                                         "QuantizationParameters")}
    for sub in subgraphs:
        tensors = []
        for t in sub.tensors:
            index = 0
            if t.data is not None:
                buffers.append(np.ascontiguousarray(t.data).tobytes())
                index = len(buffers) - 1
            elif t.external:
                buffers.append((next_external, t.external))
                next_external += t.external
                index = len(buffers) - 1
            name = b.CreateString(t.name)
            shape = _vector(b, list(t.shape), "PrependInt32", 4)
            signature = _vector(b, list(t.signature), "PrependInt32", 4) if t.signature is not None else None
            quant = None
            if t.quant is not None:
                scales = _vector(b, [float(s) for s in t.quant[0]], "PrependFloat32", 4)
                zeros = _vector(b, [int(z) for z in t.quant[1]], "PrependInt64", 8)
                q = f["QuantizationParameters"]
                quant = _table(b, {q["scale"][0]: ("offset", scales), q["zero_point"][0]: ("offset", zeros),
                                   q["quantized_dimension"][0]: ("Int32", t.quant[2])})
            s = f["Tensor"]
            slots: dict[int, tuple[str, Any]] = {s["shape"][0]: ("offset", shape), s["name"][0]: ("offset", name),
                                                 s["type"][0]: ("Int8", tensor_type(t.dtype)),
                                                 s["buffer"][0]: ("Uint32", index)}
            if signature is not None:
                slots[s["shape_signature"][0]] = ("offset", signature)
            if quant is not None:
                slots[s["quantization"][0]] = ("offset", quant)
            if t.variable:
                slots[s["is_variable"][0]] = ("Bool", True)
            tensors.append(_table(b, slots))
        ops = []
        for op in sub.ops:
            key = (op.op, op.custom, op.version)
            if key not in codes:
                codes.append(key)
            o = f["Operator"]
            slots = {o["opcode_index"][0]: ("Uint32", codes.index(key)),
                     o["inputs"][0]: ("offset", _vector(b, op.inputs, "PrependInt32", 4)),
                     o["outputs"][0]: ("offset", _vector(b, op.outputs, "PrependInt32", 4))}
            if op.options:
                table = _options(b, op.options, op.values)
                slots[o["builtin_options_type"][0]] = ("Uint8", options_type(op.options))
                slots[o["builtin_options"][0]] = ("offset", table)
            ops.append(_table(b, slots))
        g = f["SubGraph"]
        built.append(_table(b, {g["tensors"][0]: ("offset", _offsets(b, tensors)),
                                g["inputs"][0]: ("offset", _vector(b, sub.inputs, "PrependInt32", 4)),
                                g["outputs"][0]: ("offset", _vector(b, sub.outputs, "PrependInt32", 4)),
                                g["operators"][0]: ("offset", _offsets(b, ops)),
                                g["name"][0]: ("offset", b.CreateString(sub.name))}))
    code_tables = []
    for op, custom, version in codes:
        c = f["OperatorCode"]
        code = builtin_code(op)
        slots = {c["builtin_code"][0]: ("Int32", code), c["deprecated_builtin_code"][0]: ("Int8", min(code, 127)),
                 c["version"][0]: ("Int32", version)}
        if custom:
            slots[c["custom_code"][0]] = ("offset", b.CreateString(custom))
        code_tables.append(_table(b, slots))
    buffer_tables = []
    for data in buffers:
        if isinstance(data, tuple):
            fb = f["Buffer"]
            buffer_tables.append(_table(b, {fb["offset"][0]: ("Uint64", data[0]), fb["size"][0]: ("Uint64", data[1])}))
        elif data:
            b.StartVector(1, len(data), 16)
            b.head = b.head - len(data)
            b.Bytes[b.head:b.head + len(data)] = data
            vec = int(b.EndVector())
            buffer_tables.append(_table(b, {f["Buffer"]["data"][0]: ("offset", vec)}))
        else:
            buffer_tables.append(_table(b, {}))
    m = f["Model"]
    root = _table(b, {m["version"][0]: ("Uint32", 3), m["operator_codes"][0]: ("offset", _offsets(b, code_tables)),
                      m["subgraphs"][0]: ("offset", _offsets(b, built)),
                      m["description"][0]: ("offset", b.CreateString(description)),
                      m["buffers"][0]: ("offset", _offsets(b, buffer_tables))})
    b.Finish(root, file_identifier=b"TFL3")
    return bytes(b.Output())


def single(op: Op, tensors: list[T], inputs: list[int], outputs: list[int]) -> bytes:
    """A model of one operator."""
    return model([Subgraph(tensors, [op], inputs, outputs, "main")])
