"""The ONNX backend conformance cases: every output shape right, no valid model refused.

The cases are the onnx package's own (tools/conformance.py regenerates the ``node``
cases from the package's case definitions and reads its stored ``pytorch-converted``,
``pytorch-operator``, ``simple`` and ``light`` data). Each case binds its graph inputs
to the shapes of its input tensors; every graph output's inferred shape must equal
the expected output tensor's shape, or be symbolic only in values computed at run time
(axes, pads or a target shape fed as a graph input; a size the data decides).
"""

from __future__ import annotations

import collections

import pytest

from tools.conformance import STORED_SUITES, data_dir, run_all


@pytest.fixture(scope="module")
def outcomes() -> list:  # type: ignore[type-arg]
    for suite in STORED_SUITES:
        # A missing data folder must fail loudly, not shrink the suite.
        assert (data_dir() / suite).is_dir(), f"the onnx package has no {suite!r} conformance data"
    results, _ = run_all()
    return results


def test_the_whole_suite_is_there(outcomes: list) -> None:  # type: ignore[type-arg]
    by_suite = collections.Counter(o.case.split("_", 1)[0] for o in outcomes)
    assert len(outcomes) >= 2000, by_suite  # 1,884 node cases and 149 stored ones with onnx 1.23


@pytest.mark.parametrize("verdict", ["wrong", "missing", "refused", "crash"])
def test_no_case_is(outcomes: list, verdict: str) -> None:  # type: ignore[type-arg]
    found = [f"{o.case}: {o.detail[:300]} {o.shapes}" for o in outcomes if o.verdict == verdict]
    assert not found, f"{len(found)} {verdict}:\n" + "\n".join(found[:20])


def test_symbolic_outputs_say_why(outcomes: list) -> None:  # type: ignore[type-arg]
    symbolic = [o for o in outcomes if o.verdict == "symbolic"]
    assert symbolic, "no case depends on run-time values: the suite changed"
    assert all(o.detail for o in symbolic), [o.case for o in symbolic if not o.detail][:10]
    # The reason names what the run time decides: a tensor's contents or a node's data.
    assert all("run time" in o.detail for o in symbolic)


@pytest.mark.parametrize("name", sorted(p.stem for p in (data_dir() / "light").glob("*.onnx")))
def test_the_light_models_verify_in_onnxruntime(name: str) -> None:
    # ONNX-zoo AlexNet, SqueezeNet, VGG-19, Inception v1 (opset 3-8: Dropout's mask is float
    # there, not bool) and five more: every tensor's shape and dtype as it ran, MACs and params.
    pytest.importorskip("onnxruntime", reason="verify runs the model in onnxruntime (pip install '.[test]')")
    from archcost.runtime.verify import verify

    result = verify(str(data_dir() / "light" / f"{name}.onnx"), backend="onnxruntime")
    assert result.ok, (result.problems[:5], [t.name for t in result.mismatched[:5]])
