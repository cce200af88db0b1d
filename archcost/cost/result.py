"""Analysis results: per-layer rows, totals and per-category breakdowns.

Numbers stay raw here (``int`` or SymPy expressions); formatting is the
renderers' job (:mod:`archcost.report`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archcost.categories import Category
from archcost.cost.conventions import Convention
from archcost.ledger import Assumption, FreeSymbol
from archcost.numeric import Count, is_concrete
from archcost.ops.registry import PARAM_ROLES

Shape = tuple[Count, ...]
TRAINABLE_ROLES = ("weight", "bias", "norm")


class _ParamKinds:
    """``params`` and ``weights`` derived from ``params_by_kind``, for rows and totals alike."""

    params_by_kind: Mapping[str, Count]

    @property
    def params(self) -> Count:
        """Trainable parameters: weight + bias + norm."""
        return _sum(self.params_by_kind.get(k, 0) for k in TRAINABLE_ROLES)

    @property
    def weights(self) -> Count:
        """Conv and FC weights only: what the MobileNet paper's tables count."""
        return self.params_by_kind.get("weight", 0)


@dataclass(frozen=True)
class LayerRow(_ParamKinds):
    """One costed operator node."""

    name: str
    op_type: str
    category: Category
    inputs: tuple[Shape, ...]
    outputs: tuple[Shape, ...]
    terms: Mapping[str, Count]
    #: Parameters by role (``weight``, ``bias``, ``norm``, ``buffer``), each tensor counted once.
    params_by_kind: Mapping[str, Count]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    #: Shapes of the parameter tensors this node reads, by input index (for filter-shape columns).
    param_shapes: tuple[Shape, ...] = ()
    source: str | None = None
    #: Tensor names, parallel to the node's ONNX inputs and outputs ("" for an omitted input).
    input_names: tuple[str, ...] = ()
    output_names: tuple[str, ...] = ()
    #: The modules the node sits in, outermost first (see :attr:`archcost.graph.OpNode.scope`).
    scope: tuple[tuple[str, str], ...] = ()
    #: The source framework's op (``aten.conv2d.default``) where the exporter recorded it.
    origin: str = ""

    @property
    def macs(self) -> Count:
        """Multiply-accumulates (the ``mac`` term)."""
        return self.terms.get("mac", 0)


@dataclass(frozen=True)
class UnknownOp:
    """An op type with no cost rule: reported, never silently costed as zero."""

    op_type: str
    domain: str
    nodes: tuple[str, ...]
    #: Share of the graph's tensors that these nodes read or write.
    tensor_share: float
    #: Share of the graph's nodes that are of this op type.
    node_share: float = 0.0


@dataclass(frozen=True)
class Totals(_ParamKinds):
    """Whole-model totals, accumulated during the walk (tests check rows sum to them)."""

    cost: Count
    macs: Count
    params_by_kind: Mapping[str, Count]


@dataclass(frozen=True)
class CategoryShare:
    """One category's cost and weights."""

    category: Category
    cost: Count
    weights: Count
    params: Count
    nodes: int


@dataclass(frozen=True)
class ModuleShare:
    """One module's figures: sums over every node inside it, at any depth.

    Every front end records the modules a node sits in (:attr:`archcost.graph.OpNode.scope`):
    the dynamo exporter's name scopes and classes, ``/``-separated node names (TorchScript,
    tf2onnx, paddle2onnx), a spec's block calls, repeat groups and layers. A parent's cost is
    at least the sum of its children's: what a module computes outside its submodules (an
    ``x + y`` in its ``forward``) counts in it and in none of them. A module called more than
    once (one ``nn.ReLU`` applied three times) is one module, its figures summed over the
    calls, as PyTorch's per-module counters report it.
    """

    #: The full dotted name (``layer1.0.conv1``); ``""`` for the root, the whole model.
    name: str
    #: The module's class (``Bottleneck``), a spec's block or layer kind; ``""`` when unknown.
    kind: str
    #: 0 for the root, 1 for its children, and so on.
    depth: int
    cost: Count
    macs: Count
    params: Count
    weights: Count
    nodes: int
    #: The first output of the module's last node in graph order.
    output: Shape


