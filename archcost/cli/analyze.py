"""``archcost analyze``: per-layer costs, totals, categories and unknown ops for one model."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import add_model_arguments, parse_inputs_and_dtypes, parse_sets, parse_values, write
from archcost.cli.counts import MAX_DEPTH


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("analyze", help="cost one model layer by layer",
                            description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--format", default="table", choices=("table", "markdown", "csv", "json"))
    parser.add_argument("--by", default="layer", choices=("layer", "module"),
                        help="break the cost down node by node (default) or by module, as a tree: "
                        "the exporter's module scopes, '/'-separated node names, or a spec's blocks")
    parser.add_argument("--depth", type=_depth, default=3, metavar="N",
                        help="with --by module: levels of the module tree shown (default 3; 0 is the "
                        "whole model)")
    parser.add_argument("--reconcile", action="store_true",
                        help="instead of the costs, show the terms that take the paper MACs to each peer "
                        "tool's total (fvcore, thop, ptflops), each with its share; they sum exactly")
    parser.add_argument("--symbolic", action="store_true",
                        help="leave α (alpha) and the resolution free: print formulas")
    parser.add_argument("--symbol", action="append", default=[], metavar="NAME",
                        help="leave this parameter free (repeatable; implies --symbolic)")
    parser.add_argument("--continuous", action="store_true",
                        help="with --symbolic: drop rounding, giving the paper's α², ρ² form")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when any op has no cost rule")
    parser.add_argument("--reader", default="wire", choices=("wire", "onnx"),
                        help="how an ONNX file is read: wire = structure only, straight from the "
                        "protobuf bytes (default); onnx = onnx.load, the reference")
    parser.add_argument("--branch", choices=("then", "else"), default=None,
                        help="cost every If node by this branch (default: the larger one)")
    from archcost.cli.profile import add_device_arguments

    add_device_arguments(parser)
    parser.set_defaults(run=run)


def _depth(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and int(text) <= MAX_DEPTH):
        raise argparse.ArgumentTypeError(f"--depth must be a whole number from 0 to {MAX_DEPTH:,}, got {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from archcost.api import analyze
    from archcost.cli import ExitCode
    from archcost.report.analysis import render

    symbols: tuple[str, ...] | None = ()
    if args.symbol:
        symbols = tuple(args.symbol)
    elif args.symbolic or args.continuous:
        symbols = None
    shapes, dtypes = parse_inputs_and_dtypes(args.inputs)
    report = analyze(args.model, convention=args.convention, symbols=symbols,
                     continuous=args.continuous, params=parse_sets(args.sets), reader=args.reader,
                     branch=args.branch, input_shapes=shapes, input_values=parse_values(args.values),
                     input_dtypes=dtypes)
    if args.reconcile:
        from archcost.report.analysis import render_reconciliation

        write(render_reconciliation(report, args.format))
        return ExitCode.OK
    from archcost.cli.profile import device_from_args

    device = device_from_args(args)
    if device is not None:
        from archcost.cost.roofline import roofline

        write(render(report, args.format, roofline(report, device), by=args.by, depth=args.depth))
    else:
        write(render(report, args.format, by=args.by, depth=args.depth))
    if args.strict and (report.unknown or report.uncosted):
        return ExitCode.FAILED
    return ExitCode.OK
