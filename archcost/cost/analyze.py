"""The analysis walk: shapes and costs for every node, in one topological pass.

The walk is the same for the fast path and the symbolic path: it hands each
node's input shapes to the node's registry rule and accumulates what comes
back. Whether the numbers are ``int`` or SymPy depends only on the graph.

Subgraphs
---------
A node with subgraph attributes (If, Loop, Scan, SequenceMap) is handled in
two steps: the walk first analyzes each subgraph as a graph of its own, with
its formal inputs bound by :func:`archcost.ops.control.body_inputs` and a scope
that sees every enclosing scope's tensors; then it runs the node's rule with a
:class:`~archcost.ops.control.BodyResult` in place of each subgraph. Subgraphs
are walked with an explicit stack of frames, never by Python recursion, so
nesting depth is bounded only by the front end's documented limit. The nodes
inside a subgraph are not report rows: their cost is the control node's row
(so rows still sum to the totals), and the report's notes give each If
branch's and each loop body's cost.

Parameters
----------
A tensor is *stored* when it is an initializer or the output of a Constant
node, and *derived from stored data* when a node computes it from stored
inputs only (a Transpose, Cast, Reshape or DequantizeLinear of a weight: the
inputs in ``const`` roles, such as a reshape target or a quantization scale,
are not followed). When a node reads a stored or derived tensor in a
parameter role (``weight``, ``bias``, ``norm``, ``buffer``), every stored
tensor behind it counts as a parameter of that role, once per tensor however
many nodes read it, if

* its dtype is floating point (fp8 and fp4 included) or a narrow integer
  (int8, uint8, int4, uint4, int2, uint2: quantized weights), or it is any
  integer read by a quantized op that stores integer weights and biases
  (:data:`archcost.ops.quantized.INTEGER_WEIGHT_OPS`, e.g. QLinearConv's int32
  bias); and
* it has more than one element.

So int64 shape vectors, indices, bool masks and scalar constants (a 1/√d
attention scale, an epsilon) are data, not parameters, wherever they appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from archcost.cost.conventions import Convention
from archcost.cost.result import LayerRow, Report, Totals, UnknownOp
from archcost.dtypes import NARROW_INTEGER_DTYPES, is_floating, is_integer
from archcost.errors import ArchcostError, ShapeError, UsageError
from archcost.graph import Graph, OpNode, TensorKind
from archcost.ledger import RUN_TIME, Ledger
from archcost.numeric import Count, is_concrete, prod
from archcost.ops import find
from archcost.ops.control import Body, BodyResult, body_inputs, chosen_branch, loop_trips, subgraph_attrs
from archcost.ops.registry import PARAM_ROLES, InputInfo, OpEntry, OpView, apply_rule

Shape = tuple[Count, ...]
#: ``--branch`` choices for If nodes: the larger branch by default.
BRANCHES = ("then", "else")
#: A stored tensor, keyed by the scope that defines it and its name.
_Source = tuple[int, str]


def counts_as_parameter(dtype: str, size: Count, reader: tuple[str, str]) -> bool:
    """Whether a stored tensor read in a parameter role is a parameter (module docstring)."""
    if is_concrete(size) and size <= 1:
        return False
    if is_floating(dtype) or dtype in NARROW_INTEGER_DTYPES:
        return True
    if is_integer(dtype):
        from archcost.ops.quantized import INTEGER_WEIGHT_OPS

        return reader in INTEGER_WEIGHT_OPS
    return False


class _Scope:
    """Tensors defined in one graph or subgraph; lookups fall through to the enclosing scope."""

    __slots__ = ("infos", "parent", "sources", "uid")

    def __init__(self, uid: int, parent: _Scope | None) -> None:
        self.uid = uid
        self.parent = parent
        #: What a reading rule sees of each tensor, built once when the tensor is defined.
        self.infos: dict[str, InputInfo] = {}
        #: Stored tensors behind each stored or derived tensor.
        self.sources: dict[str, frozenset[_Source]] = {}

    def find(self, name: str) -> _Scope | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.infos:
                return scope
            scope = scope.parent
        return None

    def define(self, name: str, shape: Shape, dtype: str, value: tuple[Count, ...] | None) -> None:
        """Define ``name``; call after :func:`_store` or setting its sources, which mark it stored."""
        self.infos[name] = InputInfo(shape, dtype, name in self.sources, value, name)


@dataclass
class _Pending:
    """A control node waiting for its subgraphs' results."""

    node: OpNode
    entry: OpEntry
    infos: tuple[InputInfo | None, ...]
    bodies: list[tuple[str, Any]]
    binds: Mapping[str, tuple[InputInfo, ...]]
    results: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Count] = field(default_factory=dict)


