"""Memory traffic, arithmetic intensity and the roofline estimate, against closed forms.

Notation: B batch, M input channels, N output channels, K kernel size, H×W the
feature map (stride 1, "same" padding, so input and output maps are equal).
float32 tensors are 4 bytes per element.
"""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from pathlib import Path

import pytest

import archcost
from archcost.categories import Category
from archcost.cost.roofline import (
    DEFAULT_DEVICE,
    DEVICES_FILE,
    Device,
    intensity,
    load_device_file,
    node_traffic,
    parse_rate,
    presets,
    resolve_device,
    roofline,
    tensor_bytes,
)
from archcost.errors import ShapeError, SpecError, UsageError
from tests.conftest import run_cli


@pytest.mark.parametrize(
    ("shape", "dtype", "expected"),
    [
        ((1, 3, 224, 224), "float32", 3 * 224 * 224 * 4),
        ((1, 3, 224, 224), "float16", 3 * 224 * 224 * 2),
        ((7, 5), "int8", 35),
        ((7, 5), "int64", 35 * 8),
        ((7, 5), "bool", 35),
        ((3, 5), "int4", 8),  # 15 nibbles packed two per byte: ceil(15 / 2)
        ((), "float64", 8),  # a scalar is one element
    ],
    ids=["f32-image", "f16-image", "int8", "int64", "bool", "int4-packed", "scalar"],
)
def test_tensor_bytes(shape: tuple[int, ...], dtype: str, expected: int) -> None:
    assert tensor_bytes(shape, dtype) == expected


def test_string_tensors_have_no_size() -> None:
    # One behaviour with the memory analysis (archcost.dtypes): string has no fixed width, so a
    # string tensor is left out of the bytes and listed, never a refusal of a valid graph.
    assert tensor_bytes((4,), "string") is None
    with pytest.raises(ShapeError, match="dtype 'floot32'"):
        tensor_bytes((4,), "floot32")


def _conv_spec(write_spec, b: int, m: int, n: int, k: int, h: int, depthwise: bool) -> Path:  # type: ignore[no-untyped-def]
    layer = (f"{{op: conv, name: c, depthwise: true, kernel: {k}}}" if depthwise
             else f"{{op: conv, name: c, out: {n}, kernel: {k}}}")
    return write_spec(f"""
name: one_conv
inputs:
  x: {{shape: [{b}, {m}, {h}, {h}]}}
layers:
  - {layer}
""")


@pytest.mark.parametrize(
    ("b", "m", "n", "k", "h", "depthwise"),
    [
        (1, 32, 64, 1, 112, False),
        (2, 16, 24, 3, 28, False),
        (1, 3, 32, 5, 17, False),
        (1, 32, 32, 3, 112, True),
        (4, 512, 512, 3, 14, True),
    ],
    ids=["pointwise", "full-3x3-batch2", "full-5x5-odd", "depthwise-mnv1-sep1", "depthwise-batch4"],
)
def test_conv_traffic_and_intensity(write_spec, b: int, m: int, n: int, k: int, h: int,  # type: ignore[no-untyped-def]
                                    depthwise: bool) -> None:
    report = archcost.analyze(str(_conv_spec(write_spec, b, m, n, k, h, depthwise)))
    row = next(r for r in report.layers if r.name == "c")
    weights = m * k * k if depthwise else n * m * k * k
    macs = b * m * h * h * k * k if depthwise else b * n * h * h * m * k * k
    read = 4 * (b * m * h * h + weights)
    written = 4 * b * n * h * h
    traffic = node_traffic(report, row)
    assert row.macs == macs
    assert (traffic.read, traffic.written) == (read, written)
    assert traffic.initializer_bytes == 4 * weights
    assert traffic.read_by_dtype == {"float32": read}
    assert intensity(row.macs, traffic.total) == Fraction(macs, read + written)


def test_depthwise_intensity_tends_to_k2_over_8(write_spec) -> None:  # type: ignore[no-untyped-def]
    # Per output element a 3×3 depthwise conv does 9 MACs and moves one input and one
    # output float (8 bytes): intensity → 9/8 as the map grows and the weights vanish.
    report = archcost.analyze(str(_conv_spec(write_spec, 1, 8, 8, 3, 512, True)))
    row = report.layers[0]
    value = intensity(row.macs, node_traffic(report, row).total)
    # MACs 9·8·512², bytes 4·(2·8·512² + 8·9): the 72 weights keep it just below 9/8.
    assert value == Fraction(9 * 512 * 512, 8 * 512 * 512 + 36)
    assert 0 < Fraction(9, 8) - value < Fraction(1, 10**4)


def test_fc_traffic(write_spec) -> None:  # type: ignore[no-untyped-def]
    b, i, o = 3, 1024, 1000
    report = archcost.analyze(str(write_spec(f"""
name: fc_only
inputs:
  x: {{shape: [{b}, {i}]}}
layers:
  - {{op: fc, name: fc, out: {o}}}
""")))
    row = report.layers[0]
    traffic = node_traffic(report, row)
    assert (traffic.read, traffic.written) == (4 * (b * i + o * i + o), 4 * b * o)
    assert intensity(row.macs, traffic.total) == Fraction(b * i * o, 4 * (b * i + o * i + o + b * o))


