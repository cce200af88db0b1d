"""The Python API: ``archcost.analyze(path_or_name, **params) -> Report``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from archcost.cost.pipeline import gc_paused
from archcost.cost.result import Report
from archcost.errors import UsageError
from archcost.numeric import Scalar

__all__ = ["analyze", "compare", "gc_paused", "sweep"]


def analyze(
    model: Any,
    example_inputs: Any = None,
    *,
    dynamic_shapes: Any = None,
    example_kwargs: Mapping[str, Any] | None = None,
    convention: str = "paper",
    symbols: Iterable[str] | None = (),
    continuous: bool = False,
    params: Mapping[str, Scalar | str] | None = None,
    reader: str = "wire",
    branch: str | None = None,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    input_values: Mapping[str, Sequence[Any]] | None = None,
    input_dtypes: Mapping[str, str] | None = None,
    **kwargs: Scalar | str,
) -> Report:
    """Analyze a spec path, an ONNX path, a zoo name or a PyTorch module.

    Parameters
    ----------
    model:
        ``mobilenet_v1``, ``specs/x.yaml`` or ``model.onnx`` (the format is read from the
        file's content, not its name); ``package.module:callable``, a PyTorch module that
        ``callable()`` builds (``input_shapes`` give its example inputs); or a
        ``torch.nn.Module`` object, with ``example_inputs``.
    example_inputs, example_kwargs, dynamic_shapes:
        A ``torch.nn.Module`` only: the example inputs (a tensor or a tuple), keyword inputs,
        and ``torch.export``'s ``dynamic_shapes``, where a dim may be a plain string:
        ``{"input_ids": {0: "batch", 1: "sequence"}}``. Named dims become the formulas'
        symbols. The module is exported by ``torch.onnx.export(dynamo=True)`` in memory, in
        eval mode, and put back in its mode (:mod:`archcost.frontends.pytorch`); needs
        ``pip install 'archcost[torch]'``.
    convention:
        ``paper`` (MACs of conv/Gemm/MatMul), ``flops``, or a peer tool's count: ``fvcore``,
        ``thop`` or ``ptflops`` (:mod:`archcost.cost.peers`; ``archcost.cost.reconcile.reconcile``
        explains each one's difference from ``paper``, term by term).
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
    input_dtypes:
        A ``package.module:callable`` reference only: example input dtypes by input name
        (``{"input_ids": "int64"}``; default ``float32``).

    Examples
    --------
    >>> from archcost import analyze
    >>> analyze("mobilenet_v1").totals.macs
    568740352
    >>> analyze("mobilenet_v1", alpha=0.5, resolution=160).totals.macs
    76524800
    """
    from archcost.cost.pipeline import analyze_model

    if not isinstance(model, str):
        from archcost.frontends.loader import torch_source

        model = torch_source(model, () if example_inputs is None else example_inputs,
                             example_kwargs=example_kwargs, dynamic_shapes=dynamic_shapes)
    elif example_inputs is not None or example_kwargs or dynamic_shapes is not None:
        raise UsageError("example_inputs, example_kwargs and dynamic_shapes are for a torch.nn.Module; "
                         f"{model!r} is a name or a path (bind its inputs with input_shapes)")
    from archcost.report.notebook import for_notebook

    # The same report, able to show itself in a notebook (_repr_html_, _repr_markdown_).
    return for_notebook(analyze_model(
        model, convention=convention, symbols=symbols, continuous=continuous,
        params={**(params or {}), **kwargs}, reader=reader, branch=branch,
        input_shapes=input_shapes, input_values=input_values, input_dtypes=input_dtypes))


def compare(models: Sequence[str], *, convention: str = "paper", sort: str = "input",
            params: Mapping[str, str] | None = None) -> Any:
    """``archcost compare`` in Python: one row per model (``"mobilenet_v1:alpha=0.5"`` sets a model's
    parameters; ``params`` go to every model that declares them). Returns a
    :class:`~archcost.report.notebook.TableResult`: ``.table`` holds the exact figures, and a
    notebook shows it as a table.

    >>> from archcost import compare
    >>> compare(["mobilenet_v1", "mobilenet_v1:alpha=0.5"]).table.values("macs")
    [568740352, 149497088]
    """
    from archcost.report import compare as comparison
    from archcost.report.notebook import TableResult

    common = {k: str(v) for k, v in (params or {}).items()}
    entries = [comparison.measure(comparison.parse_model_ref(m), convention=convention, common=common)
               for m in models]
    return TableResult(comparison.entries_table(entries, sort, comparison.settings_notes(entries, common)))


def sweep(model: str, axes: Mapping[str, Sequence[Scalar]],
          params: Mapping[str, Scalar | str] | None = None) -> Any:
    """``archcost sweep`` in Python: exact totals over the grid ``axes`` (``{"alpha": [0.5, 1]}``;
    fractions, ints or numeric strings). Returns a :class:`~archcost.report.notebook.TableResult`."""
    from fractions import Fraction

    from archcost.report.notebook import TableResult
    from archcost.report.sweep import sweep as run_sweep
    from archcost.report.sweep import sweep_table

    def exact(value: Any) -> Scalar:
        number = Fraction(str(value))
        return number.numerator if number.denominator == 1 else number

    grid = {name: [exact(v) for v in values] for name, values in axes.items()}
    return TableResult(sweep_table(run_sweep(model, grid, params)))
