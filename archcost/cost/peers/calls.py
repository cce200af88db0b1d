"""What a peer tool sees of one report row: the PyTorch call the row came from.

fvcore counts the aten ops a JIT trace records; thop and ptflops count calls of ``torch.nn``
modules through forward hooks, and ptflops also counts calls of the ``torch.nn.functional``
and ``torch`` functions it patches. A row of a dynamo export says both halves of that:

* its innermost module scope (``row.scope[-1]``) is the module whose ``forward`` ran it,
  by class name (``Conv2d``, ``MultiheadAttention``, a model's own ``Bottleneck``);
* its origin (``aten.conv2d.default``) is the aten op the exporter recorded.

A row without an origin (an ONNX file from another exporter, a spec) stands for the
``torch.nn`` module its ONNX op is the export of: a Relu node is counted as an ``nn.ReLU``,
a Gemm or MatMul with a stored weight as an ``nn.Linear`` (and an Add of a stored ``[N]``
vector as its bias), a GlobalAveragePool as an ``nn.AdaptiveAvgPool2d(1)`` (:data:`STANDS_FOR`).

Limits of the reading, shared by every peer convention:

* the exporter records a class's short name, so a model's own class named like a ``torch.nn``
  one (``Linear``) is taken for it;
* the model itself is no module scope: a model that *is* a ``torch.nn`` leaf (a bare
  ``nn.Conv2d``), whose hook thop and ptflops run, reads as functional code;
* some Python calls export to the same aten op and cannot be told apart: ``torch.matmul(a, b)``
  and ``a @ b`` (read as ``torch.matmul``), ``F.relu(x)``, ``torch.relu(x)`` and a stored
  reference to ``F.relu`` taken before a tool patched it (read as ``F.relu``),
  ``torch.add(a, b)`` and ``a + b`` (read as ``+``), and ``F.adaptive_avg_pool2d(x, 1)`` and
  ``x.mean((2, 3), keepdim=True)`` (read as the pool);
* an adaptive average pool to a size that does not divide its input exports as a gather and a
  mean over the gathered windows: no row holds the pool's input, and it counts 0;
* ``GroupNorm(affine=False)`` exports its normalization like an affine one (times a computed
  γ of ones), so it is counted as affine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from archcost.categories import Category
from archcost.numeric import Count, prod

Shape = tuple[Count, ...]
#: One signed term of a peer's figure relative to the ``paper`` MACs: (what, how many).
Adjustment = tuple[str, Count]


class Row(Protocol):
    """What the peer rules read of a :class:`~archcost.cost.result.LayerRow`."""

    @property
    def op_type(self) -> str: ...
    @property
    def category(self) -> Category: ...
    @property
    def inputs(self) -> tuple[Shape, ...]: ...
    @property
    def outputs(self) -> tuple[Shape, ...]: ...
    @property
    def terms(self) -> Mapping[str, Count]: ...
    @property
    def attrs(self) -> Mapping[str, Any]: ...
    @property
    def input_names(self) -> tuple[str, ...]: ...
    @property
    def param_shapes(self) -> tuple[Shape, ...]: ...
    @property
    def scope(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def origin(self) -> str: ...


@dataclass(frozen=True)
class Call:
    """The PyTorch call a row belongs to."""

    #: The class of the module whose ``forward`` ran the row (``ReLU``); ``""`` for code outside
    #: any module's own ``forward`` that a peer could tell (the model's root, or no metadata).
    module: str
    #: The aten op, without namespace or overload (``conv2d`` → ``convolution``; see :data:`ALIASES`).
    op: str


#: aten names that are one op to the peers.
ALIASES: Mapping[str, str] = {
    **dict.fromkeys(("conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                     "_convolution"), "convolution"),
    **dict.fromkeys(("_native_batch_norm_legit_no_training", "_native_batch_norm_legit", "native_batch_norm",
                     "_native_batch_norm_legit_functional"), "batch_norm"),
    "native_layer_norm": "layer_norm", "native_group_norm": "group_norm", "_softmax": "softmax",
    "max_pool1d_with_indices": "max_pool1d", "max_pool2d_with_indices": "max_pool2d",
    "max_pool3d_with_indices": "max_pool3d", "_adaptive_avg_pool2d": "adaptive_avg_pool2d",
    "_adaptive_avg_pool3d": "adaptive_avg_pool3d", "grid_sampler_2d": "grid_sampler",
}

#: ONNX op type → (the ``torch.nn`` module, the aten op) it is the export of; ``{n}`` is the
#: number of spatial axes of the first input. A Clip is read as ``nn.ReLU6``, the module
#: classifiers export it from (a clamp elsewhere would be ``nn.Hardtanh``).
STANDS_FOR: Mapping[str, tuple[str, str]] = {
    "Conv": ("Conv{n}d", "convolution"), "ConvTranspose": ("ConvTranspose{n}d", "convolution"),
    "Gemm": ("Linear", "linear"), "MatMul": ("Linear", "linear"),
    "BatchNormalization": ("BatchNorm{n}d", "batch_norm"), "LayerNormalization": ("LayerNorm", "layer_norm"),
    "InstanceNormalization": ("InstanceNorm{n}d", "instance_norm"),
    "GroupNormalization": ("GroupNorm", "group_norm"),
    "Relu": ("ReLU", "relu"), "Clip": ("ReLU6", "hardtanh"), "LeakyRelu": ("LeakyReLU", "leaky_relu"),
    "PRelu": ("PReLU", "prelu"), "Elu": ("ELU", "elu"), "Gelu": ("GELU", "gelu"),
    "Sigmoid": ("Sigmoid", "sigmoid"), "HardSigmoid": ("Hardsigmoid", "hardsigmoid"),
    "HardSwish": ("Hardswish", "hardswish"), "Tanh": ("Tanh", "tanh"), "Softmax": ("Softmax", "softmax"),
    "MaxPool": ("MaxPool{n}d", "max_pool{n}d"), "AveragePool": ("AvgPool{n}d", "avg_pool{n}d"),
    "GlobalAveragePool": ("AdaptiveAvgPool{n}d", "adaptive_avg_pool{n}d"),
    "GlobalMaxPool": ("AdaptiveMaxPool{n}d", "adaptive_max_pool{n}d"),
    "Resize": ("Upsample", "upsample"), "Upsample": ("Upsample", "upsample"),
    "Attention": ("", "scaled_dot_product_attention"), "Einsum": ("", "einsum"),
    "GridSample": ("", "grid_sampler"),
}


#: Adaptive pooling modules, with the functional their ``forward`` calls.
ADAPTIVE_POOLS = {"AdaptiveAvgPool": "adaptive_avg_pool", "AdaptiveMaxPool": "adaptive_max_pool"}
#: Reductions that ``F.adaptive_*_pool2d(x, 1)`` exports to, with the pool they are read as.
GLOBAL_REDUCTIONS = {"mean": "adaptive_avg_pool", "amax": "adaptive_max_pool"}


def call_of(row: Row) -> Call:
    """The call ``row`` belongs to (module docstring)."""
    if row.origin:
        parts = row.origin.split(".")  # aten.relu_.default
        name = parts[1] if len(parts) > 2 else parts[-1]
        if name.endswith("_") and not name.startswith("_"):
            name = name[:-1]  # in place: relu_ is relu
        op = ALIASES.get(name, name)
        module = row.scope[-1][1] if row.scope else ""
        own = family(module)
        if own in ADAPTIVE_POOLS:
            # The module's own call, whatever the exporter decomposed it into (a mean, an avg_pool2d).
            op = f"{ADAPTIVE_POOLS[own]}{module[len(own):]}"
        elif op in GLOBAL_REDUCTIONS and is_global_average(row):
            op = f"{GLOBAL_REDUCTIONS[op]}{len(row.inputs[0]) - 2}d"
        return Call(module, op)
    spatial = len(row.inputs[0]) - 2 if row.inputs else 0
    if row.op_type in ("MatMul", "Gemm") and row.category is not Category.FULLY_CONNECTED:
        return Call("", "matmul" if row.op_type == "MatMul" else "addmm")
    if row.op_type == "Add" and is_linear_bias(row):
        return Call("Linear", "linear")
    if row.op_type in ("ReduceMean", "ReduceMax") and is_global_average(row):
        kind = "Avg" if row.op_type == "ReduceMean" else "Max"
        return Call(f"Adaptive{kind}Pool{spatial}d", f"adaptive_{kind.lower()}_pool{spatial}d")
    module, op = STANDS_FOR.get(row.op_type, ("", row.op_type.lower()))
    return Call(module.format(n=max(spatial, 1)), op.format(n=max(spatial, 1)))


def is_global_average(row: Row) -> bool:
    """Whether a reduction keeps the batch and channel axes and reduces every spatial one to 1,
    as ``F.adaptive_avg_pool2d(x, 1)`` and ``F.adaptive_max_pool2d(x, 1)`` export."""
    if not row.inputs or not row.outputs:
        return False
    x, y = row.inputs[0], row.outputs[0]
    return len(x) >= 3 and len(y) == len(x) and tuple(y[:2]) == tuple(x[:2]) and all(d == 1 for d in y[2:])


def is_linear_bias(row: Row) -> bool:
    """Whether an Add adds a stored ``[N]`` vector along the last axis: the bias of an ``nn.Linear``
    that exports as MatMul then Add (a positional embedding, stored too, has more axes)."""
    return len(row.inputs) == 1 and bool(row.outputs) and bool(row.outputs[0]) and (
        row.param_shapes == ((row.outputs[0][-1],),))


def is_pool(row: Row, op_types: frozenset[str]) -> bool:
    """Whether ``row`` is a pooling node of ``op_types`` that keeps its input's rank: the whole
    pool, not the mean over gathered windows an uneven adaptive pool exports to."""
    return row.op_type in op_types and bool(row.inputs) and bool(row.outputs) and (
        len(row.inputs[0]) == len(row.outputs[0]))


def family(module: str) -> str:
    """``Conv2d`` → ``Conv``, ``BatchNorm1d`` → ``BatchNorm``: the rules treat 1d, 2d and 3d alike."""
    return module[:-2] if len(module) > 2 and module[-1] == "d" and module[-2] in "123" else module


def macs(row: Row) -> Count:
    return row.terms.get("mac", 0)


def elements(shape: Shape) -> Count:
    return prod(shape)


def input_elements(row: Row) -> Count:
    """Elements of the first input (the module's input, for a one-node module)."""
    return prod(row.inputs[0]) if row.inputs else 0


def output_elements(row: Row) -> Count:
    return prod(row.outputs[0]) if row.outputs else 0


def stored_inputs(row: Row) -> int:
    """How many of the node's inputs are read from stored data (weights, biases, running
    statistics): the named inputs that are not activations."""
    return sum(1 for name in row.input_names if name) - len(row.inputs)


def has_stored_bias(row: Row) -> bool:
    """Whether a Conv, ConvTranspose or Gemm adds a bias the model stores.

    The dynamo exporter gives a conv without bias a computed zero bias (an Expand of 0), which
    the node reads as an activation; a stored bias is a parameter.
    """
    named = sum(1 for name in row.input_names if name)
    return len(row.input_names) > 2 and bool(row.input_names[2]) and named - len(row.inputs) >= 2


def is_affine(row: Row) -> bool:
    """Whether a normalization node scales by a stored γ.

    BatchNormalization always reads a scale, bias, mean and variance: with ``affine=False`` the
    exporter computes a scale of ones and a bias of zeros, so only the two statistics are stored.
    LayerNormalization and InstanceNormalization read a stored scale when affine.
    """
    if row.op_type == "BatchNormalization":
        return stored_inputs(row) >= 4
    return stored_inputs(row) >= 1


def matmul_inputs_product(row: Row) -> Count | None:
    """``numel(a) · b.shape[-1]`` for a product ``a @ b`` of two activations (fvcore's and
    ptflops' matmul count); ``None`` when an operand is stored."""
    if len(row.inputs) != 2 or not row.inputs[1]:
        return None
    return prod(row.inputs[0]) * row.inputs[1][-1]
