"""Graphs shaped like each exporter family's output, built with ``onnx.helper``.

Each must analyze with no unknown op and counts equal to closed forms worked
out in the comments, ``archcost analyze --strict`` must exit 0, and
``archcost verify`` must pass: the graph runs in onnxruntime and every observed
shape equals the inferred one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx
import pytest

from archcost import analyze
from archcost.cost.memory import activation_memory
from archcost.runtime.verify import verify
from tests.conftest import run_cli
from tests.onnx_builders import (
    dynamo_head,
    paddle_constants,
    qdq_resnet_block,
    save,
    tf2onnx_nhwc,
    voice_lstm_in_if,
    yolo_head,
)


@dataclass(frozen=True)
class Family:
    build: Callable[[], onnx.ModelProto]
    macs: int
    params: dict[str, int]


FAMILIES = {
    # Conv 3→8, 3×3, pad 1 on 8×8: 8·8·8·3·9 = 13,824; MatMul 8→5: 40.
    "pytorch-dynamo": Family(dynamo_head, 13_824 + 40, {"weight": 8 * 3 * 9 + 8 * 5, "bias": 5}),
    # Conv 3→4, 3×3, pad 1 on 8×8 (after the NHWC→NCHW Transpose): 4·8·8·3·9 = 6,912;
    # dense 256→10 (8·8·4 = 256 features): 2,560.
    "tf2onnx": Family(tf2onnx_nhwc, 6_912 + 2_560, {"weight": 4 * 3 * 9 + 256 * 10, "bias": 4 + 10}),
    # Conv 3→4, 3×3, pad 1 on 10×10: 4·10·10·3·9 = 10,800; Gemm 4→6: 24. Weights in Constant
    # nodes: conv 108 + fc 24; biases 4 + 6; BN γ, β 4 + 4 (norm); mean, var 4 + 4 (buffer).
    # The int64 reshape target, also a Constant, is not a parameter.
    "paddle2onnx": Family(paddle_constants, 10_800 + 24,
                          {"weight": 108 + 24, "bias": 4 + 6, "norm": 8, "buffer": 8}),
    # 1×1 conv 8→21 on 4×4: 21·8·16 = 2,688; the Shape/Range/Expand arithmetic and the Resize
    # cost no MACs. The int64 index and shape constants and the scalar stride are not parameters.
    "yolo-head": Family(yolo_head, 2_688, {"weight": 21 * 8, "bias": 21}),
    # If: then = LSTM, 5 steps, I = 4, H = 6: 5·4·6·(4 + 6) = 1,200; else = GRU: 5·3·6·10 = 900;
    # the larger (1,200) counts; classifier 6→3: 18. Weights: LSTM W 24·4 + R 24·6 (outer scope),
    # GRU W 18·4 + R 18·6 (branch initializers), classifier 18; biases 48 + 36.
    "voice-lstm-in-if": Family(voice_lstm_in_if, 1_200 + 18,
                               {"weight": 96 + 144 + 72 + 108 + 18, "bias": 48 + 36}),
    # Two 3×3 convs 4→4, pad 1, on 6×6: 2 · 4·6·6·4·9 = 10,368. The int8 weights behind
    # DequantizeLinear are the parameters (144 each); scales and zero points are not.
    "qdq-resnet-block": Family(qdq_resnet_block, 2 * 5_184, {"weight": 2 * 144, "bias": 8}),
}


@pytest.fixture(params=sorted(FAMILIES))
def family(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    name = request.param
    return name, save(FAMILIES[name].build(), tmp_path / f"{name}.onnx")


@pytest.mark.parametrize("reader", ["wire", "onnx"])
def test_counts_equal_the_closed_forms(family: tuple[str, Path], reader: str) -> None:
    name, path = family
    report = analyze(str(path), reader=reader)
    assert report.unknown == () and report.uncosted == ()
    assert report.totals.macs == FAMILIES[name].macs
    expected = {role: FAMILIES[name].params.get(role, 0) for role in ("weight", "bias", "norm", "buffer")}
    assert dict(report.totals.params_by_kind) == expected


def test_analyze_strict_exits_0(family: tuple[str, Path]) -> None:
    _, path = family
    out = run_cli("analyze", str(path), "--strict")
    assert out.returncode == 0, out.stdout + out.stderr


def test_verify_passes_in_onnxruntime(family: tuple[str, Path]) -> None:
    _, path = family
    result = verify(str(path), backend="onnxruntime")
    assert result.ok, (result.problems, result.mismatched, result.counts)
    assert result.tensors, "no tensor was observed"
    out = run_cli("verify", str(path))
    assert out.returncode == 0, out.stdout + out.stderr


def test_if_reports_each_branch_and_branch_picks_one(tmp_path: Path) -> None:
    path = save(voice_lstm_in_if(), tmp_path / "voice.onnx")
    report = analyze(str(path))
    assert len(report.notes) == 1
    assert "then-branch 1200 MACs" in report.notes[0] and "else-branch 900 MACs" in report.notes[0]
    assert "larger" in report.notes[0]
    assert analyze(str(path), branch="else").totals.macs == 900 + 18
    assert analyze(str(path), branch="then").totals.macs == 1_200 + 18
    # Parameters of both branches are stored in the model whichever branch runs.
    assert analyze(str(path), branch="else").totals.params_by_kind["weight"] == 438
    out = run_cli("analyze", str(path), "--branch", "else", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert '"macs": 918' in out.stdout
    text = run_cli("analyze", str(path)).stdout
    assert "then-branch 1200 MACs" in text


def test_qdq_weight_bytes_are_int8(tmp_path: Path) -> None:
    report = analyze(str(save(qdq_resnet_block(), tmp_path / "q.onnx")))
    # Every initializer once: two int8 weights (144 B each), float32 per-channel scales (16 B),
    # int8 zero points (4 B), float32 biases (2 × 16 B), a float32 scalar scale (4 B) and a
    # uint8 zero point (1 B).
    assert activation_memory(report).weight_bytes == 2 * 144 + 16 + 4 + 2 * 16 + 4 + 1
