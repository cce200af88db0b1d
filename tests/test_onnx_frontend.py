"""The ONNX front end: schema defaults, symbolic dims, constant folding, unknown ops,
and the promise that analysis never reads external data nor creates SymPy objects
for a concrete model."""

from __future__ import annotations

import builtins
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, defs, helper, numpy_helper

from archcost import analyze
from archcost.categories import Category
from archcost.errors import UsageError
from archcost.ops import REGISTRY
from archcost.report.analysis import render
from archcost.runtime.export import export_model
from archcost.symbols import dim_symbol
from tests.conftest import REPO, run_cli
from tests.onnx_builders import (
    UNKNOWN_OP,
    attention,
    concat_block,
    const,
    model,
    node,
    residual_block,
    save,
    unknown_op,
    weight,
)

MOBILENET_MACS = 568_740_352  # Howard et al. 2017, Tables 6 and 7 (569M); exact count in DESIGN.md


# --- attribute defaults: one source, checked against the ONNX schemas --------------------

# onnxruntime registers a few ops in the default domain that onnx has no schema for
# (SimplifiedLayerNormalization); their defaults follow onnxruntime's contrib schema instead.
ENTRIES = sorted((e for e in REGISTRY.values() if e.domain == "" and defs.has(e.op_type)), key=lambda e: e.op_type)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.op_type for e in ENTRIES])
def test_registry_defaults_match_the_onnx_schema(entry) -> None:  # type: ignore[no-untyped-def]
    schema = defs.get_schema(entry.op_type)
    for key, ours in entry.defaults.items():
        assert key in schema.attributes, f"{entry.op_type}.{key} is not an attribute of the schema"
        default = schema.attributes[key].default_value
        assert default.name, f"{entry.op_type}.{key} has no default in the schema"
        theirs = helper.get_attribute_value(default)
        if isinstance(theirs, bytes):
            theirs = theirs.decode()
        if isinstance(theirs, float):
            # schema defaults are float32: compare at float32 precision (an attribute, not a count)
            assert math.isclose(ours, theirs, rel_tol=1e-6)
        else:
            assert ours == theirs


# --- onnx.shape_inference as an independent cross-check -----------------------------------

def _mobilenet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_model("mobilenet_v1", tmp_path_factory.mktemp("mb") / "mobilenet_v1.onnx")


@pytest.fixture(scope="module")
def mobilenet_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _mobilenet(tmp_path_factory)


@pytest.fixture(scope="module")
def mobilenet_symbolic_batch(mobilenet_onnx: Path) -> Path:
    proto = onnx.load(str(mobilenet_onnx))
    for value_info in (*proto.graph.input, *proto.graph.output):
        dim = value_info.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "N"
    return save(proto, mobilenet_onnx.parent / "mobilenet_v1_N.onnx")


@pytest.mark.parametrize("build", [residual_block, concat_block, lambda: attention(seq=7)],
                         ids=["residual", "concat", "attention"])
def test_shapes_agree_with_onnx_shape_inference(build, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proto = build()
    report = analyze(str(save(proto, tmp_path / "m.onnx")))
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True, data_prop=True)
    checked = 0
    for value_info in inferred.graph.value_info:
        dims = value_info.type.tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            assert report.tensor_shapes[value_info.name] == tuple(d.dim_value for d in dims), value_info.name
            checked += 1
    assert checked >= 5


# --- symbolic dims ------------------------------------------------------------------------

def test_symbolic_batch_gives_macs_times_n(mobilenet_symbolic_batch: Path) -> None:
    report = analyze(str(mobilenet_symbolic_batch))
    n = dim_symbol("N")
    assert sympy.expand(report.totals.macs - MOBILENET_MACS * n) == 0
    assert report.to_dict()["totals"]["macs"] == "568740352*N"
    assert report.tensor_shapes[report.graph_outputs[0]] == (n, 1000)


