"""Output options every command shares: ``--format``, ``-o/--output``, ``--width``, and where text goes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from archcost.cli.common import write

#: ``--format`` choices: each command offers those of these that make sense for it, by these names.
TABLE_FORMATS = ("table", "markdown", "csv", "json", "latex", "html")


def add_output_arguments(parser: argparse.ArgumentParser, formats: Sequence[str] = TABLE_FORMATS, *,
                         default: str = "table", screen: bool = True) -> None:
    """``--format``, ``-o/--output FILE`` and (for the table view) ``--width``: the same on every command."""
    parser.add_argument("--format", default=default, choices=tuple(formats),
                        help=f"output format (default {default})")
    parser.add_argument("-o", "--output", metavar="FILE", default=None,
                        help="write the output to FILE instead of standard output")
    if screen:
        add_screen_arguments(parser)


def emit(args: argparse.Namespace, text: str) -> None:
    """The command's output: to ``--output`` when given (written whole), else to standard output."""
    output = getattr(args, "output", None)
    if output is None:
        write(text)
        return
    from pathlib import Path

    from archcost.report.output import write_output

    write_output(Path(output), text)


#: Widest ``--width``: wider than any screen, and small enough that a layout stays cheap.
MAX_WIDTH = 10_000


def add_screen_arguments(parser: argparse.ArgumentParser) -> None:
    """``--width N``: the terminal view's width, read with :func:`screen_from_args`."""
    parser.add_argument("--width", type=_width, default=None, metavar="N",
                        help="lay the table view out for N columns (default: the terminal's width, or "
                        "COLUMNS, else 100)")


def _width(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 5) or not 1 <= int(text) <= MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"expected a whole number of columns from 1 to {MAX_WIDTH:,}, got {text!r}")
    return int(text)


def screen_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~archcost.report.terminal.Screen` standard output is: ``--width`` or the
    terminal's columns; colour only on a terminal, and never when ``NO_COLOR`` is set."""
    import os
    import shutil

    from archcost.report.terminal import DEFAULT_WIDTH, screen_for

    columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    tty = sys.stdout.isatty() and getattr(args, "output", None) is None
    return screen_for(getattr(args, "width", None), columns, tty=tty, no_color=bool(os.environ.get("NO_COLOR")))
