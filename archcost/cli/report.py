"""``archcost report``: the MobileNet paper reproduction, or a report for any model, in every format."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import write

_FORMATS = ("table", "markdown", "csv", "json", "latex", "html")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "report", help="write reports (default: the MobileNet paper's tables, reproduced)",
        description=__doc__ + " With no model, writes OUT/mobilenet_v1/ (every table in every format, "
        "plus plots when matplotlib is installed). With --format, prints to standard output instead.",
    )
    parser.add_argument("models", nargs="*", metavar="NAME_OR_PATH",
                        help="zoo names or spec/ONNX paths, each optionally NAME:alpha=0.5,resolution=160 "
                        "(default: the MobileNet paper reproduction)")
    parser.add_argument("--out", default="reports", help="output directory (default: reports)")
    parser.add_argument("--format", choices=_FORMATS,
                        help="print the report in this format to standard output instead of writing files")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="with --format: write the report to FILE instead of standard output")
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary directory and exit 1 if OUT differs")
    parser.add_argument("--no-plots", action="store_true", help="do not draw plots")
    from archcost.cli.common import add_input_argument, add_value_argument

    add_input_argument(parser)
    add_value_argument(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from pathlib import Path

    from archcost.cli import ExitCode
    from archcost.errors import UsageError
    from archcost.report.build import model_document, paper_document
    from archcost.report.compare import parse_model_ref
    from archcost.report.output import check_files, report_files, write_files
    from archcost.report.plots import INSTALL_HINT, matplotlib_version
    from archcost.report.render import render_document

    if args.check and args.format:
        raise UsageError("--check compares the report directory; it cannot be combined with --format")
    if args.output and not args.format:
        raise UsageError("-o/--output writes one format to one file: add --format (e.g. --format html); "
                         "without it, the report directory is written under --out")
    draw = not args.no_plots and args.format in (None, "html")
    installed = matplotlib_version()
    documents = []
    if not args.models:
        documents.append(("mobilenet_v1", paper_document(figures=draw)))
    from archcost.cli.common import parse_inputs, parse_values

    shapes, values = parse_inputs(args.inputs), parse_values(args.values)
    if (shapes or values) and not args.models:
        raise UsageError("--input and --value bind the graph inputs of the ONNX models named")
    for text in args.models:
        ref = parse_model_ref(text)
        name = Path(ref.model).stem + ("_" + "_".join(f"{k}{v}" for k, v in ref.settings.items())
                                       if ref.settings else "")
        documents.append((name, model_document(ref.model, ref.settings, figures=draw, input_shapes=shapes,
                                               input_values=values)))

    if args.format:
        from archcost.cli.output import emit

        emit(args, "\n".join(render_document(doc, args.format) for _, doc in documents))
        return ExitCode.OK

    out = Path(args.out)
    failed = False
    for name, doc in documents:
        figures_by = installed if any(f.data and not f.inline for f in doc.figures) else None
        files = report_files(doc, figures_by)
        target = out / name
        if args.check:
            result = check_files(target, files, figures_by)
            if result.figures_skipped:
                print(f"archcost report --check: {result.figures_skipped}", file=sys.stderr)
            for line in result.differences:
                print(f"{target}: {line}", file=sys.stderr)
            if result.differences:
                failed = True
                print(f"{target} is out of date: run `archcost report` to regenerate it", file=sys.stderr)
            else:
                write(f"{target}: up to date\n")
            continue
        changed = write_files(target, files, keep_figures=figures_by is None, root=out)
        write(f"{target}: {len(files)} files, {len(changed)} changed\n")
    if draw and installed is None and not args.check:  # --check writes nothing; it said what it skipped
        print(f"archcost report: tables written without plots; {INSTALL_HINT}", file=sys.stderr)
    return ExitCode.FAILED if failed else ExitCode.OK
