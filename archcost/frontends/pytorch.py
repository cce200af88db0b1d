"""PyTorch modules in: exported by torch's own ONNX exporter, in memory, and read as ONNX.

``archcost.analyze(module, example_inputs, dynamic_shapes=...)`` and the command line's
``package.module:callable`` references come here. The module is exported with
``torch.onnx.export(dynamo=True, optimize=False)``:

* **dynamo**, because it records each node's module path and class (the
  ``pkg.torch.onnx.name_scopes`` metadata that :mod:`archcost.frontends.scopes` reads), so
  ``--by module`` works on what the user holds;
* **optimize=False**, because the optimizer folds BatchNorm into the preceding convolution
  and drops nodes the peers' conventions count (:mod:`archcost.cost.peers` needs them).
  MACs are the same either way.

The module is exported in eval mode (the inference graph: BatchNorm with running statistics,
dropout off) and put back in the mode it was in. Named dynamic dims (``torch.export.Dim``,
or plain strings, which become ``Dim`` of that name) become the formula's symbols: the
exporter calls them ``s0``, ``s1``... when it cannot rename them itself, and this module
renames them after the user's dims.

torch is an optional extra (``pip install 'archcost[torch]'``); the rest of archcost never
imports it. Importing the user's package and calling their callable is exactly what a
``module:callable`` reference asks for, and only this module does it.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import io
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archcost.errors import ModelFormatError, UsageError

INSTALL_HINT = ("the PyTorch entry point needs torch and onnxscript: pip install torch onnxscript (or the "
                "extra: pip install 'archcost[torch]', from a checkout '.[torch]')")
#: ``package.module:callable`` (the callable may be an attribute path: ``pkg.mod:Models.build``).
MODULE_REFERENCE = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
#: dtype names ``--input NAME=SHAPE:DTYPE`` accepts for an example tensor.
EXAMPLE_DTYPES = ("float32", "float16", "bfloat16", "float64", "int64", "int32", "int8", "uint8", "bool")


def is_module_reference(text: str) -> bool:
    """Whether ``text`` reads as ``package.module:callable``."""
    return bool(MODULE_REFERENCE.match(text))


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    return torch


def build_referenced_module(reference: str) -> Any:
    """Import ``package.module`` and return ``callable()`` (or the attribute itself when it
    already is an ``nn.Module``). The current directory is on the import path, as with
    ``python -m``."""
    torch = _torch()
    module_name, _, attribute = reference.partition(":")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as err:  # the user's package: any error is theirs to see, in one line
        raise UsageError(f"{reference}: cannot import {module_name!r}: {type(err).__name__}: "
                         f"{_first_line(err)}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise UsageError(f"{reference}: {module_name!r} has no attribute {part!r}")
        target = getattr(target, part)
    if isinstance(target, torch.nn.Module):
        return target
    if not callable(target):
        raise UsageError(f"{reference}: {attribute!r} is neither an nn.Module nor a callable that builds one")
    try:
        built = target()
    except Exception as err:
        raise UsageError(f"{reference}: calling {attribute}() failed: {type(err).__name__}: "
                         f"{_first_line(err)}") from None
    if not isinstance(built, torch.nn.Module):
        raise UsageError(f"{reference}: {attribute}() returned a {type(built).__name__}, not an nn.Module")
    return built


def example_tensors(module: Any, shapes: Mapping[str, Sequence[int | None]],
                    dtypes: Mapping[str, str]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Example inputs from the command line's shapes: ``#1``, ``#2``... are positional, other
    names are the forward's keyword arguments. Floats are drawn from a fixed-seed normal,
    integers are zeros (valid token ids and indices)."""
    torch = _torch()
    generator = torch.Generator().manual_seed(0)
    parameters = inspect.signature(module.forward).parameters
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for name, dims in shapes.items():
        if any(d is None for d in dims):
            raise UsageError(f"--input {name}: a PyTorch module is traced at one size; give every dim "
                             "(dynamic dims: the Python API's dynamic_shapes)")
        dtype_name = dtypes.get(name, "float32")
        if dtype_name not in EXAMPLE_DTYPES:
            raise UsageError(f"--input {name}: unknown dtype {dtype_name!r}; choose one of "
                             f"{', '.join(EXAMPLE_DTYPES)}")
        dtype = getattr(torch, dtype_name)
        size = tuple(int(d) for d in dims if d is not None)
        tensor = (torch.randn(size, generator=generator).to(dtype) if dtype.is_floating_point
                  else torch.zeros(size, dtype=dtype))
        if name.startswith("#"):
            args.append(tensor)
        elif name in parameters:
            kwargs[name] = tensor
        else:
            known = ", ".join(parameters) or "none"
            raise UsageError(f"--input {name}: {type(module).__name__}.forward has no parameter {name!r}; "
                             f"its parameters: {known}")
    if not args and not kwargs:
        raise UsageError(f"a PyTorch module needs example inputs: --input SHAPE (positional) or "
                         f"--input NAME=SHAPE, e.g. --input 1x3x224x224; {type(module).__name__}.forward "
                         f"takes: {', '.join(parameters) or 'nothing'}")
    return tuple(args), kwargs


@dataclass(frozen=True)
class Exported:
    """A module exported to ONNX, with what the report must say about the export."""

    #: The ``onnx.ModelProto``.
    proto: Any
    #: Named dims torch.export made static (an example of size 1 specializes its axis).
    notes: tuple[str, ...] = ()


