"""The same network as ONNX and as TFLite: basic-pitch 0.4.0 ships its note model as both
``nmp.onnx`` (tf2onnx) and ``nmp.tflite`` (the TF Lite converter), converted from one SavedModel.

The MACs and the parameters by kind agree exactly, and equal the independent count of
tests/fixtures/corpus/pkg_basic_pitch_nmp.json (the Conv closed form on the shapes onnxruntime
produced, tools/corpus/ort_count.py). Under ``flops`` every named term agrees too; the rows differ
only where the two converters wrote the same arithmetic as different operators, and each
difference is accounted for here:

* the 3 ONNX ``Relu`` nodes are fused into the CONV_2D before them (``fused_activation_function``
  RELU): TFLite's CONV_2D rows carry exactly the Relus' activation ops;
* one ONNX ``Mul(x, x)`` is TFLite's ``SQUARE``: the same elementwise ops under another name;
* tf2onnx's ``Slice``/``Unsqueeze``/``Where`` are TFLite's ``STRIDED_SLICE``/``EXPAND_DIMS``/
  ``SELECT_V2`` (no cost, or the same per-element count).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from archcost.api import analyze

MANIFEST = Path(__file__).parent / "fixtures" / "corpus" / "pkg_basic_pitch_nmp.json"


def _pair() -> tuple[Path, Path]:
    from tools.corpus.packages import locate as locate_onnx
    from tools.corpus.tflite_packages import locate as locate_tflite

    onnx_path, tflite_path = locate_onnx("basic_pitch_nmp"), locate_tflite("basic_pitch_nmp")
    if onnx_path is None or tflite_path is None:
        pytest.skip("basic-pitch==0.4.0 is not installed (.ci/run installs it): pip install --no-deps "
                    "basic-pitch==0.4.0")
    return onnx_path, tflite_path


def _by_op(report) -> Counter[str]:  # type: ignore[no-untyped-def]
    costs: Counter[str] = Counter()
    for row in report.layers:
        costs[row.op_type] += report.cost_of(row)
    return costs


def test_onnx_and_tflite_twins_agree_on_macs_and_parameters() -> None:
    onnx_path, tflite_path = _pair()
    independent = json.loads(MANIFEST.read_text(encoding="utf-8"))["points"][0]
    assert independent["dims"] == {"unk__749": 1}
    onnx = analyze(str(onnx_path), params={"unk__749": 1})
    tflite = analyze(str(tflite_path), params={"serving_default_input_2_0_dim0": 1})
    assert onnx.totals.macs == tflite.totals.macs == independent["macs"] == 524_079_648
    assert onnx.totals.params_by_kind == tflite.totals.params_by_kind
    assert tflite.totals.params_by_kind == {"weight": 35_622, "bias": 108, "norm": 0, "buffer": 0}
    assert len(onnx.parameter_tensors) == len(tflite.parameter_tensors)


def test_flops_terms_agree_and_each_row_difference_is_a_fusion_or_a_rename() -> None:
    onnx_path, tflite_path = _pair()
    onnx = analyze(str(onnx_path), params={"unk__749": 1}, convention="flops")
    tflite = analyze(str(tflite_path), params={"serving_default_input_2_0_dim0": 1}, convention="flops")
    assert onnx.totals.cost == tflite.totals.cost

    def terms(report) -> Counter[str]:  # type: ignore[no-untyped-def]
        total: Counter[str] = Counter()
        for row in report.layers:
            total.update(row.terms)
        return total

    assert terms(onnx) == terms(tflite)
    o, t = _by_op(onnx), _by_op(tflite)
    # Fused activations: the ONNX Relus' cost sits on TFLite's convolutions.
    fused = [r for r in tflite.layers if r.attrs.get("fused_activation_function") == "RELU"]
    assert len(fused) == sum(1 for r in onnx.layers if r.op_type == "Relu") == 3
    assert t["CONV_2D"] - o["Conv"] == o["Relu"] > 0
    # x·x: one ONNX Mul is TFLite's SQUARE.
    assert o["Mul"] - t["MUL"] == t["SQUARE"] > 0
    # Renamed, same count.
    assert (o["Sigmoid"], o["ReduceSum"], o["Where"]) == (t["LOGISTIC"], t["SUM"], t["SELECT_V2"])
