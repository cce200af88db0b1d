"""No silent zeros: an op without a cost rule is listed with its node and tensor shares."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper

import archcost
from tests.conftest import run_cli


def _model(path: Path) -> Path:
    # x -> Relu -> a -> Mystery (no rule) -> b -> Relu -> y ; a second branch a -> Relu -> c
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="first"),
        helper.make_node("Mystery", ["a"], ["b"], name="mystery", domain="com.example"),
        helper.make_node("Relu", ["b"], ["y"], name="after"),
        helper.make_node("Relu", ["a"], ["c"], name="branch"),
    ]
    graph = helper.make_graph(
        nodes, "unknown",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20),
                                                    helper.make_opsetid("com.example", 1)])
    onnx.save(model, path)
    return path


def test_unknown_op_is_listed_with_shares(tmp_path: Path) -> None:
    report = archcost.analyze(str(_model(tmp_path / "m.onnx")))
    (unknown,) = report.unknown
    assert (unknown.op_type, unknown.domain, unknown.nodes) == ("Mystery", "com.example", ("mystery",))
    assert unknown.node_share == 1 / 4  # 1 of 4 nodes
    assert unknown.tensor_share == 2 / 5  # touches a and b of x, a, b, y, c
    assert report.uncosted == ("after",)  # its input's shape is unknown: listed, not guessed
    assert [r.name for r in report.layers] == ["first", "branch"]


def test_strict_fails_and_json_lists_unknown(tmp_path: Path) -> None:
    path = _model(tmp_path / "m.onnx")
    plain = run_cli("analyze", str(path), "--format", "json")
    assert plain.returncode == 0
    data = json.loads(plain.stdout)
    assert data["unknown_ops"][0]["op"] == "Mystery" and data["uncosted_nodes"] == ["after"]
    table = run_cli("analyze", str(path))
    assert "Mystery (com.example): 1 node(s), 25.0% of nodes, 40.0% of tensors" in table.stdout
    assert run_cli("analyze", str(path), "--strict").returncode == 1
