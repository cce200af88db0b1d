"""Bad specs get one line naming the file, line and key, exit code 2, and no traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import run_cli

HEADER = """name: bad
params: {alpha: 1.0}
inputs:
  x: {shape: [1, 3, 32, 32]}
layers:
"""

CASES = [
    # (id, spec text, expected line, expected fragment of the message)
    ("malformed-yaml", "name: bad\nlayers: [\n  {op: conv\n", None, "malformed YAML"),
    ("unknown-kind", HEADER + "  - {op: convolution, out: 8, kernel: 3}\n", 6, "unknown layer kind 'convolution'"),
    ("negative-kernel", HEADER + "  - {op: conv, name: conv3, out: 8,\n     kernel: -1}\n", 7,
     "layer 'conv3': kernel must be a positive integer, got -1"),
    ("zero-kernel", HEADER + "  - {op: conv, out: 8, kernel: 0}\n", 6, "kernel must be a positive integer, got 0"),
    ("groups-divisibility", HEADER + "  - {op: conv, out: 8, kernel: 3, groups: 2}\n", 6,
     "input channel count 3 is not divisible by groups=2"),
    ("undefined-tensor", HEADER + "  - {op: relu, name: a}\n  - {op: add, inputs: [a, nope]}\n", 7,
     "unknown tensor 'nope'"),
    ("cycle", HEADER + "  - {op: relu, name: a, inputs: [b]}\n  - {op: relu, name: b, inputs: [a]}\n", 6,
     "cycle"),
    ("self-reference", HEADER + "  - {op: relu, name: a, inputs: [a]}\n", 6, "cycle"),
    ("python-import", HEADER + "  - {op: conv, out: \"__import__('os').system('x')\", kernel: 3}\n", 6, "out:"),
    ("dunder-class", HEADER + "  - {op: conv, out: \"().__class__\", kernel: 3}\n", 6, "unexpected character '.'"),
    ("dunder-name", HEADER + "  - {op: conv, out: \"__builtins__\", kernel: 3}\n", 6, "not allowed"),
    ("huge-repeat", HEADER + "  - {op: relu, repeat: 10**9}\n", 6, "exceeds the limit of 1,000"),
    ("non-integer-channels", HEADER + "  - {op: conv, out: 10*0.35, kernel: 3}\n", 6, "not a whole number"),
    ("unknown-field", HEADER + "  - {op: conv, out: 8, kernal: 3}\n", 6, "unknown field 'kernal'"),
    ("unknown-block", HEADER + "  - {use: nothing}\n", 6, "unknown block 'nothing'"),
    ("missing-key", "name: bad\nlayers:\n  - {op: relu}\n", 1, "missing required key 'inputs'"),
    ("yaml-alias", "name: &n bad\nalias: *n\n", 1, "anchors"),
    ("duplicate-key", HEADER + "  - {op: relu, op: conv}\n", 6, "duplicate key 'op'"),
    ("deep-expression", HEADER + "  - {op: conv, out: \"" + "(" * 40 + "8" + ")" * 40 + "\", kernel: 3}\n", 6,
     "nests deeper than 32"),
    ("long-expression", HEADER + "  - {op: conv, out: \"" + "1+" * 200 + "1\", kernel: 3}\n", 6,
     "the limit is 256"),
    ("empty-output", HEADER + "  - {op: conv, out: 8, kernel: 40, padding: 0}\n", 6, "empty"),
    ("python-tag", "name: !!python/object/apply:os.system ['x']\n", 1, "malformed YAML"),
]


@pytest.mark.parametrize(("text", "line", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_spec_is_one_line_exit_2(write_spec, text: str, line: int | None, fragment: str) -> None:  # type: ignore[no-untyped-def]
    path: Path = write_spec(text)
    result = run_cli("analyze", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "Traceback" not in message, message
    where = f"{path}:{line}:" if line else f"{path}:"
    assert message.startswith(f"archcost: {where}"), message
    assert fragment in message, message


def test_unknown_parameter_and_model() -> None:
    result = run_cli("analyze", "mobilenet_v1", "--set", "alpah=0.5")
    assert result.returncode == 2
    assert "no parameter 'alpah'" in result.stderr and "alpha" in result.stderr
    result = run_cli("analyze", "no_such_net")
    assert result.returncode == 2 and "built-in: " in result.stderr and "mobilenet_v1" in result.stderr
    result = run_cli("analyze", "mobilenet_v1", "--set", "alpha")
    assert result.returncode == 2 and "NAME=VALUE" in result.stderr


def test_billion_laughs_is_refused_fast(write_spec) -> None:  # type: ignore[no-untyped-def]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = write_spec("\n".join(lines) + "\n")
    start = time.perf_counter()
    result = run_cli("analyze", str(path))
    assert time.perf_counter() - start < 5  # a generous bound on a subprocess; the refusal is immediate
    assert result.returncode == 2 and "anchors" in result.stderr


def test_hostile_expression_is_never_evaluated(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "pwned"
    path = write_spec(HEADER + f"  - {{op: conv, out: \"__import__('os').system('touch {marker}')\", kernel: 3}}\n")
    assert run_cli("analyze", str(path)).returncode == 2
    assert not marker.exists()
