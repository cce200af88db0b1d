"""``archcost profile``: run a model in onnxruntime and set measured time beside MACs and the roofline.

The model (a spec is exported first, with seeded random weights) runs with
profiling on: warm-up runs first, then ``--runs`` measured runs. Each kernel's
median time is mapped back to archcost's nodes and categories, and printed next
to each category's share of MACs and of the roofline's estimated time, with the
rank correlation between estimated and measured time per kernel.
``--calibrate`` fits the device's peak and bandwidth to the run and writes a
device file that ``--device-file`` loads next time.
"""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import add_model_arguments, parse_inputs, parse_sets, parse_values
from archcost.cli.counts import MAX_SEED, check_range, whole_number
from archcost.cli.device import add_device_arguments, device_from_args
from archcost.cli.output import add_output_arguments, emit


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("profile", help="measured time in onnxruntime vs MACs and the roofline",
                            description=__doc__)
    # Not add_model_arguments: the comparison is in MACs, so there is no --convention.
    add_model_arguments(parser, convention=False)
    parser.add_argument("--runs", type=whole_number, default=20, help="measured runs (default 20)")
    parser.add_argument("--warmup", type=whole_number, default=5,
                        help="warm-up runs, run first and left out (default 5)")
    parser.add_argument("--threads", type=whole_number, default=0,
                        help="onnxruntime intra-op threads (default 0: onnxruntime's choice)")
    parser.add_argument("--optimization", default="all", choices=("all", "extended", "basic", "none"),
                        help="onnxruntime graph optimization level (default all; none runs every "
                             "node as its own kernel)")
    parser.add_argument("--seed", type=whole_number, default=0, help="seed for the weights and the input")
    add_output_arguments(parser, ("table", "markdown", "csv", "json"), screen=False)
    parser.add_argument("--table", default="categories", choices=("categories", "kernels"),
                        help="which table --format csv prints (default categories)")
    parser.add_argument("--plot", metavar="PATH",
                        help="also draw MAC share next to time share per category (needs matplotlib)")
    parser.add_argument("--keep-profile", metavar="PATH",
                        help="keep onnxruntime's raw profile JSON at PATH")
    parser.add_argument("--from-profile", metavar="PATH",
                        help="aggregate an existing onnxruntime profile of this model instead of "
                             "running it (--warmup still drops its first runs)")
    add_device_arguments(parser)
    parser.add_argument("--calibrate", action="store_true",
                        help="fit peak and bandwidth to the measured run and write a device file")
    parser.add_argument("--calibrate-out", metavar="PATH", default="archcost-device.yaml",
                        help="where --calibrate writes the device file (default archcost-device.yaml)")
    parser.add_argument("--device-name", default="calibrated",
                        help="name of the calibrated device in that file (default calibrated)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from archcost.cli import ExitCode
    from archcost.cost.roofline import DEFAULT_DEVICE
    from archcost.report import profile as output
    from archcost.runtime import profile as prof
    from archcost.runtime.trace import load_profile

    device = device_from_args(args, default=DEFAULT_DEVICE)
    params = parse_sets(args.sets)
    prof.check_counts(args.runs, args.warmup)
    check_range("--seed", args.seed, 0, MAX_SEED)
    settings: dict[str, Any]
    if args.from_profile:
        from archcost.cost.pipeline import analyze_model

        report = analyze_model(args.model, params=params, input_shapes=parse_inputs(args.inputs),
                               input_values=parse_values(args.values))
        runs = load_profile(Path(args.from_profile), args.from_profile)
        settings = {"source": args.from_profile}
    else:
        from archcost.cli.progress import Progress

        with Progress("archcost profile") as step:
            step(f"exporting {args.model}")
            prepared = prof.prepare(args.model, params, args.seed, parse_inputs(args.inputs), parse_values(args.values))
            step(f"{args.warmup} warm-up and {args.runs} measured runs in onnxruntime")
            runs, settings = _run(prepared, args)
        report = prepared.report
    result = prof.aggregate(report, device, runs, warmup=args.warmup, settings=settings)
    if args.calibrate:
        result = _calibrate(args, result, settings)
    if args.plot:
        output.plot(result, Path(args.plot))
    emit(args, output.render(result, args.format, table=args.table))
    return ExitCode.OK


def _run(prepared: Any, args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """Run the prepared model in onnxruntime; keep its raw profile where --keep-profile says."""
    import tempfile
    from pathlib import Path

    from archcost.report.output import write_output
    from archcost.runtime.profile import run_onnxruntime

    with tempfile.TemporaryDirectory(prefix="archcost-profile-") as workdir:
        runs, raw, settings = run_onnxruntime(prepared, runs=args.runs, warmup=args.warmup, threads=args.threads,
                                              optimization=args.optimization, workdir=Path(workdir), where=args.model)
        if args.keep_profile:
            write_output(Path(args.keep_profile), raw.read_text(encoding="utf-8"))
    return runs, settings


def _calibrate(args: argparse.Namespace, result: Any, settings: dict[str, Any]) -> Any:
    """Fit a device to the run, write its device file, and return the result with the fit."""
    import dataclasses
    import datetime
    import platform
    from pathlib import Path

    from archcost.report.output import write_output
    from archcost.runtime.calibrate import calibrate, device_file_text

    when = datetime.date.today().isoformat()
    source = (f"calibrated by `archcost profile {args.model} --calibrate` on "
              f"{platform.machine()} {platform.processor() or platform.system()}, {when}")
    calibration = calibrate(result.mapped, args.device_name, source)
    details = {"model": result.model, "date": when, **settings, "warmup": args.warmup, "runs": result.runs}
    write_output(Path(args.calibrate_out), device_file_text(calibration, details))
    return dataclasses.replace(result, calibration=calibration)
