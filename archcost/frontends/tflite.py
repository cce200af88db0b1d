"""TFLite (LiteRT) model → :class:`~archcost.graph.Graph`.

The flatbuffer is read structure-only by :mod:`archcost.frontends.tflite_wire`. Subgraph 0 is the
model; the subgraphs its IF, WHILE and CALL_ONCE operators name become
:class:`~archcost.ops.control.Body` attributes, walked by the same analysis as ONNX subgraphs.

* **Tensors** keep the file's layout (NHWC activations, OHWI conv filters, ``[1, K_h, K_w, C·m]``
  depthwise filters): each operator's rule in :mod:`archcost.ops.tflite` maps it onto the one
  ONNX-semantics formula. A tensor with stored bytes is an initializer; its element count and
  dtype give its parameter count and bytes (int8 weights take a quarter of float32's).
* **Names**: a tensor keeps its name where the name is unique in its subgraph; otherwise it is
  ``<name>#<index>``. An operator is named after its first output's first ``;``-separated name
  (the TensorFlow converter joins the names of the ops it fused with ``;``), which also gives
  its module scope when it is ``/``-separated (``mobilenetv2/block_1_expand/Conv2D``).
* **Dynamic dims**: a graph input's ``shape_signature`` -1 is the symbol ``<input>_dim<axis>``,
  bound like an ONNX dim (``--set NAME=VALUE`` or ``--input NAME=SHAPE``).
* **Custom operators** (a ``CUSTOM`` opcode, or a builtin code newer than this schema) are
  nodes of domain ``tflite.custom`` with no rule: listed as unknown, by their names; their
  outputs take the shapes the file declares, so what follows them is still costed. Builtin
  variants without a count (a CIFG or projected LSTM) are unknown the same way, as
  ``UNIDIRECTIONAL_SEQUENCE_LSTM:CIFG`` and the like.
* **Quantization**: the scales and zero points of a quantized tensor are not tensors in TFLite
  but parameters of one; they are reported as what they are (a note with their count and
  bytes), never counted as weights.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from archcost.errors import GraphError, LimitError, ModelFormatError
from archcost.frontends.onnx_inputs import GivenShape, InputDecl, bind, given_values, input_shape
from archcost.frontends.scopes import path_scope
from archcost.frontends.tflite_wire import ModelDef, SubgraphDef, TensorDef, read_tflite
from archcost.graph import Graph, GraphBuilder, LazyMapping, OpNode, Tensor, TensorKind
from archcost.ledger import Ledger, identifier

#: The operator domain of TFLite builtins in the registry (:mod:`archcost.ops.tflite`).
DOMAIN = "tflite"
#: The domain of custom operators: no rule, listed as unknown.
CUSTOM_DOMAIN = "tflite.custom"
#: The deepest nesting of subgraph calls (an IF inside a WHILE body inside ...) archcost reads.
MAX_SUBGRAPH_DEPTH = 32
#: Option keys naming subgraphs, by the attribute their Body is stored under.
_SUBGRAPH_OPTIONS = {"then_subgraph_index": "then_branch", "else_subgraph_index": "else_branch",
                     "cond_subgraph_index": "cond", "body_subgraph_index": "body", "init_subgraph_index": "init"}
#: TFLite's IF is analyzed by the registry's If machinery (:mod:`archcost.ops.control`), whose
#: branch choice, ``--branch`` and notes key on the op type ``If``.
_OP_TYPES = {"IF": "If"}
#: Ops whose output dtype is decided by the file (a quantized type, a cast's target), handed
#: to the rule as the ``output_dtype`` attribute.
_DECLARED_DTYPE = frozenset({"QUANTIZE", "DEQUANTIZE", "CAST", "READ_VARIABLE", "DENSIFY", "FAKE_QUANT"})


def tensor_names(subgraph: SubgraphDef) -> list[str]:
    """Each tensor's name in the graph: its own where unique in the subgraph, else ``<name>#<index>``.

    ``verify`` maps the interpreter's tensors (by index) to the analysis' with the same function.
    """
    counts: dict[str, int] = {}
    for t in subgraph.tensors:
        counts[t.name] = counts.get(t.name, 0) + 1
    return [t.name if t.name and counts[t.name] == 1 and "#" not in t.name else f"{t.name or 'tensor'}#{t.index}"
            for t in subgraph.tensors]


def load_tflite_graph(
    path: Path,
    display: str,
    *,
    bindings: Mapping[str, Any],
    symbols: Iterable[str],
    input_shapes: Mapping[str, GivenShape] | None = None,
    input_values: Mapping[str, Sequence[Any]] | None = None,
    ledger: Ledger | None = None,
    model: ModelDef | None = None,
) -> tuple[Graph, dict[str, Any], tuple[str, ...]]:
    """The graph of the TFLite model at ``path``, the dim bindings applied, and the report's notes
    (quantization parameters, sparse tensors)."""
    if model is None:
        model = read_tflite(path, display)
    main = model.subgraphs[0]
    names = tensor_names(main)
    declared = [_declare(main.tensors[i], names[i]) for i in main.inputs if i >= 0]
    shapes_given = dict(input_shapes or {})
    bound = bind(declared, bindings, tuple(symbols), shapes_given, display, ledger)
    values = given_values(declared, input_values or {}, bound, display)
    bodies = _bodies(model, display)
    # The TF Lite converter names every model's first subgraph "main"; the file's name tells
    # models apart in reports and comparison tables, so it stands in for that default.
    builder = GraphBuilder(main.name if main.name not in ("", "main") else path.stem)
    inputs = {}
    for decl in declared:
        where = f"{display}:input {decl.name!r}"
        inputs[decl.name] = Tensor(decl.name, input_shape(decl, bound, where), TensorKind.INPUT, decl.dtype,
                                   values.get(decl.name))
    _fill(builder, model, main, names, display, bodies, inputs)
    builder.declared = LazyMapping(functools.partial(_declared_shapes, main, names))
    return builder.build(), {n: v for n, v in bound.items() if isinstance(v, int)}, _notes(model)


def _declare(tensor: TensorDef, name: str) -> InputDecl:
    dims = tensor.signature if tensor.signature is not None and len(tensor.signature) == len(tensor.shape) \
        else tensor.shape
    return InputDecl(name, tuple(d if d >= 0 else f"{identifier(name)}_dim{axis}" for axis, d in enumerate(dims)),
                     tensor.dtype)


def _fill(builder: GraphBuilder, model: ModelDef, sub: SubgraphDef, names: list[str], display: str,
          bodies: Mapping[int, Any], inputs: Mapping[str, Tensor]) -> None:
    """Tensors and operators of ``sub`` into ``builder``; ``inputs`` are the formal inputs."""
    where = f"{display}:subgraph {sub.index}"
    produced = {o for op in sub.operators for o in op.outputs if o >= 0}
    for index, tensor in enumerate(sub.tensors):
        name = names[index]
        if name in inputs:
            builder.add_tensor(inputs[name], where=f"{where}:tensor {index}")
        elif index not in produced:
            # Stored data, or a variable (an LSTM state) or an unused slot: data the ops read.
            builder.add_tensor(Tensor(name, tensor.shape, TensorKind.INITIALIZER, tensor.dtype, tensor.value),
                               where=f"{where}:tensor {index}")
    used: set[str] = set()
    scopes: dict[str, Any] = {}
    for op in sub.operators:
        attrs: dict[str, Any] = dict(op.options)
        for key, attr in _SUBGRAPH_OPTIONS.items():
            if key in attrs:
                attrs[attr] = bodies[attrs.pop(key)]
        first = sub.tensors[op.outputs[0]] if op.outputs and op.outputs[0] >= 0 else None
        if op.op in _DECLARED_DTYPE and first is not None:
            attrs["output_dtype"] = first.dtype
            if op.op == "READ_VARIABLE":
                attrs["shape"] = tuple(first.shape)
        label = (first.name.split(";", 1)[0] if first is not None and first.name else "") or f"{op.op}_{op.index}"
        node_name = label if label not in used else f"{label}#{op.index}"
        used.add(node_name)
        segment = label.rsplit("/", 1)[0] if "/" in label else ""
        scope = scopes.get(segment)
        if scope is None:
            scope = scopes[segment] = path_scope(label) if segment else ()
        builder.add_node(OpNode.adopt(
            node_name, op.op if op.custom else _variant(op) or _OP_TYPES.get(op.op, op.op),
            tuple(names[i] if i >= 0 else "" for i in op.inputs),
            tuple(names[i] for i in op.outputs if i >= 0), attrs, CUSTOM_DOMAIN if op.custom else DOMAIN,
            f"{where}:operator {op.index}", scope, op.op))
    builder.outputs.extend(names[i] for i in sub.outputs if i >= 0)
    if not builder.outputs and sub.index == 0:
        raise GraphError("the model's subgraph 0 declares no outputs", where=where)


def _variant(op: Any) -> str | None:
    """The op type of an operator variant archcost has no count for, named so that it is listed as
    unknown (the analysis goes on with the shapes the file declares): a CIFG LSTM (no input gate,
    input 1 omitted), an LSTM with a projection layer (input 16), LSTM's BASIC kernel."""
    if op.op not in ("UNIDIRECTIONAL_SEQUENCE_LSTM", "LSTM"):
        return None
    if op.options.get("kernel_type", 0) != 0:
        return f"{op.op}:BASIC"
    if len(op.inputs) > 1 and op.inputs[1] < 0:
        return f"{op.op}:CIFG"
    if len(op.inputs) > 16 and op.inputs[16] >= 0:
        return f"{op.op}:projection"
    return None


