"""Hostile input, second round (issue 19): every sink, every file argument, every limit.

Two halves:

* **sinks**: one name holding every hostile class (terminal escapes, line breaks, a GitHub
  workflow command, HTML, markdown links and code spans, CSV formulas, LaTeX specials, bidi
  overrides) is pushed through every output format; each output is checked with an independent
  reader of that format (a CSV reader, an HTML parser, an XML parser, the workflow-command
  grammar), not against archcost's own escaping;
* **bad input**: every class of hostile file argument and count, run as a subprocess under a
  memory and CPU limit (``resource.setrlimit`` in ``preexec_fn``) with an audit hook that logs
  every file opened, renamed or removed: exit 2, exactly one stderr line naming the file, no
  traceback, within its time, and nothing touched outside the test's temporary folder.
"""

from __future__ import annotations

import ast
import csv
import html.parser
import io
import json
import os
import re
import resource
import stat
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from archcost.cli import main
from tests.onnx_builders import model, node, save, weight

# --- one name, every hostile class ------------------------------------------------------------

#: Markers around the hostile part, so each check looks at what the name became.
START, END = "HSTART", "HEND"
#: Characters no sink may pass raw: C0 controls, DEL, C1 (0x9b is CSI), line/paragraph
#: separators and bidi overrides (a "Trojan source" name).
RAW_FORBIDDEN = frozenset((*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), "\u2028", "\u2029",
                           "\u202e", "\u2066", "\u200f"))
HOSTILE_PARTS = {
    "terminal": "\x1b[31mred\x1b]0;title\x07\x9b2J\r",
    "workflow command": "\n::warning file=x::pwned%0A::error::",
    "html": "<script>alert(1)<\\script><img src=x onerror=alert(2)>",
    "markdown": "[link](javascript:alert(3)) ![img](http:x) `code` a|b *em* _u_",
    "csv": "=cmd|' /C calc'!A0,@SUM(A1)",
    "latex": "\\input{x} $ # % & _ { } ~ ^",
    "bidi": "\u202eevil\u2066\u200f",
    "separators": "\u2028\u2029\t\x00\x7f",
}
NAME = START + "".join(HOSTILE_PARTS.values()) + END


