"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse
import sys
from typing import TypeVar

from archcost.cli.jobs import add_jobs_argument as add_jobs_argument
from archcost.cli.jobs import run_jobs as run_jobs
from archcost.errors import UsageError

T = TypeVar("T")

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


def write(text: str) -> None:
    """Write command output to stdout."""
    sys.stdout.write(text)
