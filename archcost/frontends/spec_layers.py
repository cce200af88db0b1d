"""The spec's layer kinds, each lowered to registry operators.

A kind declares the fields it accepts and a ``lower`` function that adds ONNX
operator nodes (and their parameter tensors) through a :class:`LayerContext`.
The costs themselves are never computed here: they come from the registry
rules, exactly as for ONNX models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archcost.errors import ArchcostError, ExpressionError, SpecError
from archcost.expr import evaluate_text
from archcost.frontends.yaml_loader import LocatedDict, LocatedList
from archcost.graph import GraphBuilder, OpNode, Scope, Tensor, TensorKind
from archcost.numeric import Count, Scalar, exact_div, is_concrete, normalize
from archcost.ops import lookup
from archcost.ops.registry import InputInfo, apply_rule

Shape = tuple[Count, ...]

#: Fields every layer accepts, whatever its kind.
COMMON_FIELDS = ("op", "use", "name", "inputs", "repeat", "when")


class Lowering:
    """The graph under construction, with the shape of every tensor defined so far."""

    def __init__(self, name: str, display: str, continuous: bool) -> None:
        self.builder = GraphBuilder(name)
        self.display = display
        self.continuous = continuous
        self.shapes: dict[str, Shape] = {}
        self.values: dict[str, tuple[Count, ...] | None] = {}
        self.initializers: set[str] = set()

    def add_tensor(self, tensor: Tensor, where: str) -> None:
        self.builder.add_tensor(tensor, where=where)
        self.shapes[tensor.name] = tensor.shape
        self.values[tensor.name] = tensor.value
        if tensor.kind is TensorKind.INITIALIZER:
            self.initializers.add(tensor.name)

    def shape(self, tensor: str) -> Shape:
        return self.shapes[tensor]

    def add_node(self, node: OpNode) -> None:
        """Add ``node`` and infer its outputs with its registry rule."""
        entry = lookup(node.op_type, node.domain)
        infos = tuple(
            InputInfo(self.shapes[t], "float32", t in self.initializers, self.values.get(t))
            if t else None
            for t in node.inputs
        )
        result = apply_rule(entry, node.name, node.attrs, infos)
        self.builder.add_node(node)
        for i, out in enumerate(node.outputs):
            self.shapes[out] = result.outputs[i]
            self.values[out] = result.values[i] if i < len(result.values) else None


class LayerContext:
    """What a layer kind's ``lower`` sees: its fields, inputs, and ways to add nodes."""

    def __init__(
        self,
        lowering: Lowering,
        name: str,
        fields: LocatedDict,
        inputs: list[str],
        env: Mapping[str, Scalar],
        where: str,
        context: str = "",
        scope: Scope = (),
    ) -> None:
        self.lowering = lowering
        self.name = name
        #: The blocks this layer sits in and the layer itself, for reports by module.
        self.scope = scope
        self.fields = fields
        self.inputs = inputs
        self.env = env
        self.where = where
        self.label = f"layer {name!r}{context}"

    # --- fields ---------------------------------------------------------------------

    def error(self, key: str | None, problem: str) -> SpecError:
        line = self.fields.line_of(key) if key else self.fields.line
        return SpecError(f"{self.label}: {problem}", where=f"{self.lowering.display}:{line}")

    def _value(self, key: str, raw: Any) -> Scalar:
        if isinstance(raw, bool):
            raise self.error(key, f"{key} must be a number, got {raw!r}")
        if isinstance(raw, (int, Fraction)):
            return normalize(raw)
        if isinstance(raw, str):
            try:
                return evaluate_text(raw, self.env, continuous=self.lowering.continuous)
            except ExpressionError as err:
                raise self.error(key, f"{key}: {err.message}") from None
        raise self.error(key, f"{key} must be a number or an expression, got {raw!r}")

    def _integer(self, key: str, raw: Any, minimum: int | None) -> Count:
        value = self._value(key, raw)
        if isinstance(value, Fraction):
            raise self.error(
                key, f"{key} evaluates to {float(value):g}, not a whole number; "
                "wrap it in a rounding rule such as int() or make_divisible()"
            )
        if minimum is not None and is_concrete(value) and value < minimum:
            what = "a positive integer" if minimum == 1 else f"an integer ≥ {minimum}"
            raise self.error(key, f"{key} must be {what}, got {value}")
        return value

    def integer(self, key: str, default: Count | None = None, *, minimum: int | None = 1) -> Count:
        """An integer field (an expression allowed); required when ``default`` is None."""
        if key not in self.fields:
            if default is None:
                raise self.error(None, f"missing required field {key!r}")
            return default
        return self._integer(key, self.fields[key], minimum)

    def ints(self, key: str, count: int, default: Count | None = None, *, minimum: int = 1) -> list[Count]:
        """An integer, or a list of ``count`` integers (per spatial axis)."""
        if key not in self.fields:
            if default is None:
                raise self.error(None, f"missing required field {key!r}")
            return [default] * count
        raw = self.fields[key]
        if isinstance(raw, list):
            if len(raw) != count:
                raise self.error(key, f"{key} needs {count} values, got {len(raw)}")
            return [self._integer(key, item, minimum) for item in raw]
        return [self._integer(key, raw, minimum)] * count

    def dims(self, key: str) -> list[Count]:
        """A list of integer expressions (a shape); -1 and 0 are allowed (Reshape)."""
        raw = self.fields.get(key)
        if not isinstance(raw, LocatedList):
            raise self.error(key, f"{key} must be a list")
        return [self._integer(key, item, minimum=None) for item in raw]

    def flag(self, key: str, default: bool) -> bool:
        raw = self.fields.get(key, default)
        if not isinstance(raw, bool):
            raise self.error(key, f"{key} must be true or false, got {raw!r}")
        return raw

    # --- graph ----------------------------------------------------------------------

    def single_input(self) -> str:
        if len(self.inputs) != 1:
            raise self.error("inputs", f"takes one input, got {len(self.inputs)}")
        return self.inputs[0]

    def shape(self, tensor: str) -> Shape:
        return self.lowering.shape(tensor)

    def param(self, suffix: str, shape: Sequence[Count]) -> str:
        """Declare a parameter tensor ``<layer>.<suffix>``."""
        name = f"{self.name}.{suffix}"
        self.lowering.add_tensor(Tensor(name, tuple(shape), TensorKind.INITIALIZER), self.where)
        return name

    def const(self, suffix: str, values: Sequence[Count], *, dtype: str, scalar: bool = False) -> str:
        """Declare a small constant (a shape, clip bounds); never counted as a parameter."""
        name = f"{self.name}.{suffix}"
        shape: Shape = () if scalar else (len(values),)
        tensor = Tensor(name, shape, TensorKind.INITIALIZER, dtype, tuple(values))
        self.lowering.add_tensor(tensor, self.where)
        return name

    def node(
        self, op_type: str, inputs: Sequence[str], attrs: Mapping[str, Any] | None = None,
        *, suffix: str | None = None,
    ) -> str:
        """Add an operator; its one output is named after the layer (plus ``suffix``)."""
        name = self.name if suffix is None else f"{self.name}.{suffix}"
        node = OpNode(name, op_type, tuple(inputs), (name,), dict(attrs or {}), source=self.where,
                      scope=self.scope)
        try:
            self.lowering.add_node(node)
        except SpecError:
            raise
        except ArchcostError as err:
            raise self.error(None, err.message) from None
        return name


