"""``gate --jobs N`` and ``compare --jobs N``: a process pool over models, the same bytes out."""

from __future__ import annotations

import functools
import json
import multiprocessing
from pathlib import Path

import pytest

from archcost.budgets import ModelBudget, gate_model
from archcost.cli.common import run_jobs
from archcost.errors import UsageError
from archcost.gate import budgets_from_mapping
from archcost.report.compare import ModelRef, measure
from tests.conftest import run_cli

MODELS = ("mobilenet_v1", "resnet18", "squeezenet1_0", "mobilenet_v2", "mobilenet_v1:alpha=0.5")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_gate_with_two_jobs_prints_the_same_bytes(fmt: str, tmp_path: Path) -> None:
    args = ["gate", *(m.partition(":")[0] for m in MODELS[:4]), "--max-macs", "1G", "--max-params", "5M",
            "--max-peak-activation", "8MiB", "--format", fmt]
    one = run_cli(*args, "--junit", str(tmp_path / "one.xml"))
    two = run_cli(*args, "--jobs", "2", "--junit", str(tmp_path / "two.xml"))
    assert one.returncode == two.returncode == 1, one.stderr + two.stderr
    assert one.stdout == two.stdout and one.stderr == two.stderr == ""
    assert (tmp_path / "one.xml").read_bytes() == (tmp_path / "two.xml").read_bytes()
    if fmt == "json":
        assert [m["label"] for m in json.loads(two.stdout)["models"]] == list(
            m.partition(":")[0] for m in MODELS[:4])


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_compare_with_two_jobs_prints_the_same_bytes(fmt: str) -> None:
    one = run_cli("compare", *MODELS, "--format", fmt)
    two = run_cli("compare", *MODELS, "--format", fmt, "--jobs", "2")
    assert one.returncode == two.returncode == 0, one.stderr + two.stderr
    assert one.stdout == two.stdout


def test_a_failing_model_is_one_line_and_exit_2_with_jobs() -> None:
    for jobs in ("1", "3"):
        result = run_cli("gate", "mobilenet_v1", "no_such_model", "resnet18", "--max-macs", "1G", "--jobs", jobs)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith("archcost: 'no_such_model' is neither a file nor a built-in model")
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    result = run_cli("compare", "mobilenet_v1", "no_such_model", "--jobs", "2")
    assert result.returncode == 2 and result.stderr.count("\n") == 1


def test_jobs_must_be_positive() -> None:
    result = run_cli("compare", "mobilenet_v1", "resnet18", "--jobs", "0")
    assert result.returncode == 2 and "--jobs must be from 1 to 64, got 0" in result.stderr


def test_the_pool_is_spawn_safe_and_keeps_the_order() -> None:
    # spawn starts fresh interpreters: the job and its arguments must pickle and import cleanly.
    spawn = multiprocessing.get_context("spawn")
    budgets = budgets_from_mapping({"max-macs": "1G"})
    targets = [ModelBudget(m, m, budgets) for m in ("resnet18", "mobilenet_v1", "squeezenet1_0")]
    job = functools.partial(gate_model, top=2)
    pooled = run_jobs(job, targets, 2, context=spawn)
    assert pooled == [job(t) for t in targets]
    assert [r.passed for r in pooled] == [False, True, True]
    refs = [ModelRef("mobilenet_v1", {"alpha": "0.25"}), ModelRef("vgg16", {})]
    assert run_jobs(measure, refs, 2, context=spawn) == [measure(r) for r in refs]


def test_the_first_error_in_order_is_raised() -> None:
    spawn = multiprocessing.get_context("spawn")
    refs = [ModelRef("mobilenet_v1", {}), ModelRef("mobilenet_v1", {"nope": "1"}), ModelRef("no_such", {})]
    with pytest.raises(UsageError, match="no parameter 'nope'"):
        run_jobs(measure, refs, 3, context=spawn)
