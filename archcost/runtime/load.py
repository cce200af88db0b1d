"""Load any model argument (zoo name, spec, ONNX file) as a concrete graph."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archcost.errors import UsageError
from archcost.graph import Graph
from archcost.numeric import is_concrete


def load_graph(model: str, params: Mapping[str, Any] | None = None) -> tuple[Graph, Path, dict[str, Any]]:
    """The graph for ``model`` with ``params`` applied, its path and the bindings used."""
    from archcost.api import parse_value
    from archcost.zoo import resolve

    path, display = resolve(model)
    values = dict(params or {})
    if path.suffix == ".onnx":
        from archcost.frontends.onnx import load_onnx_graph

        graph, bindings = load_onnx_graph(path, display, bindings=values, symbols=())
    else:
        from archcost.frontends.spec import build_graph, load_spec

        spec = load_spec(path, display)
        parsed = {k: parse_value(v, k) for k, v in values.items()}
        graph, bindings = build_graph(spec, parsed)
    return graph, path, bindings


def require_concrete(graph: Graph, what: str) -> None:
    """Refuse a graph with a symbolic dim: running a model needs every size."""
    for tensor in graph.tensors.values():
        for d in tensor.shape:
            if not is_concrete(d):
                free = sorted(str(s) for s in getattr(d, "free_symbols", ()))
                raise UsageError(
                    f"{what} needs concrete sizes, but tensor {tensor.name!r} has shape "
                    f"[{', '.join(str(x) for x in tensor.shape)}]; bind "
                    + ", ".join(f"--set {s}=VALUE" for s in free or [str(d)])
                )
