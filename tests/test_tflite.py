"""The TFLite front end without the interpreter: operators LiteRT cannot run alone (DENSIFY)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from archcost.api import analyze


def test_densify_hands_its_dense_weight_to_the_conv(tmp_path: Path) -> None:
    """A sparse filter reaches CONV_2D through DENSIFY: the conv's weights are counted at the dense
    shape [8, 3, 3, 3], its MACs are the dense conv's (5·5·8·3·3·3 at stride 2, SAME, on 9×9)."""
    pytest.importorskip("tflite", reason="the test model is written with the official schema's bindings: "
                        "pip install tflite==2.18.0")
    from tests.tflite_builders import Op, Subgraph, T, model

    w = np.ones((8, 3, 3, 3), np.float32)
    tensors = [T("x", (1, 9, 9, 3)), T("w_sparse", (8, 3, 3, 3), data=w), T("w", (8, 3, 3, 3)),
               T("b", (8,), data=np.ones(8, np.float32)), T("y", (1, 5, 5, 8))]
    ops = [Op("DENSIFY", [1], [2]),
           Op("CONV_2D", [0, 2, 3], [4], "Conv2DOptions", {"padding": "SAME", "stride_w": 2, "stride_h": 2})]
    path = tmp_path / "densify.tflite"
    path.write_bytes(model([Subgraph(tensors, ops, [0], [4], "main")]))
    report = analyze(str(path))
    assert report.model == "densify"  # the file's name, not the converter's "main"
    assert [r.op_type for r in report.layers] == ["DENSIFY", "CONV_2D"]
    assert report.totals.macs == 5 * 5 * 8 * 3 * 3 * 3
    assert report.totals.params_by_kind == {"weight": 8 * 3 * 3 * 3, "bias": 8, "norm": 0, "buffer": 0}


# --- MobileNets the TF Lite converter wrote (tools/corpus/tflite_models.py) ---------------------

FIXTURES = Path(__file__).parent / "fixtures" / "tflite"
#: fixture stem → (zoo spec, its bindings): Keras' MobileNet(alpha=0.25) at 128×128 and
#: MobileNetV2(alpha=0.35) at 96×96, both with the 1000-class head.
MOBILENETS = {"mobilenet_v1_a025_r128": ("mobilenet_v1", {"alpha": 0.25, "resolution": 128}),
              "mobilenet_v2_a035_r96": ("mobilenet_v2", {"alpha": 0.35, "resolution": 96})}


def _unpacked(tmp_path: Path, name: str) -> Path:
    import lzma

    packed = FIXTURES / f"{name}.xz"
    assert packed.is_file(), f"the fixture {packed} is missing"  # a missing fixture fails loudly
    path = tmp_path / name
    path.write_bytes(lzma.decompress(packed.read_bytes()))
    return path


def _batch(path: Path) -> dict[str, int]:
    """The Keras export's dynamic batch dim (shape_signature -1), bound to 1."""
    free = {s.name for s in analyze(str(path)).free()}
    assert len(free) <= 1, free
    return dict.fromkeys(free, 1)