def test_a_tensor_read_twice_is_read_once(write_spec) -> None:  # type: ignore[no-untyped-def]
    report = archcost.analyze(str(write_spec("""
name: square
inputs:
  x: {shape: [2, 5]}
layers:
  - {op: add, name: twice, inputs: [x, x]}
""")))
    traffic = node_traffic(report, report.layers[0])
    assert (traffic.read, traffic.written) == (40, 40)
    assert intensity(0, traffic.total) == 0
    assert intensity(5, 0) is None


def test_mobilenet_v1_first_depthwise_layer() -> None:
    # sep1.dw: M = 32 at 112×112, 3×3 (Howard et al. 2017, Table 1, row "Conv dw / s1").
    report = archcost.analyze("mobilenet_v1")
    row = next(r for r in report.layers if r.name == "sep1.dw")
    traffic = node_traffic(report, row)
    assert traffic.read == 4 * (32 * 112 * 112 + 32 * 9)
    assert traffic.written == 4 * 32 * 112 * 112
    assert intensity(row.macs, traffic.total) == Fraction(3 * 3 * 32 * 112 * 112,
                                                          4 * (2 * 32 * 112 * 112 + 32 * 9))


def test_symbolic_traffic_substitutes_to_the_fast_path() -> None:
    import sympy

    from archcost.symbols import param_symbol

    concrete = archcost.analyze("mobilenet_v1", alpha=0.5, resolution=160)
    symbolic = archcost.analyze("mobilenet_v1", symbols=["resolution"], alpha=0.5)
    r = param_symbol("resolution")
    for fast, sym in zip(concrete.layers, symbolic.layers, strict=True):
        expected = node_traffic(concrete, fast)
        got = node_traffic(symbolic, sym)
        assert sympy.sympify(got.total).subs(r, 160) == expected.total, fast.name


@pytest.mark.parametrize(("peak", "bandwidth"), [(10**9, 2 * 10**9), (48 * 10**9, 512 * 10**8), (7, 3)])
def test_roofline_time_is_the_max_of_the_two_roofs(peak: int, bandwidth: int) -> None:
    report = archcost.analyze("mobilenet_v1")
    device = Device("test", Fraction(peak), Fraction(bandwidth))
    result = roofline(report, device)
    total = Fraction(0)
    for row, node in zip(report.layers, result.nodes, strict=True):
        nbytes = node_traffic(report, row).total
        expected = max(Fraction(row.macs, peak), Fraction(nbytes, bandwidth))
        assert node.time == expected
        assert node.bound == ("compute" if row.macs and Fraction(row.macs, nbytes) >= device.ridge
                              else "memory")
        total += expected
    assert result.latency == total
    assert sum(result.by_category().values(), Fraction(0)) == total


def test_a_node_exactly_at_the_ridge_is_compute_bound(write_spec) -> None:  # type: ignore[no-untyped-def]
    report = archcost.analyze(str(_conv_spec(write_spec, 1, 32, 64, 1, 112, False)))
    row = report.layers[0]
    ratio = Fraction(row.macs, node_traffic(report, row).total)
    on_ridge = roofline(report, Device("ridge", ratio * 1000, Fraction(1000)))
    assert on_ridge.nodes[0].compute_time == on_ridge.nodes[0].memory_time
    assert on_ridge.nodes[0].bound == "compute"
    below = roofline(report, Device("below", ratio * 1001, Fraction(1000)))
    assert below.nodes[0].bound == "memory"


def test_categories_on_the_roofline() -> None:
    result = roofline(archcost.analyze("mobilenet_v1"), presets()["avx2-core"])
    categories = result.by_category()
    assert list(categories) == [Category.CONV_1X1, Category.DEPTHWISE, Category.FULL_CONV,
                                Category.FULLY_CONNECTED, Category.OTHER]


def test_symbolic_reports_have_no_roofline() -> None:
    with pytest.raises(UsageError, match="concrete"):
        roofline(archcost.analyze("mobilenet_v1", symbols=None), presets()[DEFAULT_DEVICE])


# --- device profiles ---


def test_presets_load_and_derive_from_their_comments() -> None:
    assert DEVICES_FILE.is_file(), "archcost/data/devices.yaml is missing"
    devices = presets()
    assert DEFAULT_DEVICE in devices
    # The derivations written next to each preset in devices.yaml.
    assert devices["avx2-core"].peak_macs_per_s == 2 * 8 * 3 * 10**9
    assert devices["avx2-core"].bandwidth_bytes_per_s == 2 * 8 * 3200 * 10**6
    assert devices["avx512-core"].peak_macs_per_s == 2 * 16 * 3 * 10**9
    assert devices["apple-m1"].peak_macs_per_s == 4 * Fraction(32, 10) * 10**9 * 4 * 4
    assert devices["jetson-nano"].peak_macs_per_s == 128 * Fraction(9216, 10) * 10**6
    assert devices["nvidia-t4"].peak_macs_per_s * 2 == Fraction(81, 10) * 10**12
    for device in devices.values():
        assert device.source


