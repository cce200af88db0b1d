"""Text for a terminal that fits its width: tables cut to size, lines wrapped, colour on request.

torchinfo and fvcore print a compact, aligned table with the totals in a summary; a table
wider than the terminal wraps every row into two lines and is unreadable. Nothing is laid out
here: every table still goes through the one renderer (:func:`archcost.report.render.grid`).
This module only chooses which columns a width has room for and shortens the one text column
that may be shortened, measuring what the renderer produced, until every line fits.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from archcost.report import render as renderer
from archcost.report.table import Table

#: The width when nothing says otherwise (output to a pipe or a file, no ``COLUMNS``).
DEFAULT_WIDTH = 100
#: Below this a table cannot be laid out usefully; narrower requests get this width.
MIN_WIDTH = 40
#: A cut cell keeps at least this many characters (with the ``…``).
MIN_CELL = 8
#: SGR codes: bold, red, green, dim.
_SGR = {"bold": "1", "red": "31", "green": "32", "dim": "2"}


@dataclass(frozen=True)
class Screen:
    """Where terminal text goes: its width in columns, and whether it may carry colour."""

    width: int = DEFAULT_WIDTH
    color: bool = False

    def paint(self, text: str, style: str) -> str:
        """``text`` in ``style`` (bold, red, green, dim) when colour is on; as it is otherwise."""
        if not self.color or not text:
            return text
        return f"\x1b[{_SGR[style]}m{text}\x1b[0m"

    def wrap(self, text: str, indent: str = "  ") -> list[str]:
        """``text`` wrapped to the width, continuation lines indented by ``indent``; a figure and
        its ``%`` stay on one line."""
        kept = text.replace(" %", "\u00a0%")  # textwrap breaks at ASCII whitespace only
        lines = textwrap.wrap(kept, self.width, subsequent_indent=indent, break_on_hyphens=False) or [""]
        return [line.replace("\u00a0%", " %") for line in lines]


def screen_for(width: int | None, terminal_columns: int, *, tty: bool, no_color: bool) -> Screen:
    """The screen a command writes to: ``width`` when asked for, else the terminal's columns
    (``shutil.get_terminal_size``, which reads ``COLUMNS`` first); colour only on a terminal and
    only when ``NO_COLOR`` is unset (https://no-color.org)."""
    chosen = width if width is not None else terminal_columns
    return Screen(max(MIN_WIDTH, chosen), color=tty and not no_color)


def text_width(text: str) -> int:
    """The widest line of ``text``."""
    return max((len(line) for line in text.splitlines()), default=0)


@dataclass(frozen=True)
class Fitted:
    """A table cut to a width: what is left, and the titles of the columns left out."""

    table: Table
    dropped: tuple[str, ...]
    #: The width the whole table needs (every column, no cell cut).
    full_width: int
    #: Whether cells of the shortened column were cut.
    cut: bool = False

    def text(self) -> str:
        return renderer.grid(self.table, "simple")

    def note(self) -> str:
        """What the width left out, and how to see it; empty when nothing was."""
        if not self.dropped and not self.cut:
            return ""
        parts = []
        if self.dropped:
            parts.append("columns left out at this width: " + ", ".join(self.dropped))
        if self.cut:
            parts.append("long names shortened with …")
        return "; ".join(parts) + f" (--width {self.full_width} shows everything)"


def without(table: Table, key: str) -> Table:
    """``table`` without column ``key``."""
    index = table.column(key)

    def cut(row: tuple[object, ...]) -> tuple[object, ...]:
        return row[:index] + row[index + 1:]

    return dataclasses.replace(
        table, columns=cut(table.columns),  # type: ignore[arg-type]
        rows=tuple(cut(r) for r in table.rows), total=cut(table.total) if table.total is not None else None,
        summed=tuple(k for k in table.summed if k != key))


def retitle(table: Table, titles: dict[str, str]) -> Table:
    """``table`` with some column titles replaced (e.g. split over two lines for a terminal)."""
    columns = tuple(dataclasses.replace(c, title=titles.get(c.key, c.title)) for c in table.columns)
    return dataclasses.replace(table, columns=columns)


def shorten(text: str, width: int, keep: str = "end") -> str:
    """``text`` cut to ``width`` characters, keeping its end (a layer's own name is last) or,
    with ``keep="start"``, its start."""
    if len(text) <= width:
        return text
    if keep == "start":
        return text[:width - 1] + "…"
    return "…" + text[len(text) - width + 1:]


def fit(table: Table, width: int, *, drop: Sequence[str] = (), cut: str | None = None, keep: str = "end",
        style: str = "simple") -> Fitted:
    """``table`` made to fit ``width``: columns in ``drop`` are left out, in that order, while the
    table is too wide; then the text cells of column ``cut`` are shortened (down to
    :data:`MIN_CELL`; ``keep`` says which end stays). The result may still be wider when nothing
    more can go. ``style``: the renderer's style the table will be shown in."""
    def measure(t: Table) -> int:
        return text_width(renderer.grid(t, style))

    full = measure(table)
    current, dropped = table, []
    present = {c.key for c in table.columns}
    for key in (k for k in drop if k in present):
        if measure(current) <= width:
            break
        dropped.append(current.columns[current.column(key)].title.replace("\n", " "))
        current = without(current, key)
    over = measure(current) - width
    was_cut = False
    if over > 0 and cut is not None:
        index = current.column(cut)
        cells = [row[index] for row in (*current.rows, *([current.total] if current.total else []))]
        longest = max((len(c) for c in cells if isinstance(c, str)), default=0)
        target = max(MIN_CELL, longest - over, len(current.columns[index].title))
        if target < longest:
            was_cut = True

            def short(row: tuple[object, ...]) -> tuple[object, ...]:
                value = row[index]
                return (*row[:index], shorten(value, target, keep) if isinstance(value, str) else value,
                        *row[index + 1:])

            current = dataclasses.replace(current, rows=tuple(short(r) for r in current.rows))
    return Fitted(current, tuple(dropped), full, was_cut)


def table_screen(table: Table, screen: Screen, *, drop: Sequence[str] = (), cut: str | None = None,
                 titles: dict[str, str] | None = None) -> str:
    """One table for a terminal: its title, convention and source wrapped to the width, the
    table fitted to it (``titles``: shorter or two-line column titles), then its notes."""
    lines = [screen.paint(table.title, "bold")]
    lines += screen.wrap(f"Convention: {table.convention}")
    if table.source:
        lines += screen.wrap(f"Cited from: {table.source}. Columns marked \"cited\" are copied from it, "
                             "not computed; archcost never measures accuracy.")
    fitted = fit(retitle(table, titles or {}), screen.width, drop=drop, cut=cut)
    lines += ["", fitted.text()]
    if fitted.note():
        lines += [screen.paint(line, "dim") for line in screen.wrap(fitted.note())]
    if table.notes:
        lines.append("")
        lines += [line for note in table.notes for line in screen.wrap(f"* {note}")]
    return "\n".join(lines) + "\n"