@pytest.mark.parametrize("stem", sorted(MOBILENETS))
def test_mobilenet_float_and_int8_reproduce_the_spec(stem: str, tmp_path: Path) -> None:
    """Both files count the spec's MACs and conv/FC weights exactly. Their biases are the spec's FC
    bias plus one per BatchNorm channel: the converter folds each BN (γ, β, mean, variance: the
    spec's norm and buffer kinds) into the conv before it, which leaves one bias per channel."""
    from archcost.categories import Category
    from archcost.cost.storage import parameter_storage

    spec, bindings = MOBILENETS[stem]
    spec_report = analyze(spec, params=bindings)
    expected = spec_report.totals
    spec_categories = {c: s.cost for c, s in spec_report.by_category().items() if s.cost}
    if stem.startswith("mobilenet_v1"):
        # Keras' MobileNet computes its classifier as a 1×1 convolution (conv_preds).
        spec_categories[Category.CONV_1X1] += spec_categories.pop(Category.FULLY_CONNECTED)
    storages = {}
    for kind in ("float", "int8"):
        path = _unpacked(tmp_path, f"{stem}_{kind}.tflite")
        report = analyze(str(path), params=_batch(path))
        assert report.unknown == ()
        assert report.totals.macs == expected.macs
        by_kind = report.totals.params_by_kind
        assert by_kind["weight"] == expected.params_by_kind["weight"]
        assert by_kind["bias"] == expected.params_by_kind["bias"] + expected.params_by_kind["norm"] // 2
        assert by_kind["norm"] == by_kind["buffer"] == 0
        assert {c: s.cost for c, s in report.by_category().items() if s.cost} == spec_categories
        storages[kind] = parameter_storage(report)
    fp32, int8 = storages["float"], storages["int8"]
    # Weights: one byte per int8 weight, four per float32 one.
    assert fp32.bytes_by_dtype == {"float32": fp32.bytes}
    assert 4 * int8.bytes_by_kind["weight"] == fp32.bytes_by_kind["weight"] == 4 * expected.params_by_kind["weight"]
    assert int8.elements_by_dtype["int8"] == expected.params_by_kind["weight"]
    # The int8 model's biases are int32 (the integer accumulator's type): as many bytes as in float.
    assert int8.bytes_by_kind["bias"] == fp32.bytes_by_kind["bias"]
    assert (fp32.quantized_share, int8.quantized_share) == (0, 1)


def test_mobilenet_v2_tflite_and_its_onnx_twin_agree(tmp_path: Path) -> None:
    """tf2onnx exported the same Keras MobileNetV2 (same weights, batch 1) as ONNX; both converters
    fold BatchNorm, so the counts agree kind by kind."""
    tflite = _unpacked(tmp_path, "mobilenet_v2_a035_r96_float.tflite")
    onnx = analyze(str(_unpacked(tmp_path, "mobilenet_v2_a035_r96.onnx")))
    report = analyze(str(tflite), params=_batch(tflite))
    assert onnx.totals.macs == report.totals.macs
    assert onnx.totals.params_by_kind == report.totals.params_by_kind


