"""``archcost sweep``: exact MACs and params over an α × resolution grid, from one symbolic formula."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import add_set_argument, parse_sets
from archcost.cli.output import add_output_arguments, emit, screen_from_args


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("sweep", help="MACs and params over a grid of α and resolution",
                            description=__doc__ + " The model is analyzed once with the swept parameters "
                            "left free; the formula is compiled once and evaluated exactly at every point.")
    parser.add_argument("model", help="a zoo name or a spec .yaml")
    parser.add_argument("--alpha", metavar="START:STOP:STEP|A,B,...",
                        help="width multipliers, e.g. 0.25:1.0:0.25 (stop included) or 0.5,0.75,1")
    parser.add_argument("--resolution", metavar="START:STOP:STEP|R,S,...",
                        help="input resolutions, e.g. 128,160,192,224 or 96:320:32")
    add_set_argument(parser, "fix another spec parameter")
    add_output_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcost.cli import ExitCode
    from archcost.errors import UsageError
    from archcost.report.render import render_table
    from archcost.report.sweep import parse_axis, sweep, sweep_table

    axes = {}
    if args.alpha:
        axes["alpha"] = parse_axis(args.alpha, "alpha")
    if args.resolution:
        axes["resolution"] = parse_axis(args.resolution, "resolution")
    if not axes:
        raise UsageError("give --alpha and/or --resolution, e.g. --alpha 0.25:1.0:0.25 --resolution 128,160")
    fixed = parse_sets(args.sets)
    clash = sorted(set(fixed) & set(axes))
    if clash:
        raise UsageError(f"--set {', '.join(clash)}: that parameter is swept")
    from archcost.cli.progress import Progress

    with Progress("archcost sweep") as step:
        table = sweep_table(sweep(args.model, axes, fixed, progress=step))
    if args.format == "table":
        from archcost.report.terminal import table_screen

        emit(args, table_screen(table, screen_from_args(args)))
    else:
        emit(args, render_table(table, args.format))
    return ExitCode.OK
