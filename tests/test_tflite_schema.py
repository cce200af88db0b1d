"""archcost.frontends.tflite_schema against the ``tflite`` package, which is the official
``schema.fbs`` compiled by ``flatc``: every table slot, option field kind and default, enum number
and operator code the reader relies on. A wrong slot would read another field without any error,
so each is checked here, independently of the reader.
"""

from __future__ import annotations

import pytest

pytest.importorskip("tflite", reason="the official schema's bindings: pip install tflite==2.18.0")

from archcost.frontends import tflite_schema as schema
from tests.tflite_builders import _enum, fields

#: The reader's kind letters → the flatbuffers number type the generated accessor reads.
KINDS = {"b": "Int8", "B": "Uint8", "i": "Int32", "?": "Bool", "f": "Float32", "i*": "vector", "s": "string"}


def test_builtin_operator_codes() -> None:
    known = _enum("BuiltinOperator")
    checked = 0
    for code, name in enumerate(schema.BUILTIN_OPERATORS):
        if name in known:  # the package may predate the newest StableHLO codes
            assert known[name] == code, name
            checked += 1
    assert checked >= 200
    assert known["CUSTOM"] == schema.CUSTOM


def test_tensor_types_and_enums() -> None:
    types = _enum("TensorType")
    for code, dtype in schema.TENSOR_TYPES.items():
        name = {"float32": "FLOAT32", "float16": "FLOAT16", "int32": "INT32", "uint8": "UINT8", "int64": "INT64",
                "string": "STRING", "bool": "BOOL", "int16": "INT16", "complex64": "COMPLEX64", "int8": "INT8",
                "float64": "FLOAT64", "complex128": "COMPLEX128", "uint64": "UINT64", "resource": "RESOURCE",
                "variant": "VARIANT", "uint32": "UINT32", "uint16": "UINT16", "int4": "INT4",
                "bfloat16": "BFLOAT16"}[dtype]
        if name in types:
            assert types[name] == code, dtype
    for enum, names in (("ActivationFunctionType", schema.ACTIVATIONS), ("Padding", schema.PADDINGS),
                        ("MirrorPadMode", schema.MIRROR_PAD_MODES)):
        values = _enum(enum)
        assert [values[n] for n in names] == list(range(len(names))), enum


@pytest.mark.parametrize("table, slots", [
    ("Model", schema.MODEL), ("OperatorCode", schema.OPERATOR_CODE), ("SubGraph", schema.SUBGRAPH),
    ("Tensor", schema.TENSOR), ("QuantizationParameters", schema.QUANTIZATION), ("Operator", schema.OPERATOR),
    ("Buffer", schema.BUFFER)], ids=lambda v: v if isinstance(v, str) else "")
def test_table_slots(table: str, slots: dict[str, int]) -> None:
    known = fields(table)
    for name, slot in slots.items():
        assert known[name][0] == slot, f"{table}.{name}"


@pytest.mark.parametrize("code", sorted(schema.OPTIONS), ids=lambda c: schema.OPTIONS[c][0])
def test_option_tables(code: int) -> None:
    table, entries = schema.OPTIONS[code]
    assert _enum("BuiltinOptions")[table] == code
    known = fields(table)
    for slot, entry in enumerate(entries):
        if entry is None:
            continue
        name, kind, default = entry
        assert name in known, f"{table}.{name}"
        got_slot, got_kind, got_default = known[name]
        assert got_slot == slot, f"{table}.{name}"
        assert got_kind == KINDS[kind], f"{table}.{name}"
        if kind in ("b", "B", "i"):
            assert int(got_default) == default, f"{table}.{name}"
        elif kind == "?":
            assert got_default == str(default), f"{table}.{name}"
        elif kind == "f":
            assert float(got_default) == default, f"{table}.{name}"
