"""fvcore 0.1.5.post20221221: ``FlopCountAnalysis(model, inputs).total()``.

fvcore traces the model with ``torch.jit`` and counts the aten ops its handle table names
(``fvcore/nn/flop_count.py``, ``_DEFAULT_SUPPORTED_OPS``, handlers in ``jit_handles.py``);
every other op counts 0 and is reported as unsupported, whatever module runs it:

* ``_convolution``, ``linear``, ``matmul``, ``mm``, ``bmm``, ``addmm``, ``einsum``: one per
  multiply-accumulate, the bias not counted (archcost's ``mac`` term);
* ``batch_norm`` in eval: 2 per input element, 1 without affine;
* ``layer_norm``, ``group_norm``, ``instance_norm``: 5 per input element, 4 without affine;
* ``adaptive_avg_pool2d``: 1 per *input* element;
* ``upsample_nearest2d``: 1, ``upsample_bilinear2d`` and ``grid_sampler``: 4 per output element;
* ``relu`` is ignored; activations, ``softmax``, ``add``, ``mul``, max and average pools and
  ``scaled_dot_product_attention`` (so the attention matmuls inside it) are unsupported: 0.

fvcore traces the model in whatever mode it is in; archcost exports it in eval mode, and the
figures are fvcore's for the model in eval mode (in training mode fvcore counts ``batch_norm``
as 5 per element).
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.cost.peers.calls import (
    Adjustment,
    Call,
    Row,
    call_of,
    input_elements,
    is_affine,
    is_pool,
    macs,
    matmul_inputs_product,
    output_elements,
)
from archcost.numeric import Count, prod

TOOL = "fvcore 0.1.5.post20221221"
DESCRIPTION = (
    "reproduces fvcore 0.1.5.post20221221 FlopCountAnalysis: conv/linear/matmul/einsum MACs without bias; "
    "batch_norm 2 per element in eval (1 without affine), layer/group/instance_norm 5 (4 without affine), "
    "adaptive_avg_pool2d 1 per input element, upsample nearest 1 and bilinear 4 per output element; every "
    "other op 0 (activations, softmax, add, pools, scaled_dot_product_attention)"
)

Rule = Callable[[Row, Call], list[Adjustment]]
#: The ops whose multiply-accumulates fvcore counts.
COUNTED_MACS = frozenset({"convolution", "linear", "matmul", "mm", "bmm", "addmm", "einsum"})
SDPA_DROPPED = "attention matmuls (scaled_dot_product_attention is unsupported)"
#: The ONNX ops an average pool and a normalization export to.
AVERAGES = frozenset({"GlobalAveragePool", "ReduceMean", "AveragePool"})
NORMALIZATIONS = frozenset({"BatchNormalization", "LayerNormalization", "InstanceNormalization",
                            "GroupNormalization"})
GROUP_NORM = "group_norm: 4 per element, 5 with affine"


def _normalization(name: str, with_affine: int) -> Rule:
    """``name``: ``with_affine`` per input element, one fewer without affine."""
    def rule(row: Row, call: Call) -> list[Adjustment]:
        if call.op == "group_norm" and (row.op_type == "InstanceNormalization" or (
                row.op_type == "Mul" and row.outputs and len(row.outputs[0]) >= 3)):
            # GroupNorm exports as InstanceNormalization over the groups, then a Mul by γ and
            # an Add of β when affine: 4 per element on the first, the fifth on the Mul.
            count = 4 * input_elements(row) if row.op_type == "InstanceNormalization" else output_elements(row)
            return [(GROUP_NORM, count)]
        if row.op_type not in NORMALIZATIONS:
            return []
        if is_affine(row):
            return [(f"{name}: {with_affine} per element", with_affine * input_elements(row))]
        return [(f"{name} without affine: {with_affine - 1} per element", (with_affine - 1) * input_elements(row))]
    return rule


def _per_output(count: int, name: str) -> Rule:
    def rule(row: Row, call: Call) -> list[Adjustment]:
        return [(f"{name}: {count} per output element", count * output_elements(row))] if row.op_type in (
            "Resize", "Upsample", "GridSample") else []
    return rule


def _adaptive_average(row: Row, call: Call) -> list[Adjustment]:
    if is_pool(row, AVERAGES) and len(row.inputs[0]) == 4:
        return [("adaptive_avg_pool2d: 1 per input element", input_elements(row))]
    return []


def _upsample(row: Row, call: Call) -> list[Adjustment]:
    """A Resize without an origin: nearest as upsample_nearest2d, linear as upsample_bilinear2d."""
    if len(row.inputs[0]) != 4:
        return []
    mode = row.attrs.get("mode", "nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if mode == "nearest":
        return _per_output(1, "upsample_nearest2d")(row, call)
    return _per_output(4, "upsample_bilinear2d")(row, call) if mode == "linear" else []


RULES: dict[str, Rule] = {
    "batch_norm": _normalization("batch_norm", 2),
    "layer_norm": _normalization("layer_norm", 5),
    "instance_norm": _normalization("instance_norm", 5),
    "group_norm": _normalization("group_norm", 5),
    "adaptive_avg_pool2d": _adaptive_average,
    "upsample_nearest2d": _per_output(1, "upsample_nearest2d"),
    "upsample_bilinear2d": _per_output(4, "upsample_bilinear2d"),
    "upsample": _upsample,
    "grid_sampler": _per_output(4, "grid_sampler"),
}


def adjustments(row: Row) -> list[Adjustment]:
    """fvcore's figure for ``row`` minus its MACs, term by term (module docstring)."""
    call = call_of(row)
    mac = macs(row)
    found: list[Adjustment] = []
    if mac != 0:
        if call.op not in COUNTED_MACS:
            label = SDPA_DROPPED if call.op == "scaled_dot_product_attention" else (
                f"{call.op} MACs ({call.op} is unsupported)")
            found.append((label, -mac))
        elif call.op in ("matmul", "bmm", "mm"):
            found += _matmul_difference(row, mac)
        elif call.op == "einsum":
            found += _einsum_difference(row, mac)
    rule = RULES.get(call.op)
    if rule is not None:
        found += rule(row, call)
    return found