def _hostile_onnx(folder: Path) -> Path:
    """A small conv net whose graph and layers carry :data:`NAME`."""
    nodes = [node("Conv", ["x", "w"], "c", name=NAME, pads=[1, 1, 1, 1]),
             node("Relu", ["c"], "r", name="=" + NAME),
             node("GlobalAveragePool", ["r"], "y", name=NAME + "|pool")]
    m = model(nodes, [("x", [1, 3, 8, 8])], ["y"], [weight("w", [4, 3, 3, 3])], name=NAME)
    return save(m, folder / "model.onnx")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model, in a folder named :data:`NAME` too (a path cannot hold NUL), so the labels that
    commands take from the path carry it as well."""
    parts = list(HOSTILE_PARTS.values())
    parts[0], parts[-1] = START + parts[0], parts[-1] + END
    # One folder per class (a name is at most 255 bytes); a path cannot hold NUL.
    folder = tmp_path_factory.mktemp("hostile").joinpath(*(p.replace("\x00", "").replace("/", "") for p in parts))
    folder.mkdir(parents=True)
    return _hostile_onnx(folder)


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _segments(text: str) -> list[str]:
    """Each stretch of output between the markers: what the hostile part became."""
    found = re.findall(f"{START}((?:(?!{START}).)*?){END}", text, flags=re.S)
    assert found, "the name did not reach this output at all"
    return found


def _no_raw(text: str) -> None:
    bad = sorted({f"U+{ord(c):04X}" for c in text if c in RAW_FORBIDDEN})
    assert not bad, f"raw control or bidi characters reached the output: {bad}"


# --- the checks, one per sink -----------------------------------------------------------------


def check_terminal(text: str) -> None:
    for segment in _segments(text):
        _no_raw(segment)
    assert not any(line.startswith("::") for line in text.splitlines()), "a line starts a workflow command"


def check_markdown(text: str) -> None:
    for line in text.splitlines():
        if START not in line:
            continue
        if not line.startswith("|"):  # outside a table, a code span is inert: look outside them
            line = re.sub(r"`[^`]*`", "", line)
        for segment in re.findall(f"{START}((?:(?!{START}).)*?){END}", line):
            _no_raw(segment)
            for special in "|[]`":  # a column, a link or image, a code span: each must be escaped
                assert not re.search(rf"(?<!\\){re.escape(special)}", segment), f"unescaped {special!r}"
            assert "<" not in segment and ">" not in segment, "a tag reached the markdown"
    _segments(text)
    tables: list[int] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            tables.append(len(re.findall(r"(?<!\\)\|", line)))
        elif tables:
            assert len(set(tables)) == 1, f"a markdown row has another column count: {tables}"
            tables = []


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


def check_html(text: str) -> None:
    for segment in _segments(text):
        _no_raw(segment)
        parser = _Tags()
        parser.feed(segment)
        assert parser.tags == [], f"the name became HTML tags: {parser.tags}"


#: What LaTeX reads as commands or structure; each must appear only escaped.
_LATEX_ESCAPED = re.compile(r"\\text[a-z]+\{\}|\\[&%$#_{}]|\$\\[a-z]+\$|\$\^2\$")


def check_latex(text: str) -> None:
    for segment in _segments(text):
        _no_raw(segment)
        bare = _LATEX_ESCAPED.sub("", segment)
        left = sorted(set(bare) & set("\\&%$#_{}~^"))
        assert not left, f"LaTeX specials reached the document unescaped: {left}"


def check_csv(text: str) -> None:
    cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row if START in cell]
    assert cells, "the name did not reach the CSV"
    for cell in cells:
        _no_raw(cell)
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), f"a formula cell: {cell[:20]!r}"


def check_json(text: str) -> None:
    _no_raw(re.sub(r"\s", "", text))  # the document's own layout is whitespace; names are escaped
    names: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str) and START in value:
            names.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(json.loads(text))
    assert names, "the name did not reach the JSON"
    # As a path the name has no NUL and no "/"; the report's introduction quotes it in a code
    # span, its backticks turned into quotes.
    path = NAME.replace("\x00", "").replace("/", "").replace("`", "'")
    assert all(NAME in n or path in n.replace("/", "").replace("`", "'") for n in names if START in n and END in n), \
        "JSON must carry names verbatim"


def check_junit(text: str) -> None:
    root = ET.fromstring(text.encode("utf-8"))  # well-formed XML, whatever the name holds
    values = [v for el in root.iter() for v in (*el.attrib.values(), el.text or "") if START in v]
    assert values, "the name did not reach the JUnit XML"
    for value in values:
        _no_raw(value.replace("\n", "").replace("\t", ""))


_COMMAND = re.compile(r"::(error|warning|notice|debug)( [^:]*)?::(.*)")


def check_github(text: str) -> None:
    lines = text.splitlines()
    assert lines, "no annotations"
    for line in lines:
        match = _COMMAND.fullmatch(line)
        assert match, f"not one workflow command per line: {line[:60]!r}"
        props, message = match.group(2) or "", match.group(3)
        for prop in filter(None, props.strip().split(",")):
            key, sep, value = prop.partition("=")
            assert sep and ":" not in value and "\r" not in value, f"property {key} not encoded"
        assert "\r" not in message
        _no_raw(message)
    decoded = text.replace("%0A", "\n").replace("%0D", "\r").replace("%3A", ":").replace("%2C", ",")
    assert "::warning file=x::pwned" in decoded.replace("%25", "%"), "the payload is there, encoded"


#: The terminal view fits its tables to the screen, shortening long names with … and wrapping
#: running text; these tests check escaping, so the screen is wide enough for the whole name.
WIDE = ["--width", "10000"]

SINKS = {"terminal": check_terminal, "markdown": check_markdown, "html": check_html, "latex": check_latex,
         "csv": check_csv, "json": check_json}


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_analyze_sinks(hostile: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["analyze", str(hostile), "--format", fmt, *(WIDE if fmt == "table" else [])], capsys)
    assert code == 0, err
    SINKS["terminal" if fmt == "table" else fmt](out)


@pytest.mark.parametrize("extra", [["--by", "module"], ["--reconcile"], ["--device", "avx2-core"]],
                         ids=["by-module", "reconcile", "device"])
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_analyze_views(hostile: Path, fmt: str, extra: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["analyze", str(hostile), "--format", fmt, *extra, *(WIDE if fmt == "table" else [])],
                          capsys)
    assert code == 0, err
    SINKS["terminal" if fmt == "table" else fmt](out)


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json", "latex", "html"])
def test_report_sinks(hostile: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["report", str(hostile), "--format", fmt, "--no-plots"], capsys)
    assert code == 0, err
    SINKS["terminal" if fmt == "table" else fmt](out)


def test_report_folder_files(hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["report", str(hostile), "--out", str(tmp_path / "out"), "--no-plots"], capsys)
    assert code == 0, err
    checks = {".md": check_markdown, ".txt": check_terminal, ".tex": check_latex, ".html": check_html,
              ".csv": check_csv, ".json": check_json}
    seen = set()
    for path in (tmp_path / "out").rglob("*"):
        if path.suffix in checks and START in path.read_text(encoding="utf-8"):
            checks[path.suffix](path.read_text(encoding="utf-8"))
            seen.add(path.suffix)
    assert seen >= {".md", ".txt", ".tex", ".html", ".csv", ".json"}, seen


def test_compare_sinks(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt, check in (("table", check_terminal), ("markdown", check_markdown), ("csv", check_csv),
                       ("json", check_json)):
        code, out, err = _run(["compare", str(hostile), "mobilenet_v1", "--format", fmt,
                               *(WIDE if fmt == "table" else [])], capsys)
        assert code == 0, err
        check(out)


def test_gate_sinks(hostile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A failing gate: terminal text, JSON, JUnit XML, GitHub annotations and the step summary."""
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    junit, as_json = tmp_path / "junit.xml", tmp_path / "gate.json"
    code, out, err = _run(["gate", str(hostile), "--max-macs", "1", "--max-params", "1", "--junit", str(junit),
                           "--github", "-o", str(as_json), "--format", "json"], capsys)
    assert code == 1, err
    check_github(out)
    check_junit(junit.read_text(encoding="utf-8"))
    check_json(as_json.read_text(encoding="utf-8"))
    check_markdown(summary.read_text(encoding="utf-8"))
    code, out, err = _run(["gate", str(hostile), "--max-macs", "1"], capsys)
    assert code == 1, err
    check_terminal(out)


