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

import functools
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.dtypes import FLOAT_DTYPES, dtype_name, is_integer
from archcost.errors import GraphError, LimitError, ModelFormatError, UsageError
from archcost.frontends.onnx_inputs import GivenShape, bind, complete, declared_inputs, given_values, input_shape
from archcost.frontends.onnx_wire import DATA_LOCATION_EXTERNAL, AttributeType
from archcost.frontends.scopes import node_scope
from archcost.graph import Graph, GraphBuilder, LazyMapping, OpNode, Tensor, TensorKind
from archcost.ledger import Ledger
from archcost.ops.tensor import MAX_VALUE_ELEMENTS, ConstTensor

#: Protobuf cannot hold a larger message, so a larger file is not a self-contained model.
MAX_FILE_BYTES = 2**31 - 1
#: Default-domain spellings.
_ONNX_DOMAINS = ("", "ai.onnx")
#: How a model file is read: ``wire`` decodes only the structure straight from the
#: protobuf bytes (archcost.frontends.onnx_wire); ``onnx`` is ``onnx.load``, the reference.
READERS = ("wire", "onnx")
DEFAULT_READER = "wire"
#: Largest float tensor whose contents are decoded (one scale per axis of a rank-8 tensor).
MAX_FLOAT_VALUE_ELEMENTS = 8


#: The deepest nesting of subgraphs (an If inside a Loop inside ...) archcost reads.
MAX_SUBGRAPH_DEPTH = 32


@dataclass(frozen=True)
class SubgraphAttr:
    """A list of graphs (a ``GRAPHS`` attribute, which no standard operator uses), kept as a
    summary. Single-graph attributes (If branches, Loop and Scan bodies) become
    :class:`~archcost.ops.control.Body` objects that the analysis walks.
    """

    name: str
    nodes: int


@dataclass(frozen=True)
class OpaqueAttr:
    """An attribute archcost does not interpret (sparse tensors, type protos)."""

    kind: str


def read_model(path: Path, display: str, reader: str = "onnx") -> Any:
    """Parse ``path`` as an ONNX ``ModelProto`` without loading external data.

    ``reader="wire"`` returns the structure-only stand-in of
    :mod:`archcost.frontends.onnx_wire` instead, which has the same fields the
    graph builder reads. Every way the bytes can fail to be a model (empty,
    truncated, garbage, no graph) is one :class:`ModelFormatError` naming the file.
    """
    if reader not in READERS:
        raise UsageError(f"unknown ONNX reader {reader!r}; choose one of: {', '.join(READERS)}")
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ModelFormatError(f"cannot read the file ({err.strerror})", where=display) from None
    if size == 0:
        raise ModelFormatError("the file is empty (0 bytes), not an ONNX model", where=display)
    if size > MAX_FILE_BYTES:
        raise LimitError(f"the file is {size:,} bytes; an ONNX protobuf holds at most {MAX_FILE_BYTES:,}",
                         where=display)
    if reader == "wire":
        from archcost.frontends.onnx_wire import read_structure

        model = read_structure(path, display)
    else:
        model = _onnx_load(path, display)
    if model.ir_version <= 0 or not model.HasField("graph") or not model.graph.node:
        raise ModelFormatError(
            "not an ONNX model: the file has no IR version or no graph with nodes", where=display
        )
    return model


def _onnx_load(path: Path, display: str) -> Any:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf raises several unrelated types on bad bytes
        raise ModelFormatError(
            f"not a valid ONNX model: the protobuf does not parse ({type(err).__name__}); "
            "is the file truncated or not ONNX?", where=display,
        ) from None
    return model


