"""ONNX model → :class:`~archcost.graph.Graph`.

The model is read with ``load_external_data=False`` and only its structure is
used: initializer sizes come from their dims, and the contents of a tensor are
read only when it is small and stored inline (shape vectors, axes, scales).
External data is never opened; a location that would lead outside the model's
folder is refused outright. The model is never executed.

Dynamic dims (``N``, ``batch_size``, ``unk__17``, or a dim with neither a value
nor a name) become positive-integer SymPy symbols, unless bound with
``--set NAME=VALUE``. A model whose dims are all concrete creates no SymPy
object at all. Shapes are inferred later by the analysis walk, with the same
registry rules as specs; ``value_info`` in the file is not trusted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.errors import GraphError, LimitError, ModelFormatError, UsageError
from archcost.graph import Graph, GraphBuilder, OpNode, Tensor, TensorKind
from archcost.numeric import Count
from archcost.ops._dtypes import FLOAT_DTYPES, dtype_name, is_integer
from archcost.ops.tensor import MAX_VALUE_ELEMENTS, ConstTensor

#: Protobuf cannot hold a larger message, so a larger file is not a self-contained model.
MAX_FILE_BYTES = 2**31 - 1
#: Default-domain spellings.
_ONNX_DOMAINS = ("", "ai.onnx")


@dataclass(frozen=True)
class SubgraphAttr:
    """A graph-valued attribute (If branches, Loop and Scan bodies), kept as a summary.

    The node that holds it has no cost rule and is reported unknown; the nodes
    inside are not costed.
    """

    name: str
    nodes: int


@dataclass(frozen=True)
class OpaqueAttr:
    """An attribute archcost does not interpret (sparse tensors, type protos)."""

    kind: str


def read_model(path: Path, display: str) -> Any:
    """Parse ``path`` as an ONNX ``ModelProto`` without loading external data.

    Every way the bytes can fail to be a model (empty, truncated, garbage, no
    graph) is one :class:`ModelFormatError` naming the file.
    """
    import onnx

    try:
        size = path.stat().st_size
    except OSError as err:
        raise ModelFormatError(f"cannot read the file ({err.strerror})", where=display) from None
    if size == 0:
        raise ModelFormatError("the file is empty (0 bytes), not an ONNX model", where=display)
    if size > MAX_FILE_BYTES:
        raise LimitError(f"the file is {size:,} bytes; an ONNX protobuf holds at most {MAX_FILE_BYTES:,}",
                         where=display)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf raises several unrelated types on bad bytes
        raise ModelFormatError(
            f"not a valid ONNX model: the protobuf does not parse ({type(err).__name__}); "
            "is the file truncated or not ONNX?", where=display,
        ) from None
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError(
            "not an ONNX model: the file has no IR version or no graph with nodes", where=display
        )
    return model


def load_onnx_graph(
    path: Path,
    display: str,
    *,
    bindings: Mapping[str, Any],
    symbols: Iterable[str],
) -> tuple[Graph, dict[str, Any]]:
    """The graph of the ONNX model at ``path``, and the dim bindings applied.

    ``bindings`` maps dynamic dim names to values (``{"N": "1"}``); ``symbols``
    names dims that must stay free. Both must name dims the model has.
    """
    model = read_model(path, display)
    check_external_data(model, path, display)
    dims = _dynamic_dims(model, display)
    bound = _bind(dims, bindings, tuple(symbols), display)
    builder = GraphBuilder(model.graph.name or path.stem)
    initializers = set()
    for index, init in enumerate(model.graph.initializer):
        where = f"{display}:initializer {index}"
        builder.add_tensor(_initializer(init, where), where=where)
        initializers.add(init.name)
    for index, sparse in enumerate(model.graph.sparse_initializer):
        where = f"{display}:sparse initializer {index}"
        shape = tuple(int(d) for d in sparse.dims)
        name = sparse.values.name
        builder.add_tensor(Tensor(name, shape, TensorKind.INITIALIZER, dtype_name(sparse.values.data_type)),
                           where=where)
        initializers.add(name)
    for index, value_info in enumerate(model.graph.input):
        if not value_info.name or value_info.name in initializers:
            continue  # before IR 4, initializers were listed as inputs too
        where = f"{display}:input {index}"
        shape, dtype = _input_type(value_info, where, bound)
        builder.add_tensor(Tensor(value_info.name, shape, TensorKind.INPUT, dtype), where=where)
    used: set[str] = set()
    for index, node in enumerate(model.graph.node):
        builder.add_node(_op_node(node, index, display, used))
    builder.outputs.extend(o.name for o in model.graph.output if o.name)
    if not builder.outputs:
        raise GraphError("the graph declares no outputs", where=display)
    return builder.build(), {name: bound[name] for name in bound if isinstance(bound[name], int)}


# --- external data ----------------------------------------------------------------------


def _tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto in ``graph``, its nodes' attributes and nested subgraphs."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for sub in attr.graphs:
                yield from _tensors(sub)


def check_external_data(model: Any, path: Path, display: str) -> None:
    """Refuse any external-data location outside the model's folder; never open one."""
    import onnx

    folder = path.parent.resolve()
    for tensor in _tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        entries = {e.key: e.value for e in tensor.external_data}
        location = entries.get("location", "")
        target = (folder / location).resolve()
        if (
            not location
            or Path(location).is_absolute()
            or location.startswith(("/", "\\"))
            or ":" in location
            or (target != folder and folder not in target.parents)
        ):
            raise ModelFormatError(
                f"tensor {tensor.name!r}: external data location {location!r} is outside the "
                "model's folder; archcost refuses it and reads nothing", where=display,
            )


