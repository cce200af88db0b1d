"""Property tests: symbolic-then-substitute equals the fast path; rows sum to totals."""

from __future__ import annotations

import tempfile
from pathlib import Path

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import archcost
from archcost.symbols import param_symbol

layer = st.one_of(
    st.builds(lambda c, k, s: f"{{op: conv, out: int({c}*alpha), kernel: {k}, stride: {s}}}",
              st.sampled_from([8, 16, 24, 32, 64]), st.sampled_from([1, 3, 5]), st.sampled_from([1, 2])),
    st.builds(lambda k, s: f"{{op: conv, depthwise: true, kernel: {k}, stride: {s}}}",
              st.sampled_from([3, 5]), st.sampled_from([1, 2])),
    st.builds(lambda c: f"{{op: pointwise, out: int({c}*alpha)}}", st.sampled_from([8, 16, 48])),
    st.just("{op: batch_norm}"),
    st.just("{op: relu6}"),
)


def spec_text(layers: list[str], fc_out: int) -> str:
    body = "\n".join(f"  - {line}" for line in layers)
    return (
        "name: random_stack\n"
        "params: {alpha: 1.0, resolution: 32}\n"
        "inputs:\n  x: {shape: [1, 3, resolution, resolution]}\n"
        f"layers:\n  - {{op: conv, out: int(16*alpha), kernel: 3, stride: 2}}\n{body}\n"
        f"  - {{op: global_avg_pool}}\n  - {{op: flatten}}\n  - {{op: fc, out: {fc_out}}}\n"
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layers=st.lists(layer, min_size=1, max_size=6),
    fc_out=st.integers(1, 100),
    alpha=st.sampled_from(["0.25", "0.5", "0.75", "1", "1.25"]),
    resolution=st.integers(8, 96),
)
def test_symbolic_then_substitute_equals_fast_path(
    layers: list[str], fc_out: int, alpha: str, resolution: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stack.yaml"
        path.write_text(spec_text(layers, fc_out))
        fast = archcost.analyze(str(path), alpha=alpha, resolution=resolution)
        formula = archcost.analyze(str(path), symbols=("alpha", "resolution"))
    point = {param_symbol("alpha"): sympy.Rational(alpha), param_symbol("resolution"): resolution}
    assert isinstance(fast.totals.macs, int)
    assert formula.totals.macs.subs(point) == fast.totals.macs
    assert formula.totals.params.subs(point) == fast.totals.params
    assert len(formula.layers) == len(fast.layers)
    for sym_row, row in zip(formula.layers, fast.layers, strict=True):
        value = sym_row.macs.subs(point) if isinstance(sym_row.macs, sympy.Basic) else sym_row.macs
        assert value == row.macs
    # Rows sum to the totals the walk accumulated, on both paths.
    assert sum(r.macs for r in fast.layers) == fast.totals.macs
    assert sum(r.params for r in fast.layers) == fast.totals.params
    assert sympy.expand(sum(r.macs for r in formula.layers) - formula.totals.macs) == 0
