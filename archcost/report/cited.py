"""Cited figures (``archcost/data/cited.yaml``) and how computed counts are checked against them.

A cited figure is kept as the string the source printed, so its precision is
known: ``"4.2"`` million means anything in [4.15M, 4.25M]. A computed count
*matches* when it lies within half a unit of the last printed digit; otherwise the
row is flagged. Nothing cited is ever used to compute a count.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.errors import SpecError

#: Scale of a cited unit.
UNITS: Mapping[str, int] = {"K": 10**3, "M": 10**6, "B": 10**9}


def data_path() -> Path:
    """The cited-data file shipped inside the package."""
    return Path(__file__).resolve().parent.parent / "data" / "cited.yaml"


def load_cited(path: Path | None = None) -> dict[str, Any]:
    """The cited-data file, parsed with a safe loader. A missing file fails loudly."""
    import yaml

    path = path or data_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SpecError(f"cannot read the cited-data file: {err}", where=str(path)) from err
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or "tables" not in data or "sources" not in data:
        raise SpecError("expected top-level 'sources' and 'tables'", where=str(path))
    return data


def source_text(data: Mapping[str, Any], table_key: str) -> str:
    """``Howard et al. 2017, "MobileNets..." , Table 6`` for a cited table."""
    table = data["tables"][table_key]
    citation = data["sources"][table["source"]]["citation"]
    return f"{citation}, {table['table']} (\"{table['title']}\")"


def printed_value(text: str) -> tuple[Fraction, int]:
    """``"4.2"`` → (21/5, 1): the exact value and the number of printed decimals."""
    text = text.strip()
    whole, _, decimals = text.partition(".")
    if not whole.isdigit() or (decimals and not decimals.isdigit()):
        raise SpecError(f"cited figure {text!r} is not a plain decimal number", where=str(data_path()))
    return Fraction(text), len(decimals)


def at_precision(value: int | Fraction, scale: int, decimals: int) -> str:
    """``value / scale`` rounded half away from zero to ``decimals`` places, as text
    (``568.74``-style; ``-1.23`` below zero, and no sign on a value that rounds to zero)."""
    scaled = Fraction(value) / scale * 10**decimals
    magnitude = abs(scaled)
    rounded = (magnitude.numerator * 2 + magnitude.denominator) // (magnitude.denominator * 2)
    text = str(rounded).rjust(decimals + 1, "0")
    sign = "-" if scaled < 0 and rounded else ""
    return sign + (f"{text[:-decimals]}.{text[-decimals:]}" if decimals else text)


def matches(computed: int | Fraction, cited: str, scale: int) -> bool:
    """Whether ``computed`` lies within half a unit of the cited figure's last printed digit."""
    value, decimals = printed_value(cited)
    half_unit = Fraction(scale, 2 * 10**decimals)
    return abs(Fraction(computed) - value * scale) <= half_unit


@dataclass(frozen=True)
class Check:
    """A computed count beside the cited figure it reproduces."""

    computed: int | Fraction
    cited: str
    scale: int

    @property
    def ok(self) -> bool:
        return matches(self.computed, self.cited, self.scale)

    @property
    def rounded(self) -> str:
        """The computed value in the cited unit, at the cited precision."""
        return at_precision(self.computed, self.scale, printed_value(self.cited)[1])
