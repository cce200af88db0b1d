"""``archcost profile``: parsing onnxruntime's profile, mapping kernels to nodes, aggregation.

No test here depends on how fast anything runs. The aggregation tests read
``fixtures/profile/tiny_profile.json``: a profile onnxruntime 1.32.0 wrote for
``fixtures/profile/tiny.yaml`` (exported graph, ORT_ENABLE_ALL, 1 thread, 4 runs),
byte for byte, except that the ``dur`` of the kernel events of runs 2–4 were set by
hand to the values in ``MEASURED_US`` so the expected medians are easy to check.
Run 1 keeps onnxruntime's own durations: it is the warm-up and must be left out.
"""

from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

import archcost
from archcost.categories import Category
from archcost.cost.roofline import Device, load_device_file
from archcost.errors import ModelFormatError, UsageError
from archcost.report.profile import plot, render
from archcost.runtime.calibrate import calibrate, device_file_text
from archcost.runtime.kernel_map import Kernel, map_kernels, strip_decorations
from archcost.runtime.profile import aggregate, median, spearman
from archcost.runtime.trace import load_profile, parse_profile
from tests.conftest import run_cli

FIXTURES = Path(__file__).parent / "fixtures" / "profile"
SPEC = FIXTURES / "tiny.yaml"
PROFILE = FIXTURES / "tiny_profile.json"

#: Kernel durations (µs) of the three measured runs, as set in the fixture.
MEASURED_US = {
    "relu_nchwc": [20, 30, 25], "dw_relu_nchwc": [10, 14, 12], "gap_nchwc": [4, 6, 5],
    "ReorderOutput": [2, 3, 2], "flat": [2, 2, 9], "fc": [6, 7, 6], "softmax": [4, 6, 5],
}
#: The warm-up run's durations, as onnxruntime wrote them.
WARMUP_US = {"relu_nchwc": 89, "dw_relu_nchwc": 20, "gap_nchwc": 6, "ReorderOutput": 4, "flat": 5,
             "fc": 6, "softmax": 9}

# Closed forms for tiny.yaml (float32, 4 bytes): X = 8·14·14 input elements, Y = 16·14·14.
X, Y = 8 * 14 * 14, 16 * 14 * 14
BYTES = {
    "pw": 4 * (X + 16 * 8) + 4 * Y,
    "bn": 4 * (Y + 4 * 16) + 4 * Y,  # γ, β, running mean and variance
    "relu": 8 * Y,
    "dw": 4 * (Y + 16 * 9) + 4 * Y,
    "dw_relu": 8 * Y,
    "gap": 4 * Y + 4 * 16,
    "flat": 8 * 16,
    "fc": 4 * (16 + 16 * 10 + 10) + 4 * 10,
    "softmax": 8 * 10,
}
MACS = {"pw": 8 * 16 * 14 * 14, "dw": 9 * 16 * 14 * 14, "fc": 16 * 10}
DEVICE = Device("test", Fraction(10**9), Fraction(2 * 10**9))


def _est(node: str) -> Fraction:
    return max(Fraction(MACS.get(node, 0), 10**9), Fraction(BYTES[node], 2 * 10**9))


@pytest.fixture(scope="module")
def result() -> Any:
    report = archcost.analyze(str(SPEC))
    return aggregate(report, DEVICE, load_profile(PROFILE), warmup=1)


def test_the_fixture_has_onnxruntime_s_event_format() -> None:
    events = json.loads(PROFILE.read_text())
    kernels = [e for e in events if e["cat"] == "Node"]
    assert {"cat", "pid", "tid", "dur", "ts", "ph", "name", "args"} <= set(kernels[0])
    assert {"op_name", "provider", "node_index"} <= set(kernels[0]["args"])
    assert sum(1 for e in events if e["name"] == "model_run") == 4


def test_parse_splits_runs_by_model_run() -> None:
    runs = load_profile(PROFILE)
    assert len(runs.runs) == 4
    assert runs.run_us == (188, 103, 62, 3286)
    assert [{e.name: e.duration_us for e in run} for run in runs.runs] == [
        WARMUP_US, *({k: v[i] for k, v in MEASURED_US.items()} for i in range(3))
    ]
    assert {e.name: e.op_name for e in runs.runs[0]}["relu_nchwc"] == "Conv"


def test_kernels_map_to_fused_nodes(result: Any) -> None:
    kernels = {k.name: k for k in result.kernels}
    assert (kernels["relu_nchwc"].anchor, kernels["relu_nchwc"].members) == ("pw", ("pw", "bn", "relu"))
    assert (kernels["dw_relu_nchwc"].anchor, kernels["dw_relu_nchwc"].members) == ("dw", ("dw", "dw_relu"))
    assert kernels["gap_nchwc"].members == ("gap",)
    assert kernels["ReorderOutput"].anchor is None and kernels["ReorderOutput"].category is None
    members = [m for k in result.kernels for m in k.members]
    assert sorted(members) == sorted(r.name for r in archcost.analyze(str(SPEC)).layers)


