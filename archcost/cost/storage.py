"""How a model's parameters are stored: bytes by kind and by dtype, and the quantized share.

A parameter's bytes come from its stored tensor's dtype and element count
(:func:`archcost.dtypes.tensor_bytes`): an int8 filter takes a quarter of the bytes of the same
filter in float32, an int4 one an eighth. Each stored tensor counted as a parameter is counted once
(:attr:`~archcost.cost.result.Report.parameter_tensors`).

A parameter is *quantized* when it is stored as an integer: int8, uint8, int4 and int16 weights,
and the int32 (or int64) biases that quantized convolutions and FC layers add in the integer
domain. Reduced-precision floats (float16, bfloat16, fp8) are not counted as quantized: they are
floats, and the report lists them by dtype. Quantization parameters (a TFLite tensor's per-channel
scales and zero points, an ONNX ``DequantizeLinear``'s scale) are not parameters: the TFLite front
end reports them as a note, and ONNX scales are ``const`` inputs the walk does not follow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from archcost.cost.result import Report
from archcost.dtypes import INTEGER_DTYPES, NARROW_INTEGER_DTYPES, tensor_bytes
from archcost.numeric import Count, is_concrete, prod


@dataclass(frozen=True)
class ParameterStorage:
    """Parameter elements and bytes, by kind (``weight``, ``bias``, ...) and by dtype."""

    elements_by_dtype: Mapping[str, Count] = field(default_factory=dict)
    #: Bytes by dtype and by kind; both sum to :attr:`bytes`.
    bytes_by_dtype: Mapping[str, Count] = field(default_factory=dict)
    bytes_by_kind: Mapping[str, Count] = field(default_factory=dict)
    #: Parameters stored as integers (module docstring), and their bytes.
    quantized_elements: Count = 0
    quantized_bytes: Count = 0

    @property
    def elements(self) -> Count:
        return sum(self.elements_by_dtype.values(), start=0)

    @property
    def bytes(self) -> Count:
        return sum(self.bytes_by_dtype.values(), start=0)

    @property
    def quantized_share(self) -> Fraction | None:
        """The share of parameter elements stored as integers (0 to 1); ``None`` when the counts are
        symbolic or the model has no parameters."""
        total = self.elements
        if not is_concrete(total) or not is_concrete(self.quantized_elements) or not total:
            return None
        return Fraction(int(self.quantized_elements), int(total))


def parameter_storage(report: Report) -> ParameterStorage:
    """The storage of ``report``'s parameters (module docstring).

    Examples
    --------
    >>> from archcost import analyze
    >>> s = parameter_storage(analyze("mobilenet_v1"))
    >>> s.bytes_by_kind["weight"] == 4 * 4_209_088, s.quantized_share
    (True, Fraction(0, 1))
    """
    elements: dict[str, Count] = {}
    by_dtype: dict[str, Count] = {}
    by_kind: dict[str, Count] = {}
    quantized: Count = 0
    quantized_bytes: Count = 0
    for name, (shape, dtype, role) in sorted(report.parameter_tensors.items()):
        size = tensor_bytes(shape, dtype, tensor=name)
        if size is None:
            continue
        count = prod(shape)
        elements[dtype] = elements.get(dtype, 0) + count
        by_dtype[dtype] = by_dtype.get(dtype, 0) + size
        by_kind[role] = by_kind.get(role, 0) + size
        if dtype in INTEGER_DTYPES or dtype in NARROW_INTEGER_DTYPES:
            quantized = quantized + count
            quantized_bytes = quantized_bytes + size
    return ParameterStorage(elements, by_dtype, by_kind, quantized, quantized_bytes)


def storage_dict(storage: ParameterStorage) -> dict[str, object]:
    """JSON-ready: exact integers, SymPy expressions as strings, the share as a fraction's text."""
    def j(v: Count) -> object:
        return v if isinstance(v, int) else str(v)

    share = storage.quantized_share
    return {"bytes": j(storage.bytes), "bytes_by_kind": {k: j(v) for k, v in storage.bytes_by_kind.items()},
            "bytes_by_dtype": {k: j(v) for k, v in storage.bytes_by_dtype.items()},
            "elements_by_dtype": {k: j(v) for k, v in storage.elements_by_dtype.items()},
            "quantized_elements": j(storage.quantized_elements), "quantized_bytes": j(storage.quantized_bytes),
            "quantized_share": None if share is None else str(share)}
