"""Readable formulas (archcost/report/formula.py): exact rewrites, the paper's symbols, summaries.

What a person reads must be the same function as what the engine computed: the nested rounding
collapse and the grouping by sizes are checked by evaluating both forms at many points.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
import sympy

import archcost
from archcost.report.formula import _collapse, _collect, html_formula, readable
from archcost.symbols import param_symbol
from tests.conftest import run_cli

ALPHA, RESOLUTION = param_symbol("alpha"), param_symbol("resolution")


@pytest.mark.parametrize("quantity", ["macs", "params", "weights"])
def test_the_readable_form_is_the_same_function(quantity: str) -> None:
    exact = sympy.sympify(getattr(archcost.analyze("mobilenet_v1", symbols=None).totals, quantity))
    shown = _collect(_collapse(exact))
    for alpha in (Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(7, 10), 1):
        for resolution in (1, 2, 3, 31, 96, 127, 128, 160, 161, 224, 225, 320):
            point = {ALPHA: sympy.Rational(alpha), RESOLUTION: resolution}
            assert shown.subs(point) == exact.subs(point), (alpha, resolution)


def test_nested_rounding_collapses_exactly() -> None:
    x = sympy.Symbol("x", real=True)
    nested = sympy.ceiling(sympy.ceiling(sympy.ceiling(x / 2) / 3) / 5)
    assert _collapse(nested) == sympy.ceiling(x / 30)
    for value in (sympy.Rational(-7, 3), 0, 1, sympy.Rational(59, 2), 61, 1000):
        assert nested.subs(x, value) == sympy.ceiling(sympy.Rational(value) / 30)
    assert _collapse(sympy.floor(sympy.floor(x / 4) / 4)) == sympy.floor(x / 16)
    # A coefficient that is not 1/b is left alone: ⌈2·⌈x/3⌉⌉ is not ⌈2x/3⌉.
    assert _collapse(sympy.ceiling(2 * sympy.ceiling(x / 3) / 5)) == sympy.ceiling(2 * sympy.ceiling(x / 3) / 5)


def test_the_papers_symbols_and_superscripts() -> None:
    continuous = archcost.analyze("mobilenet_v1", symbols=None, continuous=True).totals.macs
    assert readable(continuous) == "10752·α²·resolution² + 1125·α·resolution²/2 + 1024000·α"
    rho = param_symbol("rho")
    assert readable(ALPHA * rho**2 * 3) == "3·α·ρ²"
    assert readable(1 / sympy.Symbol("N") + sympy.Symbol("D_K") ** -2) == "1/N + 1/D_K²"
    assert html_formula(ALPHA**2) == "α<sup>2</sup>"
    assert readable(568_740_352) == "568740352"


def test_the_rounded_total_groups_by_size() -> None:
    text = readable(archcost.analyze("mobilenet_v1", symbols=None).totals.macs)
    assert text.startswith("⌈resolution/2⌉²·(⌊32·α⌋·⌊64·α⌋ + 36·⌊32·α⌋) + ⌈resolution/4⌉²·(")
    assert "ceiling" not in text and "**" not in text and "*" not in text


def test_a_huge_max_is_summarized_and_json_keeps_it() -> None:
    terms = sympy.Max(*(k * ALPHA * RESOLUTION**2 + (40 - k) * RESOLUTION for k in range(1, 40)))
    assert readable(terms) == "max of 39 terms in resolution, α (the whole formula: --format json)"
    assert readable(sympy.Max(8, 8 * sympy.floor(ALPHA * 4))) == "Max(8, 8·⌊4·α⌋)"  # short: shown whole
    data = json.loads(run_cli("analyze", "mobilenet_v1", "--symbolic", "--format", "json").stdout)
    assert data["memory"]["peak_activation_bytes"].startswith("Max(")


def test_markdown_sets_formulas_as_code() -> None:
    text = run_cli("analyze", "mobilenet_v1", "--symbolic", "--continuous", "--format", "markdown").stdout
    assert "total MACs: `10752·α²·resolution² + 1125·α·resolution²/2 + 1024000·α`" in text
    assert "**" not in text.replace("**total**", "")


def test_a_condition_on_a_free_symbol_names_it_in_one_short_line() -> None:
    result = run_cli("analyze", "mobilenet_v2", "--symbol", "alpha")
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "\n" not in message and len(message) < 250 and "Piecewise" not in message
    assert "the condition depends on alpha, left free" in message
    sweep = run_cli("sweep", "mobilenet_v2", "--alpha", "0.5,1")
    assert sweep.returncode == 2 and "archcost compare mobilenet_v2:alpha=0.5 mobilenet_v2:alpha=1" in sweep.stderr


def test_a_padded_strided_size_reads_as_a_ceiling() -> None:
    h = sympy.Symbol("h", integer=True, positive=True)
    for n in (2, 3, 8, 32):
        size = sympy.floor((h - 1) / n) + 1
        assert _collapse(size) == sympy.ceiling(h / n)
        assert all(size.subs(h, v) == sympy.ceiling(sympy.Rational(v, n)) for v in range(1, 200))
    scaled = 2 * sympy.floor((h - 1) / 16) + 2
    assert _collapse(scaled) == 2 * sympy.ceiling(h / 16)
    assert all(scaled.subs(h, v) == 2 * sympy.ceiling(sympy.Rational(v, 16)) for v in range(1, 100))
    assert _collapse(2 * sympy.floor((h - 1) / 16) + 3) == 2 * sympy.floor((h - 1) / 16) + 3  # 3 is not 2·k
    # Not for a real x: ⌊x - 1/2⌋ + 1 is not ⌈x + 1/2⌉ - … and is left alone.
    x = sympy.Symbol("x", real=True)
    assert _collapse(sympy.floor(x / 2 - sympy.Rational(1, 2)) + 1) == sympy.floor(x / 2 - sympy.Rational(1, 2)) + 1


def test_an_exported_detectors_formula_is_the_same_function() -> None:
    report = archcost.analyze("tests/fixtures/corpus/yolo_fpn_torchscript.onnx")
    exact = sympy.sympify(report.totals.macs)
    shown = _collect(_collapse(exact))
    assert readable(exact).startswith("27968·batch·⌈height/32⌉·⌈width/32⌉ + 24192·batch·⌈height/16⌉")
    symbols = {s.name: s for s in exact.free_symbols}
    for height in (1, 2, 31, 32, 33, 95, 128, 161):
        for width in (1, 17, 64, 97):
            point = {symbols["batch"]: 2, symbols["height"]: height, symbols["width"]: width}
            assert shown.subs(point) == exact.subs(point), (height, width)