@dataclass
class _Frame:
    """One graph being walked: the main graph or a subgraph."""

    graph: Graph
    scope: _Scope
    nodes: list[OpNode]
    #: Prefix of node names in reports (``loop/body/``); empty for the main graph.
    path: str
    name: str = ""
    index: int = 0
    terms: dict[str, Count] = field(default_factory=dict)
    params: dict[str, Count] = field(default_factory=dict)
    pending: _Pending | None = None
    #: Whether the enclosing If branch is ruled out (by --branch or a constant condition).
    selected: bool = True
    #: How many assumptions the ledger held when the frame started (to tell which it added).
    assumed_before: int = 0


class _Walk:
    """State shared by every frame of one analysis."""

    def __init__(self, convention: Convention, branch: str | None, ledger: Ledger) -> None:
        self.convention = convention
        self.branch = branch
        self.ledger = ledger
        self.source_info: dict[_Source, tuple[Shape, str]] = {}
        #: Stored tensors counted as parameters, with the role they were counted in.
        self.counted: dict[_Source, str] = {}
        #: Whether a stored tensor is a parameter for a reading op. The answer depends only on
        #: the dtype, whether the tensor has at most one element, and the reader, so it is
        #: decided once per such triple, not once per tensor.
        self.verdicts: dict[tuple[str, bool, tuple[str, str]], bool] = {}
        self.rows: list[LayerRow] = []
        self.unknown: dict[tuple[str, str], list[tuple[str, OpNode]]] = {}
        self.uncosted: list[str] = []
        self.notes: list[str] = []
        self.loop_trips: dict[str, Count] = {}
        self.total_cost: Count = 0
        self.total_macs: Count = 0
        self.total_params: dict[str, Count] = {role: 0 for role in PARAM_ROLES}
        self.scopes = 0
        self.stored_names: dict[str, tuple[Shape, str]] = {}

    def new_scope(self, parent: _Scope | None) -> _Scope:
        self.scopes += 1
        return _Scope(self.scopes, parent)


def analyze_graph(
    graph: Graph,
    convention: Convention,
    *,
    bindings: Mapping[str, Any] | None = None,
    symbols: tuple[str, ...] = (),
    source: str = "",
    published: Mapping[str, Any] | None = None,
    branch: str | None = None,
    ledger: Ledger | None = None,
) -> Report:
    """Infer every shape and cost every node of ``graph`` under ``convention``.

    ``branch`` (``"then"`` or ``"else"``) makes every If node use that branch
    instead of the larger one. ``ledger`` holds the free symbols the front end
    declared (graph-input dims, spec parameters); the walk adds the symbols and
    assumptions of the rules, and the report lists them all.
    """
    if branch is not None and branch not in BRANCHES:
        raise UsageError(f"unknown branch {branch!r}; choose one of {', '.join(BRANCHES)}")
    base = ledger if ledger is not None else Ledger()
    attempt = base.fork({})
    try:
        return _analyze(graph, convention, attempt, bindings, symbols, source, published, branch)
    except ArchcostError as failure:
        # An If whose branches give different ranks, under a condition only the run time knows,
        # had to pick one; if that pick makes the rest of the graph fail, the other one is what
        # runs. Retry with the picks flipped (all of them, then one at a time), a few times.
        made = attempt.choices_made
        if not made:
            raise
        flipped = {node: "else" if pick == "then" else "then" for node, pick in made.items()}
        variants = [flipped, *({**made, node: pick} for node, pick in list(flipped.items())[:MAX_RETRIES])]
        for choices in variants:
            try:
                return _analyze(graph, convention, base.fork(choices), bindings, symbols, source, published,
                                branch)
            except ArchcostError:
                continue
        raise failure from None


