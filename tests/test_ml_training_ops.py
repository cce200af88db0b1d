"""Tree ensembles, ZipMap, the preview training optimizers and FlexAttention.

Output shapes are checked against a real run: onnxruntime for the ``ai.onnx.ml`` ops, the
onnx package's reference implementation for the preview domains (onnxruntime's inference
build has no kernels for them). Costs are checked against closed forms written here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from archcost.api import analyze
from tests.onnx_builders import save, value_info

ML = "ai.onnx.ml"
TRAINING = "ai.onnx.preview.training"
PREVIEW = "ai.onnx.preview"


def _one(op: str, domain: str, version: int, inputs: list[tuple[str, list[int], int]], outputs: list[str],
         opset: int = 17, **attrs: Any) -> onnx.ModelProto:
    graph = helper.make_graph([helper.make_node(op, [i[0] for i in inputs], outputs, domain=domain, **attrs)],
                              "g", [value_info(n, s, t) for n, s, t in inputs],
                              [onnx.ValueInfoProto(name=o) for o in outputs])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                   helper.make_opsetid(domain, version)])


def _run_ort(m: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[Any]:
    ort = pytest.importorskip("onnxruntime", reason="the shapes come from an onnxruntime run")
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)  # type: ignore[no-any-return]


# Two trees: tree 0 splits on feature 0 then feature 1 (depth 2), tree 1 is a single split (depth 1).
_REGRESSOR = {
    "nodes_treeids": [0, 0, 0, 0, 0, 1, 1, 1], "nodes_nodeids": [0, 1, 2, 3, 4, 0, 1, 2],
    "nodes_featureids": [0, 1, 0, 0, 0, 1, 0, 0],
    "nodes_modes": ["BRANCH_LEQ", "BRANCH_LEQ", "LEAF", "LEAF", "LEAF", "BRANCH_LEQ", "LEAF", "LEAF"],
    "nodes_values": [0.5, 0.2, 0, 0, 0, 0.1, 0, 0], "nodes_truenodeids": [1, 2, 0, 0, 0, 1, 0, 0],
    "nodes_falsenodeids": [4, 3, 0, 0, 0, 2, 0, 0],
    "target_treeids": [0, 0, 0, 1, 1], "target_nodeids": [2, 3, 4, 1, 2], "target_ids": [0, 0, 0, 0, 0],
    "target_weights": [1.0, 2.0, 3.0, 4.0, 5.0],
}


def test_tree_ensemble_regressor_compares_once_per_level_walked(tmp_path: Path) -> None:
    m = _one("TreeEnsembleRegressor", ML, 3, [("x", [6, 2], TensorProto.FLOAT)], ["y"], n_targets=1,
             **_REGRESSOR)
    (y,) = _run_ort(m, {"x": np.zeros((6, 2), np.float32)})
    report = analyze(str(save(m, tmp_path / "r.onnx")))
    assert report.tensor_shapes["y"] == y.shape == (6, 1)
    assert report.layers[0].terms == {"elementwise_op": 6 * (2 + 1)}  # N · Σ depth, depths 2 and 1


def test_tree_ensemble_classifier_scores_every_class(tmp_path: Path) -> None:
    attrs = {k: v for k, v in _REGRESSOR.items() if not k.startswith("target_")}
    attrs.update(class_treeids=[0, 0, 0, 1, 1], class_nodeids=[2, 3, 4, 1, 2], class_ids=[0, 1, 2, 0, 1],
                 class_weights=[1.0, 1.0, 1.0, 1.0, 1.0], classlabels_int64s=[10, 20, 30])
    m = _one("TreeEnsembleClassifier", ML, 3, [("x", [4, 2], TensorProto.FLOAT)], ["label", "scores"], **attrs)
    label, scores = _run_ort(m, {"x": np.zeros((4, 2), np.float32)})
    report = analyze(str(save(m, tmp_path / "c.onnx")))
    assert (report.tensor_shapes["label"], report.tensor_shapes["scores"]) == (label.shape, scores.shape)
    assert report.layers[0].terms == {"elementwise_op": 4 * 3}


def test_tree_ensemble_v5_has_one_compare_per_interior_level(tmp_path: Path) -> None:
    # Node 0 → node 1 (true) or leaf 0 (false); node 1 → leaves 1 and 2: one tree of depth 2.
    m = _one("TreeEnsemble", ML, 5, [("x", [3, 2], TensorProto.FLOAT)], ["y"], n_targets=2,
             tree_roots=[0], nodes_featureids=[0, 1],
             nodes_modes=helper.make_tensor("m", TensorProto.UINT8, [2], [0, 0]),
             nodes_splits=helper.make_tensor("s", TensorProto.FLOAT, [2], [0.5, 0.5]),
             nodes_truenodeids=[1, 1], nodes_trueleafs=[0, 1], nodes_falsenodeids=[0, 2], nodes_falseleafs=[1, 1],
             leaf_targetids=[0, 1, 0], leaf_weights=helper.make_tensor("w", TensorProto.FLOAT, [3], [1, 2, 3]))
    report = analyze(str(save(m, tmp_path / "t.onnx")))
    assert report.tensor_shapes["y"] == (3, 2)
    assert report.layers[0].terms == {"elementwise_op": 3 * 2}


def test_zip_map_keeps_the_scores_shape(tmp_path: Path) -> None:
    m = _one("ZipMap", ML, 1, [("x", [3, 2], TensorProto.FLOAT)], ["z"], classlabels_int64s=[4, 7])
    (z,) = _run_ort(m, {"x": np.zeros((3, 2), np.float32)})
    report = analyze(str(save(m, tmp_path / "z.onnx")))
    # onnxruntime returns N maps of C entries; archcost represents them as [N, C], at no cost.
    assert report.tensor_shapes["z"] == (len(z), len(z[0])) == (3, 2)
    assert report.unknown == () and report.layers[0].terms == {}


@pytest.mark.parametrize(("op", "groups", "updated", "per_element"), [
    ("Adagrad", 3, 2, 8), ("Adam", 4, 3, 14), ("Momentum", 3, 2, 7),
], ids=["Adagrad", "Adam", "Momentum"])
def test_optimizer_steps_update_each_tensor(tmp_path: Path, op: str, groups: int, updated: int,
                                            per_element: int) -> None:
    from onnx.reference import ReferenceEvaluator

    shapes = [[3], [2, 2]]
    inputs = [("R", [], TensorProto.FLOAT), ("T", [], TensorProto.INT64)]
    for g in range(groups):
        inputs += [(f"t{g}_{k}", s, TensorProto.FLOAT) for k, s in enumerate(shapes)]
    outputs = [f"o{u}_{k}" for u in range(updated) for k in range(len(shapes))]
    attrs = {"mode": "standard", "alpha": 0.9, "beta": 0.1, "norm_coefficient": 0.0} if op == "Momentum" else {}
    m = _one(op, TRAINING, 1, inputs, outputs, **attrs)
    feeds = {n: np.ones(s, np.float32) if t == TensorProto.FLOAT else np.array(1, np.int64) for n, s, t in inputs}
    ran = ReferenceEvaluator(m).run(None, feeds)
    report = analyze(str(save(m, tmp_path / f"{op}.onnx")))
    assert [report.tensor_shapes[o] for o in outputs] == [r.shape for r in ran]
    assert report.layers[0].terms == {"elementwise_op": per_element * (3 + 4)}


def test_gradient_outputs_have_their_xs_shapes(tmp_path: Path) -> None:
    m = _one("Gradient", TRAINING, 1, [("a", [2, 3], TensorProto.FLOAT), ("b", [2, 3], TensorProto.FLOAT)],
             ["da", "db"], xs=["a", "b"], y="c")
    report = analyze(str(save(m, tmp_path / "g.onnx")))
    assert (report.tensor_shapes["da"], report.tensor_shapes["db"]) == ((2, 3), (2, 3))
    assert report.unknown == ()


def test_flex_attention_counts_both_products_and_its_modifier(tmp_path: Path) -> None:
    from onnx.reference import ReferenceEvaluator

    b, hq, hkv, length, span, d, dv = 2, 8, 2, 4, 6, 16, 8
    # score_mod: scores × 0.5, one elementwise op per score.
    half = helper.make_tensor("half", TensorProto.FLOAT, [], [0.5])
    score_mod = helper.make_graph([helper.make_node("Mul", ["s", "half"], ["s2"])], "score_mod",
                                  [value_info("s", [b, hq, length, span])], [value_info("s2", [b, hq, length, span])],
                                  [half])
    m = _one("FlexAttention", PREVIEW, 1, [("Q", [b, hq, length, d], TensorProto.FLOAT),
                                           ("K", [b, hkv, span, d], TensorProto.FLOAT),
                                           ("V", [b, hkv, span, dv], TensorProto.FLOAT)], ["Y"], opset=26,
             score_mod=score_mod)
    feeds = {"Q": np.ones((b, hq, length, d), np.float32), "K": np.ones((b, hkv, span, d), np.float32),
             "V": np.ones((b, hkv, span, dv), np.float32)}
    (y,) = ReferenceEvaluator(m).run(None, feeds)
    report = analyze(str(save(m, tmp_path / "flex.onnx")))
    scores = b * hq * length * span
    assert report.tensor_shapes["Y"] == y.shape == (b, hq, length, dv)
    assert report.layers[0].terms == {"mac": scores * (d + dv), "softmax_op": 3 * scores, "elementwise_op": scores}
