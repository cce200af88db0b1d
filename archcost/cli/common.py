"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse
import sys
from typing import TypeVar

from archcost.errors import UsageError

T = TypeVar("T")

MODEL_HELP = "a zoo name (mobilenet_v1), a spec .yaml or an .onnx file"


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
                        "(? leaves an axis free; repeatable)")


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
    """``["x=1x3x224x224"]`` → ``{"x": (1, 3, 224, 224)}``."""
    from archcost.frontends.onnx_inputs import parse_input_shape

    return _by_input("--input", [parse_input_shape(item) for item in items])


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
        parser.add_argument("--convention", default="paper", choices=("paper", "flops"),
                            help="counting convention (default: paper = MACs of conv/Gemm/MatMul)")


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
