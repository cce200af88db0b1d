"""The one model loader: a zoo name or a file path → a :class:`~archcost.graph.Graph`.

Every command and the Python API turn a model argument into a graph here and
nowhere else. The format is decided by the file's **content**, not its name: an
ONNX protobuf is binary and starts with a ModelProto field; a spec is UTF-8
text. Files archcost does not read (a PyTorch checkpoint, a Keras HDF5 file, a
TFLite flatbuffer, safetensors weights, GGUF) are named as what they are, with
what to do instead, rather than failing as malformed YAML.

:func:`open_model` resolves and identifies a model (and, for a spec, reads its
top level once); :func:`load_model` builds its graph with the user's bindings.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcost.errors import ModelFormatError, UsageError
from archcost.fileio import file_kind
from archcost.graph import Graph
from archcost.ledger import PARAMETER, Ledger

if TYPE_CHECKING:
    from archcost.frontends.spec import Spec

#: Model formats :func:`load_model` builds graphs from: an ONNX file (or an in-memory ModelProto),
#: a YAML spec, or a ``package.module:callable`` reference to a PyTorch module.
FORMATS = ("onnx", "spec", "torch")
#: Parameters a spec leaves free when asked for its symbolic form without names: α and ρ.
DEFAULT_SYMBOLS = ("alpha", "resolution")
#: Bytes read to tell the format (a spec's text is judged on this much).
_SNIFF_BYTES = 4096
#: First bytes of a ModelProto: the tag of one of its fields (ir_version, producer_name,
#: producer_version, domain, model_version, doc_string, graph, opset_import, metadata_props).
_MODEL_TAGS = frozenset((0x08, 0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72))


@dataclass(frozen=True)
class Source:
    """A model argument, resolved and identified."""

    #: As the user gave it (a zoo name, or a path).
    model: str
    path: Path
    #: How messages name it: ``specs/mobilenet_v1.yaml`` or the path given.
    display: str
    #: One of :data:`FORMATS`.
    format: str
    #: The spec's validated top level (parameters, published figures); ``None`` for ONNX.
    spec: Spec | None = None
    #: An ONNX ``ModelProto`` already in memory (a PyTorch module exported by
    #: :mod:`archcost.frontends.pytorch`): read instead of ``path``.
    proto: Any = None
    #: What the report must say about how the model was obtained (a dim the export made static).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Loaded:
    """A model's graph with everything the analysis needs to know about how it was built."""

    source: Source
    graph: Graph
    #: Parameter values or dim bindings applied (exact numbers).
    bindings: Mapping[str, Any]
    #: Spec parameters left free as symbols.
    symbols: tuple[str, ...]
    #: The free symbols declared so far (input dims, spec parameters).
    ledger: Ledger
    #: Figures the spec cites (``published:``), for reports.
    published: Mapping[str, Any] = field(default_factory=dict)
    #: Free parameters declared ``multiple_of: m`` that the continuous form ran on as m·k.
    multiples: Mapping[str, int] = field(default_factory=dict)


def open_model(model: str | Source) -> Source:
    """Resolve ``model`` (a zoo name, a path or a ``package.module:callable`` reference) and
    identify its format by content."""
    if isinstance(model, Source):
        return model
    from archcost.frontends.pytorch import is_module_reference
    from archcost.zoo import resolve

    if is_module_reference(model) and not Path(model).exists():
        return Source(model, Path(model), model, "torch")

    path, display = resolve(model)
    kind = sniff(path, display)
    spec = None
    if kind == "spec":
        from archcost.frontends.spec import load_spec

        spec = load_spec(path, display)
    return Source(model, path, display, kind, spec)


