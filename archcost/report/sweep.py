"""α/ρ sweeps: evaluate a model's symbolic totals over a grid, exactly.

The model is analyzed once with the swept parameters left free; its totals (MACs,
params, weights) are compiled into ONE Python function with ``sympy.lambdify``
and evaluated at every grid point. The generated code keeps arithmetic exact:
rationals are printed as ``Fraction(p, q)``, ``floor``/``ceiling`` map to
``math.floor``/``math.ceil`` (exact on Fractions), and the inputs are Fractions, so
no float ever enters. Every result is checked to be a whole number and returned as
an ``int`` equal to the fast path's count at that point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from archcost.errors import LimitError, UsageError
from archcost.numeric import Scalar
from archcost.report.table import Column, Kind, Table, make_table

if TYPE_CHECKING:
    from archcost.frontends.loader import Source

#: At most this many grid points (resource bound; 100×100 is far below it).
MAX_POINTS = 1_000_000
#: At most this many values per axis.
MAX_AXIS = 10_000
#: The totals a sweep reports, in order.
QUANTITIES = ("macs", "params", "weights")


def parse_axis(text: str, name: str) -> list[Scalar]:
    """``0.25:1.0:0.25`` (start:stop:step, stop included) or ``128,160,192`` → exact values."""
    from archcost.errors import ArchcostError
    from archcost.expr import parse_value as parse_number

    def parse_value(part: str, what: str) -> Scalar:
        try:
            return parse_number(part, what)
        except ArchcostError as err:
            raise UsageError(f"--{what} {text!r}: {err.message}") from err

    text = text.strip()
    if not text:
        raise UsageError(f"--{name}: expected values such as 0.25:1.0:0.25 or 128,160,192")
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise UsageError(f"--{name} {text!r}: a range is START:STOP:STEP")
        start, stop, step = (parse_value(p.strip(), name) for p in parts)
        if not all(isinstance(v, (int, Fraction)) for v in (start, stop, step)):
            raise UsageError(f"--{name} {text!r}: range bounds must be numbers")
        if step <= 0 or stop < start:
            raise UsageError(f"--{name} {text!r}: need STEP > 0 and STOP >= START")
        count = int((Fraction(stop) - Fraction(start)) / Fraction(step)) + 1
        if count > MAX_AXIS:
            raise LimitError(f"--{name} {text!r}: {count} values; at most {MAX_AXIS} per axis")
        return [_whole(Fraction(start) + i * Fraction(step)) for i in range(count)]
    values = [parse_value(p.strip(), name) for p in text.split(",")]
    if len(values) > MAX_AXIS:
        raise LimitError(f"--{name}: {len(values)} values; at most {MAX_AXIS} per axis")
    for v in values:
        if not isinstance(v, (int, Fraction)) or v <= 0:
            raise UsageError(f"--{name} {text!r}: values must be positive numbers, got {v}")
    return values


def _whole(x: Fraction) -> int | Fraction:
    return x.numerator if x.denominator == 1 else x


def _printer() -> Any:
    from sympy.printing.pycode import PythonCodePrinter

    class ExactPrinter(PythonCodePrinter):  # type: ignore[misc]
        """Prints rationals as Fractions and rounding as math.floor/ceil, so no float appears."""

        def _print_Rational(self, expr: Any) -> str:
            return f"Fraction({expr.p}, {expr.q})"

        def _print_Half(self, expr: Any) -> str:
            return "Fraction(1, 2)"

        def _print_Float(self, expr: Any) -> str:
            # Specs never produce Floats; refuse rather than lose exactness.
            raise ValueError(f"float coefficient {expr} in a count formula")

        def _print_floor(self, expr: Any) -> str:
            quotient = self._integer_quotient(expr.args[0])
            return quotient if quotient else f"_floor({self._print(expr.args[0])})"

        def _print_ceiling(self, expr: Any) -> str:
            quotient = self._integer_quotient(-expr.args[0])
            return f"(-{quotient})" if quotient else f"_ceil({self._print(expr.args[0])})"

        def _integer_quotient(self, arg: Any) -> str | None:
            """``floor(p/q · rest)`` as ``(p·rest) // q``: exact, and int-only when ``rest`` is an int.

            ``p/q`` is the rational content SymPy factors out (``(r - 1)/2`` → ``1/2 · (r - 1)``).

            ``ceiling(x)`` is ``-floor(-x)``. On Fractions ``//`` is floor division too.
            """
            coeff, rest = arg.as_content_primitive()
            if not coeff.is_Rational:
                return None
            if rest.is_Symbol:
                # floor(p/q · s) for a swept value s = n/d (an int has d = 1): int-only arithmetic.
                name = self._print(rest)
                return f"(({coeff.p}*{name}.numerator)//({coeff.q}*{name}.denominator))"
            if coeff.is_Integer:
                return None
            return f"(({coeff.p}*({self._print(rest)}))//{coeff.q})"

    return ExactPrinter


@dataclass(frozen=True)
class Compiled:
    """The totals of one model as one compiled function of the swept parameters."""

    model: str
    names: tuple[str, ...]
    formulas: Mapping[str, Any]
    function: Callable[..., Sequence[Any]]

    def __call__(self, *values: Scalar) -> dict[str, int]:
        """The exact totals at one point."""
        # Ints stay ints (a resolution), so the code runs in integer arithmetic wherever it can.
        raw = self.function(*(v if type(v) is int else Fraction(v) for v in values))
        out = {}
        for name, value in zip(QUANTITIES, raw, strict=False):
            if type(value) is not int:
                value = Fraction(value)
                if value.denominator != 1:
                    raise ValueError(f"{self.model}: {name} is not a whole number at {values}: {value}")
                value = value.numerator
            out[name] = value
        return out


def compile_totals(model: str | Source, names: Sequence[str],
                   fixed: Mapping[str, Scalar | str] | None = None) -> Compiled:
    """Analyze ``model`` once with ``names`` free; compile MACs, params and weights into one function."""
    import math

    import sympy

    from archcost.cost.pipeline import analyze_model as analyze
    from archcost.symbols import param_symbol

    report = analyze(model, symbols=tuple(names), params=dict(fixed or {}))
    t = report.totals
    formulas = {"macs": t.macs, "params": t.params, "weights": t.weights}
    symbols = [param_symbol(n) for n in names]
    exprs = [sympy.sympify(formulas[q]) for q in QUANTITIES]
    function = sympy.lambdify(
        symbols, exprs, modules=[{"Fraction": Fraction, "_floor": math.floor, "_ceil": math.ceil}],
        printer=_printer(), cse=True, docstring_limit=0,
    )
    return Compiled(model if isinstance(model, str) else model.model, tuple(names), formulas, function)


@dataclass(frozen=True)
class Sweep:
    """A grid of exact totals: ``points[i] = (values..., {quantity: int})``."""

    model: str
    names: tuple[str, ...]
    axes: tuple[tuple[Scalar, ...], ...]
    points: tuple[tuple[tuple[Scalar, ...], dict[str, int]], ...]


def sweep(model: str, axes: Mapping[str, Sequence[Scalar]],
          fixed: Mapping[str, Scalar | str] | None = None,
          progress: Callable[[str], None] | None = None) -> Sweep:
    """Evaluate ``model``'s totals over the grid ``axes`` (parameter → values), exactly.

    ``progress`` is told each step as it starts (the command line shows it on a terminal)."""
    say = progress or (lambda _text: None)
    import itertools

    from archcost.frontends.loader import open_model

    names = tuple(axes)
    if not names:
        raise UsageError("a sweep needs at least one axis (--alpha, --resolution)")
    total = 1
    for values in axes.values():
        total *= len(values)
    if total > MAX_POINTS:
        raise LimitError(f"a sweep of {total:,} points; at most {MAX_POINTS:,}")
    source = open_model(model)
    if source.spec is None:
        what = "a TFLite file" if source.format == "tflite" else "an ONNX file"
        raise UsageError(f"{model}: sweeps need a spec with parameters, not {what}")
    declared = source.spec.params
    for name in names:
        if name not in declared:
            raise UsageError(f"{model} has no parameter {name!r}; it declares {', '.join(declared)}",
                             where=source.display)
    from archcost.errors import SpecError

    say(f"analyzing {model} with {', '.join(names)} left free, and compiling its totals")
    try:
        compiled = compile_totals(source, names, fixed)
    except SpecError as err:
        if "left free" not in err.message:
            raise
        # A layer that exists for some values of a swept parameter only: no single formula.
        examples = " ".join(f"{model}:{names[0]}={value_text(v)}" for v in list(axes[names[0]])[:3])
        raise UsageError(f"{err}. A sweep evaluates one formula in {', '.join(names)}, and this spec's "
                         f"layers change with them; compare the points instead: archcost compare {examples}"
                         ) from err
    grid = tuple(tuple(v) for v in axes.values())
    say(f"evaluating {total:,} points")
    points = tuple((point, compiled(*point)) for point in itertools.product(*grid))
    return Sweep(model, names, grid, points)


def value_text(value: Scalar) -> str:
    """``3/4`` → ``0.75``: a swept value as a short exact decimal where it has one."""
    if isinstance(value, Fraction):
        for digits in range(1, 9):
            scaled = value * 10**digits
            if scaled.denominator == 1:
                text = f"{scaled.numerator:0{digits + 1}d}"
                return f"{text[:-digits]}.{text[-digits:]}"
        return f"{value.numerator}/{value.denominator}"
    return str(value)


def sweep_table(result: Sweep) -> Table:
    """One row per grid point: the swept values, then exact MACs, params and weights."""
    from archcost.cost.conventions import PAPER

    columns = (
        *(Column(n, n) for n in result.names),
        Column("macs", "MACs", Kind.COUNT), Column("params", "params", Kind.COUNT),
        Column("weights", "weights", Kind.COUNT),
    )
    rows = [[*(value_text(v) for v in point), totals["macs"], totals["params"], totals["weights"]]
            for point, totals in result.points]
    return make_table(
        "sweep", f"Sweep of {result.model} over {' × '.join(result.names)}", columns, rows,
        convention=f"{PAPER.name}: {PAPER.description}; params are the trainable total "
        "(weight + bias + norm), weights are conv and FC kernels. Evaluated from one compiled "
        "symbolic formula, exactly",
    )
