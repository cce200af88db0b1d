"""thop 0.1.1.post2209072238: ``profile(model, inputs=(x,))[0]``.

thop puts the model in eval mode, runs it under ``torch.no_grad()`` and adds up forward
hooks registered by each module's *exact* class (``thop/profile.py``, ``register_hooks``;
formulas in ``thop/vision/basic_hooks.py`` and ``calc_func.py``); a module of any other
class, and any code outside a hooked module's ``forward``, counts 0:

* ``Conv1d/2d/3d`` and ``ConvTranspose1d/2d/3d``: ``numel(output) · C_in/g · prod(kernel)``,
  no bias (a convolution's MACs; a transposed one's MACs are
  ``numel(input) · C_out/g · prod(kernel)``, so thop counts it differently);
* ``Linear``: ``in_features · numel(output)``, no bias;
* ``BatchNorm1d/2d/3d``, ``SyncBatchNorm``, ``LayerNorm``, ``InstanceNorm1d/2d/3d``:
  ``2 · numel(input)``, doubled when affine (4 per element for a default BatchNorm or LayerNorm);
* ``AvgPool1d/2d/3d``: 1 per output element; ``AdaptiveAvgPool1d/2d/3d``:
  ``int((prod(in_size / out_size) + 1) · numel(output))`` in float64, which is
  ``numel(input) + numel(output)`` when the sizes divide;
* ``Softmax``: ``rows · (3n − 1)`` over ``n`` features; ``PReLU`` in eval: 1 per element;
* ``Upsample``: nearest 1, linear 5, bilinear 11, bicubic 259 per output element, any other
  mode 0;
* ``ReLU``, ``ReLU6``, ``LeakyReLU``, max pools, ``Dropout``: 0;
* ``nn.MultiheadAttention`` has no rule (under ``no_grad`` in eval it takes its fused path,
  so no submodule's hook runs either): every attention MAC is lost; so are ``torch.matmul``,
  ``F.linear`` and every other functional call.

The RNN hooks (``thop/rnn_hooks.py``) are not reproduced: an RNN node keeps its MACs.
"""

from __future__ import annotations

from collections.abc import Callable

from archcost.cost.peers.calls import (
    Adjustment,
    Call,
    Row,
    call_of,
    family,
    input_elements,
    is_affine,
    is_pool,
    macs,
    output_elements,
)
from archcost.numeric import Count, prod

TOOL = "thop 0.1.1.post2209072238"
DESCRIPTION = (
    "reproduces thop 0.1.1.post2209072238 profile(): hooks by exact torch.nn class; conv and linear MACs "
    "without bias, BatchNorm/LayerNorm/InstanceNorm 2 per element ×2 when affine, AdaptiveAvgPool input + "
    "output elements, AvgPool 1 per output element, Softmax rows·(3n−1); ReLU, max pools, nn.MultiheadAttention "
    "(fused under no_grad) and every functional call 0"
)

Rule = Callable[[Row, Call], list[Adjustment]]
MHA_DROPPED = "nn.MultiheadAttention: no rule (fused path under no_grad)"
FUNCTIONAL_DROPPED = "functional matmuls and linears (no module hook sees them)"
#: RNN modules thop has hooks for; not reproduced, so their MACs stay as they are.
RECURRENT = frozenset({"RNN", "GRU", "LSTM", "RNNCell", "GRUCell", "LSTMCell"})
NORMALIZATIONS = frozenset({"BatchNormalization", "LayerNormalization", "InstanceNormalization"})
AVERAGES = frozenset({"GlobalAveragePool", "ReduceMean", "AveragePool"})


def _keep(row: Row, call: Call) -> list[Adjustment]:
    return []


