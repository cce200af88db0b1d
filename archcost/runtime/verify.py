"""Verify static analysis by running the model.

The model runs once on a seeded random input, with every intermediate tensor
exposed as a graph output, in onnxruntime (or ``onnx.reference`` when
onnxruntime is not installed). Then:

* every observed tensor shape and dtype must equal the inferred one;
* MACs recomputed from the *observed* shapes must equal the static count, per
  layer and in total. Conv, ConvTranspose, Gemm and MatMul are recomputed by
  their closed forms (output elements × reduction length; input elements ×
  kernel for ConvTranspose), independently of the registry's shape rules;
* parameters recomputed from the stored tensors the model actually ran with
  (initializers and Constant-node tensors, in subgraphs too) must equal the
  static count, per kind: every tensor the analysis counted must exist in the
  run model, and its dims there give the recount.

Control-flow nodes (If, Loop, Scan) are recounted by analyzing the node alone
with the shapes and small integer contents observed for its inputs and the
outer tensors its subgraphs read; onnxruntime does not expose tensors inside
subgraphs, so those are not compared one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from archcost.cost.result import Report
from archcost.errors import LimitError, about
from archcost.graph import Graph, TensorKind
from archcost.numeric import Count, prod
from archcost.ops import find
from archcost.ops.registry import PARAM_ROLES, InputInfo, apply_rule
from archcost.runtime.session import (
    choose_backend,
    onnxruntime_session,
    random_inputs,
    reference_deadline,
    run_bounded,
)

Shape = tuple[Count, ...]


@dataclass(frozen=True)
class TensorCheck:
    """One tensor: what the analysis inferred against what the run produced."""

    name: str
    inferred: Shape | None
    observed: tuple[int, ...]
    inferred_dtype: str | None
    observed_dtype: str

    @property
    def ok(self) -> bool:
        return (
            self.inferred is not None
            and tuple(self.inferred) == self.observed
            and self.inferred_dtype == self.observed_dtype
        )


@dataclass(frozen=True)
class CountCheck:
    """A static count against the same count recomputed from what ran."""

    what: str
    static: Count
    recomputed: int

    @property
    def ok(self) -> bool:
        return self.static == self.recomputed


@dataclass(frozen=True)
class Verification:
    """The outcome of :func:`verify`."""

    model: str
    backend: str
    seed: int
    tensors: tuple[TensorCheck, ...]
    counts: tuple[CountCheck, ...]
    #: Anything else that went wrong: unknown ops, per-layer MAC mismatches, a failed run.
    problems: tuple[str, ...] = ()

    @property
    def mismatched(self) -> tuple[TensorCheck, ...]:
        return tuple(t for t in self.tensors if not t.ok)

    @property
    def ok(self) -> bool:
        return not self.problems and all(t.ok for t in self.tensors) and all(c.ok for c in self.counts)


def verify(
    model: str,
    *,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    backend: str = "auto",
    input_shapes: Mapping[str, Any] | None = None,
    input_values: Mapping[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Verification:
    """Run ``model`` (zoo name, spec, ONNX or TFLite file) and check it against its static analysis:
    ONNX in onnxruntime (or ``onnx.reference``), TFLite in the LiteRT interpreter.

    Symbolic ONNX dims must be bound in ``params`` (``{"N": 1}``) or ``input_shapes``
    (``{"x": (1, 3, 224, 224)}``). ``progress`` is told each step as it starts.
    """
    say = progress or (lambda _text: None)
    say(f"analyzing {model}")
    from archcost.cost.analyze import analyze_graph
    from archcost.cost.conventions import PAPER
    from archcost.frontends.loader import load_model
    from archcost.runtime.checks import require_bounded_loops, require_concrete, require_runtime_size
    from archcost.runtime.export import graph_to_onnx

    with about(model):
        loaded = load_model(model, params=params, input_shapes=input_shapes, input_values=input_values)
        graph = loaded.graph
        require_concrete(graph, "verify")
        report = analyze_graph(graph, PAPER, source=model, ledger=loaded.ledger)
        require_runtime_size(graph, "verify", report.tensor_shapes)
        require_bounded_loops(report.loop_trips, "verify", model)
        if loaded.source.format == "tflite":
            say(f"running {model} in LiteRT with every intermediate tensor preserved")
            return _verify_tflite(model, loaded, report, seed, backend)
        if loaded.source.proto is not None:  # a PyTorch module, exported in memory
            proto = _as_analyzed(loaded.source.proto)
        elif loaded.source.format == "onnx":
            proto = _load_with_weights(loaded.source.path, model)
        else:
            proto = graph_to_onnx(graph, seed=seed)
        feeds = random_inputs(graph, seed)
    say(f"running {model} with every intermediate tensor exposed ({backend} backend)")
    try:
        used, observed = run_model(proto, feeds, backend, where=model)
    except _RunFailed as failure:
        return Verification(model, failure.backend, seed, (), (), (f"the model failed to run: {failure}",))
    return compare(model, graph, report, observed, stored_dims(proto), backend=used, seed=seed)


def _verify_tflite(model: str, loaded: Any, report: Report, seed: int, backend: str) -> Verification:
    """A TFLite model, run as it is in the LiteRT interpreter (:mod:`archcost.runtime.litert`).

    An IF whose condition only the run decides is counted statically by its larger branch; the
    run takes one. When every such IF took the same branch, the static counts compared are
    those of ``archcost analyze --branch`` with that branch."""
    from archcost.cost.analyze import analyze_graph
    from archcost.cost.conventions import PAPER
    from archcost.errors import UsageError
    from archcost.runtime import litert

    if backend not in ("auto", "litert"):
        raise UsageError(f"a TFLite model runs in LiteRT, not {backend}: use --backend auto or litert")
    graph, path = loaded.graph, loaded.source.path
    try:
        observed = litert.run_tflite(path, graph, random_inputs(graph, seed))
    except litert.RunFailed as failure:
        return Verification(model, "litert", seed, (), (), (f"the model failed to run: {failure}",))
    taken = litert.branch_taken(graph, observed)
    if taken is not None:
        report = analyze_graph(graph, PAPER, source=model, ledger=loaded.ledger, branch=taken)
    return compare(model, graph, report, observed, litert.stored_dims(path), backend="litert", seed=seed)


def stored_dims(proto: Any) -> dict[str, tuple[int, ...]]:
    """Dims of every stored tensor in ``proto``: initializers and Constant outputs, subgraphs too."""
    dims: dict[str, tuple[int, ...]] = {}
    pending = [proto.graph]
    while pending:
        graph = pending.pop()
        for init in graph.initializer:
            dims.setdefault(init.name, tuple(int(d) for d in init.dims))
        for node in graph.node:
            for attr in node.attribute:
                if attr.HasField("g"):
                    pending.append(attr.g)
                pending.extend(attr.graphs)
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
                for attr in node.attribute:
                    if attr.name in ("value", "sparse_value"):
                        tensor = attr.t if attr.name == "value" else attr.sparse_tensor
                        dims.setdefault(node.output[0], tuple(int(d) for d in tensor.dims))
                    elif attr.name in ("value_floats", "value_ints", "value_strings"):
                        count = len(attr.floats) or len(attr.ints) or len(attr.strings)
                        dims.setdefault(node.output[0], (count,))
                    elif attr.name in ("value_float", "value_int", "value_string"):
                        dims.setdefault(node.output[0], ())
    return dims


def _load_with_weights(path: Any, display: str) -> Any:
    """The full model, external data included (its locations were checked on load)."""
    import onnx

    from archcost.errors import ModelFormatError

    try:
        model = onnx.load(str(path), load_external_data=True)
    except Exception as err:
        raise ModelFormatError(f"cannot load the model's weights to run it ({type(err).__name__}: {err})",
                               where=display) from None
    return _as_analyzed(model)


def _as_analyzed(model: Any) -> Any:
    """``model`` as the analysis read it: local functions expanded."""
    if model.functions:
        from archcost.frontends.onnx_functions import inline_model

        # Run what was analyzed: the functions expanded, with the analysis' tensor names.
        model = inline_model(model)
    return model


class _RunFailed(Exception):
    def __init__(self, backend: str, message: str) -> None:
        super().__init__(message)
        self.backend = backend


def _expose_everything(proto: Any) -> Any:
    """A copy of ``proto`` with every node output also a graph output."""
    import onnx

    exposed = onnx.ModelProto()
    exposed.CopyFrom(proto)
    present = {o.name for o in exposed.graph.output}
    for node in exposed.graph.node:
        for out in node.output:
            if out and out not in present:
                exposed.graph.output.append(onnx.ValueInfoProto(name=out))
                present.add(out)
    return exposed


def run_model(proto: Any, feeds: Mapping[str, Any], backend: str = "auto", *,
              where: str = "the model") -> tuple[str, dict[str, Any]]:
    """Run ``proto`` on ``feeds``; every tensor any node produced, by name. An onnxruntime run is
    stopped after :data:`~archcost.runtime.session.MAX_RUN_SECONDS` (a :class:`LimitError` naming ``where``)."""
    used = choose_backend(backend)
    exposed = _expose_everything(proto)
    if used == "onnxruntime":
        try:
            # No fusion: every tensor of the graph as written must exist to be observed.
            session = onnxruntime_session(exposed.SerializeToString(), optimization="none")
            names = [o.name for o in session.get_outputs()]
            results = run_bounded(session, names, feeds, where=where)
        except LimitError:
            raise
        except Exception as err:  # onnxruntime raises its own exception types for bad graphs
            raise _RunFailed(used, f"{type(err).__name__}: {err}") from None
        return used, dict(zip(names, results, strict=True))
    from onnx.reference import ReferenceEvaluator

    names = [o.name for o in exposed.graph.output]
    try:
        with reference_deadline(where):
            results = ReferenceEvaluator(exposed).run(None, dict(feeds))
    except LimitError:
        raise
    except Exception as err:
        raise _RunFailed(used, f"{type(err).__name__}: {err}") from None
    return used, dict(zip(names, results, strict=True))


def _observed_macs(row: Any, shape_of: Callable[[str], tuple[int, ...] | None], graph: Graph,
                   observed: Mapping[str, Any] | None = None) -> int | None:
    """A layer's MACs from the shapes that actually ran, by closed form where one exists."""
    ins = [shape_of(n) if n else None for n in row.input_names]
    outs = [shape_of(n) if n else None for n in row.output_names]
    if any(s is None for s in ins if s is not None) or (outs and outs[0] is None):
        return None
    op = row.op_type
    try:
        if op == "Conv":  # every output element: (M/g)·K_h·K_w products
            return int(prod(outs[0]) * prod(ins[1][1:]))  # type: ignore[index]
        if op == "ConvTranspose":  # every input element scatters into (N/g)·K_h·K_w outputs
            return int(prod(ins[0]) * prod(ins[1][1:]))  # type: ignore[index]
        if op == "Gemm":  # every output element: K products
            a = ins[0]
            k = a[0] if row.attrs.get("transA") else a[1]  # type: ignore[index]
            return int(prod(outs[0]) * k)
        if op == "MatMul":
            return int(prod(outs[0]) * ins[0][-1])  # type: ignore[index]
    except (TypeError, IndexError):
        return None
    closed = _TFLITE_MACS.get(op)
    if closed is not None:
        try:
            return int(closed(ins, outs, row.attrs))
        except (TypeError, IndexError):
            return None
    if row.macs == 0:
        return 0
    node = graph.node(row.name)
    from archcost.ops.control import subgraph_attrs

    if subgraph_attrs(node.attrs):
        return _control_macs(node, shape_of, graph, observed or {})
    entry = find(node.op_type, node.domain)
    if entry is None:
        return None
    infos = tuple(
        InputInfo(s, is_initializer=n in graph.tensors
                  and graph.tensors[n].kind is TensorKind.INITIALIZER) if s is not None else None
        for n, s in zip(row.input_names, ins, strict=True)
    )
    return int(apply_rule(entry, node.name, node.attrs, infos).terms.get("mac", 0))


