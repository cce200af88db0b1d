"""``archcost verify``: run a model on a random input and check every shape, the MACs and the
parameters against the static analysis. Exit code 1 on any mismatch."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import add_model_arguments, parse_inputs, parse_sets, parse_values
from archcost.cli.counts import MAX_SEED, check_range, whole_number
from archcost.cli.output import add_output_arguments, emit


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("verify", help="run a model and compare with the static analysis",
                            description=__doc__)
    add_model_arguments(parser, convention=False)
    parser.add_argument("--seed", type=whole_number, default=0, help="seed for weights and input (default 0)")
    parser.add_argument("--backend", default="auto", choices=("auto", "onnxruntime", "reference", "litert"),
                        help="auto: onnxruntime when installed, else onnx.reference; a TFLite model runs in "
                             "LiteRT (pip install 'archcost[litert]')")
    add_output_arguments(parser, ("table", "markdown", "json"), screen=False)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcost.cli import ExitCode
    from archcost.cli.progress import Progress
    from archcost.report.verify import render
    from archcost.runtime.verify import verify

    check_range("--seed", args.seed, 0, MAX_SEED)
    with Progress("archcost verify") as step:
        result = verify(args.model, params=parse_sets(args.sets), seed=args.seed, backend=args.backend,
                        input_shapes=parse_inputs(args.inputs), input_values=parse_values(args.values),
                        progress=step)
    emit(args, render(result, args.format))
    return ExitCode.OK if result.ok else ExitCode.FAILED