@dataclass(frozen=True)
class LayerKind:
    """A spec layer kind: the fields it accepts and how it lowers."""

    fields: tuple[str, ...]
    lower: Callable[[LayerContext], str]


def _padding(ctx: LayerContext, rank: int, default: Any) -> dict[str, Any]:
    raw = ctx.fields.get("padding", default)
    if raw == "same":
        return {"auto_pad": "SAME_UPPER"}
    if raw == "valid":
        return {"auto_pad": "VALID"}
    if isinstance(raw, list):
        if len(raw) != 2 * rank:
            raise ctx.error("padding", f"padding needs {2 * rank} values (begins, then ends)")
        return {"pads": [ctx._integer("padding", p, 0) for p in raw]}
    if isinstance(raw, (int, str)) and not isinstance(raw, bool):
        return {"pads": [ctx._integer("padding", raw, 0)] * (2 * rank)}
    raise ctx.error("padding", f"padding must be 'same', 'valid', an integer or a list, got {raw!r}")


def _conv(ctx: LayerContext, *, pointwise: bool = False) -> str:
    x = ctx.single_input()
    shape = ctx.shape(x)
    if len(shape) < 3:
        raise ctx.error("inputs", f"conv needs a [batch, channels, spatial...] input, got {list(shape)}")
    rank = len(shape) - 2
    in_channels = shape[1]
    if is_concrete(in_channels) and in_channels < 1:
        raise ctx.error("inputs", f"conv needs at least one input channel, got {list(shape)}")
    kernel = [1] * rank if pointwise else ctx.ints("kernel", rank)
    if ctx.flag("depthwise", False) if not pointwise else False:
        groups: Count = in_channels
        out = in_channels * ctx.integer("multiplier", 1)
        if "out" in ctx.fields or "groups" in ctx.fields:
            raise ctx.error("out" if "out" in ctx.fields else "groups",
                            "a depthwise conv takes its channels from its input; use 'multiplier'")
    else:
        groups = ctx.integer("groups", 1)
        out = ctx.integer("out")
        for what, channels in (("input channel count", in_channels), ("out", out)):
            if is_concrete(channels) and is_concrete(groups) and channels % groups:
                raise ctx.error("groups", f"{what} {channels} is not divisible by groups={groups}")
    weight = ctx.param("weight", (out, exact_div(in_channels, groups), *kernel))
    inputs = [x, weight]
    if ctx.flag("bias", False):
        inputs.append(ctx.param("bias", (out,)))
    attrs: dict[str, Any] = {
        "kernel_shape": kernel,
        "strides": ctx.ints("stride", rank, 1),
        "group": groups,
    }
    if not pointwise:
        attrs["dilations"] = ctx.ints("dilation", rank, 1)
    attrs.update(_padding(ctx, rank, 0 if pointwise else "same"))
    return ctx.node("Conv", inputs, attrs)


