"""Bad ONNX input: one clear line on stderr, exit code 2, nothing read that should not be."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, numpy_helper

from tests.conftest import run_cli
from tests.onnx_builders import model, node, residual_block, save


def _fails_with_one_line(path: Path, *needles: str) -> str:
    out = run_cli("analyze", str(path))
    assert out.returncode == 2, out
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_truncated_file(tmp_path: Path) -> None:
    data = residual_block().SerializeToString()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    _fails_with_one_line(path, "truncated.onnx")


def test_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _fails_with_one_line(path, "garbage.onnx", "not")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    _fails_with_one_line(path, "empty.onnx", "0 bytes")


def test_the_format_is_read_from_the_content_not_the_name(tmp_path: Path) -> None:
    # A spec saved as .onnx is read as the spec it is (and this one lacks 'inputs').
    path = tmp_path / "spec.onnx"
    path.write_text("name: not_a_model\nlayers:\n  - {op: relu}\n", encoding="utf-8")
    _fails_with_one_line(path, "spec.onnx:1", "missing required key 'inputs'")
    # An ONNX model with a capital suffix is an ONNX model.
    model_path = save(residual_block(), tmp_path / "Model.ONNX")
    out = run_cli("analyze", str(model_path), "--format", "json")
    assert out.returncode == 0, out.stderr


def test_files_of_other_frameworks_are_named(tmp_path: Path) -> None:
    cases = {
        "model.pt": b"PK\x03\x04" + bytes(60),
        "legacy.pth": b"\x80\x02" + bytes(60),
        "model.h5": b"\x89HDF\r\n\x1a\n" + bytes(60),
        "weights.safetensors": (10).to_bytes(8, "little") + b'{"a": 1}  ',
        "model.gguf": b"GGUF" + bytes(60),
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        line = _fails_with_one_line(path, name, "archcost reads ONNX models, TFLite models and YAML specs")
        assert "malformed YAML" not in line and "UTF-8" not in line
        if name.endswith((".pt", ".pth", ".safetensors")):
            # PyTorch weights: say they are not the architecture, and how to analyze the code instead.
            assert "weights, not the architecture" in line
            assert "archcost analyze package.module:build_model" in line and "archcost.analyze(module" in line
    _fails_with_one_line(tmp_path, "is a directory")
    # A TFLite flatbuffer is read (tests/test_tflite.py): garbage after its identifier is named so.
    path = tmp_path / "model.tflite"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(60))
    _fails_with_one_line(path, "model.tflite", "not a valid TFLite flatbuffer")


def test_graph_with_a_cycle(tmp_path: Path) -> None:
    m = model([node("Add", ["x", "b"], "a"), node("Relu", ["a"], "b"), node("Relu", ["a"], "y")],
              [("x", [2])], ["y"])
    _fails_with_one_line(save(m, tmp_path / "cycle.onnx"), "cycle")


def test_node_reads_a_missing_tensor(tmp_path: Path) -> None:
    m = model([node("Add", ["x", "nowhere"], "y")], [("x", [2])], ["y"])
    _fails_with_one_line(save(m, tmp_path / "missing.onnx"), "'nowhere'", "missing.onnx:node 0")


def test_external_data_outside_the_model_folder_is_refused_unread(tmp_path: Path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 432)
    folder = tmp_path / "model"
    folder.mkdir()
    for location in ("../secret.bin", str(secret)):
        w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
        w.ClearField("raw_data")
        w.data_location = TensorProto.EXTERNAL
        w.external_data.add(key="location", value=location)
        m = model([node("Conv", ["x", "w"], "y")], [("x", [1, 3, 8, 8])], ["y"], [w])
        line = _fails_with_one_line(save(m, folder / "m.onnx"), "outside the model's folder")
        assert "secret.bin" in line
        # verify, which does read weights, refuses it just the same
        out = run_cli("verify", str(folder / "m.onnx"))
        assert out.returncode == 2 and "outside the model's folder" in out.stderr


def test_unknown_dim_binding_is_a_usage_error(tmp_path: Path) -> None:
    path = save(residual_block(), tmp_path / "m.onnx")
    out = run_cli("analyze", str(path), "--set", "N=2")
    assert out.returncode == 2
    assert "no dynamic dimension 'N'" in out.stderr
