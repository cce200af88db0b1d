"""Rich display in notebooks: short reprs, and ``_repr_html_``/``_repr_markdown_`` made of the
same tables the one renderer prints.

Jupyter (and any front end of the IPython display protocol) calls ``_repr_html_`` or
``_repr_markdown_`` on the last value of a cell. The HTML is a fragment (no page, no script, no
external URL): the tables' ``<section>`` elements from :func:`archcost.report.render.table_html_fragment`,
in a ``<div>`` with a small scoped style. :func:`archcost.analyze` returns a
:class:`NotebookReport`; :func:`archcost.compare` and :func:`archcost.sweep` return
:class:`TableResult`.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archcost.cost.result import Report
from archcost.report import render as renderer
from archcost.report.format import markdown_cell
from archcost.report.table import Table

#: Layers a notebook view lists (the costliest; the rest are one row).
NOTEBOOK_TOP = 10

_STYLE = """<style>
.archcost table { border-collapse: collapse; margin: 0.3rem 0 0.8rem; }
.archcost th, .archcost td { padding: 0.15rem 0.6rem; text-align: left; border-bottom: 1px solid #ddd; }
.archcost td.num { text-align: right; font-variant-numeric: tabular-nums; }
.archcost tfoot td { font-weight: 600; border-top: 2px solid #444; }
.archcost p.meta { margin: 0.1rem 0; color: #555; font-size: 0.9em; }
.archcost h2 { font-size: 1.05em; margin: 0.8rem 0 0.2rem; }
</style>"""


def html_fragment(tables: Sequence[Table], title: str = "") -> str:
    """Tables as one self-contained HTML fragment (scoped style, no script, no external URL)."""
    head = f"<h3>{html.escape(title)}</h3>" if title else ""
    body = "".join(renderer.table_html_fragment(t, anchor=False) for t in tables)
    return f'<div class="archcost">{_STYLE}{head}{body}</div>'


def markdown_text(tables: Sequence[Table], title: str = "") -> str:
    """Tables as markdown, each under its own heading."""
    head = f"### {markdown_cell(title)}\n\n" if title else ""
    return head + "\n".join(renderer.table_markdown(t, level=4) for t in tables)


def report_tables(report: Report, top: int | None = NOTEBOOK_TOP) -> list[Table]:
    """What a notebook shows of a report: its totals, where the cost goes, the costliest layers."""
    from archcost.report.analyze_view import layers_view_table, totals_table
    from archcost.report.layers import categories_table

    tables = [totals_table(report), categories_table(report)]
    if not report.is_symbolic:
        tables.append(layers_view_table(report, top))
    return tables


@dataclass(frozen=True, repr=False, eq=False)
class NotebookReport(Report):
    """A :class:`~archcost.cost.result.Report` that displays itself in a notebook."""

    def _repr_html_(self) -> str:
        return html_fragment(report_tables(self), f"{self.model} ({self.convention.name})")

    def _repr_markdown_(self) -> str:
        return markdown_text(report_tables(self), f"{self.model} ({self.convention.name})")


def for_notebook(report: Report) -> NotebookReport:
    """``report`` as a :class:`NotebookReport` (the same figures; nothing is recomputed)."""
    if isinstance(report, NotebookReport):
        return report
    fields = {f.name: getattr(report, f.name) for f in dataclasses.fields(Report) if f.init}
    return NotebookReport(**fields)


@dataclass(frozen=True)
class TableResult:
    """A comparison or a sweep: one table, shown as HTML or markdown in a notebook.

    ``table`` holds the raw figures (exact ints); :meth:`to_dict` is the JSON the command prints.
    """

    table: Table

    def __repr__(self) -> str:
        return f"<{self.table.title}: {len(self.table.rows)} rows; .table, .to_dict()>"

    def to_dict(self) -> dict[str, Any]:
        return renderer.table_dict(self.table)

    def _repr_html_(self) -> str:
        return html_fragment([self.table])

    def _repr_markdown_(self) -> str:
        return markdown_text([self.table])