#: How many single If rank picks are retried one at a time when a graph fails after them.
MAX_RETRIES = 8


def _analyze(graph: Graph, convention: Convention, ledger: Ledger, bindings: Mapping[str, Any] | None,
             symbols: tuple[str, ...], source: str, published: Mapping[str, Any] | None,
             branch: str | None) -> Report:
    """One walk over ``graph`` with ``ledger`` (see :func:`analyze_graph`)."""
    walk = _Walk(convention, branch, ledger)
    root_scope = walk.new_scope(None)
    root = _Frame(graph, root_scope, list(graph.topological_nodes()), "")
    initializers: set[str] = set()
    for declared in graph.tensors.values():
        if declared.kind is TensorKind.INITIALIZER:
            initializers.add(declared.name)
            _store(walk, root_scope, declared.name, declared.shape, declared.dtype)
        root_scope.define(declared.name, declared.shape, declared.dtype, declared.value)

    stack = [root]
    while stack:
        frame = stack[-1]
        if frame.index == len(frame.nodes):
            stack.pop()
            if stack:
                following = _deliver(walk, frame, stack[-1])
                if following is not None:
                    stack.append(following)
            continue
        try:
            child = _visit(walk, frame, frame.nodes[frame.index])
        except ArchcostError as err:
            failing = _failing_branch(stack)
            if failing is None:
                raise
            # An If branch whose shape rules fail cannot be the one that runs: hand the If
            # the failure, and let it take the other branch (or raise, if none is left).
            del stack[failing + 1:]
            failed = stack.pop()
            following = _deliver(walk, failed, stack[-1], error=err)
            if following is not None:
                stack.append(following)
            continue
        if child is not None:
            stack.append(child)
        else:
            frame.index += 1

    shapes = {name: info.shape for name, info in root_scope.infos.items()}
    dtypes = {name: info.dtype for name, info in root_scope.infos.items()}
    for name, (shape, dtype) in walk.stored_names.items():
        if name not in shapes:
            shapes[name] = shape
            dtypes[name] = dtype
        initializers.add(name)
    parameters = {key[1]: (*walk.source_info[key], role) for key, role in walk.counted.items()}
    return Report(
        model=graph.name,
        convention=convention,
        layers=tuple(walk.rows),
        totals=Totals(walk.total_cost, walk.total_macs, walk.total_params),
        unknown=_unknown_ops(graph, walk.unknown),
        bindings=dict(bindings or {}),
        symbols=symbols,
        uncosted=tuple(walk.uncosted),
        source=source,
        published=dict(published or {}),
        tensor_shapes=shapes,
        tensor_dtypes=dtypes,
        initializers=frozenset(initializers),
        graph_inputs=graph.inputs,
        graph_outputs=graph.outputs,
        notes=tuple(walk.notes),
        parameter_tensors=parameters,
        free_symbols=walk.ledger.symbols,
        assumptions=walk.ledger.assumptions,
        loop_trips=walk.loop_trips,
    )


def _store(walk: _Walk, scope: _Scope, name: str, shape: Shape, dtype: str) -> None:
    """Record ``name`` as stored data defined in ``scope``."""
    key = (scope.uid, name)
    scope.sources[name] = frozenset((key,))
    walk.source_info[key] = (shape, dtype)
    if scope.parent is not None:
        walk.stored_names.setdefault(name, (shape, dtype))


