"""The budget gate: exact budget parsing, checks, baselines, and the CLI's results for CI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest

import archcost
from archcost.cost.analyze import analyze_graph
from archcost.cost.conventions import get_convention
from archcost.errors import UsageError
from archcost.gate import (
    Budgets,
    Metric,
    baseline_from_dict,
    budgets_from_mapping,
    evaluate,
    parse_percent,
    parse_quantity,
)
from archcost.graph import GraphBuilder, OpNode, Tensor, TensorKind
from archcost.report.gate_outputs import culprit_detail, gate_notes
from archcost.zoo import zoo_names
from tests.conftest import REPO, run_cli


def mobilenet_v1_macs(alpha: Fraction = Fraction(1)) -> int:
    """Howard et al. 2017, Table 1, by hand: channel c becomes int(c·α), as the Keras reference does."""
    def ch(c: int) -> int:
        return int(c * alpha)

    # (input channels, output channels, output size) of each depthwise-separable layer
    rows = [(32, 64, 112), (64, 128, 56), (128, 128, 56), (128, 256, 28), (256, 256, 28),
            (256, 512, 14), *[(512, 512, 14)] * 5, (512, 1024, 7), (1024, 1024, 7)]
    total = 3 * 3 * 3 * ch(32) * 112 * 112  # Conv / s2
    for c_in, c_out, size in rows:
        total += 3 * 3 * ch(c_in) * size * size  # depthwise 3×3
        total += ch(c_in) * ch(c_out) * size * size  # pointwise 1×1
    return total + ch(1024) * 1000  # FC


MACS = mobilenet_v1_macs()
#: The 1×1 layers with the most MACs: 128·128·56², 256·256·28², 512·512·14², 1024·1024·7², all equal.
LARGEST_1X1 = 128 * 128 * 56 * 56


def test_reference_figure() -> None:
    assert MACS == 568_740_352  # Tables 6 and 7: 569 million Mult-Adds
    assert LARGEST_1X1 == 256 * 256 * 28 * 28 == 512 * 512 * 14 * 14 == 1024 * 1024 * 7 * 7


# --- parsing ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "in_bytes", "expected"), [
    ("600M", False, 600 * 10**6),
    ("1.2G", False, 1_200_000_000),
    ("4.5M", False, 4_500_000),
    ("0.1G", False, 100_000_000),
    ("17MB", True, 17 * 10**6),
    ("8MiB", True, 8 * 2**20),
    ("1.5KiB", True, 1536),
    ("2GiB", True, 2 * 2**30),
    ("10kB", True, 10_000),
    ("3K", False, 3000),
    ("1e3", False, 1000),
    ("1_000", False, 1000),
    ("0", False, 0),
    (" 600 M ", False, 600 * 10**6),
    ("0.3", False, Fraction(3, 10)),
    (600, False, 600),
    (4.5e6, False, 4_500_000),
], ids=lambda v: str(v))
def test_parse_quantity(text: object, in_bytes: bool, expected: int | Fraction) -> None:
    value = parse_quantity(text, name="budget", in_bytes=in_bytes)
    assert isinstance(value, Fraction)
    assert value == expected


@pytest.mark.parametrize(("text", "in_bytes", "message"), [
    ("600m", False, "upper case"),
    ("8mib", True, "upper case"),
    ("8Mb", True, "upper-case B"),
    ("600MB", False, "drop the B"),
    ("-1", False, "cannot read"),
    ("MB", True, "cannot read"),
    ("1.2.3", False, "cannot read"),
    ("nan", False, "cannot read"),
    ("", False, "cannot read"),
    ("1e999", False, "out of range"),
    (True, False, "expected a number"),
    (-5, False, "negative"),
    ("1" * 100, False, "longer than"),
], ids=lambda v: str(v)[:12])
def test_parse_quantity_errors(text: object, in_bytes: bool, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_quantity(text, name="budget", in_bytes=in_bytes)


def test_parse_percent() -> None:
    assert parse_percent("5%") == Fraction(1, 20)
    assert parse_percent("12.5 %") == Fraction(1, 8)
    assert parse_percent("0%") == 0
    with pytest.raises(UsageError, match="percentage"):
        parse_percent("5")
    with pytest.raises(UsageError, match="percentage"):
        parse_percent(0.05)


def test_budget_mapping_accepts_dashes_and_underscores_and_rejects_unknown_keys() -> None:
    budgets = budgets_from_mapping({"max_macs": "600M", "max-increase": "5%", "peak-order": "best"})
    assert budgets.limits == {Metric.MACS: 600_000_000}
    assert budgets.max_increase[Metric.PARAMS] == Fraction(1, 20)
    assert Metric.UNKNOWN_OPS not in budgets.max_increase
    assert budgets.peak_order == "best"
    with pytest.raises(UsageError, match=r"unknown budget 'max-flops'.*max-macs"):
        budgets_from_mapping({"max-flops": "1G"})
    with pytest.raises(UsageError, match="whole number"):
        budgets_from_mapping({"max-unknown-ops": "0.5"})


def test_exact_comparison_at_the_boundary() -> None:
    report = archcost.analyze("mobilenet_v1")
    at = evaluate(report, Budgets({Metric.MACS: Fraction(MACS)}))
    below = evaluate(report, Budgets({Metric.MACS: Fraction(MACS - 1)}))
    assert at.passed and not below.passed
    assert below.checks[0].excess == 1


# --- checks ---------------------------------------------------------------------------------------

def test_mobilenet_v1_over_500m() -> None:
    result = evaluate(archcost.analyze("mobilenet_v1"), budgets_from_mapping({"max-macs": "500M"}))
    (check,) = result.checks
    assert not result.passed
    assert check.actual == MACS
    assert check.excess == MACS - 500_000_000 == 68_740_352
    assert check.excess_ratio == Fraction(68_740_352, 500_000_000)  # 13.7 %
    assert len(check.culprits) == 5
    for culprit in check.culprits:
        assert culprit.value == LARGEST_1X1
        assert "conv_1x1" in culprit_detail(culprit)
    labels = [label for label, _ in check.breakdown]
    assert labels[0] == "Conv 1×1 (pointwise)"
    assert sum(share for _, share in check.breakdown) == 1


def test_memory_budgets() -> None:
    report = archcost.analyze("mobilenet_v1")
    result = evaluate(report, budgets_from_mapping({
        "max-peak-activation": "6MiB", "max-weights-bytes": "17MB", "max-params": "4.5M"}))
    by_metric = {c.metric: c for c in result.checks}
    # Peak: two 64×112×112 float32 tensors (see tests/test_memory.py) against 6·2^20.
    peak = by_metric[Metric.PEAK_ACTIVATION]
    assert peak.excess == 2 * 64 * 112 * 112 * 4 - 6 * 2**20 == 131_072
    assert {c.name for c in peak.culprits} == {"sep1.pw", "sep1.pw_bn"}
    # Weight bytes count BN buffers too: 4 × 4,253,864 stored values against 17·10^6.
    assert by_metric[Metric.WEIGHT_BYTES].excess == 17_015_456 - 17_000_000
    assert by_metric[Metric.PARAMS].passed  # 4,231,976 trainable (DESIGN.md)
    assert evaluate(report, budgets_from_mapping({"max-peak-activation": "8MiB"})).passed


def _graph_with_unknown_op() -> archcost.cost.result.Report:
    b = GraphBuilder("custom")
    b.add_tensor(Tensor("x", (1, 4, 8, 8), TensorKind.INPUT))
    b.add_node(OpNode("r", "Relu", ("x",), ("r",)))
    b.add_node(OpNode("fancy", "FancyOp", ("r",), ("f",), domain="com.example"))
    b.add_node(OpNode("after", "Relu", ("f",), ("y",)))
    b.outputs = ["y"]
    return analyze_graph(b.build(), get_convention("paper"))


def test_unknown_ops_budget_on_a_built_graph() -> None:
    report = _graph_with_unknown_op()
    result = evaluate(report, budgets_from_mapping({"max-unknown-ops": 0}))
    (check,) = result.checks
    assert not check.passed and check.actual == 1
    assert check.culprits[0].name == "FancyOp"
    assert "fancy" in culprit_detail(check.culprits[0])
    assert any("downstream" in note for note in gate_notes(result))
    assert evaluate(report, budgets_from_mapping({"max-unknown-ops": 1})).passed
    # Without the budget the gate still says that something was not counted.
    assert any("no cost rule" in n for n in gate_notes(evaluate(report, budgets_from_mapping({"max-macs": 1}))))


def test_unknown_ops_budget_on_an_onnx_model(tmp_path: Path) -> None:
    from onnx import helper

    from tests.onnx_builders import model, node, save

    m = model([node("Relu", ["x"], "r"),
               helper.make_node("FancyOp", ["r"], ["f"], name="fancy", domain="com.example"),
               node("Relu", ["f"], "y")], [("x", [1, 4, 8, 8])], ["y"])
    m.opset_import.append(helper.make_opsetid("com.example", 1))
    path = save(m, tmp_path / "custom.onnx")
    failed = run_cli("gate", str(path), "--max-unknown-ops", "0")
    assert failed.returncode == 1, failed.stderr
    assert "max-unknown-ops" in failed.stdout and "FancyOp" in failed.stdout
    assert run_cli("gate", str(path), "--max-unknown-ops", "1").returncode == 0


def test_symbolic_figures_cannot_be_gated() -> None:
    report = archcost.analyze("mobilenet_v1", symbols=["batch"])
    with pytest.raises(UsageError, match="bind batch"):
        evaluate(report, budgets_from_mapping({"max-macs": "1G"}))


def test_max_increase_needs_a_baseline() -> None:
    with pytest.raises(UsageError, match="baseline"):
        evaluate(archcost.analyze("mobilenet_v1"), budgets_from_mapping({"max-increase": "5%"}))


def test_baseline_must_hold_exact_integers() -> None:
    with pytest.raises(UsageError, match="exact integer"):
        baseline_from_dict({"totals": {"macs": "10752*alpha**2"}, "layers": []}, where="b.json")
    with pytest.raises(UsageError, match="not a baseline"):
        baseline_from_dict([1, 2], where="b.json")


# --- CLI -------------------------------------------------------------------------------------------

def test_cli_within_and_over_budget() -> None:
    ok = run_cli("gate", "mobilenet_v1", "--max-macs", "600M")
    assert ok.returncode == 0, ok.stderr
    over = run_cli("gate", "mobilenet_v1", "--max-macs", "500M")
    assert over.returncode == 1, over.stderr
    out = over.stdout
    assert "max-macs" in out
    assert "excess 68.7M, 13.7 %" in out  # 68,740,352 / 500,000,000
    assert "68,740,352" in out
    top = [line.split()[0] for line in out.splitlines() if "conv_1x1" in line]
    assert len(top) == 5
    assert all(name.endswith(".pw") for name in top)
    assert f"{LARGEST_1X1:,}" in out


def test_cli_bad_input_exits_2() -> None:
    for args in (["--max-macs", "600m"], ["--max-increase", "5%"], ["--max-params", "lots"]):
        result = run_cli("gate", "mobilenet_v1", *args)
        assert result.returncode == 2, (args, result.stdout)
        assert result.stderr.startswith("archcost: ") and len(result.stderr.splitlines()) == 1
    assert run_cli("gate", "no_such_model", "--max-macs", "1G").returncode == 2
    assert run_cli("gate", "mobilenet_v1").returncode == 2  # no budget at all


def test_baseline_growth(tmp_path: Path) -> None:
    made = run_cli("analyze", "mobilenet_v1", "--format", "json")
    assert made.returncode == 0, made.stderr
    baseline = tmp_path / "base.json"
    baseline.write_text(made.stdout, encoding="utf-8")

    same = run_cli("gate", "mobilenet_v1", "--baseline", str(baseline), "--max-increase", "5%")
    assert same.returncode == 0, same.stdout + same.stderr

    grown = run_cli("gate", "mobilenet_v1", "--set", "alpha=1.25", "--baseline", str(baseline),
                    "--max-increase", "5%", "--format", "json")
    assert grown.returncode == 1, grown.stderr
    data = json.loads(grown.stdout)
    checks = {c["budget"]: c for c in data["models"][0]["checks"]}
    macs = checks["max-increase:macs"]
    after = mobilenet_v1_macs(Fraction(5, 4))
    assert macs["actual"] == after == 879_516_800
    assert macs["baseline"] == MACS
    assert macs["growth"] == round(after / MACS, 6)
    # The layers that grew most: 1×1 layers, each by (1.25)² with α = 1.25 exact on these widths.
    first = macs["culprits"][0]
    assert first["baseline"] == LARGEST_1X1 and first["value"] == LARGEST_1X1 * 25 // 16
    assert first["growth"] == 1.5625

    text = run_cli("gate", "mobilenet_v1", "--set", "alpha=1.25", "--baseline", str(baseline),
                   "--max-increase", "5%")
    assert text.returncode == 1
    assert f"×{after / MACS:.5g}" in text.stdout  # ×1.5464
    assert "layers that grew most" in text.stdout


def test_json_output() -> None:
    result = run_cli("gate", "mobilenet_v1", "--max-macs", "500M", "--max-params", "4.5M",
                     "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["passed"] is False and data["checks"] == 2 and data["failed"] == 1
    (model,) = data["models"]
    macs, params = model["checks"]
    assert macs == macs | {"budget": "max-macs", "limit": 500_000_000, "actual": MACS,
                           "passed": False, "excess": 68_740_352}
    assert params["passed"] is True and params["limit"] == 4_500_000


def test_junit_xml(tmp_path: Path) -> None:
    junit = tmp_path / "gate.xml"
    result = run_cli("gate", "mobilenet_v1", "resnet18", "--max-macs", "1G", "--max-params", "12M",
                     "--max-peak-activation", "8MiB", "--junit", str(junit))
    assert result.returncode == 1  # resnet18: 1.8 G MACs (He et al. 2015, Table 1)
    root = ET.parse(junit).getroot()
    # The common JUnit schema: <testsuites> of <testsuite> of <testcase>, counts as attributes.
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["mobilenet_v1", "resnet18"]
    cases = root.findall("testsuite/testcase")
    failures = root.findall("testsuite/testcase/failure")
    assert int(root.get("tests", "-1")) == len(cases) == 6
    assert int(root.get("failures", "-1")) == len(failures) == 1
    assert root.get("errors") == "0"
    for suite in suites:
        assert int(suite.get("tests", "-1")) == len(suite.findall("testcase")) == 3
        assert int(suite.get("failures", "-1")) == len(suite.findall("testcase/failure"))
        assert suite.get("errors") == "0" and suite.get("skipped") == "0"
        for case in suite.findall("testcase"):
            assert case.get("name") in ("max-macs", "max-params", "max-peak-activation")
            assert case.get("classname") == f"archcost.gate.{suite.get('name')}"
            assert float(case.get("time", "x")) >= 0
            assert {child.tag for child in case} <= {"failure", "system-out"}
    (failure,) = failures
    assert failure.get("type") == "BudgetExceeded"
    assert "max-macs" in (failure.get("message") or "")
    assert "grew" not in (failure.text or "") and "largest layers by MACs" in (failure.text or "")


_COMMAND = re.compile(r"^::(error|warning)(?: ([a-z]+=[^,:]*(?:,[a-z]+=[^,:]*)*))?::(.*)$")


def test_github_annotations_and_summary(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO), GITHUB_STEP_SUMMARY=str(summary))
    result = subprocess.run(
        [sys.executable, "-m", "archcost", "gate", "specs/mobilenet_v1.yaml", "--max-macs", "500M",
         "--max-params", "4.5M", "--github"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 1, result.stderr
    commands = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert len(commands) == 1  # one exceeded budget
    match = _COMMAND.match(commands[0])
    assert match is not None, commands[0]
    level, props, message = match.groups()
    assert level == "error"
    properties = dict(p.split("=", 1) for p in props.split(","))
    assert properties["file"] == "specs/mobilenet_v1.yaml"
    assert properties["title"] == "archcost gate%3A specs/mobilenet_v1.yaml max-macs"
    # Data escaping as the runner expects: % → %25, newline → %0A.
    assert "13.7 %25" in message and "%0A" in message and "\n" not in message
    assert "%" not in message.replace("%25", "").replace("%0A", "").replace("%0D", "")

    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step\n")  # appended, not overwritten
    assert "## archcost gate" in text
    assert "| model | budget | limit | actual | result |" in text
    assert "`max-macs`" in text and "500,000,000" in text and f"{MACS:,}" in text


def test_annotation_escapes_properties() -> None:
    from archcost.report.gate_outputs import annotation

    line = annotation("error", "50% done\r\nnext", title="a: b, c", file="x,y.yaml")
    assert line == "::error file=x%2Cy.yaml,title=a%3A b%2C c::50%25 done%0D%0Anext\n"


def test_ci_formats_are_library_functions() -> None:
    """JUnit, annotations and the job summary come from the report layer, without the CLI."""
    code = (
        "import sys, archcost\n"
        "from archcost.gate import budgets_from_mapping, evaluate\n"
        "from archcost.report.gate_outputs import render_annotations, render_junit, render_markdown\n"
        "results = [evaluate(archcost.analyze('mobilenet_v1'), budgets_from_mapping({'max-macs': '500M'}))]\n"
        "xml = render_junit(results)\n"
        "lines = render_annotations(results, {'mobilenet_v1': 'specs/mobilenet_v1.yaml'})\n"
        "summary = render_markdown(results)\n"
        "assert 'BudgetExceeded' in xml and lines.startswith('::error file=specs/mobilenet_v1.yaml')\n"
        "assert '| mobilenet_v1 | `max-macs` | 500,000,000 |' in summary\n"
        "print(sorted(m for m in sys.modules if m.startswith('archcost.cli')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_github_with_json_needs_output(tmp_path: Path) -> None:
    bad = run_cli("gate", "mobilenet_v1", "--max-macs", "1G", "--github", "--format", "json")
    assert bad.returncode == 2
    out = tmp_path / "gate.json"
    good = run_cli("gate", "mobilenet_v1", "--max-macs", "1G", "--github", "--format", "json",
                   "--output", str(out))
    assert good.returncode == 0 and json.loads(out.read_text(encoding="utf-8"))["passed"] is True


# --- budget files ---------------------------------------------------------------------------------

def test_zoo_wide_budget_file_gates_every_spec(tmp_path: Path) -> None:
    config = tmp_path / "budgets.yaml"
    config.write_text(
        "# Every classic net in the zoo is under 100 G MACs; mobilenet_v1 gets a tight budget.\n"
        "defaults:\n"
        "  max-macs: 100G\n"
        "models:\n"
        "  mobilenet_v1:\n"
        "    max-macs: 500M\n"
        "  mobilenet_v1-half:\n"
        "    model: mobilenet_v1\n"
        "    set: {alpha: 0.5}\n"
        "    max-macs: 150M\n"
        "zoo: true\n",
        encoding="utf-8",
    )
    junit = tmp_path / "zoo.xml"
    result = run_cli("gate", "--config", str(config), "--format", "json", "--output",
                     str(tmp_path / "zoo.json"), "--junit", str(junit))
    assert result.returncode == 1, result.stderr
    data = json.loads((tmp_path / "zoo.json").read_text(encoding="utf-8"))
    labels = [m["label"] for m in data["models"]]
    assert sorted(set(labels) - {"mobilenet_v1-half"}) == zoo_names()
    assert len(labels) == len(zoo_names()) + 1
    failed = [m["label"] for m in data["models"] if not m["passed"]]
    assert failed == ["mobilenet_v1"]
    half = next(m for m in data["models"] if m["label"] == "mobilenet_v1-half")
    assert half["checks"][0]["actual"] == mobilenet_v1_macs(Fraction(1, 2)) == 149_497_088  # Table 6: 149M
    root = ET.parse(junit).getroot()
    assert int(root.get("tests", "0")) == len(labels)
    assert int(root.get("failures", "0")) == 1


def test_pyproject_budgets_are_discovered(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'demo'\n\n"
        "[tool.archcost.budgets.defaults]\nmax-unknown-ops = 0\n\n"
        "[tool.archcost.budgets.models.mobilenet_v1]\nmax-macs = \"500M\"\nmax-params = \"4.5M\"\n",
        encoding="utf-8",
    )
    result = run_cli("gate", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "max-macs" in result.stdout and "max-unknown-ops" in result.stdout
    # Flags override the file's budgets for the model named.
    assert run_cli("gate", "mobilenet_v1", "--max-macs", "600M", cwd=tmp_path).returncode == 0


@pytest.mark.parametrize(("text", "line", "message"), [
    ("models:\n  mobilenet_v1:\n    max-macs: 600M\n    max-flops: 1G\n", 4, "unknown budget"),
    ("models:\n  mobilenet_v1:\n    max-macs: 600m\n", 3, "upper case"),
    ("defaults: {max-macs: 1G}\nbudgets: {}\n", 2, "unknown key"),
], ids=["unknown-budget", "bad-suffix", "unknown-top-key"])
def test_budget_file_errors_name_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    config = tmp_path / "budgets.yaml"
    config.write_text(text, encoding="utf-8")
    result = run_cli("gate", "--config", str(config))
    assert result.returncode == 2
    assert f"budgets.yaml:{line}:" in result.stderr and message in result.stderr


def test_bad_input_writes_no_junit(tmp_path: Path) -> None:
    junit = tmp_path / "gate.xml"
    result = run_cli("gate", "mobilenet_v1", "no_such_model", "--max-macs", "1G", "--junit", str(junit))
    assert result.returncode == 2
    assert not junit.exists()


def test_pre_commit_hooks_file() -> None:
    import yaml

    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    ids = {h["id"]: h for h in hooks}
    assert ids["archcost-gate"]["entry"] == "archcost gate"
    assert all(h["pass_filenames"] is False and h["language"] == "python" for h in hooks)


def test_later_budgets_override_earlier_ones() -> None:
    base = budgets_from_mapping({"max-macs": "1G", "max-params": "5M", "peak-order": "best"})
    merged = base.merged(budgets_from_mapping({"max-macs": "600M", "peak-order": "default"}))
    assert merged.limits == {Metric.MACS: 600_000_000, Metric.PARAMS: 5_000_000}
    assert merged.peak_order == "default"
    assert base.merged(Budgets()).peak_order == "best"


def test_peak_order_best_gates_the_heuristic_peak() -> None:
    report = archcost.analyze(str(REPO / "tests" / "fixtures" / "gate" / "branches.yaml"))
    # Default order 34,816 bytes, best order found 20,480 (tests/test_memory.py, by hand).
    limit = {"max-peak-activation": "30000B"}
    assert not evaluate(report, budgets_from_mapping(limit)).passed
    assert evaluate(report, budgets_from_mapping({**limit, "peak-order": "best"})).passed


def test_github_annotates_bad_input() -> None:
    result = run_cli("gate", "mobilenet_v1", "--max-macs", "600m", "--github")
    assert result.returncode == 2
    (line,) = result.stdout.splitlines()
    assert line.startswith("::error title=archcost gate%3A bad input::archcost: ")
