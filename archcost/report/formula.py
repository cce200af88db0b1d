"""Formulas for people: the paper's symbols, superscripts, ⌊⌋ and ⌈⌉, and a summary for the huge ones.

SymPy's ``str`` is for machines (``ceiling(ceiling(resolution/2)/2)**2*floor(32*alpha)``); the human
formats (terminal, markdown, HTML) print ``⌈resolution/4⌉²·⌊32·α⌋`` instead. JSON and CSV keep
``str(expr)``, which SymPy can read back. Nothing here changes a value:

- a sum is grouped by its rounded sizes (``⌈resolution/4⌉²·(…)``) when that is shorter;
- ``⌈⌈x/a⌉/b⌉ = ⌈x/(a·b)⌉`` and ``⌊⌊x/a⌋/b⌋ = ⌊x/(a·b)⌋`` for every real x and positive
  integers a, b, so nested rounding of a spatial size collapses exactly; and
  ``⌊(m - 1)/n⌋ + 1 = ⌈m/n⌉`` for an integer m (a padded, strided conv's output size);
- a ``Max``, ``Min`` or ``Piecewise`` too long to read (a peak-memory maximum over 60 live
  sets) is named with its size and symbols; the whole formula is in ``--format json``.
"""

from __future__ import annotations

from typing import Any

from archcost.numeric import is_concrete

#: A formula longer than this, holding Max/Min/Piecewise, is summarized in human formats.
SUMMARY_LIMIT = 100
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _printer() -> Any:
    import sympy
    from sympy.printing.str import StrPrinter

    from archcost.symbols import DISPLAY_NAMES

    class ReadablePrinter(StrPrinter):  # type: ignore[misc]
        """SymPy's text printer with display names, superscripts and rounding brackets."""

        def _print_Symbol(self, expr: Any) -> str:
            return str(DISPLAY_NAMES.get(expr.name, expr.name))

        def _print_floor(self, expr: Any) -> str:
            return f"⌊{self._print(expr.args[0])}⌋"

        def _print_ceiling(self, expr: Any) -> str:
            return f"⌈{self._print(expr.args[0])}⌉"

        def _print_Pow(self, expr: Any, rational: bool = False) -> str:
            base, exp = expr.args
            if exp.is_Integer and exp > 1:
                inner = str(self.parenthesize(base, sympy.printing.precedence.PRECEDENCE["Pow"]))
                return inner + str(exp).translate(_SUPERSCRIPT)
            if exp.is_Integer and exp < 0:
                if -exp > 1 or base.is_Atom:
                    return "1/" + str(self._print(base ** -exp))
                return "1/(" + str(self._print(base)) + ")"
            return str(super()._print_Pow(expr, rational))

        def _print_Mul(self, expr: Any) -> str:
            # A collected term, size²·(sum over channels): the size first, the sum in parentheses.
            sums = [a for a in expr.args if a.is_Add]
            if len(sums) == 1 and len(expr.args) > 1 and not expr.could_extract_minus_sign():
                rest = sympy.Mul(*[a for a in expr.args if a is not sums[0]])
                return f"{self._print(rest)}·({self._print(sums[0])})"
            return str(super()._print_Mul(expr)).replace("*", "·")

    return ReadablePrinter()


def _as_ceiling(expr: Any) -> Any:
    """``c·⌊(m - 1)/n⌋ + c`` → ``c·⌈m/n⌉`` for an integer m (a padded, strided conv's output size),
    else ``None``.

    ``⌊q⌋ + k = ⌊q + k⌋`` for an integer k, and ``⌊(m + n - 1)/n⌋ = ⌈m/n⌉`` for an integer m and a
    positive integer n."""
    import sympy

    # c·⌊q⌋ + c·k (an integer c; c = 1 most often) = c·⌊q + k⌋.
    terms = [a.as_coeff_Mul() for a in expr.args]
    floors = [(c, f) for c, f in terms if isinstance(f, sympy.floor) and c.is_Integer]
    rest = [a for a in expr.args if a.is_Integer]
    if len(floors) != 1 or len(rest) != len(expr.args) - 1:
        return None
    scale, floor = floors[0]
    if int(sum(rest)) % int(scale):
        return None
    inner = floor.args[0] + int(sum(rest)) // int(scale)
    n = sympy.ilcm(1, *(c.q for c in inner.as_coefficients_dict().values() if c.is_Rational))
    numerator = sympy.expand(inner * n - (n - 1))
    if n == 1 or numerator.is_integer is not True:
        return None
    return scale * sympy.ceiling(numerator / n)