def _bodies(model: ModelDef, display: str) -> dict[int, Any]:
    """Every subgraph an operator calls (IF, WHILE, CALL_ONCE) as a Body, callees first.

    Calls are followed with an explicit stack; a subgraph that calls itself, directly or
    through others, is a :class:`GraphError`, and nesting deeper than
    :data:`MAX_SUBGRAPH_DEPTH` a :class:`LimitError`.
    """
    count = len(model.subgraphs)

    def callees(index: int) -> list[int]:
        found = []
        for op in model.subgraphs[index].operators:
            for key in _SUBGRAPH_OPTIONS:
                if key in op.options:
                    target = op.options[key]
                    if not 0 <= target < count:
                        raise ModelFormatError(f"subgraph {index}, operator {op.index} ({op.op}): {key} {target} "
                                               f"is not one of the model's {count} subgraphs", where=display)
                    found.append(target)
        return found

    bodies: dict[int, Any] = {}
    stack: list[tuple[int, Iterator[int]]] = [(0, iter(callees(0)))]
    path = [0]
    while stack:
        index, pending = stack[-1]
        nxt = next(pending, None)
        if nxt is None:
            stack.pop()
            path.pop()
            if index != 0:
                bodies[index] = _body(model, model.subgraphs[index], display, bodies)
            continue
        if nxt in path:
            chain = " → ".join(str(p) for p in (*path[path.index(nxt):], nxt))
            raise GraphError(f"subgraph {nxt} calls itself (subgraphs {chain}); a model's calls must "
                             "end", where=display)
        if nxt in bodies:
            continue
        if len(path) > MAX_SUBGRAPH_DEPTH:
            raise LimitError(f"subgraph calls are nested more than {MAX_SUBGRAPH_DEPTH} deep", where=display)
        path.append(nxt)
        stack.append((nxt, iter(callees(nxt))))
    return bodies


