"""If, Loop and Scan: subgraphs analyzed by the same walk, costs against closed forms.

Loop and Scan cost body × trip count (symbolic when the count is unknown); If
costs the larger branch unless a constant condition or ``--branch`` picks one.
Output shapes are checked against onnxruntime. Deep nesting is walked without
Python recursion and bounded by a documented limit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import sympy
from onnx import TensorProto, helper

from archcost import analyze
from archcost.errors import LimitError, UsageError
from archcost.frontends.onnx import MAX_SUBGRAPH_DEPTH
from archcost.symbols import dim_symbol
from tests.onnx_builders import const, model, node, save, weight
from tools import protowire as pb

F = TensorProto.FLOAT


def vi(name: str, shape: list[int] | None, elem: int = F) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def run_shapes(proto: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[tuple[int, ...]]:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return [tuple(o.shape) for o in session.run(None, feeds)]


def loop_model(trips: int | None, k: int = 4, n: int = 3) -> onnx.ModelProto:
    """Loop: h ← h · W each iteration (W [k, k] from the outer scope), and h stacked as a scan output."""
    body = helper.make_graph(
        [node("Identity", ["cond_in"], "cond_out"), node("MatMul", ["h_in", "W"], "h_out"),
         node("Identity", ["h_out"], "h_scan")],
        "body", [vi("i", [], TensorProto.INT64), vi("cond_in", [], TensorProto.BOOL), vi("h_in", [n, k])],
        [vi("cond_out", [], TensorProto.BOOL), vi("h_out", [n, k]), vi("h_scan", [n, k])])
    inits = [weight("W", [k, k], 1), const("true", True, np.bool_)]
    inputs: list = [("x", [n, k])]
    if trips is not None:
        inits.append(const("M", trips))
    else:
        inputs.append(("M", [], TensorProto.INT64))
    nodes = [node("Loop", ["M", "true", "x"], ["h_final", "h_all"], name="loop", body=body)]
    return model(nodes, inputs, ["h_final", "h_all"], inits)


def test_loop_costs_body_times_trip_count(tmp_path: Path) -> None:
    report = analyze(str(save(loop_model(5), tmp_path / "l.onnx")))
    # Body: [3, 4] @ [4, 4] = 3·4·4 = 48 MACs; 5 iterations.
    assert report.totals.macs == 5 * 48
    assert report.layers[0].outputs == ((3, 4), (5, 3, 4))
    assert report.totals.params_by_kind["weight"] == 16  # counted once, not × trips
    assert report.notes and "× 5 iterations" in report.notes[0]
    observed = run_shapes(loop_model(5), {"x": np.ones((3, 4), np.float32)})
    assert observed == [(3, 4), (5, 3, 4)]


def test_loop_with_unknown_trip_count_is_symbolic(tmp_path: Path) -> None:
    report = analyze(str(save(loop_model(None), tmp_path / "l.onnx")))
    trips = dim_symbol("loop_trips")
    assert sympy.simplify(report.totals.macs - 48 * trips) == 0
    assert report.layers[0].outputs[1] == (trips, 3, 4)


def scan_model(steps: int = 6, k: int = 4) -> onnx.ModelProto:
    """Scan over axis 1 of x [2, steps, k]: state s ← s + x_t · W; y_t = s."""
    body = helper.make_graph(
        [node("MatMul", ["x_t", "W"], "proj"), node("Add", ["s_in", "proj"], "s_out"),
         node("Identity", ["s_out"], "y_t")],
        "body", [vi("s_in", [2, k]), vi("x_t", [2, k])], [vi("s_out", [2, k]), vi("y_t", [2, k])])
    nodes = [node("Scan", ["s0", "x"], ["s_final", "ys"], name="scan", body=body, num_scan_inputs=1,
                  scan_input_axes=[1], scan_output_axes=[1])]
    return model(nodes, [("s0", [2, k]), ("x", [2, steps, k])], ["s_final", "ys"], [weight("W", [k, k], 2)])


def test_scan_costs_body_times_scanned_length(tmp_path: Path) -> None:
    report = analyze(str(save(scan_model(), tmp_path / "s.onnx")), convention="flops")
    # Body: MatMul [2, 4] @ [4, 4] = 32 MACs (64 FLOPs) and an Add of 8 elements; 6 steps.
    assert report.totals.macs == 6 * 32
    assert report.totals.cost == 6 * (2 * 32 + 8)
    assert report.layers[0].outputs == ((2, 4), (2, 6, 4))
    feeds = {"s0": np.zeros((2, 4), np.float32), "x": np.ones((2, 6, 4), np.float32)}
    assert run_shapes(scan_model(), feeds) == [(2, 4), (2, 6, 4)]


def if_model(cond: bool | None) -> onnx.ModelProto:
    """If: then = MatMul by W1 [4, 8] (32/row), else = MatMul by W2 [4, 8] then Relu."""
    then = helper.make_graph([node("MatMul", ["x", "W1"], "t")], "then", [], [vi("t", [2, 8])])
    other = helper.make_graph(
        [node("MatMul", ["x", "W2"], "e0"), node("MatMul", ["e0", "W3"], "e")], "else", [],
        [vi("e", [2, 8])], initializer=[weight("W2", [4, 8], 2), weight("W3", [8, 8], 3)])
    inits = [weight("W1", [4, 8], 1)]
    nodes = [node("If", ["c"], "y", then_branch=then, else_branch=other)]
    inputs: list = [("x", [2, 4])]
    if cond is None:
        inputs.append(("c", [], TensorProto.BOOL))
    else:
        nodes.insert(0, helper.make_node("Constant", [], ["c"], name="c", value=helper.make_tensor(
            "c", TensorProto.BOOL, [], [cond])))
    return model(nodes, inputs, ["y"], inits)


def test_if_uses_the_larger_branch_and_says_so(tmp_path: Path) -> None:
    path = save(if_model(None), tmp_path / "i.onnx")
    report = analyze(str(path))
    # then: 2·8·4 = 64; else: 64 + 2·8·8 = 192 (the larger).
    assert report.totals.macs == 192
    assert "then-branch 64 MACs, else-branch 192 MACs" in report.notes[0]
    assert "the larger branch (else)" in report.notes[0]
    assert analyze(str(path), branch="then").totals.macs == 64
    # Parameters of both branches count once, whichever branch the totals use.
    assert analyze(str(path), branch="then").totals.params_by_kind["weight"] == 32 + 32 + 64
    with pytest.raises(UsageError, match="branch"):
        analyze(str(path), branch="both")


@pytest.mark.parametrize(("cond", "macs"), [(True, 64), (False, 192)])
def test_if_with_a_constant_condition_uses_that_branch(cond: bool, macs: int, tmp_path: Path) -> None:
    report = analyze(str(save(if_model(cond), tmp_path / "i.onnx")))
    assert report.totals.macs == macs
    assert "selected" in report.notes[0]
    assert run_shapes(if_model(cond), {"x": np.ones((2, 4), np.float32)}) == [(2, 8)]


def nested_bytes(depth: int) -> bytes:
    """``depth`` nested Ifs around a MatMul reading W and x from the outermost scope.

    Written as raw protobuf: Python's protobuf refuses to build messages nested
    this deep, but the file format allows it. Each else-branch is a bare Identity.
    """
    out = vi("m0", [2, 4]).SerializeToString()
    graph = pb.field(1, node("MatMul", ["x", "W"], "m0").SerializeToString()) + pb.field(2, b"g0") + pb.field(12, out)
    for level in range(1, depth + 1):
        name = f"m{level}".encode()
        other = helper.make_graph([node("Identity", ["x"], f"e{level}")], f"e{level}", [],
                                  [vi(f"e{level}", [2, 4])]).SerializeToString()
        attrs = (pb.field(5, pb.field(1, b"then_branch") + pb.field(6, graph) + pb.varint(20 << 3) + pb.varint(5))
                 + pb.field(5, pb.field(1, b"else_branch") + pb.field(6, other) + pb.varint(20 << 3) + pb.varint(5)))
        if_node = (pb.field(1, b"c") + pb.field(2, name) + pb.field(3, f"if{level}".encode())
                   + pb.field(4, b"If") + attrs)
        graph = (pb.field(1, if_node) + pb.field(2, f"g{level}".encode())
                 + pb.field(12, vi(name.decode(), [2, 4]).SerializeToString()))
    top = (graph + pb.field(5, weight("W", [4, 4]).SerializeToString())
           + pb.field(11, vi("x", [2, 4]).SerializeToString())
           + pb.field(11, vi("c", [], TensorProto.BOOL).SerializeToString()))
    opset = helper.make_opsetid("", 18).SerializeToString()
    return pb.varint(1 << 3) + pb.varint(8) + pb.field(7, top) + pb.field(8, opset)


def test_nested_subgraphs_resolve_outer_scope_tensors(tmp_path: Path) -> None:
    path = tmp_path / "n.onnx"
    path.write_bytes(nested_bytes(3))
    report = analyze(str(path))
    assert report.totals.macs == 2 * 4 * 4
    assert report.totals.params_by_kind["weight"] == 16
    proto = onnx.load(str(path))
    assert run_shapes(proto, {"x": np.ones((2, 4), np.float32), "c": np.array(True)}) == [(2, 4)]


#: The deepest If nesting a protobuf file can hold: both readers refuse messages nested
#: more than 100 levels, and each If level costs three (node, attribute, graph).
PARSABLE_DEPTH = 31


def test_deep_nesting_is_walked_to_the_protobuf_limit(tmp_path: Path) -> None:
    # The analysis walks subgraphs with an explicit stack: depth costs no Python frames.
    path = tmp_path / "deep.onnx"
    path.write_bytes(nested_bytes(PARSABLE_DEPTH))
    for reader in ("wire", "onnx"):
        report = analyze(str(path), reader=reader)
        assert report.totals.macs == 32
        assert len(report.notes) == PARSABLE_DEPTH


def test_nesting_beyond_the_limit_is_a_limit_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Protobuf caps nesting below MAX_SUBGRAPH_DEPTH today; the limit still guards any
    # reader that allows more, so lower it to see it trip.
    import archcost.frontends.onnx as onnx_frontend

    assert PARSABLE_DEPTH <= MAX_SUBGRAPH_DEPTH
    monkeypatch.setattr(onnx_frontend, "MAX_SUBGRAPH_DEPTH", 3)
    path = tmp_path / "deeper.onnx"
    path.write_bytes(nested_bytes(4))
    with pytest.raises(LimitError, match="nested more than 3 deep"):
        analyze(str(path))
    path.write_bytes(nested_bytes(3))
    assert analyze(str(path)).totals.macs == 32


def test_a_subgraph_reading_an_undefined_tensor_is_a_graph_error(tmp_path: Path) -> None:
    from archcost.errors import GraphError

    branch = helper.make_graph([node("Relu", ["nowhere"], "b")], "b", [], [vi("b", [2])])
    m = model([node("If", ["c"], "y", then_branch=branch, else_branch=branch)],
              [("c", [], TensorProto.BOOL)], ["y"])
    with pytest.raises(GraphError, match="nowhere"):
        analyze(str(save(m, tmp_path / "u.onnx")))