def test_medians_over_the_measured_runs_only(result: Any) -> None:
    got = {k.name: k.measured_us for k in result.kernels}
    assert got == {name: Fraction(sorted(v)[1]) for name, v in MEASURED_US.items()}
    assert result.runs == 3 and result.run_us == 103  # median of 103, 62, 3286
    with_warmup = aggregate(archcost.analyze(str(SPEC)), DEVICE, load_profile(PROFILE), warmup=0)
    relu = next(k for k in with_warmup.kernels if k.name == "relu_nchwc")
    assert relu.measured_us == Fraction(25 + 30, 2)  # median of 89, 20, 30, 25


def test_kernel_bytes_macs_and_estimates(result: Any) -> None:
    kernels = {k.anchor: k for k in result.kernels if k.anchor}
    pw = kernels["pw"]
    assert pw.bytes == BYTES["pw"] + BYTES["bn"] + BYTES["relu"]
    assert pw.macs == MACS["pw"]
    assert pw.est_time == _est("pw") + _est("bn") + _est("relu")
    assert kernels["dw"].est_time == _est("dw") + _est("dw_relu")
    assert kernels["fc"].bytes == BYTES["fc"]
    assert kernels["fc"].bound == "memory"  # 160 MACs on 784 bytes, below the ridge 1/2
    assert kernels["pw"].bound == "compute"  # 25,088 MACs on 19,328 bytes for the conv itself


def test_category_shares(result: Any) -> None:
    rows = {(c.category.value if c.category else None): c for c in result.categories()}
    assert list(rows) == ["conv_1x1", "depthwise", "fully_connected", "other", None]
    measured = {k: sorted(v)[1] for k, v in MEASURED_US.items()}
    assert rows["conv_1x1"].measured_us == measured["relu_nchwc"]
    assert rows["depthwise"].measured_us == measured["dw_relu_nchwc"]
    assert rows["other"].measured_us == measured["gap_nchwc"] + measured["flat"] + measured["softmax"]
    assert rows[None].measured_us == measured["ReorderOutput"]
    assert result.measured_us == sum(measured.values()) == 57
    assert rows["depthwise"].macs == MACS["dw"]
    assert result.macs == sum(MACS.values())
    assert rows["other"].est_time == _est("gap") + _est("flat") + _est("softmax")
    assert result.est_time == sum(_est(n) for n in BYTES)
    data = json.loads(render(result, "json"))
    shares = {c["category"]: c for c in data["categories"]}
    assert shares["depthwise"]["measured_share"] == pytest.approx(12 / 57, rel=1e-12)
    assert shares["depthwise"]["macs_share"] == pytest.approx(MACS["dw"] / sum(MACS.values()), rel=1e-12)
    assert sum(c["measured_share"] for c in data["categories"]) == pytest.approx(1.0, rel=1e-12)


def test_rank_correlation_of_the_fixture(result: Any) -> None:
    # Estimated order pw > dw > gap > fc > flat > softmax; measured 25, 12, 5 (gap), 6 (fc),
    # 2 (flat), 5 (softmax). Ranks: est (6,5,4,3,2,1), measured (6,5,2.5,4,1,2.5):
    # Σ dx·dy = 14, Σ dx² = 17.5, Σ dy² = 17.
    assert result.rank_correlation == pytest.approx(14 / math.sqrt(17.5 * 17), rel=1e-12)


@pytest.mark.parametrize(
    ("xs", "ys", "expected"),
    [
        ([1, 2, 3, 4], [10, 20, 30, 40], 1.0),
        ([1, 2, 3, 4], [4, 3, 2, 1], -1.0),
        ([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], 0.8),  # 1 − 6·Σd²/(n(n²−1)) = 1 − 6·4/120
        ([1, 2, 2, 3], [1, 2, 3, 4], 0.9486832980505138),  # ties share rank 2.5: 4.5/√(4.5·5)
    ],
    ids=["monotone", "reversed", "textbook", "ties"],
)
def test_spearman(xs: list[int], ys: list[int], expected: float) -> None:
    assert spearman(xs, ys) == pytest.approx(expected, rel=1e-12)


def test_spearman_without_spread() -> None:
    assert spearman([1], [2]) is None
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_median() -> None:
    assert median([5, 1, 3]) == 3
    assert median([4, 1, 3, 2]) == Fraction(5, 2)
    assert median([]) == 0


