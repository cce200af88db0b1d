"""``archcost export``: write a spec (or any model) as a runnable ONNX file with seeded random weights."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import (
    add_input_argument,
    add_set_argument,
    add_value_argument,
    parse_inputs,
    parse_sets,
    parse_values,
    write,
)
from archcost.cli.counts import MAX_SEED, check_range, whole_number


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("export", help="write a model as runnable ONNX with random weights",
                            description=__doc__)
    parser.add_argument("model", help="a zoo name (mobilenet_v1), a spec .yaml or an .onnx file")
    parser.add_argument("-o", "--output", required=True, metavar="FILE", help="the .onnx file to write")
    add_set_argument(parser)
    add_input_argument(parser)
    add_value_argument(parser)
    parser.add_argument("--seed", type=whole_number, default=0, help="seed for the random weights (default 0)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from archcost.cli import ExitCode
    from archcost.runtime.export import export_model

    check_range("--seed", args.seed, 0, MAX_SEED)
    out = export_model(args.model, Path(args.output), params=parse_sets(args.sets), seed=args.seed,
                       input_shapes=parse_inputs(args.inputs), input_values=parse_values(args.values))
    write(f"wrote {out}\n")
    return ExitCode.OK
