"""ONNX element types by number, and the names archcost uses for them.

The numbers are the ``TensorProto.DataType`` enum of ``onnx/onnx.proto``; they
are written out here so operator rules (``Cast``) need not import ``onnx``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: ``TensorProto.DataType`` number → archcost's dtype name (NumPy's spelling).
DTYPE_NAMES: Mapping[int, str] = MappingProxyType({
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
    14: "complex64", 15: "complex128", 16: "bfloat16",
    # Narrow float and integer types (onnx ≥ 1.14 and later); the memory module sizes them.
    17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz",
    21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2",
})
#: dtype name → ``TensorProto.DataType`` number.
DTYPE_CODES: Mapping[str, int] = MappingProxyType({v: k for k, v in DTYPE_NAMES.items()})

INTEGER_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
#: Integer storage types of quantized weights (never shape or index data, which are int32/int64).
NARROW_INTEGER_DTYPES = frozenset({"int8", "uint8", "int4", "uint4", "int2", "uint2"})
#: Float types too narrow for arithmetic: stored weights of fp8 and fp4 models.
NARROW_FLOAT_DTYPES = frozenset({"float8e4m3fn", "float8e4m3fnuz", "float8e5m2", "float8e5m2fnuz",
                                 "float4e2m1", "float8e8m0"})


def dtype_name(code: int) -> str:
    """The name of ONNX element type ``code`` (``"type7"`` style for exotic ones)."""
    return DTYPE_NAMES.get(code, f"type{code}")


def is_integer(dtype: str) -> bool:
    """Whether tensors of ``dtype`` hold integers (shape arithmetic is done on these)."""
    return dtype in INTEGER_DTYPES or dtype == "bool"


def is_floating(dtype: str) -> bool:
    """Whether ``dtype`` is a floating-point type, narrow ones (fp8, fp4) included."""
    return dtype in FLOAT_DTYPES or dtype in NARROW_FLOAT_DTYPES
