"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse
import sys

from archcost.errors import UsageError

MODEL_HELP = "a zoo name (mobilenet_v1), a spec .yaml or an .onnx file"


def add_set_argument(
    parser: argparse.ArgumentParser,
    help: str = "set a spec parameter or bind an ONNX dimension (repeatable)",
) -> None:
    """``--set NAME=VALUE[,NAME=VALUE]`` (repeatable), read with :func:`parse_sets`."""
    parser.add_argument("--set", dest="sets", action="append", default=[],
                        metavar="NAME=VALUE[,NAME=VALUE]", help=help)


def add_model_arguments(parser: argparse.ArgumentParser, *, convention: bool = True) -> None:
    """``MODEL``, ``--set`` and (unless ``convention=False``) ``--convention``."""
    parser.add_argument("model", help=MODEL_HELP)
    add_set_argument(parser)
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