def load_onnx_graph(
    path: Path,
    display: str,
    *,
    bindings: Mapping[str, Any],
    symbols: Iterable[str],
    reader: str = DEFAULT_READER,
    input_shapes: Mapping[str, GivenShape] | None = None,
    ledger: Ledger | None = None,
    input_values: Mapping[str, Sequence[Any]] | None = None,
    model: Any = None,
) -> tuple[Graph, dict[str, Any]]:
    """The graph of the ONNX model at ``path`` (or of ``model``, a ``ModelProto`` already in
    memory), and the dim bindings applied.

    ``bindings`` maps dynamic dim names to values (``{"N": "1"}``); ``symbols``
    names dims that must stay free. Both must name dims the model has.
    ``input_shapes`` binds whole inputs (``{"x": (1, 3, 224, 224)}``), see
    :mod:`archcost.frontends.onnx_inputs`. Dims left free are declared in ``ledger``.
    ``input_values`` gives the contents of small graph inputs (a sample rate, axes), which
    shape arithmetic and If conditions then read as constants.
    ``reader`` is one of :data:`READERS`; both give the same graph.
    """
    if model is None:
        model = read_model(path, display, reader)
        check_external_data(model, path, display)
    shapes_given = dict(input_shapes or {})
    initializer_names = {init.name for init in model.graph.initializer}
    declared = complete(declared_inputs(model.graph, initializer_names, display), shapes_given)
    bound = bind(declared, bindings, tuple(symbols), shapes_given, display, ledger)
    builder = GraphBuilder(model.graph.name or path.stem)
    builder.opsets.update(model_opsets(model, display))
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
    values = given_values(declared, input_values or {}, bound, display)
    for decl in declared:
        where = f"{display}:input {decl.name!r}"
        shape = input_shape(decl, bound, where)
        builder.add_tensor(Tensor(decl.name, shape, TensorKind.INPUT, decl.dtype, values.get(decl.name)),
                           where=where)
    graph = model.graph
    if model.functions:
        from archcost.frontends.onnx_functions import inline_functions

        graph = inline_functions(graph, model.functions, display)
    # The file's declared shapes, resolved when first read: only an op without a rule needs them.
    builder.declared = LazyMapping(functools.partial(_declared_shapes, graph, bound))
    bodies = build_bodies(graph, display, builder.opsets)
    read_node = _NodeReader(display, bodies)
    for index, node in enumerate(graph.node):
        builder.add_node(read_node(node, index))
    if bodies:
        _check_outer_names(builder, display)
    builder.outputs.extend(o.name for o in model.graph.output if o.name)
    if not builder.outputs:
        raise GraphError("the graph declares no outputs", where=display)
    return builder.build(), {name: bound[name] for name in bound if isinstance(bound[name], int)}


# --- external data ----------------------------------------------------------------------


def _tensors(graph: Any) -> Iterator[Any]:
    """Every TensorProto in ``graph``, its nodes' attributes and nested subgraphs.

    Subgraphs are visited with an explicit stack, so nesting depth never meets
    Python's recursion limit.
    """
    pending = [graph]
    while pending:
        current = pending.pop()
        yield from current.initializer
        for sparse in current.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        for node in current.node:
            for attr in node.attribute:
                if attr.HasField("t"):
                    yield attr.t
                yield from attr.tensors
                if attr.HasField("g"):
                    pending.append(attr.g)
                pending.extend(attr.graphs)


def check_external_data(model: Any, path: Path, display: str) -> None:
    """Refuse any external-data location outside the model's folder; never open one."""
    folder = path.parent.resolve()
    for tensor in _tensors(model.graph):
        if tensor.data_location != DATA_LOCATION_EXTERNAL:
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
    """The contents of a small inline tensor: ints, or exact Fractions for floats.

    Integer tensors of up to ``MAX_VALUE_ELEMENTS`` elements are decoded (shape
    vectors, axes, pads, indices). Float tensors are decoded only up to
    :data:`MAX_FLOAT_VALUE_ELEMENTS`: floats reach shape inference only as
    per-axis scales (Resize, Upsample) or scalars (Range bounds, a fill value),
    while every larger float tensor is a bias or a norm vector, and turning
    thousands of those into Fractions was a tenth of a large model's load time.
    """
    if tensor.data_location == DATA_LOCATION_EXTERNAL:
        return None
    if any(d < 0 for d in shape):
        return None
    size = math.prod(shape)
    if is_integer(dtype):
        if size > MAX_VALUE_ELEMENTS:
            return None
    elif dtype not in FLOAT_DTYPES or size > MAX_FLOAT_VALUE_ELEMENTS:
        return None
    try:
        # The wire reader decodes the few bytes it kept itself, exactly as to_array would.
        flat = tensor.flat_values() if hasattr(tensor, "flat_values") else _to_list(tensor)
    except Exception:  # malformed inline data: the shape is still usable
        return None
    if is_integer(dtype):
        return tuple(map(int, flat))
    # Every element is a Python float.
    if not all(map(math.isfinite, flat)):
        return None
    return tuple([int(v) if v.is_integer() else Fraction(v) for v in flat])


def _to_list(tensor: Any) -> list[Any]:
    from onnx import numpy_helper

    # A tensor renamed by function expansion is a stand-in around the real TensorProto.
    values: list[Any] = numpy_helper.to_array(getattr(tensor, "_base", tensor)).reshape(-1).tolist()
    return values


def const_tensor(tensor: Any) -> ConstTensor:
    """A TensorProto attribute as a :class:`ConstTensor` (shape, dtype, small contents)."""
    shape = tuple(int(d) for d in tensor.dims)
    dtype = dtype_name(tensor.data_type)
    return ConstTensor(shape, dtype, _small_values(tensor, shape, dtype))