#: TFLite's layers with weights, by closed form on the observed shapes (inputs, outputs, options):
#: every output element of a conv is a dot product over its filter's other axes, FC and batch
#: matmul over K, and every input element of a transposed conv scatters over N·K_h·K_w.
_TFLITE_MACS: dict[str, Callable[[list[Any], list[Any], Any], int]] = {
    "CONV_2D": lambda i, o, a: prod(o[0]) * prod(i[1][1:]),  # OHWI: K_h·K_w·(M/g)
    "DEPTHWISE_CONV_2D": lambda i, o, a: prod(o[0]) * i[1][1] * i[1][2],
    "CONV_3D": lambda i, o, a: prod(o[0]) * prod(i[1][:4]),  # [K_d, K_h, K_w, M, N]
    "TRANSPOSE_CONV": lambda i, o, a: prod(i[2]) * prod(i[1][:3]),  # input × [N, K_h, K_w]
    "FULLY_CONNECTED": lambda i, o, a: prod(o[0]) * i[1][1],
    "BATCH_MATMUL": lambda i, o, a: prod(o[0]) * (i[0][-2] if a.get("adj_x") else i[0][-1]),
}


def compare(
    model: str,
    graph: Graph,
    report: Report,
    observed: Mapping[str, Any],
    initializer_dims: Mapping[str, tuple[int, ...]],
    *,
    backend: str,
    seed: int = 0,
) -> Verification:
    """Compare a static ``report`` of ``graph`` with the tensors a run produced."""
    problems: list[str] = []
    for unknown in report.unknown:
        problems.append(f"operator {unknown.op_type} has no rule, so {len(unknown.nodes)} node(s) "
                        "were not inferred")
    tensors = []
    for name, array in observed.items():
        if name in graph.tensors or not hasattr(array, "shape"):
            continue  # inputs, and sequences (lists), which have no single shape
        tensors.append(TensorCheck(
            name, report.tensor_shapes.get(name), tuple(int(d) for d in array.shape),
            report.tensor_dtypes.get(name), str(array.dtype),
        ))
    fed = {n: tuple(int(d) for d in graph.tensors[n].shape) for n in graph.inputs}

    def shape_of(name: str) -> tuple[int, ...] | None:
        if name in observed:
            return tuple(int(d) for d in observed[name].shape)
        if name in initializer_dims:
            return initializer_dims[name]
        return fed.get(name)

    total = 0
    for row in report.layers:
        macs = _observed_macs(row, shape_of, graph, observed)
        if macs is None:
            problems.append(f"layer {row.name!r}: its tensors were not observed")
            continue
        if macs != row.macs:
            problems.append(f"layer {row.name!r} ({row.op_type}): {row.macs} MACs inferred, "
                            f"{macs} from the observed shapes")
        total += macs
    counts = [CountCheck("MACs", report.totals.macs, total)]

    by_role = dict.fromkeys(PARAM_ROLES, 0)
    for name, (_, _, role) in report.parameter_tensors.items():
        if name not in initializer_dims:
            problems.append(f"parameter tensor {name!r} is not stored in the model that ran")
            continue
        by_role[role] += int(prod(initializer_dims[name]))
    counts += [CountCheck(f"params: {role}", report.totals.params_by_kind.get(role, 0), by_role[role])
               for role in PARAM_ROLES]
    return Verification(model, backend, seed, tuple(tensors), tuple(counts), tuple(problems))


