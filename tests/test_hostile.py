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

import csv
import html.parser
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

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


SINKS = {"terminal": check_terminal, "markdown": check_markdown, "html": check_html, "latex": check_latex,
         "csv": check_csv, "json": check_json}


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_analyze_sinks(hostile: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["analyze", str(hostile), "--format", fmt], capsys)
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
        code, out, err = _run(["compare", str(hostile), "mobilenet_v1", "--format", fmt], capsys)
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


def test_error_messages_are_one_line_whatever_the_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / ("x" + NAME.replace("\x00", "").replace("\\", ""))
    code, out, err = _run(["analyze", str(folder / "missing.onnx")], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("archcost: ")
    _no_raw(err.rstrip("\n"))
