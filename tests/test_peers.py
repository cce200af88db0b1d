"""The peer conventions (fvcore, thop, ptflops) and the reconciliation view, without torch.

Each rule is checked on small ONNX graphs built with ``onnx.helper`` against a closed form
written from the tool's source (the rule modules cite the files): first as a graph without
exporter metadata, where each node stands for the ``torch.nn`` module its op type exports,
then with the dynamo exporter's metadata, where the module and the aten op decide. The
reconciliation terms must sum exactly to each peer's total minus the ``paper`` total, on the
zoo's specs, the ONNX corpus and a symbolic spec. The real tools are run in
tests/test_peers_torch.py.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import sympy

import archcost
from archcost.cost.conventions import CONVENTIONS
from archcost.cost.peers import PEERS
from archcost.cost.reconcile import reconcile
from archcost.report.reconcile import reconciliation_document
from archcost.symbols import param_symbol
from archcost.zoo import zoo_names
from tests.conftest import REPO, run_cli
from tests.onnx_builders import const, model, node, save, weight

CORPUS = sorted((REPO / "tests" / "fixtures" / "corpus").glob("*.onnx"))
TOOLS = {"fvcore": "fvcore 0.1.5.post20221221", "thop": "thop 0.1.1.post2209072238", "ptflops": "ptflops 0.7.5"}


def figures(m: onnx.ModelProto, tmp_path: Path) -> dict[str, int]:
    """Every peer's total for ``m``, with the paper MACs, each checked against its reconciliation."""
    path = save(m, tmp_path / "m.onnx")
    report = archcost.analyze(str(path))
    found = {"paper": report.totals.macs}
    for name in PEERS:
        total = archcost.analyze(str(path), convention=name).totals.cost
        assert isinstance(total, int)
        found[name] = total
    for r in reconcile(report):
        assert r.total == found[r.peer] == r.paper + sum(t.count for t in r.terms)
    return found


def one_node(op: str, x: list[int], params: list[onnx.TensorProto], **attrs: Any) -> onnx.ModelProto:
    return model([node(op, ["x", *(p.name for p in params)], "y", **attrs)], [("x", x)], ["y"], params)


# -- rules by op type (graphs without the exporter's metadata) ---------------------------------------


def test_conv_with_a_bias_adds_it_only_under_ptflops(tmp_path: Path) -> None:
    m = one_node("Conv", [1, 3, 8, 8], [weight("w", [4, 3, 3, 3]), weight("b", [4])], pads=[1, 1, 1, 1])
    mac = 1 * 4 * 8 * 8 * 3 * 3 * 3
    out = 4 * 8 * 8
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": mac, "thop": mac, "ptflops": mac + out}


def test_conv_transpose_thop_counts_with_the_conv_formula_over_the_output(tmp_path: Path) -> None:
    m = one_node("ConvTranspose", [1, 4, 8, 8], [weight("w", [4, 6, 3, 3])], strides=[2, 2])
    mac = 4 * 8 * 8 * 6 * 3 * 3  # every input element times C_out/g · K
    thop = 6 * 17 * 17 * 4 * 3 * 3  # numel(output) · C_in/g · K (thop/vision/calc_func.py)
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": mac, "thop": thop, "ptflops": mac}


def test_batch_norm(tmp_path: Path) -> None:
    params = [weight(n, [4], i) for i, n in enumerate(("scale", "bias", "mean", "var"))]
    m = one_node("BatchNormalization", [1, 4, 8, 8], params)
    n = 4 * 8 * 8
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": 2 * n, "thop": 4 * n, "ptflops": 2 * n}


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "scale-computed"])
def test_layer_norm(tmp_path: Path, affine: bool) -> None:
    n = 1 * 5 * 8
    if affine:
        m = one_node("LayerNormalization", [1, 5, 8], [weight("g", [8]), weight("b", [8], 1)])
    else:  # a scale that is not stored (a graph input) is not an affine γ
        m = model([node("LayerNormalization", ["x", "g"], "y")], [("x", [1, 5, 8]), ("g", [8])], ["y"])
    expected = {"fvcore": 5 * n, "thop": 4 * n} if affine else {"fvcore": 4 * n, "thop": 2 * n}
    assert figures(m, tmp_path) == {"paper": 0, **expected, "ptflops": n}  # ptflops reads `affine`, not
    # LayerNorm's `elementwise_affine`: 1 per element either way


