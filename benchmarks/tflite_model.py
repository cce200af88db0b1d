"""A 100 MB TFLite model for the benchmarks: eleven 3×3 convolutions of 512 channels (VGG-16's last
stage, repeated) on a 14×14 map, float32 zero weights with biases and fused RELU.

Written with the test suite's flatbuffer writer (tests/tflite_builders.py, which takes every field
slot from the ``tflite`` package: ``pip install tflite flatbuffers``), cached like the ONNX models.
"""

from __future__ import annotations

from pathlib import Path

#: Conv layers, channels and feature-map side: 11 × 3·3·512·512 float32 weights = 104 MB.
LAYERS, CHANNELS, SIDE = 11, 512, 14


def build(path: Path) -> Path:
    import numpy as np

    from tests.tflite_builders import Op, Subgraph, T, model

    tensors = [T("input", (1, SIDE, SIDE, CHANNELS))]
    ops = []
    weight = np.zeros((CHANNELS, 3, 3, CHANNELS), np.float32)
    bias = np.zeros(CHANNELS, np.float32)
    for i in range(LAYERS):
        x = len(tensors) - 1
        tensors += [T(f"block/conv{i}/kernel", weight.shape, data=weight), T(f"block/conv{i}/bias", bias.shape,
                                                                             data=bias),
                    T(f"block/conv{i}/Relu", (1, SIDE, SIDE, CHANNELS))]
        ops.append(Op("CONV_2D", [x, x + 1, x + 2], [x + 3], "Conv2DOptions",
                      {"padding": "SAME", "stride_w": 1, "stride_h": 1, "fused_activation_function": "RELU"}))
    data = model([Subgraph(tensors, ops, [0], [len(tensors) - 1], "main")], description="archcost benchmark")
    path.write_bytes(data)
    return path


def tflite_path(cache: Path) -> Path:
    """The cached 100 MB model, built on first use in a process of its own: the writer holds the
    whole file in memory, and a measured child forked from a parent that grew so large would
    inherit its peak resident set (``ru_maxrss`` survives fork and exec)."""
    import subprocess
    import sys

    path = cache / "conv_stack_100mb.tflite"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        root = Path(__file__).resolve().parent.parent
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                        "from benchmarks.tflite_model import build; build(Path(sys.argv[1]))", str(path)],
                       cwd=root, check=True)
    return path