def _matmul_difference(row: Row, mac: Count) -> list[Adjustment]:
    """fvcore counts ``a @ b`` as ``numel(a) · b.shape[-1]``, which differs from the MACs when
    ``b`` broadcasts over more batch axes than ``a``."""
    counted = matmul_inputs_product(row)
    if counted is None or len(row.inputs[0]) < 2 or len(row.inputs[1]) < 2 or counted == mac:
        return []
    return [("matmul counted as numel(a)·b[-1]", counted - mac)]


#: Two-operand equations (letters renamed in order of appearance) fvcore counts exactly.
EXACT_EINSUMS = frozenset({"abc,abd->acd", "abc,adc->adb"})


def _einsum_difference(row: Row, mac: Count) -> list[Adjustment]:
    """fvcore counts any other einsum from the text of ``numpy.einsum_path(..., optimize="optimal")``:
    the line ``Optimized FLOP count: 3.540e+08``, halved and floored. For two operands numpy's count
    is ``(1 + summed) · prod(sizes) + 1`` (``numpy/_core/einsumfunc.py``, numpy 2.4), printed to 4
    significant digits, so fvcore rounds the MACs. Reproduced for two activation operands
    without an ellipsis; other einsums keep their MACs."""
    equation = row.attrs.get("equation", "")
    equation = equation.decode() if isinstance(equation, bytes) else str(equation)
    equation = equation.replace(" ", "")
    operands, _, output = equation.partition("->")
    terms = operands.split(",")
    if len(terms) != 2 or len(row.inputs) != 2 or "." in equation or not output:
        return []
    letters = dict.fromkeys(c for c in equation if c.isalpha())
    renamed = equation.translate({ord(c): 97 + i for i, c in enumerate(letters)})
    if renamed in EXACT_EINSUMS:
        return []
    sizes: dict[str, Count] = {}
    for term, shape in zip(terms, row.inputs, strict=True):
        if len(term) != len(shape):
            return []
        sizes.update(zip(term, shape, strict=True))
    if not all(isinstance(v, int) for v in sizes.values()):
        return []
    summed = any(c not in output for c in sizes)
    numpy_count = (2 if summed else 1) * prod(sizes.values()) + 1
    counted = int(float(f"{numpy_count:.3e}") // 2)
    return [("einsum: numpy's FLOP count to 4 digits, halved", counted - mac)] if counted != mac else []
