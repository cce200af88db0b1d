"""Independent MAC counter for the corpus manifests: shapes from a real onnxruntime run.

This module never imports archcost. It counts what the corpus manifests call MACs:

* ``Conv``:           N·C_out·∏(out spatial)·(C_in/groups)·∏(kernel) = ∏(Y) · ∏(W.shape[1:])
* ``ConvTranspose``:  N·C_in·∏(in spatial)·(C_out/groups)·∏(kernel)  = ∏(X) · ∏(W.shape[1:])
* ``Gemm``:           M·N·K (K from A's shape and ``transA``)
* ``MatMul``:         ∏(output dims)·K, K = A.shape[-1] (batched, broadcasting)
* ``Einsum``:         with two or more operands, the product of the extents of every distinct index
                      (ellipsis dims broadcast); a one-operand Einsum is a transpose/reduction: 0

Bias adds, normalisation, activations, pooling, Resize and element-wise ops are not MACs.
Recurrent ops (LSTM/GRU/RNN) are not in that list; they are reported apart, in ``recurrent_macs``
(dirs·seq·batch·gates·H·(I+H), gates 4/3/1), and never added to ``macs``.

How the shapes are obtained (nothing is inferred statically):

1. A copy of the model gets a unique name on every node (subgraphs included) and every main-graph
   node output as an extra graph output (a name-only ``ValueInfoProto``). onnxruntime runs it
   with all graph optimisations disabled (so no node is fused away) and with its profiler on.
2. Main-graph nodes: the shapes of their inputs are read off the arrays the run returned (graph
   inputs from the feeds, weights from initializers / ``Constant`` nodes).
3. Nodes inside ``If``/``Loop``/``Scan`` bodies: their tensors cannot be graph outputs, so their
   shapes come from the profiler's per-kernel ``input_type_shape``/``output_type_shape`` records.
   The profiler records only kernels that ran, once per run: an ``If`` contributes only the branch
   taken at that input, a ``Loop``/``Scan`` body contributes once per iteration that ran.
4. Every main-graph node's exposed shapes are also compared with its profiler record
   (``profile_mismatches`` must be empty).

Command line (any environment with onnx + onnxruntime + numpy)::

    python tools/corpus/ort_count.py model.onnx --shape x=1,3,64,96 [--value sr=16000] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

COUNTER_NAME = (
    "tools/corpus/ort_count.py: onnxruntime {ort} run (ORT_DISABLE_ALL) with every main-graph tensor exposed as a "
    "graph output; subgraph kernels from the ORT profiler; closed forms for Conv/ConvTranspose/Gemm/MatMul/Einsum"
)

COUNTED = ("Conv", "ConvTranspose", "Gemm", "MatMul", "Einsum")
RECURRENT = {"LSTM": 4, "GRU": 3, "RNN": 1}
# Ops that contract like a matmul/conv but are outside the counted list: reported, never counted.
UNCOUNTED_CONTRACTIONS = {
    "ConvInteger", "QLinearConv", "MatMulInteger", "QLinearMatMul", "FusedConv", "FusedMatMul", "FusedGemm",
    "Attention", "MultiHeadAttention", "GroupQueryAttention", "DeformConv", "NhwcConv", "QAttention",
}


@dataclass
class CountResult:
    macs: int
    macs_by_op: dict[str, int]
    nodes_counted: dict[str, int]
    subgraph_macs: int
    subgraph_kernels_counted: int
    recurrent_macs: int
    uncounted_ops: dict[str, int]
    control_flow: dict[str, int]
    output_shapes: dict[str, list[int]]
    #: original If node name -> "then_branch"/"else_branch" (both, joined by "+", when it ran more than once,
    #: e.g. inside a Loop): main-graph Ifs from their condition's value, nested ones from the kernels that ran
    #: in their branches (a nested If whose taken branch holds no kernel, only Constants, is not listed)
    if_branches: dict[str, str] = field(default_factory=dict)
    profile_mismatches: list[str] = field(default_factory=list)
    counter: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "macs": self.macs,
            "macs_by_op": self.macs_by_op,
            "nodes_counted": self.nodes_counted,
            "subgraph_macs": self.subgraph_macs,
            "subgraph_kernels_counted": self.subgraph_kernels_counted,
            "recurrent_macs": self.recurrent_macs,
            "uncounted_ops": self.uncounted_ops,
            "control_flow": self.control_flow,
            "output_shapes": self.output_shapes,
            "if_branches": self.if_branches,
            "profile_mismatches": self.profile_mismatches,
            "counter": self.counter,
        }


# --------------------------------------------------------------------------------------------------
# closed forms on concrete shapes


def _prod(xs: list[int] | tuple[int, ...]) -> int:
    return math.prod(int(x) for x in xs)


def _attr(node: onnx.NodeProto, name: str, default: Any) -> Any:
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _einsum_macs(equation: str, shapes: list[list[int]]) -> int:
    eq = equation.replace(" ", "")
    lhs = eq.split("->")[0]
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"Einsum {equation!r}: {len(terms)} terms for {len(shapes)} inputs")
    if len(terms) < 2:
        return 0
    extents: dict[str, int] = {}
    ellipsis: list[int] = []  # broadcast extents, right-aligned
    for term, shape in zip(terms, shapes, strict=True):
        if "..." in term:
            head, tail = term.split("...")
            n_ell = len(shape) - len(head) - len(tail)
            letters = list(head) + ["."] * n_ell + list(tail)
        else:
            letters = list(term)
        if len(letters) != len(shape):
            raise ValueError(f"Einsum {equation!r}: term {term!r} does not match shape {shape}")
        ell_dims = [d for ch, d in zip(letters, shape, strict=True) if ch == "."]
        # right-align the ellipsis dims and broadcast
        while len(ellipsis) < len(ell_dims):
            ellipsis.insert(0, 1)
        off = len(ellipsis) - len(ell_dims)
        for i, d in enumerate(ell_dims):
            ellipsis[off + i] = max(ellipsis[off + i], int(d))
        for ch, d in zip(letters, shape, strict=True):
            if ch != ".":
                extents[ch] = max(extents.get(ch, 1), int(d))
    return _prod(list(extents.values())) * _prod(ellipsis)


def node_macs(node: onnx.NodeProto, ins: list[list[int] | None], outs: list[list[int] | None]) -> int:
    """MACs of one counted node from its concrete input/output shapes (None for an absent optional)."""
    op = node.op_type
    if op == "Conv":
        w, y = ins[1], outs[0]
        assert w is not None and y is not None
        return _prod(y) * _prod(w[1:])
    if op == "ConvTranspose":
        x, w = ins[0], ins[1]
        assert x is not None and w is not None
        return _prod(x) * _prod(w[1:])
    if op == "Gemm":
        a, y = ins[0], outs[0]
        assert a is not None and y is not None
        k = a[0] if _attr(node, "transA", 0) else a[1]
        return _prod(y) * int(k)
    if op == "MatMul":
        a, y = ins[0], outs[0]
        assert a is not None and y is not None
        k = a[-1]
        return _prod(y) * int(k)
    if op == "Einsum":
        eq = _attr(node, "equation", b"")
        eq = eq.decode() if isinstance(eq, bytes) else eq
        return _einsum_macs(eq, [s for s in ins if s is not None])
    raise KeyError(op)


def recurrent_macs(node: onnx.NodeProto, ins: list[list[int] | None]) -> int:
    gates = RECURRENT[node.op_type]
    x, w, r = ins[0], ins[1], ins[2]
    assert x is not None and w is not None and r is not None
    layout = _attr(node, "layout", 0)
    seq, batch = (x[0], x[1]) if layout == 0 else (x[1], x[0])
    dirs, gh, inp = w
    hidden = r[2]
    assert gh == gates * hidden
    return int(dirs) * int(seq) * int(batch) * gates * int(hidden) * (int(inp) + int(hidden))


# --------------------------------------------------------------------------------------------------
# the run


def _subgraphs(node: onnx.NodeProto) -> list[onnx.GraphProto]:
    out: list[onnx.GraphProto] = []
    for a in node.attribute:
        if a.type == onnx.AttributeProto.GRAPH:
            out.append(a.g)
        elif a.type == onnx.AttributeProto.GRAPHS:
            out.extend(a.graphs)
    return out


def _name_nodes(
    graph: onnx.GraphProto,
    table: dict[str, tuple[onnx.NodeProto, int]],
    depth: int,
    parents: dict[str, tuple[str, str]],
    originals: dict[str, str],
    parent: tuple[str, str] | None = None,
) -> None:
    """Give every node a unique name; remember each one's original name and, for a node inside a
    subgraph, which (control-flow node, attribute) holds it."""
    for node in graph.node:
        original = node.name
        node.name = f"cnt{len(table)}_{node.op_type}"
        originals[node.name] = original or node.name
        table[node.name] = (node, depth)
        if parent is not None:
            parents[node.name] = parent
        for a in node.attribute:
            subs = [a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)
            for g in subs:
                _name_nodes(g, table, depth + 1, parents, originals, (node.name, a.name))


def _constant_shape(node: onnx.NodeProto) -> list[int]:
    for a in node.attribute:
        if a.name == "value":
            return list(a.t.dims)
        if a.name in ("value_float", "value_int", "value_string"):
            return []
        if a.name in ("value_floats", "value_ints", "value_strings"):
            return [len(onnx.helper.get_attribute_value(a))]
        if a.name == "sparse_value":
            return list(a.sparse_tensor.dims)
    raise ValueError(f"Constant {node.name} without a value")


def _profile_shapes(entry: list[dict[str, list[int]]] | None) -> list[list[int]]:
    if not entry:
        return []
    return [list(next(iter(e.values()))) for e in entry]


def _static_shapes(graph: onnx.GraphProto, out: dict[str, list[int]]) -> None:
    """Shapes of every initializer and Constant output, subgraphs included."""
    for init in graph.initializer:
        out[init.name] = list(init.dims)
    for node in graph.node:
        if node.op_type == "Constant":
            out[node.output[0]] = _constant_shape(node)
        for g in _subgraphs(node):
            _static_shapes(g, out)


def _align_inputs(
    node: onnx.NodeProto, profiled: list[list[int]], static: dict[str, list[int]]
) -> tuple[list[list[int] | None], bool]:
    """Node input shapes from a profiler record.

    The profiler lists the inputs that were present, in order, but leaves out absent optional inputs and
    weights that the kernel pre-packed (onnxruntime's MatMul drops its constant B). Weights are known
    statically, so: a static input takes its static shape (and consumes the record's entry when the entry
    is there), a computed input takes the next entry. Returns the shapes and whether the record was used
    up exactly.
    """
    out: list[list[int] | None] = []
    j = 0
    for name in node.input:
        if not name:
            out.append(None)
            continue
        if name in static:
            out.append(static[name])
            if j < len(profiled) and profiled[j] == static[name]:
                j += 1
            continue
        if j >= len(profiled):
            out.append(None)
            continue
        out.append(profiled[j])
        j += 1
    return out, j == len(profiled)


def count(
    model: str | os.PathLike[str] | onnx.ModelProto,
    feeds: dict[str, np.ndarray],
    *,
    threads: int = 1,
) -> CountResult:
    """Run ``model`` on ``feeds`` in onnxruntime and count its MACs from the shapes that ran."""
    import onnxruntime as ort

    m = onnx.ModelProto()
    if isinstance(model, onnx.ModelProto):
        m.CopyFrom(model)
    else:
        m = onnx.load(os.fspath(model))
    table: dict[str, tuple[onnx.NodeProto, int]] = {}
    parents: dict[str, tuple[str, str]] = {}
    originals: dict[str, str] = {}
    _name_nodes(m.graph, table, 0, parents, originals)

    static: dict[str, list[int]] = {}
    _static_shapes(m.graph, static)
    known: dict[str, list[int]] = {k: list(np.shape(v)) for k, v in feeds.items()}
    for init in m.graph.initializer:
        known[init.name] = list(init.dims)
    existing_outputs = {o.name for o in m.graph.output}
    exposed: list[str] = []
    for node in m.graph.node:
        if node.op_type == "Constant":
            known[node.output[0]] = _constant_shape(node)
            continue
        for o in node.output:
            if o and o not in existing_outputs and o not in known:
                m.graph.output.append(onnx.ValueInfoProto(name=o))
                exposed.append(o)
                existing_outputs.add(o)

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_profiling = True
    tmpdir = tempfile.mkdtemp(prefix="ort_count_")
    so.profile_file_prefix = os.path.join(tmpdir, "prof")
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    arrays = sess.run(names, feeds)
    prof_path = sess.end_profiling()
    with open(prof_path) as f:
        events = json.load(f)
    os.remove(prof_path)
    os.rmdir(tmpdir)
    values: dict[str, Any] = dict(feeds)
    for n, a in zip(names, arrays, strict=True):
        known[n] = list(np.shape(a))
        values[n] = a

    # profiler records, in run order
    runs: dict[str, list[tuple[list[list[int]], list[list[int]]]]] = {}
    for ev in events:
        if ev.get("cat") != "Node" or not ev.get("name", "").endswith("_kernel_time"):
            continue
        args = ev.get("args", {})
        nm = ev["name"][: -len("_kernel_time")]
        runs.setdefault(nm, []).append(
            (_profile_shapes(args.get("input_type_shape")), _profile_shapes(args.get("output_type_shape")))
        )

    macs_by_op: Counter[str] = Counter()
    nodes_counted: Counter[str] = Counter()
    uncounted: Counter[str] = Counter()
    control: Counter[str] = Counter()
    mismatches: list[str] = []
    sub_macs = 0
    sub_kernels = 0
    rec = 0
    for name, (node, depth) in table.items():
        op = node.op_type
        if op in ("If", "Loop", "Scan"):
            control[f"{op}@depth{depth}"] += 1
        if op in UNCOUNTED_CONTRACTIONS or (node.domain not in ("", "ai.onnx") and op in COUNTED):
            uncounted[f"{node.domain or 'ai.onnx'}::{op}"] += 1
            continue
        if op not in COUNTED and op not in RECURRENT:
            continue
        if depth == 0:
            ins: list[list[int] | None] = [known.get(i) if i else None for i in node.input]
            outs: list[list[int] | None] = [known.get(o) if o else None for o in node.output]
            if any(i is None for i, nm in zip(ins, node.input, strict=True) if nm) or outs[0] is None:
                raise RuntimeError(f"{name}: shapes not known after the run: {list(node.input)} -> {list(node.output)}")
            # cross-check with the profiler record of the same kernel
            prof = runs.get(name)
            if not prof:
                mismatches.append(f"{name}: no profiler record")
            else:
                p_ins, p_outs = prof[0]
                aligned, exact = _align_inputs(node, p_ins, static)
                if not exact or aligned != ins or p_outs[:1] != outs[:1]:
                    mismatches.append(f"{name}: exposed {ins}->{outs[:1]} vs profiled {p_ins}->{p_outs[:1]}")
            if op in RECURRENT:
                rec += recurrent_macs(node, ins)
                continue
            v = node_macs(node, ins, outs)
            macs_by_op[op] += v
            nodes_counted[op] += 1
        else:
            for p_ins, p_outs in runs.get(name, []):
                pi, exact = _align_inputs(node, p_ins, static)
                po: list[list[int] | None] = list(p_outs)
                if not exact:
                    mismatches.append(f"{name}: profiler inputs {p_ins} do not align with {list(node.input)}")
                if op in RECURRENT:
                    rec += recurrent_macs(node, pi)
                    continue
                v = node_macs(node, pi, po)
                macs_by_op[op] += v
                nodes_counted[op] += 1
                sub_macs += v
                sub_kernels += 1

    taken: dict[str, set[str]] = {}
    for node in m.graph.node:  # main-graph Ifs: the condition's value is known
        if node.op_type == "If" and node.input[0] in values:
            taken.setdefault(node.name, set()).add(
                "then_branch" if bool(np.asarray(values[node.input[0]]).reshape(-1)[0]) else "else_branch"
            )
    for name in runs:
        child = name
        while child in parents:
            ctl, attr = parents[child]
            if table[ctl][0].op_type == "If":
                taken.setdefault(ctl, set()).add(attr)
            child = ctl
    if_branches = {originals[k]: "+".join(sorted(v)) for k, v in sorted(taken.items(), key=lambda kv: int(
        kv[0][3:].split("_")[0]))}

    graph_outputs = [o.name for o in sess.get_outputs()][: len(names) - len(exposed)]
    return CountResult(
        macs=sum(macs_by_op.values()),
        macs_by_op=dict(sorted(macs_by_op.items())),
        nodes_counted=dict(sorted(nodes_counted.items())),
        subgraph_macs=sub_macs,
        subgraph_kernels_counted=sub_kernels,
        recurrent_macs=rec,
        uncounted_ops=dict(sorted(uncounted.items())),
        control_flow=dict(sorted(control.items())),
        output_shapes={n: known[n] for n in graph_outputs},
        profile_mismatches=mismatches,
        if_branches=if_branches,
        counter=COUNTER_NAME.format(ort=ort.__version__),
    )


# --------------------------------------------------------------------------------------------------
# feeds


_NP = {
    onnx.TensorProto.FLOAT: np.float32,
    onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.FLOAT16: np.float16,
    onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32,
    onnx.TensorProto.INT8: np.int8,
    onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.BOOL: np.bool_,
}


def make_feeds(
    model: str | os.PathLike[str] | onnx.ModelProto,
    shapes: dict[str, list[int]],
    values: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Deterministic feeds: floats ~ U(0,1), integers in [0, 256); ``values`` gives exact arrays/scalars."""
    m = model if isinstance(model, onnx.ModelProto) else onnx.load(os.fspath(model), load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    values = values or {}
    for inp in m.graph.input:
        if inp.name in inits:
            continue
        dt = _NP[inp.type.tensor_type.elem_type]
        if inp.name in values:
            feeds[inp.name] = np.asarray(values[inp.name], dtype=dt)
            continue
        shape = shapes[inp.name]
        if np.issubdtype(dt, np.floating):
            feeds[inp.name] = rng.random(shape).astype(dt)
        elif dt is np.bool_:
            feeds[inp.name] = np.zeros(shape, dtype=dt)
        else:
            feeds[inp.name] = rng.integers(0, 256, size=shape).astype(dt)
    return feeds


def declared_inputs(model: onnx.ModelProto) -> dict[str, list[Any]]:
    """Each non-initializer graph input's declared dims exactly as stored: int dim_value (may be -1),
    str dim_param, or None for a dim with neither field set."""
    inits = {i.name for i in model.graph.initializer}
    out: dict[str, list[Any]] = {}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        dims: list[Any] = []
        for d in inp.type.tensor_type.shape.dim:
            if d.HasField("dim_value"):
                dims.append(int(d.dim_value))
            elif d.HasField("dim_param"):
                dims.append(d.dim_param)
            else:
                dims.append(None)
        out[inp.name] = dims
    return out


def _is_name(d: Any) -> bool:
    return isinstance(d, str) and d not in ("", "?")


def dynamic_dims(model: onnx.ModelProto) -> list[Any]:
    """The inputs' dynamic dims as the file declares them: a dim_param name as that string (once, however
    many axes carry it); a dim that is not a name (dim_value -1 or 0, dim_param "?" or "", or a dim with
    neither field set) as {"input", "axis", "declared"} with declared = the int, the string, or None."""
    out: list[Any] = []
    for name, dims in declared_inputs(model).items():
        for axis, d in enumerate(dims):
            if isinstance(d, int) and d > 0:
                continue
            if _is_name(d):
                if d not in out:
                    out.append(d)
            else:
                out.append({"input": name, "axis": axis, "declared": d})
    return out


def point_dims(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> dict[str, int]:
    """The value each dynamic dim takes at ``shapes``: keyed by its name, or ``input[axis]`` when unnamed."""
    out: dict[str, int] = {}
    for name, dims in declared_inputs(model).items():
        if name not in shapes:
            continue
        for axis, d in enumerate(dims):
            if isinstance(d, int) and d > 0:
                continue
            key = d if _is_name(d) else f"{name}[{axis}]"
            out[key] = int(shapes[name][axis])
    return out


def _dims_of(vi: onnx.ValueInfoProto) -> list[Any] | None:
    t = vi.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims: list[Any] = []
    for d in t.shape.dim:
        dims.append(int(d.dim_value) if d.HasField("dim_value") else d.dim_param if d.HasField("dim_param") else None)
    return dims


def describe(model: onnx.ModelProto) -> dict[str, Any]:
    """Static facts for a manifest: declared inputs/outputs, dynamic dims, opsets, op types (subgraphs
    included), control flow, local functions, initializer parameter count."""
    ops: Counter[str] = Counter()
    sub: Counter[str] = Counter()

    def walk(g: onnx.GraphProto, depth: int) -> None:
        for n in g.node:
            key = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
            ops[key] += 1
            if depth:
                sub[key] += 1
            for sg in _subgraphs(n):
                walk(sg, depth + 1)

    walk(model.graph, 0)
    for f in model.functions:
        walk(onnx.helper.make_graph(list(f.node), f.name, [], []), 1)
    params = sum(math.prod(i.dims) for i in model.graph.initializer)
    const_params = 0

    def consts(g: onnx.GraphProto) -> None:
        nonlocal const_params
        for n in g.node:
            if n.op_type == "Constant":
                const_params += math.prod(_constant_shape(n))
            for sg in _subgraphs(n):
                consts(sg)

    consts(model.graph)
    return {
        "dynamic_dims": dynamic_dims(model),
        "inputs": declared_inputs(model),
        "outputs": {o.name: _dims_of(o) for o in model.graph.output},
        "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        "ir_version": model.ir_version,
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "op_types": dict(sorted(ops.items())),
        "subgraph_op_types": dict(sorted(sub.items())),
        "functions": [f"{f.domain}::{f.name}" for f in model.functions],
        "initializer_params": params,
        "constant_node_elements": const_params,
    }


def versions(*names: str) -> dict[str, str]:
    from importlib import metadata

    out: dict[str, str] = {}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            pass
    return out


def selftest() -> None:
    """Tiny hand-built graphs with known answers: Gemm with transA, broadcasting MatMul, Einsum with an
    ellipsis, grouped Conv, ConvTranspose, an If (only the taken branch counts) and a Loop (body x trips)."""
    from onnx import TensorProto as TP
    from onnx import helper as h

    def model(nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto], outputs: list[str],
              inits: list[onnx.TensorProto]) -> onnx.ModelProto:
        g = h.make_graph(nodes, "t", inputs, [onnx.ValueInfoProto(name=o) for o in outputs], inits)
        return h.make_model(g, opset_imports=[h.make_opsetid("", 17)])

    def w(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array(np.ones(shape, np.float32), name)

    def x(name: str, rank: int) -> onnx.ValueInfoProto:
        return h.make_tensor_value_info(name, TP.FLOAT, [None] * rank)

    f = np.float32
    # Gemm transA: A [K=5, M=3], B [5, 4] -> 3*4*5
    m = model([h.make_node("Gemm", ["a", "b"], ["y"], transA=1)], [x("a", 2)], ["y"], [w("b", 5, 4)])
    assert count(m, {"a": np.ones((5, 3), f)}).macs == 60
    # batched broadcasting MatMul [2,1,3,4] x [5,4,6] -> [2,5,3,6] * 4
    m = model([h.make_node("MatMul", ["a", "b"], ["y"])], [x("a", 4), x("b", 3)], ["y"], [])
    assert count(m, {"a": np.ones((2, 1, 3, 4), f), "b": np.ones((5, 4, 6), f)}).macs == 2 * 5 * 3 * 6 * 4
    # Einsum with ellipsis: ...ij,jk->...ik, [2,3,4,5] x [5,6] -> 2*3*4*5*6
    m = model([h.make_node("Einsum", ["a", "b"], ["y"], equation="...ij,jk->...ik")], [x("a", 4)], ["y"],
              [w("b", 5, 6)])
    assert count(m, {"a": np.ones((2, 3, 4, 5), f)}).macs == 2 * 3 * 4 * 5 * 6
    # grouped Conv: [1,8,10,10], W [16, 2, 3, 3], group 4, pad 1 -> 16*100*2*9
    m = model([h.make_node("Conv", ["a", "w"], ["y"], group=4, pads=[1, 1, 1, 1])], [x("a", 4)], ["y"],
              [w("w", 16, 2, 3, 3)])
    assert count(m, {"a": np.ones((1, 8, 10, 10), f)}).macs == 16 * 100 * 2 * 9
    # ConvTranspose: [2,4,5,5], W [4, 3, 2, 2], stride 2 -> N*C_in*25*(C_out)*4
    m = model([h.make_node("ConvTranspose", ["a", "w"], ["y"], strides=[2, 2])], [x("a", 4)], ["y"],
              [w("w", 4, 3, 2, 2)])
    assert count(m, {"a": np.ones((2, 4, 5, 5), f)}).macs == 2 * 4 * 25 * 3 * 4
    # If: then = MatMul [3,4]x[4,8] (96), else = MatMul [3,4]x[4,2] (24); only the branch taken counts
    then_g = h.make_graph([h.make_node("MatMul", ["a", "wt"], ["t"])], "then", [],
                          [onnx.ValueInfoProto(name="t")], [w("wt", 4, 8)])
    else_g = h.make_graph([h.make_node("MatMul", ["a", "we"], ["e"]), h.make_node("Tile", ["e", "rep"], ["e2"])],
                          "else", [], [onnx.ValueInfoProto(name="e2")],
                          [w("we", 4, 2), numpy_helper.from_array(np.array([1, 4], np.int64), "rep")])
    m = model([h.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)],
              [h.make_tensor_value_info("c", TP.BOOL, []), x("a", 2)], ["y"], [])
    assert count(m, {"c": np.array(True), "a": np.ones((3, 4), f)}).macs == 96
    r = count(m, {"c": np.array(False), "a": np.ones((3, 4), f)})
    assert r.macs == 24 and r.subgraph_macs == 24 and list(r.if_branches.values()) == ["else_branch"], r
    # Loop: 3 trips of v = v @ W ([2,4]x[4,4] = 32 each) -> 96
    body = h.make_graph(
        [h.make_node("Identity", ["cond_in"], ["cond_out"]), h.make_node("MatMul", ["v_in", "wl"], ["v_out"])],
        "body",
        [h.make_tensor_value_info("i", TP.INT64, []), h.make_tensor_value_info("cond_in", TP.BOOL, []),
         x("v_in", 2)],
        [h.make_tensor_value_info("cond_out", TP.BOOL, []), x("v_out", 2)],
        [w("wl", 4, 4)],
    )
    m = model([h.make_node("Loop", ["n", "", "v0"], ["v"], body=body)],
              [h.make_tensor_value_info("n", TP.INT64, []), x("v0", 2)], ["v"], [])
    r = count(m, {"n": np.array(3, np.int64), "v0": np.ones((2, 4), f)})
    assert r.macs == 96 and r.subgraph_kernels_counted == 3, r
    # LSTM: reported apart, never in macs
    m = model([h.make_node("LSTM", ["a", "lw", "lr"], ["y"], hidden_size=5)], [x("a", 3)], ["y"],
              [w("lw", 1, 20, 3), w("lr", 1, 20, 5)])
    r = count(m, {"a": np.ones((7, 2, 3), f)})
    assert r.macs == 0 and r.recurrent_macs == 7 * 2 * 4 * 5 * (3 + 5), r
    print("ort_count selftest passed")


def _parse_kv(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for it in items:
        k, _, v = it.partition("=")
        out[k] = v
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", nargs="?")
    ap.add_argument("--selftest", action="store_true", help="check the counter on tiny hand-built graphs")
    ap.add_argument("--shape", action="append", default=[], help="input=d0,d1,...")
    ap.add_argument("--value", action="append", default=[], help="input=scalar (e.g. sr=16000)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    if a.selftest:
        selftest()
        return 0
    if not a.model:
        ap.error("a model path (or --selftest) is needed")
    shapes = {k: [int(x) for x in v.split(",") if x] for k, v in _parse_kv(a.shape).items()}
    values = {k: float(v) if "." in v else int(v) for k, v in _parse_kv(a.value).items()}
    feeds = make_feeds(a.model, shapes, values)
    r = count(a.model, feeds)
    if a.json:
        print(json.dumps(r.as_json(), indent=1))
    else:
        print(f"macs {r.macs}  by op {r.macs_by_op}  subgraph {r.subgraph_macs}  recurrent {r.recurrent_macs}")
        if r.uncounted_ops:
            print("uncounted", r.uncounted_ops)
        if r.profile_mismatches:
            print("MISMATCHES", r.profile_mismatches)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
