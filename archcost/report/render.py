"""The one renderer: a :class:`~archcost.report.table.Table` or a whole
:class:`~archcost.report.table.Document` as terminal text, markdown, CSV, JSON,
LaTeX or a self-contained HTML page. This is the only module that lays out tables
(the only caller of tabulate); every command's output is built from tables here.

Counts are humanized (569M) only in the human formats (terminal, markdown, LaTeX,
HTML); CSV and JSON carry exact integers. Every output states its convention.
"""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from archcost.errors import UsageError
from archcost.numeric import is_concrete
from archcost.report import escape
from archcost.report.cited import at_precision
from archcost.report.format import exact, formula_text, humanize
from archcost.report.table import Column, Document, Kind, Table

#: Formats every table renders to, with the file suffix the report directory uses.
FORMATS = {"table": "txt", "markdown": "md", "csv": "csv", "json": "json", "latex": "tex", "html": "html"}

_MISSING = "—"


# -- cells -------------------------------------------------------------------------------------


def _percent_text(value: Fraction | int, digits: int) -> str:
    return at_precision(value, 1, digits)


def human_cell(value: Any, column: Column) -> str:
    """A cell as a person reads it (before any format-specific escaping)."""
    if value is None:
        return _MISSING
    if isinstance(value, str):
        return value
    if column.kind is Kind.DECIMAL:
        return f"{float(value):.{column.digits}f}{column.unit}"
    if column.kind is Kind.SIGNIFICANT:
        return f"{float(value):.{column.digits}g}"
    if column.kind is Kind.EXACT:
        return exact(value)
    if column.kind is Kind.COUNT:
        return humanize(value)
    if column.kind is Kind.PERCENT:
        return _percent_text(value, column.digits) if is_concrete(value) else formula_text(value)
    if column.kind is Kind.FORMULA:
        return formula_text(value)
    return str(value)


def machine_cell(value: Any, column: Column) -> Any:
    """A cell for CSV/JSON: exact ints stay ints; shares are decimals at the column's digits."""
    if value is None:
        return None
    if column.kind in (Kind.EXACT, Kind.COUNT):
        return value if isinstance(value, int) else str(value)
    if column.kind is Kind.PERCENT:
        return _percent_text(value, column.digits) if is_concrete(value) else str(value)
    if column.kind in (Kind.DECIMAL, Kind.SIGNIFICANT):
        return human_cell(value, column)
    return str(value)


def _body(table: Table) -> list[tuple[Any, ...]]:
    return [*table.rows, *([table.total] if table.total is not None else [])]


#: One level of a tree column's indent. Visible, because tabulate strips leading spaces.
TREE_INDENT = "· "


def _shown(table: Table, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """``row`` as human formats show it: tree columns indented by their row's depth."""
    cells = list(row)
    for i, column in enumerate(table.columns):
        if column.depth_from and isinstance(cells[i], str):
            depth = row[table.column(column.depth_from)]
            if isinstance(depth, int) and depth > 0:
                cells[i] = TREE_INDENT * depth + cells[i]
    return tuple(cells)


def _titles(table: Table) -> list[str]:
    return [c.title for c in table.columns]


def _preamble(table: Table) -> list[str]:
    lines = [f"Convention: {table.convention}"]
    if table.source:
        lines.append(f"Cited from: {table.source}. Columns marked \"cited\" are copied from it, "
                     "not computed; archcost never measures accuracy.")
    return lines


# -- one table ---------------------------------------------------------------------------------


def _terminal_value(value: Any, column: Column) -> str:
    return escape.terminal(human_cell(value, column))


def _cells(table: Table, style: str) -> list[list[str]]:
    cell = _markdown_value if style == "github" else _terminal_value
    return [[cell(v, c) for v, c in zip(_shown(table, row), table.columns, strict=False)]
            for row in _body(table)]


def grid(table: Table, style: str = "simple") -> str:
    """The rows (body and total) laid out under the column titles, nothing else.

    ``style``: ``simple`` (terminal), ``github`` (markdown, cells escaped) or ``plain`` (no
    titles and no rules, for a table set inside running text).
    """
    return _layout(_cells(table, style), table, style)


#: Kinds whose cells are numbers: right-aligned on a terminal, so digits line up.
NUMERIC_KINDS = (Kind.EXACT, Kind.COUNT, Kind.PERCENT, Kind.DECIMAL, Kind.SIGNIFICANT)


def _alignment(table: Table) -> tuple[str, ...]:
    return tuple(c.align or ("right" if c.kind in NUMERIC_KINDS else "left") for c in table.columns)


def _layout(rows: list[list[str]], table: Table, style: str) -> str:
    from tabulate import tabulate

    # Markdown keeps tabulate's default (its pipes carry no alignment); text aligns numbers right.
    align = None if style == "github" or not table.columns else _alignment(table)
    if style == "plain":
        return str(tabulate(rows, tablefmt="plain", disable_numparse=True, colalign=align))
    # A title's line breaks are the layout's (a terminal title on two lines); the rest is escaped.
    sink = escape.markdown if style == "github" else escape.terminal
    titles = ["\n".join(sink(part) for part in t.split("\n")) for t in _titles(table)]
    return str(tabulate(rows, headers=titles, tablefmt=style, disable_numparse=True, colalign=align))


def pipe_table(table: Table) -> str:
    """Markdown without padding (``| a | b |``), for text other programs show as markdown."""
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cells) + " |"

    lines = [line([escape.markdown(t) for t in _titles(table)]),
             "|" + "---|" * len(table.columns)]
    lines += [line(row) for row in _cells(table, "github")]
    return "\n".join(lines) + "\n"


