"""The HTML that people open, in a real headless browser: the ``archcost report`` pages and the
notebook displays (``_repr_html_`` of a report, a comparison and a sweep, set in a page as a
notebook front end sets them).

Each page must load with no console message, no uncaught exception, no error in the browser's log
and no request beyond its own file; the figures the browser reads back must be the report's. A
screenshot of each page is written as a test artifact: under ``$ARCHCOST_ARTIFACTS`` when it is
set (CI keeps that directory), else under pytest's temporary directory.

The tests skip, saying why, when no Chromium is installed (ARCHCOST_NO_SKIP=1 makes that a
failure, as .ci/run does).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import archcost
from tests.browser import find_chromium, visit
from tests.conftest import run_cli

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (apt-get install -y chromium): these pages are "
    "checked in a real headless browser")

#: What the checks read from a page: its tables' section ids, the formulas' superscripts, the
#: text of code spans in running text, and anything that could run or fetch.
READ = r"""(() => ({
  sections: [...document.querySelectorAll('section')].map(s => s.id || s.dataset.key),
  tables: [...document.querySelectorAll('section')].map(s => [s.id || s.dataset.key,
      [...s.querySelectorAll('tr')].map(r => [...r.children].map(c => c.textContent.trim()))]),
  superscripts: document.querySelectorAll('code sup').length,
  codeInProse: [...document.querySelectorAll('p code')].map(c => c.textContent),
  backticks: [...document.querySelectorAll('p, li')].filter(e => e.textContent.includes('`')).length,
  active: document.querySelectorAll('script, iframe, object, embed, link, [onerror], [onload]').length,
  width: document.documentElement.scrollWidth,
}))()"""


def _artifact(tmp_path: Path, name: str) -> Path:
    base = os.environ.get("ARCHCOST_ARTIFACTS")
    return (Path(base) if base else tmp_path) / f"{name}.png"


def _open(page: Path, shot: Path) -> dict:  # type: ignore[type-arg]
    assert CHROMIUM is not None
    seen = visit(CHROMIUM, page, READ, screenshot=shot)
    assert seen.problems == [], seen.problems
    assert all(url == page.resolve().as_uri() or url.startswith(("data:", "about:")) for url in seen.requests)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    value: dict = seen.value  # type: ignore[type-arg]
    assert value["active"] == 0
    return value


def _row(cells: list[list[str]], first: str) -> list[str]:
    return next(row for row in cells if row and row[0] == first)


def _table(seen: dict, key: str, index: int = 0) -> list[list[str]]:  # type: ignore[type-arg]
    """The rows of the ``index``-th table called ``key`` on the page."""
    return [rows for name, rows in seen["tables"] if name == key][index]


def test_the_paper_report_in_the_browser(tmp_path: Path) -> None:
    made = run_cli("report", "--out", str(tmp_path / "out"), "--no-plots")
    assert made.returncode == 0, made.stderr
    seen = _open(tmp_path / "out" / "mobilenet_v1" / "report.html", _artifact(tmp_path, "report_mobilenet_v1"))
    assert "table2_resource_per_layer_type" in seen["sections"] and "seeds_formulas" in seen["sections"]
    # Formulas are typeset (D_F<sup>2</sup>), and code in running text is code, not backticks.
    assert seen["superscripts"] >= 8
    assert "archcost report --check" in seen["codeInProse"] and seen["backticks"] == 0
    formulas = _table(seen, "seeds_formulas")
    assert _row(formulas, "Standard convolution")[1] == "D_F2·D_K2·M·N"  # the text of D_F<sup>2</sup>·…


def test_a_model_report_in_the_browser(tmp_path: Path) -> None:
    page = tmp_path / "mobilenet_v2.html"
    made = run_cli("report", "mobilenet_v2", "--format", "html", "-o", str(page))
    assert made.returncode == 0 and made.stdout == "", made.stderr
    seen = _open(page, _artifact(tmp_path, "report_mobilenet_v2"))
    totals = archcost.analyze("mobilenet_v2").totals
    layers = _table(seen, "layers")
    assert _row(layers, "total")[5] == f"{totals.macs:,}"


def test_notebook_html_in_the_browser(tmp_path: Path) -> None:
    report = archcost.analyze("mobilenet_v1")
    symbolic = archcost.analyze("mobilenet_v1", symbols=None, continuous=True)
    compared = archcost.compare(["mobilenet_v1", "mobilenet_v1:alpha=0.5,resolution=160"])
    swept = archcost.sweep("mobilenet_v1", {"alpha": ["0.5", 1]})
    # A notebook front end sets each output's HTML in its own element of one page.
    cells = [report._repr_html_(), symbolic._repr_html_(), compared._repr_html_(), swept._repr_html_()]
    page = tmp_path / "notebook.html"
    page.write_text("<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>notebook</title></head><body>"
                    + "".join(f'<div class="output">{cell}</div>' for cell in cells) + "</body></html>",
                    encoding="utf-8")
    seen = _open(page, _artifact(tmp_path, "notebook"))
    assert seen["sections"].count("totals") == 2 and "compare" in seen["sections"] and "sweep" in seen["sections"]
    assert _row(_table(seen, "totals"), "total MACs")[1:] == [f"{report.totals.macs:,}", "569M"]
    continuous = _row(_table(seen, "totals", 1), "total MACs")[1]
    assert continuous == "10752·α2·resolution2 + 1125·α·resolution2/2 + 1024000·α"  # α<sup>2</sup>: text "α2"
    assert [row[0] for row in _table(seen, "compare")[1:]] == ["mobilenet_v1", "mobilenet_v1:alpha=0.5,resolution=160"]
    assert seen["superscripts"] > 0  # the symbolic report's α², resolution²
    assert seen["width"] <= 1400  # nothing wider than the window
