"""The spec expression grammar: exact arithmetic, rounding rules, and refusal of anything else."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import sympy

from archcost.errors import ExpressionError
from archcost.expr import evaluate_text, parse


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("512*alpha", {"alpha": Fraction(3, 4)}, 384),
        ("int(32*alpha)", {"alpha": Fraction(1, 3)}, 10),
        ("0.75", {}, Fraction(3, 4)),
        ("1e-5", {}, Fraction(1, 100000)),
        ("7 // 2 + 7 % 2", {}, 4),
        ("-2**2", {}, -4),
        ("2**-1", {}, Fraction(1, 2)),
        ("ceil(7/2) + floor(7/2)", {}, 7),
        ("round(2.5)", {}, 3),
        ("min(3, 1, 2) + max(3, 1, 2)", {}, 4),
        ("stride == 1 and c == 16", {"stride": 1, "c": 16}, 1),
        ("not (1 < 2) or 3 >= 4", {}, 0),
    ],
    ids=["scale", "truncate", "decimal", "exponent-literal", "floor-mod", "power-binds-tighter",
         "negative-exponent", "ceil-floor", "round-half-up", "min-max", "boolean", "not-or"],
)
def test_evaluates_exactly(text: str, env: dict, expected: object) -> None:  # type: ignore[type-arg]
    assert evaluate_text(text, env) == expected


def reference_make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """MobileNetV2's published rounding rule (Sandler et al. 2018, reference code), in floats."""
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.mark.parametrize("alpha", ["0.35", "0.5", "0.75", "1.0", "1.3", "1.4"])
@pytest.mark.parametrize("channels", [16, 24, 32, 40, 96, 160, 320, 1280])
def test_make_divisible_matches_reference(alpha: str, channels: int) -> None:
    got = evaluate_text(f"make_divisible({channels}*{alpha}, 8)", {})
    assert got == reference_make_divisible(channels * float(alpha), 8)


def test_symbolic_rounding_and_continuous_form() -> None:
    alpha = sympy.Symbol("alpha", positive=True)
    exact = evaluate_text("int(32*alpha)", {"alpha": alpha})
    assert exact == sympy.floor(32 * alpha)
    assert evaluate_text("int(32*alpha)", {"alpha": alpha}, continuous=True) == 32 * alpha
    md = evaluate_text("make_divisible(16*alpha, 8)", {"alpha": alpha})
    for point in ("0.35", "0.5", "0.75", "1", "1.4"):
        assert md.subs(alpha, sympy.Rational(point)) == reference_make_divisible(16 * float(point), 8)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('x')", "unexpected character"),
        ("().__class__", "unexpected character '.'"),
        ("__class__", "not allowed"),
        ("open('f')", "unexpected character"),
        ("eval(1)", "unknown function 'eval'"),
        ("lambda: 1", "unexpected character ':'"),
        ("a[0]", "unexpected character '['"),
        ("1 +", "ends too early"),
        ("(1", "ends too early"),
        ("1 2", "unexpected '2'"),
        ("", "empty expression"),
        ("9**99", "exponent"),
        ("10**10**10", "exponent"),
        ("1e999", "too large"),
        ("1/0", "division by zero"),
        ("1 < 2 < 3", "chained"),
        ("int(1, 2)", "takes 1 to 1 arguments"),
        ("x", "unknown name 'x'"),
    ],
)
def test_refuses(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=None) as info:
        evaluate_text(text, {})
    assert fragment in str(info.value)


def test_limits_are_counted_not_recursed() -> None:
    with pytest.raises(ExpressionError, match="256"):
        parse("1+" * 200 + "1")
    with pytest.raises(ExpressionError, match="deeper than 32"):
        parse("-" * 100 + "1")
    with pytest.raises(ExpressionError, match="deeper than 32"):
        parse("not " * 60 + "1")
    assert evaluate_text("(" * 30 + "1" + ")" * 30, {}) == 1


def test_integer_results_are_ints() -> None:
    value = evaluate_text("0.5 * 4", {})
    assert value == 2 and isinstance(value, int)
    assert math.isclose(float(evaluate_text("1/3", {})), 1 / 3)
