"""The symbolic path: formulas in α, the resolution and any parameter, checked against the fast path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import archcost
from archcost.symbols import param_symbol
from tests.test_mobilenet_v1 import POINTS

ALPHA = param_symbol("alpha")
RES = param_symbol("resolution")


@pytest.fixture(scope="module")
def mobilenet_formula() -> archcost.Report:
    return archcost.analyze("mobilenet_v1", symbols=("alpha", "resolution"))


@pytest.mark.parametrize(("alpha", "resolution", "macs", "weights"), POINTS)
def test_formula_at_each_point_equals_fast_path(
    mobilenet_formula: archcost.Report, alpha: float, resolution: int, macs: int, weights: int
) -> None:
    point = {ALPHA: sympy.Rational(str(alpha)), RES: resolution}
    fast = archcost.analyze("mobilenet_v1", alpha=alpha, resolution=resolution)
    assert mobilenet_formula.totals.macs.subs(point) == fast.totals.macs == macs
    assert mobilenet_formula.totals.weights.subs(point) == fast.totals.weights == weights
    assert mobilenet_formula.totals.params.subs(point) == fast.totals.params


def test_one_symbol_with_the_other_parameters_bound() -> None:
    report = archcost.analyze("mobilenet_v1", resolution=160, symbols=("alpha",))
    assert report.totals.macs.free_symbols == {ALPHA}
    assert report.totals.macs.subs(ALPHA, sympy.Rational(1, 2)) == 76_524_800


def test_continuous_form_scales_as_alpha_squared_and_rho_squared() -> None:
    report = archcost.analyze("mobilenet_v1", symbols=("alpha", "resolution"), continuous=True)
    by_category = report.by_category()
    rho = sympy.Symbol("rho", positive=True)
    scaled = {ALPHA: ALPHA, RES: 224 * rho}
    body = sum(s.cost for c, s in by_category.items() if c.value != "fully_connected")
    # ρ² throughout the body: cost(224ρ) = cost(224) · ρ², exactly.
    assert sympy.expand(body.subs(scaled) - body.subs(RES, 224) * rho**2) == 0
    # α² for the 1×1 terms, α for depthwise and the first full conv (one channel count scales).
    pointwise = by_category[archcost.cost.result.Category.CONV_1X1].cost
    assert sympy.expand(pointwise.subs(ALPHA, 2 * ALPHA) - 4 * pointwise) == 0
    depthwise = by_category[archcost.cost.result.Category.DEPTHWISE].cost
    assert sympy.expand(depthwise.subs(ALPHA, 2 * ALPHA) - 2 * depthwise) == 0
    # At α = 1, 224 the continuous form is exact (all channel counts and sizes are integral).
    assert report.totals.macs.subs({ALPHA: 1, RES: 224}) == 568_740_352


SEPARABLE = """
name: separable_vs_standard
params: {M: 32, N: 64, F: 56, K: 3}
inputs:
  x: {shape: [1, M, F, F]}
layers:
{layers}
"""


def _macs(write_spec, layers: str, symbols: tuple[str, ...]) -> sympy.Expr:  # type: ignore[no-untyped-def]
    path = write_spec(SEPARABLE.replace("{layers}", layers))
    return archcost.analyze(str(path), symbols=symbols).totals.macs


def test_separable_over_standard_is_one_over_n_plus_one_over_dk_squared(write_spec) -> None:  # type: ignore[no-untyped-def]
    # The seed deck's closed form (Howard et al. 2017, eq. 5): (D_K²·M·D_F² + M·N·D_F²) /
    # (D_K²·M·N·D_F²) = 1/N + 1/D_K². Derived here from the engine's own conv rule.
    free = ("M", "N", "F", "K")
    standard = _macs(write_spec, "  - {op: conv, out: N, kernel: K}", free)
    separable = _macs(
        write_spec,
        "  - {op: conv, depthwise: true, kernel: K}\n  - {op: conv, out: N, kernel: 1}",
        free,
    )
    m, n, f, k = (param_symbol(s) for s in free)
    assert sympy.simplify(standard - k**2 * m * n * f**2) == 0
    assert sympy.simplify(separable - (k**2 * m * f**2 + m * n * f**2)) == 0
    assert sympy.simplify(separable / standard - (1 / n + 1 / k**2)) == 0


def test_fast_path_imports_no_sympy(tmp_path: Path) -> None:
    code = (
        "import sys, archcost\n"
        "r = archcost.analyze('mobilenet_v1', alpha=0.75)\n"
        "from archcost.report.analysis import render\n"
        "render(r, 'table'); render(r, 'json')\n"
        "assert r.totals.macs == 325400448\n"
        "print('sympy' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    assert out.stdout.strip() == "False"
