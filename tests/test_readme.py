"""Every ``console`` example in the README prints what the README says it prints.

A block starts with ``$ archcost ARGS``; the lines after it are expected in the command's
standard output, in order, each run of lines without a ``...`` between them contiguous (``...``
stands for lines left out).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO, run_cli

_BLOCK = re.compile(r"^( *)```console\n(.*?)^\1```", re.M | re.S)


def _examples() -> list[tuple[list[str], list[str]]]:
    found = []
    for match in _BLOCK.finditer((REPO / "README.md").read_text(encoding="utf-8")):
        lines = textwrap.dedent(match.group(2)).splitlines()
        assert lines[0].startswith("$ archcost "), lines[0]
        found.append((shlex.split(lines[0][len("$ archcost "):]), lines[1:]))
    return found


EXAMPLES = _examples()


def _with_torchvision(args: list[str]) -> subprocess.CompletedProcess[str]:
    """``archcost ARGS`` for an example that builds a torchvision model. Where torchvision cannot
    import beside a CPU-only torch (ENVIRONMENT.md), its two compiled-op schemas are defined
    first (tests/torch_zoo.py); archcost itself is unchanged."""
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchvision") is None:
        pytest.skip("the example builds a torchvision model: pip install '.[torch]' torchvision")
    code = ("import sys\nfrom tests.torch_zoo import torchvision_models\ntorchvision_models()\n"
            "from archcost.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                            timeout=600, env={**{k: v for k, v in os.environ.items() if k != "COLUMNS"},
                                              "PYTHONPATH": str(REPO)}, check=False)
    if result.returncode != 0 and "torchvision" in result.stderr and "Error" in result.stderr:
        pytest.skip(f"torchvision does not import here: {result.stderr.strip().splitlines()[-1]}")
    return result


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize(("args", "expected"), EXAMPLES, ids=[" ".join(a)[:60] for a, _ in EXAMPLES])
def test_each_example_prints_what_the_readme_shows(args: list[str], expected: list[str]) -> None:
    if any(a.startswith("torchvision.") for a in args):
        result = _with_torchvision(args)
    else:
        result = run_cli(*args, timeout=600)
    actual = result.stdout.splitlines()
    segments, current = [], []
    for line in expected:
        if line.strip() == "...":
            segments.append(current)
            current = []
        else:
            current.append(line)
    segments.append(current)
    position = 0
    for segment in (s for s in segments if s):
        starts = [i for i in range(position, len(actual) - len(segment) + 1)
                  if actual[i:i + len(segment)] == segment]
        assert starts, f"not in the output of archcost {' '.join(args)}:\n" + "\n".join(segment) + \
            "\n--- output:\n" + result.stdout
        position = starts[0] + len(segment)
