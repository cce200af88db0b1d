"""``archcost analyze``: per-layer costs, totals, categories and unknown ops for one model."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import add_model_arguments, parse_inputs_and_dtypes, parse_sets, parse_values
from archcost.cli.counts import MAX_DEPTH, MAX_TOP, check_range, whole_number
from archcost.cli.output import add_output_arguments, emit, screen_from_args


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("analyze", help="cost one model layer by layer",
                            description=__doc__)
    add_model_arguments(parser)
    add_output_arguments(parser, ("table", "markdown", "csv", "json"))
    parser.add_argument("--top", type=whole_number, default=10, metavar="N",
                        help="the table view lists the N layers with the most MACs (default 10)")
    parser.add_argument("--layers", choices=("top", "all"), default="top",
                        help="all: list every layer, in graph order, instead of the top N")
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
    from archcost.cli.device import add_device_arguments

    add_device_arguments(parser)
    parser.set_defaults(run=run)


def _depth(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 4 and int(text) <= MAX_DEPTH):
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {MAX_DEPTH:,}, got {text!r}")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from archcost.api import analyze
    from archcost.cli import ExitCode
    from archcost.report.analysis import render

    check_range("--top", args.top, 0, MAX_TOP)
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

        emit(args, render_reconciliation(report, args.format))
        return ExitCode.OK
    from archcost.cli.device import device_from_args

    device = device_from_args(args)
    estimate = None
    if device is not None:
        from archcost.cost.roofline import roofline

        estimate = roofline(report, device)
    emit(args, render(report, args.format, estimate, by=args.by, depth=args.depth, screen=screen_from_args(args),
                      top=None if args.layers == "all" else args.top))
    if args.strict and (report.unknown or report.uncosted):
        return ExitCode.FAILED
    return ExitCode.OK