# --- tensors and dims -------------------------------------------------------------------


def _small_values(tensor: Any, shape: tuple[int, ...], dtype: str) -> tuple[Any, ...] | None:
    """The contents of a small inline tensor: ints, or exact Fractions for floats."""
    import onnx

    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        return None
    if math.prod(shape) > MAX_VALUE_ELEMENTS or not (is_integer(dtype) or dtype in FLOAT_DTYPES):
        return None
    from onnx import numpy_helper

    try:
        array = numpy_helper.to_array(tensor).reshape(-1)
    except Exception:  # malformed inline data: the shape is still usable
        return None
    if is_integer(dtype):
        return tuple(int(v) for v in array.tolist())
    values: list[int | Fraction] = []
    for v in array.tolist():
        if not math.isfinite(v):
            return None
        values.append(int(v) if float(v).is_integer() else Fraction(v))
    return tuple(values)


def const_tensor(tensor: Any) -> ConstTensor:
    """A TensorProto attribute as a :class:`ConstTensor` (shape, dtype, small contents)."""
    shape = tuple(int(d) for d in tensor.dims)
    dtype = dtype_name(tensor.data_type)
    return ConstTensor(shape, dtype, _small_values(tensor, shape, dtype))


def _initializer(init: Any, where: str) -> Tensor:
    shape = tuple(int(d) for d in init.dims)
    if any(d < 0 for d in shape):
        raise ModelFormatError(f"initializer {init.name!r} has negative dims {list(shape)}", where=where)
    if not init.name:
        raise ModelFormatError("an initializer has no name", where=where)
    dtype = dtype_name(init.data_type)
    return Tensor(init.name, shape, TensorKind.INITIALIZER, dtype, _small_values(init, shape, dtype))


def _missing_dim_name(input_name: str, axis: int) -> str:
    return f"{input_name}_dim{axis}"


def _dynamic_dims(model: Any, display: str) -> list[str]:
    """Names of the graph inputs' dynamic dims, in order of first appearance."""
    initializers = {i.name for i in model.graph.initializer}
    names: dict[str, None] = {}
    for value_info in model.graph.input:
        if value_info.name in initializers or not value_info.type.HasField("tensor_type"):
            continue
        tensor_type = value_info.type.tensor_type
        if not tensor_type.HasField("shape"):
            continue
        for axis, dim in enumerate(tensor_type.shape.dim):
            if dim.HasField("dim_value"):
                continue
            names[dim.dim_param or _missing_dim_name(value_info.name, axis)] = None
    return list(names)


