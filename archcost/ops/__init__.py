"""Operator families. Importing this package registers every built-in operator.

Each family is a module that registers its op types explicitly with
:func:`archcost.ops.registry.register`; add a new family to ``_FAMILIES``.
"""

from __future__ import annotations

import importlib

from archcost.ops.registry import REGISTRY, OpEntry, OpResult, OpView, find, lookup, register

_FAMILIES = ("conv", "gemm", "elementwise", "activation", "pool", "shape", "indexing",
             "tensor", "transformer", "reduce", "conv_transpose", "unary", "logical", "data",
             "normalization", "misc", "attention", "recurrent", "quantized", "control", "ml",
             "microsoft", "microsoft_quantized", "training", "tflite", "tflite_data")

for _family in _FAMILIES:
    importlib.import_module(f"archcost.ops.{_family}")

__all__ = ["REGISTRY", "OpEntry", "OpResult", "OpView", "find", "lookup", "register"]