def _visit(walk: _Walk, frame: _Frame, node: OpNode) -> _Frame | None:
    """Analyze one node; returns a subgraph frame to walk first, or ``None`` when done.

    This runs once per node of the largest graphs, so it avoids per-node
    generators and repeated lookups (issue 7's 100k-node benchmark).
    """
    entry = find(node.op_type, node.domain)
    if entry is None:
        walk.unknown.setdefault((node.domain, node.op_type), []).append((frame.path + node.name, node))
        declared = frame.graph.declared
        found = [out for out in node.outputs if out in declared]
        for out in found:
            # The file says what the op produces: what follows it is still costed.
            shape, dtype = declared[out]
            frame.scope.define(out, shape, dtype, None)
            for axis, dim in enumerate(shape):
                for symbol in getattr(dim, "free_symbols", ()):
                    walk.ledger.declare(str(symbol), RUN_TIME, f"declared by the file for tensor {out!r}, "
                                        f"axis {axis}, the output of an op without a rule")
        if found:
            walk.notes.append(f"{node.op_type} node {frame.path + node.name!r} has no cost rule; its outputs "
                              f"{', '.join(repr(o) for o in found)} take the shapes the file declares")
        return None
    scope = frame.scope
    local = scope.infos
    infos: list[InputInfo | None] = []
    stored_only = True
    for tensor in node.inputs:
        if not tensor:
            infos.append(None)
            continue
        info = local.get(tensor)
        if info is None:
            owner = scope.find(tensor)
            if owner is None:
                walk.uncosted.append(frame.path + node.name)
                return None
            info = owner.infos[tensor]
        infos.append(info)
        if not info.is_initializer:
            stored_only = False
    pending = frame.pending
    attrs: Mapping[str, Any] = node.attrs
    has_bodies = False
    for value in attrs.values():
        if isinstance(value, Body):
            has_bodies = True
            break
    if pending is None or pending.node is not node:
        if has_bodies:
            return _start_bodies(walk, frame, node, entry, tuple(infos), subgraph_attrs(attrs))
        pending = None
    else:
        frame.pending = None
        if any(out is None for r in pending.results.values() if not r.error for out in r.outputs):
            # A subgraph output depends on an op without a rule (listed as unknown).
            walk.uncosted.append(frame.path + node.name)
            return None
        attrs = {**node.attrs, **pending.results}
    try:
        result = apply_rule(entry, frame.path + node.name, attrs, tuple(infos), walk.ledger,
                            frame.graph.opsets.get(node.domain, 0))
    except ArchcostError as err:
        raise err.located(node.source or f"node {node.name!r}") from None
    outputs = result.outputs
    if len(outputs) < len(node.outputs) and len(outputs) < len([o for o in node.outputs if o]):
        raise ShapeError(
            f"{node.op_type} node {node.name!r} declares {len(node.outputs)} outputs, "
            f"but the operator produces {len(outputs)}",
            where=node.source,
        )
    is_constant = node.op_type == "Constant" and node.domain == ""
    derived: frozenset[_Source] | None = None
    if not is_constant and infos and stored_only and not has_bodies:
        derived = frozenset().union(*(
            _sources(scope, t) for index, t in enumerate(node.inputs) if t and entry.role(index) != "const"))
    values = result.values
    dtypes = result.dtypes
    first_dtype = "float32"  # outputs without a dtype from the rule take the first input's
    if not dtypes:
        for info in infos:
            if info is not None:
                first_dtype = info.dtype
                break
    for i, out in enumerate(node.outputs):
        if not out:
            continue
        dtype = dtypes[i] if dtypes else first_dtype
        if is_constant:
            _store(walk, scope, out, outputs[i], dtype)
        elif derived:
            scope.sources[out] = derived
        scope.define(out, outputs[i], dtype, values[i] if i < len(values) else None)

    params: dict[str, Count] = dict(pending.params) if pending is not None else {}
    param_shapes: list[Shape] = []
    activations: list[Shape] = []
    for index, info in enumerate(infos):
        if info is None:
            continue
        if not info.is_initializer:
            activations.append(info.shape)
            continue
        role = entry.role(index)
        if role not in PARAM_ROLES:
            continue
        reader = (node.domain, node.op_type)
        sources = _sources(scope, node.inputs[index])
        for key in sources if len(sources) == 1 else sorted(sources):
            shape, dtype = walk.source_info[key]
            size = prod(shape)
            case = (dtype, type(size) is int and size <= 1, reader)
            verdict = walk.verdicts.get(case)
            if verdict is None:
                verdict = walk.verdicts[case] = counts_as_parameter(dtype, size, reader)
            if not verdict:
                continue
            param_shapes.append(shape)
            if key in walk.counted:
                continue
            walk.counted[key] = role
            params[role] = params.get(role, 0) + size
            walk.total_params[role] = walk.total_params[role] + size

    if pending is not None:
        _note(walk, frame, node, pending, result.terms)
    if frame.path:
        for term, value in result.terms.items():
            frame.terms[term] = frame.terms.get(term, 0) + value
        for role, size in params.items():
            frame.params[role] = frame.params.get(role, 0) + size
        return None
    row = _row(name=node.name, op_type=node.op_type, category=result.category, inputs=tuple(activations),
               outputs=tuple(result.outputs[: len(node.outputs)]), terms=dict(result.terms),
               params_by_kind=params, attrs=node.attrs, param_shapes=tuple(param_shapes), source=node.source,
               input_names=node.inputs, output_names=node.outputs, scope=node.scope, origin=node.origin)
    walk.total_cost = walk.total_cost + walk.convention.cost_of(row)
    walk.total_macs = walk.total_macs + result.terms.get("mac", 0)
    walk.rows.append(row)
    return None


