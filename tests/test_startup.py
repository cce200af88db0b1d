"""Lean start-up: which heavy libraries each entry point imports (never how long it takes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.onnx_builders import residual_block, save

HEAVY = ("sympy", "onnx", "numpy", "matplotlib", "networkx", "onnxruntime", "yaml", "tabulate")


def imported_after(argv: list[str]) -> list[str]:
    """The heavy modules loaded once ``archcost.cli.main(argv)`` has run, in a fresh interpreter."""
    code = (
        "import io, json, sys, contextlib\n"
        "from archcost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({argv!r})\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["analyze", "--help"], ["sweep", "--help"]])
def test_version_and_help_import_nothing_heavy(argv: list[str]) -> None:
    assert imported_after(argv) == []


def test_parser_building_imports_nothing_heavy() -> None:
    """Every command module is imported to build the parser; none may pull in a heavy library."""
    code = (
        "import sys, json\n"
        "from archcost.cli import build_parser\n"
        "build_parser()\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_analyze_spec_imports_no_sympy_onnx_or_numpy() -> None:
    loaded = imported_after(["analyze", "mobilenet_v1"])
    assert not {"sympy", "onnx", "numpy", "matplotlib"} & set(loaded), loaded


def test_analyze_onnx_with_the_wire_reader_imports_no_onnx_or_numpy(tmp_path: Path) -> None:
    path = save(residual_block(), tmp_path / "m.onnx")
    loaded = imported_after(["analyze", str(path)])
    assert not {"sympy", "onnx", "numpy", "matplotlib"} & set(loaded), loaded
    # The reference reader is onnx.load itself, so it must import onnx: the probe can fail.
    assert "onnx" in imported_after(["analyze", str(path), "--reader", "onnx"])