def test_verify_and_profile_sinks(hostile: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The commands that run the model: their text, markdown and JSON carry the names safely."""
    pytest.importorskip("onnxruntime")
    code, out, err = _run(["verify", str(hostile)], capsys)
    assert code == 0, err
    check_terminal(out)
    for fmt, check in (("table", check_terminal), ("markdown", check_markdown), ("json", check_json),
                       ("csv", check_csv)):
        code, out, err = _run(["profile", str(hostile), "--runs", "1", "--warmup", "0", "--format", fmt,
                               "--table", "kernels"], capsys)
        assert code == 0, err
        check(out)


def test_error_messages_are_one_line_whatever_the_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / ("x" + NAME.replace("\x00", "").replace("\\", ""))
    code, out, err = _run(["analyze", str(folder / "missing.onnx")], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("archcost: ")
    _no_raw(err.rstrip("\n"))


# --- bad input, under a resource limit and an audit hook ------------------------------------

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
#: Address space and CPU seconds each hostile run may use (the limits the issue names: a few GB,
#: bounded time); a run past them dies, and the test fails on its exit code.
MEMORY_LIMIT = 3 << 30
CPU_SECONDS = 60
#: Run archcost with an audit hook that logs every file opened (with its mode), renamed, removed
#: or made, to the file in ARCHCOST_AUDIT_LOG; the log is opened before the hook is installed.
_AUDITED = """
import os, sys
log = open(os.environ["ARCHCOST_AUDIT_LOG"], "w", encoding="utf-8")
WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1], args[2]
        write = (isinstance(mode, str) and any(c in mode for c in "wax+")) or bool(flags & WRITES)
        log.write(repr(("write" if write else "read", os.fsdecode(args[0]))) + "\\n")
    elif event in ("os.rename", "os.remove", "os.mkdir", "os.rmdir", "os.chmod", "os.truncate"):
        for arg in args[:2]:
            if isinstance(arg, (str, bytes, os.PathLike)):
                log.write(repr(("write", os.fsdecode(arg))) + "\\n")
    log.flush()