def sniff(path: Path, display: str) -> str:
    """The format of the file at ``path``, from its first bytes; a file archcost does not read
    is a :class:`ModelFormatError` that says what it is."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise ModelFormatError(f"cannot read the file ({err.strerror})", where=display) from None
    if stat.S_ISDIR(mode):
        raise ModelFormatError("is a directory, not a model file; name the .onnx model or .yaml spec inside it",
                               where=display)
    if not stat.S_ISREG(mode):
        raise ModelFormatError(f"is {file_kind(mode)}, not a regular file; {_NAME_A_FILE}", where=display)
    try:
        # O_NONBLOCK: a FIFO put there after the check must not block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise ModelFormatError(f"is not a regular file; {_NAME_A_FILE}", where=display)
            head = f.read(_SNIFF_BYTES)
    except OSError as err:
        raise ModelFormatError(f"cannot read the file ({err.strerror})", where=display) from None
    if not head:
        raise ModelFormatError("the file is empty (0 bytes), not a model", where=display)
    known = _foreign(head)
    if known:
        raise ModelFormatError(f"{known}; archcost reads ONNX models and YAML specs", where=display)
    if _is_text(head):
        return "spec"
    if head[0] in _MODEL_TAGS:
        return "onnx"
    raise ModelFormatError("not a model archcost reads: neither ONNX (a binary protobuf) nor a YAML spec (text)",
                           where=display)


#: What a model argument should name.
_NAME_A_FILE = "name an .onnx model or a .yaml spec (or give a zoo name such as mobilenet_v1)"
#: What to do with a file of PyTorch weights: analyze the code that builds the model.
_FROM_CODE = ("analyze the code that builds the model instead: archcost analyze package.module:build_model "
              "--input 1x3x224x224, or archcost.analyze(module, example_inputs) in Python")


def _foreign(head: bytes) -> str:
    """What a file of another framework is, by its magic bytes; ``""`` when none matches."""
    if head.startswith(b"PK\x03\x04"):
        return _zip(head)
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return f"a Python pickle (a PyTorch checkpoint: weights, not the architecture); {_FROM_CODE}"
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "an HDF5 file (a Keras .h5 model); convert it to ONNX first (tf2onnx)"
    if head[4:8] == b"TFL3":
        return "a TFLite flatbuffer; convert it to ONNX first (tf2onnx --tflite)"
    if head.startswith(b"GGUF"):
        return "a GGUF weight file (llama.cpp), weights without a graph"
    if len(head) > 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 1 << 32:
        return f"a safetensors file: weights, not the architecture; {_FROM_CODE}"
    return ""


def _zip(head: bytes) -> str:
    """What a zip archive is, by its first member's name (in the first local file header)."""
    size = int.from_bytes(head[26:28], "little")
    first = head[30:30 + size].decode("utf-8", "replace")
    if first.endswith(("data.pkl", "/version", ".data/version")) or "/data/" in first:
        return ("a PyTorch checkpoint (a zip of pickled tensors, torch.save): weights, not the architecture; "
                + _FROM_CODE)
    if first in ("metadata.json", "config.json", "model.weights.h5"):
        return "a Keras 3 model (.keras, a zip); convert it to ONNX first (tf2onnx)"
    return ("a zip archive: a PyTorch checkpoint (.pt/.pth: weights, not the architecture) or a Keras .keras "
            f"file; for PyTorch, {_FROM_CODE}; for Keras, convert it to ONNX (tf2onnx)")


