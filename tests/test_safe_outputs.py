"""Names from the input never become markup, formulas or table structure, and files are safe.

* HTML: a node or model named ``<script>alert(1)</script>`` stays text;
* CSV: a cell starting with ``=``, ``+``, ``-`` or ``@`` is neutralized (formula injection);
* markdown: ``|`` in a cell is escaped, so every table row keeps its column count;
* reports are written atomically, and never outside the folder ``--out`` names.

Each renderer that emits a format is checked: ``analyze``, ``report``, ``compare``,
``sweep`` and ``gate``; names come through an ONNX model and through a spec.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archcost
from archcost.errors import ArchcostError, UsageError
from archcost.report import output
from archcost.report.analysis import render
from archcost.report.build import model_document
from archcost.report.compare import compare_table, parse_model_ref
from archcost.report.render import render_document, render_table
from archcost.report.sweep import parse_axis, sweep, sweep_table
from tests.conftest import run_cli
from tests.onnx_builders import model, node, save, weight

SCRIPT = "<script>alert(1)</script>"
#: A classic CSV injection payload (DDE): a formula, a pipe, and no dot (spec names refuse dots).
FORMULA = "=cmd|' /C calc'!A0"
HOSTILE = (SCRIPT, FORMULA, "+1", "-2", "@SUM(A1)", "a|b")


def _spec(tmp_path: Path) -> Path:
    layers = [f"  - {{op: conv, out: 8, kernel: 3, name: {json.dumps(SCRIPT)}}}",
              f"  - {{op: relu, name: {json.dumps(FORMULA)}}}",
              '  - {op: relu, name: "+1"}', '  - {op: relu, name: "-2"}',
              '  - {op: relu, name: "@SUM(A1)"}', '  - {op: global_avg_pool, name: "a|b"}',
              "  - {op: flatten}", "  - {op: fc, out: 4}"]
    text = (f"name: {json.dumps(SCRIPT)}\nparams: {{alpha: 1.0, resolution: 16}}\n"
            "inputs:\n  x: {shape: [1, 3, resolution, resolution]}\nlayers:\n" + "\n".join(layers) + "\n")
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _onnx(tmp_path: Path) -> Path:
    nodes = [node("Conv", ["x", "w"], "c", name=SCRIPT, pads=[1, 1, 1, 1]),
             node("Relu", ["c"], "r1", name=FORMULA), node("Relu", ["r1"], "r2", name="+1"),
             node("Relu", ["r2"], "r3", name="-2"), node("Relu", ["r3"], "r4", name="@SUM(A1)"),
             node("GlobalAveragePool", ["r4"], "y", name="a|b")]
    m = model(nodes, [("x", [1, 3, 8, 8])], ["y"], [weight("w", [4, 3, 3, 3])], name=SCRIPT)
    return save(m, tmp_path / "hostile.onnx")


@pytest.fixture(params=["spec", "onnx"])
def hostile_model(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return str(_spec(tmp_path) if request.param == "spec" else _onnx(tmp_path))


# --- checks -------------------------------------------------------------------------------


def assert_html_safe(text: str) -> None:
    assert SCRIPT not in text and "<script" not in text.lower(), "raw markup reached the HTML"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # the name is there, as text


def assert_csv_safe(text: str) -> None:
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
    for cell in cells:
        if cell[:1] in ("=", "+", "-", "@"):
            # Only numbers may start so (a spreadsheet reads them as numbers, not formulas).
            assert re.fullmatch(r"-?\d+(\.\d+)?", cell), f"unneutralized CSV cell {cell!r}"
    return None


def assert_markdown_tables_hold(text: str) -> None:
    """Every row of every markdown table has the header's number of unescaped ``|``."""
    separators = re.compile(r"(?<!\\)\|")
    widths: list[int] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            widths.append(len(separators.findall(line)))
        elif widths:
            assert len(set(widths)) == 1, f"a markdown row has a different column count: {widths}"
            widths = []


# --- analyze ------------------------------------------------------------------------------


def test_analyze_outputs(hostile_model: str) -> None:
    report = archcost.analyze(hostile_model)
    names = {r.name for r in report.layers}
    assert {SCRIPT, FORMULA, "+1", "-2", "@SUM(A1)", "a|b"} <= names
    csv_text = render(report, "csv")
    assert_csv_safe(csv_text)
    assert f"'{FORMULA}" in csv_text or f"\"'{FORMULA}" in csv_text
    markdown = render(report, "markdown")
    assert_markdown_tables_hold(markdown)
    assert "a\\|b" in markdown
    data = json.loads(render(report, "json"))  # JSON carries names verbatim, as strings
    assert {layer["name"] for layer in data["layers"]} >= set(HOSTILE)


