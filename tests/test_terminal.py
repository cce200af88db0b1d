"""The terminal view as a person meets it: golden outputs at 80, 100 and 200 columns, no line wider
than the screen, rows that sum to the printed total, and colour only on a terminal.

The goldens are exact. To regenerate them after an intended change of layout, run

    ARCHCOST_UPDATE_GOLDEN=1 python -m pytest tests/test_terminal.py

and read the diff of tests/golden/terminal/ before committing it.
"""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

import archcost
from archcost.report.analyze_view import layers_view_table
from archcost.report.terminal import Screen, fit, shorten
from tests.conftest import REPO, check_golden, run_cli

GOLDEN = Path(__file__).parent / "golden" / "terminal"
WIDTHS = (80, 100, 200)

#: Each command of the acceptance, with its arguments and exit code.
COMMANDS = {
    "analyze": (("analyze", "mobilenet_v1"), 0),
    "compare": (("compare", "vgg16", "resnet50", "mobilenet_v1", "mobilenet_v1:alpha=0.5,resolution=160",
                 "--sort", "macs"), 0),
    "gate": (("gate", "mobilenet_v1", "resnet50", "--max-macs", "500M", "--max-params", "10M"), 1),
}


def _golden(name: str, text: str) -> None:
    check_golden(GOLDEN / name, text)


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_golden_terminal_output(command: str, width: int) -> None:
    args, code = COMMANDS[command]
    result = run_cli(*args, "--width", str(width), timeout=300)
    assert result.returncode == code, result.stderr
    assert _widest(result.stdout) <= width
    assert "\x1b[" not in result.stdout  # a pipe gets no colour
    _golden(f"{command}_{width}.txt", result.stdout)


def test_default_analyze_fits_100_columns_and_is_the_golden() -> None:
    # No --width, no COLUMNS, output to a pipe: the default 100 columns; no line wraps.
    result = run_cli("analyze", "mobilenet_v1")
    assert _widest(result.stdout) <= 100
    assert result.stdout == (GOLDEN / "analyze_100.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize("width", WIDTHS)
def test_columns_is_honoured_like_width(width: int) -> None:
    by_env = run_cli("analyze", "mobilenet_v1", env={"COLUMNS": str(width)})
    assert by_env.stdout == (GOLDEN / f"analyze_{width}.txt").read_text(encoding="utf-8")


def test_summary_comes_before_the_layers() -> None:
    text = (GOLDEN / "analyze_100.txt").read_text(encoding="utf-8")
    assert text.index("total MACs") < text.index("where the MACs go") < text.index("top 10 of 85 layers")


def test_numbers_are_right_aligned() -> None:
    lines = (GOLDEN / "analyze_100.txt").read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if re.match(r"^(total MACs|params \(|weights \(|peak|weight bytes)", line)]
    ends = {line.index(m.group()) + len(m.group()) for line in rows for m in [re.search(r"[\d,]+(?= )", line[40:])]
            if m}
    assert len(rows) == 6 and len(ends) == 1, rows


@pytest.mark.parametrize("top", [0, 3, 10, 85, None])
def test_layer_rows_sum_to_the_total(top: int | None) -> None:
    report = archcost.analyze("resnet50")
    table = layers_view_table(report, top)
    assert table.total is not None
    for key in table.summed:
        assert sum(table.values(key)) == table.total[table.column(key)], key
    assert table.total[table.column("cost")] == 4_089_184_256
    listed = len(report.layers) if top is None else min(top, len(report.layers)) + (top < len(report.layers))
    assert len(table.rows) == listed


def test_layers_all_lists_every_layer_in_graph_order() -> None:
    text = run_cli("analyze", "mobilenet_v1", "--layers", "all", "--width", "200").stdout
    names = [layer.name for layer in archcost.analyze("mobilenet_v1").layers]
    body = text[text.index("all 85 layers"):].splitlines()[3:-1]
    assert [line.split()[0] for line in body] == names


def test_top_n_lists_the_costliest_first() -> None:
    text = run_cli("analyze", "resnet50", "--top", "3").stdout
    body = text[text.index("top 3 of"):].splitlines()[3:6]
    assert [line.split()[0] for line in body] == ["conv1", "layer1_0.conv2_strided", "layer1_1.conv2_strided"]


def test_fit_drops_then_cuts_and_says_so() -> None:
    table = layers_view_table(archcost.analyze("mobilenet_v1"), 5)
    narrow = fit(table, 50, drop=("input", "buffer", "norm", "bias", "weight", "category", "op"), cut="layer")
    assert max(len(line) for line in narrow.text().splitlines()) <= 60
    assert "columns left out at this width: input" in narrow.note()
    assert shorten("features/features.0/Conv", 10) == "…es.0/Conv"
    assert shorten("features/features.0/Conv", 10, keep="start") == "features/…"


def _on_a_terminal(env: dict[str, str]) -> str:
    """``archcost analyze mobilenet_v1``'s output when standard output is a terminal (a pty)."""
    primary, secondary = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "archcost", "analyze", "mobilenet_v1", "--width", "100"], cwd=REPO,
            stdout=secondary, stderr=subprocess.DEVNULL,
            env={**{k: v for k, v in os.environ.items() if k != "NO_COLOR"}, "PYTHONPATH": str(REPO), **env})
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 1 << 16)
            except OSError:  # the pty's other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    finally:
        os.close(primary)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    coloured = _on_a_terminal({})
    assert "\x1b[1mmodel: mobilenet_v1\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == (GOLDEN / "analyze_100.txt").read_text(encoding="utf-8")
    assert "\x1b[" not in _on_a_terminal({"NO_COLOR": "1"})


def test_screen_paints_nothing_without_colour() -> None:
    assert Screen(100, color=False).paint("x", "bold") == "x"
    assert Screen(100, color=True).paint("x", "red") == "\x1b[31mx\x1b[0m"
