"""The Python API: ``archcost.analyze(path_or_name, **params) -> Report``."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from archcost.cost.conventions import get_convention
from archcost.cost.report import Report
from archcost.errors import UsageError
from archcost.numeric import Scalar

#: Parameters ``--symbolic`` leaves free when the spec declares them: α and ρ.
DEFAULT_SYMBOLS = ("alpha", "resolution")


def analyze(
    model: str,
    *,
    convention: str = "paper",
    symbols: Iterable[str] | None = (),
    continuous: bool = False,
    params: Mapping[str, Scalar | str] | None = None,
    reader: str = "wire",
    branch: str | None = None,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    input_values: Mapping[str, Sequence[Any]] | None = None,
    **kwargs: Scalar | str,
) -> Report:
    """Analyze a spec path, an ONNX path or a zoo name.

    Parameters
    ----------
    model:
        ``mobilenet_v1``, ``specs/x.yaml`` or ``model.onnx``.
    convention:
        ``paper`` (MACs of conv/Gemm/MatMul) or ``flops``.
    symbols:
        Parameter names to leave free as SymPy symbols. ``None`` means the
        spec's ``alpha`` and ``resolution``.
    continuous:
        With symbols: drop rounding rules (``int()``, ``make_divisible``) and
        treat ``multiple_of`` parameters as exact multiples, giving the
        paper's continuous form in which cost scales as α² and ρ².
    params, kwargs:
        Parameter values (``alpha=0.75``); strings are parsed as numbers.
    reader:
        How an ONNX file is read: ``wire`` (structure only, straight from the
        protobuf bytes) or ``onnx`` (``onnx.load``, the reference). Both give
        the same graph.
    branch:
        ``"then"`` or ``"else"``: every If node is costed by that branch instead
        of the larger one.
    input_shapes:
        ONNX only: whole graph-input shapes, ``{"x": (1, 3, 224, 224)}``; each
        binds the named dynamic dims of its input (``None`` leaves an axis free).
    input_values:
        ONNX only: the contents of small graph inputs, ``{"sr": [16000]}``; shape
        arithmetic and If conditions read them as constants.

    Examples
    --------
    >>> from archcost import analyze
    >>> analyze("mobilenet_v1").totals.macs
    568740352
    >>> analyze("mobilenet_v1", alpha=0.5, resolution=160).totals.macs
    76524800
    """
    from archcost.ledger import Ledger
    from archcost.zoo import resolve

    values = {**(params or {}), **kwargs}
    path, display = resolve(model)
    conv = get_convention(convention)
    ledger = Ledger()
    if path.suffix == ".onnx":
        from archcost.cost.analyze import analyze_graph
        from archcost.frontends.onnx import load_onnx_graph

        with gc_paused():
            graph, bindings = load_onnx_graph(path, display, bindings=values, symbols=symbols or (),
                                              reader=reader, input_shapes=input_shapes, ledger=ledger,
                                              input_values=input_values)
            return analyze_graph(graph, conv, bindings=bindings, source=model, branch=branch, ledger=ledger)
    if input_shapes or input_values:
        raise UsageError(f"{display}: --input and --value bind the graph inputs of an ONNX model; a spec's sizes "
                         "are its parameters (--set NAME=VALUE)")

    from archcost.cost.analyze import analyze_graph
    from archcost.frontends.spec import build_graph, load_spec

    spec = load_spec(path, display)
    if symbols is None:
        free = tuple(s for s in DEFAULT_SYMBOLS if s in spec.params)
    else:
        free = tuple(symbols)
    parsed = {k: parse_value(v, k) for k, v in values.items()}
    from archcost.ledger import PARAMETER

    for name in free:
        default = spec.params[name].default if name in spec.params else None
        ledger.declare(name, PARAMETER, f"spec parameter {name!r}" + (f" (default {default})" if default is not None
                                                                     else ""))
    with gc_paused():
        graph, bindings = build_graph(spec, parsed, symbols=free, continuous=continuous)
        report = analyze_graph(
            graph, conv, bindings=bindings, symbols=free, source=model, published=spec.published,
            ledger=ledger,
        )
    multiples = {n: d.multiple_of for n, d in spec.params.items() if n in free and d.multiple_of}
    if continuous and multiples:
        # The walk ran on R = m·k so that every strided size divided exactly; show R again.
        from archcost.symbols import multiple_symbol, param_symbol

        report = report.substitute(
            {multiple_symbol(n): param_symbol(n) / m for n, m in multiples.items()}
        )
    return report


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a graph is built and walked.

    Building a graph allocates a few objects per node and frees none of them, so
    every collection pass finds nothing; yet each pass re-scans the growing heap,
    which made the time per node grow with the graph (2× at 100k nodes). The
    objects are reference-counted as usual; collection resumes, in its previous
    state, when the block exits.

    On resuming, the objects the block created are moved to the oldest generation
    with ``gc.freeze()`` and ``gc.unfreeze()`` (two list splices), where two young
    collections would have put the survivors anyway; otherwise the first young
    collection after ``gc.enable()`` scans every one of them (0.4 s after a
    100k-node model). Cyclic garbage is still found by the next full collection.
    A caller that froze objects itself keeps them frozen: then this is skipped.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def parse_value(value: Any, name: str) -> Scalar:
    """A parameter value from Python or the command line, as an exact number."""
    from fractions import Fraction

    from archcost.expr import evaluate_text
    from archcost.numeric import normalize

    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return normalize(Fraction(repr(value)))
    if isinstance(value, (int, Fraction)):
        return normalize(value)
    if isinstance(value, str):
        return evaluate_text(value, {})
    if hasattr(value, "free_symbols"):
        return value
    raise UsageError(f"parameter {name!r}: expected a number, got {value!r}")
