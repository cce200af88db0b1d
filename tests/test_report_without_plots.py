"""A machine without matplotlib regenerates the tables and leaves committed figures alone.

The README's first command (`pip install . && archcost report`) runs on machines without the
plot extra; it must not rewrite the committed plots, report.html or the manifest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from archcost.cli import main
from tests.conftest import REPO

_MATPLOTLIB = ("matplotlib", "matplotlib.ticker", "matplotlib.figure", "matplotlib.backends.backend_agg")


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


def test_report_without_matplotlib_changes_nothing_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "reports"
    shutil.copytree(REPO / "reports", out)
    before = _snapshot(out)
    for name in _MATPLOTLIB:
        monkeypatch.setitem(__import__("sys").modules, name, None)  # `import matplotlib` now fails
    assert main(["report", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "0 changed" in captured.out
    assert "pip install 'archcost[plot]'" in captured.err
    assert _snapshot(out) == before
    assert main(["report", "--check", "--out", str(out)]) == 0
    # --check writes nothing, so it says what it could not compare and how to, not "tables written".
    err = capsys.readouterr().err
    assert "not compared" in err and "pip install matplotlib==" in err
    assert "written" not in err