def test_instance_norm(tmp_path: Path) -> None:
    m = one_node("InstanceNormalization", [1, 4, 8, 8], [weight("g", [4]), weight("b", [4], 1)])
    n = 4 * 8 * 8
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": 5 * n, "thop": 4 * n, "ptflops": 2 * n}


@pytest.mark.parametrize(("op", "ptflops"), [("Relu", 2), ("Clip", 1), ("PRelu", 2), ("Gelu", 2), ("LeakyRelu", 1),
                                             ("Sigmoid", 0), ("HardSwish", 0), ("Tanh", 0)])
def test_activations(tmp_path: Path, op: str, ptflops: int) -> None:
    """ptflops: nn.ReLU, nn.PReLU and nn.GELU count twice (their forward calls the patched F.relu,
    F.prelu, F.gelu); nn.ReLU6 once (it calls F.hardtanh); thop counts only PReLU; fvcore none."""
    params = [weight("slope", [4, 1, 1])] if op == "PRelu" else []
    m = one_node(op, [1, 4, 8, 8], params, **({"min": 0.0, "max": 6.0} if op == "Clip" else {}))
    if op == "Clip":  # opset ≥ 11 takes min and max as inputs
        m = model([node("Clip", ["x", "lo", "hi"], "y")], [("x", [1, 4, 8, 8])], ["y"],
                  [const("lo", np.float32(0), np.float32), const("hi", np.float32(6), np.float32)])
    n = 4 * 8 * 8
    thop = n if op == "PRelu" else 0
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": 0, "thop": thop, "ptflops": ptflops * n}


@pytest.mark.parametrize(("op", "thop"), [("MaxPool", 0), ("AveragePool", 4 * 4 * 4)])
def test_windowed_pools(tmp_path: Path, op: str, thop: int) -> None:
    m = one_node(op, [1, 4, 8, 8], [], kernel_shape=[2, 2], strides=[2, 2])
    n = 4 * 8 * 8
    # ptflops: the module's 1 per input element, and again for the patched F.*_pool2d it calls.
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": 0, "thop": thop, "ptflops": 2 * n}


@pytest.mark.parametrize("op", ["GlobalAveragePool", "ReduceMean"])
def test_global_average_pool(tmp_path: Path, op: str) -> None:
    if op == "ReduceMean":
        m = model([node("ReduceMean", ["x", "axes"], "y", keepdims=1)], [("x", [1, 4, 8, 8])], ["y"],
                  [const("axes", [2, 3])])
    else:
        m = one_node(op, [1, 4, 8, 8], [])
    n, out = 4 * 8 * 8, 4
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": n, "thop": n + out, "ptflops": 2 * n}


def test_a_mean_that_drops_its_axes_is_no_pool(tmp_path: Path) -> None:
    m = model([node("ReduceMean", ["x", "axes"], "y", keepdims=0)], [("x", [1, 4, 8, 8])], ["y"],
              [const("axes", [2, 3])])
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": 0, "thop": 0, "ptflops": 0}


def test_gemm_is_a_linear(tmp_path: Path) -> None:
    m = one_node("Gemm", [2, 8], [weight("w", [6, 8]), weight("b", [6])], transB=1)
    mac = 2 * 6 * 8
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": mac, "thop": mac, "ptflops": mac + 2 * 6}


def test_matmul_then_bias_add_is_a_linear(tmp_path: Path) -> None:
    m = model([node("MatMul", ["x", "w"], "h"), node("Add", ["h", "b"], "y")], [("x", [1, 5, 8])], ["y"],
              [weight("w", [8, 6]), weight("b", [6])])
    mac = 5 * 8 * 6
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": mac, "thop": mac, "ptflops": mac + 5 * 6}


