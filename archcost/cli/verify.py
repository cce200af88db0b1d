"""``archcost verify``: run a model on a random input and check every shape, the MACs and the
parameters against the static analysis. Exit code 1 on any mismatch."""

from __future__ import annotations

import argparse
from typing import Any

from archcost.cli.common import add_model_arguments, parse_inputs, parse_sets, parse_values, write

#: Mismatched tensors listed before the rest are summarized.
SHOWN_MISMATCHES = 10


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("verify", help="run a model and compare with the static analysis",
                            description=__doc__)
    add_model_arguments(parser, convention=False)
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and input (default 0)")
    parser.add_argument("--backend", default="auto", choices=("auto", "onnxruntime", "reference"),
                        help="auto: onnxruntime when installed, else onnx.reference")
    parser.set_defaults(run=run)


def render(result: Any) -> str:
    """The verification as a short table, then any mismatches."""
    from tabulate import tabulate

    from archcost.report.format import exact

    tensors = result.tensors
    bad = result.mismatched
    rows = [["tensor shapes and dtypes", f"{len(tensors)} inferred", f"{len(tensors) - len(bad)} match",
             "ok" if not bad else "MISMATCH"]]
    rows += [[c.what, exact(c.static), exact(c.recomputed), "ok" if c.ok else "MISMATCH"]
             for c in result.counts]
    lines = [f"verify {result.model} (ran in {result.backend}, seed {result.seed})", "",
             tabulate(rows, headers=["check", "static", "observed", "status"], tablefmt="simple",
                      disable_numparse=True), ""]
    for t in bad[:SHOWN_MISMATCHES]:
        inferred = "not inferred" if t.inferred is None else f"{list(t.inferred)} {t.inferred_dtype}"
        lines.append(f"  tensor {t.name!r}: inferred {inferred}, observed {list(t.observed)} {t.observed_dtype}")
    if len(bad) > SHOWN_MISMATCHES:
        lines.append(f"  ... and {len(bad) - SHOWN_MISMATCHES} more mismatched tensors")
    lines += [f"  {p}" for p in result.problems]
    lines.append("verified: what ran is what was inferred" if result.ok else "verification FAILED")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from archcost.cli import ExitCode
    from archcost.runtime.verify import verify

    result = verify(args.model, params=parse_sets(args.sets), seed=args.seed, backend=args.backend,
                    input_shapes=parse_inputs(args.inputs), input_values=parse_values(args.values))
    write(render(result))
    return ExitCode.OK if result.ok else ExitCode.FAILED
