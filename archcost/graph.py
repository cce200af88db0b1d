"""The graph IR: operators as nodes, tensors as edges, over ``networkx.DiGraph``.

Contract
--------
* A **node** is keyed by its unique name and carries one attribute, ``op``: an
  :class:`OpNode` (ONNX-style op type, ordered input and output tensor names,
  attributes, and the source location used in error messages).
* An **edge** ``producer -> consumer`` carries ``tensors``: the names of the
  tensors that flow along it, in the order the consumer reads them.
* **Tensors** that no node produces (graph inputs and initializers) are
  described in :attr:`Graph.tensors` with their declared shape and dtype.
  Activation shapes are not stored: they are inferred by the analysis walk
  from the operator registry, so there is one source of truth for shapes.
* An omitted optional input is the empty string ``""``, as in ONNX.

Both front ends (YAML specs and ONNX) build a :class:`Graph` through
:class:`GraphBuilder`, which validates it once: unique names, every consumed
tensor defined, no cycle.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from archcost.errors import GraphError, LimitError
from archcost.numeric import Count

if TYPE_CHECKING:
    import networkx as nx

#: The most operator nodes a graph may have.
MAX_NODES = 250_000

Shape = tuple[Count, ...]
#: A node's enclosing modules, outermost first: (full dotted name, class name) pairs.
Scope = tuple[tuple[str, str], ...]


class TensorKind(str, enum.Enum):
    """Where a tensor that no node produces comes from."""

    INPUT = "input"
    #: Stored data (ONNX initializer, or a spec layer's weight): counted as parameters
    #: when a node reads it in a parameter role.
    INITIALIZER = "initializer"


@dataclass(frozen=True)
class Tensor:
    """A graph input or an initializer."""

    name: str
    shape: Shape
    kind: TensorKind
    dtype: str = "float32"
    #: The contents of a small integer constant (shapes, axes, pads), which shape
    #: inference needs; ``None`` for everything else.
    value: tuple[Count, ...] | None = None


@dataclass(frozen=True)
class OpNode:
    """One operator: what runs, on which tensors, with which attributes."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    domain: str = ""
    #: Where the node came from, for error messages (``specs/x.yaml:12``).
    source: str | None = None
    #: The modules the node sits in, outermost first: ``(("layer1", "Sequential"),
    #: ("layer1.0", "Bottleneck"))``; a name is the module's full dotted path, a class ``""``
    #: where the front end does not know it. Empty when the graph records no scopes.
    scope: Scope = ()
    #: The source framework's op the node came from, where the exporter records it
    #: (``aten.conv2d.default``); ``""`` otherwise.
    origin: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "attrs", MappingProxyType(dict(self.attrs)))

    @classmethod
    def adopt(cls, name: str, op_type: str, inputs: tuple[str, ...], outputs: tuple[str, ...],
              attrs: dict[str, Any], domain: str, source: str | None, scope: Scope = (),
              origin: str = "") -> OpNode:
        """An OpNode that takes ownership of ``attrs`` (a dict no one else holds).

        The same node as the constructor gives, without copying ``attrs`` or setting
        each field through ``object.__setattr__``: front ends build one per node of
        graphs with 100k nodes.
        """
        node = object.__new__(cls)
        node.__dict__.update(name=name, op_type=op_type, inputs=inputs, outputs=outputs,
                             attrs=MappingProxyType(attrs), domain=domain, source=source, scope=scope,
                             origin=origin)
        return node


class Graph:
    """A validated, immutable DAG of operators. Build one with :class:`GraphBuilder`."""

    def __init__(
        self,
        name: str,
        dag: nx.DiGraph | Callable[[], nx.DiGraph],
        tensors: Mapping[str, Tensor],
        inputs: tuple[str, ...],
        outputs: tuple[str, ...],
        ops: tuple[OpNode, ...],
        opsets: Mapping[str, int] | None = None,
        declared: Mapping[str, tuple[Shape, str]] | None = None,
    ) -> None:
        self.name = name
        self._dag = dag
        self.tensors: Mapping[str, Tensor] = MappingProxyType(dict(tensors))
        self.inputs = inputs
        self.outputs = outputs
        #: Every operator, in topological order (the nodes of ``dag``, kept in order for the walk).
        self._ops = ops
        #: The opset version of each operator domain ("" for the default domain); empty for specs.
        self.opsets: Mapping[str, int] = MappingProxyType(dict(opsets or {}))
        #: Shapes the file declares for computed tensors (ONNX ``value_info`` and graph outputs).
        #: Never trusted over a rule: read only for the outputs of an op without one, so that
        #: what follows it is still costed.
        self.declared: Mapping[str, tuple[Shape, str]] = declared if declared is not None else MappingProxyType({})

    def __len__(self) -> int:
        return len(self._ops)

    @property
    def dag(self) -> nx.DiGraph:
        """The ``networkx.DiGraph`` of operators and tensor edges (see the module docstring).

        Built when first asked for: the analysis walk follows the node list, which is already
        in topological order, so a graph whose callers never need the DiGraph never pays for
        it (0.7 s of a 100k-node model).
        """
        if callable(self._dag):
            self._dag = self._dag()
        return self._dag

    def node(self, name: str) -> OpNode:
        """The operator named ``name``."""
        op: OpNode = self.dag.nodes[name]["op"]
        return op

    def topological_nodes(self) -> Iterator[OpNode]:
        """Operators in a topological order that keeps the order they were added in."""
        return iter(self._ops)

    def initializers(self) -> Iterator[Tensor]:
        """Every initializer tensor."""
        return (t for t in self.tensors.values() if t.kind is TensorKind.INITIALIZER)