@pytest.mark.parametrize(
    ("name", "expected"),
    [("relu_nchwc", "relu"), ("fc/MatMulAddFusion", "fc"), ("sep1.dw_relu_nchwc", "sep1.dw_relu"),
     ("ReorderOutput", None), ("pw", "pw")],
)
def test_strip_decorations(name: str, expected: str | None) -> None:
    assert strip_decorations(name, ["relu", "fc", "sep1.dw_relu", "pw"]) == expected


def test_mapping_with_optimizations_off_and_extended() -> None:
    report = archcost.analyze(str(SPEC))
    plain = {r.name: r.op_type for r in report.layers}
    mapping = map_kernels(report, plain)
    assert all(mapping[name] == (name, (name,)) for name in plain)
    # ORT_ENABLE_EXTENDED keeps the conv's name on the fused kernel: BN and ReLU ran
    # inside it, so they join the kernel of the node that produced their input.
    extended = map_kernels(report, {"pw": "FusedConv", "dw": "FusedConv", "gap": "GlobalAveragePool",
                                    "flat": "Flatten", "fc/MatMulAddFusion": "Gemm",
                                    "softmax": "Softmax"})
    assert extended["pw"] == ("pw", ("pw", "bn", "relu"))
    assert extended["dw"] == ("dw", ("dw", "dw_relu"))
    assert extended["fc/MatMulAddFusion"] == ("fc", ("fc",))


def test_a_fused_residual_add_joins_the_last_computed_input(write_spec) -> None:  # type: ignore[no-untyped-def]
    report = archcost.analyze(str(write_spec("""
name: residual
inputs:
  x: {shape: [1, 8, 6, 6]}
layers:
  - {op: conv, name: a, out: 8, kernel: 1}
  - {op: conv, name: b, out: 8, kernel: 1}
  - {op: add, name: sum, inputs: [a, b]}
""")))
    mapping = map_kernels(report, {"a": "Conv", "b_nchwc": "Conv"})
    assert mapping == {"a": ("a", ("a",)), "b_nchwc": ("b", ("b", "sum"))}


def test_profile_and_verify_feed_the_same_inputs() -> None:
    # One session module (archcost.runtime.session) makes every run's random inputs.
    from archcost.frontends.loader import load_model
    from archcost.runtime.profile import prepare
    from archcost.runtime.session import random_inputs

    prepared = prepare(str(SPEC), seed=3)
    expected = random_inputs(load_model(str(SPEC)).graph, 3)
    assert list(prepared.feeds) == list(expected)
    assert all((prepared.feeds[name] == value).all() for name, value in expected.items())
    assert prepared.report.totals.macs == sum(MACS.values())


def test_profile_errors() -> None:
    with pytest.raises(ModelFormatError, match="JSON list"):
        parse_profile({"traceEvents": []}, "p.json")
    with pytest.raises(ModelFormatError, match="no model_run"):
        parse_profile([{"cat": "Node", "name": "x_kernel_time", "ts": 1, "dur": 1}], "p.json")
    with pytest.raises(ModelFormatError, match="malformed"):
        parse_profile([{"cat": "Session", "name": "model_run", "ts": "soon"}], "p.json")
    with pytest.raises(UsageError, match="all of them warm-up"):
        aggregate(archcost.analyze(str(SPEC)), DEVICE, load_profile(PROFILE), warmup=4)


def test_bad_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text("[{")
    with pytest.raises(ModelFormatError, match="not an onnxruntime profile") as err:
        load_profile(path)
    assert str(err.value).startswith(str(path))


def _kernel(name: str, macs: int, nbytes: int, seconds: float) -> Kernel:
    return Kernel(name, "Conv", name, (name,), Category.CONV_1X1, macs, nbytes, Fraction(0),
                  Fraction(seconds * 1e6))


def test_calibration_recovers_a_known_device() -> None:
    peak, bandwidth = 40e9, 12e9
    shapes = [(5e7, 3e6), (2e7, 8e6), (1e6, 4e6), (3e5, 2e6), (8e7, 2e6), (0, 1e6)]
    kernels = [_kernel(f"k{i}", int(m), int(b), max(m / peak, b / bandwidth))
               for i, (m, b) in enumerate(shapes)]
    fitted = calibrate(kernels, "fit")
    assert float(fitted.device.peak_macs_per_s) == pytest.approx(peak, rel=1e-3)
    assert float(fitted.device.bandwidth_bytes_per_s) == pytest.approx(bandwidth, rel=1e-3)
    assert fitted.rms_log_error == pytest.approx(0, abs=1e-3)
    assert fitted.points == len(shapes)


