"""Corpus fixtures made by the real paddle2onnx from a small paddle.nn model built in code.

Two toolchains, two fixtures (the script picks the variant from the installed paddle's major version):

* ``paddle_conv_fpn.onnx``: paddlepaddle 3.3.1 (PIR programs) + paddle2onnx 2.1.0, opset 13;
* ``paddle_legacy_conv_fpn.onnx``: paddlepaddle 2.6.2 (ProgramDesc) + paddle2onnx 1.2.11, opset 11, which
  stores every weight as a Constant node (no initializers), as the PP-OCRv4 models rapidocr ships do.

The model (NCHW, seed 0, eval mode), exported with ``paddle.onnx.export`` (which calls paddle2onnx) and
``InputSpec(shape=[None, 3, None, None])``, so batch, H and W are all dynamic in the file:

    stem:  Conv2D(3->16, 3x3, stride 2, pad 1, no bias) + BatchNorm2D + ReLU        -> [N, 16, H1, W1]
    body:  Conv2D(16->32, 3x3, pad 1) + BatchNorm2D + ReLU                          -> [N, 32, H1, W1]
    down:  MaxPool2D(2)                                                            -> [N, 32, H1/2, W1/2]
    up:    2x upsample, concat with ``body``                                        -> [N, 64, H1, W1]
             legacy: F.interpolate(scale_factor=2.0, mode="nearest")  (Resize)
             pir:    Conv2DTranspose(32->32, 2x2, stride 2)           (ConvTranspose)
    fuse:  Conv2D(64->32, 1x1) + ReLU
    head:  AdaptiveAvgPool2D(1), paddle.reshape(x, [-1, 32]), Linear(32->10)

with H1 = floor((H - 1)/2) + 1, W1 likewise; the concat needs H1 and W1 even (the points use multiples of 4).

The PIR variant upsamples with a Conv2DTranspose because paddle2onnx 2.1.0 cannot convert ``F.interpolate``
/ ``nn.Upsample`` from paddle 3.3.1 at all (scale_factor=2, 2.0, [2.0, 2.0], size=..., nearest or bilinear,
PIR or legacy program alike): ``(Unimplemented) the 0th elementwise MUST be ir::FloatAttribute
(at /github/workspace/paddle2onnx/parser/pir_parser.cc:814)``.

Closed form of the MACs (Conv, ConvTranspose and Linear only), per image:
    legacy  7088·H1·W1 + 320          (stem 16·27 = 432, body 32·144 = 4608, fuse 32·64 = 2048 per H1·W1 pixel;
    pir     8112·H1·W1 + 320           Linear 32·10; the ConvTranspose adds 32·32·4 per input pixel = 1024·H1·W1)
The manifests' numbers come from ``ort_count.py`` (onnxruntime shapes); the script asserts they equal these.

Environments (outside the repo; pins recorded in tools/corpus/README.md)::

    python3.11 -m venv /work/fixenv-paddle
    /work/fixenv-paddle/bin/pip install paddlepaddle==3.3.1 paddle2onnx==2.1.0 onnxruntime==1.32.0
    /work/fixenv-paddle/bin/python tools/corpus/paddle_models.py          # -> paddle_conv_fpn

    python3.11 -m venv /work/fixenv-paddle26
    /work/fixenv-paddle26/bin/pip install paddlepaddle==2.6.2 "numpy<2" protobuf==3.20.3 onnx==1.16.2 \
        onnxruntime==1.19.2 six
    /work/fixenv-paddle26/bin/pip install --no-deps paddle2onnx==1.2.11
    /work/fixenv-paddle26/bin/python tools/corpus/paddle_models.py        # -> paddle_legacy_conv_fpn
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
OUT_DIR = REPO / "tests" / "fixtures" / "corpus"
VARIANTS = {  # name, opset, upsample
    "pir": ("paddle_conv_fpn", 13, "convtranspose"),
    "legacy": ("paddle_legacy_conv_fpn", 11, "nearest"),
}
POINTS = [  # NCHW; every dynamic dim varies
    (1, 32, 32),
    (2, 64, 48),
    (3, 40, 96),
    (1, 128, 64),
]


def per_pixel(upsample: str) -> int:
    return 8112 if upsample == "convtranspose" else 7088


def out_hw(h: int, w: int) -> tuple[int, int]:
    return (h - 1) // 2 + 1, (w - 1) // 2 + 1


def closed_form_macs(n: int, h: int, w: int, upsample: str) -> int:
    h1, w1 = out_hw(h, w)
    per = h1 * w1 * (16 * 3 * 3 * 3 + 32 * 16 * 3 * 3 + 32 * 64) + 32 * 10
    if upsample == "convtranspose":
        per += (h1 // 2) * (w1 // 2) * 32 * 32 * 2 * 2
    return n * per


def build_model(upsample: str):  # type: ignore[no-untyped-def]
    # module globals, not closure cells: paddle 2.6's dy2static rewrites forward() and loses closure names
    global paddle, F
    import paddle
    import paddle.nn as nn
    import paddle.nn.functional as F

    paddle.seed(0)

    class ConvFPN(nn.Layer):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2D(3, 16, 3, stride=2, padding=1, bias_attr=False)
            self.stem_bn = nn.BatchNorm2D(16)
            self.body = nn.Conv2D(16, 32, 3, padding=1, bias_attr=False)
            self.body_bn = nn.BatchNorm2D(32)
            self.pool = nn.MaxPool2D(2)
            self.up = nn.Conv2DTranspose(32, 32, 2, stride=2) if upsample == "convtranspose" else None
            self.fuse = nn.Conv2D(64, 32, 1)
            self.gap = nn.AdaptiveAvgPool2D(1)
            self.fc = nn.Linear(32, 10)

        def forward(self, x):  # type: ignore[no-untyped-def]
            x = F.relu(self.stem_bn(self.stem(x)))
            f = F.relu(self.body_bn(self.body(x)))
            d = self.pool(f)
            u = self.up(d) if self.up is not None else F.interpolate(d, scale_factor=2.0, mode="nearest")
            x = F.relu(self.fuse(paddle.concat([f, u], axis=1)))
            x = self.gap(x)
            x = paddle.reshape(x, [-1, 32])
            return self.fc(x)

    model = ConvFPN()
    # deterministic, non-trivial BatchNorm statistics
    import numpy as np

    rng = np.random.default_rng(0)
    for bn in (model.stem_bn, model.body_bn):
        c = bn._mean.shape[0]
        bn._mean.set_value((0.1 * rng.standard_normal(c)).astype("float32"))
        bn._variance.set_value((1.0 + 0.1 * rng.random(c)).astype("float32"))
        bn.weight.set_value((1.0 + 0.1 * rng.standard_normal(c)).astype("float32"))
        bn.bias.set_value((0.1 * rng.standard_normal(c)).astype("float32"))
    model.eval()
    return model


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import paddle
    import paddle2onnx

    sys.path.insert(0, str(HERE))
    import ort_count

    args = sys.argv[1:] if argv is None else argv
    variant = args[args.index("--variant") + 1] if "--variant" in args else (
        "pir" if int(paddle.__version__.split(".")[0]) >= 3 else "legacy"
    )
    NAME, OPSET, upsample = VARIANTS[variant]
    model = build_model(upsample)
    spec = [paddle.static.InputSpec(shape=[None, 3, None, None], dtype="float32", name="x")]
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{NAME}.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        # paddle.onnx.export writes <prefix>.onnx through paddle2onnx
        paddle.onnx.export(model, os.path.join(tmp, NAME), input_spec=spec, opset_version=OPSET)
        data = Path(tmp, f"{NAME}.onnx").read_bytes()
    m = onnx.load_from_string(data)
    onnx.checker.check_model(m)
    path.write_bytes(data)

    points = []
    for n, h, w in POINTS:
        shapes = {"x": [n, 3, h, w]}
        feeds = ort_count.make_feeds(m, shapes, seed=n * 1000 + h * 10 + w)
        res = ort_count.count(m, feeds)
        cf = closed_form_macs(n, h, w, upsample)
        if res.macs != cf or res.profile_mismatches:
            raise SystemExit(f"{(n, h, w)}: ort count {res.macs} != closed form {cf} ({res.profile_mismatches})")
        sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
        got = sess.run(None, feeds)[0]
        want = model(paddle.to_tensor(feeds["x"])).numpy()
        err = float(np.max(np.abs(got - want)))
        if err > 1e-4:
            raise SystemExit(f"{(n, h, w)}: onnxruntime differs from paddle by {err}")
        points.append({
            "dims": ort_count.point_dims(m, shapes),
            "input_shapes": shapes,
            "macs": res.macs,
            "counter": res.counter
            + f"; equals the layer-config closed form {per_pixel(upsample)}·H1·W1 + 320 per image",
            "by_op": res.macs_by_op,
            "closed_form_macs": cf,
            "output_shapes": res.output_shapes,
        })
        print(f"{(n, h, w)}: {res.macs} MACs {res.macs_by_op}, |onnx-paddle| {err:.2e}")

    info = ort_count.describe(m)
    dims = info["inputs"]["x"]
    outs = info["outputs"]
    manifest = {
        "model": path.name,
        "generator": "tools/corpus/paddle_models.py",
        "source": (
            "paddle.nn model built in code (tools/corpus/paddle_models.py: Conv2D+BatchNorm2D+ReLU x2, MaxPool2D, "
            + ("Conv2DTranspose x2" if upsample == "convtranspose" else "F.interpolate(scale_factor=2.0, nearest)")
            + " + concat, 1x1 Conv2D, AdaptiveAvgPool2D, reshape [-1, 32], Linear), seed 0, "
            f"paddlepaddle {paddle.__version__}, paddle.onnx.export(input_spec=[InputSpec([None, 3, None, None])], "
            f"opset_version={OPSET}) -> paddle2onnx {paddle2onnx.__version__}"
        ),
        "dynamic_dims": info.pop("dynamic_dims"),
        "inputs": info.pop("inputs"),
        "outputs": info.pop("outputs"),
        "points": points,
        "ort_ran": True,
        "notes": " ".join([
            f"How paddle2onnx {paddle2onnx.__version__} declares the input: x = {json.dumps(dims)}. InputSpec None "
            "becomes a dim_param 'DynamicDimension.N' (not dim_value -1, not '?', not an empty dim). Other Paddle "
            "exports differ: [-1, 3, '?', '?'] from the paddle2onnx that made PP-OCR v2.0 (producer 'PaddlePaddle', "
            "IR 7; pkg_ppocr_mobile_v2_cls), 'p2o.DynamicDimension.N' from the one that made PP-OCRv4 "
            "(pkg_ppocrv4_det).",
            f"The output is declared {json.dumps(outs)}"
            + (" (its batch is a new symbol, not tied to the input's)." if variant == "legacy" else "."),
            "Weights are Constant nodes, there are no initializers (paddle2onnx 1.x)." if not m.graph.initializer
            else "Weights are initializers.",
            "H and W must give even H1 = floor((H-1)/2)+1 (the upsampled map is concatenated with the pre-pool "
            "map); the points use multiples of 4.",
            "MACs: the three Conv" + (", the ConvTranspose" if upsample == "convtranspose" else "")
            + " and the Linear (MatMul); BatchNorm, ReLU, pooling, Resize, Concat excluded.",
            "The upsample is a Conv2DTranspose because paddle2onnx 2.1.0 fails on every F.interpolate/nn.Upsample "
            "(pir_parser.cc:814 'the 0th elementwise MUST be ir::FloatAttribute')." if upsample == "convtranspose"
            else "The upsample is a nearest Resize.",
            "onnxruntime output equals paddle within 1e-4 at every point.",
        ]),
        **info,
        "checker": "onnx.checker.check_model passed",
        "versions": ort_count.versions(
            "paddlepaddle", "paddle2onnx", "onnx", "onnxruntime", "numpy", "protobuf", "onnxoptimizer", "polygraphy"
        ),
    }
    (OUT_DIR / f"{NAME}.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes) and {NAME}.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
