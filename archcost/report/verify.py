"""``archcost verify``'s output: each check, static against observed, then any mismatches."""

from __future__ import annotations

from typing import Any

from archcost.report import escape
from archcost.report import render as renderer
from archcost.report.table import Column, Kind, make_table
from archcost.runtime.verify import Verification

#: Mismatched tensors listed before the rest are summarized.
SHOWN_MISMATCHES = 10


def render(result: Verification) -> str:
    """The verification as a short table, then any mismatches, then the verdict."""
    tensors = result.tensors
    bad = result.mismatched
    rows: list[list[Any]] = [["tensor shapes and dtypes", f"{len(tensors)} inferred",
                              f"{len(tensors) - len(bad)} match", "ok" if not bad else "MISMATCH"]]
    rows += [[c.what, c.static, c.recomputed, "ok" if c.ok else "MISMATCH"] for c in result.counts]
    columns = (Column("check", "check"), Column("static", "static", Kind.EXACT),
               Column("observed", "observed", Kind.EXACT), Column("status", "status"))
    table = make_table("verify", f"verify {result.model}", columns, rows, convention="paper")
    name = escape.terminal  # text from the input: the model's and its tensors' names
    lines = [f"verify {name(result.model)} (ran in {result.backend}, seed {result.seed})", "",
             renderer.grid(table, "simple"), ""]
    for t in bad[:SHOWN_MISMATCHES]:
        inferred = "not inferred" if t.inferred is None else f"{list(t.inferred)} {t.inferred_dtype}"
        lines.append(f"  tensor {name(repr(t.name))}: inferred {inferred}, observed {list(t.observed)} "
                     f"{t.observed_dtype}")
    if len(bad) > SHOWN_MISMATCHES:
        lines.append(f"  ... and {len(bad) - SHOWN_MISMATCHES} more mismatched tensors")
    lines += [f"  {name(p)}" for p in result.problems]
    lines.append("verified: what ran is what was inferred" if result.ok else "verification FAILED")
    return "\n".join(lines) + "\n"