@dataclass(frozen=True, repr=False)
class Report:
    """The analysis of one model under one convention."""

    model: str
    convention: Convention
    layers: tuple[LayerRow, ...]
    totals: Totals
    unknown: tuple[UnknownOp, ...]
    #: Parameter values the model was built with (spec params, ONNX dim bindings).
    bindings: Mapping[str, Any] = field(default_factory=dict)
    #: Names left free as SymPy symbols.
    symbols: tuple[str, ...] = ()
    #: Nodes whose inputs had unknown shapes (downstream of an unknown op).
    uncosted: tuple[str, ...] = ()
    #: What produced the report, so :meth:`symbolic` can rebuild it.
    source: str = ""
    published: Mapping[str, Any] = field(default_factory=dict)
    #: Every tensor's inferred shape and dtype (inputs, initializers, activations).
    tensor_shapes: Mapping[str, Shape] = field(default_factory=dict)
    tensor_dtypes: Mapping[str, str] = field(default_factory=dict)
    #: Names of initializer tensors (stored data).
    initializers: frozenset[str] = frozenset()
    #: Graph input and output tensor names.
    graph_inputs: tuple[str, ...] = ()
    graph_outputs: tuple[str, ...] = ()
    #: How the walk reached a figure that needs saying: each If branch's cost and the one
    #: used in the totals, each loop body's cost × its trip count.
    notes: tuple[str, ...] = ()
    #: Every stored tensor counted as a parameter: name → (shape, dtype, role).
    parameter_tensors: Mapping[str, tuple[Shape, str, str]] = field(default_factory=dict)
    #: Every symbol the analysis met or made, with its origin (graph-input dims, spec
    #: parameters, values computed at run time); :meth:`free` narrows them to the figures'.
    free_symbols: tuple[FreeSymbol, ...] = ()
    #: Equalities the analysis could neither prove nor disprove, and took as true.
    assumptions: tuple[Assumption, ...] = ()
    #: Each Loop node's trip count (an int, or a symbol when decided at run time), by node path.
    loop_trips: Mapping[str, Count] = field(default_factory=dict)

    def __repr__(self) -> str:
        """One line: the model, the convention and the totals (a formula is named by its symbols);
        ``to_dict()`` has everything, and a notebook shows the tables."""
        def figure(value: Any) -> str:
            if isinstance(value, int):
                return f"{value:,}"
            return "<formula in " + ", ".join(sorted(str(s) for s in getattr(value, "free_symbols", ()))) + ">"

        t = self.totals
        return (f"<Report {self.model!r}: {figure(t.cost)} {self.convention.unit} ({self.convention.name}), "
                f"{figure(t.params)} params, {len(self.layers)} layers>")

    def cost_of(self, row: LayerRow) -> Count:
        """A row's figure under this report's convention."""
        return self.convention.cost_of(row)

    def free(self) -> tuple[FreeSymbol, ...]:
        """The free symbols the figures depend on (totals and graph-output shapes), with their
        origin; a symbol the analysis met without a recorded origin is listed as such."""
        names: set[str] = set()
        for value in (self.totals.cost, self.totals.macs, *self.totals.params_by_kind.values(),
                      *(d for out in self.graph_outputs for d in self.tensor_shapes.get(out, ()))):
            names.update(str(s) for s in getattr(value, "free_symbols", ()))
        ordered = [s for s in self.free_symbols if s.name in names]
        extra = sorted(names - {s.name for s in ordered})
        return (*ordered, *(FreeSymbol(n, "unknown", "no origin recorded") for n in extra))

    def binding_hint(self) -> str:
        """How to bind the free symbols, for a message that needs concrete figures."""
        free = self.free()
        if not free:
            return ""
        return "; ".join(f"{s.name} ({s.origin}): {s.how_to_bind}" for s in free)

    @property
    def is_symbolic(self) -> bool:
        return not is_concrete(self.totals.cost) or any(
            not is_concrete(v) for v in self.totals.params_by_kind.values()
        )

    def by_category(self) -> dict[Category, CategoryShare]:
        """Cost, weights and params per category, in :class:`Category` order, zeros dropped."""
        cost: dict[Category, Count] = {}
        weights: dict[Category, Count] = {}
        params: dict[Category, Count] = {}
        nodes: dict[Category, int] = {}
        for row in self.layers:
            c = row.category
            cost[c] = cost.get(c, 0) + self.cost_of(row)
            weights[c] = weights.get(c, 0) + row.weights
            params[c] = params.get(c, 0) + row.params
            nodes[c] = nodes.get(c, 0) + 1
        return {
            c: CategoryShare(c, cost[c], weights[c], params[c], nodes[c])
            for c in Category
            if c in nodes
        }

    @property
    def has_module_scopes(self) -> bool:
        """Whether the graph records which module any node sits in (see :class:`ModuleShare`)."""
        return any(row.scope for row in self.layers)

    def by_module(self, depth: int | None = None) -> list[ModuleShare]:
        """The module tree in pre-order (each module before its submodules, siblings in the
        order the graph first reaches them), down to ``depth`` (every level when ``None``).

        The first entry is the root (depth 0), the whole model; it is the only entry when the
        graph records no module scopes.
        """
        if depth is not None and depth < 0:
            raise ValueError(f"depth must be 0 or more, got {depth}")
        return _by_module(self, depth)

    def substitute(self, mapping: Mapping[Any, Any]) -> Report:
        """The same report with SymPy ``subs(mapping)`` applied to every count and shape."""
        import dataclasses

        def sub(v: Any) -> Any:
            return v.subs(mapping) if hasattr(v, "subs") else v

        def shape(s: Shape) -> Shape:
            return tuple(sub(d) for d in s)

        layers = tuple(
            dataclasses.replace(
                r,
                inputs=tuple(shape(s) for s in r.inputs),
                outputs=tuple(shape(s) for s in r.outputs),
                terms={k: sub(v) for k, v in r.terms.items()},
                params_by_kind={k: sub(v) for k, v in r.params_by_kind.items()},
                param_shapes=tuple(shape(s) for s in r.param_shapes),
            )
            for r in self.layers
        )
        t = self.totals
        totals = Totals(sub(t.cost), sub(t.macs), {k: sub(v) for k, v in t.params_by_kind.items()})
        tensors = {name: shape(s) for name, s in self.tensor_shapes.items()}
        return dataclasses.replace(self, layers=layers, totals=totals, tensor_shapes=tensors,
                                   assumptions=tuple(a for a in self.assumptions if _still_open(a, sub)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with exact integers (SymPy expressions become strings)."""
        return {
            "model": self.model,
            "convention": self.convention.name,
            "unit": self.convention.unit,
            "bindings": {k: _json(v) for k, v in self.bindings.items()},
            "symbols": [s.to_dict() for s in self.free()],
            "assumptions": [a.to_dict() for a in self.assumptions],
            "totals": {
                "cost": _json(self.totals.cost),
                "macs": _json(self.totals.macs),
                "params": _json(self.totals.params),
                "params_by_kind": {k: _json(self.totals.params_by_kind.get(k, 0)) for k in PARAM_ROLES},
            },
            "categories": {
                c.value: {
                    "cost": _json(s.cost),
                    "weights": _json(s.weights),
                    "params": _json(s.params),
                    "nodes": s.nodes,
                }
                for c, s in self.by_category().items()
            },
            "layers": [
                {
                    "name": r.name,
                    "op": r.op_type,
                    "category": r.category.value,
                    "inputs": [[_json(d) for d in s] for s in r.inputs],
                    "outputs": [[_json(d) for d in s] for s in r.outputs],
                    "cost": _json(self.cost_of(r)),
                    "macs": _json(r.macs),
                    "params": _json(r.params),
                    "params_by_kind": {k: _json(r.params_by_kind.get(k, 0)) for k in PARAM_ROLES},
                    "terms": {k: _json(v) for k, v in r.terms.items()},
                    "module": r.scope[-1][0] if r.scope else "",
                }
                for r in self.layers
            ],
            "modules": [
                {"name": m.name, "class": m.kind, "depth": m.depth, "cost": _json(m.cost), "macs": _json(m.macs),
                 "params": _json(m.params), "weights": _json(m.weights), "nodes": m.nodes,
                 "output": [_json(d) for d in m.output]}
                for m in self.by_module()
            ] if self.has_module_scopes else [],
            "unknown_ops": [
                {"op": u.op_type, "domain": u.domain or "ai.onnx", "nodes": list(u.nodes),
                 "tensor_share": u.tensor_share, "node_share": u.node_share}
                for u in self.unknown
            ],
            "uncosted_nodes": list(self.uncosted),
            "notes": list(self.notes),
        }


class _Sums:
    __slots__ = ("children", "cost", "depth", "kind", "macs", "nodes", "output", "params", "weights")

    def __init__(self, kind: str, depth: int) -> None:
        self.kind = kind
        self.depth = depth
        self.cost: Count = 0
        self.macs: Count = 0
        self.params: Count = 0
        self.weights: Count = 0
        self.nodes = 0
        self.output: Shape = ()
        self.children: list[str] = []

    def add(self, report: Report, row: LayerRow) -> None:
        self.cost = self.cost + report.cost_of(row)
        self.macs = self.macs + row.macs
        self.params = self.params + row.params
        self.weights = self.weights + row.weights
        self.nodes += 1
        if row.outputs:
            self.output = row.outputs[0]


def _by_module(report: Report, depth: int | None) -> list[ModuleShare]:
    root = _Sums("", 0)
    modules: dict[str, _Sums] = {"": root}
    for row in report.layers:
        root.add(report, row)
        parent = ""
        for level, (name, kind) in enumerate(row.scope, start=1):
            if depth is not None and level > depth:
                break
            sums = modules.get(name)
            if sums is None:
                sums = modules[name] = _Sums(kind, level)
                modules[parent].children.append(name)
            sums.add(report, row)
            parent = name
    ordered: list[ModuleShare] = []
    stack = [""]
    while stack:
        name = stack.pop()
        s = modules[name]
        ordered.append(ModuleShare(name, s.kind, s.depth, s.cost, s.macs, s.params, s.weights,
                                   s.nodes, s.output))
        stack.extend(reversed(s.children))
    return ordered


def _sum(values: Any) -> Count:
    total: Count = 0
    for v in values:
        total = total + v
    return total


def _json(value: Any) -> Any:
    """Exact JSON value: ints stay ints, Fractions and SymPy expressions become strings."""
    if isinstance(value, bool) or isinstance(value, (int, float, str)) or value is None:
        return value
    return str(value)


def _still_open(assumption: Assumption, sub: Any) -> bool:
    """Whether an assumed equality still needs saying once values are substituted."""
    if assumption.left is None or assumption.right is None:
        return True
    from archcost.numeric import same

    return same(sub(assumption.left), sub(assumption.right)) is not True
