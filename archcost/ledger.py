"""What an analysis could not know, and what it assumed in its place.

Valid graphs are never refused (DESIGN.md, invariant 8). Two things stand in
for what cannot be known statically, and a :class:`Ledger` records both so
that every output can list them:

* **Free symbols.** A value computed at run time (a pad read from a graph
  input, a Slice end, a size only the data decides) becomes a fresh symbol
  named after its node and role, ``<node>_<role>``. The ledger makes the name
  a plain identifier and keeps it unique, and remembers where it came from.
  Graph-input dims and spec parameters are declared here too, so one list
  says what is free and how to bind it.
* **Assumptions.** Where two dims must be equal (Concat's other axes,
  broadcasting, a MatMul reduction) and neither equality nor difference can be
  proven, the analysis records the assumption and goes on with one side, the
  simpler. For a difference in one symbol it derives when the two are equal
  (``H is a multiple of 32``) by evaluating the difference exactly at
  H = 1 … 256 and then proving the pattern it finds by substitution.

One ledger serves one analysis; rules reach it through their
:class:`~archcost.ops.registry.OpView`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from archcost.numeric import Count, is_concrete, same

if TYPE_CHECKING:
    import sympy

#: How a free symbol came to be.
INPUT_DIM = "input dim"
PARAMETER = "parameter"
RUN_TIME = "run time"

#: Values of a symbol at which an assumed equality is evaluated to find when it holds.
_SAMPLES = 256
#: Longest period looked for in the values where it holds (a stride product: 32, 64).
_MAX_PERIOD = 128
#: Largest difference (in SymPy operations) a proof by substitution is tried on: simplify's
#: time grows fast with size, and a larger one is reported as checked, not proven.
_MAX_PROOF_OPS = 200


@dataclass(frozen=True)
class FreeSymbol:
    """A symbol the figures may depend on, with where it came from."""

    name: str
    kind: str
    #: ``input 'x', axis 2`` or ``node 'Slice_3': ends (input 2), computed at run time``.
    origin: str

    @property
    def how_to_bind(self) -> str:
        """The command-line option that gives it a value."""
        return f"--set {self.name}=VALUE"

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "kind": self.kind, "origin": self.origin, "bind": self.how_to_bind}


@dataclass(frozen=True)
class Assumption:
    """An equality the analysis could neither prove nor disprove, and took as true."""

    node: str
    #: What had to be equal: ``Concat inputs agree on axis 2``; or the whole assumption,
    #: when it is not an equality of two dims.
    what: str
    left: Count | None
    right: Count | None
    #: The side the analysis went on with.
    kept: Count | None
    #: When the two are equal, where that could be derived (``H is a multiple of 4``).
    condition: str = ""

    def __str__(self) -> str:
        if self.left is None:
            return f"node {self.node!r}: {self.what}"
        when = f" ({self.condition})" if self.condition else ""
        return f"node {self.node!r}: {self.what}: {self.left} = {self.right}{when}"

    def to_dict(self) -> dict[str, str]:
        equality = {} if self.left is None else {"left": str(self.left), "right": str(self.right),
                                                 "kept": str(self.kept), "condition": self.condition}
        return {"node": self.node, "what": self.what, **equality, "text": str(self)}


class Ledger:
    """Free symbols and assumptions of one analysis."""

    def __init__(self, choices: dict[str, str] | None = None) -> None:
        self._symbols: dict[str, FreeSymbol] = {}
        #: (node, role) → symbol name, so asking twice gives the same symbol.
        self._made: dict[tuple[str, str], str] = {}
        self._assumptions: dict[tuple[str, str], Assumption] = {}
        #: If nodes whose branches give different ranks: the branch to take, when preset.
        self.choices: dict[str, str] = dict(choices or {})
        #: The branch each such If took in this analysis.
        self.choices_made: dict[str, str] = {}

    def fork(self, choices: dict[str, str]) -> Ledger:
        """A fresh ledger for another attempt at the same graph: the declared symbols, no
        assumptions, and preset branch ``choices``."""
        other = Ledger(choices)
        other._symbols = {name: s for name, s in self._symbols.items() if s.kind != RUN_TIME}
        return other

    def choose(self, node: str, default: str) -> str:
        """The branch an If with rank-different branches takes: the preset one, else ``default``."""
        pick = self.choices.get(node, default)
        self.choices_made[node] = pick
        return pick

    @property
    def symbols(self) -> tuple[FreeSymbol, ...]:
        return tuple(self._symbols.values())

    @property
    def assumptions(self) -> tuple[Assumption, ...]:
        return tuple(self._assumptions.values())

    def declare(self, name: str, kind: str, origin: str) -> None:
        """Record a symbol made elsewhere (a graph-input dim, a spec parameter)."""
        self._symbols.setdefault(name, FreeSymbol(name, kind, origin))

    def symbol(self, owner: str, role: str, origin: str, *, sign: str = "nonnegative") -> sympy.Symbol:
        """The fresh symbol for ``role`` of ``owner`` (a node, or a tensor whose contents it
        stands for), with ``origin`` saying why; ``sign`` as in
        :func:`archcost.symbols.run_time_symbol`. Asking twice gives the same symbol."""
        from archcost.symbols import run_time_symbol

        key = (owner, role)
        name = self._made.get(key)
        if name is None:
            base = identifier(f"{owner}_{role}")
            name, n = base, 1
            while name in self._symbols:
                n += 1
                name = f"{base}_{n}"
            self._made[key] = name
            self._symbols[name] = FreeSymbol(name, RUN_TIME, origin)
        return run_time_symbol(name, sign)

    def is_run_time(self, symbol: object) -> bool:
        """Whether ``symbol`` stands for a value computed at run time (made by :meth:`symbol`)."""
        known = self._symbols.get(str(symbol))
        return known is not None and known.kind == RUN_TIME

    def retract(self, assumptions: tuple[Assumption, ...]) -> None:
        """Forget assumptions made for a branch the analysis did not take."""
        dropped = set(map(id, assumptions))
        self._assumptions = {k: a for k, a in self._assumptions.items() if id(a) not in dropped}

    def assume(self, node: str, what: str) -> None:
        """Record an assumption that is not an equality of two dims (which If branch runs)."""
        self._assumptions.setdefault((node, what), Assumption(node, what, None, None, None))

    def assume_equal(self, node: str, what: str, left: Count, right: Count) -> Count:
        """Record ``left = right`` as assumed for ``node``; return the side to go on with."""
        kept = simpler(left, right)
        key = (str(left), str(right)) if str(left) <= str(right) else (str(right), str(left))
        if key not in self._assumptions:
            self._assumptions[key] = Assumption(node, what, left, right, kept, equality_condition(left, right))
        return kept


def identifier(text: str) -> str:
    """``/model/Slice_3_ends0`` → ``model_Slice_3_ends0``: a name a formula can show plainly."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")
    if not name or name[0].isdigit():
        name = "n_" + name
    return name


