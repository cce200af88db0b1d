"""Formatting numbers and cells for people, and making cells safe for each format."""

from __future__ import annotations

from typing import Any

from archcost.numeric import is_concrete

_SUFFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def humanize(value: Any) -> str:
    """``568740352`` → ``569M``; three significant digits. SymPy expressions print as formulas."""
    if not is_concrete(value):
        return str(value)
    number = float(value)
    for scale, suffix in _SUFFIXES:
        if abs(number) >= scale:
            return f"{number / scale:.3g}{suffix}"
    return f"{number:.3g}" if number != int(number) else str(int(number))


def exact(value: Any) -> str:
    """An exact count with thousands separators: ``568,740,352``."""
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def percent(part: Any, whole: Any, digits: int = 2) -> str:
    """``part / whole`` as a percentage, or ``—`` when either is symbolic or whole is 0."""
    if not (is_concrete(part) and is_concrete(whole)) or whole == 0:
        return "—"
    return f"{float(100 * part / whole):.{digits}f}"  # a Fraction has no "f" format before 3.12


def shape_text(shape: Any) -> str:
    """``(1, 3, 224, 224)`` → ``1×3×224×224``."""
    return "×".join(str(d) for d in shape)


def csv_cell(value: Any) -> Any:
    """Neutralize spreadsheet formula injection: text starting with = + - @ gets a quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def markdown_cell(value: Any) -> Any:
    """Escape the column separator in markdown table cells."""
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("|", "\\|")
    return value