def _is_text(head: bytes) -> bool:
    """Whether ``head`` reads as UTF-8 text (a spec), allowing a character cut at the end."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 3:
            return False
        text = head[:err.start].decode("utf-8")
    return not any(c < " " and c not in "\t\n\r" for c in text)


def load_model(
    model: str | Source,
    *,
    params: Mapping[str, Any] | None = None,
    symbols: Sequence[str] | None = (),
    continuous: bool = False,
    input_shapes: Mapping[str, Sequence[int | None]] | None = None,
    input_values: Mapping[str, Any] | None = None,
    reader: str = "wire",
    input_dtypes: Mapping[str, str] | None = None,
) -> Loaded:
    """The graph of ``model`` with ``params`` applied.

    ``params`` are spec parameters (``alpha=0.75``) or ONNX dim bindings
    (``batch=1``); ``symbols`` names what stays free (``None``: a spec's α and
    resolution); ``continuous`` drops a spec's rounding rules (the paper's α², ρ²
    form); ``input_shapes`` and ``input_values`` bind an ONNX model's graph inputs
    by name; ``reader`` is how an ONNX file is read (``wire`` or ``onnx``). For a PyTorch
    module reference, ``input_shapes`` (and ``input_dtypes``) give the example inputs it is
    exported with.
    """
    source = open_model(model)
    ledger = Ledger()
    values = dict(params or {})
    if source.format == "torch":
        source = _exported(source, input_shapes or {}, input_dtypes or {})
        input_shapes = None  # traced at exactly these sizes
    elif input_dtypes:
        raise UsageError(f"{source.display}: a dtype in --input (NAME=SHAPE:DTYPE) is for PyTorch module "
                         "references; an ONNX model declares its input types")
    if source.format == "onnx":
        from archcost.frontends.onnx import load_onnx_graph

        for name, dims in (input_shapes or {}).items():
            if name.startswith("#"):
                shape = "x".join("?" if d is None else str(d) for d in dims)
                raise UsageError(f"{source.display}: --input {shape} names no graph input: write "
                                 "--input NAME=SHAPE (a shape alone is a PyTorch module's positional input)")

        graph, bindings = load_onnx_graph(source.path, source.display, bindings=values, symbols=symbols or (),
                                          reader=reader, input_shapes=input_shapes, ledger=ledger,
                                          input_values=input_values, model=source.proto)
        return Loaded(source, graph, bindings, (), ledger)
    if input_shapes or input_values:
        raise UsageError(f"{source.display}: --input and --value bind the graph inputs of an ONNX model; a "
                         "spec's sizes are its parameters (--set NAME=VALUE)")
    from archcost.expr import parse_value
    from archcost.frontends.spec import build_graph

    spec = source.spec
    assert spec is not None  # open_model reads every spec's top level
    free = tuple(s for s in DEFAULT_SYMBOLS if s in spec.params) if symbols is None else tuple(symbols)
    for name in free:
        default = spec.params[name].default if name in spec.params else None
        ledger.declare(name, PARAMETER,
                       f"spec parameter {name!r}" + (f" (default {default})" if default is not None else ""))
    parsed = {k: parse_value(v, k) for k, v in values.items()}
    graph, bindings = build_graph(spec, parsed, symbols=free, continuous=continuous)
    multiples = {n: d.multiple_of for n, d in spec.params.items() if n in free and d.multiple_of}
    return Loaded(source, graph, bindings, free, ledger, spec.published, multiples if continuous else {})


def _exported(source: Source, shapes: Mapping[str, Sequence[int | None]], dtypes: Mapping[str, str]) -> Source:
    """A ``package.module:callable`` reference, built, traced with example inputs of ``shapes``
    and exported to ONNX in memory (:mod:`archcost.frontends.pytorch`)."""
    from archcost.frontends.pytorch import build_referenced_module, example_tensors, export_module

    module = build_referenced_module(source.model)
    args, kwargs = example_tensors(module, shapes, dtypes)
    exported = export_module(module, args, example_kwargs=kwargs, name=source.model)
    return Source(source.model, source.path, source.display, "onnx", proto=exported.proto, notes=exported.notes)


def torch_source(module: Any, example_inputs: Any, *, example_kwargs: Mapping[str, Any] | None = None,
                 dynamic_shapes: Any = None) -> Source:
    """An ``nn.Module`` object, exported to ONNX in memory with its example inputs."""
    from archcost.frontends.pytorch import export_module

    exported = export_module(module, example_inputs, example_kwargs=example_kwargs, dynamic_shapes=dynamic_shapes)
    name = exported.proto.graph.name
    return Source(name, Path(name), name, "onnx", proto=exported.proto, notes=exported.notes)
