"""The graph inputs of an ONNX model: declared shapes, dynamic dims, and how the user binds them.

A dim is *dynamic* when the file gives it a name (``dim_param: "batch"``) or no
usable value at all. Exporters spell "unknown" several ways, and each becomes a
symbol named after its input and axis, ``<input>_dim<axis>``:

* no ``dim_value`` and no ``dim_param``, or an empty ``dim_param``;
* ``dim_param`` ``"?"`` or ``"-1"``;
* ``dim_value`` -1 (PaddlePaddle) or any negative value;
* ``dim_value`` 0, which older exporters write for "unknown" (a zero-size graph
  input is bound explicitly: ``--set x_dim0=0``).

Two dims with the same name are the same symbol. The user binds dims by name
(``--set batch=1``) or a whole input at once (``--input x=1x3x224x224``), which
binds each named dim of ``x`` and must agree with its concrete ones. A value
may be 0: zero-size dims are valid (a KV cache's first step has past length 0).

A sequence input is represented as the stack ``[length, *element]``, as the
sequence operators represent sequences (:mod:`archcost.ops.misc`); its length is
the dim ``<input>_length``. An optional input is its element type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archcost.dtypes import dtype_name
from archcost.errors import ModelFormatError, UsageError
from archcost.ledger import INPUT_DIM, Ledger
from archcost.numeric import Count

#: ``dim_param`` spellings that mean "unknown" rather than name a dim.
UNNAMED_DIM_PARAMS = frozenset(("", "?", "-1"))

#: A declared dim: its value, or the name of its symbol.
Declared = int | str


@dataclass(frozen=True)
class InputDecl:
    """One graph input as the file declares it."""

    name: str
    #: ``None`` when the file gives not even a rank.
    dims: tuple[Declared, ...] | None
    dtype: str
    #: ``tensor`` or ``sequence`` (an optional input is described by its element).
    kind: str = "tensor"


def declared_inputs(graph: Any, initializers: set[str], display: str) -> list[InputDecl]:
    """Every graph input that is not an initializer, with its dims named."""
    found = []
    for index, value_info in enumerate(graph.input):
        if not value_info.name or value_info.name in initializers:
            continue  # before IR 4, initializers were listed as inputs too
        found.append(_declare(value_info, f"{display}:input {index}"))
    return found


def _declare(value_info: Any, where: str) -> InputDecl:
    name = value_info.name
    kind = "tensor"
    type_proto = value_info.type
    prefix: tuple[Declared, ...] = ()
    while True:
        if type_proto.HasField("optional_type"):
            type_proto = type_proto.optional_type.elem_type
        elif type_proto.HasField("sequence_type"):
            if kind == "sequence":
                raise ModelFormatError(f"graph input {name!r} is a sequence of sequences, which archcost "
                                       "does not represent", where=where)
            kind = "sequence"
            prefix = (f"{name}_length",)
            type_proto = type_proto.sequence_type.elem_type
        else:
            break
    if not type_proto.HasField("tensor_type"):
        what = "a map" if type_proto.HasField("map_type") else "not a tensor"
        raise ModelFormatError(f"graph input {name!r} is {what}; archcost reads tensor, sequence and "
                               "optional inputs", where=where)
    tensor_type = type_proto.tensor_type
    if not tensor_type.HasField("shape"):
        return InputDecl(name, None, dtype_name(tensor_type.elem_type), kind)
    dims: list[Declared] = list(prefix)
    for axis, dim in enumerate(tensor_type.shape.dim):
        if dim.HasField("dim_value") and dim.dim_value > 0:
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param") and dim.dim_param.strip() not in UNNAMED_DIM_PARAMS:
            dims.append(dim.dim_param)
        else:
            dims.append(f"{name}_dim{axis}")
    return InputDecl(name, tuple(dims), dtype_name(tensor_type.elem_type), kind)


def dynamic_dims(inputs: Sequence[InputDecl]) -> list[str]:
    """The names of every dynamic dim, in order of first appearance."""
    names: dict[str, None] = {}
    for decl in inputs:
        for d in decl.dims or ():
            if isinstance(d, str):
                names[d] = None
    return list(names)


#: A shape given for a graph input: a whole number per axis, or ``None`` to leave it free.
GivenShape = Sequence[int | None]


def parse_input_shape(text: str) -> tuple[str, tuple[int | None, ...]]:
    """``x=1x3x224x224`` → ``("x", (1, 3, 224, 224))``; ``?`` leaves an axis free; ``x=`` is a scalar."""
    name, sep, dims = text.rpartition("=")
    if not sep or not name:
        raise UsageError(f"--input expects NAME=DIMxDIMx..., got {text!r}")
    if not dims.strip():
        return name, ()
    values: list[int | None] = []
    for part in dims.lower().split("x"):
        part = part.strip()
        if part == "?":
            values.append(None)
        elif part.isascii() and part.isdigit() and len(part) <= 18:
            values.append(int(part))
        else:
            raise UsageError(f"--input {name}: dims must be whole numbers ≥ 0 (or ?) separated by 'x', "
                             f"got {dims!r}")
    return name, tuple(values)


def parse_input_items(items: Sequence[str]) -> tuple[list[tuple[str, tuple[int | None, ...]]], dict[str, str]]:
    """``--input`` items as (name, shape) pairs, and the dtypes given with ``:DTYPE``.

    A shape without a name is a PyTorch module's next positional input, named ``#1``,
    ``#2``...; an ONNX model refuses it (its inputs have names). A dtype is for a PyTorch
    module's example inputs.
    """
    pairs = []
    dtypes: dict[str, str] = {}
    positional = 0
    for item in items:
        name, sep, dims = item.rpartition("=")
        if not sep:
            positional += 1
            name, dims = f"#{positional}", item
        dims, colon, dtype = dims.partition(":")
        if colon:
            dtypes[name] = dtype.strip()
        pairs.append(parse_input_shape(f"{name}={dims}"))
    return pairs, dtypes


def complete(inputs: Sequence[InputDecl], input_shapes: Mapping[str, GivenShape]) -> list[InputDecl]:
    """Inputs the file gives no rank for take it from ``input_shapes``: each axis a dim of its own."""
    completed = []
    for decl in inputs:
        given = input_shapes.get(decl.name)
        if decl.dims is None and given is not None:
            names = tuple(f"{decl.name}_length" if decl.kind == "sequence" and axis == 0 else
                          f"{decl.name}_dim{axis}" for axis in range(len(given)))
            decl = InputDecl(decl.name, names, decl.dtype, decl.kind)
        completed.append(decl)
    return completed


def bind(
    inputs: Sequence[InputDecl],
    bindings: Mapping[str, Any],
    symbols: Sequence[str],
    input_shapes: Mapping[str, GivenShape],
    display: str,
    ledger: Ledger | None = None,
) -> dict[str, Count]:
    """Each dynamic dim's value: an int when bound (by name or by whole input), else its symbol.

    Every name in ``bindings`` and ``symbols`` and every input in ``input_shapes``
    must exist; a value must be a whole number ≥ 0; two bindings of one dim must
    agree. Unbound dims are declared in ``ledger`` with the input and axis they
    come from.
    """
    from archcost.expr import parse_value

    dims = dynamic_dims(inputs)
    available = ", ".join(dims) if dims else "none (every dim is concrete)"
    for name in (*bindings, *symbols):
        if name not in dims:
            raise UsageError(f"the model has no dynamic dimension {name!r}; "
                             f"its dynamic dimensions: {available}", where=display)
    for name in symbols:
        if name in bindings:
            raise UsageError(f"dimension {name!r} is both bound with --set and left symbolic", where=display)
    values: dict[str, Count] = {}
    for name, raw in bindings.items():
        value = parse_value(raw, name)
        if not isinstance(value, int) or value < 0:
            raise UsageError(f"dimension {name!r} must be bound to a whole number ≥ 0, got {value}",
                             where=display)
        values[name] = value
    by_name = {decl.name: decl for decl in inputs}
    for input_name, shape in input_shapes.items():
        decl = by_name.get(input_name)
        if decl is None:
            known = ", ".join(by_name) or "none"
            raise UsageError(f"the model has no graph input {input_name!r}; its inputs: {known}", where=display)
        if decl.dims is None:
            raise UsageError(f"graph input {input_name!r} declares no rank; complete() gives it one",
                             where=display)
        shown = "x".join("?" if d is None else str(d) for d in shape)
        if len(shape) != len(decl.dims):
            raise UsageError(f"--input {input_name}={shown}: the input has rank {len(decl.dims)} "
                             f"({_declared_text(decl)})", where=display)
        for axis, (declared, given) in enumerate(zip(decl.dims, shape, strict=True)):
            if given is None:
                continue
            if not isinstance(given, int) or isinstance(given, bool) or given < 0:
                raise UsageError(f"--input {input_name}={shown}: axis {axis} must be a whole number ≥ 0",
                                 where=display)
            if isinstance(declared, int):
                if declared != given:
                    raise UsageError(f"--input {input_name}={shown}: axis {axis} is declared {declared}",
                                     where=display)
            elif declared in symbols:
                raise UsageError(f"dimension {declared!r} is both bound with --input and left symbolic",
                                 where=display)
            elif values.setdefault(declared, given) != given:
                raise UsageError(f"--input {input_name}={shown}: dimension {declared!r} (axis {axis}) is "
                                 f"already bound to {values[declared]}", where=display)
    from_symbols: dict[str, Count] = {}
    for decl in inputs:
        for axis, d in enumerate(decl.dims or ()):
            if isinstance(d, str) and d not in values and d not in from_symbols:
                from archcost.symbols import dim_symbol

                from_symbols[d] = dim_symbol(d)
                if ledger is not None:
                    what = "length" if decl.kind == "sequence" and axis == 0 else f"axis {axis}"
                    ledger.declare(d, INPUT_DIM, f"graph input {decl.name!r}, {what}")
    return {**values, **from_symbols}


def input_shape(decl: InputDecl, bound: Mapping[str, Count], where: str) -> tuple[Count, ...]:
    """The shape of one graph input once its dims are bound."""
    if decl.dims is None:
        raise ModelFormatError(f"graph input {decl.name!r} declares no shape, not even a rank; give it "
                               f"with --input {decl.name}=DIMxDIMx...", where=where)
    return tuple(d if isinstance(d, int) else bound[d] for d in decl.dims)


def _declared_text(decl: InputDecl) -> str:
    return "declared [" + ", ".join(str(d) for d in decl.dims or ()) + "]"


def given_values(inputs: Sequence[InputDecl], input_values: Mapping[str, Sequence[Any]],
                 bound: Mapping[str, Count], display: str) -> dict[str, tuple[Any, ...]]:
    """The contents given for small graph inputs (``{"sr": 16000}``, ``{"axes": [0, 2]}``), checked
    against their shapes.

    Numbers are exact: ints stay ints, decimals become Fractions (``parse_value``).
    """
    from math import prod

    from archcost.expr import parse_value
    from archcost.ops.tensor import MAX_VALUE_ELEMENTS

    by_name = {decl.name: decl for decl in inputs}
    values: dict[str, tuple[Any, ...]] = {}
    for name, given in input_values.items():
        decl = by_name.get(name)
        if decl is None:
            raise UsageError(f"the model has no graph input {name!r}; its inputs: {', '.join(by_name) or 'none'}",
                             where=display)
        listed = given if isinstance(given, (list, tuple)) else (given,)  # a scalar input's one value
        entries = tuple(parse_value(v, name) for v in listed)
        shape = [d if isinstance(d, int) else bound[d] for d in decl.dims or ()]
        size = prod(shape) if all(isinstance(d, int) for d in shape) else None
        if size is None or size != len(entries) or size > MAX_VALUE_ELEMENTS:
            raise UsageError(f"--value {name}: {len(entries)} value(s) given; the input has shape "
                             f"{[str(d) for d in shape]} (bind its dims first; at most "
                             f"{MAX_VALUE_ELEMENTS} values)", where=display)
        values[name] = entries
    return values


def parse_input_values(text: str) -> tuple[str, tuple[str, ...]]:
    """``sr=16000`` → ``("sr", ("16000",))``; ``axes=0,2`` → ``("axes", ("0", "2"))``."""
    name, sep, listed = text.partition("=")
    if not sep or not name.strip() or not listed.strip():
        raise UsageError(f"--value expects NAME=V[,V...], got {text!r}")
    return name.strip(), tuple(v.strip() for v in listed.split(","))