def _body(model: ModelDef, sub: SubgraphDef, display: str, bodies: Mapping[int, Any]) -> Any:
    from archcost.ops.control import Body

    names = tensor_names(sub)
    formal = [names[i] for i in sub.inputs if i >= 0]
    dtypes = tuple(sub.tensors[i].dtype for i in sub.inputs if i >= 0)
    ranks = tuple(len(sub.tensors[i].shape) for i in sub.inputs if i >= 0)
    builder = GraphBuilder(sub.name or f"subgraph_{sub.index}")
    inputs = {n: Tensor(n, (), TensorKind.INPUT, d) for n, d in zip(formal, dtypes, strict=True)}
    _fill(builder, model, sub, names, display, bodies, inputs)
    outputs = tuple(builder.outputs)
    return Body(sub.name or f"subgraph {sub.index}", builder.build(), tuple(formal), (), outputs, dtypes, ranks)


def _declared_shapes(sub: SubgraphDef, names: list[str]) -> dict[str, Any]:
    """The shapes the file declares for computed tensors (``shape_signature``, -1 a symbol of its
    own); only an op without a rule (a custom op) needs them."""
    from archcost.symbols import run_time_symbol

    shapes: dict[str, Any] = {}
    for tensor, name in zip(sub.tensors, names, strict=True):
        dims = tensor.signature if tensor.signature is not None else tensor.shape
        shapes[name] = (tuple(d if d >= 0 else run_time_symbol(f"{identifier(name)}_dim{axis}")
                              for axis, d in enumerate(dims)), tensor.dtype)
    return shapes


def _notes(model: ModelDef) -> tuple[str, ...]:
    """What the report says about quantization parameters and sparse tensors."""
    per_channel = per_tensor = scales = zeros = 0
    sparse = sparse_bytes = 0
    for sub in model.subgraphs:
        for t in sub.tensors:
            if not t.data_bytes:
                continue
            if t.quantization is not None:
                if t.quantization.scales > 1:
                    per_channel += 1
                else:
                    per_tensor += 1
                scales += t.quantization.scales
                zeros += t.quantization.zero_points
            if t.sparse:
                sparse += 1
                sparse_bytes += t.data_bytes
    notes = []
    if per_channel or per_tensor:
        notes.append(f"quantization: {per_channel + per_tensor} stored tensors are quantized ({per_channel} per "
                     f"channel, {per_tensor} per tensor), with {scales:,} scales (float32) and {zeros:,} zero points "
                     f"(int64), {4 * scales + 8 * zeros:,} bytes of quantization parameters; these are not "
                     "counted as parameters")
    if sparse:
        notes.append(f"sparsity: {sparse} stored tensors are sparse ({sparse_bytes:,} bytes stored); their "
                     "parameters are counted at their dense shape, as DENSIFY restores it")
    return tuple(notes)
