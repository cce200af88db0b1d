"""``archcost gate``: fail when a model exceeds its MAC, parameter or memory budget.

Exit codes: 0 every budget holds; 1 a budget is exceeded; 2 bad input.
Budgets come from the flags, from a budget file (``--config``: YAML, or a
pyproject.toml with ``[tool.archcost.budgets]``; ``./pyproject.toml`` is read
when it has that table), or both (flags win).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcost.cli.common import (
    add_input_argument,
    add_jobs_argument,
    add_set_argument,
    add_value_argument,
    parse_inputs,
    parse_sets,
    parse_values,
    write,
)
from archcost.cli.counts import MAX_TOP, check_range, whole_number
from archcost.cli.output import add_screen_arguments, screen_from_args

if TYPE_CHECKING:
    from archcost.gate import Budgets


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "gate", help="check models against MAC, parameter and memory budgets (for CI)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help="zoo names, spec .yaml or .onnx files (default: every model in the budget file)")
    add_set_argument(parser, "set a spec parameter or bind an ONNX dimension for the named MODELs (repeatable)")
    add_input_argument(parser)
    add_value_argument(parser)
    budgets = parser.add_argument_group("budgets (SI or IEC suffixes: 600M, 1.2G, 17MB, 8MiB)")
    budgets.add_argument("--max-macs", metavar="N", help="multiply-accumulates (conv, Gemm, MatMul)")
    budgets.add_argument("--max-params", metavar="N", help="trainable parameters (weight + bias + norm)")
    budgets.add_argument("--max-weights-bytes", metavar="BYTES",
                         help="bytes of every initializer (weights, biases, norm, BN buffers)")
    budgets.add_argument("--max-peak-activation", metavar="BYTES",
                         help="peak live activation bytes (see --peak-order)")
    budgets.add_argument("--max-unknown-ops", metavar="N", help="nodes whose op has no cost rule")
    budgets.add_argument("--baseline", metavar="FILE", type=Path,
                         help="JSON from `archcost analyze --format json` to compare against")
    budgets.add_argument("--max-increase", metavar="PCT",
                         help="allowed growth over the baseline, e.g. 5%% (MACs, params, bytes)")
    budgets.add_argument("--peak-order", choices=("default", "best"), default=None,
                         help="gate the peak of the default order (default) or of the best order found")
    parser.add_argument("--config", metavar="FILE", type=Path,
                        help="budget file: YAML, or pyproject.toml with [tool.archcost.budgets]")
    parser.add_argument("--zoo", action="store_true",
                        help="gate every spec in the zoo (specs/), each with its entry or the defaults")
    parser.add_argument("--format", default="table", choices=("table", "text", "markdown", "json"),
                        help="output format (default table; text is the same)")
    parser.add_argument("-o", "--output", metavar="FILE", type=Path,
                        help="write the output to FILE instead of standard output")
    add_screen_arguments(parser)
    parser.add_argument("--junit", metavar="FILE", type=Path,
                        help="also write JUnit XML: one test suite per model, one test case per budget")
    parser.add_argument("--github", action="store_true",
                        help="print ::error:: annotations, and append a markdown summary to "
                             "$GITHUB_STEP_SUMMARY when it is set")
    parser.add_argument("--top", type=whole_number, default=5, metavar="N",
                        help="layers to name per exceeded budget (default 5)")
    add_jobs_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from archcost.errors import ArchcostError

    try:
        return _run(args)
    except ArchcostError as err:
        if args.github:
            from archcost.report.gate_outputs import annotation

            write(annotation("error", f"archcost: {err}", title="archcost gate: bad input"))
        raise


def _run(args: argparse.Namespace) -> int:
    import functools
    import os

    from archcost.budgets import find_budget_file, gate_model, plan
    from archcost.cli import ExitCode
    from archcost.cli.common import run_jobs
    from archcost.errors import UsageError
    from archcost.report import gate_outputs as outputs
    from archcost.report.output import write_output

    check_range("--top", args.top, 0, MAX_TOP)
    if args.github and args.format == "json" and args.output is None:
        raise UsageError("--github writes annotations to stdout; with --format json, "
                         "send the JSON to a file with --output")
    cli, sets = _cli_budgets(args), parse_sets(args.sets)
    targets = plan(args.models, cli, config=find_budget_file(args.config, Path.cwd()), sets=sets, zoo=args.zoo,
                   baseline=args.baseline, binds_inputs=bool(args.inputs or args.values))
    named = bool(args.models)
    from archcost.cli.progress import Progress

    with Progress("archcost gate") as step:
        step(f"0 of {len(targets)} model(s) gated")
        results = run_jobs(functools.partial(
            gate_model, input_shapes=parse_inputs(args.inputs) if named else None,
            input_values=parse_values(args.values) if named else None, top=args.top), targets, args.jobs,
            done=lambda n: step(f"{n} of {len(targets)} model(s) gated"))

    # Everything is known: only now write, so a bad input never leaves half the files.
    main_text = (outputs.render_json(results) if args.format == "json" else
                 outputs.render_markdown(results) if args.format == "markdown" else
                 outputs.render_text(results, screen_from_args(args)))
    if args.junit is not None:
        write_output(args.junit, outputs.render_junit(results))
    if args.github:
        write(outputs.render_annotations(results, {t.label: outputs.source_file(t.model) for t in targets}))
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:  # the job summary other steps also write to: appended, not replaced
            write_output(Path(summary), outputs.render_markdown(results), append=True)
    if args.output is not None:
        write_output(args.output, main_text)
    else:
        write(main_text)
    return ExitCode.OK if all(r.passed for r in results) else ExitCode.FAILED


def _cli_budgets(args: argparse.Namespace) -> Budgets:
    from archcost.gate import budgets_from_mapping

    flags = {
        "max-macs": args.max_macs, "max-params": args.max_params,
        "max-weights-bytes": args.max_weights_bytes, "max-peak-activation": args.max_peak_activation,
        "max-unknown-ops": args.max_unknown_ops, "max-increase": args.max_increase,
        "peak-order": args.peak_order,
    }
    return budgets_from_mapping({k: v for k, v in flags.items() if v is not None}, where="command line")
