"""The Python API: ``archcost.analyze(path_or_name, **params) -> Report``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from archcost.cost.pipeline import gc_paused
from archcost.cost.result import Report
from archcost.numeric import Scalar

__all__ = ["analyze", "gc_paused"]


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
        ``mobilenet_v1``, ``specs/x.yaml`` or ``model.onnx`` (the format is read from the
        file's content, not its name).
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
    from archcost.cost.pipeline import analyze_model

    return analyze_model(model, convention=convention, symbols=symbols, continuous=continuous,
                         params={**(params or {}), **kwargs}, reader=reader, branch=branch,
                         input_shapes=input_shapes, input_values=input_values)