def _fc(ctx: LayerContext) -> str:
    x = ctx.single_input()
    shape = ctx.shape(x)
    if not shape:
        raise ctx.error("inputs", "fc needs an input of rank ≥ 1")
    out = ctx.integer("out")
    bias = ctx.flag("bias", True)
    if len(shape) == 2:
        inputs = [x, ctx.param("weight", (out, shape[1]))]
        if bias:
            inputs.append(ctx.param("bias", (out,)))
        return ctx.node("Gemm", inputs, {"transB": 1})
    weight = ctx.param("weight", (shape[-1], out))
    if not bias:
        return ctx.node("MatMul", [x, weight])
    product = ctx.node("MatMul", [x, weight], suffix="matmul")
    return ctx.node("Add", [product, ctx.param("bias", (out,))])


def _matmul(ctx: LayerContext) -> str:
    if len(ctx.inputs) != 2:
        raise ctx.error("inputs", f"matmul takes two inputs, got {len(ctx.inputs)}")
    a, b = ctx.inputs
    if ctx.flag("transpose_b", False):
        rank = len(ctx.shape(b))
        perm = [*range(rank - 2), rank - 1, rank - 2]
        b = ctx.node("Transpose", [b], {"perm": perm}, suffix="transpose_b")
    return ctx.node("MatMul", [a, b])