def _initializer(init: Any, where: str) -> Tensor:
    shape = tuple(map(int, init.dims))
    if shape and min(shape) < 0:
        raise ModelFormatError(f"initializer {init.name!r} has negative dims {list(shape)}", where=where)
    if not init.name:
        raise ModelFormatError("an initializer has no name", where=where)
    dtype = dtype_name(init.data_type)
    return Tensor(init.name, shape, TensorKind.INITIALIZER, dtype, _small_values(init, shape, dtype))


def _declared_shapes(graph: Any, bound: Mapping[str, Any]) -> dict[str, Any]:
    """Shapes the file declares for computed tensors (value_info, graph outputs), dims resolved:
    a graph-input dim's name takes its bound value; another name, or none, a symbol of its own
    (the analysis declares its origin when it uses the shape)."""
    from archcost.ledger import identifier

    found: dict[str, Any] = {}
    for info in (*graph.value_info, *graph.output):
        if not info.name or not info.type.HasField("tensor_type") or not info.type.tensor_type.HasField("shape"):
            continue
        dims: list[Any] = []
        for axis, dim in enumerate(info.type.tensor_type.shape.dim):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                dims.append(int(dim.dim_value))
                continue
            name = dim.dim_param if dim.HasField("dim_param") and dim.dim_param.strip() else ""
            if name in bound:
                dims.append(bound[name])
                continue
            from archcost.symbols import run_time_symbol

            dims.append(run_time_symbol(identifier(name or f"{info.name}_dim{axis}")))
        found[info.name] = (tuple(dims), dtype_name(info.type.tensor_type.elem_type))
    return found


# --- nodes ------------------------------------------------------------------------------


def _attribute(attr: Any, body: Any = None) -> Any:
    """An AttributeProto as plain Python data (``body``: the graph attribute, already built)."""
    kind = AttributeType
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
        return body if body is not None else SubgraphAttr(attr.g.name, len(attr.g.node))
    if attr.type == kind.GRAPHS:
        return tuple(SubgraphAttr(g.name, len(g.node)) for g in attr.graphs)
    return OpaqueAttr(kind(attr.type).name)


class _NodeReader:
    """Turns the NodeProtos of one graph or subgraph into :class:`OpNode` objects.

    Attribute values are converted once per AttributeProto object: the wire reader
    hands every node with the same small attribute (``kernel_shape: [3, 3]``) the same
    object. A list value is copied per node, so no two nodes share a mutable value.
    """

    def __init__(self, display: str, bodies: Mapping[_Path, Any] | None = None, path: _Path = ()) -> None:
        self.bodies = bodies or {}
        self.path = path
        self.where = f"{_where(display, path)}:node "
        self.used: set[str] = set()
        self.converted: dict[int, tuple[Any, Any]] = {}
        #: Module scopes by their metadata strings (see archcost.frontends.scopes).
        self.scopes: dict[tuple[str, str], Any] = {}

    def value(self, attr: Any, index: int) -> Any:
        if self.bodies:
            body = self.bodies.get((*self.path, (index, attr.name)))
            if body is not None:
                return _attribute(attr, body)
        known = self.converted.get(id(attr))
        if known is None or known[0] is not attr:
            known = self.converted[id(attr)] = (attr, _attribute(attr))
        value = known[1]
        return list(value) if type(value) is list else value

    def __call__(self, node: Any, index: int) -> OpNode:
        name = node.name or f"{node.op_type}_{index}"
        if name in self.used:
            name = f"{name}_{index}"
        self.used.add(name)
        attrs = {a.name: self.value(a, index) for a in node.attribute}
        domain = "" if node.domain in _ONNX_DOMAINS else node.domain
        outputs = tuple(node.output)
        if (domain == "" and node.op_type == "Split" and "split" not in attrs
                and "num_outputs" not in attrs and (len(node.input) < 2 or not node.input[1])):
            # Opsets 2-17 split evenly into as many parts as the node has outputs; the
            # rule reads that count from ``num_outputs`` (opset 18's spelling).
            attrs["num_outputs"] = len(outputs)
        scope, origin = node_scope(node.name, getattr(node, "metadata_props", ()), self.scopes)
        return OpNode.adopt(name, node.op_type, tuple(node.input), outputs, attrs, domain, f"{self.where}{index}",
                            scope, origin)


# --- subgraphs ----------------------------------------------------------------------------

#: Where a subgraph sits: (node index, attribute name) per level, from the main graph down.
_Path = tuple[tuple[int, str], ...]


def _where(display: str, path: _Path) -> str:
    """``model.onnx`` or ``model.onnx:node 3/then_branch:node 0/body`` for a nested subgraph."""
    if not path:
        return display
    return display + ":" + "/".join(f"node {i}/{attr}" for i, attr in path)


#: Opset versions accepted, in any domain (ai.onnx is in the twenties; other domains start at 1).
MAX_OPSET = 1000


