"""RNN, GRU and LSTM: every time step, direction and gate, against closed forms.

MACs per step, per direction, per sequence = G·H·(I + H), G = 1 (RNN), 3 (GRU),
4 (LSTM). A known peer bug counted one step only; these cases use T > 1, both
directions and batches > 1 so that each factor shows. Shapes are checked
against onnxruntime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import sympy
from onnx.reference import ReferenceEvaluator

from archcost import analyze
from archcost.errors import ShapeError
from archcost.symbols import dim_symbol
from tests.onnx_builders import const, model, node, save, weight

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


def recurrent_model(op: str, steps: int | str, batch: int, inputs: int, hidden: int, *,
                    direction: str = "forward", bias: bool = True, layout: int = 0,
                    peepholes: bool = False):  # type: ignore[no-untyped-def]
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    inits = [weight("W", [dirs, g * hidden, inputs], 1), weight("R", [dirs, g * hidden, hidden], 2)]
    names = ["x", "W", "R"]
    if bias:
        inits.append(const("B", np.zeros((dirs, 2 * g * hidden)), np.float32))
        names.append("B")
    if peepholes:
        inits.append(const("P", np.zeros((dirs, 3 * hidden)), np.float32))
        names += ["", "", "", "P"] if bias else ["", "", "", "", "P"]
    outs = ["y", "y_h", "y_c"] if op == "LSTM" else ["y", "y_h"]
    x_shape = [batch, steps, inputs] if layout else [steps, batch, inputs]
    return model([node(op, names, outs, name="rnn", hidden_size=hidden, direction=direction,
                       layout=layout)], [("x", x_shape)], outs, inits, opset=14)


CASES = [
    # (op, T, B, I, H, direction, layout, bias, peepholes)
    ("RNN", 7, 2, 5, 3, "forward", 0, True, False),
    ("RNN", 4, 1, 3, 6, "bidirectional", 1, False, False),
    ("GRU", 6, 3, 4, 5, "forward", 0, True, False),
    ("GRU", 5, 2, 4, 3, "reverse", 0, True, False),
    ("GRU", 3, 2, 2, 4, "bidirectional", 1, True, False),
    ("LSTM", 5, 1, 4, 6, "forward", 0, True, False),
    ("LSTM", 8, 2, 3, 4, "bidirectional", 0, True, False),
    ("LSTM", 4, 3, 5, 2, "forward", 1, False, True),
]


@pytest.mark.parametrize(("op", "t", "b", "i", "h", "direction", "layout", "bias", "peep"), CASES,
                         ids=[f"{c[0]}-{c[5]}-layout{c[6]}-T{c[1]}" for c in CASES])
def test_recurrent_counts_and_shapes(op: str, t: int, b: int, i: int, h: int, direction: str,
                                     layout: int, bias: bool, peep: bool, tmp_path: Path) -> None:
    dirs = 2 if direction == "bidirectional" else 1
    g = GATES[op]
    proto = recurrent_model(op, t, b, i, h, direction=direction, bias=bias, layout=layout, peepholes=peep)
    path = save(proto, tmp_path / "r.onnx")
    report = analyze(str(path), convention="flops")
    row = report.layers[0]
    assert row.macs == t * dirs * b * g * h * (i + h)
    assert row.terms.get("bias_add", 0) == (t * dirs * b * 2 * g * h if bias else 0)
    gate_ops = g + {"RNN": 0, "GRU": 5, "LSTM": 4}[op] + (6 if peep else 0)
    assert row.terms["elementwise_op"] == t * dirs * b * h * gate_ops
    # Sigmoid 3, tanh 1: RNN tanh; GRU 2 sigmoids + tanh; LSTM 3 sigmoids + 2 tanh.
    assert row.terms["activation_op"] == t * dirs * b * h * {"RNN": 1, "GRU": 7, "LSTM": 11}[op]
    assert report.totals.params_by_kind["weight"] == dirs * g * h * (i + h) + (dirs * 3 * h if peep else 0)
    assert report.totals.params_by_kind["bias"] == (dirs * 2 * g * h if bias else 0)
    x_shape = (b, t, i) if layout else (t, b, i)
    feeds = {"x": np.zeros(x_shape, np.float32)}
    if layout:  # onnxruntime refuses batch-first recurrent ops; the reference runs them
        observed = ReferenceEvaluator(proto).run(None, feeds)
    else:
        session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        observed = session.run(None, feeds)
    assert [tuple(o.shape) for o in observed] == [tuple(s) for s in row.outputs]


def test_lstm_mac_per_step_is_4h_i_plus_h(tmp_path: Path) -> None:
    # T = 1 and T = 10 differ by exactly 10×: every time step is counted.
    one = analyze(str(save(recurrent_model("LSTM", 1, 1, 16, 32), tmp_path / "a.onnx"))).totals.macs
    ten = analyze(str(save(recurrent_model("LSTM", 10, 1, 16, 32), tmp_path / "b.onnx"))).totals.macs
    assert one == 4 * 32 * (16 + 32)
    assert ten == 10 * one


def test_symbolic_sequence_length_stays_symbolic(tmp_path: Path) -> None:
    path = save(recurrent_model("LSTM", "T", 2, 4, 6, direction="bidirectional"), tmp_path / "s.onnx")
    report = analyze(str(path))
    t = dim_symbol("T")
    assert sympy.simplify(report.totals.macs - t * 2 * 2 * 4 * 6 * (4 + 6)) == 0
    assert report.layers[0].outputs[0] == (t, 2, 2, 6)
    assert analyze(str(path), T=9).totals.macs == 9 * 2 * 2 * 4 * 6 * 10


def test_wrong_weight_shape_is_a_shape_error(tmp_path: Path) -> None:
    proto = model([node("GRU", ["x", "W", "R"], ["y"], name="g", hidden_size=3)], [("x", [2, 1, 4])], ["y"],
                  [weight("W", [1, 12, 4]), weight("R", [1, 9, 3])], opset=14)
    with pytest.raises(ShapeError, match="W is"):
        analyze(str(save(proto, tmp_path / "bad.onnx")))