def test_the_report_shows_int8_weight_bytes_at_a_quarter_of_float(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    lines = {}
    for kind in ("float", "int8"):
        path = _unpacked(tmp_path, f"mobilenet_v1_a025_r128_{kind}.tflite")
        out = run_cli("analyze", str(path), "--set", "serving_default_input_1_0_dim0=1", "--format", "markdown")
        assert out.returncode == 0, out.stderr
        lines[kind] = [line for line in out.stdout.splitlines() if line.startswith(("parameter bytes", "quantized"))]
    # MobileNetV1 α = 0.25: 463,600 conv and FC weights, 3,736 biases (1000 FC + 2736 folded BN).
    assert lines["float"] == ["parameter bytes: 1,869,344 (1.87MB): by kind weight 1,854,400, bias 14,944; "
                              "by dtype float32 1,869,344",
                              "quantized share (parameters stored as integers): 0.00 % of parameters, 0 bytes"]
    assert lines["int8"] == ["parameter bytes: 478,544 (479KB): by kind weight 463,600, bias 14,944; "
                             "by dtype int8 463,600, int32 14,944",
                             "quantized share (parameters stored as integers): 100.00 % of parameters, "
                             "478,544 bytes"]


@pytest.mark.parametrize("name", [f"{stem}_{kind}.tflite" for stem in sorted(MOBILENETS)
                                  for kind in ("float", "int8")])
def test_mobilenets_run_in_litert_as_inferred(name: str, tmp_path: Path) -> None:
    pytest.importorskip("ai_edge_litert.interpreter", reason="verify runs TFLite models in LiteRT: "
                        "pip install '.[litert]'")
    from archcost.runtime.verify import verify

    path = _unpacked(tmp_path, name)
    result = verify(str(path), params=_batch(path))
    assert result.ok, (result.problems[:3], [(t.name, t.inferred, t.observed) for t in result.mismatched[:3]])


# --- every command takes a .tflite ------------------------------------------------------------

V2_INT8 = "mobilenet_v2_a035_r96_int8.tflite"
V2_BATCH = "serving_default_input_2_0_dim0=1"


def test_commands_take_a_tflite_file(tmp_path: Path) -> None:
    import json

    from tests.conftest import run_cli

    int8 = _unpacked(tmp_path, V2_INT8)
    fp32 = _unpacked(tmp_path, "mobilenet_v2_a035_r96_float.tflite")
    spec = analyze("mobilenet_v2", params={"alpha": 0.35, "resolution": 96}).totals
    spec_macs, weights = spec.macs, spec.params_by_kind["weight"]
    biases = spec.params_by_kind["bias"] + spec.params_by_kind["norm"] // 2  # BN folded: one bias per channel
    gate = run_cli("gate", str(int8), "--set", V2_BATCH, "--max-macs", str(spec_macs))
    assert gate.returncode == 0, gate.stdout + gate.stderr
    assert run_cli("gate", str(int8), "--set", V2_BATCH, "--max-macs", str(spec_macs - 1)).returncode == 1
    compare = run_cli("compare", str(fp32), str(int8), "--set", V2_BATCH, "--format", "json")
    assert compare.returncode == 0, compare.stderr
    rows = json.loads(compare.stdout)["rows"]
    assert [r["macs"] for r in rows] == [spec_macs, spec_macs]
    # float32: 4 bytes a parameter; int8: 1 byte a weight, 4 an int32 bias.
    assert [r["parameter_bytes"] for r in rows] == [4 * (weights + biases), weights + 4 * biases]
    assert [r["quantized_percent"] for r in rows] == ["0.00", "100.00"]
    modules = run_cli("analyze", str(int8), "--set", V2_BATCH, "--by", "module", "--depth", "2")
    assert modules.returncode == 0, modules.stderr
    # The converter's tensor names carry Keras' layer scopes: MobileNetV2's blocks are modules.
    assert "mobilenetv2_0.35_96.block_16_project_BN" in modules.stdout
    report = run_cli("report", str(int8), "--format", "markdown")
    assert report.returncode == 0, report.stderr


@pytest.mark.parametrize("command", [("export", "-o", "x.onnx"), ("profile",)], ids=["export", "profile"])
def test_export_and_profile_say_a_tflite_model_runs_in_verify(command: tuple[str, ...], tmp_path: Path) -> None:
    from tests.conftest import run_cli

    path = _unpacked(tmp_path, V2_INT8)
    out = run_cli(command[0], str(path), "--set", V2_BATCH, *command[1:], cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"archcost: {path}: {command[0]} works on an ONNX export for onnxruntime, and a TFLite model's operators "
        "are TFLite's; run it as it is with archcost verify (LiteRT: pip install 'archcost[litert]')"]
    assert not (tmp_path / "x.onnx").exists()


def test_verify_without_litert_says_how_to_install(tmp_path: Path) -> None:
    """LiteRT hidden from a fresh interpreter, as if not installed: one line, exit 2."""
    import subprocess
    import sys

    from tests.conftest import REPO

    path = _unpacked(tmp_path, V2_INT8)
    code = ("import sys; sys.modules['ai_edge_litert'] = None; sys.modules['ai_edge_litert.interpreter'] = None; "
            f"from archcost.cli import main; sys.exit(main(['verify', {str(path)!r}, '--set', {V2_BATCH!r}]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        f"archcost: {path}: running a TFLite model needs the LiteRT interpreter: pip install ai-edge-litert "
        "(or the extra: pip install 'archcost[litert]', from a checkout '.[litert]')"]


@pytest.mark.parametrize("cut", [12, 100, 1000, 5000])
def test_a_truncated_file_is_one_line(cut: int, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    data = _unpacked(tmp_path, V2_INT8).read_bytes()
    path = tmp_path / "cut.tflite"
    path.write_bytes(data[:cut])
    out = run_cli("analyze", str(path))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"archcost: {path}") and "Traceback" not in out.stderr


def test_a_custom_op_is_unknown_by_its_name_and_what_follows_is_costed(tmp_path: Path) -> None:
    """MediaPipe's ``Convolution2DTransposeBias`` is a CUSTOM opcode: listed as unknown under its
    own name, its output takes the shape the file declares, and the CONV_2D after it is counted."""
    pytest.importorskip("tflite", reason="the test model is written with the official schema's bindings: "
                        "pip install tflite==2.18.0")
    from tests.conftest import run_cli
    from tests.tflite_builders import Op, Subgraph, T, model

    w = np.ones((5, 1, 1, 3), np.float32)
    tensors = [T("x", (1, 4, 4, 3)), T("up", (1, 8, 8, 3)), T("w", w.shape, data=w), T("y", (1, 8, 8, 5))]
    ops = [Op("CUSTOM", [0], [1], custom="Convolution2DTransposeBias"),
           Op("CONV_2D", [1, 2, -1], [3], "Conv2DOptions", {"padding": "VALID", "stride_w": 1, "stride_h": 1})]
    path = tmp_path / "custom.tflite"
    path.write_bytes(model([Subgraph(tensors, ops, [0], [3], "main")]))
    report = analyze(str(path))
    assert [(u.op_type, u.domain, u.nodes) for u in report.unknown] == [
        ("Convolution2DTransposeBias", "tflite.custom", ("up",))]
    assert report.totals.macs == 8 * 8 * 5 * 3
    strict = run_cli("analyze", str(path), "--strict")
    assert strict.returncode != 0 and "Convolution2DTransposeBias" in strict.stdout + strict.stderr


def test_corrupted_files_fail_as_archcost_errors(tmp_path: Path) -> None:
    """Seeded byte flips in the flatbuffer's structure (its first and last 40 kB; the weights lie
    between): each analysis either succeeds or raises an ArchcostError (a one-line message), and
    none takes long."""
    import random
    import time

    from archcost.errors import ArchcostError

    data = _unpacked(tmp_path, "mobilenet_v1_a025_r128_int8.tflite").read_bytes()
    rng = random.Random(17)
    path = tmp_path / "flipped.tflite"
    failed = 0
    for _ in range(60):
        flipped = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            near = rng.randrange(40_000)
            flipped[near if rng.random() < 0.5 else len(data) - 1 - near] = rng.randrange(256)
        path.write_bytes(bytes(flipped))
        start = time.perf_counter()
        try:
            analyze(str(path))
        except ArchcostError:
            failed += 1
        assert time.perf_counter() - start < 5
    assert failed > 0  # the flips do reach the structure


def test_weights_are_never_read_only_their_lengths(tmp_path: Path) -> None:
    """A 4 GiB FC weight stored past the flatbuffer (``Buffer.offset``/``size``, as models over 2 GiB
    store them) in a sparse file: the analysis counts its 2³⁰ parameters from the shape while the
    process stays small and quick, so the reader never touched the weight's pages."""
    pytest.importorskip("tflite", reason="the test model is written with the official schema's bindings: "
                        "pip install tflite==2.18.0")
    import subprocess
    import sys

    from tests.conftest import REPO
    from tests.tflite_builders import Op, Subgraph, T, model

    n, k = 2**15, 2**15  # 2³⁰ float32 weights: 4 GiB
    start = 1 << 20
    tensors = [T("x", (1, k)), T("w", (n, k), external=4 * n * k), T("y", (1, n))]
    flat = model([Subgraph(tensors, [Op("FULLY_CONNECTED", [0, 1, -1], [2], "FullyConnectedOptions", {})],
                           [0], [2], "main")], external_at=start)
    assert len(flat) < start
    path = tmp_path / "huge.tflite"
    with path.open("wb") as f:
        f.write(flat)
        f.truncate(start + 4 * n * k)  # a hole: no disk blocks, zeros if read
    # The peak resident set of this process's memory (VmHWM, kB): getrusage's ru_maxrss would carry
    # the forking test process's peak over the exec.
    code = ("import sys, time; from archcost.api import analyze; t = time.perf_counter(); "
            "r = analyze(sys.argv[1]); seconds = time.perf_counter() - t; "
            "peak = next(int(line.split()[1]) for line in open('/proc/self/status') if line.startswith('VmHWM')); "
            "print(r.totals.macs, r.totals.params, seconds, peak // 1024)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    macs, params, seconds, rss_mb = out.stdout.split()
    assert int(macs) == int(params) == n * k
    assert float(seconds) < 2 and int(rss_mb) < 1024  # reading the weight would take 4 GiB of pages