sys.addaudithook(hook)
from archcost.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _limits(umask: int | None = None) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
        resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))
        if umask is not None:
            os.umask(umask)
    return apply


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    touched: list[tuple[str, str]]


def run_hostile(argv: list[str], folder: Path, *, cwd: Path | None = None, umask: int | None = None,
                env: dict[str, str] | None = None) -> Run:
    """``archcost ARGV`` in a subprocess under :func:`_limits`, from ``cwd`` (default ``folder``),
    with ``$TMPDIR`` and ``$HOME`` inside ``folder``; what it touched, from the audit log."""
    log = folder / ".audit.log"
    home = folder / ".home"
    home.mkdir(exist_ok=True)
    environ = dict(os.environ, PYTHONPATH=str(REPO), ARCHCOST_AUDIT_LOG=str(log), TMPDIR=str(home),
                   HOME=str(home), **(env or {}))
    environ.pop("GITHUB_STEP_SUMMARY", None) if "GITHUB_STEP_SUMMARY" not in (env or {}) else None
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _AUDITED, *argv], cwd=cwd or folder, env=environ,
                          capture_output=True, text=True, timeout=120, check=False, preexec_fn=_limits(umask))
    seconds = time.monotonic() - start
    touched = [ast.literal_eval(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return Run(proc.returncode, proc.stdout, proc.stderr, seconds, touched)


#: Where a run may read outside its folder: Python and its packages, archcost itself (the zoo,
#: its data files), and the kernel's and the system's own files.
_PYTHON = {sys.prefix, sys.base_prefix, sys.exec_prefix, *(p for p in sys.path if "site-packages" in p)}
_READABLE = (*(str(Path(p).resolve()) for p in sorted(_PYTHON) if p), str(REPO / "archcost"), str(REPO / "specs"),
             str(FIXTURES), "/proc", "/sys", "/etc", "/usr", "/dev/null", "/dev/urandom")


def _inside(path: str, roots: tuple[str, ...]) -> bool:
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip("/") + "/") for r in roots)


def assert_contained(run: Run, folder: Path) -> None:
    """Nothing written outside ``folder``; nothing read outside it but Python, archcost and the system."""
    mine = (str(folder.resolve()),)
    for kind, path in run.touched:
        if kind == "write":  # /dev/null: platform.processor() runs `uname -p` with its output there
            assert _inside(path, mine) or path == "/dev/null", f"wrote outside the test folder: {path}"
        else:
            assert _inside(path, mine + _READABLE), f"read outside the test folder: {path}"
    left = [p.name for p in folder.rglob(".archcost-*")]
    assert not left, f"temporary files left behind: {left}"


def assert_refused(run: Run, folder: Path, names: str, seconds: float = 30) -> None:
    """Exit 2, exactly one stderr line naming ``names``, no traceback, in time, contained."""
    assert run.code == 2, (run.code, run.err[-2000:])
    assert "Traceback" not in run.err
    lines = run.err.splitlines()
    assert len(lines) == 1 and run.err.endswith("\n"), run.err[-2000:]
    assert lines[0].startswith("archcost: ") and names in lines[0], lines[0]
    # Digits archcost writes are ASCII; one quoted from the input comes with its code point.
    for match in re.finditer(r"[^\x00-\x7f]", lines[0]):
        if match.group().isdigit():
            assert f"(U+{ord(match.group()):04X})" in lines[0], lines[0]
    assert run.seconds < seconds, f"took {run.seconds:.1f} s"
    assert_contained(run, folder)


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def _digits(count: int) -> str:
    return "9" * count