# --- report -------------------------------------------------------------------------------


def test_report_document_in_every_format(hostile_model: str) -> None:
    doc = model_document(hostile_model, figures=False)
    assert_html_safe(render_document(doc, "html"))
    assert_csv_safe(render_document(doc, "csv"))
    markdown = render_document(doc, "markdown")
    assert_markdown_tables_hold(markdown)
    assert "a\\|b" in markdown
    for table in doc.tables:
        assert SCRIPT not in render_table(table, "html")
        assert_csv_safe(render_table(table, "csv"))


def test_report_directory_with_figures(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli("report", str(_onnx(tmp_path)), "--out", str(out))
    assert result.returncode == 0, result.stderr
    markup = [p for p in out.rglob("*") if p.suffix in (".html", ".svg")]
    # report.html, tables/*.html and figures/cost_breakdown.svg always; plots/*.svg when the plot
    # extra is installed.
    assert len([p for p in markup if p.suffix == ".html"]) >= 3
    assert (out / "hostile" / "figures" / "cost_breakdown.svg") in markup
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    assert bool([p for p in markup if p.suffix == ".svg" and p.parent.name == "plots"]) == has_matplotlib
    for path in markup:
        assert SCRIPT.encode() not in path.read_bytes(), path
    assert_html_safe((out / "hostile" / "report.html").read_text(encoding="utf-8"))
    for path in (out / "hostile" / "tables").glob("*.csv"):
        assert_csv_safe(path.read_text(encoding="utf-8"))


def test_report_cli_html_to_stdout(tmp_path: Path) -> None:
    result = run_cli("report", str(_spec(tmp_path)), "--format", "html", "--no-plots")
    assert result.returncode == 0, result.stderr
    assert_html_safe(result.stdout)


# --- compare and sweep --------------------------------------------------------------------


#: A file name can hold markup (not "/", so no closing tag): model labels are paths.
MARKUP_FILE = "<img src=x onerror=alert(1)>.yaml"


def test_compare_outputs(tmp_path: Path) -> None:
    # Model labels come from the command line: a hostile label is a hostile cell too.
    spec, onnx_path = _spec(tmp_path), _onnx(tmp_path)
    formula_file, markup_file = tmp_path / "=1+1|x.yaml", tmp_path / MARKUP_FILE
    for path in (formula_file, markup_file):
        path.write_text(spec.read_text(encoding="utf-8"), encoding="utf-8")
    refs = [parse_model_ref(str(p)) for p in (spec, onnx_path, formula_file, markup_file)]
    table = compare_table(refs, [archcost.analyze(r.model) for r in refs])
    csv_text = render_table(table, "csv")
    assert_csv_safe(csv_text)
    markdown = render_table(table, "markdown")
    assert_markdown_tables_hold(markdown)
    assert "=1+1\\|x.yaml" in markdown
    html_text = render_table(table, "html")
    assert "<img" not in html_text and "&lt;img src=x onerror=alert(1)&gt;" in html_text


def test_sweep_outputs(tmp_path: Path) -> None:
    path = tmp_path / MARKUP_FILE
    path.write_text(_spec(tmp_path).read_text(encoding="utf-8"), encoding="utf-8")
    table = sweep_table(sweep(str(path), {"alpha": parse_axis("0.5,1", "alpha")}, {}))
    html_text = render_table(table, "html")
    assert "<img" not in html_text and "&lt;img src=x onerror=alert(1)&gt;" in html_text
    assert_csv_safe(render_table(table, "csv"))
    assert_markdown_tables_hold(render_table(table, "markdown"))


# --- gate ---------------------------------------------------------------------------------


def test_gate_outputs(tmp_path: Path, hostile_model: str) -> None:
    junit = tmp_path / "junit.xml"
    summary = tmp_path / "summary.md"
    env_summary = {"GITHUB_STEP_SUMMARY": str(summary)}
    out = _run_with_env(env_summary, "gate", hostile_model, "--max-macs", "1", "--github",
                        "--junit", str(junit))
    assert out.returncode == 1, out.stderr
    # Annotations are one line each, whatever the names hold.
    for line in out.stdout.splitlines():
        assert line.startswith(("::error", "::warning")) or not line.startswith("::"), line
    root = ET.parse(junit).getroot()  # well-formed XML; names are attribute and text values
    assert root.tag == "testsuites"
    assert SCRIPT not in junit.read_text(encoding="utf-8")
    assert_markdown_tables_hold(summary.read_text(encoding="utf-8"))
    data = json.loads(run_cli("gate", hostile_model, "--max-macs", "1", "--format", "json").stdout)
    assert data


def _run_with_env(env: dict[str, str], *args: str) -> object:
    import subprocess
    import sys

    from tests.conftest import REPO

    return subprocess.run([sys.executable, "-m", "archcost", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


# --- files --------------------------------------------------------------------------------


def test_interrupted_write_leaves_the_old_file_and_no_temp(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "report"
    output.write_files(folder, {"README.md": b"old report\n"})
    real_fdopen = os.fdopen

    class Dies:
        def __init__(self, handle: object) -> None:
            self.handle = handle

        def __enter__(self) -> Dies:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()  # type: ignore[attr-defined]

        def write(self, data: bytes) -> None:
            self.handle.write(data[: len(data) // 2])  # type: ignore[attr-defined]
            raise KeyboardInterrupt  # the user pressed Ctrl-C half-way through

    monkeypatch.setattr(output.os, "fdopen", lambda fd, mode: Dies(real_fdopen(fd, mode)))
    with pytest.raises(KeyboardInterrupt):
        output.write_files(folder, {"README.md": b"new report, much longer than the old one\n"})
    assert (folder / "README.md").read_bytes() == b"old report\n"
    assert sorted(p.name for p in folder.iterdir()) == ["README.md"]  # no temporary left behind


def test_failed_rename_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "gate.json"
    target.write_text("old\n", encoding="utf-8")

    def no_rename(src: str, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "replace", no_rename)
    with pytest.raises(OSError):
        output.write_atomic(target, b"new\n")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["gate.json"]


def test_one_write_atomic_for_every_output() -> None:
    from archcost import fileio
    from archcost.runtime import export

    assert output.write_atomic is fileio.write_atomic is export.write_atomic


@pytest.mark.parametrize("special", ["fifo", "folder", "symlink to a device"])
def test_write_atomic_never_writes_through_a_special_file(tmp_path: Path, special: str) -> None:
    from archcost.fileio import write_atomic

    target = tmp_path / "out"
    if special == "fifo":
        os.mkfifo(target)
    elif special == "folder":
        target.mkdir()
    else:
        target.symlink_to(os.devnull)
    with pytest.raises(UsageError, match="not a regular file"):
        write_atomic(target, b"data\n")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # untouched, no temporary left
    assert target.is_symlink() == (special == "symlink to a device")


def test_a_failed_write_removes_its_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archcost import fileio

    class Full:
        def __init__(self, handle: object) -> None:
            self.handle = handle

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()  # type: ignore[attr-defined]

        def write(self, data: bytes) -> None:
            raise OSError(28, "No space left on device")

    real_fdopen = os.fdopen
    monkeypatch.setattr(fileio.os, "fdopen", lambda fd, mode: Full(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space"):
        fileio.write_atomic(tmp_path / "device.yaml", b"devices: {}\n")
    assert list(tmp_path.iterdir()) == []


def test_commands_refuse_to_write_over_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for args in (["gate", "mobilenet_v1", "--max-macs", "1G", "-o", str(fifo)],
                 ["gate", "mobilenet_v1", "--max-macs", "1G", "--junit", str(fifo)],
                 ["export", "mobilenet_v1", "--set", "alpha=0.25", "-o", str(fifo)]):
        result = run_cli(*args)
        assert result.returncode == 2 and "not a regular file" in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe"]


def test_gate_output_files_are_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archcost.cli import main

    target = tmp_path / "result.txt"
    target.write_text("previous result\n", encoding="utf-8")
    calls: list[Path] = []
    real = output.write_atomic

    def spy(path: Path, data: bytes) -> None:
        calls.append(path)
        real(path, data)

    monkeypatch.setattr(output, "write_atomic", spy)
    assert main(["gate", "mobilenet_v1", "--max-macs", "1G", "-o", str(target),
                 "--junit", str(tmp_path / "j.xml")]) == 0
    assert set(calls) == {target, tmp_path / "j.xml"}
    assert "mobilenet_v1" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["../escape.md", "/tmp/absolute.md", "tables/../../escape.md", ""])
def test_report_files_never_leave_the_directory(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "out" / "model"
    with pytest.raises(UsageError, match="outside the output directory"):
        output.write_files(folder, {name: b"x"}, root=tmp_path / "out")
    assert not (tmp_path / "escape.md").exists() and not (tmp_path / "out" / "escape.md").exists()


def test_report_directory_symlinked_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "hostile").symlink_to(outside, target_is_directory=True)
    result = run_cli("report", str(_onnx(tmp_path)), "--out", str(out), "--no-plots")
    assert result.returncode == 2, result.stderr
    assert "outside" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert list(outside.iterdir()) == []


def test_subfolder_symlinked_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = tmp_path / "out" / "model"
    folder.mkdir(parents=True)
    (folder / "tables").symlink_to(outside, target_is_directory=True)
    (folder / "plots").symlink_to(tmp_path / "nowhere", target_is_directory=True)  # dangling
    for name in ("tables/t.csv", "plots/p.svg"):
        with pytest.raises(UsageError, match="outside"):
            output.write_files(folder, {name: b"x"}, root=tmp_path / "out")
    assert list(outside.iterdir()) == [] and not (tmp_path / "nowhere").exists()


def test_symlinked_out_folder_itself_is_where_the_user_pointed(tmp_path: Path) -> None:
    # --out naming a symlink means "write there": the folder it names is the link's target.
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    output.write_files(tmp_path / "link" / "m", {"README.md": b"x"}, root=tmp_path / "link")
    assert (real / "m" / "README.md").read_bytes() == b"x"


def test_model_names_with_dot_dot_stay_inside_out(tmp_path: Path) -> None:
    # The report folder is named after the model file's stem, so ../ in the model path is harmless.
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    spec = _spec(tmp_path)
    out = nested / "out"
    relative = os.path.relpath(spec, nested)
    assert relative.startswith("..")
    result = run_cli("report", relative, "--out", "out", "--no-plots", cwd=nested)
    assert result.returncode == 0, result.stderr
    written = {p.relative_to(out).parts[0] for p in out.rglob("*")}
    assert written == {"hostile"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "hostile.yaml"]


def test_unwritable_out_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ArchcostError, match="cannot write the report"):
        output.write_files(blocker / "m", {"README.md": b"x"})


# --- ONNX external data -------------------------------------------------------------------


def _external(name: str, location: str) -> object:
    import numpy as np
    from onnx import TensorProto, numpy_helper

    tensor = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), name)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value=location)
    return tensor


def _secret_and_folder(tmp_path: Path) -> tuple[Path, Path]:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 432)
    folder = tmp_path / "model"
    folder.mkdir()
    return secret, folder


def test_external_data_through_a_symlink_leading_outside_is_refused(tmp_path: Path) -> None:
    secret, folder = _secret_and_folder(tmp_path)
    (folder / "weights.bin").symlink_to(secret)  # inside by name, outside in fact
    m = model([node("Conv", ["x", "w"], "y")], [("x", [1, 3, 8, 8])], ["y"], [_external("w", "weights.bin")])
    path = save(m, folder / "m.onnx")
    for command in ("analyze", "verify"):
        result = run_cli(command, str(path))
        assert result.returncode == 2, result.stderr
        assert "outside the model's folder" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_external_data_inside_a_subgraph_is_checked_too(tmp_path: Path) -> None:
    from onnx import TensorProto, helper

    _, folder = _secret_and_folder(tmp_path)
    branch = helper.make_graph([helper.make_node("Constant", [], ["k"], value=_external("k", "../secret.bin"))],
                               "then", [], [helper.make_tensor_value_info("k", TensorProto.FLOAT, None)])
    other = helper.make_graph([helper.make_node("Constant", [], ["k2"], value_float=1.0)],
                              "else", [], [helper.make_tensor_value_info("k2", TensorProto.FLOAT, None)])
    m = model([node("If", ["c"], "y", then_branch=branch, else_branch=other)],
              [("c", [], TensorProto.BOOL)], ["y"])
    path = save(m, folder / "m.onnx")
    with pytest.raises(ArchcostError, match="outside the model's folder"):
        archcost.analyze(str(path))


def test_external_data_location_that_stays_inside_is_accepted_unread(tmp_path: Path) -> None:
    # sub/../w.bin normalizes to w.bin, inside the folder; it does not exist and is never opened.
    _, folder = _secret_and_folder(tmp_path)
    m = model([node("Conv", ["x", "w"], "y")], [("x", [1, 3, 8, 8])], ["y"],
              [_external("w", "sub/../w.bin")])
    report = archcost.analyze(str(save(m, folder / "m.onnx")))
    assert report.totals.macs == 4 * 6 * 6 * 27  # 4 filters × 6·6 outputs × 3·3·3, from dims alone


# --- error messages -----------------------------------------------------------------------


def test_error_messages_stay_one_line_whatever_the_names_hold(tmp_path: Path) -> None:
    # Names with a newline, a terminal escape and a Unicode line separator, echoed in an error.
    text = ("name: x\ninputs:\n  x: {shape: [1, 4]}\nlayers:\n"
            '  - {op: relu, name: "a\\nb\\u001b[31m\\u2028c"}\n  - {op: add, inputs: [x, nope]}\n')
    path = tmp_path / "names.yaml"
    path.write_text(text, encoding="utf-8")
    result = run_cli("analyze", str(path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "a\\x0ab\\x1b[31m\\u2028c" in lines[0] and "\x1b" not in lines[0]
