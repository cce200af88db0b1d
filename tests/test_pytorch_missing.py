"""Without torch, the PyTorch entry point says how to install it (and nothing else needs torch).

Runs everywhere: torch is hidden from a fresh interpreter (``sys.modules["torch"] = None``
makes ``import torch`` fail as if it were not installed).
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

HIDE_TORCH = "import sys; sys.modules['torch'] = None; "


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", HIDE_TORCH + code], cwd=REPO, capture_output=True, text=True,
                          timeout=120, check=False)


def test_cli_reference_without_torch_says_how_to_install() -> None:
    out = _run("from archcost.cli import main; sys.exit(main(['analyze', 'tests.torch_zoo:TinyConvNet', "
               "'--input', '1x3x8x8']))")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "archcost: tests.torch_zoo:TinyConvNet: the PyTorch entry point needs torch and onnxscript: "
        "pip install torch onnxscript (or the "
        "extra: pip install 'archcost[torch]', from a checkout '.[torch]')"]


def test_python_api_without_torch_says_how_to_install() -> None:
    out = _run("import archcost\ntry:\n    archcost.analyze(object(), ())\nexcept Exception as e:\n"
               "    print(type(e).__name__, e)")
    assert out.stdout.startswith("UsageError the PyTorch entry point needs torch"), out.stderr


def test_the_core_never_imports_torch() -> None:
    out = _run("import archcost; r = archcost.analyze('resnet50'); "
               "import archcost.cli, archcost.report.analysis; print(r.totals.macs)")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "4089184256"
