"""One escaping policy per output sink, for text that came from the input (a model's, a layer's,
a parameter's name): it must reach every sink as text, never as markup, a formula, a control
sequence or a command.

=================  ================================================================================
sink               policy
=================  ================================================================================
terminal           control characters (C0, DEL, C1), line and paragraph separators and bidi
                   overrides are shown as ``\\x1b``/``\\u202e`` (:func:`terminal`)
markdown, step     as terminal, then ``\\ | [ ] ` < > &`` escaped, so a name never becomes a table
summary            column, a link, an image, a code span or an HTML tag (:func:`markdown`); a name
                   inside archcost's own code spans has its backticks replaced (:func:`markdown_code`)
HTML, SVG          as terminal, then ``& < > " '`` as entities (:func:`html`)
LaTeX              as terminal, then every special (``\\ & % $ # _ { } ~ ^``) escaped (:func:`latex`)
CSV                as terminal, and a cell that a spreadsheet would read as a formula (``= + - @``,
                   a leading tab or CR) gets a leading ``'`` (:func:`csv`)
JSON               names kept verbatim, but C0, DEL, C1, separators and bidi overrides written as
                   ``\\uXXXX`` escapes (:func:`json_dumps`), so the file is safe to ``cat``
JUnit XML          as terminal, except line feeds and tabs in message bodies (:func:`xml`); ``& <
                   > "`` are the XML writer's job
GitHub workflow    as terminal (except CR and LF), then ``%`` CR LF as ``%25 %0D %0A`` in the
commands           message, plus ``: ,`` as ``%3A %2C`` in properties (:func:`github_data`,
                   :func:`github_property`), so no name can end the command or start another
=================  ================================================================================
"""

from __future__ import annotations

import html as _html
import json
from typing import Any

from archcost.errors import HOSTILE_CODES


def _spelled(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


#: Characters that are never shown raw: they move the cursor, ring the bell, start a terminal
#: escape sequence (ESC, and the C1 CSI 0x9b), break lines, or reorder the text (bidi).
HOSTILE = HOSTILE_CODES
_TERMINAL = {code: _spelled(code) for code in HOSTILE}
_XML = {code: text for code, text in _TERMINAL.items() if code not in (0x09, 0x0A)}
_GITHUB = {code: text for code, text in _TERMINAL.items() if code not in (0x0A, 0x0D)}
_JSON = {code: f"\\u{code:04x}" for code in HOSTILE if code >= 0x20}
_MARKDOWN = {ord("\\"): "\\\\", ord("|"): "\\|", ord("["): "\\[", ord("]"): "\\]", ord("`"): "\\`",
             ord("<"): "&lt;", ord(">"): "&gt;", ord("&"): "&amp;"}
_LATEX = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "×": r"$\times$", "α": r"$\alpha$", "ρ": r"$\rho$", "≈": r"$\approx$", "²": r"$^2$",
    "·": r"$\cdot$", "→": r"$\rightarrow$", "—": "---", "–": "--",
}
_LATEX_TABLE = {ord(k): v for k, v in _LATEX.items()}


def terminal(text: str) -> str:
    """``text`` with every :data:`HOSTILE` character spelled as an escape (``\\x1b``)."""
    return text.translate(_TERMINAL)


def markdown(text: str) -> str:
    """``text`` as inline markdown (a table cell, a heading, a list item): literal, one line."""
    return terminal(text).translate(_MARKDOWN)


def markdown_prose(text: str) -> str:
    """archcost's own markdown prose that quotes names (a report's introduction): its code spans
    (between backticks) stay code, with no control character; the rest is escaped as :func:`markdown`."""
    parts = text.split("`")
    return "`".join(terminal(p) if i % 2 else markdown(p) for i, p in enumerate(parts))


def markdown_code(text: str) -> str:
    """``text`` inside a markdown code span in a table cell: no backtick, no column break."""
    return "`" + terminal(text).replace("`", "'").replace("|", "\\|") + "`"


def html(text: str, *, lines: bool = False) -> str:
    """``text`` as HTML (or SVG) text or attribute value; ``lines`` keeps line feeds (an SVG
    tooltip's lines), which HTML shows as spaces anyway."""
    return _html.escape(text.translate(_XML if lines else _TERMINAL), quote=True)


def latex(text: str) -> str:
    """``text`` as LaTeX text, the paper's symbols spelled as math."""
    return terminal(text).translate(_LATEX_TABLE)


def csv(value: Any) -> Any:
    """A CSV cell: text shown literally and never read as a spreadsheet formula; numbers unchanged."""
    if not isinstance(value, str):
        return value
    text = terminal(value)
    if value[:1] in ("=", "+", "-", "@", "\t", "\r", "\n"):
        return "'" + text
    return text


def json_dumps(data: Any, **kwargs: Any) -> str:
    """``json.dumps`` with UTF-8 kept, and :data:`HOSTILE` characters as ``\\uXXXX`` escapes."""
    # json.dumps already escapes C0; the rest appear only inside strings, where \\uXXXX is valid.
    return json.dumps(data, ensure_ascii=False, **kwargs).translate(_JSON)


def xml(text: str) -> str:
    """Text for an XML attribute or element: nothing XML 1.0 forbids, no terminal escape."""
    return text.translate(_XML)


def github_data(text: str) -> str:
    """A GitHub workflow command's message (``::error ...::MESSAGE``), as ``@actions/core`` escapes it."""
    return (text.translate(_GITHUB).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def github_property(text: str) -> str:
    """A GitHub workflow command's property value (``file=``, ``title=``)."""
    return github_data(text).replace(":", "%3A").replace(",", "%2C")
