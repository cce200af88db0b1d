"""``archcost compare``: MACs, params, peak activation memory and MAC shares of several models."""

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
    parser.add_argument("--format", default="table",
                        choices=("table", "markdown", "csv", "json", "latex", "html"))
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcost.api import analyze
    from archcost.cli import ExitCode
    from archcost.report.compare import compare_table, parse_model_ref
    from archcost.report.render import render_table

    common = parse_sets(args.sets)
    refs = [parse_model_ref(m) for m in args.models]
    reports = []
    for ref in refs:
        params = {**_declared(ref.model, common), **ref.settings}
        onnx = _is_onnx(ref.model)
        reports.append(analyze(ref.model, convention=args.convention, params=params,
                               input_shapes=parse_inputs(args.inputs) if onnx else None,
                               input_values=parse_values(args.values) if onnx else None))
    write(render_table(compare_table(refs, reports, sort=args.sort), args.format))
    return ExitCode.OK


def _declared(model: str, common: dict[str, str]) -> dict[str, str]:
    """The ``--set`` values a spec declares (ONNX models get them all, as dimension bindings)."""
    if not common:
        return {}
    from archcost.frontends.loader import open_model

    spec = open_model(model).spec
    if spec is None:
        return dict(common)
    return {k: v for k, v in common.items() if k in spec.params}


def _is_onnx(model: str) -> bool:
    from archcost.frontends.loader import open_model

    return open_model(model).format == "onnx"
