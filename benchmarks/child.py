"""One measurement in a fresh process: ``python -m benchmarks.child TOOL MODEL``; prints one JSON line.

Each tool's imports happen before the clock starts, so the figure is the work on
the model itself. ``maxrss_mb`` is the whole process's peak resident set
(``getrusage``), imports included.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any


def _archcost(path: str, reader: str) -> dict[str, Any]:
    import archcost.cost.analyze
    import archcost.frontends.onnx
    import archcost.frontends.tflite  # noqa: F401
    from archcost.api import analyze

    start = time.perf_counter()
    report = analyze(path, reader=reader)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "macs": report.totals.macs, "params": report.totals.params,
            "unknown": [u.op_type for u in report.unknown]}


def _stages(path: str) -> dict[str, Any]:
    """Where archcost's time goes: the protobuf structure, the Graph, the analysis walk."""
    from pathlib import Path

    import archcost.cost.analyze
    import archcost.frontends.onnx as onnx_frontend
    from archcost.api import gc_paused
    from archcost.cost.conventions import PAPER
    from archcost.frontends.onnx_wire import read_structure

    with gc_paused():  # as api.analyze runs them
        start = time.perf_counter()
        structure: Any = read_structure(Path(path), path)
        read = time.perf_counter()
        real_read_model = onnx_frontend.read_model
        onnx_frontend.read_model = lambda *_args, **_kwargs: structure  # the structure just read
        try:
            graph, _ = onnx_frontend.load_onnx_graph(Path(path), path, bindings={}, symbols=())
        finally:
            onnx_frontend.read_model = real_read_model
        structure = None  # freed before the walk, as in api.analyze
        built = time.perf_counter()
        archcost.cost.analyze.analyze_graph(graph, PAPER)
        walked = time.perf_counter()
    return {"seconds": walked - start, "read": read - start, "graph": built - read, "walk": walked - built}


def _archcost_symbolic(path: str) -> dict[str, Any]:
    """A corpus model analyzed with every dynamic dim free: the formula path, in process.

    Imports and SymPy's first-use work are warmed on another model (MobileNetV1 with α and
    the resolution free), so the figure is this model's analysis alone.
    """
    import json as _json
    from pathlib import Path

    from archcost.api import analyze

    analyze("mobilenet_v1", symbols=None)
    manifest = _json.loads(Path(path).read_text(encoding="utf-8"))
    model = _corpus_model(path, manifest)
    values = manifest["points"][0].get("input_values")
    start = time.perf_counter()
    report = analyze(model, input_values=values)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "macs": str(report.totals.macs)[:80], "assumptions": len(report.assumptions),
            "unknown": [u.op_type for u in report.unknown]}


def _ort_symbolic(path: str) -> dict[str, Any]:
    """onnxruntime's symbolic shape inference on the same model (shapes only, no costs)."""
    import json as _json
    from pathlib import Path

    import onnx
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    manifest = _json.loads(Path(path).read_text(encoding="utf-8"))
    model = onnx.load(_corpus_model(path, manifest))
    start = time.perf_counter()
    SymbolicShapeInference.infer_shapes(model, auto_merge=True)
    seconds = time.perf_counter() - start
    return {"seconds": seconds}


def _corpus_model(manifest_path: str, manifest: dict[str, Any]) -> str:
    from pathlib import Path

    ref = manifest["model"]
    if not ref.startswith("pkg:"):
        return str(Path(manifest_path).parent / ref)
    from tools.corpus.packages import locate

    found = locate(Path(manifest_path).stem.removeprefix("pkg_"))
    if found is None:
        raise FileNotFoundError(f"{ref}: the package is not installed")
    return str(found)


def _tflite_package(path: str) -> dict[str, Any]:
    """The ``tflite`` package (the official schema's generated Python bindings), as a reader of a
    model's structure is written with it: the file read into memory, every tensor and operator visited."""
    import tflite

    start = time.perf_counter()
    with open(path, "rb") as f:
        buf = f.read()
    model = tflite.Model.GetRootAsModel(buf, 0)
    shapes = ops = 0
    for s in range(model.SubgraphsLength()):
        sub = model.Subgraphs(s)
        for t in range(sub.TensorsLength()):
            tensor = sub.Tensors(t)
            shapes += len(tensor.ShapeAsNumpy()) + tensor.Type() + tensor.Buffer()
            tensor.Name()
        for o in range(sub.OperatorsLength()):
            op = sub.Operators(o)
            ops += op.OpcodeIndex() + len(op.InputsAsNumpy())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "tensors": shapes, "ops": ops}


def _litert(path: str) -> dict[str, Any]:
    """LiteRT's interpreter loading the model and planning its tensors (what ``verify`` starts with)."""
    from ai_edge_litert.interpreter import Interpreter

    start = time.perf_counter()
    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "tensors": len(interpreter.get_tensor_details())}


def _onnx_tool(path: str) -> dict[str, Any]:
    import onnx_tool

    start = time.perf_counter()
    model = onnx_tool.Model(path)
    model.graph.shape_infer()  # profile() needs the shapes; this is how onnx-tool's README profiles
    model.graph.profile()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "macs": int(model.graph.macs[0])}


def _onnx_load(path: str) -> dict[str, Any]:
    import onnx

    start = time.perf_counter()
    model = onnx.load(path)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "nodes": len(model.graph.node)}


def _sweep(points: str) -> dict[str, Any]:
    from fractions import Fraction

    # Imports are outside the clock, as for every tool here (sympy alone takes ~0.3 s);
    # the whole-process figure, imports included, is the ``archcost sweep`` row.
    import sympy
    import sympy.utilities.lambdify  # noqa: F401

    import archcost.api
    import archcost.cost.analyze
    import archcost.frontends.spec  # noqa: F401
    from archcost.report.sweep import sweep

    n = int(points)
    alphas = [Fraction(i, 20) for i in range(1, n + 1)]  # 0.05 … 5.00
    resolutions = [32 * i for i in range(1, n + 1)]  # 32 … 3200 (multiples of 32, as the spec asks)
    start = time.perf_counter()
    result = sweep("mobilenet_v1", {"alpha": alphas, "resolution": resolutions})
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "points": len(result.points)}


def _per_point(points: str) -> dict[str, Any]:
    """The alternative to one compiled formula: a fast-path analysis per grid point (a sample of them)."""
    from fractions import Fraction

    from archcost.api import analyze

    n = int(points)
    analyze("mobilenet_v1")  # warm the spec cache and imports, as the sweep's own analysis is warm
    start = time.perf_counter()
    for i in range(1, n + 1):
        analyze("mobilenet_v1", alpha=Fraction(i, 20), resolution=32 * i)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "points": n}


def main() -> None:
    tool, argument = sys.argv[1], sys.argv[2]
    runners = {
        "archcost": lambda: _archcost(argument, "wire"),
        "archcost-onnx-reader": lambda: _archcost(argument, "onnx"),
        "archcost-stages": lambda: _stages(argument),
        "onnx_tool": lambda: _onnx_tool(argument),
        "archcost-symbolic": lambda: _archcost_symbolic(argument),
        "ort-symbolic": lambda: _ort_symbolic(argument),
        "onnx.load": lambda: _onnx_load(argument),
        "tflite-package": lambda: _tflite_package(argument),
        "litert": lambda: _litert(argument),
        "sweep": lambda: _sweep(argument),
        "per-point": lambda: _per_point(argument),
    }
    try:
        result = runners[tool]()
    except Exception as err:  # reported, not hidden: the parent prints it as a failed case
        result = {"error": f"{type(err).__name__}: {err}"[:300]}
    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


if __name__ == "__main__":
    main()