def _row(**fields: Any) -> LayerRow:
    """A :class:`LayerRow` built without the frozen dataclass's ``__init__``.

    That ``__init__`` sets each of the 13 fields through ``object.__setattr__``, a
    third of the walk's own time per node on the largest graphs. The row is as
    frozen as any other; every field is given here, which a test checks.
    """
    row = object.__new__(LayerRow)
    row.__dict__.update(fields)
    return row


def _sources(scope: _Scope, tensor: str) -> frozenset[_Source]:
    """The stored tensors behind ``tensor``, a stored or derived tensor visible in ``scope``."""
    owner = scope if tensor in scope.infos else scope.find(tensor)
    assert owner is not None  # the walk resolved every input before asking
    return owner.sources[tensor]


def _start_bodies(walk: _Walk, frame: _Frame, node: OpNode, entry: OpEntry,
                  infos: tuple[InputInfo | None, ...], bodies: Mapping[str, Any]) -> _Frame:
    """Bind the subgraphs' inputs and return the frame of the first one."""
    view = OpView(frame.path + node.name, node.op_type, node.attrs, infos, entry.defaults, walk.ledger,
                  frame.graph.opsets.get(node.domain, 0))
    try:
        binds = body_inputs(view, bodies)
    except ArchcostError as err:
        raise err.located(node.source or f"node {node.name!r}") from None
    frame.pending = _Pending(node, entry, infos, list(bodies.items()), binds)
    return _body_frame(walk, frame, frame.pending, 0)


def _body_frame(walk: _Walk, parent: _Frame, pending: _Pending, index: int) -> _Frame:
    key, body = pending.bodies[index]
    bound = pending.binds[key]
    node = pending.node
    if len(bound) != len(body.formal_inputs):
        raise ShapeError(f"{node.op_type} node {node.name!r}: subgraph {key!r} declares "
                         f"{len(body.formal_inputs)} inputs, the node binds {len(bound)}",
                         where=node.source)
    scope = walk.new_scope(parent.scope)
    for declared in body.graph.tensors.values():
        if declared.kind is TensorKind.INITIALIZER:
            _store(walk, scope, declared.name, declared.shape, declared.dtype)
            scope.define(declared.name, declared.shape, declared.dtype, declared.value)
    for name, info in zip(body.formal_inputs, bound, strict=True):
        scope.define(name, info.shape, info.dtype, info.value)
    selected = parent.selected and _selected(walk, pending, key)
    return _Frame(body.graph, scope, list(body.graph.topological_nodes()),
                  f"{parent.path}{node.name}/{key}/", key, selected=selected,
                  assumed_before=len(walk.ledger.assumptions))


def _selected(walk: _Walk, pending: _Pending, key: str) -> bool:
    """Whether an If branch counts: ``--branch``, else a condition known statically."""
    if pending.node.op_type != "If" or key not in ("then_branch", "else_branch"):
        return True
    wanted = "then_branch" if walk.branch == "then" else "else_branch" if walk.branch == "else" else None
    if wanted is None:
        cond = pending.infos[0] if pending.infos else None
        if cond is not None and cond.value is not None and len(cond.value) == 1:
            wanted = "then_branch" if cond.value[0] else "else_branch"
    return wanted is None or key == wanted