def _conv_transpose(row: Row, call: Call) -> list[Adjustment]:
    """thop counts a transposed conv with the conv formula, over its (larger) output."""
    if row.op_type != "ConvTranspose" or not row.param_shapes:
        return []
    kernel = row.param_shapes[0][2:]
    counted = output_elements(row) * (row.inputs[0][1] // row.attrs.get("group", 1)) * prod(kernel)
    difference = counted - macs(row)
    return [("ConvTranspose: numel(output)·C_in/g·K instead of its MACs", difference)] if difference != 0 else []


def _normalization(row: Row, call: Call) -> list[Adjustment]:
    if row.op_type not in NORMALIZATIONS:
        return []
    name = family(call.module)
    if is_affine(row):
        return [(f"{name}: 4 per element (2, doubled when affine)", 4 * input_elements(row))]
    return [(f"{name} without affine: 2 per element", 2 * input_elements(row))]


def _average(row: Row, call: Call) -> list[Adjustment]:
    if not is_pool(row, frozenset({"AveragePool"})):
        return []
    return [("AvgPool: 1 per output element", output_elements(row))]


def _adaptive_average(row: Row, call: Call) -> list[Adjustment]:
    if not is_pool(row, AVERAGES):
        return []
    return [("AdaptiveAvgPool: input + output elements", adaptive_average_count(row.inputs[0], row.outputs[0]))]


def adaptive_average_count(x: tuple[Count, ...], y: tuple[Count, ...]) -> Count:
    """thop's ``int((prod(x_size / y_size) + 1) · numel(y))``, in float64 as thop computes it;
    ``numel(x) + numel(y)`` for symbolic sizes (the same number when the sizes divide)."""
    if all(isinstance(d, int) for d in (*x, *y)):
        kernel = 1.0
        for a, b in zip(x[2:], y[2:], strict=True):
            kernel *= float(a) / float(b)
        return int((kernel + 1.0) * float(prod(y)))
    return prod(x) + prod(y)


def _softmax(row: Row, call: Call) -> list[Adjustment]:
    if row.op_type != "Softmax":
        return []
    shape = row.inputs[0]
    features = shape[row.attrs.get("axis", -1)]
    rows = prod(shape) // features
    return [("Softmax module: 3n − 1 per row of n", rows * (3 * features - 1))]


def _prelu(row: Row, call: Call) -> list[Adjustment]:
    return [("PReLU: 1 per element", input_elements(row))] if row.op_type == "PRelu" else []


#: Per output element, by the module's ``mode`` (``calc_func.calculate_upsample``); thop counts
#: any other mode (trilinear) as 0.
UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 259}


def _upsample(row: Row, call: Call) -> list[Adjustment]:
    if row.op_type not in ("Resize", "Upsample"):
        return []
    mode = row.attrs.get("mode", "nearest")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    spatial = len(row.inputs[0]) - 2
    if mode != "nearest":
        mode = {("linear", 1): "linear", ("linear", 2): "bilinear", ("cubic", 2): "bicubic"}.get((mode, spatial), "")
    per = UPSAMPLE.get(mode, 0)
    return [(f"Upsample ({mode}): {per} per output element", per * output_elements(row))] if per else []


def _zero(row: Row, call: Call) -> list[Adjustment]:
    return []


def _rules(names: str, rule: Rule) -> dict[str, Rule]:
    return dict.fromkeys(names.split(), rule)


#: ``thop/profile.py``'s ``register_hooks``, by class name.
MODULE_RULES: dict[str, Rule] = {
    **_rules("Conv1d Conv2d Conv3d Linear", _keep),
    **_rules("ConvTranspose1d ConvTranspose2d ConvTranspose3d", _conv_transpose),
    **_rules("BatchNorm1d BatchNorm2d BatchNorm3d SyncBatchNorm LayerNorm InstanceNorm1d InstanceNorm2d "
             "InstanceNorm3d", _normalization),
    **_rules("AvgPool1d AvgPool2d AvgPool3d", _average),
    **_rules("AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d", _adaptive_average),
    **_rules("Upsample UpsamplingBilinear2d UpsamplingNearest2d", _upsample),
    "Softmax": _softmax, "PReLU": _prelu,
    **_rules("ZeroPad2d ReLU ReLU6 LeakyReLU MaxPool1d MaxPool2d MaxPool3d AdaptiveMaxPool1d AdaptiveMaxPool2d "
             "AdaptiveMaxPool3d Dropout Sequential PixelShuffle", _zero),
}
#: Modules whose hooks count the MACs archcost counts.
COUNTS_MACS = frozenset({"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                         "Linear", *RECURRENT})


def adjustments(row: Row) -> list[Adjustment]:
    """thop's figure for ``row`` minus its MACs, term by term (module docstring)."""
    call = call_of(row)
    mac = macs(row)
    found: list[Adjustment] = []
    if mac != 0 and call.module not in COUNTS_MACS:
        found.append((_dropped(call), -mac))
    rule = MODULE_RULES.get(call.module)
    if rule is not None:
        found += rule(row, call)
    return found


def _dropped(call: Call) -> str:
    if call.module == "MultiheadAttention":
        return MHA_DROPPED
    if call.op in ("matmul", "mm", "bmm", "addmm", "baddbmm", "linear", "einsum", "scaled_dot_product_attention"):
        return FUNCTIONAL_DROPPED
    return f"{call.op} outside a hooked module"
