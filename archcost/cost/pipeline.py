"""From a model argument to a :class:`~archcost.cost.result.Report`: the loader, then the walk.

Every command, report and the Python API analyze a model through
:func:`analyze_model`, so the model is read once, by one loader
(:mod:`archcost.frontends.loader`), and walked once.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from archcost.cost.conventions import get_convention
from archcost.cost.result import Report
from archcost.errors import about

if TYPE_CHECKING:
    from archcost.frontends.loader import Source


def analyze_model(
    model: str | Source,
    *,
    convention: str = "paper",
    symbols: Iterable[str] | None = (),
    continuous: bool = False,
    params: Mapping[str, Any] | None = None,
    reader: str = "wire",
    branch: str | None = None,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    input_values: Mapping[str, Any] | None = None,
    input_dtypes: Mapping[str, str] | None = None,
) -> Report:
    """Load ``model`` and analyze it under ``convention`` (see :func:`archcost.api.analyze`)."""
    from archcost.cost.analyze import analyze_graph
    from archcost.frontends.loader import load_model

    conv = get_convention(convention)
    with gc_paused(), about(model if isinstance(model, str) else model.display):
        loaded = load_model(model, params=params, symbols=None if symbols is None else tuple(symbols),
                            continuous=continuous, input_shapes=input_shapes, input_values=input_values,
                            reader=reader, input_dtypes=input_dtypes)
        report = analyze_graph(loaded.graph, conv, bindings=loaded.bindings, symbols=loaded.symbols,
                               source=loaded.source.model, published=loaded.published, branch=branch,
                               ledger=loaded.ledger)
    if loaded.source.notes:
        import dataclasses

        report = dataclasses.replace(report, notes=(*loaded.source.notes, *report.notes))
    if loaded.multiples:
        # The walk ran on R = m·k so that every strided size divided exactly; show R again.
        from archcost.symbols import multiple_symbol, param_symbol

        report = report.substitute({multiple_symbol(n): param_symbol(n) / m for n, m in loaded.multiples.items()})
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