def export_module(module: Any, example_inputs: Any = (), *, example_kwargs: Mapping[str, Any] | None = None,
                  dynamic_shapes: Any = None, name: str | None = None) -> Exported:
    """``module`` as an ``onnx.ModelProto``, exported by the dynamo exporter in memory.

    ``example_inputs`` is a tensor or a tuple of positional inputs; ``dynamic_shapes`` is
    what ``torch.export`` takes, with plain strings allowed for ``Dim`` names:
    ``{"input_ids": {0: "batch", 1: "sequence"}}``.
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise UsageError(f"expected a model name, a path or a torch.nn.Module, got a {type(module).__name__}")
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    kwargs = dict(example_kwargs or {})
    shapes = _with_dims(dynamic_shapes, torch)
    label = name or type(module).__name__
    training = module.training
    module.eval()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(module, args, kwargs=kwargs or None, dynamo=True, optimize=False,
                                        dynamic_shapes=shapes, verbose=False)
    except ImportError as err:
        raise UsageError(f"{INSTALL_HINT} ({_first_line(err)})") from None
    except Exception as err:  # torch.export's failures are many types; the user needs the first line
        cause = _root_cause(err)
        raise ModelFormatError(f"torch.onnx.export could not export it: {type(cause).__name__}: "
                               f"{_first_line(cause)}", where=label) from None
    finally:
        module.train(training)
    proto = program.model_proto
    proto.graph.name = label
    notes: tuple[str, ...] = ()
    if shapes is not None:
        notes = _rename_dims(proto, _declared_dims(module, args, kwargs, shapes))
    return Exported(proto, notes)


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _root_cause(err: BaseException) -> BaseException:
    """The error the exporter's wrappers (``TorchExportError``, step 1/3...) were raised from."""
    seen = {id(err)}
    while err.__cause__ is not None and id(err.__cause__) not in seen:
        err = err.__cause__
        seen.add(id(err))
    return err


def _first_line(err: BaseException) -> str:
    text = _ANSI.sub("", str(err)).strip()
    return text.splitlines()[0][:300] if text else "(no message)"


def _with_dims(shapes: Any, torch: Any) -> Any:
    """``dynamic_shapes`` with every string replaced by ``torch.export.Dim`` of that name (one
    ``Dim`` per name, so two axes named alike are one symbol)."""
    made: dict[str, Any] = {}

    def convert(value: Any) -> Any:
        if isinstance(value, str):
            if not value.isidentifier():
                raise UsageError(f"dynamic_shapes: dim name {value!r} must be an identifier")
            if value not in made:
                made[value] = torch.export.Dim(value)
            return made[value]
        if isinstance(value, Mapping):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(convert(v) for v in value)
        return value

    return None if shapes is None else convert(shapes)


def _declared_dims(module: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any],
                   shapes: Any) -> list[tuple[int, int, str]]:
    """(graph-input index, axis, dim name) for every named dim on a top-level tensor input.

    The exporter's graph inputs are the tensor arguments in order: positional, then keyword.
    A dim inside a nested container keeps the exporter's name (still a named symbol)."""
    torch = _torch()
    names = list(inspect.signature(module.forward).parameters)
    if isinstance(shapes, Mapping):
        by_name = dict(shapes)
        per_input = [by_name.get(names[i]) if i < len(names) else None for i in range(len(args))]
        per_input += [by_name.get(k) for k in kwargs]
    else:
        per_input = list(shapes) + [None] * len(kwargs)
    values = [*args, *kwargs.values()]
    found: list[tuple[int, int, str]] = []
    index = 0
    for value, spec in zip(values, per_input, strict=False):
        if not isinstance(value, torch.Tensor):
            continue
        axes = spec.items() if isinstance(spec, Mapping) else enumerate(spec or ()) if isinstance(
            spec, (list, tuple)) else ()
        for axis, dim in axes:
            dim_name = getattr(dim, "__name__", None)
            if isinstance(dim_name, str) and dim_name.isidentifier():
                found.append((index, int(axis), dim_name))
        index += 1
    return found


def _rename_dims(proto: Any, declared: Sequence[tuple[int, int, str]]) -> tuple[str, ...]:
    """Give the exporter's dim symbols (``s70``) the user's names, wherever a shape holds them;
    return a note for each named dim the export made static."""
    inputs = proto.graph.input
    mapping: dict[str, str] = {}
    notes: list[str] = []
    for index, axis, name in declared:
        if index >= len(inputs):
            continue
        dims = inputs[index].type.tensor_type.shape.dim
        if axis >= len(dims):
            continue
        if not dims[axis].dim_param:
            notes.append(f"dynamic dim {name!r} (input {inputs[index].name!r}, axis {axis}) was made static by "
                         f"torch.export at the example's size {dims[axis].dim_value}: the figures hold for that "
                         "size only (an example of size 1 is specialized; trace with 2 or more to keep it a symbol)")
        elif dims[axis].dim_param != name:
            mapping.setdefault(dims[axis].dim_param, name)
    if not mapping:
        return tuple(notes)
    pattern = re.compile(r"\b(" + "|".join(re.escape(k) for k in mapping) + r")\b")
    for value in [*proto.graph.input, *proto.graph.output, *proto.graph.value_info]:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = pattern.sub(lambda m: mapping[m.group(1)], dim.dim_param)
    return tuple(notes)
