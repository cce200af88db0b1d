"""ptflops 0.7.5, pytorch backend: ``get_model_complexity_info(model, res, as_strings=False,
backend='pytorch')[0]``.

ptflops adds up two things (``ptflops/pytorch_engine.py``, formulas in ``pytorch_ops.py``):

1. forward hooks by each module's *exact* class (``MODULES_MAPPING``):

   * ``Conv1d/2d/3d``, ``ConvTranspose1d/2d/3d``, ``Linear``: MACs plus, with a bias, 1 per
     output element;
   * ``ReLU``, ``ReLU6``, ``PReLU``, ``ELU``, ``LeakyReLU``, ``GELU``: 1 per output element;
   * max, average and adaptive pools: 1 per *input* element;
   * ``BatchNorm``, ``InstanceNorm``, ``GroupNorm``: 1 per element, 2 when ``affine``;
     ``LayerNorm``: 1 (it has ``elementwise_affine``, not ``affine``);
   * ``Upsample``: 1 per output element of the first sample;
   * ``MultiheadAttention``: q scaling ``L·d``, projections and their biases, ``QKᵀ``, softmax
     ``L·S`` per head, ``AV`` and the output projection with a bias always, ``L·d·(d+1)``;

2. calls of functions it replaces while the model runs, *with no guard* against a hooked
   module calling them: ``F.relu``, ``F.prelu``, ``F.elu``, ``F.relu6``, ``F.gelu``, ``F.silu``,
   every ``F.*pool*``, ``F.softmax``: 1 per input element; ``F.interpolate``: the output
   elements; ``torch.matmul``, ``mm``, ``bmm``: ``numel(a)·b[-1]``; ``addmm``, ``baddbmm`` add
   the added tensor's elements. So an ``nn.ReLU``, ``nn.GELU``, ``nn.ELU``, ``nn.PReLU``,
   ``nn.MaxPool2d``, ``nn.AvgPool2d`` or ``nn.AdaptiveAvgPool2d``, whose ``forward`` calls the
   replaced function, is counted twice (``nn.ReLU6`` calls ``F.hardtanh``: once). ``F.linear``,
   ``F.conv2d`` and ``scaled_dot_product_attention`` outside a hooked module count 0; so do
   ``+`` and ``*`` (``torch.add`` and ``torch.mul`` are replaced, the operators are not).

ptflops divides the module counts by the batch its model saw (they are per image) but not
the function counts; ``get_model_complexity_info`` feeds a batch of 1, and that figure is the
one reproduced: at batch B the convention counts both for the whole batch. The RNN hooks are
not reproduced: an RNN node keeps its MACs.
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.cost.peers.calls import (
    Adjustment,
    Call,
    Row,
    call_of,
    family,
    has_stored_bias,
    input_elements,
    is_affine,
    is_pool,
    macs,
    matmul_inputs_product,
    output_elements,
)
from archcost.numeric import prod

TOOL = "ptflops 0.7.5"
DESCRIPTION = (
    "reproduces ptflops 0.7.5 (pytorch backend): hooks by exact torch.nn class, conv/linear MACs plus bias "
    "adds, BatchNorm 2 per element (1 without affine), LayerNorm 1, ReLU/ReLU6/GELU/ELU/PReLU 1, pools 1 per "
    "input element, MultiheadAttention with softmax and q scaling; plus the patched F.relu/F.gelu/F.*pool*/"
    "F.softmax/torch.matmul calls, so nn.ReLU, nn.GELU and pool modules count twice"
)

Rule = Callable[[Row, Call], list[Adjustment]]
BIAS = "bias adds: 1 per output element"
#: The ONNX op each activation module exports to.
ACTIVATIONS = {"ReLU": "Relu", "ReLU6": "Clip", "PReLU": "PRelu", "ELU": "Elu", "LeakyReLU": "LeakyRelu",
               "GELU": "Gelu"}
POOLS = frozenset({"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "ReduceMax"})
NORMALIZATIONS = frozenset({"BatchNormalization", "LayerNormalization", "InstanceNormalization"})
#: Functions ptflops replaces (``patch_functional``) that count 1 per input element, by the aten
#: op they export to, with the ONNX ops that carry it (SiLU exports as Sigmoid then Mul).
PER_INPUT_ELEMENT: dict[str, frozenset[str]] = {
    "relu": frozenset({"Relu"}), "prelu": frozenset({"PRelu"}), "elu": frozenset({"Elu"}),
    "relu6": frozenset({"Clip"}), "gelu": frozenset({"Gelu"}), "silu": frozenset({"Mul"}),
    "softmax": frozenset({"Softmax"}),
    **{f"{kind}_pool{n}d": POOLS for kind in ("max", "avg", "adaptive_avg", "adaptive_max") for n in (1, 2, 3)},
}
MATMULS = frozenset({"matmul", "mm", "bmm", "addmm", "baddbmm"})
INTERPOLATIONS = ("upsample", "upsample_nearest", "upsample_bilinear", "upsample_bicubic", "upsample_linear",
                  "upsample_trilinear")


def _linear(row: Row, call: Call) -> list[Adjustment]:
    """``(in·out + out)·rows`` with a bias: its Gemm's bias, or the Add after a MatMul."""
    if row.op_type in ("Gemm", "Conv", "ConvTranspose"):
        return [(BIAS, output_elements(row))] if has_stored_bias(row) else []
    if row.op_type == "Add" and len(row.inputs) == 1:  # the other operand is the stored bias
        return [(BIAS, output_elements(row))]
    return []