def _batch_norm(ctx: LayerContext) -> str:
    x = ctx.single_input()
    shape = ctx.shape(x)
    if len(shape) < 2:
        raise ctx.error("inputs", f"batch_norm needs a channel axis, got {list(shape)}")
    c = (shape[1],)
    inputs = [x, ctx.param("weight", c), ctx.param("bias", c),
              ctx.param("running_mean", c), ctx.param("running_var", c)]
    return ctx.node("BatchNormalization", inputs, {"epsilon": _float(ctx, "epsilon", 1e-5)})


def _layer_norm(ctx: LayerContext) -> str:
    x = ctx.single_input()
    shape = ctx.shape(x)
    axis = ctx.integer("axis", -1, minimum=None)
    if not isinstance(axis, int) or not -len(shape) <= axis < len(shape):
        raise ctx.error("axis", f"axis {axis} is out of range for rank {len(shape)}")
    normalized = shape[axis:]
    inputs = [x, ctx.param("weight", normalized), ctx.param("bias", normalized)]
    return ctx.node("LayerNormalization", inputs,
                    {"axis": axis, "epsilon": _float(ctx, "epsilon", 1e-5)})


def _float(ctx: LayerContext, key: str, default: float) -> float:
    if key not in ctx.fields:
        return default
    value = ctx._value(key, ctx.fields[key])
    if not is_concrete(value) or value <= 0:
        raise ctx.error(key, f"{key} must be a positive number")
    try:
        return float(value)
    except OverflowError:
        raise ctx.error(key, f"{key} is too large for a float, got {value}") from None


def _unary(op_type: str, attrs: Mapping[str, Any] | None = None) -> LayerKind:
    return LayerKind((), lambda ctx: ctx.node(op_type, [ctx.single_input()], attrs))


def _relu6(ctx: LayerContext) -> str:
    low = ctx.const("min", [0], dtype="float32", scalar=True)
    high = ctx.const("max", [6], dtype="float32", scalar=True)
    return ctx.node("Clip", [ctx.single_input(), low, high])


def _swish(ctx: LayerContext) -> str:
    x = ctx.single_input()
    gate = ctx.node("Sigmoid", [x], suffix="sigmoid")
    return ctx.node("Mul", [x, gate])


def _pool(op_type: str) -> LayerKind:
    def lower(ctx: LayerContext) -> str:
        x = ctx.single_input()
        rank = len(ctx.shape(x)) - 2
        if rank < 1:
            raise ctx.error("inputs", f"pooling needs [batch, channels, spatial...], "
                            f"got {list(ctx.shape(x))}")
        kernel = ctx.ints("kernel", rank)
        attrs: dict[str, Any] = {
            "kernel_shape": kernel,
            "strides": ctx.ints("stride", rank, 1) if "stride" in ctx.fields else kernel,
            "ceil_mode": int(ctx.flag("ceil_mode", False)),
        }
        attrs.update(_padding(ctx, rank, 0))
        return ctx.node(op_type, [x], attrs)

    return LayerKind(("kernel", "stride", "padding", "ceil_mode"), lower)


def _binary(op_type: str) -> LayerKind:
    def lower(ctx: LayerContext) -> str:
        if len(ctx.inputs) != 2:
            raise ctx.error("inputs", f"{op_type.lower()} takes two inputs, got {len(ctx.inputs)}")
        return ctx.node(op_type, ctx.inputs)

    return LayerKind((), lower)


def _concat(ctx: LayerContext) -> str:
    rank = len(ctx.shape(ctx.inputs[0]))
    axis = ctx.integer("axis", 1, minimum=None)
    if not isinstance(axis, int) or not -rank <= axis < rank:
        raise ctx.error("axis", f"axis {axis} is out of range for rank {rank}")
    return ctx.node("Concat", ctx.inputs, {"axis": axis})