def simpler(a: Count, b: Count) -> Count:
    """Of two equal dims, the one to keep: an int, else the expression with fewer operations."""
    if is_concrete(a):
        return a
    if is_concrete(b):
        return b
    import sympy

    return a if sympy.count_ops(a) <= sympy.count_ops(b) else b


def equality_condition(a: Count, b: Count) -> str:
    """When ``a = b`` holds, for a difference in one integer symbol; ``""`` when not derivable."""
    if is_concrete(a) and is_concrete(b):
        return ""
    diff = a - b
    free = sorted(getattr(diff, "free_symbols", ()), key=str)
    if len(free) != 1 or not free[0].is_integer:
        return ""
    symbol = free[0]
    start = 0 if symbol.is_nonnegative and not symbol.is_positive else 1
    holds: list[int] = []
    for v in range(start, start + _SAMPLES):
        value = evaluate(diff, {symbol: v})
        if value is None:
            return ""
        if value == 0:
            holds.append(v)
    if not holds:
        return f"unequal for every {symbol} from {start} to {start + _SAMPLES - 1}; assumed"
    if len(holds) == _SAMPLES:
        return f"equal for every {symbol} from {start} to {start + _SAMPLES - 1}"
    period = _period(holds, start)
    if period is None:
        return f"holds for {symbol} = {_ranges(holds)} (checked for {symbol} ≤ {start + _SAMPLES - 1})"
    residues = sorted({v % period for v in holds})
    if residues == [0]:
        phrase = f"{symbol} is a multiple of {period}"
    elif residues[0] == 0:
        phrase = (f"{symbol} is a multiple of {period}; exactly when {symbol} mod {period} is "
                  f"{_ranges(residues)}")
    else:
        phrase = f"{symbol} mod {period} is {_ranges(residues)}"
    return phrase + (", proven" if _proven(diff, symbol, period, residues) else
                     f", checked for {symbol} ≤ {start + _SAMPLES - 1}")