def table_text(table: Table) -> str:
    """Terminal text (tabulate ``simple``)."""
    t = escape.terminal
    lines = [t(table.title), *map(t, _preamble(table)), "", grid(table, "simple")]
    lines += ["", *(f"* {t(n)}" for n in table.notes)] if table.notes else []
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_value(value: Any, column: Column) -> str:
    text = human_cell(value, column)
    formula = hasattr(value, "free_symbols")  # a symbolic count (SymPy)
    if (column.kind in (Kind.FORMULA, Kind.CODE) or formula) and value is not None:
        return escape.markdown_code(text)
    return escape.markdown(text)


def table_markdown(table: Table, level: int = 2) -> str:
    """Markdown (tabulate ``github``)."""
    rows = _cells(table, "github")
    if table.total is not None:
        rows[-1] = [f"**{cell}**" if cell not in ("", _MISSING) else cell for cell in rows[-1]]
    preamble = [escape.markdown(line) for line in _preamble(table)]
    lines = [f"{'#' * level} {escape.markdown(table.title)}", ""]
    lines += [line + "  " for line in preamble[:-1]] + [preamble[-1], ""]
    lines.append(_layout(rows, table, "github"))
    if table.notes:
        lines += ["", *(f"- {escape.markdown(n)}" for n in table.notes)]
    return "\n".join(lines) + "\n"


