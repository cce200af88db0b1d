"""``export`` (spec → runnable ONNX) and ``verify`` (run it; compare with the static analysis)."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from archcost import analyze
from archcost.cost.analyze import analyze_graph
from archcost.cost.conventions import PAPER
from archcost.errors import UsageError
from archcost.frontends.loader import load_model
from archcost.runtime.export import export_model, graph_to_onnx
from archcost.runtime.verify import compare, random_inputs, run_model, verify
from tests.conftest import run_cli
from tests.onnx_builders import (
    UNKNOWN_OP,
    attention,
    concat_block,
    model,
    node,
    residual_block,
    save,
    unknown_op,
)

MOBILENET_MACS = 568_740_352  # Howard et al. 2017, Tables 6 and 7 (569M); exact figure in DESIGN.md
# Table 6/7 row α = 0.5, 160×160: "76 million" Mult-Adds; exact count by the paper's formula
MOBILENET_HALF_160_MACS = 76_524_800


@pytest.fixture(scope="module")
def mobilenet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_model("mobilenet_v1", tmp_path_factory.mktemp("export") / "m.onnx")


def test_cli_export_then_analyze_gives_the_paper_count(tmp_path: Path) -> None:
    out_file = tmp_path / "m.onnx"
    exported = run_cli("export", "mobilenet_v1", "-o", str(out_file))
    assert exported.returncode == 0, exported.stderr
    analyzed = run_cli("analyze", str(out_file), "--format", "json")
    assert analyzed.returncode == 0, analyzed.stderr
    assert json.loads(analyzed.stdout)["totals"]["macs"] == MOBILENET_MACS
    verified = run_cli("verify", str(out_file))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "568,740,352" in verified.stdout


def test_cli_verify_spec_at_other_alpha_and_resolution() -> None:
    out = run_cli("verify", "mobilenet_v1", "--set", "alpha=0.5", "--set", "resolution=160")
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"{MOBILENET_HALF_160_MACS:,}" in out.stdout


def test_exported_model_is_valid_onnx_with_the_spec_lowering(mobilenet_file: Path) -> None:
    proto = onnx.load(str(mobilenet_file))
    onnx.checker.check_model(proto, full_check=True)
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "BatchNormalization", "Relu", "GlobalAveragePool", "Flatten", "Gemm"} <= ops
    gemm = next(n for n in proto.graph.node if n.op_type == "Gemm")
    assert {a.name: a.i for a in gemm.attribute}["transB"] == 1
    depthwise = [n for n in proto.graph.node if n.op_type == "Conv"
                 and {a.name: a.i for a in n.attribute}.get("group", 1) > 1]
    assert len(depthwise) == 13  # Table 1: thirteen depthwise layers, group = channel count
    assert all(a.s == b"SAME_UPPER" for n in depthwise for a in n.attribute if a.name == "auto_pad")


@pytest.mark.parametrize("name", ["mobilenet_v1", "mobilenet_v3_small", "resnet18", "vit_b_16"])
def test_export_analysis_equals_the_spec_analysis_node_for_node(name: str, tmp_path: Path) -> None:
    spec = analyze(name)
    exported = analyze(str(export_model(name, tmp_path / f"{name}.onnx")))
    assert exported.totals == spec.totals
    assert len(exported.layers) == len(spec.layers)
    for a, b in zip(exported.layers, spec.layers, strict=True):
        assert (a.name, a.op_type, a.category, a.outputs, dict(a.terms), dict(a.params_by_kind)) == \
               (b.name, b.op_type, b.category, b.outputs, dict(b.terms), dict(b.params_by_kind))


def test_relu6_and_hard_sigmoid_keep_their_constants(tmp_path: Path) -> None:
    proto = onnx.load(str(export_model("mobilenet_v2", tmp_path / "v2.onnx")))
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    clip = next(n for n in proto.graph.node if n.op_type == "Clip")
    assert float(inits[clip.input[1]]) == 0.0 and float(inits[clip.input[2]]) == 6.0
    proto = onnx.load(str(export_model("mobilenet_v3_small", tmp_path / "v3.onnx")))
    hs = next(n for n in proto.graph.node if n.op_type == "HardSigmoid")
    assert {a.name: a.f for a in hs.attribute}["alpha"] == pytest.approx(1 / 6)


def test_export_is_seeded_and_atomic(tmp_path: Path) -> None:
    a = export_model("mobilenet_v1", tmp_path / "a.onnx", params={"alpha": "0.25"}, seed=3).read_bytes()
    b = export_model("mobilenet_v1", tmp_path / "b.onnx", params={"alpha": "0.25"}, seed=3).read_bytes()
    c = export_model("mobilenet_v1", tmp_path / "c.onnx", params={"alpha": "0.25"}, seed=4).read_bytes()
    assert a == b and a != c
    symbolic = save(attention(seq="S"), tmp_path / "att.onnx")
    with pytest.raises(UsageError, match="--set S=VALUE"):
        export_model(str(symbolic), tmp_path / "out.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.onnx", "att.onnx", "b.onnx", "c.onnx"]
    out = run_cli("export", str(symbolic), "-o", str(tmp_path / "out.onnx"))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_verify_exported_mobilenet_file(mobilenet_file: Path) -> None:
    result = verify(str(mobilenet_file))
    assert result.ok, result
    assert result.backend == "onnxruntime"
    assert result.counts[0].static == result.counts[0].recomputed == MOBILENET_MACS
    assert len(result.tensors) == 85  # 28 convs + 27 BN + 27 ReLU + pool, flatten, FC, softmax


HAND_BUILT = {
    # closed forms: residual 2 convs of 8·8·9 per output × 10·10 outputs;
    # concat 1×1 (4·6), 3×3 (5·6·9) and pooled 1×1 (3·6) branches over 2·9·9 positions;
    # attention with S = 7, D = 16: 4·S·D² + 2·S²·D
    "residual": (residual_block, {}, 2 * (8 * 8 * 9) * 100),
    "concat": (concat_block, {}, (4 * 6 + 5 * 6 * 9 + 3 * 6) * 2 * 81),
    "attention": (attention, {"S": 7}, 4 * 7 * 16**2 + 2 * 7**2 * 16),
}


@pytest.mark.parametrize("which", sorted(HAND_BUILT))
@pytest.mark.parametrize("backend", ["onnxruntime", "reference"])
def test_verify_hand_built_graphs(which: str, backend: str, tmp_path: Path) -> None:
    build, params, macs = HAND_BUILT[which]
    path = save(build(), tmp_path / f"{which}.onnx")
    result = verify(str(path), params=params, backend=backend)
    assert result.ok, result
    assert result.counts[0].static == result.counts[0].recomputed == macs
    assert result.tensors


def test_a_corrupted_inferred_shape_makes_verify_fail(tmp_path: Path) -> None:
    graph = load_model(str(save(attention(seq=7), tmp_path / "a.onnx"))).graph
    report = analyze_graph(graph, PAPER)
    proto = onnx.load(str(tmp_path / "a.onnx"))
    backend, observed = run_model(proto, random_inputs(graph, 0))
    dims = {t.name: tuple(t.dims) for t in proto.graph.initializer}
    assert compare("a", graph, report, observed, dims, backend=backend).ok
    shapes = dict(report.tensor_shapes)
    shapes["scores"] = (1, 2, 7, 8)  # the truth is [1, 2, 7, 7]
    corrupted = dataclasses.replace(report, tensor_shapes=shapes)
    result = compare("a", graph, corrupted, observed, dims, backend=backend)
    assert not result.ok
    assert [t.name for t in result.mismatched] == ["scores"]
    assert result.mismatched[0].observed == (1, 2, 7, 7)
    # and a corrupted MAC count fails on the recomputation from observed shapes
    rows = tuple(dataclasses.replace(r, terms={**r.terms, "mac": r.macs + 1}) if r.name == "scores" else r
                 for r in report.layers)
    result = compare("a", graph, dataclasses.replace(report, layers=rows), observed, dims, backend=backend)
    assert not result.ok and any("'scores'" in p for p in result.problems)


def test_verify_fails_with_exit_1_when_an_op_is_not_inferred(tmp_path: Path) -> None:
    m = model([unknown_op(["x"], "f"), node("Relu", ["f"], "y")], [("x", [2, 3])], ["y"],
              domains=[UNKNOWN_OP[1]])
    out = run_cli("verify", str(save(m, tmp_path / "m.onnx")))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "FAILED" in out.stdout and UNKNOWN_OP[0] in out.stdout


def test_symbolic_model_needs_bindings_to_verify(tmp_path: Path) -> None:
    path = save(attention(seq="S"), tmp_path / "a.onnx")
    out = run_cli("verify", str(path))
    assert out.returncode == 2 and "--set S=VALUE" in out.stderr
    assert run_cli("verify", str(path), "--set", "S=5").returncode == 0


def test_reference_fallback_when_onnxruntime_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    result = verify(str(save(residual_block(), tmp_path / "r.onnx")))
    assert result.backend == "onnx.reference" and result.ok
    with pytest.raises(UsageError, match="not installed"):
        verify(str(tmp_path / "r.onnx"), backend="onnxruntime")


def test_exported_weights_are_finite_and_input_is_seeded(tmp_path: Path) -> None:
    graph = load_model("resnet18", params={"resolution": 64}).graph
    proto = graph_to_onnx(graph, seed=1)
    _, observed = run_model(proto, random_inputs(graph, 1))
    assert np.isfinite(observed[graph.outputs[0]]).all()
