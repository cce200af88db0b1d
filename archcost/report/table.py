"""The table model shared by every report: statistics in, renderers out.

Builders (:mod:`archcost.report.paper`, :mod:`archcost.report.compare`,
:mod:`archcost.report.sweep`) return :class:`Table` objects whose cells hold raw
values: ``int`` counts, exact ``Fraction`` shares, cited figures as printed
strings, SymPy formulas. Renderers (:mod:`archcost.report.render`) decide how a
cell looks in each format, from the column's :class:`Kind`.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class Kind(str, enum.Enum):
    """How a column's cells are rendered."""

    #: Plain text (a name, a cited figure as printed, a status).
    TEXT = "text"
    #: An exact count: separators in human formats, a bare integer in CSV and JSON.
    EXACT = "exact"
    #: A count shown humanized (569M) in human formats, exact in CSV and JSON.
    COUNT = "count"
    #: An exact ``Fraction`` in percent, printed with the column's ``digits``.
    PERCENT = "percent"
    #: A SymPy expression.
    FORMULA = "formula"
    #: An identifier (a budget name, a flag), set as code where the format has it.
    CODE = "code"
    #: A measured or estimated real number (a time, a ratio), printed with ``digits`` decimals
    #: and the column's ``unit``, in every format.
    DECIMAL = "decimal"
    #: A real number printed with ``digits`` significant digits, in every format.
    SIGNIFICANT = "significant"


@dataclass(frozen=True)
class Column:
    """One column: a stable key (CSV/JSON), a title (human formats) and a kind."""

    key: str
    title: str
    kind: Kind = Kind.TEXT
    digits: int = 2
    #: Cited data (figures copied from a source), marked as such in every format.
    cited: bool = False
    #: Written after a ``DECIMAL`` cell (``" %"``).
    unit: str = ""
    #: The key of a column holding each row's depth in a tree: human formats indent this
    #: column's text by that many levels (machine formats keep the text as it is).
    depth_from: str = ""
    #: ``left`` or ``right`` in terminal text; empty: numbers (counts, shares, decimals) right.
    align: str = ""


#: Status words a comparison row carries.
OK = "ok"
FLAGGED = "FLAGGED"
NO_SPEC = "no spec yet"


@dataclass(frozen=True)
class Table:
    """A titled table with its convention, source and notes in words."""

    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    #: Which counting convention produced the computed figures.
    convention: str
    #: Where the cited figures come from (empty when nothing is cited).
    source: str = ""
    #: A totals row (same columns), which the body rows sum to.
    total: tuple[Any, ...] | None = None
    #: Sentences for readers: every flagged row is explained here.
    notes: tuple[str, ...] = ()
    #: Keys of count columns whose rows sum to ``total`` (tests check it).
    summed: tuple[str, ...] = field(default=())

    def column(self, key: str) -> int:
        """Index of the column called ``key``."""
        for i, c in enumerate(self.columns):
            if c.key == key:
                return i
        raise KeyError(key)

    def values(self, key: str) -> list[Any]:
        """Every body cell of column ``key``."""
        i = self.column(key)
        return [row[i] for row in self.rows]


def make_table(
    key: str,
    title: str,
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    convention: str,
    source: str = "",
    total: Sequence[Any] | None = None,
    notes: Sequence[str] = (),
    summed: Sequence[str] = (),
) -> Table:
    """Build a :class:`Table`, checking every row has one cell per column."""
    width = len(columns)
    for row in [*rows, *([total] if total is not None else [])]:
        if len(row) != width:
            raise ValueError(f"table {key!r}: a row has {len(row)} cells for {width} columns")
    return Table(
        key=key, title=title, columns=tuple(columns), rows=tuple(tuple(r) for r in rows),
        convention=convention, source=source,
        total=tuple(total) if total is not None else None, notes=tuple(notes), summed=tuple(summed),
    )


@dataclass(frozen=True)
class Figure:
    """A rendered plot: its file stem, caption and bytes per format (``png``, ``svg``)."""

    key: str
    caption: str
    data: dict[str, bytes]
    #: SVG that archcost draws itself (:mod:`archcost.report.cost_figure`), not matplotlib:
    #: HTML sets its markup in the page (so its tooltips work), and its bytes do not depend on
    #: the installed matplotlib.
    inline: bool = False


@dataclass(frozen=True)
class Document:
    """A whole report: an introduction, tables in order, and figures."""

    title: str
    intro: tuple[str, ...]
    tables: tuple[Table, ...]
    figures: tuple[Figure, ...] = ()
    #: Why figures are missing, when some are (matplotlib is not installed, the counts are symbolic).
    figures_note: str = ""
