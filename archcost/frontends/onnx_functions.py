"""Model-local functions (``ModelProto.functions``), expanded in place so their costs count.

Newer exporters (onnxscript, the dynamo exporter in some modes, spox) define
operators as FunctionProtos in the model and call them like any op. Without
expansion a call has no registry rule and everything it computes goes
uncounted. Each call node is replaced by the function's nodes:

* its formal inputs and outputs become the call's actual tensors (an omitted
  optional input stays omitted);
* every other tensor of the body, in nested subgraphs too, gets the prefix
  ``<call>/``, and every node name likewise, so reports name the call
  (``/encoder/layer.0/attn/MatMul``);
* an attribute that refers to the caller's (``ref_attr_name``) takes the call's
  value, or the function's default, and is dropped when neither is given.

Calls nested in a body are expanded in turn, to :data:`MAX_FUNCTION_DEPTH`
levels (a function that calls itself stops there with a :class:`LimitError`),
and the expanded graph is bounded by :data:`archcost.graph.MAX_NODES`. The
protobuf objects are never modified: the expansion wraps them in small
stand-ins with the fields the graph builder reads, so both readers (``onnx``
and ``wire``) give the same graph.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archcost.errors import LimitError

#: Deepest chain of function calls expanded (a call inside a function inside a function ...).
MAX_FUNCTION_DEPTH = 16

_Key = tuple[str, str, str]
_ONNX_DOMAINS = ("", "ai.onnx")


class _Override:
    """``base`` with some fields replaced; everything else, ``HasField`` included, is the base's."""

    def __init__(self, base: Any, **fields: Any) -> None:
        self.__dict__["_base"] = base
        self.__dict__.update(fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_base"], name)

    def HasField(self, name: str) -> bool:
        if name in self.__dict__:
            return self.__dict__[name] is not None
        result: bool = self.__dict__["_base"].HasField(name)
        return result


def inline_functions(graph: Any, functions: Sequence[Any], display: str) -> Any:
    """``graph`` with every call of a model-local function expanded (``graph`` itself when none)."""
    from archcost.graph import MAX_NODES

    table: dict[_Key, Any] = {}
    for function in functions:
        table[(_domain(function.domain), function.name, getattr(function, "overload", "") or "")] = function
    if not table:
        return graph
    budget = [MAX_NODES]
    return _expand_graph(graph, table, display, budget, depth=0, rename=None)


def _domain(domain: str) -> str:
    return "" if domain in _ONNX_DOMAINS else domain


def _call_key(node: Any) -> _Key:
    return (_domain(node.domain), node.op_type, getattr(node, "overload", "") or "")


def _expand_graph(graph: Any, table: Mapping[_Key, Any], display: str, budget: list[int], depth: int,
                  rename: Callable[[str], str] | None) -> Any:
    """A stand-in for ``graph`` with calls expanded and, inside a function body, names mapped by
    ``rename``. Nested graphs are expanded through their attributes, so no Python recursion
    deeper than the function-call depth (bounded) and the subgraph depth (bounded by the reader)."""
    nodes: list[Any] = []
    changed = rename is not None
    for node in graph.node:
        expanded = _expand_node(node, table, display, budget, depth, rename)
        changed = changed or (expanded is not None and (len(expanded) != 1 or expanded[0] is not node))
        nodes.extend(expanded)
    if not changed:
        return graph
    if rename is None:
        return _Override(graph, node=nodes)
    return _Override(
        graph, node=nodes,
        input=[_Override(v, name=rename(v.name)) for v in graph.input],
        output=[_Override(v, name=rename(v.name)) for v in graph.output],
        initializer=[_Override(t, name=rename(t.name)) for t in graph.initializer],
        sparse_initializer=[_Override(s, values=_Override(s.values, name=rename(s.values.name)))
                            for s in graph.sparse_initializer],
    )


def _expand_node(node: Any, table: Mapping[_Key, Any], display: str, budget: list[int], depth: int,
                 rename: Callable[[str], str] | None) -> list[Any]:
    """The nodes one node becomes: itself (names mapped), or a call's expanded body."""
    budget[0] -= 1
    if budget[0] < 0:
        from archcost.graph import MAX_NODES

        raise LimitError(f"the model has more than {MAX_NODES:,} nodes once its functions are expanded",
                         where=display)
    attributes = [_with_graph(a, table, display, budget, depth, rename) for a in node.attribute]
    if rename is not None or any(a is not b for a, b in zip(attributes, node.attribute, strict=True)):
        node = _Override(node, attribute=attributes,
                         input=[rename(t) if rename and t else t for t in node.input],
                         output=[rename(t) if rename and t else t for t in node.output])
    function = table.get(_call_key(node))
    if function is None:
        return [node]
    if depth >= MAX_FUNCTION_DEPTH:
        raise LimitError(f"function calls nest more than {MAX_FUNCTION_DEPTH} deep (at {node.op_type!r}; "
                         "does a function call itself?)", where=display)
    return _body_nodes(node, function, table, display, budget, depth + 1)


def _with_graph(attr: Any, table: Mapping[_Key, Any], display: str, budget: list[int], depth: int,
                rename: Callable[[str], str] | None) -> Any:
    """``attr`` with its graph(s) expanded and renamed, or ``attr`` itself when nothing changes."""
    if attr.HasField("g"):
        g = _expand_graph(attr.g, table, display, budget, depth, rename)
        return attr if g is attr.g else _Override(attr, g=g)
    if list(attr.graphs):
        graphs = [_expand_graph(g, table, display, budget, depth, rename) for g in attr.graphs]
        return _Override(attr, graphs=graphs)
    return attr


def _body_nodes(call: Any, function: Any, table: Mapping[_Key, Any], display: str, budget: list[int],
                depth: int) -> list[Any]:
    """The function's nodes for one call: formal tensors bound, the rest prefixed by the call."""
    prefix = f"{call.name or call.op_type}/"
    actual: dict[str, str] = {}
    for i, formal in enumerate(function.input):
        actual[formal] = call.input[i] if i < len(call.input) else ""
    for i, formal in enumerate(function.output):
        actual[formal] = call.output[i] if i < len(call.output) else ""

    def rename(name: str) -> str:
        return actual[name] if name in actual else prefix + name

    given = {a.name: a for a in call.attribute}
    defaults = {a.name: a for a in getattr(function, "attribute_proto", ())}
    nodes: list[Any] = []
    for index, inner in enumerate(function.node):
        attributes = []
        for attr in inner.attribute:
            if attr.ref_attr_name:
                source = given.get(attr.ref_attr_name) or defaults.get(attr.ref_attr_name)
                if source is None:
                    continue  # not given, no default: the inner op uses its own default
                attr = _Override(source, name=attr.name, ref_attr_name="")
            attributes.append(attr)
        fields: dict[str, Any] = {"name": prefix + (inner.name or f"{inner.op_type}_{index}"),
                                  "attribute": attributes}
        if not list(getattr(inner, "metadata_props", ())):
            # The body sits in the caller's module (archcost.frontends.scopes).
            fields["metadata_props"] = getattr(call, "metadata_props", ())
        named = _Override(inner, **fields)
        nodes.extend(_expand_node(named, table, display, budget, depth, rename))
    return nodes


def inline_model(model: Any) -> Any:
    """A copy of ``model`` (an ``onnx.ModelProto``) with its local functions expanded, as the
    analysis expands them: the same node and tensor names, so ``verify`` can match what ran
    with what was inferred. The functions themselves are dropped."""
    import onnx

    graph = inline_functions(model.graph, model.functions, "model")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.functions[:]
    out.graph.CopyFrom(_graph_proto(graph))
    return out


def _real(obj: Any) -> Any:
    """The protobuf object under any stand-ins."""
    while isinstance(obj, _Override):
        obj = obj.__dict__["_base"]
    return obj


def _graph_proto(graph: Any) -> Any:
    import onnx

    if not isinstance(graph, _Override):
        return graph
    out = onnx.GraphProto()
    out.CopyFrom(_real(graph))
    del out.node[:], out.value_info[:]  # value_info names the pre-expansion tensors
    out.node.extend(_node_proto(n) for n in graph.node)
    for field in ("input", "output", "initializer"):
        items = getattr(graph, field)
        del getattr(out, field)[:]
        for item in items:
            copy = getattr(out, field).add()
            copy.CopyFrom(_real(item))
            copy.name = item.name
    del out.sparse_initializer[:]
    for sparse in graph.sparse_initializer:
        copy = out.sparse_initializer.add()
        copy.CopyFrom(_real(sparse))
        copy.values.name = sparse.values.name
    return out


def _node_proto(node: Any) -> Any:
    import onnx

    if not isinstance(node, _Override):
        return node
    out = onnx.NodeProto()
    out.CopyFrom(_real(node))
    out.name = node.name
    del out.input[:], out.output[:], out.attribute[:]
    out.input.extend(node.input)
    out.output.extend(node.output)
    for attr in node.attribute:
        copy = out.attribute.add()
        copy.CopyFrom(_real(attr))
        copy.name = attr.name
        copy.ref_attr_name = ""
        if isinstance(attr, _Override) and "g" in attr.__dict__:
            copy.g.CopyFrom(_graph_proto(attr.g))
        if isinstance(attr, _Override) and "graphs" in attr.__dict__:
            del copy.graphs[:]
            copy.graphs.extend(_graph_proto(g) for g in attr.graphs)
    return out