def table_csv(table: Table, *, header: str = "keys", convention: bool = True, missing: str = "") -> str:
    """CSV: a header row (column ``keys``, or ``titles``), exact integers, and a ``convention`` column.

    ``convention=False`` leaves out the convention column; ``missing`` is written for an
    absent value.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [c.key for c in table.columns] if header == "keys" else _titles(table)
    writer.writerow([*map(escape.csv, names), *(["convention"] if convention else [])])
    # The convention's name: its text reads "paper: multiply-accumulates of ..." (no stray colon).
    name = table.convention.split(" ", 1)[0].rstrip(":;,")
    for row in _body(table):
        cells = [machine_cell(v, c) for v, c in zip(row, table.columns, strict=False)]
        writer.writerow([*(missing if v is None else escape.csv(v) for v in cells),
                         *([escape.csv(name)] if convention else [])])
    return out.getvalue()


def table_dict(table: Table) -> dict[str, Any]:
    """The JSON form of one table: exact integers, cited columns marked."""
    def record(row: tuple[Any, ...]) -> dict[str, Any]:
        return {c.key: machine_cell(v, c) for v, c in zip(row, table.columns, strict=False)}

    return {
        "key": table.key,
        "title": table.title,
        "convention": table.convention,
        "source": table.source or None,
        "columns": [{"key": c.key, "title": c.title, "kind": c.kind.value, "cited": c.cited}
                    for c in table.columns],
        "rows": [record(r) for r in table.rows],
        "total": record(table.total) if table.total is not None else None,
        "notes": list(table.notes),
    }


def table_json(table: Table) -> str:
    return json_text(table_dict(table))


def json_text(data: Any) -> str:
    """Any JSON-ready data as the JSON every command prints: indented, UTF-8 kept."""
    return escape.json_dumps(data, indent=2) + "\n"


#: Escape LaTeX specials and spell the paper's symbols as math (:func:`escape.latex`).
latex_escape = escape.latex


def _latex_value(value: Any, column: Column) -> str:
    if column.kind is Kind.FORMULA and value is not None and not isinstance(value, str):
        import sympy

        return f"${sympy.latex(value)}$"
    return latex_escape(human_cell(value, column))


def table_latex(table: Table) -> str:
    """A LaTeX ``table`` with ``booktabs`` rules (needs ``\\usepackage{booktabs}``)."""
    align = "".join("r" if c.kind in (Kind.EXACT, Kind.COUNT, Kind.PERCENT) else "l"
                    for c in table.columns)
    lines = [
        "% Requires \\usepackage{booktabs}.",
        "\\begin{table}[htbp]",
        "\\centering",
        f"\\caption{{{latex_escape(table.title)}}}",
        f"\\label{{tab:{table.key}}}",
        f"\\begin{{tabular}}{{{align}}}",
        "\\toprule",
        " & ".join(latex_escape(t) for t in _titles(table)) + " \\\\",
        "\\midrule",
    ]
    for row in table.rows:
        lines.append(" & ".join(_latex_value(v, c) for v, c in zip(_shown(table, row), table.columns, strict=False))
                     + " \\\\")
    if table.total is not None:
        lines.append("\\midrule")
        lines.append(" & ".join(_latex_value(v, c) for v, c in zip(table.total, table.columns, strict=False)) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", "", "\\smallskip"]
    lines += [f"{{\\footnotesize {latex_escape(line)}}}\\par" for line in _preamble(table)]
    lines += [f"{{\\footnotesize {latex_escape(n)}}}\\par" for n in table.notes]
    lines.append("\\end{table}")
    return "\n".join(lines) + "\n"


def _html_value(value: Any, column: Column) -> str:
    formula = column.kind is Kind.FORMULA or hasattr(value, "free_symbols")
    if formula and value is not None and not isinstance(value, str):
        from archcost.report.formula import html_formula

        return f"<code>{html_formula(value)}</code>"
    text = escape.html(human_cell(value, column))
    code = column.kind in (Kind.FORMULA, Kind.CODE) and value is not None
    return f"<code>{text}</code>" if code else text


def table_html_fragment(table: Table, *, anchor: bool = True) -> str:
    """An HTML ``<section>`` with the table, its convention, source and notes; every name escaped.

    ``anchor=False`` names the section with ``data-key`` instead of ``id``, for HTML set into a
    page that may hold the same table twice (notebook outputs)."""
    e = escape.html
    numeric = {i for i, c in enumerate(table.columns) if c.kind in (Kind.EXACT, Kind.COUNT, Kind.PERCENT)}
    name = "id" if anchor else "data-key"
    parts = [f'<section {name}="{e(table.key)}">', f"<h2>{e(table.title)}</h2>"]
    parts += [f'<p class="meta">{e(line)}</p>' for line in _preamble(table)]
    head = "".join(f'<th{" class=cited" if c.cited else ""}>{e(c.title)}</th>' for c in table.columns)
    parts += ["<table>", f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for row in table.rows:
        flagged = any(v == "FLAGGED" for v in row)
        cells = "".join(f'<td{" class=num" if i in numeric else ""}>{_html_value(v, c)}</td>'
                        for i, (v, c) in enumerate(zip(_shown(table, row), table.columns, strict=False)))
        parts.append(f'<tr{" class=flagged" if flagged else ""}>{cells}</tr>')
    parts.append("</tbody>")
    if table.total is not None:
        cells = "".join(f'<td{" class=num" if i in numeric else ""}>{_html_value(v, c)}</td>'
                        for i, (v, c) in enumerate(zip(table.total, table.columns, strict=False)))
        parts.append(f"<tfoot><tr>{cells}</tr></tfoot>")
    parts.append("</table>")
    if table.notes:
        parts.append("<ul class=notes>" + "".join(f"<li>{_prose_html(n)}</li>" for n in table.notes) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts) + "\n"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border-bottom: 1px solid #d0d0d0; padding: 0.25rem 0.6rem; text-align: left; vertical-align: top; }
th { border-bottom: 2px solid #444; }
th.cited { font-style: italic; color: #5a3e00; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { border-top: 2px solid #444; font-weight: 600; }
tr.flagged td { background: #fff3cd; }
p.meta { margin: 0.1rem 0; color: #555; font-size: 0.9rem; }
ul.notes { font-size: 0.9rem; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
code { font-size: 0.88rem; }
""".strip()


def _prose_html(text: str) -> str:
    """Running text as HTML: escaped, and `code spans` (markdown's backticks) as ``<code>``."""
    import re

    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape.html(text))


def _html_page(title: str, body: list[str]) -> str:
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{escape.html(title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
    ]) + "\n"


def table_html(table: Table) -> str:
    """A self-contained HTML page holding one table."""
    return _html_page(table.title, [table_html_fragment(table)])


