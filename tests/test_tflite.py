"""The TFLite front end without the interpreter: operators LiteRT cannot run alone (DENSIFY)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from archcost.api import analyze


def test_densify_hands_its_dense_weight_to_the_conv(tmp_path: Path) -> None:
    """A sparse filter reaches CONV_2D through DENSIFY: the conv's weights are counted at the dense
    shape [8, 3, 3, 3], its MACs are the dense conv's (5·5·8·3·3·3 at stride 2, SAME, on 9×9)."""
    pytest.importorskip("tflite", reason="the test model is written with the official schema's bindings: "
                        "pip install tflite==2.18.0")
    from tests.tflite_builders import Op, Subgraph, T, model

    w = np.ones((8, 3, 3, 3), np.float32)
    tensors = [T("x", (1, 9, 9, 3)), T("w_sparse", (8, 3, 3, 3), data=w), T("w", (8, 3, 3, 3)),
               T("b", (8,), data=np.ones(8, np.float32)), T("y", (1, 5, 5, 8))]
    ops = [Op("DENSIFY", [1], [2]),
           Op("CONV_2D", [0, 2, 3], [4], "Conv2DOptions", {"padding": "SAME", "stride_w": 2, "stride_h": 2})]
    path = tmp_path / "densify.tflite"
    path.write_bytes(model([Subgraph(tensors, ops, [0], [4], "main")]))
    report = analyze(str(path))
    assert [r.op_type for r in report.layers] == ["DENSIFY", "CONV_2D"]
    assert report.totals.macs == 5 * 5 * 8 * 3 * 3 * 3
    assert report.totals.params_by_kind == {"weight": 8 * 3 * 3 * 3, "bias": 8, "norm": 0, "buffer": 0}