def model_opsets(model: Any, display: str = "the model") -> dict[str, int]:
    """The opset version of each domain the model imports ("" for the default domain)."""
    opsets = {}
    for entry in model.opset_import:
        domain = "" if entry.domain in _ONNX_DOMAINS else entry.domain
        version = int(entry.version)
        if not 1 <= version <= MAX_OPSET:
            raise ModelFormatError(f"opset_import: domain {entry.domain or 'ai.onnx'!r} has version {version}; "
                                   f"an opset version is from 1 to {MAX_OPSET}", where=display)
        opsets[domain] = version
    return opsets


def build_bodies(graph: Any, display: str, opsets: Mapping[str, int] | None = None) -> dict[_Path, Any]:
    """Every graph-valued attribute under ``graph`` as a :class:`~archcost.ops.control.Body`.

    The subgraphs are listed with an explicit stack (parents before children)
    and built in reverse, children first, so no nesting depth ever recurses in
    Python; nesting deeper than :data:`MAX_SUBGRAPH_DEPTH` is a :class:`LimitError`.
    """
    from archcost.graph import MAX_NODES

    found: list[tuple[_Path, Any]] = []
    pending: list[tuple[_Path, Any]] = [((), graph)]
    total = 0
    while pending:
        path, current = pending.pop()
        if len(path) > MAX_SUBGRAPH_DEPTH:
            raise LimitError(f"subgraphs are nested more than {MAX_SUBGRAPH_DEPTH} deep",
                             where=_where(display, path))
        total += len(current.node)
        if total > MAX_NODES:
            raise LimitError(f"the model has more than {MAX_NODES:,} nodes, subgraphs included",
                             where=display)
        if path:
            found.append((path, current))
        for index, node in enumerate(current.node):
            for attr in node.attribute:
                if attr.HasField("g"):
                    pending.append(((*path, (index, attr.name)), attr.g))
    bodies: dict[_Path, Any] = {}
    for path, current in sorted(found, key=lambda item: -len(item[0])):
        bodies[path] = _body(current, path, display, bodies, opsets or {})
    return bodies


def _body(graph: Any, path: _Path, display: str, bodies: Mapping[_Path, Any], opsets: Mapping[str, int]) -> Any:
    """One subgraph as a Body; the bodies nested in it are already in ``bodies``."""
    from archcost.ops.control import Body, subgraph_attrs

    where = _where(display, path)
    builder = GraphBuilder(graph.name or path[-1][1])
    builder.opsets.update(opsets)
    local: set[str] = set()
    for index, init in enumerate(graph.initializer):
        builder.add_tensor(_initializer(init, f"{where}:initializer {index}"),
                           where=f"{where}:initializer {index}")
        local.add(init.name)
    formal = tuple(v.name for v in graph.input if v.name not in local)
    formal_dtypes = []
    formal_ranks: list[int | None] = []
    for name, value_info in zip(formal, (v for v in graph.input if v.name not in local), strict=True):
        tensor_type = value_info.type.tensor_type if value_info.type.HasField("tensor_type") else None
        elem = tensor_type.elem_type if tensor_type is not None else 0
        dtype = dtype_name(elem) if elem else "float32"
        formal_dtypes.append(dtype)
        formal_ranks.append(len(tensor_type.shape.dim) if tensor_type is not None and tensor_type.HasField("shape")
                            else None)
        builder.add_tensor(Tensor(name, (), TensorKind.INPUT, dtype), where=where)
        local.add(name)
    read_node = _NodeReader(display, bodies, path)
    nodes = [read_node(node, index) for index, node in enumerate(graph.node)]
    for node in nodes:
        local.update(o for o in node.outputs if o)
    reads: dict[str, None] = {}
    for node in nodes:
        reads.update((t, None) for t in node.inputs if t)
        for body in subgraph_attrs(node.attrs).values():
            reads.update((t, None) for t in body.outer)
    outputs = tuple(o.name for o in graph.output if o.name)
    reads.update((t, None) for t in outputs)
    outer = tuple(t for t in reads if t not in local)
    for name in outer:
        builder.add_tensor(Tensor(name, (), TensorKind.INPUT), where=where)
    for node in nodes:
        builder.add_node(node)
    builder.outputs.extend(outputs)
    return Body(graph.name or path[-1][1], builder.build(), formal, outer, outputs, tuple(formal_dtypes),
                tuple(formal_ranks))


def _check_outer_names(builder: GraphBuilder, display: str) -> None:
    """Every tensor a subgraph reads from the main graph must exist there."""
    from archcost.ops.control import subgraph_attrs

    for node in builder.nodes:
        for key, body in subgraph_attrs(node.attrs).items():
            for name in body.outer:
                if not builder.is_defined(name):
                    raise GraphError(f"node {node.name!r}: subgraph {key!r} reads tensor {name!r}, "
                                     "which nothing defines", where=node.source or display)
