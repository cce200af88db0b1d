"""``--jobs``: the models of one command analyzed in several processes, results in order."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from archcost.cli.counts import MAX_JOBS, check_range, whole_number

T = TypeVar("T")
R = TypeVar("R")


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    """``--jobs N``: analyze the models in N processes (read with :func:`run_jobs`)."""
    parser.add_argument("--jobs", "-j", type=whole_number, default=1, metavar="N",
                        help="analyze the models in N processes at once (default 1: in this process); "
                        "the output is the same, in command-line order")


def run_jobs(function: Callable[[T], R], items: Sequence[T], jobs: int, *, context: Any = None,
             done: Callable[[int], None] | None = None) -> list[R]:
    """``function`` over ``items``, results in the order of ``items`` (``done(n)`` after each).

    With ``jobs`` > 1 the calls run in a pool of processes. ``function`` must be a module-level
    function (or a ``functools.partial`` of one) and ``items`` must pickle, so the pool works
    with any start method (``context``: a ``multiprocessing`` context; default the platform's).
    The first call to fail, in the order of ``items``, raises its error here, as it would
    in one process; the calls not yet started are cancelled.
    """
    check_range("--jobs", jobs, 1, MAX_JOBS)
    tell = done or (lambda _n: None)
    results: list[R] = []
    if jobs == 1 or len(items) < 2:
        for item in items:
            results.append(function(item))
            tell(len(results))
        return results
    from concurrent.futures import ProcessPoolExecutor

    # The first call runs here: where workers are forked (Linux), they inherit what it imported
    # (the loader, the registry, SymPy if needed) instead of importing it once each.
    results.append(function(items[0]))
    tell(1)
    rest = items[1:]
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(rest)), mp_context=context)
    try:
        # Chunks of several models per task: a model takes milliseconds, a task round trip about one.
        for result in pool.map(function, rest, chunksize=max(1, len(rest) // (4 * jobs))):
            results.append(result)
            tell(len(results))
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