class GraphBuilder:
    """Collects nodes and tensors, then validates and freezes them into a :class:`Graph`."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[OpNode] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self._node_names: set[str] = set()
        self._producers: dict[str, str] = {}
        #: Opset version per domain, handed to rules whose semantics changed between opsets.
        self.opsets: dict[str, int] = {}
        #: Declared shapes of computed tensors (see :attr:`Graph.declared`); a front end may set
        #: a mapping that resolves them only when first read.
        self.declared: Mapping[str, tuple[Shape, str]] = {}

    def add_tensor(self, tensor: Tensor, *, where: str | None = None) -> None:
        """Declare a graph input or an initializer."""
        if tensor.name in self.tensors or tensor.name in self._producers:
            raise GraphError(f"tensor {tensor.name!r} is defined twice", where=where)
        self.tensors[tensor.name] = tensor
        if tensor.kind is TensorKind.INPUT:
            self.inputs.append(tensor.name)

    def add_node(self, node: OpNode) -> None:
        """Append an operator; its outputs become defined tensors."""
        if node.name in self._node_names:
            raise GraphError(f"node name {node.name!r} is used twice", where=node.source)
        if len(self.nodes) >= MAX_NODES:
            raise LimitError(f"graph has more than {MAX_NODES:,} nodes", where=node.source)
        for out in node.outputs:
            if out and (out in self._producers or out in self.tensors):
                raise GraphError(
                    f"node {node.name!r}: output tensor {out!r} is already defined", where=node.source
                )
        self._node_names.add(node.name)
        for out in node.outputs:
            if out:
                self._producers[out] = node.name
        self.nodes.append(node)

    def is_defined(self, tensor: str) -> bool:
        """Whether ``tensor`` is an input, an initializer or some node's output."""
        return tensor in self.tensors or tensor in self._producers

    def build(self) -> Graph:
        """Validate (defined inputs, outputs exist, acyclic) and return the frozen graph."""
        index = {node.name: i for i, node in enumerate(self.nodes)}
        # Edges are collected first and handed to networkx in one call: per-edge
        # has_edge/add_edge calls cost more than the rest of the build together.
        edges: dict[tuple[str, str], list[str]] = {}
        in_order = True
        for position, node in enumerate(self.nodes):
            for tensor in node.inputs:
                if not tensor:
                    continue
                producer = self._producers.get(tensor)
                if producer is None:
                    if tensor not in self.tensors:
                        raise GraphError(
                            f"node {node.name!r} reads tensor {tensor!r}, which nothing defines",
                            where=node.source,
                        )
                    continue
                if index[producer] >= position:
                    in_order = False
                edge = edges.get((producer, node.name))
                if edge is None:
                    edges[producer, node.name] = [tensor]
                else:
                    edge.append(tensor)
        nodes = list(self.nodes)

        def make_dag() -> nx.DiGraph:
            # networkx is imported here, not at the top: a model whose callers never ask for the
            # DiGraph is analyzed without importing it (a tenth of a second of a CLI run).
            import networkx as nx

            dag = nx.DiGraph()
            # Names first, then the attribute: ``(name, {"op": node})`` pairs make networkx try to
            # hash each pair and recover from the TypeError, which costs more than this.
            dag.add_nodes_from(index)
            nx.set_node_attributes(dag, {node.name: node for node in nodes}, "op")
            dag.add_edges_from((p, c, {"tensors": t}) for (p, c), t in edges.items())
            return dag

        for out in self.outputs:
            if not self.is_defined(out):
                raise GraphError(f"graph output {out!r} is not defined by any node or input")
        if in_order:
            # Every producer comes before its consumers (ONNX requires this), so the order the
            # nodes were added in already is the lexicographically smallest topological order
            # networkx would return, and the graph has no cycle: the DiGraph is built when asked.
            return Graph(self.name, make_dag, self.tensors, tuple(self.inputs), tuple(self.outputs),
                         tuple(nodes), self.opsets, self.declared)
        import networkx as nx

        dag = make_dag()
        try:
            ops = tuple(nodes[index[name]] for name in nx.lexicographical_topological_sort(dag, key=index.__getitem__))
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(dag)
            names = " -> ".join(edge[0] for edge in cycle) + f" -> {cycle[0][0]}"
            first = nodes[min(index[edge[0]] for edge in cycle)]
            raise GraphError(f"the graph has a cycle: {names}", where=first.source) from None
        return Graph(self.name, dag, self.tensors, tuple(self.inputs), tuple(self.outputs), ops, self.opsets,
                     self.declared)


class LazyMapping(Mapping[str, Any]):
    """A mapping that ``compute()`` builds when it is first read: a front end's declared shapes
    (:attr:`GraphBuilder.declared`), which only a graph with an op that has no rule ever needs."""

    def __init__(self, compute: Callable[[], dict[str, Any]]) -> None:
        self._compute: Callable[[], dict[str, Any]] | None = compute
        self._items: dict[str, Any] = {}

    def _resolved(self) -> dict[str, Any]:
        if self._compute is not None:
            self._items, self._compute = self._compute(), None
        return self._items

    def __getitem__(self, name: str) -> Any:
        return self._resolved()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._resolved())

    def __len__(self) -> int:
        return len(self._resolved())

    def __contains__(self, name: object) -> bool:
        return name in self._resolved()