def _period(holds: list[int], start: int) -> int | None:
    """The smallest period p of the set of values where the equality holds, if it has one."""
    members = set(holds)
    stop = start + _SAMPLES
    for p in range(1, _MAX_PERIOD + 1):
        if all((v in members) == (v + p in members) for v in range(start, stop - p)):
            return p
    return None


def _ranges(values: list[int]) -> str:
    """``[0, 17, 18, 19]`` → ``0 or 17–19``."""
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    return " or ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def _proven(diff: Any, symbol: Any, period: int, residues: list[int]) -> bool:
    """Whether ``diff`` is zero at every ``period·k + r``, by substitution (k a positive integer)."""
    import sympy

    if sympy.count_ops(diff) > _MAX_PROOF_OPS or len(residues) > 32:
        return False
    k = sympy.Symbol("_k", integer=True, nonnegative=True)
    for r in residues:
        try:
            if sympy.simplify(diff.subs(symbol, period * k + r)) != 0:
                return False
        except (TypeError, ValueError):  # pragma: no cover - SymPy refusing an expression
            return False
    return True


def evaluate(expr: Any, point: dict[Any, int]) -> Fraction | None:
    """``expr`` at ``point``, exactly, without SymPy's ``subs``; ``None`` for what it cannot evaluate.

    Handles the arithmetic shape formulas are made of: + · powers, floor, ceiling,
    Max, Min, Mod and Abs. Expressions nest at most
    :data:`~archcost.ops.registry.MAX_SYMBOLIC_DEPTH` levels, so recursion is bounded.
    """
    import math

    import sympy

    if is_concrete(expr):
        return Fraction(expr)
    if expr.is_Symbol:
        return Fraction(point[expr]) if expr in point else None
    if expr.is_Number:
        if expr.is_Rational:
            return Fraction(int(expr.p), int(expr.q))
        return None
    args = [evaluate(arg, point) for arg in expr.args]
    if any(a is None for a in args):
        return None
    values: list[Fraction] = args  # type: ignore[assignment]
    if expr.is_Add:
        return sum(values, Fraction(0))
    if expr.is_Mul:
        result = Fraction(1)
        for v in values:
            result *= v
        return result
    if expr.is_Pow:
        base, exponent = values
        if exponent.denominator != 1 or (base == 0 and exponent < 0):
            return None
        return base ** int(exponent)
    if isinstance(expr, sympy.floor):
        return Fraction(math.floor(values[0]))
    if isinstance(expr, sympy.ceiling):
        return Fraction(math.ceil(values[0]))
    if isinstance(expr, sympy.Max):
        return max(values)
    if isinstance(expr, sympy.Min):
        return min(values)
    if isinstance(expr, sympy.Mod):
        return None if values[1] == 0 else values[0] % values[1]
    if isinstance(expr, sympy.Abs):
        return abs(values[0])
    return None


def require_equal(ledger: Ledger | None, node: str, what: str, left: Count, right: Count) -> Count | None:
    """``left`` when the two are equal, the kept side when that must be assumed, ``None`` when they
    provably differ (the caller says how)."""
    verdict = same(left, right)
    if verdict is True:
        return simpler(left, right)
    if verdict is False:
        return None
    if ledger is None:
        return simpler(left, right)
    return ledger.assume_equal(node, what, left, right)
