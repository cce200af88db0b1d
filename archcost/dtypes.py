"""The one dtype table: ONNX element types by code and name, their width, kind and NumPy name.

The codes are the ``TensorProto.DataType`` enum of ``onnx/onnx.proto``, written out
here so operator rules (``Cast``), the memory and roofline analyses and the
runtime need not import ``onnx``. Names are archcost's (NumPy's spelling where
NumPy has the type).

Sizes: a tensor takes ``elements × bits / 8`` bytes, rounded up to whole bytes;
sub-byte types (int4, uint4, float4e2m1: 4 bits; int2, uint2: 2 bits) are packed,
as ONNX stores them. ``string`` has no fixed width: :func:`dtype_bits` returns
``None`` for it, and every size computed from it (activation memory, roofline
traffic) leaves such tensors out and says so, rather than refusing a valid graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from archcost.errors import ShapeError
from archcost.numeric import Count, ceil_div, prod

#: What kind of value an element type holds (``handle``: a reference to a resource, no data).
KINDS = ("float", "int", "bool", "string", "complex", "handle")


@dataclass(frozen=True)
class DType:
    """One ONNX element type."""

    code: int
    name: str
    #: Bits per element; ``None`` when elements have no fixed width (``string``).
    bits: int | None
    #: One of :data:`KINDS`.
    kind: str
    #: The NumPy dtype name, for export and verify; ``None`` where NumPy has no such type.
    numpy: str | None


def _table(*rows: tuple[int, str, int | None, str, str | None]) -> tuple[DType, ...]:
    return tuple(DType(*row) for row in rows)


#: Every element type, by ``TensorProto.DataType`` code.
DTYPES: tuple[DType, ...] = _table(
    (1, "float32", 32, "float", "float32"),
    (2, "uint8", 8, "int", "uint8"),
    (3, "int8", 8, "int", "int8"),
    (4, "uint16", 16, "int", "uint16"),
    (5, "int16", 16, "int", "int16"),
    (6, "int32", 32, "int", "int32"),
    (7, "int64", 64, "int", "int64"),
    (8, "string", None, "string", None),
    (9, "bool", 8, "bool", "bool"),
    (10, "float16", 16, "float", "float16"),
    (11, "float64", 64, "float", "float64"),
    (12, "uint32", 32, "int", "uint32"),
    (13, "uint64", 64, "int", "uint64"),
    (14, "complex64", 64, "complex", "complex64"),
    (15, "complex128", 128, "complex", "complex128"),
    (16, "bfloat16", 16, "float", None),
    # Narrow float and integer types (onnx ≥ 1.14 and later).
    (17, "float8e4m3fn", 8, "float", None),
    (18, "float8e4m3fnuz", 8, "float", None),
    (19, "float8e5m2", 8, "float", None),
    (20, "float8e5m2fnuz", 8, "float", None),
    (21, "uint4", 4, "int", None),
    (22, "int4", 4, "int", None),
    (23, "float4e2m1", 4, "float", None),
    (24, "float8e8m0", 8, "float", None),
    (25, "uint2", 2, "int", None),
    (26, "int2", 2, "int", None),
    # TFLite's RESOURCE (13) and VARIANT (14) handles, which ONNX does not have: numbered past
    # ONNX's enum, and, like strings, of no fixed size.
    (1013, "resource", None, "handle", None),
    (1014, "variant", None, "handle", None),
)
_BY_NAME: Mapping[str, DType] = MappingProxyType({d.name: d for d in DTYPES})
#: Other spellings front ends and users write (ONNX's ``TensorProto`` names, lower case).
ALIASES: Mapping[str, str] = MappingProxyType({"float": "float32", "double": "float64", "half": "float16"})

#: ``TensorProto.DataType`` number → archcost's dtype name.
DTYPE_NAMES: Mapping[int, str] = MappingProxyType({d.code: d.name for d in DTYPES})
#: dtype name → ``TensorProto.DataType`` number.
DTYPE_CODES: Mapping[str, int] = MappingProxyType({d.name: d.code for d in DTYPES})


def _fixed_widths() -> dict[str, int]:
    widths = {}
    for d in DTYPES:
        if d.bits is not None:
            widths[d.name] = d.bits
    return widths | {alias: widths[name] for alias, name in ALIASES.items()}


#: Bits per element of every fixed-width type, by name and alias.
DTYPE_BITS: Mapping[str, int] = MappingProxyType(_fixed_widths())
#: Types whose elements have no fixed size: their tensors are left out of byte counts, and flagged.
UNSIZED_DTYPES = frozenset(d.name for d in DTYPES if d.bits is None)

#: The integer types shape arithmetic runs on (sub-byte storage types are not among them).
INTEGER_DTYPES = frozenset({"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"})
#: The float types arithmetic runs in.
FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
#: Integer storage types of quantized weights (never shape or index data, which are int32/int64).
NARROW_INTEGER_DTYPES = frozenset({"int8", "uint8", "int4", "uint4", "int2", "uint2"})
#: Float types too narrow for arithmetic: stored weights of fp8 and fp4 models.
NARROW_FLOAT_DTYPES = frozenset(d.name for d in DTYPES if d.kind == "float" and d.bits is not None
                                and d.bits <= 8)


def dtype_name(code: int) -> str:
    """The name of ONNX element type ``code`` (``"type7"`` style for exotic ones)."""
    return DTYPE_NAMES.get(code, f"type{code}")


def lookup(dtype: str) -> DType | None:
    """The table row for ``dtype`` (a name or an alias, any case, ``_`` ignored), or ``None``."""
    key = dtype.lower().replace("_", "")
    return _BY_NAME.get(ALIASES.get(key, key))


def is_integer(dtype: str) -> bool:
    """Whether tensors of ``dtype`` hold integers (shape arithmetic is done on these)."""
    return dtype in INTEGER_DTYPES or dtype == "bool"


def is_floating(dtype: str) -> bool:
    """Whether ``dtype`` is a floating-point type, narrow ones (fp8, fp4) included."""
    return dtype in FLOAT_DTYPES or dtype in NARROW_FLOAT_DTYPES


def numpy_name(dtype: str) -> str | None:
    """The NumPy dtype name for ``dtype``, or ``None`` when NumPy has none (bfloat16, fp8, int4)."""
    row = lookup(dtype)
    return row.numpy if row is not None else None


def dtype_bits(dtype: str, *, tensor: str = "", where: str | None = None) -> int | None:
    """Bits per element of ``dtype``; ``None`` for a type with no fixed size (``string``).

    A name the table does not know is an error that lists the names it does.
    """
    row = lookup(dtype)
    if row is None:
        known = ", ".join(sorted(DTYPE_BITS))
        subject = f"tensor {tensor!r} has dtype {dtype!r}" if tensor else f"dtype {dtype!r}"
        raise ShapeError(f"{subject}, whose size is unknown; known: {known}", where=where)
    return row.bits


def tensor_bytes(shape: Sequence[Count], dtype: str, *, tensor: str = "",
                 where: str | None = None) -> Count | None:
    """``prod(shape) × bits / 8`` rounded up to whole bytes; ``None`` when the dtype has no size.

    Examples
    --------
    >>> tensor_bytes((3, 5), "int4")  # 15 nibbles, two per byte
    8
    >>> tensor_bytes((2,), "string") is None
    True
    """
    bits = dtype_bits(dtype, tensor=tensor, where=where)
    if bits is None:
        return None
    elements = prod(shape)
    if bits % 8 == 0:
        return elements * (bits // 8)
    return ceil_div(elements * bits, 8)
