"""Every SymPy symbol archcost creates, made in one place with assumptions.

SymPy interns symbols by name and assumptions, so asking twice returns the same
object; there is no cache here. Import this module only on the symbolic path.
"""

from __future__ import annotations

import sympy

#: Parameters that are real-valued multipliers rather than integer sizes.
REAL_PARAMS = frozenset({"alpha", "rho", "depth_multiplier", "width_multiplier"})
#: How the human formats print a symbol: the paper's letters for its multipliers.
DISPLAY_NAMES = {"alpha": "α", "rho": "ρ"}


def param_symbol(name: str) -> sympy.Symbol:
    """The symbol for a spec parameter.

    Multipliers (``alpha``) are positive reals; every other parameter
    (``resolution``, ``batch``, a sequence length) is a positive integer.
    """
    if name in REAL_PARAMS:
        return sympy.Symbol(name, positive=True)
    return sympy.Symbol(name, positive=True, integer=True)


def dim_symbol(name: str) -> sympy.Symbol:
    """The symbol for a dynamic tensor dimension (``N``, ``batch_size``, ``unk__17``)."""
    return sympy.Symbol(name, positive=True, integer=True)


def multiple_symbol(name: str) -> sympy.Symbol:
    """The integer ``k`` behind a parameter declared ``multiple_of: m`` (value = m·k)."""
    return sympy.Symbol(f"{name}_k", positive=True, integer=True)


def run_time_symbol(name: str, sign: str = "nonnegative") -> sympy.Symbol:
    """The symbol for a value only the run time knows (see :mod:`archcost.ledger`).

    An integer: ``nonnegative`` for a size (zero-size dims are valid), ``positive``
    for a count of at least one, ``any`` for an index or a pad, which may be negative;
    or ``real`` for the contents of a float tensor (a Resize scale).
    """
    if sign == "real":
        return sympy.Symbol(name, real=True)
    if sign == "positive":
        return sympy.Symbol(name, integer=True, positive=True)
    if sign == "nonnegative":
        return sympy.Symbol(name, integer=True, nonnegative=True)
    return sympy.Symbol(name, integer=True)