def _bind(dims: list[str], bindings: Mapping[str, Any], symbols: tuple[str, ...],
          display: str) -> dict[str, Any]:
    """Each dynamic dim's value: a positive int when bound, else its SymPy symbol."""
    from archcost.api import parse_value

    available = ", ".join(dims) if dims else "none (every dim is concrete)"
    for name in (*bindings, *symbols):
        if name not in dims:
            raise UsageError(f"the model has no dynamic dimension {name!r}; "
                             f"its dynamic dimensions: {available}", where=display)
    for name in symbols:
        if name in bindings:
            raise UsageError(f"dimension {name!r} is both bound with --set and left symbolic",
                             where=display)
    values: dict[str, Any] = {}
    for name in dims:
        if name in bindings:
            value = parse_value(bindings[name], name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"dimension {name!r} must be bound to a positive integer, got {value}",
                                 where=display)
            values[name] = value
        else:
            from archcost.symbols import dim_symbol

            values[name] = dim_symbol(name)
    return values


def _input_type(value_info: Any, where: str, bound: Mapping[str, Any]) -> tuple[tuple[Count, ...], str]:
    if not value_info.type.HasField("tensor_type"):
        raise ModelFormatError(
            f"graph input {value_info.name!r} is not a tensor (sequence, map or optional inputs "
            "are not supported)", where=where,
        )
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        raise ModelFormatError(
            f"graph input {value_info.name!r} has no shape, not even a rank; archcost needs one",
            where=where,
        )
    shape: list[Count] = []
    for axis, dim in enumerate(tensor_type.shape.dim):
        if dim.HasField("dim_value"):
            if dim.dim_value < 0:
                raise ModelFormatError(f"graph input {value_info.name!r} has a negative dim "
                                       f"{dim.dim_value}", where=where)
            shape.append(int(dim.dim_value))
        else:
            shape.append(bound[dim.dim_param or _missing_dim_name(value_info.name, axis)])
    return tuple(shape), dtype_name(tensor_type.elem_type)


# --- nodes ------------------------------------------------------------------------------


def _attribute(attr: Any) -> Any:
    """An AttributeProto as plain Python data."""
    import onnx

    kind = onnx.AttributeProto
    if attr.type == kind.FLOAT:
        return float(attr.f)
    if attr.type == kind.INT:
        return int(attr.i)
    if attr.type == kind.STRING:
        return attr.s.decode("utf-8", errors="replace")
    if attr.type == kind.FLOATS:
        return [float(v) for v in attr.floats]
    if attr.type == kind.INTS:
        return [int(v) for v in attr.ints]
    if attr.type == kind.STRINGS:
        return [s.decode("utf-8", errors="replace") for s in attr.strings]
    if attr.type == kind.TENSOR:
        return const_tensor(attr.t)
    if attr.type == kind.TENSORS:
        return tuple(const_tensor(t) for t in attr.tensors)
    if attr.type == kind.GRAPH:
        return SubgraphAttr(attr.g.name, len(attr.g.node))
    if attr.type == kind.GRAPHS:
        return tuple(SubgraphAttr(g.name, len(g.node)) for g in attr.graphs)
    return OpaqueAttr(kind.AttributeType.Name(attr.type))


def _op_node(node: Any, index: int, display: str, used: set[str]) -> OpNode:
    name = node.name or f"{node.op_type}_{index}"
    if name in used:
        name = f"{name}_{index}"
    used.add(name)
    attrs = {a.name: _attribute(a) for a in node.attribute}
    domain = "" if node.domain in _ONNX_DOMAINS else node.domain
    outputs = tuple(node.output)
    if (domain == "" and node.op_type == "Split" and "split" not in attrs
            and "num_outputs" not in attrs and (len(node.input) < 2 or not node.input[1])):
        # Opsets 2-17 split evenly into as many parts as the node has outputs; the
        # rule reads that count from ``num_outputs`` (opset 18's spelling).
        attrs["num_outputs"] = len(outputs)
    return OpNode(name, node.op_type, tuple(node.input), outputs, attrs, domain,
                  source=f"{display}:node {index}")