def test_a_matmul_of_two_activations_is_functional(tmp_path: Path) -> None:
    m = model([node("MatMul", ["a", "b"], "y")], [("a", [2, 5, 8]), ("b", [2, 8, 3])], ["y"])
    mac = 2 * 5 * 8 * 3
    # thop sees no module; fvcore and ptflops count torch.matmul as numel(a)·b[-1].
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": mac, "thop": 0, "ptflops": mac}


def test_softmax(tmp_path: Path) -> None:
    m = one_node("Softmax", [1, 5, 8], [], axis=-1)
    rows, n = 5, 8
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": 0, "thop": rows * (3 * n - 1), "ptflops": rows * n}


@pytest.mark.parametrize(("mode", "fvcore", "thop"), [("nearest", 1, 1), ("linear", 4, 11)])
def test_resize_is_an_upsample(tmp_path: Path, mode: str, fvcore: int, thop: int) -> None:
    m = model([node("Resize", ["x", "", "scales"], "y", mode=mode)], [("x", [1, 4, 4, 4])], ["y"],
              [const("scales", [1, 1, 2, 2], np.float32)])
    out = 4 * 8 * 8
    # ptflops: nn.Upsample's hook, then F.interpolate, which the module calls, again.
    assert figures(m, tmp_path) == {"paper": 0, "fvcore": fvcore * out, "thop": thop * out, "ptflops": 2 * out}


def test_einsum_fvcore_rounds_numpys_flop_count_to_four_digits(tmp_path: Path) -> None:
    m = model([node("Einsum", ["a", "b"], "y", equation="bij,bjk->bik")], [("a", [1, 37, 41]), ("b", [1, 41, 43])],
              ["y"])
    mac = 37 * 41 * 43  # 65,231
    # numpy.einsum_path prints "Optimized FLOP count: 1.305e+05" (2·65,231 + 1); fvcore halves it.
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": 65_250, "thop": 0, "ptflops": 0}


# -- rules by module and aten op (the dynamo exporter's metadata) ------------------------------------


def scoped(n: onnx.NodeProto, names: list[str], classes: list[str]) -> onnx.NodeProto:
    """``n`` with dynamo metadata: module names from the root, then the op; classes likewise."""
    n.metadata_props.add(key="pkg.torch.onnx.name_scopes", value=repr(names))
    n.metadata_props.add(key="pkg.torch.onnx.class_hierarchy", value=repr(classes))
    return n


def test_a_relu_module_and_a_functional_relu(tmp_path: Path) -> None:
    nodes = [scoped(node("Relu", ["x"], "a"), ["", "act", "relu"],
                    ["Net", "torch.nn.modules.activation.ReLU", "aten.relu.default"]),
             scoped(node("Relu", ["a"], "y"), ["", "relu_1"], ["Net", "aten.relu.default"])]
    n = 4 * 8 * 8
    # ptflops: nn.ReLU's hook and the F.relu it calls, then the F.relu in Net.forward.
    assert figures(model(nodes, [("x", [1, 4, 8, 8])], ["y"]), tmp_path) == {
        "paper": 0, "fvcore": 0, "thop": 0, "ptflops": 3 * n}


def test_attention_matmuls_of_scaled_dot_product_attention(tmp_path: Path) -> None:
    sdpa = "aten.scaled_dot_product_attention.default"
    mha = ["Net", "torch.nn.modules.activation.MultiheadAttention"]
    nodes = [scoped(node("MatMul", ["q", "k"], "s"), ["", "attn", "sdpa"], [*mha, sdpa]),
             scoped(node("Softmax", ["s"], "p", axis=-1), ["", "attn", "sdpa"], [*mha, sdpa]),
             scoped(node("MatMul", ["p", "v"], "y"), ["", "attn", "sdpa"], [*mha, sdpa])]
    m = model(nodes, [("q", [1, 2, 5, 4]), ("k", [1, 2, 4, 5]), ("v", [1, 2, 5, 4])], ["y"])
    mac = 2 * (2 * 5 * 5 * 4)
    # fvcore: sdpa unsupported; thop: MultiheadAttention has no rule; ptflops: its MHA formula
    # counts both products and the softmax, 1 per score.
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": 0, "thop": 0, "ptflops": mac + 2 * 5 * 5}


