"""What cannot be known statically becomes a named symbol or a stated assumption, never a refusal.

Expected values come from closed forms written here and from onnxruntime runs of the same
models (``verify``); every count is compared exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import sympy
from onnx import TensorProto, helper

from archcost.api import analyze
from archcost.errors import ShapeError, UsageError
from archcost.ledger import INPUT_DIM, RUN_TIME, equality_condition, evaluate
from archcost.numeric import quotient, same
from tests.onnx_builders import const, model, node, save, value_info, weight

H = sympy.Symbol("H", positive=True, integer=True)


# --- the arithmetic underneath ------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b", "verdict"), [
    (3, 3, True), (3, 4, False),
    (2 * (H + 1), 2 * H + 2, True),      # SymPy's == says False: structure differs
    (H, H + 1, False),                   # a nonzero constant difference
    (H, 1, None),                        # H may be 1
    (2 * sympy.floor(H / 2), H, None),   # equal exactly when H is even
], ids=["ints-equal", "ints-differ", "expanded", "offset", "may-be-one", "even-only"])
def test_same_decides_what_can_be_decided(a: object, b: object, verdict: bool | None) -> None:
    assert same(a, b) is verdict


def test_quotient_cancels_a_crnn_width() -> None:
    # A CRNN's Reshape infers its -1 as (1024·(w + 1)) / (w + 1): the quotient is 1024, not a formula.
    w = sympy.Symbol("w", positive=True, integer=True)
    assert quotient(1024 * w + 1024, w + 1) == 1024
    assert quotient(6 * w, 3) == 2 * w
    assert quotient(12, 4) == 3 and type(quotient(12, 4)) is int


def test_evaluate_is_exact_for_floors_and_ceilings() -> None:
    expr = sympy.floor(sympy.floor(H / 2 - sympy.Rational(1, 2)) / 2) + sympy.ceiling(H / 3)
    for h in range(1, 50):
        assert evaluate(expr, {H: h}) == ((h - 1) // 2) // 2 + -(-h // 3)


def test_the_divisibility_condition_is_derived_and_proven() -> None:
    # Two stride-2 convs (k3, p1), then ×2 upsampling, against one stride-2 conv: the FPN join.
    once = sympy.floor(H / 2 - sympy.Rational(1, 2)) + 1
    twice_up = 2 * (sympy.floor(sympy.floor(H / 2 - sympy.Rational(1, 2)) / 2) + 1)
    condition = equality_condition(twice_up, once)
    assert condition.startswith("H is a multiple of 4") and condition.endswith("proven")


# --- values computed at run time become symbols ---------------------------------------------------

def test_a_pad_read_from_a_graph_input_is_a_formula_in_its_contents(tmp_path: Path) -> None:
    m = model([node("Pad", ["x", "pads"], "y")], [("x", [1, 3, 8, 8]), ("pads", [8], TensorProto.INT64)], ["y"])
    report = analyze(str(save(m, tmp_path / "p.onnx")))
    p = [sympy.Symbol(f"pads_{i}", integer=True) for i in range(8)]
    assert report.tensor_shapes["y"] == (1 + p[0] + p[4], 3 + p[1] + p[5], 8 + p[2] + p[6], 8 + p[3] + p[7])
    origins = {s.name: s for s in report.free_symbols}
    assert origins["pads_0"].kind == RUN_TIME and "contents of tensor 'pads'" in origins["pads_0"].origin


def test_given_contents_make_the_same_graph_exact(tmp_path: Path) -> None:
    m = model([node("Pad", ["x", "pads"], "y")], [("x", [1, 3, 8, 8]), ("pads", [8], TensorProto.INT64)], ["y"])
    path = save(m, tmp_path / "p.onnx")
    report = analyze(str(path), input_values={"pads": [0, 0, 1, 2, 0, 0, 3, 4]})
    assert report.tensor_shapes["y"] == (1, 3, 12, 14)
    with pytest.raises(UsageError, match="--value pads: 3 value"):
        analyze(str(path), input_values={"pads": [0, 1, 2]})


def test_slice_bounds_from_data_name_the_axis(tmp_path: Path) -> None:
    m = model([node("Slice", ["x", "s", "e"], "y")],
              [("x", [4, 10]), ("s", [1], TensorProto.INT64), ("e", [1], TensorProto.INT64)], ["y"])
    report = analyze(str(save(m, tmp_path / "s.onnx")))
    assert report.tensor_shapes["y"] == (sympy.Symbol("y_d0", integer=True, nonnegative=True), 10)


def test_data_dependent_sizes_flow_into_costs(tmp_path: Path) -> None:
    # NonZero's count only the data decides; a MatMul over it costs a formula in that count.
    m = model([node("NonZero", ["mask"], "nz"), node("Cast", ["nz"], "f", to=TensorProto.FLOAT),
               node("MatMul", ["w", "f"], "y")],
              [("mask", [6])], ["y"], [weight("w", [5, 1])])
    report = analyze(str(save(m, tmp_path / "n.onnx")))
    count = sympy.Symbol("nz_count", integer=True, nonnegative=True)
    assert report.totals.macs == 5 * count
    assert [s.name for s in report.free()] == ["nz_count"]


def test_reshape_keeps_the_contents_of_a_shape_tensor(tmp_path: Path) -> None:
    # Hugging Face TorchScript exports reshape a Shape-derived vector before reading it back.
    m = model([node("Shape", ["x"], "s"), node("Reshape", ["s", "minus1"], "s2"),
               node("Slice", ["s2", "zero", "two"], "bs"), node("Concat", ["bs", "minus1"], "target", axis=0),
               node("Reshape", ["x", "target"], "y")],
              [("x", ["batch", "seq", 4, 8])], ["y"],
              [const("minus1", [-1]), const("zero", [0]), const("two", [2])])
    report = analyze(str(save(m, tmp_path / "r.onnx")))
    batch, seq = (sympy.Symbol(n, positive=True, integer=True) for n in ("batch", "seq"))
    assert report.tensor_shapes["y"] == (batch, seq, 32)


def test_reduce_prod_of_a_shape_carries_the_element_count(tmp_path: Path) -> None:
    # tf2onnx lowers a tensordot through ReduceProd(Shape(...)).
    m = model([node("Shape", ["x"], "s"), node("ReduceProd", ["s"], "n", keepdims=1),
               node("Concat", ["n", "minus1"], "target", axis=0), node("Reshape", ["x", "target"], "y")],
              [("x", [3, 4, "w"])], ["y"], [const("minus1", [-1])], opset=17)
    report = analyze(str(save(m, tmp_path / "rp.onnx")))
    w = sympy.Symbol("w", positive=True, integer=True)
    assert report.tensor_shapes["y"] == (12 * w, 1)


# --- equality obligations become assumptions --------------------------------------------------

def _fpn(tmp_path: Path) -> Path:
    """A stride-2 conv branch, upsampled ×2, concatenated with the input: equal only for even H, W."""
    m = model([node("Conv", ["x", "w"], "c", pads=[1, 1, 1, 1], strides=[2, 2]),
               node("Resize", ["c", "", "scales"], "u", mode="nearest"),
               node("Concat", ["x", "u"], "y", axis=1)],
              [("x", [1, 4, "H", "W"])], ["y"],
              [weight("w", [4, 4, 3, 3]), const("scales", [1, 1, 2, 2], np.float32)])
    return save(m, tmp_path / "fpn.onnx")


def test_a_join_equal_only_under_divisibility_is_assumed_and_said(tmp_path: Path) -> None:
    report = analyze(str(_fpn(tmp_path)))
    conditions = [a.condition for a in report.assumptions]
    assert len(conditions) == 2 and all("multiple of 2" in c and c.endswith("proven") for c in conditions)
    data = report.to_dict()
    assert [a["node"] for a in data["assumptions"]] == ["y", "y"]
    assert {s["name"] for s in data["symbols"]} == {"H", "W"}
    from archcost.report.analysis import render

    text = render(report, "table")
    assert "assumed (neither provable nor refutable" in text and "free symbols" in text


def test_a_bound_point_decides_the_join(tmp_path: Path) -> None:
    path = _fpn(tmp_path)
    assert analyze(str(path), params={"H": 64, "W": 32}).assumptions == ()
    with pytest.raises(ShapeError, match=r"Concat inputs agree on axis 2: 65 and 66 differ"):
        analyze(str(path), params={"H": 65, "W": 32})


def test_the_formula_under_its_assumption_equals_every_bound_point(tmp_path: Path) -> None:
    path = _fpn(tmp_path)
    formula = analyze(str(path)).totals.macs
    h, w = (sympy.Symbol(n, positive=True, integer=True) for n in ("H", "W"))
    for hv, wv in ((32, 64), (2, 2), (224, 160)):
        assert formula.subs({h: hv, w: wv}) == analyze(str(path), params={"H": hv, "W": wv}).totals.macs
        # closed form: Conv 4·4·9 MACs per output position, (H/2)·(W/2) positions
        assert formula.subs({h: hv, w: wv}) == 4 * 4 * 9 * (hv // 2) * (wv // 2)


# --- graph inputs: unnamed dims, zero sizes, whole-input binding ----------------------------------

def _declared_model(dims: list[object]) -> onnx.ModelProto:
    x = onnx.ValueInfoProto(name="x")
    x.type.tensor_type.elem_type = TensorProto.FLOAT
    for d in dims:
        dim = x.type.tensor_type.shape.dim.add()
        if isinstance(d, int):
            dim.dim_value = d
        elif d is not None:
            dim.dim_param = d
    g = helper.make_graph([node("MatMul", ["x", "w"], "y")], "g", [x], [onnx.ValueInfoProto(name="y")],
                          [weight("w", [8, 2])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("spelling", [-1, "?", "-1", "", None, 0],
                         ids=["paddle-minus-one", "question-mark", "minus-one-param", "empty-param", "unset", "zero"])
def test_unnamed_dims_become_symbols_named_after_input_and_axis(tmp_path: Path, spelling: object) -> None:
    path = save(_declared_model([spelling, 8]), tmp_path / "u.onnx")
    report = analyze(str(path))
    n = sympy.Symbol("x_dim0", positive=True, integer=True)
    assert report.totals.macs == 16 * n
    assert [(s.name, s.kind, s.origin) for s in report.free()] == [("x_dim0", INPUT_DIM, "graph input 'x', axis 0")]
    assert analyze(str(path), params={"x_dim0": 3}).totals.macs == 48


def test_zero_size_dims_are_valid(tmp_path: Path) -> None:
    path = save(_declared_model(["past", 8]), tmp_path / "z.onnx")
    assert analyze(str(path), params={"past": 0}).totals.macs == 0
    assert analyze(str(path), input_shapes={"x": (0, 8)}).totals.macs == 0


def test_whole_inputs_bind_by_name(tmp_path: Path) -> None:
    path = save(_declared_model(["batch", 8]), tmp_path / "b.onnx")
    assert analyze(str(path), input_shapes={"x": (5, 8)}).totals.macs == 80
    assert analyze(str(path), input_shapes={"x": (None, 8)}).totals.macs == 16 * sympy.Symbol(
        "batch", positive=True, integer=True)
    for shapes, message in (({"x": (5, 9)}, "axis 1 is declared 8"), ({"x": (5,)}, "has rank 2"),
                            ({"y": (1, 8)}, "no graph input 'y'; its inputs: x")):
        with pytest.raises(UsageError, match=message):
            analyze(str(path), input_shapes=shapes)
    with pytest.raises(UsageError, match="already bound to 4"):
        analyze(str(path), params={"batch": 4}, input_shapes={"x": (5, 8)})


def test_cli_input_binding_and_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from archcost.cli import main

    path = save(_declared_model(["batch", 8]), tmp_path / "b.onnx")
    assert main(["analyze", str(path), "--input", "x=5x8", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["macs"] == 80
    assert main(["analyze", str(path), "--input", "x=5xeight"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "dims must be whole numbers" in err
    assert main(["verify", str(path)]) == 2
    assert "--set batch=VALUE" in capsys.readouterr().err


# --- model-local functions ------------------------------------------------------------------------

def _with_functions() -> onnx.ModelProto:
    linear = helper.make_function("custom", "Linear", ["x", "w"], ["y"],
                                  [node("MatMul", ["x", "w"], "t"), node("LeakyRelu", ["t"], "y")],
                                  [helper.make_opsetid("", 17)])
    ref = onnx.AttributeProto(name="alpha", ref_attr_name="slope", type=onnx.AttributeProto.FLOAT)
    linear.node[1].attribute.append(ref)
    linear.attribute.append("slope")
    block = helper.make_function("custom", "Block", ["x", "w1", "w2"], ["y"],
                                 [helper.make_node("Linear", ["x", "w1"], ["h"], domain="custom", slope=0.25),
                                  helper.make_node("Linear", ["h", "w2"], ["y"], domain="custom")],
                                 [helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)])
    g = helper.make_graph([helper.make_node("Block", ["x", "w1", "w2"], ["y"], domain="custom", name="blk")], "g",
                          [value_info("x", ["N", 8])], [value_info("y", ["N", 4])],
                          [weight("w1", [8, 16]), weight("w2", [16, 4], seed=1)])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)],
                             functions=[linear, block])


def test_local_functions_are_expanded_like_onnxs_own_inliner(tmp_path: Path) -> None:
    import onnx.inliner

    m = _with_functions()
    ours = analyze(str(save(m, tmp_path / "f.onnx")))
    reference = analyze(str(save(onnx.inliner.inline_local_functions(m), tmp_path / "i.onnx")))
    n = sympy.Symbol("N", positive=True, integer=True)
    assert ours.totals.macs == reference.totals.macs == (8 * 16 + 16 * 4) * n
    assert ours.unknown == () and [r.name for r in ours.layers] == [
        "blk/Linear_0/t", "blk/Linear_0/y", "blk/Linear_1/t", "blk/Linear_1/y"]
    # The attribute reference takes the call's value; the call without one leaves the op's default.
    assert [r.attrs.get("alpha") for r in ours.layers[1::2]] == [pytest.approx(0.25), None]
    assert ours.totals.params == reference.totals.params == 8 * 16 + 16 * 4


def test_expanded_functions_verify_in_onnxruntime(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="verify runs the model in onnxruntime (pip install '.[test]')")
    from archcost.runtime.verify import verify

    result = verify(str(save(_with_functions(), tmp_path / "f.onnx")), params={"N": 3}, backend="onnxruntime")
    assert result.ok, result.problems
    assert [c.recomputed for c in result.counts if c.what == "MACs"] == [3 * (8 * 16 + 16 * 4)]


def test_a_function_that_calls_itself_stops_at_the_depth_limit(tmp_path: Path) -> None:
    from archcost.errors import LimitError

    loop = helper.make_function("custom", "Again", ["x"], ["y"],
                                [helper.make_node("Again", ["x"], ["y"], domain="custom")],
                                [helper.make_opsetid("custom", 1)])
    g = helper.make_graph([helper.make_node("Again", ["x"], ["y"], domain="custom")], "g",
                          [value_info("x", [2])], [value_info("y", [2])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("custom", 1)],
                          functions=[loop])
    with pytest.raises(LimitError, match="nest more than 16 deep"):
        analyze(str(save(m, tmp_path / "again.onnx")))


# --- If: a branch that cannot run, branches of different ranks --------------------------------------

def test_an_if_branch_that_cannot_run_leaves_the_other(tmp_path: Path) -> None:
    then = helper.make_graph([node("MatMul", ["x", "w3"], "t")], "then", [], [value_info("t", None)])
    other = helper.make_graph([node("MatMul", ["x", "w4"], "e")], "else", [], [value_info("e", None)])
    m = model([node("If", ["cond"], "y", then_branch=then, else_branch=other)],
              [("cond", [], TensorProto.BOOL), ("x", [2, 4])], ["y"],
              [weight("w3", [3, 5]), weight("w4", [4, 5], seed=1)])
    report = analyze(str(save(m, tmp_path / "if.onnx")))
    assert report.totals.macs == 2 * 4 * 5
    assert any("the then-branch cannot run with these shapes" in note for note in report.notes)


def test_if_branches_of_different_ranks_pick_one_and_say_so(tmp_path: Path) -> None:
    then = helper.make_graph([node("Squeeze", ["x", "zero"], "t")], "then", [], [value_info("t", None)])
    other = helper.make_graph([node("Identity", ["x"], "e")], "else", [], [value_info("e", None)])
    m = model([node("If", ["cond"], "y", then_branch=then, else_branch=other)],
              [("cond", [], TensorProto.BOOL), ("x", ["n", 4])], ["y"], [const("zero", [0])])
    report = analyze(str(save(m, tmp_path / "ranks.onnx")))
    # The then-branch squeezes n only when n = 1: the branch that assumes nothing is kept.
    assert report.tensor_shapes["y"] == (sympy.Symbol("n", positive=True, integer=True), 4)
    assert [a.what for a in report.assumptions] == [
        "output 0 comes from the else-branch (the branches give ranks 1 and 2; the condition is known only "
        "at run time)"]


def test_scatters_and_gathers_carry_shape_contents(tmp_path: Path) -> None:
    # Paddle-style: take x's shape, overwrite entry 1 with 12 (ScatterND), reshape to it; then read
    # the new dims back with GatherElements and GatherND and reshape again.
    m = model([node("Shape", ["x"], "s"), node("ScatterND", ["s", "where", "twelve"], "s2"),
               node("Reshape", ["x", "s2"], "y"),
               node("Shape", ["y"], "t"), node("GatherElements", ["t", "rev"], "t_rev"),
               node("GatherND", ["t", "first"], "t0"), node("Concat", ["t0", "minus1"], "target", axis=0),
               node("Reshape", ["y", "target"], "z"), node("Reshape", ["y", "t_rev"], "w")],
              [("x", [2, 3, 4])], ["z", "w"],
              [const("where", [[1], [2]]), const("twelve", [12, 1]), const("rev", [2, 1, 0]),
               const("first", [[0]]), const("minus1", [-1])])
    path = save(m, tmp_path / "sc.onnx")
    report = analyze(str(path))
    assert report.tensor_shapes["y"] == (2, 12, 1)
    assert report.tensor_shapes["z"] == (2, 12)
    assert report.tensor_shapes["w"] == (1, 12, 2)
    pytest.importorskip("onnxruntime", reason="verify runs the model in onnxruntime (pip install '.[test]')")
    from archcost.runtime.verify import verify

    assert verify(str(path), backend="onnxruntime").ok