def _flatten(ctx: LayerContext) -> str:
    return ctx.node("Flatten", [ctx.single_input()], {"axis": ctx.integer("axis", 1, minimum=0)})


def _reshape(ctx: LayerContext) -> str:
    dims = ctx.dims("shape")
    target = ctx.const("shape", dims, dtype="int64")
    return ctx.node("Reshape", [ctx.single_input(), target])


def _transpose(ctx: LayerContext) -> str:
    perm = ctx.dims("perm")
    return ctx.node("Transpose", [ctx.single_input()], {"perm": perm})


def _softmax(ctx: LayerContext) -> str:
    return ctx.node("Softmax", [ctx.single_input()], {"axis": ctx.integer("axis", -1, minimum=None)})


def _parameter(ctx: LayerContext) -> str:
    """A learned tensor used as an operand (class token, position embedding, layer scale).

    No node: the layer's output *is* the parameter tensor, and the operator that
    reads it files it by that input's role (Mul: weight, Add: bias, Expand: weight).
    """
    dims = ctx.dims("shape")
    for d in dims:
        if is_concrete(d) and d < 1:
            raise ctx.error("shape", f"shape entries must be positive, got {[str(x) for x in dims]}")
    return ctx.param("value", dims)


def _expand(ctx: LayerContext) -> str:
    target = ctx.const("shape", ctx.dims("shape"), dtype="int64")
    return ctx.node("Expand", [ctx.single_input(), target])


def _slice(ctx: LayerContext) -> str:
    x = ctx.single_input()
    bounds = (
        ("starts", ctx.integer("start", 0, minimum=None)),
        ("ends", ctx.integer("end", minimum=None)),
        ("axes", ctx.integer("axis", minimum=None)),
        ("steps", ctx.integer("step", 1)),
    )
    return ctx.node("Slice", [x, *(ctx.const(name, [v], dtype="int64") for name, v in bounds)])


_CONV_FIELDS = ("out", "kernel", "stride", "padding", "dilation", "groups", "depthwise", "multiplier", "bias")

#: Every layer kind a spec can use, by name.
LAYER_KINDS: Mapping[str, LayerKind] = {
    "conv": LayerKind(_CONV_FIELDS, _conv),
    "pointwise": LayerKind(("out", "stride", "groups", "bias"), lambda ctx: _conv(ctx, pointwise=True)),
    "fc": LayerKind(("out", "bias"), _fc),
    "linear": LayerKind(("out", "bias"), _fc),
    "matmul": LayerKind(("transpose_b",), _matmul),
    "batch_norm": LayerKind(("epsilon",), _batch_norm),
    "layer_norm": LayerKind(("axis", "epsilon"), _layer_norm),
    "relu": _unary("Relu"),
    "relu6": LayerKind((), _relu6),
    "sigmoid": _unary("Sigmoid"),
    # PyTorch's and MobileNetV3's hard sigmoid is relu6(x + 3) / 6.
    "hard_sigmoid": _unary("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}),
    "hard_swish": _unary("HardSwish"),
    "swish": LayerKind((), _swish),
    "gelu": _unary("Gelu"),
    "tanh": _unary("Tanh"),
    "softmax": LayerKind(("axis",), _softmax),
    "avg_pool": _pool("AveragePool"),
    "max_pool": _pool("MaxPool"),
    "global_avg_pool": _unary("GlobalAveragePool"),
    "global_max_pool": _unary("GlobalMaxPool"),
    "add": _binary("Add"),
    "mul": _binary("Mul"),
    "concat": LayerKind(("axis",), _concat),
    "flatten": LayerKind(("axis",), _flatten),
    "reshape": LayerKind(("shape",), _reshape),
    "transpose": LayerKind(("perm",), _transpose),
    "dropout": _unary("Dropout"),
    "parameter": LayerKind(("shape",), _parameter),
    "expand": LayerKind(("shape",), _expand),
    "slice": LayerKind(("axis", "start", "end", "step"), _slice),
}
