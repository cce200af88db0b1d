"""Shared test helpers: run the CLI as a user would, write throwaway specs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
#: ``ARCHCOST_UPDATE_GOLDEN=1`` rewrites the golden files instead of comparing with them.
UPDATE_GOLDEN = os.environ.get("ARCHCOST_UPDATE_GOLDEN") == "1"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m archcost ARGS`` in a subprocess, from the repo (or ``cwd``).

    The table view's width is the default 100 columns whatever the caller's ``COLUMNS``;
    ``env`` adds variables (``COLUMNS``, ``NO_COLOR``) for a test that means them."""
    env = {**{k: v for k, v in os.environ.items() if k != "COLUMNS"}, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "archcost", *args],
        cwd=cwd or REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


def summary_figure(text: str, label: str) -> str:
    """The exact figure ``archcost analyze``'s table view prints beside ``label`` in its totals."""
    for line in text.splitlines():
        if line.startswith(label + "  "):
            return line[len(label):].split()[0]
    raise AssertionError(f"no {label!r} row in:\n{text}")


@pytest.fixture
def write_spec(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a spec file and return its path."""

    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the bounded fuzz run's counts (tests/test_fuzz.py) whenever it ran."""
    fuzz = sys.modules.get("tests.test_fuzz")
    for line in getattr(fuzz, "SUMMARY", []):
        terminalreporter.write_line(line)


#: Set by CI's second stage, after it installed the extras: a test that skips there (torch or a
#: browser missing after all) fails instead, so the stage cannot pass by running nothing.
NO_SKIP = os.environ.get("ARCHCOST_NO_SKIP") == "1"


def _no_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if NO_SKIP and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped, but ARCHCOST_NO_SKIP=1 requires it to run: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    _no_skip(outcome.get_result())


@pytest.hookimpl(tryfirst=True)
def pytest_collectreport(report: pytest.CollectReport) -> None:
    _no_skip(report)


def check_golden(path: Path, text: str) -> None:
    """``text`` must equal the golden file at ``path`` (``ARCHCOST_UPDATE_GOLDEN=1`` writes it)."""
    if UPDATE_GOLDEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"{path} missing: run with ARCHCOST_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed; ARCHCOST_UPDATE_GOLDEN=1 to accept"
