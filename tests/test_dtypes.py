"""The one dtype table (``archcost/dtypes.py``) against the onnx package, and its one size rule."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import onnx
import pytest

from archcost import dtypes
from archcost.categories import Category
from archcost.cost.analyze import analyze_graph
from archcost.cost.conventions import PAPER
from archcost.cost.memory import activation_memory
from archcost.cost.memory import tensor_bytes as memory_bytes
from archcost.cost.roofline import Device, roofline
from archcost.cost.roofline import tensor_bytes as roofline_bytes
from archcost.errors import ShapeError
from archcost.graph import GraphBuilder, OpNode, Tensor, TensorKind
from archcost.report.roofline import roofline_summary

#: Element widths written from the ONNX spec (onnx/onnx.proto, TensorProto.DataType comments).
BITS = {
    "float32": 32, "uint8": 8, "int8": 8, "uint16": 16, "int16": 16, "int32": 32, "int64": 64,
    "bool": 8, "float16": 16, "float64": 64, "uint32": 32, "uint64": 64, "complex64": 64,
    "complex128": 128, "bfloat16": 16, "float8e4m3fn": 8, "float8e4m3fnuz": 8, "float8e5m2": 8,
    "float8e5m2fnuz": 8, "uint4": 4, "int4": 4, "float4e2m1": 4, "float8e8m0": 8, "uint2": 2, "int2": 2,
}


@pytest.mark.parametrize("row", dtypes.DTYPES, ids=lambda d: d.name)
def test_codes_are_the_onnx_enum(row: dtypes.DType) -> None:
    # TensorProto names are upper case without the width spelling archcost uses for the old types.
    onnx_names = {code: name for name, code in onnx.TensorProto.DataType.items()}
    if row.code in onnx_names:  # the onnx installed may predate the newest types
        expected = {"FLOAT": "float32", "DOUBLE": "float64", "FLOAT16": "float16", "STRING": "string",
                    "BOOL": "bool", "BFLOAT16": "bfloat16"}.get(onnx_names[row.code], onnx_names[row.code].lower())
        assert row.name == expected
    assert dtypes.dtype_name(row.code) == row.name and dtypes.DTYPE_CODES[row.name] == row.code


@pytest.mark.parametrize("row", dtypes.DTYPES, ids=lambda d: d.name)
def test_bits_kind_and_numpy_name(row: dtypes.DType) -> None:
    assert row.bits == BITS.get(row.name)
    assert row.kind in dtypes.KINDS
    if row.numpy is not None:
        numpy_kind = {"float": "f", "bool": "b", "complex": "c"}.get(row.kind, "u" if row.name[0] == "u" else "i")
        assert np.dtype(row.numpy).itemsize * 8 == row.bits and np.dtype(row.numpy).kind == numpy_kind
    assert dtypes.is_floating(row.name) == (row.kind == "float")


def test_sub_byte_types_are_packed() -> None:
    assert dtypes.tensor_bytes((3, 5), "int4") == 8  # 15 nibbles, two per byte
    assert dtypes.tensor_bytes((5,), "uint2") == 2  # 10 bits
    assert dtypes.tensor_bytes((3,), "float4e2m1") == 2


def test_names_aliases_and_unknown_names() -> None:
    assert dtypes.dtype_bits("FLOAT") == dtypes.dtype_bits("float") == 32
    assert dtypes.dtype_bits("double") == 64 and dtypes.dtype_bits("half") == 16
    assert dtypes.dtype_name(99) == "type99"
    with pytest.raises(ShapeError, match=r"tensor 'x' has dtype 'floot32', whose size is unknown; known: "):
        dtypes.tensor_bytes((2,), "floot32", tensor="x")


def test_integer_and_narrow_sets_keep_their_meaning() -> None:
    # Shape arithmetic runs on the eight integer types and bool; int4 is a weight storage type.
    assert dtypes.is_integer("int64") and dtypes.is_integer("bool") and not dtypes.is_integer("int4")
    assert dtypes.NARROW_INTEGER_DTYPES == {"int8", "uint8", "int4", "uint4", "int2", "uint2"}
    assert dtypes.NARROW_FLOAT_DTYPES == {"float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz",
                                          "float4e2m1", "float8e8m0"}


@pytest.mark.parametrize("name", [*sorted(BITS), "string"])
def test_memory_and_roofline_size_every_dtype_alike(name: str) -> None:
    shape = (3, 7)
    assert memory_bytes(shape, name) == roofline_bytes(shape, name) == dtypes.tensor_bytes(shape, name)


def _string_graph() -> GraphBuilder:
    b = GraphBuilder("strings")
    b.add_tensor(Tensor("s", (4,), TensorKind.INPUT, "string"))
    b.add_tensor(Tensor("x", (1, 8), TensorKind.INPUT))
    b.add_node(OpNode("copy", "Identity", ("s",), ("t",)))
    b.add_node(OpNode("relu", "Relu", ("x",), ("y",)))
    b.outputs = ["t", "y"]
    return b


def test_string_tensors_are_left_out_of_memory_and_traffic_alike() -> None:
    report = analyze_graph(_string_graph().build(), PAPER)
    memory = activation_memory(report)
    assert set(memory.unsized) == {"s", "t"} and memory.partial
    estimate = roofline(report, Device("d", Fraction(10**9), Fraction(10**9)))
    by_name = estimate.by_name()
    assert by_name["copy"].traffic.unsized == ("s", "t") and by_name["copy"].traffic.total == 0
    assert by_name["relu"].traffic.total == 2 * 8 * 4 and by_name["relu"].category is Category.OTHER
    assert estimate.unsized == ("s", "t")
    assert "2 tensor(s) of a dtype with no fixed size (string) left out of the bytes" in roofline_summary(estimate)
    assert estimate.to_dict()["layers"][0]["unsized"] == ["s", "t"]
    assert "unsized" not in estimate.to_dict()["layers"][1]
