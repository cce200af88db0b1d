"""Checks a graph must pass before it is run (export, verify, profile): concrete, and not too large."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archcost.errors import LimitError, UsageError
from archcost.graph import Graph
from archcost.numeric import is_concrete

#: The most elements ``export`` and ``verify`` materialize as arrays: all initializers and inputs
#: together, and any one tensor a run would produce (2**30 float32 elements are 4 GiB). The
#: check runs on exact ints before numpy sees a shape, so a dim past int64 cannot overflow.
MAX_RUNTIME_ELEMENTS = 2**30


def require_concrete(graph: Graph, what: str) -> None:
    """Refuse a graph with a symbolic dim: running a model needs every size."""
    free: dict[str, str] = {}
    for tensor in graph.tensors.values():
        for axis, d in enumerate(tensor.shape):
            for s in sorted(str(s) for s in getattr(d, "free_symbols", ())):
                free.setdefault(s, f"graph input {tensor.name!r}, axis {axis}")
    if free:
        inputs = [t for t in graph.inputs if not all(is_concrete(d) for d in graph.tensors[t].shape)]
        raise UsageError(
            f"{what} needs concrete sizes; free: "
            + "; ".join(f"{s} ({origin}): --set {s}=VALUE" for s, origin in free.items())
            + (f"; or bind whole inputs: --input {inputs[0]}=DIMxDIMx..." if inputs else "")
        )


def require_runtime_size(graph: Graph, what: str, produced: Mapping[str, Any] | None = None) -> None:
    """Refuse a graph whose arrays ``what`` would allocate exceed :data:`MAX_RUNTIME_ELEMENTS`.

    ``produced`` adds the shapes a run would compute (a report's ``tensor_shapes``).
    """
    total = 0
    shapes = [(t.name, t.shape) for t in graph.tensors.values()]
    shapes += [(name, shape) for name, shape in (produced or {}).items() if name not in graph.tensors]
    for name, shape in shapes:
        if not all(isinstance(d, int) for d in shape):
            continue
        size = 1
        for d in shape:
            size *= d
        if name in graph.tensors:
            total += size
        if size > MAX_RUNTIME_ELEMENTS or any(d > MAX_RUNTIME_ELEMENTS for d in shape):
            raise LimitError(f"{what}: tensor {name!r} has shape [{', '.join(str(d) for d in shape)}] "
                             f"({size:,} elements); {what} materializes at most {MAX_RUNTIME_ELEMENTS:,} "
                             "elements per tensor")
    if total > MAX_RUNTIME_ELEMENTS:
        raise LimitError(f"{what}: the weights and inputs hold {total:,} elements together; {what} "
                         f"materializes at most {MAX_RUNTIME_ELEMENTS:,}")


#: The most iterations a Loop node may run in ``verify`` or ``profile`` (known before running:
#: a constant trip count). A run is also stopped after ``MAX_RUN_SECONDS`` of wall clock.
MAX_LOOP_TRIPS = 1_000_000


def require_bounded_loops(loop_trips: Mapping[str, Any], what: str, where: str) -> None:
    """Refuse to run a model with a Loop whose constant trip count exceeds :data:`MAX_LOOP_TRIPS`."""
    for name, trips in loop_trips.items():
        if isinstance(trips, int) and trips > MAX_LOOP_TRIPS:
            raise LimitError(f"{what}: Loop node {name!r} runs {trips:,} iterations; {what} runs at most "
                             f"{MAX_LOOP_TRIPS:,} per Loop", where=where)
