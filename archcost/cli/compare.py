"""``archcost compare``: MACs, params, peak activation memory and MAC shares of several models."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import (
    add_input_argument,
    add_jobs_argument,
    add_set_argument,
    add_value_argument,
    parse_inputs,
    parse_sets,
    parse_values,
)
from archcost.cli.output import add_output_arguments, emit, screen_from_args


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("compare", help="compare several models side by side", description=__doc__)
    parser.add_argument("models", nargs="+", metavar="MODEL[:NAME=VALUE,...]",
                        help="zoo names, spec or ONNX paths; per-model parameters after a colon, "
                        "e.g. mobilenet_v1:alpha=0.5,resolution=160")
    add_set_argument(parser, "a parameter for every model that declares it (per-model values win)")
    add_input_argument(parser)
    add_value_argument(parser)
    parser.add_argument("--convention", default="paper", choices=("paper", "flops"),
                        help="counting convention (default: paper)")
    parser.add_argument("--sort", default="input",
                        choices=("input", "name", "macs", "params", "weights", "peak_activation"),
                        help="sort rows ascending by this column (default: command-line order)")
    add_output_arguments(parser)
    add_jobs_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import functools

    from archcost.cli import ExitCode
    from archcost.cli.common import run_jobs
    from archcost.report import compare
    from archcost.report.render import render_table
    from archcost.report.terminal import table_screen

    common = parse_sets(args.sets)
    refs = [compare.parse_model_ref(m) for m in args.models]
    job = functools.partial(compare.measure, convention=args.convention, common=common,
                            input_shapes=parse_inputs(args.inputs), input_values=parse_values(args.values))
    entries = run_jobs(job, refs, args.jobs)
    table = compare.entries_table(entries, sort=args.sort, notes=compare.settings_notes(entries, common))
    if args.format == "table":
        text = table_screen(table, screen_from_args(args), drop=compare.TERMINAL_DROP, cut="model",
                            titles=compare.TERMINAL_TITLES)
    else:
        text = render_table(table, args.format)
    emit(args, text)
    return ExitCode.OK
