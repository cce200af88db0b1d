"""The analysis walk: shapes and costs for every node, in one topological pass.

The walk is the same for the fast path and the symbolic path: it hands each
node's input shapes to the node's registry rule and accumulates what comes
back. Whether the numbers are ``int`` or SymPy depends only on the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archcost.cost.conventions import Convention
from archcost.cost.report import LayerRow, Report, Totals, UnknownOp
from archcost.errors import ArchcostError, ShapeError
from archcost.graph import Graph, TensorKind
from archcost.numeric import Count, prod
from archcost.ops import find
from archcost.ops.registry import PARAM_ROLES, InputInfo, apply_rule

Shape = tuple[Count, ...]


def analyze_graph(
    graph: Graph,
    convention: Convention,
    *,
    bindings: Mapping[str, Any] | None = None,
    symbols: tuple[str, ...] = (),
    source: str = "",
    published: Mapping[str, Any] | None = None,
) -> Report:
    """Infer every shape and cost every node of ``graph`` under ``convention``."""
    shapes: dict[str, Shape] = {}
    values: dict[str, tuple[Count, ...] | None] = {}
    dtypes: dict[str, str] = {}
    initializers: set[str] = set()
    for declared in graph.tensors.values():
        shapes[declared.name] = declared.shape
        values[declared.name] = declared.value
        dtypes[declared.name] = declared.dtype
        if declared.kind is TensorKind.INITIALIZER:
            initializers.add(declared.name)

    counted: set[str] = set()
    rows: list[LayerRow] = []
    unknown: dict[tuple[str, str], list[str]] = {}
    uncosted: list[str] = []
    total_cost: Count = 0
    total_macs: Count = 0
    total_params: dict[str, Count] = {role: 0 for role in PARAM_ROLES}

    for node in graph.topological_nodes():
        entry = find(node.op_type, node.domain)
        if entry is None:
            unknown.setdefault((node.domain, node.op_type), []).append(node.name)
            continue
        infos: list[InputInfo | None] = []
        for tensor in node.inputs:
            if not tensor:
                infos.append(None)
            elif tensor in shapes:
                infos.append(
                    InputInfo(shapes[tensor], dtypes[tensor], tensor in initializers, values[tensor])
                )
            else:
                break
        else:
            try:
                result = apply_rule(entry, node.name, node.attrs, tuple(infos))
            except ArchcostError as err:
                raise err.located(node.source or f"node {node.name!r}") from None
            if len(result.outputs) < len([o for o in node.outputs if o]):
                raise ShapeError(
                    f"{node.op_type} node {node.name!r} declares {len(node.outputs)} outputs, "
                    f"but the operator produces {len(result.outputs)}",
                    where=node.source,
                )
            first_dtype = next((i.dtype for i in infos if i is not None), "float32")
            for i, out in enumerate(node.outputs):
                if out:
                    shapes[out] = result.outputs[i]
                    values[out] = result.values[i] if i < len(result.values) else None
                    dtypes[out] = result.dtypes[i] if result.dtypes else first_dtype

            params: dict[str, Count] = {}
            param_shapes: list[Shape] = []
            activations: list[Shape] = []
            for index, tensor in enumerate(node.inputs):
                if not tensor:
                    continue
                if tensor not in initializers:
                    activations.append(shapes[tensor])
                    continue
                role = entry.role(index)
                if role not in PARAM_ROLES:
                    continue
                param_shapes.append(shapes[tensor])
                if tensor in counted:
                    continue
                counted.add(tensor)
                size = prod(shapes[tensor])
                params[role] = params.get(role, 0) + size
                total_params[role] = total_params[role] + size

            cost = convention.count(result.terms)
            total_cost = total_cost + cost
            total_macs = total_macs + result.terms.get("mac", 0)
            rows.append(
                LayerRow(
                    name=node.name,
                    op_type=node.op_type,
                    category=result.category,
                    inputs=tuple(activations),
                    outputs=tuple(result.outputs[: len(node.outputs)]),
                    terms=dict(result.terms),
                    params_by_kind=params,
                    attrs=node.attrs,
                    param_shapes=tuple(param_shapes),
                    source=node.source,
                    input_names=node.inputs,
                    output_names=node.outputs,
                )
            )
            continue
        uncosted.append(node.name)

    return Report(
        model=graph.name,
        convention=convention,
        layers=tuple(rows),
        totals=Totals(total_cost, total_macs, total_params),
        unknown=_unknown_ops(graph, unknown),
        bindings=dict(bindings or {}),
        symbols=symbols,
        uncosted=tuple(uncosted),
        source=source,
        published=dict(published or {}),
        tensor_shapes=shapes,
        tensor_dtypes=dtypes,
        initializers=frozenset(initializers),
        graph_inputs=graph.inputs,
        graph_outputs=graph.outputs,
    )


def _unknown_ops(graph: Graph, unknown: dict[tuple[str, str], list[str]]) -> tuple[UnknownOp, ...]:
    if not unknown:
        return ()
    all_tensors: set[str] = set(graph.tensors)
    for node in graph.topological_nodes():
        all_tensors.update(t for t in (*node.inputs, *node.outputs) if t)
    result = []
    for (domain, op_type), names in sorted(unknown.items()):
        touched: set[str] = set()
        for name in names:
            node = graph.node(name)
            touched.update(t for t in (*node.inputs, *node.outputs) if t)
        share = len(touched) / len(all_tensors) if all_tensors else 0.0
        result.append(UnknownOp(op_type, domain, tuple(names), share, len(names) / len(graph)))
    return tuple(result)