def test_calibrated_device_reproduces_its_fit_on_the_roofline(result: Any) -> None:
    fitted = calibrate(result.mapped, "fit")
    again = aggregate(archcost.analyze(str(SPEC)), fitted.device, load_profile(PROFILE), warmup=1)
    est_us = sum(float(k.est_time) * 1e6 for k in again.mapped if k.measured_us > 0)
    assert fitted.est_us == pytest.approx(est_us, rel=1e-9)


def test_calibration_needs_both_kinds_of_kernel() -> None:
    with pytest.raises(UsageError, match="calibration needs"):
        calibrate([_kernel("k", 0, 100, 1e-6)])


def test_calibrated_device_file_round_trips(tmp_path: Path) -> None:
    kernels = [_kernel("a", 10**8, 10**6, 1e-3), _kernel("b", 10**5, 10**7, 1e-3)]
    fitted = calibrate(kernels, "box", "test run")
    path = tmp_path / "box.yaml"
    path.write_text(device_file_text(fitted, {"threads": 1}))
    loaded = load_device_file(path)["box"]
    assert loaded.peak_macs_per_s == fitted.device.peak_macs_per_s
    assert loaded.bandwidth_bytes_per_s == fitted.device.bandwidth_bytes_per_s
    assert loaded.source == "test run" and loaded.extra["threads"] == 1


def test_renderers(result: Any) -> None:
    table = render(result, "table")
    assert "Depthwise conv k×k" in table and "relu_nchwc" in table and "Spearman" in table
    markdown = render(result, "markdown")
    assert "| Conv 1×1 (pointwise) |" in markdown
    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    assert [r["category"] for r in rows] == ["conv_1x1", "depthwise", "fully_connected", "other",
                                             "runtime-inserted"]
    assert sum(int(r["macs"]) for r in rows) == sum(MACS.values())
    kernels = list(csv.DictReader(io.StringIO(render(result, "csv", table="kernels"))))
    assert {r["kernel"]: r["members"] for r in kernels}["relu_nchwc"] == "pw bn relu"


def test_plot(result: Any, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "shares.png"
    plot(result, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib(result: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(UsageError, match=r"pip install 'archcost\[plot\]'"):
        plot(result, tmp_path / "x.png")


# --- the command line ---


def test_cli_from_profile_and_calibrate(tmp_path: Path) -> None:
    out = tmp_path / "dev.yaml"
    result = run_cli("profile", str(SPEC), "--from-profile", str(PROFILE), "--warmup", "1",
                     "--peak", "1G", "--bandwidth", "2G", "--format", "json",
                     "--calibrate", "--calibrate-out", str(out), "--device-name", "box")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["runs"] == 3 and data["macs"] == sum(MACS.values())
    assert data["calibration"]["device"]["name"] == "box"
    box = load_device_file(out)["box"]
    again = run_cli("profile", str(SPEC), "--from-profile", str(PROFILE), "--warmup", "1",
                    "--device-file", str(out), "--format", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["device"]["peak_macs_per_s"] == float(box.peak_macs_per_s)
    analyze = run_cli("analyze", str(SPEC), "--device-file", str(out))
    assert analyze.returncode == 0 and "roofline estimate on box" in analyze.stdout


def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text("{}")
    result = run_cli("profile", str(SPEC), "--from-profile", str(bad))
    assert result.returncode == 2 and "not an onnxruntime profile" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    result = run_cli("profile", str(SPEC), "--runs", "0")
    assert result.returncode == 2 and "--runs" in result.stderr


def test_cli_runs_onnxruntime(tmp_path: Path) -> None:
    # Structure only: which kernels ran and what they cover, never how long they took.
    pytest.importorskip("onnxruntime")
    raw = tmp_path / "raw.json"
    result = run_cli("profile", str(SPEC), "--runs", "2", "--warmup", "1", "--threads", "1",
                     "--format", "json", "--keep-profile", str(raw))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["runs"] == 2 and data["warmup"] == 1 and data["settings"]["threads"] == 1
    members = sorted(m for k in data["kernels"] for m in k["members"])
    assert members == sorted(r.name for r in archcost.analyze(str(SPEC)).layers)
    assert {k["anchor"] for k in data["kernels"] if k["anchor"]} >= {"pw", "dw", "fc"}
    assert len(load_profile(raw).runs) == 3
    unoptimized = run_cli("profile", str(SPEC), "--runs", "1", "--warmup", "0", "--threads", "1",
                          "--optimization", "none", "--format", "json")
    assert unoptimized.returncode == 0, unoptimized.stderr
    kernels = json.loads(unoptimized.stdout)["kernels"]
    assert all(k["members"] == [k["kernel"]] for k in kernels)
