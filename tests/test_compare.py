"""``archcost compare``: several models side by side."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

import archcost
from archcost.errors import UsageError
from archcost.report.compare import ModelRef, compare_table, parse_model_ref
from tests.conftest import run_cli


def test_parse_model_ref() -> None:
    assert parse_model_ref("mobilenet_v1") == ModelRef("mobilenet_v1", {})
    assert parse_model_ref("mobilenet_v1:alpha=0.5,resolution=160") == ModelRef(
        "mobilenet_v1", {"alpha": "0.5", "resolution": "160"})
    assert parse_model_ref("specs/vgg16.yaml") == ModelRef("specs/vgg16.yaml", {})
    with pytest.raises(UsageError):
        parse_model_ref("mobilenet_v1:alpha=0.5,=3")


def test_cli_json_matches_the_analysis_and_sorts_by_macs() -> None:
    proc = run_cli("compare", "vgg16", "mobilenet_v1", "mobilenet_v1:alpha=0.5,resolution=160",
                   "--sort", "macs", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    table = json.loads(proc.stdout)
    models = [r["model"] for r in table["rows"]]
    assert models == ["mobilenet_v1:alpha=0.5,resolution=160", "mobilenet_v1", "vgg16"]
    for row in table["rows"]:
        ref = parse_model_ref(row["model"])
        totals = archcost.analyze(ref.model, params=ref.settings).totals
        assert (row["macs"], row["params"], row["weights"]) == (totals.macs, totals.params, totals.weights)
    assert "paper" in table["convention"]
    # MobileNetV1's MACs in 1×1 convolutions: 94.86 % (Howard et al. 2017, Table 2).
    assert table["rows"][1]["conv_1x1_percent"] == "94.86"


def test_shares_are_exact_fractions_of_the_total() -> None:
    report = archcost.analyze("mobilenet_v1")
    table = compare_table([ModelRef("mobilenet_v1", {})], [report])
    conv1x1 = table.values("conv_1x1_percent")[0]
    # Closed form: the 1×1 convs of Table 1 at α = 1, 224 (D_F² · M · N summed over the 13 layers).
    pointwise = sum(hw * hw * m * n for hw, m, n in [
        (112, 32, 64), (56, 64, 128), (56, 128, 128), (28, 128, 256), (28, 256, 256), (14, 256, 512),
        *[(14, 512, 512)] * 5, (7, 512, 1024), (7, 1024, 1024)])
    assert conv1x1 == Fraction(100 * pointwise, report.totals.macs)


def test_peak_activation_column() -> None:
    report = archcost.analyze("mobilenet_v1")
    table = compare_table([ModelRef("mobilenet_v1", {})], [report])
    peak = table.values("peak_activation")[0]
    try:
        from archcost.cost.memory import activation_memory  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        assert peak == "n/a"
    else:
        assert peak == activation_memory(report).peak_bytes


def test_cli_bad_sort_and_bad_model_exit_2() -> None:
    assert run_cli("compare", "mobilenet_v1", "--sort", "speed").returncode == 2
    proc = run_cli("compare", "no_such_model")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
