"""TFLite fixtures made by the real TensorFlow Lite converter from Keras MobileNets.

Writes, in ``tests/fixtures/tflite/``:

* ``mobilenet_v1_a025_r128_float.tflite.xz`` and ``..._int8.tflite.xz``: ``tf.keras.applications.MobileNet``
  (α = 0.25, 128×128, 1000 classes, ``weights=None``), converted as float32 and as full-integer int8
  (per-channel int8 weights, int8 activations, int8 input and output);
* ``mobilenet_v2_a035_r96_float.tflite.xz`` and ``..._int8.tflite.xz``: ``MobileNetV2`` (α = 0.35, 96×96);
* ``mobilenet_v2_a035_r96.onnx.xz``: the same Keras MobileNetV2 exported by tf2onnx (opset 17), the
  ONNX twin of the float TFLite file (same weights, batch 1).

The weights are set to a short repeating pattern before conversion (no counted figure depends on a
weight's value): the converter's output is then mostly runs of the same bytes, and xz keeps each file
small. Each layer repeats a period of its own (13 + its index), and BatchNorm's β is such a pattern
too (γ = 1, mean 0, variance 1), because the converter stores two equal constants once: with one
pattern for every layer, every conv of a shape seen before would share the earlier conv's filter
and every folded bias of a width seen before would share a bias, and the file would hold fewer
parameters than the network has. The converter folds BatchNorm into the convolutions as it always
does. The int8 files are calibrated on 8 seeded random images.

Each file is checked here: the TensorFlow Lite interpreter runs it, and the ONNX twin's output
equals the float TFLite file's within 1e-4. The spec figures the tests compare with come from the
specs (``archcost analyze mobilenet_v2 --set alpha=0.35,resolution=96``), not from this script.

Environment (outside the repo, never in CI; the one tools/corpus/README.md describes)::

    TF_USE_LEGACY_KERAS=1 /work/fixenv-tf/bin/python tools/corpus/tflite_models.py
"""

from __future__ import annotations

import lzma
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.keras = tf_keras (Keras 2), as tf2onnx expects
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_DIR = REPO / "tests" / "fixtures" / "tflite"

MODELS = {
    # name: (keras application, alpha, resolution)
    "mobilenet_v1_a025_r128": ("MobileNet", 0.25, 128),
    "mobilenet_v2_a035_r96": ("MobileNetV2", 0.35, 96),
}


def _pattern(size: int, period: int, dtype: Any) -> Any:
    """``size`` values repeating with ``period`` (within ±0.06): distinct periods, distinct tensors."""
    import numpy as np

    return ((np.arange(size) % period - period // 2) * (0.12 / period)).astype(dtype)


def _patterned(model: Any) -> None:
    """Every weight a repeating pattern with a period of its own layer's, BatchNorm γ = 1, mean 0,
    variance 1 and β a pattern (the folded bias), so that no two constants are equal."""
    import numpy as np

    for index, layer in enumerate(model.layers):
        weights = layer.get_weights()
        if not weights:
            continue
        period = 13 + index
        if layer.__class__.__name__ == "BatchNormalization":
            gamma, beta, mean, var = weights
            layer.set_weights([np.ones_like(gamma), _pattern(beta.size, period, beta.dtype), np.zeros_like(mean),
                               np.ones_like(var)])
            continue
        layer.set_weights([_pattern(w.size, period + k, w.dtype).reshape(w.shape) for k, w in enumerate(weights)])


def build(name: str) -> Any:
    import tensorflow as tf

    app, alpha, resolution = MODELS[name]
    tf.keras.utils.set_random_seed(0)
    model = getattr(tf.keras.applications, app)(input_shape=(resolution, resolution, 3), alpha=alpha,
                                                weights=None, classes=1000)
    _patterned(model)
    return model


def convert(model: Any, int8: bool, resolution: int) -> bytes:
    import numpy as np
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        rng = np.random.default_rng(0)

        def samples() -> Any:
            for _ in range(8):
                yield [rng.standard_normal((1, resolution, resolution, 3)).astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    data: bytes = converter.convert()
    return data


def run_tflite(data: bytes, x: Any) -> Any:
    import numpy as np
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_content=data)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    if inp["dtype"] == np.int8:
        scale, zero = inp["quantization"]
        x = np.clip(np.round(x / scale + zero), -128, 127).astype(np.int8)
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def onnx_twin(model: Any, resolution: int) -> bytes:
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec((1, resolution, resolution, 3), tf.float32, name="input"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    data: bytes = proto.SerializeToString()
    return data


def write(path: Path, data: bytes) -> None:
    packed = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    path.write_bytes(packed)
    print(f"{path.relative_to(REPO)}: {len(data):,} bytes, {len(packed):,} compressed")


def main() -> None:
    import numpy as np

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, (_, _, resolution) in MODELS.items():
        model = build(name)
        x = np.random.default_rng(1).standard_normal((1, resolution, resolution, 3)).astype(np.float32)
        float_data = convert(model, False, resolution)
        expected = model(x).numpy()
        got = run_tflite(float_data, x)
        assert np.allclose(got, expected, atol=1e-4), float(np.abs(got - expected).max())
        write(OUT_DIR / f"{name}_float.tflite.xz", float_data)
        int8_data = convert(model, True, resolution)
        run_tflite(int8_data, x)  # runs
        write(OUT_DIR / f"{name}_int8.tflite.xz", int8_data)
        if name.startswith("mobilenet_v2"):
            import onnxruntime as ort

            onnx_data = onnx_twin(model, resolution)
            session = ort.InferenceSession(onnx_data, providers=["CPUExecutionProvider"])
            (out,) = session.run(None, {session.get_inputs()[0].name: x})
            assert np.allclose(out, got, atol=1e-4), float(np.abs(out - got).max())
            write(OUT_DIR / f"{name}.onnx.xz", onnx_data)


if __name__ == "__main__":
    main()