def _activation(row: Row, call: Call) -> list[Adjustment]:
    if row.op_type != ACTIVATIONS.get(call.module):
        return []
    return [(f"{call.module} modules: 1 per element", output_elements(row))]


def _pool(row: Row, call: Call) -> list[Adjustment]:
    if not is_pool(row, POOLS):
        return []
    return [(f"{call.module} modules: 1 per input element", input_elements(row))]


def _normalization(row: Row, call: Call) -> list[Adjustment]:
    name = family(call.module)
    if call.module == "GroupNorm" and row.op_type == "Mul" and row.outputs and len(row.outputs[0]) >= 3:
        return [("GroupNorm: 2 per element (1 without affine)", output_elements(row))]  # the γ step
    if row.op_type not in NORMALIZATIONS:
        return []
    if call.module == "GroupNorm":
        return [("GroupNorm: 2 per element (1 without affine)", input_elements(row))]
    if name != "LayerNorm" and is_affine(row):
        return [(f"{name}: 2 per element", 2 * input_elements(row))]
    return [(f"{name}: 1 per element" + ("" if name == "LayerNorm" else " (no affine)"), input_elements(row))]


def _upsample(row: Row, call: Call) -> list[Adjustment]:
    if row.op_type not in ("Resize", "Upsample"):
        return []
    return [("Upsample modules: 1 per output element of the first sample", prod(row.outputs[0][1:]))]


def _attention(row: Row, call: Call) -> list[Adjustment]:
    """nn.MultiheadAttention's formula, spread over the rows of its forward.

    Its in-projections are linears of ``[L, B, d]`` inputs; its output projection is the
    linear of the ``[L·B, d]`` attention output, which carries the always-counted bias and
    the q scaling ``L·B·d`` (ptflops asserts the query's width is ``d``).
    """
    if call.op == "linear" and row.op_type in ("Gemm", "MatMul") and row.inputs and len(row.inputs[0]) == 2:
        return [("MultiheadAttention: output bias (always) and q scaling", 2 * output_elements(row))]
    if call.op == "linear" and row.op_type == "Add" and len(row.inputs) == 1:
        return [("MultiheadAttention: in-projection bias", output_elements(row))]
    if row.op_type == "Softmax":
        return [("MultiheadAttention: softmax, 1 per score", output_elements(row))]
    return []


def _rules(names: str, rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names.split(), rule)


#: ``pytorch_ops.py``'s ``MODULES_MAPPING``, by class name.
MODULE_RULES: dict[str, Rule] = {
    **_rules("Conv1d Conv2d Conv3d ConvTranspose1d ConvTranspose2d ConvTranspose3d Linear", _linear),
    **_rules(" ".join(ACTIVATIONS), _activation),
    **_rules(" ".join(f"{kind}{n}d" for kind in ("MaxPool", "AvgPool", "AdaptiveMaxPool", "AdaptiveAvgPool")
                      for n in (1, 2, 3)), _pool),
    **_rules("BatchNorm1d BatchNorm2d BatchNorm3d InstanceNorm1d InstanceNorm2d InstanceNorm3d GroupNorm "
             "LayerNorm", _normalization),
    "Upsample": _upsample, "MultiheadAttention": _attention,
}
#: Modules whose formula counts the MACs archcost counts.
COUNTS_MACS = frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                         "Linear", "MultiheadAttention", "RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"})


def adjustments(row: Row) -> list[Adjustment]:
    """ptflops' figure for ``row`` minus its MACs, term by term (module docstring)."""
    call = call_of(row)
    rule = MODULE_RULES.get(call.module)
    found = rule(row, call) if rule is not None else []
    by_module = call.module in COUNTS_MACS
    found += _patched(row, call, by_module)
    return found


def _patched(row: Row, call: Call, by_module: bool) -> list[Adjustment]:
    """What the replaced functions count for ``row``, and the MACs neither counts."""
    mac = macs(row)
    if call.op in MATMULS and row.op_type in ("MatMul", "Gemm"):
        counted = matmul_inputs_product(row) if row.op_type == "MatMul" else mac
        counted = mac if counted is None else counted
        if call.op in ("addmm", "baddbmm") and row.op_type == "Gemm" and len(row.input_names) > 2:
            counted = counted + output_elements(row)
        if by_module:
            return [(f"{call.module}: torch.{call.op} counted again (patched)", counted)]
        return [(f"torch.{call.op}: numel(a)·b[-1]", counted - mac)] if counted != mac else []
    found: list[Adjustment] = []
    if mac != 0 and not by_module:
        found.append((_dropped(call), -mac))
    carriers = PER_INPUT_ELEMENT.get(call.op, frozenset())
    if row.op_type in carriers and (carriers is not POOLS or is_pool(row, POOLS)):
        where = f"{call.module} counted twice (its forward calls the patched F.{call.op})" if (
            call.module in MODULE_RULES) else f"F.{call.op} calls: 1 per input element"
        found.append((where, input_elements(row)))
    elif call.op.startswith(INTERPOLATIONS) and row.op_type in ("Resize", "Upsample"):
        where = "Upsample counted twice (F.interpolate patched)" if call.module == "Upsample" else (
            "F.interpolate calls: 1 per output element")
        found.append((where, output_elements(row)))
    return found


def _dropped(call: Call) -> str:
    if call.op == "scaled_dot_product_attention":
        return "attention matmuls (scaled_dot_product_attention is not patched)"
    if call.op == "linear":
        return "F.linear calls (not patched)"
    if call.op == "convolution":
        return "functional convolutions (not patched)"
    return f"{call.op} (not patched)"