def test_a_conv_with_the_exporters_zero_bias_has_no_bias(tmp_path: Path) -> None:
    conv = ["Net", "torch.nn.modules.conv.Conv2d", "aten.conv2d.default"]
    nodes = [scoped(node("Conv", ["x", "w", "zero"], "y", pads=[1, 1, 1, 1]), ["", "conv", "conv2d"], conv)]
    m = model(nodes, [("x", [1, 3, 8, 8]), ("zero", [4])], ["y"], [weight("w", [4, 3, 3, 3])])
    mac = 4 * 8 * 8 * 3 * 9
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": mac, "thop": mac, "ptflops": mac}


def test_a_linear_inside_a_custom_module_is_unseen_by_thop_and_ptflops(tmp_path: Path) -> None:
    nodes = [scoped(node("Gemm", ["x", "w"], "y", transB=1), ["", "block", "linear"],
                    ["Net", "mypkg.Block", "aten.linear.default"])]
    m = model(nodes, [("x", [2, 8])], ["y"], [weight("w", [6, 8])])
    mac = 2 * 6 * 8  # F.linear: fvcore counts aten::linear, ptflops does not patch F.linear
    assert figures(m, tmp_path) == {"paper": mac, "fvcore": mac, "thop": 0, "ptflops": 0}


# -- the reconciliation, on real graphs --------------------------------------------------------------


def check_reconciliation(report: archcost.Report, model_name: str, **kwargs: Any) -> None:
    """Every peer's terms sum exactly to its total minus paper, the total its convention gives."""
    for found in reconcile(report):
        assert found.paper == report.totals.macs
        assert found.total == found.paper + sum(t.count for t in found.terms)
        peer_report = archcost.analyze(model_name, convention=found.peer, **kwargs)
        assert found.total == peer_report.totals.cost
        assert len({t.label for t in found.terms}) == len(found.terms)
        assert all(t.count != 0 for t in found.terms)


@pytest.mark.parametrize("name", zoo_names())
def test_reconciliation_sums_exactly_on_every_zoo_spec(name: str) -> None:
    check_reconciliation(archcost.analyze(name), name)


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_reconciliation_sums_exactly_on_the_onnx_corpus(path: Path) -> None:
    check_reconciliation(archcost.analyze(str(path)), str(path))


def test_reconciliation_of_a_symbolic_spec_is_exact_as_a_formula() -> None:
    symbolic = archcost.analyze("mobilenet_v1", symbols=None)
    concrete = archcost.analyze("mobilenet_v1", alpha=0.5, resolution=160)
    at = {param_symbol("alpha"): sympy.Rational(1, 2), param_symbol("resolution"): 160}
    for formula, figure in zip(reconcile(symbolic), reconcile(concrete), strict=True):
        assert sympy.simplify(formula.total - formula.paper - sum(t.count for t in formula.terms)) == 0
        assert formula.total.subs(at) == figure.total
        assert figure.total == archcost.analyze("mobilenet_v1", convention=figure.peer, alpha=0.5,
                                                resolution=160).totals.cost


def test_the_mobilenet_v1_spec_gives_the_issues_figures_plus_its_softmax() -> None:
    """Issue 16 quotes fvcore 578,875,904, thop 588,962,304 and ptflops 589,012,456 for a torch
    MobileNetV1 (tests/test_peers_torch.py runs the tools on one). The spec ends in Table 1's
    softmax layer, which that module has not: fvcore counts no softmax, thop counts an nn.Softmax
    as rows·(3n − 1) = 2,999, ptflops the F.softmax it calls as 1 per element = 1,000."""
    totals = {name: archcost.analyze("mobilenet_v1", convention=name).totals.cost for name in PEERS}
    assert totals == {"fvcore": 578_875_904, "thop": 588_962_304 + 2_999, "ptflops": 589_012_456 + 1_000}


