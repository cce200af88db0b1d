"""``archcost sweep``: one compiled symbolic formula, evaluated exactly over a grid."""

from __future__ import annotations

import csv
import io
from fractions import Fraction

import pytest

import archcost
from archcost.errors import LimitError, UsageError
from archcost.report.sweep import compile_totals, parse_axis, sweep
from tests.conftest import run_cli

# Awkward points on purpose: α that truncates (0.3·32 = 9.6), resolutions not divisible by 32.
ALPHAS = [Fraction(1, 4), Fraction(3, 10), Fraction(7, 20), Fraction(1, 2), Fraction(3, 5), Fraction(3, 4),
          Fraction(9, 10), 1]
RESOLUTIONS = [96, 100, 127, 160, 224, 231]


def test_compiled_formula_equals_the_fast_path_at_every_grid_point() -> None:
    compiled = compile_totals("mobilenet_v1", ("alpha", "resolution"))
    for a in ALPHAS:
        for r in RESOLUTIONS:
            fast = archcost.analyze("mobilenet_v1", alpha=a, resolution=r).totals
            got = compiled(a, r)
            assert all(type(v) is int for v in got.values())
            assert (got["macs"], got["params"], got["weights"]) == (fast.macs, fast.params, fast.weights), (a, r)


def test_rounding_is_printed_as_exact_integer_division() -> None:
    """floor/ceiling with a rational factor become ``//``; the values match math.floor/ceil on Fractions."""
    import math

    import sympy

    from archcost.report.sweep import _printer

    r = sympy.Symbol("r", positive=True, integer=True)
    a = sympy.Symbol("a", positive=True)
    exprs = [sympy.ceiling(r / 2), sympy.floor((r - 1) / 3), sympy.ceiling(sympy.Rational(-5, 7) * r + 2),
             sympy.floor(sympy.Rational(3, 4) * a * r), sympy.ceiling(sympy.ceiling(r / 2) / 2), sympy.floor(32 * a)]
    function = sympy.lambdify([r, a], exprs, modules=[{"Fraction": Fraction, "_floor": math.floor,
                                                       "_ceil": math.ceil}], printer=_printer())
    for rv in (1, 2, 7, 100, 127, 231):
        for av in (Fraction(1, 4), Fraction(3, 10), Fraction(7, 20), 1):
            expected = [-(-rv // 2), (rv - 1) // 3, math.ceil(Fraction(-5, 7) * rv + 2),
                        math.floor(Fraction(3, 4) * av * rv), math.ceil(Fraction(math.ceil(Fraction(rv, 2)), 2)),
                        math.floor(32 * av)]
            assert function(rv, av) == expected, (rv, av)


def test_one_axis_sweep_of_another_spec_is_exact() -> None:
    result = sweep("resnet50", {"resolution": [160, 193, 224]})
    for (point, totals) in result.points:
        assert totals["macs"] == archcost.analyze("resnet50", resolution=point[0]).totals.macs


def test_a_100_by_100_grid_completes_with_exact_ints() -> None:
    alphas = parse_axis("0.01:1.0:0.01", "alpha")
    resolutions = parse_axis("32:3200:32", "resolution")
    assert len(alphas) == len(resolutions) == 100
    result = sweep("mobilenet_v1", {"alpha": alphas, "resolution": resolutions})
    assert len(result.points) == 10_000
    assert all(type(t["macs"]) is int for _, t in result.points)
    # Spot-check against the fast path (α = 0.5, resolution 160 is the paper's Table 9 row).
    by_point = dict(result.points)
    assert by_point[(Fraction(1, 2), 160)]["macs"] == archcost.analyze(
        "mobilenet_v1", alpha=0.5, resolution=160).totals.macs


def test_parse_axis_ranges_are_exact_and_include_the_stop() -> None:
    assert parse_axis("0.25:1.0:0.25", "alpha") == [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), 1]
    assert parse_axis("128,160,192,224", "resolution") == [128, 160, 192, 224]
    assert parse_axis("0.1:0.3:0.1", "alpha") == [Fraction(1, 10), Fraction(1, 5), Fraction(3, 10)]


@pytest.mark.parametrize("text", ["", "1:2", "1:0:1", "0.5:1:0", "a,b", "-1"], ids=repr)
def test_parse_axis_rejects_bad_input(text: str) -> None:
    with pytest.raises(UsageError):
        parse_axis(text, "alpha")


def test_parse_axis_bounds_the_grid() -> None:
    with pytest.raises(LimitError):
        parse_axis("1:100000:1", "resolution")


def test_cli_csv_has_exact_integers_matching_the_fast_path() -> None:
    proc = run_cli("sweep", "mobilenet_v1", "--alpha", "0.25:1.0:0.25", "--resolution", "128,160,192,224",
                   "--format", "csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 16
    row = next(r for r in rows if r["alpha"] == "0.5" and r["resolution"] == "160")
    assert int(row["macs"]) == 76_524_800  # α=0.5 at 160: Howard et al. 2017, Table 9 prints 76M
    assert all(r["convention"] == "paper" for r in rows)


def test_cli_unknown_parameter_is_a_usage_error() -> None:
    proc = run_cli("sweep", "resnet50", "--alpha", "0.5,1")
    assert proc.returncode == 2
    assert "no parameter 'alpha'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cli_needs_an_axis() -> None:
    proc = run_cli("sweep", "mobilenet_v1")
    assert proc.returncode == 2
    assert "--alpha" in proc.stderr
