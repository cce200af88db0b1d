"""Numbers and cells for people: the one set of helpers every output words its figures with.

Statistics stay exact (``int``, :class:`~fractions.Fraction`, SymPy) until one of these
turns them into text; shares are computed here once (:func:`share`, :func:`percent_of`).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from archcost.numeric import is_concrete

_SUFFIXES = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))
#: What a figure that cannot be computed (symbolic, or out of a zero total) shows as.
MISSING = "—"


# -- statistics --------------------------------------------------------------------------------


def share(part: Any, whole: Any) -> Fraction | None:
    """``part / whole`` exactly (a fraction of 1); ``None`` when either is symbolic or whole is 0."""
    if not (is_concrete(part) and is_concrete(whole)) or whole == 0:
        return None
    return Fraction(part) / Fraction(whole)


def percent_of(part: Any, whole: Any) -> Fraction | None:
    """``100 · part / whole`` exactly; ``None`` when either is symbolic or whole is 0."""
    ratio = share(part, whole)
    return None if ratio is None else 100 * ratio


# -- words -------------------------------------------------------------------------------------


def humanize(value: Any) -> str:
    """``568740352`` → ``569M``; three significant digits. SymPy expressions print as readable
    formulas (:func:`archcost.report.formula.readable`)."""
    if not is_concrete(value):
        return formula_text(value)
    number = float(value)
    for scale, suffix in _SUFFIXES:
        if abs(number) >= scale:
            return f"{number / scale:.3g}{suffix}"
    return f"{number:.3g}" if number != int(number) else str(int(number))


def exact(value: Any) -> str:
    """An exact count with thousands separators: ``568,740,352``."""
    if isinstance(value, int):
        return f"{value:,}"
    return formula_text(value)


def formula_text(value: Any) -> str:
    """A formula (or any value) for people: α for alpha, ² for **2, ⌊⌋ ⌈⌉; huge Max/Piecewise summarized."""
    if isinstance(value, str) or is_concrete(value):
        return str(value)
    from archcost.report.formula import readable

    return readable(value)


def number(value: Fraction | int) -> str:
    """An exact figure with thousands separators; a non-integral one (a limit) to three decimals."""
    value = Fraction(value)
    if value.denominator == 1:
        return f"{value.numerator:,}"
    return f"{float(value):,.3f}"


def quantity(value: Fraction | int, in_bytes: bool = False) -> str:
    """``68.7M``; for bytes ``5.37MB, 5.12 MiB`` (the binary figure from 1 MiB up)."""
    value = Fraction(value)
    text = humanize(value.numerator if value.denominator == 1 else value)
    if not in_bytes:
        return text
    mib = float(value) / 2**20
    return f"{text}B, {mib:.3g} MiB" if value >= 2**20 else f"{text}B"


def percent_text(ratio: Fraction | float | None, digits: int = 2, *, unit: str = "",
                 missing: str = MISSING) -> str:
    """A fraction of 1 as a percentage: ``0.1374`` → ``13.74`` (``unit=" %"``: ``13.74 %``)."""
    if ratio is None:
        return missing
    return f"{float(100 * ratio):.{digits}f}{unit}"


def percent(part: Any, whole: Any, digits: int = 2) -> str:
    """``part / whole`` as a percentage, or ``—`` when either is symbolic or whole is 0."""
    return percent_text(share(part, whole), digits)


def factor(ratio: Fraction | None) -> str:
    """A growth factor, ``×1.0514``; ``new`` when there was nothing before."""
    return "new" if ratio is None else f"×{float(ratio):.5g}"


def milliseconds(seconds: Fraction | float) -> str:
    """Seconds as milliseconds with three decimals: ``0.0012`` → ``1.200``."""
    return f"{float(seconds) * 1e3:.3f}"


def giga(rate: Fraction | float) -> str:
    """A rate per second in units of 10⁹, four significant digits: ``4.8e10`` → ``48``."""
    return f"{float(rate) / 1e9:.4g}"


def shape_text(shape: Any) -> str:
    """``(1, 3, 224, 224)`` → ``1×3×224×224``."""
    return "×".join(str(d) for d in shape)


def csv_cell(value: Any) -> Any:
    """A CSV cell under the CSV sink's policy (:func:`archcost.report.escape.csv`)."""
    from archcost.report import escape

    return escape.csv(value)


def markdown_cell(value: Any) -> Any:
    """Text under the markdown sink's policy (:func:`archcost.report.escape.markdown`); other values unchanged."""
    from archcost.report import escape

    return escape.markdown(value) if isinstance(value, str) else value
