"""Fuzzing the other file arguments and the output paths (issue 19): budget files (YAML and
``pyproject.toml``), baselines, ``--from-profile`` files, and where outputs are written.

Each kind is a Hypothesis strategy of bytes and a check with the invariant of
:func:`tools.fuzz.check_input`: the input is read (or the file written) or refused with an
:class:`~archcost.errors.ArchcostError` whose message is one line; anything else escapes.
Output paths also check that nothing but a regular file is ever replaced and that no temporary
file is left behind.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

#: Names that must survive as text, and numbers that break naive code.
_HOSTILE_TEXT = ("<script>", "=SUM(A1)", "a\nb", "\x1b[31m", "%0A::warning::x", "\u202e", "ü", "", " ",
                 "../../etc/passwd", "/dev/zero", "mobilenet_v1", "specs/../specs/resnet18")
_NUMBERS = (0, -1, 1, 2**31, 2**63, 2**64 + 1, 10**30, 10**45, -(10**45))
_BUDGET_KEYS = ("max-macs", "max-params", "max-weights-bytes", "max-peak-activation", "max-unknown-ops",
                "max-increase", "peak-order", "model", "set", "baseline", "nope")
_VALUES = ("600M", "1.2G", "8MiB", "17MB", "5%", "10%", "-1", "1e400", "nan", "abc", "", "best", "default")


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), st.sampled_from(_NUMBERS), st.integers(-5, 10**12),
                     st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_HOSTILE_TEXT),
                     st.sampled_from(_VALUES), st.text(max_size=8))


def _values() -> st.SearchStrategy[Any]:
    return st.recursive(_scalars(), lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=6)


def _deep(depth: int, opening: str = "[", closing: str = "]") -> str:
    return opening * depth + closing * depth


@st.composite
def _budget_tree(draw: st.DrawFn) -> dict[str, Any]:
    budget = st.dictionaries(st.sampled_from(_BUDGET_KEYS), st.one_of(st.sampled_from(_VALUES), _values()),
                             max_size=4)
    tree: dict[str, Any] = {}
    if draw(st.booleans()):
        tree["defaults"] = draw(budget)
    if draw(st.booleans()):
        tree["models"] = draw(st.dictionaries(st.sampled_from(_HOSTILE_TEXT), budget, max_size=3))
    if draw(st.booleans()):
        tree["zoo"] = draw(_scalars())
    if draw(st.integers(0, 5)) == 0:
        tree[draw(st.text(max_size=5))] = draw(_values())
    return tree


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a TOML basic string is a JSON string here


@st.composite
def budget_inputs(draw: st.DrawFn) -> bytes:
    """A YAML budget file, or (first line ``# toml``) a ``pyproject.toml``, valid or hostile."""
    import yaml

    tree = draw(_budget_tree())
    shape = draw(st.integers(0, 9))
    if shape <= 4:
        return yaml.safe_dump(tree, allow_unicode=True).encode("utf-8")
    if shape == 5:  # deep nesting or a long number, where each parser would meet it
        return draw(st.sampled_from([f"models: {_deep(5000)}\n", f"defaults:\n  max-macs: {'9' * 5000}\n",
                                     f"defaults: {{max-macs: {'1' * 41}}}\n"])).encode()
    lines = ["# toml", "[tool.archcost.budgets.defaults]"]
    for key, value in (tree.get("defaults") or {}).items():
        lines.append(f"{json.dumps(str(key))} = {_toml_value(value)}")
    if shape == 6:
        lines.append(f"max-macs = {draw(st.sampled_from([_deep(5000), '9' * 5000, '1_' * 30 + '1']))}")
    for label, entry in (tree.get("models") or {}).items():
        lines.append(f"[tool.archcost.budgets.models.{json.dumps(str(label))}]")
        lines += [f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in (entry or {}).items()]
    if shape == 7:
        lines.append(draw(st.sampled_from(["x = '''", 'y = """\\', "[[[", "z = 1979-05-27T07:32:00Z"])))
    return ("\n".join(lines) + "\n").encode("utf-8")


@st.composite
def baseline_inputs(draw: st.DrawFn) -> bytes:
    """A baseline (``archcost analyze --format json``), valid-shaped or hostile."""
    totals = draw(st.dictionaries(st.sampled_from(["macs", "cost", "params", "weights", "nope"]), _scalars(),
                                  max_size=4))
    doc: dict[str, Any] = {"model": draw(st.sampled_from(_HOSTILE_TEXT)), "convention": draw(_scalars()),
                           "totals": totals,
                           "layers": draw(st.lists(st.dictionaries(st.sampled_from(["name", "macs", "params"]),
                                                                   _scalars(), max_size=3), max_size=4)),
                           "memory": draw(_values())}
    shape = draw(st.integers(0, 7))
    if shape == 0:
        return _deep(draw(st.sampled_from([63, 64, 65, 5000])), "[", "]").encode()
    if shape == 1:
        return ('{"totals": {"macs": ' + "9" * draw(st.sampled_from([40, 41, 5000])) + "}}").encode()
    if shape == 2:
        return json.dumps(doc)[: draw(st.integers(0, 80))].encode()
    return json.dumps(doc, allow_nan=True, ensure_ascii=draw(st.booleans())).encode("utf-8")


@st.composite
def profile_inputs(draw: st.DrawFn) -> bytes:
    """An onnxruntime profile (a JSON list of trace events), valid-shaped or hostile."""
    event = st.fixed_dictionaries(
        {"cat": st.sampled_from(["Node", "Session", "Api", "x"]), "name": st.sampled_from(
            ["conv_kernel_time", "model_run", "SequentialExecutor::Execute", *_HOSTILE_TEXT]),
         "ph": st.sampled_from(["X", "B"]), "ts": _scalars(), "dur": _scalars()},
        optional={"args": st.dictionaries(st.sampled_from(["op_name", "provider", "node_index"]), _scalars(),
                                          max_size=3)})
    shape = draw(st.integers(0, 6))
    if shape >= 4:  # a real profile (onnxruntime 1.32's, of tests/fixtures/profile/tiny.yaml), one field changed
        events = json.loads(_REAL_PROFILE.read_text(encoding="utf-8"))
        if shape > 4 and events:
            event = events[draw(st.integers(0, len(events) - 1))]
            key = draw(st.sampled_from(sorted(event)))
            event[key] = draw(_values())
        return json.dumps(events, allow_nan=True).encode("utf-8")
    if shape == 0:
        return _deep(draw(st.sampled_from([64, 65, 5000])), "{\"a\":", "}").replace("}", "1}", 1).encode()
    if shape == 1:
        return ("[" + "9" * draw(st.sampled_from([41, 5000])) + "]").encode()
    return json.dumps(draw(st.lists(event, max_size=8)), allow_nan=True).encode("utf-8")


_REAL_PROFILE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "profile" / "tiny_profile.json"
#: What an output path can be when archcost writes to it.
_TARGETS = ("missing", "regular", "directory", "fifo", "symlink to directory", "symlink to fifo",
            "dangling symlink", "/dev/null", "/dev/full", "missing folder")


@st.composite
def output_path_inputs(draw: st.DrawFn) -> bytes:
    """An output path (JSON: a name and what is there already)."""
    name = draw(st.one_of(st.sampled_from(["out.json", "report.md", "a b.xml", ".hidden", "x" * 300, "ü.csv",
                                           "new\nline.txt"]),
                          st.text(st.characters(blacklist_characters="/\x00"), min_size=1, max_size=12)))
    return json.dumps({"name": name, "target": draw(st.sampled_from(_TARGETS))}).encode("utf-8")


# --- the checks ---------------------------------------------------------------------------------


def _one_line(run: Callable[[], Any]) -> str:
    from archcost.errors import ArchcostError

    try:
        run()
    except ArchcostError as err:
        if len(str(err).splitlines()) != 1:
            raise AssertionError(f"an error message spans lines: {str(err)!r}") from err
        return "refused"
    return "report"


def check_budget(data: bytes, folder: Path) -> str:
    from archcost.budgets import load_budget_file

    toml = data.startswith(b"# toml")
    path = folder / ("pyproject.toml" if toml else "budgets.yaml")
    path.write_bytes(data)
    return _one_line(lambda: load_budget_file(path))


def check_baseline(data: bytes, folder: Path) -> str:
    from archcost.budgets import load_baseline

    path = folder / "baseline.json"
    path.write_bytes(data)
    return _one_line(lambda: load_baseline(path))


def check_profile(data: bytes, folder: Path) -> str:
    from archcost.runtime.trace import load_profile

    path = folder / "profile.json"
    path.write_bytes(data)
    return _one_line(lambda: load_profile(path))


def _make_target(path: Path, target: str, folder: Path) -> Path:
    if target == "regular":
        path.write_bytes(b"old")
    elif target == "directory":
        path.mkdir()
    elif target == "fifo":
        os.mkfifo(path)
    elif target == "symlink to directory":
        (folder / "sub").mkdir(exist_ok=True)
        path.symlink_to(folder / "sub")
    elif target == "symlink to fifo":
        if not (folder / "pipe").exists():
            os.mkfifo(folder / "pipe")
        path.symlink_to(folder / "pipe")
    elif target == "dangling symlink":
        path.symlink_to(folder / "nowhere")
    elif target in ("/dev/null", "/dev/full"):
        return Path(target)
    elif target == "missing folder":
        return folder / "no" / "such" / path.name
    return path


def check_output_path(data: bytes, folder: Path) -> str:
    """Write through :func:`~archcost.report.output.write_output` (what every command uses)."""
    import shutil

    from archcost.report.output import write_output

    spec = json.loads(data)
    work = folder / "out"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        path = _make_target(work / spec["name"], spec["target"], work)
    except (OSError, UnicodeError):
        return "refused"  # the file system refuses the name itself (too long, not encodable)
    before = os.stat(path).st_mode if os.path.exists(path) else None
    outcome = _one_line(lambda: write_output(path, "new\n"))
    left = [p.name for p in work.rglob(".archcost-*")]
    if left:
        raise AssertionError(f"a temporary file was left behind: {left}")
    if before is not None and not stat.S_ISREG(before):
        if outcome != "refused" or stat.S_IFMT(os.stat(path).st_mode) != stat.S_IFMT(before):
            raise AssertionError(f"{spec['target']} at {path} was written or replaced")
    if outcome == "report":
        if not stat.S_ISREG(os.lstat(path).st_mode) or path.read_bytes() != b"new\n":
            raise AssertionError(f"{path} is not the complete new file")
    return outcome


#: The file kinds, by the key :func:`tools.fuzz.check_input` dispatches on.
FILE_KINDS: dict[str, tuple[Callable[[], st.SearchStrategy[bytes]], Callable[[bytes, Path], str]]] = {
    "budget": (budget_inputs, check_budget),
    "baseline": (baseline_inputs, check_baseline),
    "profile": (profile_inputs, check_profile),
    "output_path": (output_path_inputs, check_output_path),
}
