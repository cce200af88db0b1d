"""The same options on every command, usage errors in one line, help in plain text, and --set that
never applies silently to only some models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archcost.cli import COMMANDS
from tests.conftest import run_cli


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_output_and_format(command: str) -> None:
    text = run_cli(command, "--help").stdout
    assert "-o FILE, --output FILE" in text, command
    if command != "export":  # export writes one ONNX file: -o is its output, there is no format
        assert "--format" in text, command


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_text(command: str) -> None:
    text = run_cli(command, "--help").stdout
    assert "``" not in text and ":func:" not in text
    assert text.split("\n\n")[1].startswith(f"archcost {command}"), text.split("\n\n")[1]


@pytest.mark.parametrize("args", [
    ("analyze",), ("analyze", "mobilenet_v1", "--format", "xml"), ("nonsense",), (),
    ("gate", "--top", "many"), ("analyze", "mobilenet_v1", "--width", "0"),
])
def test_a_usage_error_is_one_line_with_a_hint(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "usage:" not in lines[0], result.stderr
    assert lines[0].endswith("--help`)")


def test_a_parameter_that_is_not_a_number_says_so() -> None:
    result = run_cli("analyze", "mobilenet_v1", "--set", "alpha=abc")
    assert result.returncode == 2
    assert result.stderr.strip() == ("archcost: mobilenet_v1: parameter 'alpha': expected a number such as 0.75, "
                                     "3/4 or 224, got 'abc'")


@pytest.mark.parametrize(("args", "check"), [
    (("analyze", "mobilenet_v1", "--format", "json"), lambda t: json.loads(t)["totals"]["macs"] == 568_740_352),
    (("compare", "mobilenet_v1", "--format", "csv"), lambda t: "568740352" in t),
    (("sweep", "mobilenet_v1", "--alpha", "1", "--format", "json"), lambda t: json.loads(t)["rows"][0]["macs"]
     == 568_740_352),
    (("gate", "mobilenet_v1", "--max-macs", "600M", "--format", "markdown"), lambda t: "mobilenet_v1" in t),
    (("verify", "mobilenet_v1", "--format", "json"), lambda t: json.loads(t)["ok"] is True),
    (("report", "mobilenet_v1", "--format", "markdown"), lambda t: t.startswith("# ")),
], ids=["analyze", "compare", "sweep", "gate", "verify", "report"])
def test_output_writes_the_file_and_prints_nothing(args: tuple[str, ...], check, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.txt"
    result = run_cli(*args, "-o", str(out), timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    assert check(text)
    assert text == run_cli(*args, timeout=300).stdout  # the same as on standard output


def test_compare_rows_name_every_setting() -> None:
    rows = json.loads(run_cli("compare", "mobilenet_v1", "mobilenet_v2:resolution=160", "resnet50",
                              "--set", "alpha=0.5", "--format", "json").stdout)["rows"]
    assert [r["model"] for r in rows] == ["mobilenet_v1:alpha=0.5", "mobilenet_v2:alpha=0.5,resolution=160",
                                          "resnet50"]


def test_a_set_that_some_models_do_not_take_is_said() -> None:
    result = run_cli("compare", "mobilenet_v1", "resnet50", "--set", "alpha=0.5")
    assert result.returncode == 0, result.stderr
    assert "--set alpha=0.5 applies only to the models that declare it; not to resnet50" in result.stdout
    data = json.loads(run_cli("compare", "mobilenet_v1", "resnet50", "--set", "alpha=0.5", "--format", "json").stdout)
    assert data["notes"] == ["--set alpha=0.5 applies only to the models that declare it; not to resnet50"]


def test_a_set_that_no_model_takes_is_an_error() -> None:
    result = run_cli("compare", "mobilenet_v1", "resnet50", "--set", "alhpa=0.5")
    assert result.returncode == 2 and result.stdout == ""
    assert "--set alhpa: no model declares a parameter 'alhpa'" in result.stderr