def _node_bytes(count: int) -> bytes:
    """An ONNX model of ``count`` Relu nodes, as protobuf bytes repeated (no onnx needed, instant)."""
    def field(number: int, payload: bytes) -> bytes:
        return _varint((number << 3) | 2) + _varint(len(payload)) + payload

    one = field(1, field(1, b"x") + field(2, b"x") + field(4, b"Relu"))
    return _varint(8) + _varint(8) + field(7, one * count + field(2, b"g"))


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _loop_forever(path: Path) -> Path:
    """A Loop whose trip count is 2**63-1 and whose body carries one value (no scan output)."""
    from onnx import TensorProto, helper

    from tests.onnx_builders import const, value_info

    body = helper.make_graph(
        [node("Identity", ["cond_in"], "cond_out"), node("Relu", ["h_in"], "h_out")], "body",
        [value_info("i", [], TensorProto.INT64), value_info("cond_in", [], TensorProto.BOOL),
         value_info("h_in", [3, 4])],
        [value_info("cond_out", [], TensorProto.BOOL), value_info("h_out", [3, 4])])
    inits = [const("true", True, np.bool_), const("M", 2**63 - 1)]
    return save(model([node("Loop", ["M", "true", "x"], ["h"], name="loop", body=body)],
                      [("x", [3, 4])], ["h"], inits), path)


def _huge_constant(path: Path) -> Path:
    """A Constant of dims [2**40, 2**20] and no data."""
    from onnx import TensorProto, helper

    tensor = TensorProto(name="v", data_type=TensorProto.FLOAT, dims=[2**40, 2**20])
    constant = helper.make_node("Constant", [], ["k"], name="big", value=tensor)
    return save(model([constant, node("Add", ["x", "k"], "y")], [("x", [1, 1])], ["y"]), path)


def _opset(path: Path, version: int) -> Path:
    m = model([node("Relu", ["x"], "y")], [("x", [1, 4])], ["y"])
    m.opset_import[0].version = version
    return save(m, path)


def _spec(folder: Path, default: str = "1.0") -> Path:
    path = folder / "net.yaml"
    path.write_text(f"name: net\nparams: {{alpha: {default}}}\ninputs:\n  x: {{shape: [1, 3, 8, 8]}}\n"
                    "layers:\n  - {op: conv, out: 4, kernel: 3}\n", encoding="utf-8")
    return path


#: (id, setup(folder) → (argv, name the message must hold, cwd or None)).
Setup = Callable[[Path], tuple[list[str], str, "Path | None"]]


def _fifo(folder: Path, name: str = "pipe") -> Path:
    path = folder / name
    os.mkfifo(path)
    return path


def _sparse(folder: Path, name: str, size: int) -> Path:
    path = folder / name
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def _pyproject(folder: Path, value: str) -> Path:
    (folder / "pyproject.toml").write_text(f"[tool.archcost.budgets.defaults]\nmax-macs = {value}\n",
                                           encoding="utf-8")
    return folder


def _budget_unknown_model(folder: Path) -> Path:
    path = folder / "budgets.yaml"
    path.write_text("models:\n  nope:\n    model: no_such_model\n    max-macs: 1G\n", encoding="utf-8")
    return path


def _zoo_escape(folder: Path) -> tuple[list[str], str, Path | None]:
    from archcost.zoo import specs_dir

    evil = _spec(folder)  # folder/net.yaml: the zoo lookup specs/<name>.yaml would reach it
    name = os.path.relpath(evil.with_suffix(""), specs_dir())
    deep = folder / "a" / "b" / "c" / "d" / "e" / "f"
    deep.mkdir(parents=True)
    return ["analyze", name], name, deep


