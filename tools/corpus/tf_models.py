"""Corpus fixture made by the real tf2onnx from a small Keras model built in code.

Writes ``tests/fixtures/corpus/tf2onnx_conv_attention.onnx`` and its manifest ``.json``.

The model (tf_keras, i.e. Keras 2 as shipped beside TensorFlow 2.21; channels-last; seed 0), on an
image input ``[batch, H, W, 3]`` whose batch, H and W are all dynamic:

    Conv2D(16, 3x3, stride 2, same) + ReLU
    DepthwiseConv2D(3x3, same) + BatchNorm + ReLU
    Conv2D(24, 1x1)                                   -> [b, Ho, Wo, 24], Ho = ceil(H/2), Wo = ceil(W/2)
    tokens: tf.reshape to [b, reduce_prod(shape[1:3]), 24]   (T = Ho·Wo tokens, a dynamic sequence)
    attention: EinsumDense('btc,cd->btd') for q, k, v (d = 16);
               tf.einsum('bqd,bkd->bqk'), softmax, tf.einsum('bqk,bkd->bqd');
               Dense(24) on the rank-3 tensor (Keras lowers it to tensordot); residual; LayerNorm
    GlobalAveragePooling1D, Dense(32) + ReLU, Dense(10)

Closed form of the MACs (Conv/Dense/einsum contractions only), per image:
    2496·T + 32·T² + 1088,   T = ceil(H/2)·ceil(W/2)
(conv 432·T, depthwise 144·T, pointwise 384·T, q/k/v 3·384·T, scores 16·T², context 16·T²,
 output projection 384·T, head 24·32 + 32·10 = 1088). The manifest's numbers come from
``ort_count.py`` (onnxruntime shapes), and this script asserts they equal the closed form.

Environment (outside the repo; pins recorded in tools/corpus/README.md)::

    python3.11 -m venv /work/fixenv-tf
    /work/fixenv-tf/bin/pip install tensorflow-cpu==2.21.0 tf-keras==2.21.0 tf2onnx==1.17.0 \
        onnx==1.23.2 onnxruntime==1.32.0
    TF_USE_LEGACY_KERAS=1 /work/fixenv-tf/bin/python tools/corpus/tf_models.py
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.keras = tf_keras (Keras 2), which tf2onnx.from_keras supports
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_DIR = REPO / "tests" / "fixtures" / "corpus"
NAME = "tf2onnx_conv_attention"
OPSET = 17
D = 16  # attention width
POINTS = [  # (batch, H, W) in NHWC; every dynamic dim varies
    (1, 32, 32),
    (2, 24, 40),
    (3, 17, 9),
    (1, 64, 48),
]


def closed_form_macs(batch: int, h: int, w: int) -> int:
    t = math.ceil(h / 2) * math.ceil(w / 2)
    per = (
        t * 16 * 3 * 3 * 3  # Conv2D 3->16, 3x3, on the Ho x Wo output
        + t * 16 * 3 * 3  # DepthwiseConv2D, 16 channels, 3x3
        + t * 24 * 16  # Conv2D 16->24, 1x1
        + 3 * t * 24 * D  # q, k, v EinsumDense 24->16
        + t * t * D  # einsum bqd,bkd->bqk
        + t * t * D  # einsum bqk,bkd->bqd
        + t * D * 24  # Dense 16->24 on [b, T, 16]
        + 24 * 32  # Dense 24->32
        + 32 * 10  # Dense 32->10
    )
    return batch * per


def build_model():  # type: ignore[no-untyped-def]
    import tensorflow as tf

    keras = tf.keras
    keras.utils.set_random_seed(0)
    layers = keras.layers

    class Tokens(layers.Layer):  # type: ignore[misc]
        """[b, h, w, c] -> [b, h*w, c] with the token count computed from the runtime shape."""

        def call(self, x):  # type: ignore[no-untyped-def]
            s = tf.shape(x)
            n = tf.reduce_prod(s[1:3])
            return tf.reshape(x, tf.stack([s[0], n, s[3]]))

    class TinyAttention(layers.Layer):  # type: ignore[misc]
        def __init__(self, d: int, out: int, **kw) -> None:  # type: ignore[no-untyped-def]
            super().__init__(**kw)
            self.d = d
            self.q = layers.EinsumDense("btc,cd->btd", output_shape=(None, d), bias_axes="d", name="q")
            self.k = layers.EinsumDense("btc,cd->btd", output_shape=(None, d), bias_axes="d", name="k")
            self.v = layers.EinsumDense("btc,cd->btd", output_shape=(None, d), bias_axes="d", name="v")
            self.o = layers.Dense(out, name="o")

        def call(self, x):  # type: ignore[no-untyped-def]
            q, k, v = self.q(x), self.k(x), self.v(x)
            scores = tf.einsum("bqd,bkd->bqk", q, k) * (1.0 / math.sqrt(self.d))
            attn = tf.nn.softmax(scores, axis=-1)
            ctx = tf.einsum("bqk,bkd->bqd", attn, v)
            return self.o(ctx)

    inp = keras.Input(shape=(None, None, 3), name="image")
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="stem")(inp)
    x = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(x)
    x = layers.BatchNormalization(name="dw_bn")(x)
    x = layers.ReLU(name="dw_relu")(x)
    x = layers.Conv2D(24, 1, name="pw")(x)
    t = Tokens(name="tokens")(x)
    a = TinyAttention(D, 24, name="attn")(t)
    x = layers.LayerNormalization(name="ln")(layers.Add(name="residual")([t, a]))
    x = layers.GlobalAveragePooling1D(name="gap")(x)
    x = layers.Dense(32, activation="relu", name="fc1")(x)
    out = layers.Dense(10, name="logits")(x)
    model = keras.Model(inp, out, name="conv_attention")
    # non-zero biases (tf2onnx folds away adds of all-zero constants) and BatchNorm statistics, deterministic
    rng = __import__("numpy").random.default_rng(0)
    for var in model.weights:
        if "bias" in var.name:
            var.assign((0.1 * rng.standard_normal(var.shape)).astype("float32"))
    bn = model.get_layer("dw_bn")
    gamma, beta, mean, var = bn.get_weights()
    bn.set_weights([
        (1.0 + 0.1 * rng.standard_normal(gamma.shape)).astype("float32"),
        (0.1 * rng.standard_normal(beta.shape)).astype("float32"),
        (0.1 * rng.standard_normal(mean.shape)).astype("float32"),
        (1.0 + 0.1 * rng.random(var.shape)).astype("float32"),
    ])
    return model


def _fingerprint(model) -> tuple:  # type: ignore[no-untyped-def]
    """The graph with every tensor and node name left out: what regeneration must reproduce."""
    import onnx

    ops = sorted(
        (n.op_type, n.domain, len(n.input), len(n.output), tuple(sorted(str(a).replace(a.name, "", 1)
                                                                         for a in n.attribute)))
        for n in model.graph.node
    )
    inits = sorted(
        (tuple(i.dims), i.data_type, onnx.numpy_helper.to_array(i).tobytes()) for i in model.graph.initializer
    )
    io = [(str(v.type),) for v in list(model.graph.input) + list(model.graph.output)]
    return (tuple(ops), tuple(inits), tuple(io), tuple((o.domain, o.version) for o in model.opset_import))


def main() -> int:
    import numpy as np
    import onnx
    import tensorflow as tf
    import tf2onnx

    sys.path.insert(0, str(HERE))
    import ort_count

    model = build_model()
    spec = (tf.TensorSpec((None, None, None, 3), tf.float32, name="image"),)
    onnx_model, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=OPSET)
    onnx.checker.check_model(onnx_model)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{NAME}.onnx"
    # tf2onnx names some constants and nodes after id() values and set order, so two conversions differ in
    # names only; keep the committed file when nothing but names changed
    if path.exists() and _fingerprint(onnx.load(str(path))) == _fingerprint(onnx_model):
        print(f"{path.name}: unchanged apart from tf2onnx's generated names; keeping the existing file")
    else:
        onnx.save(onnx_model, str(path))
    m = onnx.load(str(path))

    points = []
    for b, h, w in POINTS:
        feeds = ort_count.make_feeds(m, {"image": [b, h, w, 3]}, seed=b * 1000 + h * 10 + w)
        res = ort_count.count(m, feeds)
        cf = closed_form_macs(b, h, w)
        if res.macs != cf or res.profile_mismatches:
            raise SystemExit(f"{(b, h, w)}: ort count {res.macs} != closed form {cf} ({res.profile_mismatches})")
        # the ONNX graph computes what the Keras model computes
        import onnxruntime as ort

        sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        got = sess.run(None, feeds)[0]
        want = model(feeds["image"], training=False).numpy()
        err = float(np.max(np.abs(got - want)))
        if err > 1e-3:
            raise SystemExit(f"{(b, h, w)}: onnxruntime differs from Keras by {err}")
        points.append({
            "dims": ort_count.point_dims(m, {"image": [b, h, w, 3]}),
            "input_shapes": {"image": [b, h, w, 3]},
            "macs": res.macs,
            "counter": res.counter + "; equals the layer-config closed form 2496·T + 32·T² + 1088 per image",
            "by_op": res.macs_by_op,
            "closed_form_macs": cf,
            "output_shapes": res.output_shapes,
        })
        print(f"{(b, h, w)}: {res.macs} MACs {res.macs_by_op}, |onnx-keras| {err:.2e}")

    import tf_keras

    info = ort_count.describe(m)
    manifest = {
        "model": path.name,
        "generator": "tools/corpus/tf_models.py",
        "source": (
            f"Keras model built in code (tools/corpus/tf_models.py: Conv2D/DepthwiseConv2D+BN/1x1 Conv2D, tokens by "
            f"tf.reshape with reduce_prod, EinsumDense q/k/v, tf.einsum attention, rank-3 Dense, LayerNorm, GAP, "
            f"Dense head), seed 0, tensorflow-cpu {tf.__version__} + tf_keras {tf_keras.__version__} "
            f"(TF_USE_LEGACY_KERAS=1), tf2onnx {tf2onnx.__version__} tf2onnx.convert.from_keras("
            f"input_signature=[TensorSpec((None, None, None, 3))], opset={OPSET})"
        ),
        "dynamic_dims": info.pop("dynamic_dims"),
        "inputs": info.pop("inputs"),
        "outputs": info.pop("outputs"),
        "points": points,
        "ort_ran": True,
        "notes": (
            "NHWC input; tf2onnx names every None dim 'unk__N' (dim_param), batch, H and W independent (any H, W "
            ">= 1). tf2onnx inserts Transpose NHWC->NCHW before the first Conv and back after the last; the "
            "DepthwiseConv2D is a Conv with group=16 whose weights have the BatchNorm folded in. The token count "
            "T = ceil(H/2)*ceil(W/2) is computed in-graph (Shape -> Cast -> Slice -> ReduceProd -> Concat -> "
            "Reshape). tf2onnx lowers EinsumDense and both tf.einsum calls to MatMul (no Einsum node survives), "
            "the einsums through Unsqueeze/Transpose/Shape/Gather/Max/Concat/Reshape chains; the rank-3 Dense "
            "arrives as Keras' tensordot (Shape/Gather/Concat/Reshape around a 2-D MatMul); LayerNormalization "
            "arrives as ReduceMean/ReduceSumSquare/BatchNormalization on a reshaped tensor. The unused "
            "ai.onnx.ml opset import is tf2onnx's. MACs: the 3 Conv and 8 MatMul only; onnxruntime output equals "
            "Keras within 1e-4 at every point. Regeneration gives different generated tensor/node names "
            "(tf2onnx uses id() values), so the script keeps the committed file when only names differ."
        ),
        **info,
        "checker": "onnx.checker.check_model passed",
        "versions": ort_count.versions(
            "tensorflow-cpu", "tensorflow", "tf-keras", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy", "protobuf"
        ),
    }
    (OUT_DIR / f"{NAME}.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes) and {NAME}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