def test_the_mobilenet_v1_spec_without_its_softmax_gives_the_issues_figures(write_spec: Any) -> None:
    text = (REPO / "specs" / "mobilenet_v1.yaml").read_text(encoding="utf-8")
    softmax = "  - {op: softmax, name: softmax}"
    assert softmax in text
    path = write_spec(text.replace(softmax, "  # no softmax: the torch module returns logits"))
    totals = {name: archcost.analyze(str(path), convention=name).totals.cost for name in PEERS}
    assert totals == {"fvcore": 578_875_904, "thop": 588_962_304, "ptflops": 589_012_456}
    assert archcost.analyze(str(path)).totals.macs == 568_740_352


def test_each_convention_names_its_tool_and_the_op_type_fallback() -> None:
    for name, tool in TOOLS.items():
        description = CONVENTIONS[name].description
        assert tool in description and "op type" in description, name
    assert list(CONVENTIONS) == ["paper", "flops", "fvcore", "thop", "ptflops"]


# -- the CLI -----------------------------------------------------------------------------------------


def test_help_lists_every_convention() -> None:
    result = run_cli("analyze", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "{paper,flops,fvcore,thop,ptflops}" in text
    assert "--reconcile" in text


def test_reconcile_in_every_format() -> None:
    report = archcost.analyze("mobilenet_v1")
    expected = {r.peer: r for r in reconcile(report)}
    tables = json.loads(run_cli("analyze", "mobilenet_v1", "--reconcile", "--format", "json").stdout)["tables"]
    assert [t["key"] for t in tables] == [f"reconcile_{p}" for p in PEERS]
    for table in tables:
        peer = expected[table["key"].removeprefix("reconcile_")]
        counts = [row["count"] for row in table["rows"]]
        assert counts == [peer.paper, *(t.count for t in peer.terms)]
        assert table["total"]["count"] == peer.total == sum(counts)
    text = run_cli("analyze", "mobilenet_v1", "--reconcile").stdout
    assert "fvcore total (fvcore 0.1.5.post20221221)" in text and "578,875,904" in text
    assert "ReLU counted twice (its forward calls the patched F.relu)" in text
    markdown = run_cli("analyze", "mobilenet_v1", "--reconcile", "--format", "markdown").stdout
    assert "| batch_norm: 2 per element" in markdown
    sections = run_cli("analyze", "mobilenet_v1", "--reconcile", "--format", "csv").stdout.split("\n\n")
    assert len(sections) == len(PEERS)
    for section in sections:
        rows = list(csv.reader(io.StringIO(section.split("\n", 1)[1])))
        body, total = rows[1:-1], rows[-1]
        assert sum(int(r[1]) for r in body) == int(total[1])


def test_reconciliation_tables_sum_to_their_totals_and_say_when_they_go_by_op_type() -> None:
    doc = reconciliation_document(archcost.analyze("mobilenet_v1"))
    for table in doc.tables:
        assert table.summed == ("count",) and table.total is not None
        assert sum(table.values("count")) == table.total[table.column("count")]
        assert any("no exporter module metadata" in note for note in table.notes)


def test_a_negative_term_renders_its_share_with_a_sign(tmp_path: Path) -> None:
    m = model([node("MatMul", ["a", "b"], "y")], [("a", [2, 5, 8]), ("b", [2, 8, 3])], ["y"])
    path = save(m, tmp_path / "m.onnx")
    lines = run_cli("analyze", str(path), "--reconcile").stdout.splitlines()
    dropped = next(line for line in lines if line.startswith("functional matmuls and linears"))
    assert dropped.split()[-2:] == ["-240", "-100.00"]