CASES: dict[str, Setup] = {
    # output onto a special file or a folder: refused, nothing replaced, no temporary left
    "export -o FIFO": lambda f: (["export", "mobilenet_v1", "-o", str(_fifo(f))], "pipe", None),
    "export -o folder": lambda f: (["export", "mobilenet_v1", "-o", str(f)], str(f), None),
    "gate -o /dev/full": lambda f: (["gate", "mobilenet_v1", "--max-macs", "1G", "-o", "/dev/full"],
                                    "/dev/full", None),
    "gate --junit FIFO": lambda f: (["gate", "mobilenet_v1", "--max-macs", "1G", "--junit", str(_fifo(f))],
                                    "pipe", None),
    "calibrate-out folder": lambda f: (["profile", str(FIXTURES / "profile" / "tiny.yaml"), "--from-profile",
                                        str(FIXTURES / "profile" / "tiny_profile.json"), "--warmup", "1",
                                        "--calibrate", "--calibrate-out", str(f)], str(f), None),
    # unbounded reads: every file argument is a regular file under its cap
    "--from-profile /dev/zero": lambda f: (["profile", "mobilenet_v1", "--from-profile", "/dev/zero"],
                                           "/dev/zero", None),
    "--baseline FIFO": lambda f: (["gate", "mobilenet_v1", "--max-macs", "1G", "--baseline", str(_fifo(f))],
                                  "pipe", None),
    "--config /dev/zero": lambda f: (["gate", "mobilenet_v1", "--config", "/dev/zero"], "/dev/zero", None),
    "--device-file FIFO": lambda f: (["analyze", "mobilenet_v1", "--device-file", str(_fifo(f))], "pipe", None),
    "spec FIFO": lambda f: (["analyze", str(_fifo(f, "net.yaml"))], "net.yaml", None),
    "model /dev/zero": lambda f: (["analyze", "/dev/zero"], "/dev/zero", None),
    "baseline over the cap": lambda f: (["gate", "mobilenet_v1", "--max-macs", "1G", "--baseline",
                                         str(_sparse(f, "big.json", 64 << 20))], "big.json", None),
    "profile over the cap": lambda f: (["profile", "mobilenet_v1", "--from-profile",
                                        str(_sparse(f, "big.json", 1 << 30))], "big.json", None),
    # parse-time tracebacks: depth and number size caught while scanning
    "baseline 5,000 deep": lambda f: (["gate", "mobilenet_v1", "--max-macs", "1G", "--baseline",
                                       str(_write(f / "b.json", _deep_json(5000)))], "b.json", None),
    "baseline 5,000 digits": lambda f: (["gate", "mobilenet_v1", "--max-macs", "1G", "--baseline",
                                         str(_write(f / "b.json", '{"macs": ' + _digits(5000) + "}"))],
                                        "b.json", None),
    "profile 5,000 deep": lambda f: (["profile", "mobilenet_v1", "--from-profile",
                                      str(_write(f / "p.json", _deep_json(5000)))], "p.json", None),
    "profile 5,000 digits": lambda f: (["profile", "mobilenet_v1", "--from-profile",
                                        str(_write(f / "p.json", "[" + _digits(5000) + "]"))], "p.json", None),
    "pyproject 5,000 deep": lambda f: (["gate", "mobilenet_v1"], "pyproject.toml",
                                       _pyproject(f, _deep_json(5000))),
    "pyproject 5,000 digits": lambda f: (["gate", "mobilenet_v1"], "pyproject.toml", _pyproject(f, _digits(5000))),
    "spec default 5,000 digits": lambda f: (["analyze", str(_spec(f, _digits(5000)))], "net.yaml", None),
    "export a 2**60-element Constant": lambda f: (["export", str(_huge_constant(f / "c.onnx")), "-o",
                                                   str(f / "out.onnx")], "c.onnx", None),
    # loops and counts
    "verify a 2**63-1 Loop": lambda f: (["verify", str(_loop_forever(f / "loop.onnx"))], "loop.onnx", None),
    "profile a 2**63-1 Loop": lambda f: (["profile", str(_loop_forever(f / "loop.onnx"))], "loop.onnx", None),
    "--runs 10**9": lambda f: (["profile", "mobilenet_v1", "--runs", "1000000000"], "--runs", None),
    "--top 10**9": lambda f: (["gate", "mobilenet_v1", "--max-macs", "1G", "--top", "1000000000"], "--top", None),
    "--jobs 10**6": lambda f: (["compare", "mobilenet_v1", "resnet18", "--jobs", "1000000"], "--jobs", None),
    "sweep 10**7 points": lambda f: (["sweep", "mobilenet_v1", "--alpha", "0.01:100:0.01", "--resolution",
                                      "1:1001:1"], "points", None),
    # the node limit, counted while reading
    "1,000,000 nodes": lambda f: (["analyze", str(_write_bytes(f / "n.onnx", _node_bytes(1_000_000)))],
                                  "n.onnx", None),
    "opset version -1": lambda f: (["analyze", str(_opset(f / "o.onnx", -1))], "o.onnx", None),
    "opset version 10**9": lambda f: (["analyze", str(_opset(f / "o.onnx", 10**9))], "o.onnx", None),
    # zoo names are names
    "zoo name ../../": _zoo_escape,
    # messages name their file
    "budget file, unknown model": lambda f: (["gate", "--config", str(_budget_unknown_model(f))],
                                             "budgets.yaml", None),
    "Unicode digits in --set": lambda f: (["analyze", "mobilenet_v1", "--set", "alpha=\u0661"], "mobilenet_v1",
                                          None),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _write_bytes(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_refused(case: str, tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    argv, names, cwd = CASES[case](folder)
    before = {p: p.stat().st_mode for p in folder.iterdir()}
    run = run_hostile(argv, folder, cwd=cwd)
    assert_refused(run, folder, names)
    for path, mode in before.items():  # nothing replaced: a FIFO is still a FIFO
        assert stat.S_IFMT(os.lstat(path).st_mode) == stat.S_IFMT(mode), path


# --- files get the umask's mode -----------------------------------------------------------------


def _writers(folder: Path) -> list[tuple[list[str], list[Path]]]:
    """Commands that write files, and the files each writes."""
    tiny, profile = FIXTURES / "profile" / "tiny.yaml", FIXTURES / "profile" / "tiny_profile.json"
    return [
        (["report", "mobilenet_v1", "--out", str(folder / "rep"), "--no-plots"], [folder / "rep"]),
        (["export", "mobilenet_v1", "-o", str(folder / "m.onnx")], [folder / "m.onnx"]),
        (["gate", "mobilenet_v1", "--max-macs", "1G", "-o", str(folder / "g.txt"), "--junit",
          str(folder / "j.xml")], [folder / "g.txt", folder / "j.xml"]),
        (["profile", str(tiny), "--from-profile", str(profile), "--warmup", "1", "--calibrate",
          "--calibrate-out", str(folder / "dev.yaml")], [folder / "dev.yaml"]),
    ]


@pytest.mark.parametrize("umask", [0o022, 0o077], ids=["022", "077"])
def test_written_files_have_the_umask_mode(umask: int, tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    expected = 0o666 & ~umask
    for argv, outputs in _writers(folder):
        run = run_hostile(argv, folder, umask=umask)
        assert run.code == 0, run.err
        assert_contained(run, folder)
        files = [p for out in outputs for p in ([out] if out.is_file() else sorted(out.rglob("*")))
                 if p.is_file()]
        assert files, argv
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))


def test_step_summary_appends_only_to_a_regular_file(tmp_path: Path) -> None:
    folder = tmp_path.resolve()
    pipe = _fifo(folder)
    run = run_hostile(["gate", "mobilenet_v1", "--max-macs", "1G", "--github"], folder,
                      env={"GITHUB_STEP_SUMMARY": str(pipe)})
    assert_refused(run, folder, "pipe")


def test_a_run_over_the_wall_clock_is_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A Loop under the trip limit that still runs too long: onnxruntime is stopped at the limit."""
    pytest.importorskip("onnxruntime")
    from archcost.runtime import checks, session

    monkeypatch.setattr(session, "MAX_RUN_SECONDS", 0.5)
    monkeypatch.setattr(checks, "MAX_LOOP_TRIPS", 2**63)
    path = _loop_forever(tmp_path / "loop.onnx")
    start = time.monotonic()
    code, _out, err = _run(["verify", str(path)], capsys)
    assert code == 2 and time.monotonic() - start < 30
    assert err.count("\n") == 1 and "loop.onnx" in err and "0.5 s, the limit" in err


def test_the_reference_evaluator_is_stopped_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from archcost.runtime import checks, session

    monkeypatch.setattr(session, "MAX_RUN_SECONDS", 0.5)
    monkeypatch.setattr(checks, "MAX_LOOP_TRIPS", 2**63)
    path = _loop_forever(tmp_path / "loop.onnx")
    start = time.monotonic()
    code, _out, err = _run(["verify", str(path), "--backend", "reference"], capsys)
    assert code == 2 and time.monotonic() - start < 30
    assert err.count("\n") == 1 and "loop.onnx" in err and "0.5 s, the limit" in err


def test_the_node_limit_is_counted_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archcost.errors import LimitError
    from archcost.frontends import onnx_wire

    monkeypatch.setattr(onnx_wire, "MAX_NODES", 10)
    data = _node_bytes(11)
    with pytest.raises(LimitError, match="more than 10 nodes, subgraphs included; refused while reading"):
        onnx_wire.read_structure(_write_bytes(tmp_path / "n.onnx", data), "n.onnx")
    assert len(onnx_wire.read_structure(_write_bytes(tmp_path / "ten.onnx", _node_bytes(10)), "t").graph.node) == 10


# --- zoo names -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["mobilenet_v1", "resnet18", "vit_b_16"])
def test_zoo_names_resolve(name: str) -> None:
    from archcost.zoo import resolve, specs_dir

    assert resolve(name) == (specs_dir() / f"{name}.yaml", f"specs/{name}.yaml")


@pytest.mark.parametrize("text", ["../specs/mobilenet_v1", "./mobilenet_v1", "specs/../mobilenet_v1",
                                  "..", ".hidden", "mobilenet_v1/", "a\\b", "mobilenet v1"])
def test_anything_else_is_a_path(text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from archcost.errors import UsageError
    from archcost.zoo import is_zoo_name, resolve

    monkeypatch.chdir(tmp_path)
    assert not is_zoo_name(text) or text in ("..", ".hidden")
    if os.path.lexists(text):
        assert resolve(text) == (Path(text), text)
    else:
        with pytest.raises(UsageError, match="no such file"):
            resolve(text)


# --- wrong files ----------------------------------------------------------------------------------


def test_wrong_files_are_named_for_what_they_are(tmp_path: Path) -> None:
    """Each case of ``tools/wrong_files.py`` (the README's table): one line, exit 2, the file named
    and what it is said; an ONNX file with a capital suffix loads as ONNX."""
    from tools.wrong_files import CASES as WRONG
    from tools.wrong_files import run as run_wrong

    expected_words = {"model.pt": "PyTorch checkpoint", "weights.pth": "pickle", "model.safetensors": "safetensors",
                      "model.h5": "HDF5", "model.keras": "Keras", "models": "directory", "pipe": "FIFO",
                      "/dev/zero": "device"}
    rows = run_wrong(tmp_path)
    assert [r[1] for r in rows] == [c[1] for c in WRONG]
    for _, name, code, message in rows:
        if name == "Model.ONNX":
            assert code == 0 and message == "model: mobilenet_v1"
            continue
        assert code == 2 and message.startswith(f"archcost: {name}: ")
        assert expected_words[name] in message, message
    # The README's table is this run's table (regenerate with python -m tools.wrong_files).
    from tools.wrong_files import table
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert table(rows).strip() in readme


@pytest.mark.parametrize(("message", "where", "display", "shown"), [
    ("unknown op m", None, "m", "m: unknown op m"),
    ("x", "specs/a.yaml:3", "a", "specs/a.yaml:3: x"),
    ("x", "specs/a.yaml:3", "specs/a.yaml", "specs/a.yaml:3: x"),
    ("'nm' is neither a file nor a built-in model", None, "nm", "'nm' is neither a file nor a built-in model"),
    ("x", "node 'c'", "m.onnx", "m.onnx: node 'c': x"),
])
def test_an_error_names_its_file_once(message: str, where: str | None, display: str, shown: str) -> None:
    from archcost.errors import UsageError

    assert str(UsageError(message, where=where).in_file(display)) == shown
