"""Where the cost goes by module: ``Report.by_module`` and ``analyze --by module``.

Expected figures come from closed forms written here (a bottleneck's four convolutions, a
Llama decoder layer's projections and attention), and from two exporters agreeing: the
dynamo and TorchScript exports of one Llama record their module scopes differently
(metadata against ``/``-separated names) and must give the same tree.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import onnx
import pytest
import sympy
from onnx import TensorProto, helper

import archcost

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"


def _bottleneck_macs(size_in: int, cin: int, mid: int, stride: int) -> int:
    """torchvision's Bottleneck (stride on the 3×3): 1×1 in, 3×3, 1×1 out, plus a 1×1 strided
    projection when the shape changes."""
    size_out = size_in // stride
    cout = 4 * mid
    macs = size_in * size_in * cin * mid + size_out * size_out * (9 * mid * mid + mid * cout)
    if stride != 1 or cin != cout:
        macs += size_out * size_out * cin * cout
    return macs


def test_spec_blocks_and_repeats_are_modules_with_closed_form_costs() -> None:
    report = archcost.analyze("resnet50")
    modules = {m.name: m for m in report.by_module(2)}
    stages = [(1, 64, 56, 1, 3), (2, 128, 56, 2, 4), (3, 256, 28, 2, 6), (4, 512, 14, 2, 3)]
    cin = 64
    for stage, mid, size, stride, blocks in stages:
        first = _bottleneck_macs(size, cin, mid, stride)
        rest = _bottleneck_macs(size // stride, 4 * mid, mid, 1)
        assert modules[f"layer{stage}_0"].macs == first
        assert modules[f"layer{stage}_0"].kind == "bottleneck"
        # The repeated blocks form one module of their copies, each a module of its own.
        group = modules[f"layer{stage}"]
        assert (group.kind, group.depth, group.macs) == ("bottleneck×" + str(blocks - 1), 1, (blocks - 1) * rest)
        for copy in range(1, blocks):
            assert modules[f"layer{stage}_{copy}"].macs == rest
            assert modules[f"layer{stage}_{copy}"].depth == 2
        cin = 4 * mid
    assert modules["conv1"].macs == 112 * 112 * 64 * 3 * 7 * 7
    assert modules["fc"].macs == 2048 * 1000


def test_the_root_is_the_model_and_every_parent_covers_its_children() -> None:
    report = archcost.analyze("mobilenet_v2")
    tree = report.by_module()
    root = tree[0]
    assert (root.name, root.depth, root.macs, root.params) == ("", 0, report.totals.macs, report.totals.params)
    assert root.nodes == len(report.layers)
    children: dict[str, int] = {}
    parent_at: dict[int, str] = {}
    for m in tree[1:]:
        parent = parent_at[m.depth - 1] if m.depth > 1 else ""
        children[parent] = children.get(parent, 0) + m.macs
        parent_at[m.depth] = m.name
    by_name = {m.name: m for m in tree}
    for name, total in children.items():
        assert total <= by_name[name].macs, name


def test_depth_limits_the_tree() -> None:
    report = archcost.analyze("resnet50")
    assert [m.depth for m in report.by_module(0)] == [0]
    assert max(m.depth for m in report.by_module(1)) == 1
    assert max(m.depth for m in report.by_module()) == 3  # repeat group, block, layer
    with pytest.raises(ValueError, match="depth"):
        report.by_module(-1)


def _llama_closed_form(batch: sympy.Symbol, seq: sympy.Symbol, past: sympy.Symbol) -> dict[str, sympy.Expr]:
    """tools/corpus/torch_models.py's LLAMA_CFG: hidden 32, 4 heads of 8, 2 KV heads, MLP 64,
    vocabulary 500, two layers."""
    hidden, heads, kv_heads, head_dim, mlp, vocab = 32, 4, 2, 8, 64, 500
    tokens = batch * seq
    attention_proj = tokens * hidden * (2 * heads * head_dim + 2 * kv_heads * head_dim)
    scores = 2 * batch * heads * seq * (past + seq) * head_dim  # QKᵀ and the weighted sum of V
    layer = attention_proj + scores + 3 * tokens * hidden * mlp
    return {"model.model.layers.0": layer, "model.model.layers.1": layer,
            "model.model.layers.0.self_attn": attention_proj + scores,
            "model.model.layers.0.mlp": 3 * tokens * hidden * mlp,
            "model.lm_head": tokens * hidden * vocab, "model.model.embed_tokens": sympy.Integer(0)}


@pytest.mark.parametrize("export", ["dynamo", "torchscript"])
def test_exported_llama_blocks_are_formulas_in_batch_and_sequence(export: str) -> None:
    report = archcost.analyze(str(CORPUS / f"llama_gqa_kv_{export}.onnx"))
    assert report.has_module_scopes
    symbols = {s.name: s for s in report.totals.macs.free_symbols}
    expected = _llama_closed_form(symbols["batch"], symbols["sequence"], symbols["past_sequence"])
    modules = {m.name: m for m in report.by_module()}
    for name, macs in expected.items():
        assert sympy.expand(modules[name].macs - macs) == 0, name


def test_two_exporters_give_the_same_module_tree() -> None:
    dynamo = archcost.analyze(str(CORPUS / "hf_vit_dynamo.onnx")).by_module(3)
    script = archcost.analyze(str(CORPUS / "hf_vit_torchscript.onnx")).by_module(3)
    costed = {m.name: m.macs for m in dynamo if m.macs != 0}
    assert len(costed) > 5
    assert {m.name: m.macs for m in script if m.name in costed} == costed
    # The dynamo export also records classes; TorchScript names carry none.
    assert {m.kind for m in dynamo if m.depth} - {""} and not {m.kind for m in script} - {""}


def _unscoped_model(path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 4], [0.0] * 32)
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    onnx.save(helper.make_model(helper.make_graph([node], "g", [x], [y], [w])), path)


def test_a_graph_without_scopes_is_one_module_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "plain.onnx"
    _unscoped_model(path)
    report = archcost.analyze(str(path))
    assert not report.has_module_scopes
    assert [(m.name, m.macs) for m in report.by_module()] == [("", 32)]
    out = _cli("analyze", str(path), "--by", "module")
    assert out.returncode == 0
    assert "records no module scopes" in out.stdout


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "archcost", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_cli_tree_csv_and_json_carry_the_modules() -> None:
    text = _cli("analyze", "mobilenet_v1", "--by", "module", "--depth", "1")
    assert text.returncode == 0, text.stderr
    assert "· sep9 " in text.stdout and "· sep7 " in text.stdout and "sep7_2" not in text.stdout
    csv_out = _cli("analyze", "mobilenet_v1", "--by", "module", "--format", "csv")
    header, *rows = csv_out.stdout.splitlines()
    assert header.split(",")[:3] == ["module", "depth", "class"]
    assert any(r.startswith("sep9.pw,2,conv,") for r in rows)
    assert any(r.startswith("sep7_2.pw,3,conv,") for r in rows)
    data = json.loads(_cli("analyze", "mobilenet_v1", "--format", "json").stdout)
    report = archcost.analyze("mobilenet_v1")
    assert [(m["name"], m["macs"]) for m in data["modules"]] == [(m.name, m.macs) for m in report.by_module()]
    assert data["layers"][3]["module"] == "sep1.dw"


def test_bad_depth_is_one_line_and_exit_2() -> None:
    out = _cli("analyze", "mobilenet_v1", "--by", "module", "--depth", "two")
    assert out.returncode == 2
    assert "--depth" in out.stderr and "Traceback" not in out.stderr


def test_hostile_module_names_are_data_in_every_sink(tmp_path: Path) -> None:
    path = tmp_path / "hostile.onnx"
    _unscoped_model(path)
    model = onnx.load(path)
    hostile = "=cmd|' -C calc'!A0 | <img src=x onerror=alert(1)>"
    model.graph.node[0].name = f"/{hostile}/MatMul"
    onnx.save(model, path)
    assert archcost.analyze(str(path)).by_module()[1].name == hostile
    csv_out = _cli("analyze", str(path), "--by", "module", "--format", "csv").stdout
    assert "\n=cmd" not in csv_out and ",=cmd" not in csv_out and "'=cmd" in csv_out
    markdown = _cli("analyze", str(path), "--by", "module", "--format", "markdown").stdout
    assert "<img" not in markdown and "| <" not in markdown


def test_dynamo_metadata_lists_are_parsed_not_evaluated() -> None:
    from archcost.frontends.scopes import node_scope, string_list

    assert string_list("['', 'a.b', \"it's\", 'x\\'y']") == ["", "a.b", "it's", "x'y"]
    for bad in ("__import__('os')", "['a', b]", "['a'", "[1, 2]", ""):
        assert string_list(bad) is None, bad
    class Entry:
        def __init__(self, key: str, value: str) -> None:
            self.key, self.value = key, value

    entries = [Entry("pkg.torch.onnx.name_scopes", "['', 'layer1', 'layer1.0', 'conv2d']"),
               Entry("pkg.torch.onnx.class_hierarchy",
                     "['m.ResNet', 'torch.nn.Sequential', 'tv.Bottleneck', 'aten.conv2d.default']")]
    scope, origin = node_scope("node_7", entries, {})
    assert scope == (("layer1", "Sequential"), ("layer1.0", "Bottleneck"))
    assert origin == "aten.conv2d.default"
    assert node_scope("/layer1/layer1.0/conv1/Conv", [], {}) == (
        (("layer1", ""), ("layer1.0", ""), ("layer1.0.conv1", "")), "")
    assert node_scope("Conv_3", [], {}) == ((), "")


def test_a_local_function_body_sits_in_its_callers_module(tmp_path: Path) -> None:
    body = helper.make_node("MatMul", ["a", "b"], ["c"])
    function = helper.make_function("local", "Mm", ["a", "b"], ["c"], [body],
                                    [helper.make_opsetid("", 17)])
    call = helper.make_node("Mm", ["x", "w"], ["y"], domain="local", name="call")
    entry = call.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.name_scopes", "['', 'head', 'mm']"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    w = helper.make_tensor("w", TensorProto.FLOAT, [8, 4], [0.0] * 32)
    model = helper.make_model(helper.make_graph([call], "g", [x], [y], [w]), functions=[function],
                              opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    onnx.save(model, tmp_path / "f.onnx")
    report = archcost.analyze(str(tmp_path / "f.onnx"))
    assert [(m.name, m.macs) for m in report.by_module()] == [("", 32), ("head", 32)]