def _collapse(expr: Any) -> Any:
    """Nested ⌈⌈x/a⌉/b⌉ → ⌈x/(a·b)⌉ (and ⌊⌋ alike), which holds for every real x and positive integers a, b."""
    import sympy

    def nested(e: Any) -> bool:
        if not isinstance(e, (sympy.floor, sympy.ceiling)):
            return False
        coeff, inner = e.args[0].as_coeff_Mul()
        return (isinstance(inner, type(e)) and coeff.is_Rational and coeff.p == 1 and coeff.q > 1)

    def merge(e: Any) -> Any:
        coeff, inner = e.args[0].as_coeff_Mul()
        return type(e)(inner.args[0] * coeff)

    def ceiling_form(e: Any) -> bool:
        return isinstance(e, sympy.Add) and _as_ceiling(e) is not None

    previous = None
    while previous != expr:
        previous, expr = expr, expr.replace(nested, merge).replace(ceiling_form, _as_ceiling)
    return expr


def _collect(expr: Any) -> Any:
    """A sum grouped by its rounded sizes (⌈resolution/4⌉²·(…) + …), when that is shorter.

    Only rounding terms over integer symbols (spatial sizes, not α) are factored out, so a
    polynomial in α and the resolution stays expanded, as the paper writes it."""
    import sympy

    if not isinstance(expr, sympy.Add) or _has_cases(expr):
        return expr
    sizes = sorted((a for a in expr.atoms(sympy.floor, sympy.ceiling)
                    if a.free_symbols and all(s.is_integer for s in a.free_symbols)), key=sympy.default_sort_key)
    if not sizes:
        return expr
    collected = sympy.collect(expr, [a**2 for a in sizes] + sizes)
    return collected if len(str(collected)) < len(str(expr)) else expr


def _has_cases(expr: Any) -> bool:
    import sympy

    return bool(expr.has(sympy.Max, sympy.Min, sympy.Piecewise))


def summary(expr: Any) -> str:
    """A short name for a huge formula: what it is, how many terms, over which symbols."""
    import sympy

    from archcost.symbols import DISPLAY_NAMES

    names = ", ".join(sorted(DISPLAY_NAMES.get(str(s), str(s)) for s in expr.free_symbols))
    if isinstance(expr, (sympy.Max, sympy.Min)):
        what = f"{'max' if isinstance(expr, sympy.Max) else 'min'} of {len(expr.args)} terms"
    elif isinstance(expr, sympy.Piecewise):
        what = f"{len(expr.args)} cases"
    else:
        what = f"a formula of {sympy.count_ops(expr)} operations with max/min/cases"
    return f"{what} in {names} (the whole formula: --format json)"


def readable(expr: Any, limit: int | None = SUMMARY_LIMIT) -> str:
    """``expr`` as a person reads it; a concrete value as its ``str``.

    A formula holding Max, Min or Piecewise longer than ``limit`` characters is summarized
    (``limit=None``: never)."""
    if is_concrete(expr) or isinstance(expr, str):
        return str(expr)
    import sympy

    expr = _collect(_collapse(sympy.sympify(expr)))
    text = str(_printer().doprint(expr))
    if limit is not None and len(text) > limit and _has_cases(expr):
        return summary(expr)
    return text


def html_formula(expr: Any, limit: int | None = SUMMARY_LIMIT) -> str:
    """:func:`readable`, escaped for HTML, with superscripts as ``<sup>`` (no script, no font needed)."""
    import html
    import re

    digits = {v: str(k) for k, v in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}
    text = html.escape(readable(expr, limit))
    return re.sub("[⁰¹²³⁴⁵⁶⁷⁸⁹]+", lambda m: "<sup>" + "".join(digits[c] for c in m.group()) + "</sup>", text)
