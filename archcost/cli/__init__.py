"""The ``archcost`` command line: thin steps over the library.

Each command is a module in this package with ``add_parser(subparsers)`` and
``run(args) -> int``. Modules import heavy libraries only inside ``run``, so
``archcost --help`` stays fast.
"""

from __future__ import annotations

import argparse
import enum
import importlib
import re
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from archcost import __version__


class ExitCode(enum.IntEnum):
    """Process exit codes."""

    OK = 0
    #: A budget was exceeded, a verification mismatched, or --strict found unknown ops.
    FAILED = 1
    #: Bad input or usage.
    BAD_INPUT = 2


#: Command modules, in the order ``--help`` lists them.
COMMANDS = ("analyze", "gate", "profile", "export", "verify", "report", "compare", "sweep")


def plain(text: str | None) -> str | None:
    """A docstring as ``--help`` shows it: plain text, no reStructuredText markup."""
    if text is None:
        return None
    return re.sub(r":(?:func|class|mod|meth|data):`~?([^`]+)`", r"\1", text).replace("``", "")


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line plus where to look, instead of the usage dump.

    Subcommand parsers are made of this class too (``add_subparsers`` uses the parent's class).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["description"] = plain(kwargs.get("description"))
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        command = self.prog
        hint = "see `archcost --help`" if command == "archcost" else f"see `{command} --help`"
        self.exit(ExitCode.BAD_INPUT, f"{command}: {message} ({hint})\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="archcost",
        description="Static architecture analysis: exact MACs and parameters from YAML specs "
        "or ONNX models.",
    )
    parser.add_argument("--version", action="version", version=f"archcost {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"archcost.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    from archcost.errors import ArchcostError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return int(args.run(args))
    except ArchcostError as err:
        print(f"archcost: {err}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except KeyboardInterrupt:
        print("archcost: interrupted", file=sys.stderr)
        return 130
