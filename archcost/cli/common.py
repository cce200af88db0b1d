"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from archcost.cli.counts import MAX_JOBS, check_range, whole_number
from archcost.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

MODEL_HELP = ("a zoo name (mobilenet_v1), a spec .yaml, an .onnx file, or package.module:callable, a PyTorch "
              "module that callable() builds: archcost imports that package and runs that code (needs "
              "pip install 'archcost[torch]'; give example inputs with --input)")


def add_set_argument(
    parser: argparse.ArgumentParser,
    help: str = "set a spec parameter or bind an ONNX dimension (repeatable)",
) -> None:
    """``--set NAME=VALUE[,NAME=VALUE]`` (repeatable), read with :func:`parse_sets`."""
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        metavar="NAME=VALUE[,NAME=VALUE]", help=help)


def add_input_argument(parser: argparse.ArgumentParser) -> None:
    """``--input NAME=DIMxDIMx...`` (repeatable), read with :func:`parse_inputs`."""
    parser.add_argument("--input", dest="inputs", action="append", default=[], metavar="NAME=DIMxDIMx...",
                        help="bind a whole ONNX graph input's shape, e.g. x=1x3x224x224 "
                        "(? leaves an axis free; repeatable); for a PyTorch module, the example "
                        "inputs: NAME=SHAPE for a forward parameter, or SHAPE alone for the next "
                        "positional one")


def add_value_argument(parser: argparse.ArgumentParser) -> None:
    """``--value NAME=V[,V...]`` (repeatable), read with :func:`parse_values`."""
    parser.add_argument("--value", dest="values", action="append", default=[], metavar="NAME=V[,V...]",
                        help="give the contents of a small ONNX graph input (a sample rate, axes), "
                        "e.g. sr=16000 (repeatable)")


def parse_values(items: list[str]) -> dict[str, tuple[str, ...]]:
    """``["sr=16000"]`` → ``{"sr": ("16000",)}``."""
    from archcost.frontends.onnx_inputs import parse_input_values

    return _by_input("--value", [parse_input_values(item) for item in items])


def parse_inputs(items: list[str]) -> dict[str, tuple[int | None, ...]]:
    """``["x=1x3x224x224"]`` → ``{"x": (1, 3, 224, 224)}``; a shape without a name is the next
    positional input of a PyTorch module, ``#1``, ``#2``..."""
    shapes, dtypes = parse_inputs_and_dtypes(items)
    if dtypes:
        name = next(iter(dtypes))
        raise UsageError(f"--input {name}: a dtype (SHAPE:{dtypes[name]}) is taken by `archcost analyze` "
                         "for a PyTorch module reference")
    return shapes


def parse_inputs_and_dtypes(items: list[str]) -> tuple[dict[str, tuple[int | None, ...]], dict[str, str]]:
    """``["input_ids=1x16:int64", "1x3x8x8"]`` → ``({"input_ids": (1, 16), "#1": (1, 3, 8, 8)},
    {"input_ids": "int64"})``: shapes with the dtypes a PyTorch module's example inputs take."""
    from archcost.frontends.onnx_inputs import parse_input_items

    pairs, dtypes = parse_input_items(items)
    return _by_input("--input", pairs), dtypes


def _by_input(option: str, pairs: list[tuple[str, T]]) -> dict[str, T]:
    """``(input name, value)`` pairs as a dict; naming an input twice is an error."""
    found: dict[str, T] = {}
    for name, value in pairs:
        if name in found:
            raise UsageError(f"{option} {name} is given twice")
        found[name] = value
    return found


def add_model_arguments(parser: argparse.ArgumentParser, *, convention: bool = True) -> None:
    """``MODEL``, ``--set``, ``--input`` and (unless ``convention=False``) ``--convention``."""
    parser.add_argument("model", help=MODEL_HELP)
    add_set_argument(parser)
    add_input_argument(parser)
    add_value_argument(parser)
    if convention:
        from archcost.cost.conventions import CONVENTIONS

        parser.add_argument("--convention", default="paper", choices=tuple(CONVENTIONS),
                            help="counting convention (default: paper = MACs of conv/Gemm/MatMul; flops; "
                            "fvcore, thop and ptflops reproduce those tools' totals)")


def parse_sets(items: list[str]) -> dict[str, str]:
    """``["alpha=0.5,resolution=160"]`` → ``{"alpha": "0.5", "resolution": "160"}``."""
    values: dict[str, str] = {}
    for item in items:
        for part in item.split(","):
            name, sep, value = part.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise UsageError(f"--set expects NAME=VALUE, got {part!r}")
            values[name.strip()] = value.strip()
    return values


def add_jobs_argument(parser: argparse.ArgumentParser) -> None:
    """``--jobs N``: analyze the models in N processes (read with :func:`run_jobs`)."""
    parser.add_argument("--jobs", "-j", type=whole_number, default=1, metavar="N",
                        help="analyze the models in N processes at once (default 1: in this process); "
                        "the output is the same, in command-line order")


def run_jobs(function: Callable[[T], R], items: Sequence[T], jobs: int, *, context: Any = None) -> list[R]:
    """``function`` over ``items``, results in the order of ``items``.

    With ``jobs`` > 1 the calls run in a pool of processes. ``function`` must be a module-level
    function (or a ``functools.partial`` of one) and ``items`` must pickle, so the pool works
    with any start method (``context``: a ``multiprocessing`` context; default the platform's).
    The first call to fail, in the order of ``items``, raises its error here, as it would
    in one process; the calls not yet started are cancelled.
    """
    check_range("--jobs", jobs, 1, MAX_JOBS)
    if jobs == 1 or len(items) < 2:
        return [function(item) for item in items]
    from concurrent.futures import ProcessPoolExecutor

    # The first call runs here: where workers are forked (Linux), they inherit what it imported
    # (the loader, the registry, SymPy if needed) instead of importing it once each.
    first = function(items[0])
    rest = items[1:]
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(rest)), mp_context=context)
    try:
        # Chunks of several models per task: a model takes milliseconds, a task round trip about one.
        return [first, *pool.map(function, rest, chunksize=max(1, len(rest) // (4 * jobs)))]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def write(text: str) -> None:
    """Write command output to stdout."""
    sys.stdout.write(text)