@pytest.mark.parametrize(
    ("text", "expected"),
    [("48G", 48 * 10**9), ("51.2G", Fraction(512, 10) * 10**9), ("4.8e10", 48 * 10**9),
     ("1000", 1000), ("2.5k", 2500), ("3T", 3 * 10**12)],
)
def test_parse_rate(text: str, expected: Fraction) -> None:
    assert parse_rate(text, "--peak") == expected


@pytest.mark.parametrize("text", ["", "0", "-5G", "1e9x", "nan", "inf", "1G/s", "__import__"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(UsageError, match="--peak"):
        parse_rate(text, "--peak")


def test_device_file_errors_point_at_the_line(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text("devices:\n  mine:\n    peak_macs_per_s: 10\n    bandwith_bytes_per_s: 5\n")
    with pytest.raises(SpecError, match="unknown key 'bandwith_bytes_per_s'") as err:
        load_device_file(path)
    assert str(err.value).startswith(f"{path}:4:")
    path.write_text("devices:\n  mine:\n    peak_macs_per_s: -10\n    bandwidth_bytes_per_s: 5\n")
    with pytest.raises(SpecError, match="must be positive") as err:
        load_device_file(path)
    assert str(err.value).startswith(f"{path}:3:")
    path.write_text("devices:\n  mine:\n    peak_macs_per_s: 10\n")
    with pytest.raises(SpecError, match="needs 'bandwidth_bytes_per_s'"):
        load_device_file(path)
    path.write_text("peak_macs_per_s: 10\n")
    with pytest.raises(SpecError, match="top-level 'devices:'"):
        load_device_file(path)


def test_resolve_device(tmp_path: Path) -> None:
    path = tmp_path / "dev.yaml"
    path.write_text("devices:\n  mine:\n    peak_macs_per_s: 12.5G\n    bandwidth_bytes_per_s: 1.5e9\n")
    mine = resolve_device(device_file=str(path))
    assert mine is not None and mine.name == "mine"
    assert (mine.peak_macs_per_s, mine.bandwidth_bytes_per_s) == (125 * 10**8, 15 * 10**8)
    assert resolve_device() is None
    assert resolve_device(default=DEFAULT_DEVICE) == presets()[DEFAULT_DEVICE]
    adjusted = resolve_device("avx2-core", peak="1G")
    assert adjusted is not None
    assert adjusted.peak_macs_per_s == 10**9
    assert adjusted.bandwidth_bytes_per_s == presets()["avx2-core"].bandwidth_bytes_per_s
    custom = resolve_device(peak="1G", bandwidth="2G")
    assert custom is not None and custom.ridge == Fraction(1, 2)
    with pytest.raises(UsageError, match="give both"):
        resolve_device(peak="1G")
    with pytest.raises(UsageError, match="unknown device 'nope'; known: apple-m1"):
        resolve_device("nope")
    with pytest.raises(UsageError, match="no such device file"):
        resolve_device(device_file=str(tmp_path / "missing.yaml"))


# --- `archcost analyze --device` ---


def test_analyze_device_columns_in_csv() -> None:
    result = run_cli("analyze", "mobilenet_v1", "--peak", "48G", "--bandwidth", "51.2G", "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    report = archcost.analyze("mobilenet_v1")
    for row, layer in zip(rows, report.layers, strict=False):
        traffic = node_traffic(report, layer)
        assert int(row["bytes read"]) == traffic.read
        assert int(row["bytes written"]) == traffic.written
    total = rows[-1]
    assert total["layer"] == "TOTAL"
    assert int(total["bytes read"]) == sum(node_traffic(report, r).read for r in report.layers)


def test_analyze_device_json_and_table() -> None:
    result = run_cli("analyze", "mobilenet_v1", "--device", "avx2-core", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)["roofline"]
    assert data["device"]["name"] == "avx2-core"
    sep1 = next(layer for layer in data["layers"] if layer["name"] == "sep1.dw")
    assert Fraction(sep1["intensity"]) == Fraction(3 * 3 * 32 * 112 * 112, 4 * (2 * 32 * 112 * 112 + 32 * 9))
    table = run_cli("analyze", "mobilenet_v1", "--device", "avx2-core")
    assert "MAC/B" in table.stdout and "roofline estimate on avx2-core" in table.stdout
    plain = run_cli("analyze", "mobilenet_v1")
    assert "MAC/B" not in plain.stdout


def test_analyze_device_errors_are_one_line() -> None:
    result = run_cli("analyze", "mobilenet_v1", "--device", "nope")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "unknown device 'nope'" in result.stderr
    result = run_cli("analyze", "mobilenet_v1", "--symbolic", "--device", "avx2-core")
    assert result.returncode == 2 and "concrete shapes" in result.stderr