def _control_macs(node: Any, shape_of: Callable[[str], tuple[int, ...] | None], graph: Graph,
                  observed: Mapping[str, Any]) -> int | None:
    """MACs of a control-flow node, re-analyzed alone on the observed shapes of what it reads."""
    from archcost.cost.analyze import analyze_graph
    from archcost.cost.conventions import PAPER
    from archcost.graph import GraphBuilder, Tensor
    from archcost.ops.control import subgraph_attrs
    from archcost.ops.tensor import MAX_VALUE_ELEMENTS

    names = [n for n in node.inputs if n]
    for body in subgraph_attrs(node.attrs).values():
        names += [n for n in body.outer if n not in names]
    builder = GraphBuilder(f"verify {node.name}")
    for name in dict.fromkeys(names):
        declared = graph.tensors.get(name)
        if declared is not None and declared.kind is TensorKind.INITIALIZER:
            builder.add_tensor(declared)
            continue
        shape = shape_of(name)
        if shape is None:
            return None
        array = observed.get(name)
        dtype = str(array.dtype) if array is not None else graph.tensors[name].dtype
        value = None
        if array is not None and array.dtype.kind in "biu" and array.size <= MAX_VALUE_ELEMENTS:
            value = tuple(int(v) for v in array.reshape(-1).tolist())
        builder.add_tensor(Tensor(name, shape, TensorKind.INPUT, dtype, value))
    builder.add_node(node)
    builder.outputs.extend(o for o in node.outputs if o)
    report = analyze_graph(builder.build(), PAPER)
    return int(report.totals.macs) if report.totals.macs == int(report.totals.macs) else None