TABLE_RENDERERS: dict[str, Callable[[Table], str]] = {
    "table": table_text, "markdown": table_markdown, "csv": table_csv, "json": table_json,
    "latex": table_latex, "html": table_html,
}


def render_table(table: Table, fmt: str) -> str:
    """One table in ``fmt``."""
    try:
        return TABLE_RENDERERS[fmt](table)
    except KeyError:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


# -- whole documents ---------------------------------------------------------------------------


def document_markdown(doc: Document, figure_dir: str | None = None, inline_dir: str | None = None) -> str:
    """The report as one markdown file; plots are linked from ``figure_dir`` when given, and
    archcost's own (inline) figures that were drawn from ``inline_dir``."""
    parts = [f"# {escape.markdown(doc.title)}", "", *(f"{escape.markdown_prose(p)}\n" for p in doc.intro)]
    for table in doc.tables:
        parts.append(table_markdown(table))
    if figure_dir is not None and doc.figures:
        parts.append("## Figures\n")
        for fig in doc.figures:
            if not fig.inline:
                parts.append(f"![{escape.markdown(fig.caption)}]({figure_dir}/{fig.key}.svg)\n")
            elif inline_dir is not None and "svg" in fig.data:
                parts.append(f"![{escape.markdown(fig.caption)}]({inline_dir}/{fig.key}.svg)\n")
    return "\n".join(parts)


def document_text(doc: Document) -> str:
    title = escape.terminal(doc.title)
    parts = [title, "=" * len(title), "", *(f"{escape.terminal(p)}\n" for p in doc.intro)]
    parts += [table_text(t) for t in doc.tables]
    return "\n".join(parts)


def document_json(doc: Document) -> str:
    payload = {
        "title": doc.title,
        "intro": list(doc.intro),
        "tables": [table_dict(t) for t in doc.tables],
        "figures": [f.key for f in doc.figures],
    }
    return json_text(payload)


def document_csv(doc: Document) -> str:
    """Every table's CSV, each after a ``# key: title`` line (one CSV per table is in ``tables/``)."""
    return "\n".join(f"# {t.key}: {escape.terminal(t.title)}\n{table_csv(t)}" for t in doc.tables)


def document_latex(doc: Document) -> str:
    """A complete LaTeX document (``booktabs``); figures are not embedded."""
    parts = [
        "\\documentclass{article}",
        "\\usepackage[margin=2cm]{geometry}",
        "\\usepackage{booktabs}",
        "\\begin{document}",
        f"\\section*{{{latex_escape(doc.title)}}}",
        *(latex_escape(p) + "\n" for p in doc.intro),
        *(table_latex(t) for t in doc.tables),
        "\\end{document}",
    ]
    return "\n".join(parts) + "\n"


def document_html(doc: Document) -> str:
    """One self-contained page: inline CSS, figures embedded as data URIs, no external URLs.

    archcost's own figures (``inline``, SVG whose every name is escaped where it is drawn) come
    first, right after the introduction, set in the page so their tooltips work: each
    summarizes the tables below it.
    """
    e = escape.html
    body = [f"<h1>{e(doc.title)}</h1>", *(f"<p>{_prose_html(p)}</p>" for p in doc.intro)]
    for fig in doc.figures:
        if fig.inline and "svg" in fig.data:
            body.append(f'<figure id="{e(fig.key)}">\n{fig.data["svg"].decode("utf-8")}'
                        f"<figcaption>{e(fig.caption)}</figcaption></figure>")
    body += [table_html_fragment(t) for t in doc.tables]
    drawn = [fig for fig in doc.figures if fig.data and not fig.inline]
    if drawn:
        body.append('<section id="figures"><h2>Figures</h2>')
        for fig in drawn:
            mime, data = (("image/svg+xml", fig.data["svg"]) if "svg" in fig.data
                          else ("image/png", fig.data["png"]))
            uri = f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
            body.append(f'<figure><img alt="{e(fig.caption)}" src="{uri}">'
                        f"<figcaption>{e(fig.caption)}</figcaption></figure>")
        body.append("</section>")
    if doc.figures_note:
        body.append(f"<p>{e(doc.figures_note)}</p>")
    return _html_page(doc.title, body)


def render_document(doc: Document, fmt: str) -> str:
    """A whole report in ``fmt`` (for standard output)."""
    renderers: dict[str, Callable[[Document], str]] = {
        "table": document_text, "markdown": document_markdown, "csv": document_csv,
        "json": document_json, "latex": document_latex, "html": document_html,
    }
    try:
        return renderers[fmt](doc)
    except KeyError:
        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None