def _failing_branch(stack: list[_Frame]) -> int | None:
    """The index of the innermost frame that is an If branch, whose failure the If can absorb."""
    for index in range(len(stack) - 1, 0, -1):
        pending = stack[index - 1].pending
        if pending is not None and pending.node.op_type == "If" and stack[index].name in (
                "then_branch", "else_branch"):
            return index
    return None


def _deliver(walk: _Walk, child: _Frame, parent: _Frame, error: ArchcostError | None = None) -> _Frame | None:
    """Hand a finished subgraph's results to its control node; start the next subgraph.

    ``error`` says why an If branch could not be analyzed: the branch is handed over as failed.
    """
    pending = parent.pending
    assert pending is not None  # a child frame only exists while its node waits
    key, body = pending.bodies[len(pending.results)]
    shapes: list[Shape | None] = []
    dtypes: list[str] = []
    values: list[tuple[Count, ...] | None] = []
    for out in body.outputs:
        owner = child.scope.find(out) if error is None else None
        info = owner.infos[out] if owner else None
        shapes.append(info.shape if info else None)
        dtypes.append(info.dtype if info else "float32")
        values.append(info.value if info else None)
    cost = walk.convention.count(child.terms) if error is None else 0
    pending.results[key] = BodyResult(body.name, tuple(shapes), tuple(dtypes), tuple(values),
                                      dict(child.terms) if error is None else {}, cost,
                                      selected=child.selected,
                                      error="" if error is None else error.message,
                                      assumed=walk.ledger.assumptions[child.assumed_before:])
    for role, size in child.params.items():
        pending.params[role] = pending.params.get(role, 0) + size
    if len(pending.results) < len(pending.bodies):
        return _body_frame(walk, parent, pending, len(pending.results))
    return None


def _note(walk: _Walk, frame: _Frame, node: OpNode, pending: _Pending, terms: Mapping[str, Count]) -> None:
    """Say how a control node's cost was taken from its subgraphs."""
    unit = walk.convention.unit
    name = frame.path + node.name
    results = pending.results
    if node.op_type == "If" and "then_branch" in results and "else_branch" in results:
        then, other = results["then_branch"], results["else_branch"]
        _, reason = chosen_branch(then, other)
        walk.notes.append(f"If node {name!r}: then-branch {then.cost} {unit}, else-branch "
                          f"{other.cost} {unit}; {reason} in the totals (--branch then|else picks one)")
        return
    body = next(iter(results.values()), None)
    if body is None:
        return
    total = walk.convention.count(terms)
    if node.op_type == "Loop":
        view = OpView(name, node.op_type, node.attrs, pending.infos, ledger=walk.ledger,
                      opset=frame.graph.opsets.get(node.domain, 0))
        walk.loop_trips[name] = trips = loop_trips(view)
        walk.notes.append(f"Loop node {name!r}: body {body.cost} {unit} per iteration × "
                          f"{trips} iterations = {total} {unit}")
    else:
        walk.notes.append(f"{node.op_type} node {name!r}: body {body.cost} {unit} per "
                          f"iteration, {total} {unit} in all")


def _unknown_ops(graph: Graph, unknown: dict[tuple[str, str], list[tuple[str, OpNode]]]
                 ) -> tuple[UnknownOp, ...]:
    if not unknown:
        return ()
    all_tensors: set[str] = set(graph.tensors)
    for node in graph.topological_nodes():
        all_tensors.update(t for t in (*node.inputs, *node.outputs) if t)
    result = []
    for (domain, op_type), found in sorted(unknown.items(), key=lambda item: item[0]):
        touched: set[str] = set()
        for _, node in found:
            touched.update(t for t in (*node.inputs, *node.outputs) if t)
        all_tensors |= touched
        share = len(touched) / len(all_tensors) if all_tensors else 0.0
        names = tuple(name for name, _ in found)
        result.append(UnknownOp(op_type, domain, names, share, len(names) / max(len(graph), 1)))
    return tuple(result)

