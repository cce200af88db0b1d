"""A bounded, deterministic fuzz run: every input gives a report or an ArchcostError.

The strategies live in ``tools/fuzz.py``, which also runs them for as long as
asked (``python -m tools.fuzz --seconds 600``) in a worker process with a per-input
timeout and a memory cap. Here they run in-process, derandomized, with a fixed
number of examples per kind: at least 2,000 spec inputs and 2,000 ONNX inputs.
Anything other than a report or an ArchcostError (another exception type, a
message that spans lines) fails the test, and Hypothesis shrinks the input.
"""

from __future__ import annotations

import signal
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings

from tools.fuzz import KINDS, check_input

#: Examples per kind: spec ≥ 2,000; the two ONNX kinds ≥ 2,000 together.
EXAMPLES = {"spec": 2100, "onnx_graph": 1100, "onnx_bytes": 1100,
            "budget": 300, "baseline": 300, "profile": 300, "output_path": 300}
#: Inputs tried and their outcomes, by kind, for the summary test.
TRIED: Counter[str] = Counter()
OUTCOMES: Counter[tuple[str, str]] = Counter()
#: The summary line, once the summary test has run.
SUMMARY: list[str] = []
#: A safety net so that a hang fails the suite instead of stalling it; no input comes near it.
_HANG_SECONDS = 60


@contextmanager
def _no_hang(seconds: int) -> Iterator[None]:
    def expire(signum: int, frame: object) -> None:
        raise AssertionError(f"one input took more than {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _run(name: str) -> None:
    """Run kind ``name`` once per session (the summary test reuses an earlier run)."""
    if name in TRIED:
        return
    kind = KINDS[name]
    folder = Path(tempfile.mkdtemp(prefix=f"archcost-fuzz-{name}-"))

    @settings(max_examples=EXAMPLES[name], derandomize=True, database=None, deadline=None,
              phases=(Phase.explicit, Phase.generate, Phase.shrink),
              suppress_health_check=list(HealthCheck))
    @given(kind.strategy())
    def one(data: bytes) -> None:
        TRIED[name] += 1
        with _no_hang(_HANG_SECONDS):
            OUTCOMES[name, check_input(data, kind.suffix, folder)] += 1

    one()


def test_fuzz_specs() -> None:
    _run("spec")


def test_fuzz_onnx_graphs() -> None:
    _run("onnx_graph")


def test_fuzz_onnx_bytes() -> None:
    _run("onnx_bytes")


def test_fuzz_budget_files() -> None:
    _run("budget")


def test_fuzz_baselines() -> None:
    _run("baseline")


def test_fuzz_profiles() -> None:
    _run("profile")


def test_fuzz_output_paths() -> None:
    _run("output_path")


def test_fuzz_summary() -> None:
    for name in KINDS:
        _run(name)
    onnx = TRIED["onnx_graph"] + TRIED["onnx_bytes"]
    line = "fuzz: " + "; ".join(
        f"{name} {TRIED[name]:,} inputs ({OUTCOMES[name, 'report']:,} reports, "
        f"{OUTCOMES[name, 'refused']:,} refused)" for name in KINDS
    ) + f"; spec total {TRIED['spec']:,}, ONNX total {onnx:,}"
    SUMMARY.append(line)  # shown at the end of every pytest run by tests/conftest.py
    assert TRIED["spec"] >= 2000, line
    assert onnx >= 2000, line
    # Every input ended in one of the two allowed outcomes (anything else raised above).
    assert sum(OUTCOMES.values()) == sum(TRIED.values()), line
    # The strategies reach the analysis, not only the front ends' refusals.
    for name in KINDS:
        assert OUTCOMES[name, "report"] > 0, line