def test_symbolic_batch_bound_with_set(mobilenet_symbolic_batch: Path) -> None:
    out = run_cli("analyze", str(mobilenet_symbolic_batch), "--set", "N=3", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["totals"]["macs"] == 3 * MOBILENET_MACS


def test_attention_macs_are_quadratic_in_sequence_length(tmp_path: Path) -> None:
    report = analyze(str(save(attention(seq="S", dim=16, heads=2), tmp_path / "a.onnx")))
    s = dim_symbol("S")
    # Q, K, V and output projections: 4·S·D²; QKᵀ and AV: 2·H·S²·(D/H) = 2·S²·D
    assert sympy.expand(report.totals.macs - (4 * s * 16**2 + 2 * s**2 * 16)) == 0
    attn = report.by_category()[Category.ATTENTION_MATMUL].cost
    assert sympy.degree(attn, s) == 2
    assert sympy.expand(attn - 2 * s**2 * 16) == 0


def test_a_dim_with_no_name_becomes_a_symbol(tmp_path: Path) -> None:
    m = model([node("Conv", ["x", "w"], "y")], [("x", [None, 3, 8, 8])], ["y"], [weight("w", [4, 3, 1, 1])])
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert sympy.expand(report.totals.macs - 4 * 3 * 64 * dim_symbol("x_dim0")) == 0


SYMBOLIC_MODELS = {
    "attention-S": (lambda: attention(seq="S"), ("S",)),
    "attention-B-S": (lambda: attention(seq="S", batch="B"), ("B", "S")),
    "residual-N": (lambda: _with_batch(residual_block(), "N"), ("N",)),
    "concat-N": (lambda: _with_batch(concat_block(), "N"), ("N",)),
}


def _with_batch(proto: onnx.ModelProto, name: str) -> onnx.ModelProto:
    dim = proto.graph.input[0].type.tensor_type.shape.dim[0]
    dim.ClearField("dim_value")
    dim.dim_param = name
    return proto


@settings(max_examples=15, deadline=None)
@given(value=st.integers(min_value=1, max_value=64), which=st.sampled_from(sorted(SYMBOLIC_MODELS)))
def test_symbolic_then_substitute_equals_the_fast_path(value: int, which: str, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    build, dims = SYMBOLIC_MODELS[which]
    path = save(build(), tmp_path_factory.mktemp("p") / "m.onnx")
    symbolic = analyze(str(path))
    fast = analyze(str(path), params={d: value for d in dims})
    point = {dim_symbol(d): value for d in dims}
    assert isinstance(fast.totals.macs, int)
    assert sympy.sympify(symbolic.totals.macs).subs(point) == fast.totals.macs
    assert sympy.sympify(symbolic.totals.cost).subs(point) == fast.totals.cost
    for sym_row, row in zip(symbolic.layers, fast.layers, strict=True):
        assert sympy.sympify(sym_row.macs).subs(point) == row.macs
        assert tuple(sympy.sympify(d).subs(point) for d in sym_row.outputs[0]) == row.outputs[0]


def test_concrete_onnx_model_creates_no_sympy_object(mobilenet_onnx: Path, tmp_path: Path) -> None:
    attention_path = save(attention(seq=9), tmp_path / "a.onnx")
    code = (
        "import sys, archcost\n"
        "from archcost.report.analysis import render\n"
        f"r = archcost.analyze({str(mobilenet_onnx)!r}); render(r, 'table'); render(r, 'json')\n"
        f"a = archcost.analyze({str(attention_path)!r}); render(a, 'table')\n"
        f"assert r.totals.macs == {MOBILENET_MACS}\n"
        "print('sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "False"


def test_unknown_binding_names_the_dims(tmp_path: Path) -> None:
    path = save(attention(seq="S"), tmp_path / "a.onnx")
    with pytest.raises(UsageError, match=r"'batch'; its dynamic dimensions: S$"):
        analyze(str(path), params={"batch": 2})
    with pytest.raises(UsageError, match="whole number ≥ 0"):
        analyze(str(path), params={"S": -1})


# --- the graph as written -----------------------------------------------------------------

def test_onnx_mobilenet_matches_the_spec_category_table(mobilenet_onnx: Path) -> None:
    onnx_report, spec_report = analyze(str(mobilenet_onnx)), analyze("mobilenet_v1")
    shares = {c: (s.cost, s.weights) for c, s in onnx_report.by_category().items()}
    assert shares == {c: (s.cost, s.weights) for c, s in spec_report.by_category().items()}
    # Table 2 (Howard et al. 2017): 1×1 convs hold 94.86% of the Mult-Adds
    assert round(100 * shares[Category.CONV_1X1][0] / MOBILENET_MACS, 2) == 94.86
    assert "Conv 1×1 (pointwise)" in render(onnx_report, "table")


def test_unknown_ops_are_listed_and_strict_fails(tmp_path: Path) -> None:
    m = model([node("Relu", ["x"], "r"), unknown_op(["r"], "f"), node("Relu", ["f"], "y")],
              [("x", [2, 3])], ["y"], domains=[UNKNOWN_OP[1]])
    path = save(m, tmp_path / "m.onnx")
    report = analyze(str(path))
    assert [(u.op_type, u.domain) for u in report.unknown] == [UNKNOWN_OP]
    assert report.uncosted == ("y",)
    out = run_cli("analyze", str(path))
    assert out.returncode == 0 and UNKNOWN_OP[0] in out.stdout
    assert run_cli("analyze", str(path), "--strict").returncode == 1


def test_an_unknown_op_inside_an_if_branch_is_reported_not_dropped(tmp_path: Path) -> None:
    # The If itself has a rule (tests/test_control_flow.py); an op without one inside a
    # branch is still listed, with its path, and the If downstream of it is uncosted.
    branch = helper.make_graph([unknown_op(["x"], "b", name="inner")], "branch", [],
                               [helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 3])])
    m = model([node("ReduceMax", ["x"], "m", keepdims=0), node("Greater", ["m", "zero"], "cond"),
               node("If", ["cond"], "y", then_branch=branch, else_branch=branch)],
              [("x", [2, 3])], ["y"], [const("zero", np.float32(0), np.float32)],
              domains=[UNKNOWN_OP[1]])
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert [(u.op_type, sorted(u.nodes)) for u in report.unknown] == [
        (UNKNOWN_OP[0], ["y/else_branch/inner", "y/then_branch/inner"])]
    assert report.uncosted == ("y",)


def test_old_style_initializers_listed_as_inputs_are_parameters(tmp_path: Path) -> None:
    m = model([node("Conv", ["x", "w"], "y")], [("x", [1, 3, 8, 8]), ("w", [4, 3, 1, 1])], ["y"],
              [weight("w", [4, 3, 1, 1])])
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert report.graph_inputs == ("x",)
    assert report.totals.params_by_kind["weight"] == 12


def test_unnamed_and_duplicate_node_names_are_made_unique(tmp_path: Path) -> None:
    m = model([helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"], name="r"),
               helper.make_node("Relu", ["b"], ["y"], name="r")], [("x", [2])], ["y"])
    report = analyze(str(save(m, tmp_path / "m.onnx")))
    assert [r.name for r in report.layers] == ["Relu_0", "r", "r_2"]


# --- static means static: external data is never read ---------------------------------------

def _external_model(folder: Path, location: str) -> Path:
    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", str(4 * 108))):
        w.external_data.add(key=key, value=value)
    m = model([node("Conv", ["x", "w"], "y", pads=[1, 1, 1, 1])], [("x", [1, 3, 8, 8])], ["y"], [w])
    return save(m, folder / "model.onnx")


def test_analyze_never_reads_external_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _external_model(tmp_path, "weights.bin")  # weights.bin does not exist
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    report = analyze(str(path))
    monkeypatch.undo()
    assert report.totals.macs == 4 * 64 * 27  # 4 filters × 8·8 outputs × 3·3·3
    assert report.totals.params_by_kind["weight"] == 108  # from the dims alone
    assert not [f for f in opened if "weights.bin" in f]
    assert not (tmp_path / "weights.bin").exists()


def test_nodes_read_from_onnx_equal_constructed_op_nodes(mobilenet_onnx: Path) -> None:
    """The front end builds nodes with OpNode.adopt (for speed); they must be ordinary frozen OpNodes."""
    import dataclasses
    from types import MappingProxyType

    from archcost.frontends.onnx import load_onnx_graph
    from archcost.graph import OpNode

    graph, _ = load_onnx_graph(mobilenet_onnx, "m.onnx", bindings={}, symbols=())
    nodes = list(graph.topological_nodes())
    assert nodes
    for op in nodes:
        fields = {f.name: getattr(op, f.name) for f in dataclasses.fields(OpNode)}
        assert set(vars(op)) == set(fields)
        assert type(op.attrs) is MappingProxyType
        assert op == OpNode(**fields)
        with pytest.raises(dataclasses.FrozenInstanceError):
            op.name = "changed"  # type: ignore[misc]
