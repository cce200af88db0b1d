"""The command line as a user meets it: formats, help, start-up cost, exit codes."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_cli


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from archcost.cli import main\n"
        "main(['--help'])\n"
        "heavy = [m for m in ('sympy', 'networkx', 'onnx', 'numpy', 'matplotlib', 'yaml') if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY:"


def test_version_and_help_exit_zero() -> None:
    assert run_cli("--version").stdout.startswith("archcost ")
    result = run_cli("--help")
    assert result.returncode == 0 and "analyze" in result.stdout


def test_no_command_is_a_usage_error() -> None:
    assert run_cli().returncode == 2


def test_python_module_and_table_output() -> None:
    result = run_cli("analyze", "mobilenet_v1")
    assert result.returncode == 0, result.stderr
    assert "convention: paper" in result.stdout
    assert re.search(r"^total MACs +568,740,352 +569M$", result.stdout, re.M)
    assert re.search(r"^Conv 1×1 \(pointwise\) +539,492,352 +94\.86 ", result.stdout, re.M)


def test_markdown_and_csv_agree_with_json() -> None:
    as_json = json.loads(run_cli("analyze", "mobilenet_v1", "--format", "json").stdout)
    rows = list(csv.DictReader(io.StringIO(run_cli("analyze", "mobilenet_v1", "--format", "csv").stdout)))
    assert rows[-1]["layer"] == "TOTAL"
    assert int(rows[-1]["MACs"]) == as_json["totals"]["macs"]
    assert [r["layer"] for r in rows[:-1]] == [layer["name"] for layer in as_json["layers"]]
    assert sum(int(r["MACs"]) for r in rows[:-1]) == as_json["totals"]["macs"]
    assert sum(int(r["params"]) for r in rows[:-1]) == as_json["totals"]["params"]
    markdown = run_cli("analyze", "mobilenet_v1", "--format", "markdown").stdout
    assert markdown.startswith("# mobilenet_v1") and "| conv1 " in markdown


def test_flops_convention() -> None:
    paper = json.loads(run_cli("analyze", "mobilenet_v1", "--format", "json").stdout)
    flops = json.loads(run_cli("analyze", "mobilenet_v1", "--format", "json", "--convention", "flops").stdout)
    assert flops["convention"] == "flops" and flops["unit"] == "FLOPs"
    # 2·MACs plus the documented non-MAC terms, summed independently from the per-layer terms.
    extra = sum(v for layer in flops["layers"] for k, v in layer["terms"].items() if k != "mac")
    assert flops["totals"]["cost"] == 2 * paper["totals"]["macs"] + extra
    assert extra > 0


@pytest.mark.parametrize("args", [["--symbolic"], ["--symbol", "alpha"], ["--symbolic", "--continuous"]])
def test_symbolic_output(args: list[str]) -> None:
    result = run_cli("analyze", "mobilenet_v1", *args)
    assert result.returncode == 0, result.stderr
    assert "total MACs:" in result.stdout and "alpha" in result.stdout


def test_continuous_formula_is_printed() -> None:
    result = run_cli("analyze", "mobilenet_v1", "--symbolic", "--continuous")
    assert "total MACs: 10752·α²·resolution² + 1125·α·resolution²/2 + 1024000·α" in result.stdout
    as_json = json.loads(run_cli("analyze", "mobilenet_v1", "--symbolic", "--continuous", "--format", "json").stdout)
    # JSON keeps SymPy's own text, which SymPy reads back.
    assert as_json["totals"]["macs"] == "10752*alpha**2*resolution**2 + 1125*alpha*resolution**2/2 + 1024000*alpha"
