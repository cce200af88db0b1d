"""Running a TFLite model in the LiteRT interpreter, for ``verify``.

The interpreter (the ``ai-edge-litert`` package, ``pip install 'archcost[litert]'``) runs the
file as it is, with ``experimental_preserve_all_tensors=True`` so that every intermediate tensor
of subgraph 0 can be read after the run. Graph inputs with dims bound by the user are resized
first. Each tensor is keyed by the name the analysis gave it
(:func:`archcost.frontends.tflite.tensor_names`), so :func:`archcost.runtime.verify.compare`
checks every observed shape and dtype, the MACs per layer from the observed shapes, and the
parameters from the stored tensors' dims, as for ONNX.

LiteRT exposes no tensor inside an IF, WHILE or CALL_ONCE subgraph: those nodes are recounted
from the observed shapes of what they read, as ONNX control flow is.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archcost.errors import UsageError
from archcost.graph import Graph

#: The interpreter's package, as pip names it.
PACKAGE = "ai-edge-litert"
#: How to install LiteRT: the plain package, or the extra (from an index or a checkout).
LITERT_INSTALL = (f"pip install {PACKAGE} (or the extra: pip install 'archcost[litert]', "
                  "from a checkout '.[litert]')")


def interpreter_class() -> tuple[Any, Any]:
    """LiteRT's ``Interpreter`` and the op resolver verify uses: the builtin kernels without the
    default delegates (XNNPACK would fuse operators, and their tensors would never exist); a
    :class:`UsageError` that says how to install LiteRT when it is absent."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError:
        raise UsageError(f"running a TFLite model needs the LiteRT interpreter: {LITERT_INSTALL}") from None
    return Interpreter, OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES


class RunFailed(Exception):
    """The interpreter refused the model or failed while running it."""


def run_tflite(path: Path, graph: Graph, feeds: Mapping[str, Any]) -> dict[str, Any]:
    """Run the model at ``path`` on ``feeds`` (by graph input name); every tensor of subgraph 0
    the run holds, by the analysis' tensor name."""
    import warnings

    from archcost.frontends.tflite import tensor_names
    from archcost.frontends.tflite_wire import read_tflite

    interpreter_type, resolver = interpreter_class()
    model = read_tflite(path, str(path))
    main = model.subgraphs[0]
    names = tensor_names(main)
    try:
        with warnings.catch_warnings():
            # LiteRT warns that preserving every tensor is for debugging, which is what verify does.
            warnings.simplefilter("ignore")
            interpreter = interpreter_type(model_path=str(path), experimental_preserve_all_tensors=True,
                                           num_threads=1, experimental_op_resolver_type=resolver)
        details = interpreter.get_input_details()
        for detail in details:
            name = names[detail["index"]]
            shape = tuple(int(d) for d in graph.tensors[name].shape)
            if tuple(int(d) for d in detail["shape"]) != shape:
                interpreter.resize_tensor_input(detail["index"], list(shape), strict=False)
        interpreter.allocate_tensors()
        for detail in details:
            name = names[detail["index"]]
            interpreter.set_tensor(detail["index"], feeds[name].astype(detail["dtype"]))
        interpreter.invoke()
    except Exception as err:  # the interpreter raises RuntimeError and ValueError for bad models
        raise RunFailed(f"{type(err).__name__}: {err}") from None
    observed: dict[str, Any] = {}
    inputs = {names[d["index"]] for d in details}
    for detail in interpreter.get_tensor_details():
        index = detail["index"]
        if index >= len(names) or names[index] in inputs or main.tensors[index].data_bytes:
            continue
        if main.tensors[index].dtype in ("resource", "variant", "string"):
            continue
        try:
            observed[names[index]] = interpreter.get_tensor(index)
        except ValueError:
            continue  # a tensor the run never allocated (an unused optional slot)
    return observed


def stored_dims(path: Path) -> dict[str, tuple[int, ...]]:
    """Dims of every tensor with stored bytes, in every subgraph, by the analysis' name; and of
    subgraph 0's resource and variant handles, which hold no data to observe (their shape is
    the file's, ``[]``)."""
    from archcost.frontends.tflite import tensor_names
    from archcost.frontends.tflite_wire import read_tflite

    dims: dict[str, tuple[int, ...]] = {}
    for sub in read_tflite(path, str(path)).subgraphs:
        for tensor, name in zip(sub.tensors, tensor_names(sub), strict=True):
            if tensor.data_bytes or (sub.index == 0 and tensor.dtype in ("resource", "variant")):
                dims.setdefault(name, tensor.shape)
    return dims


def branch_taken(graph: Graph, observed: Mapping[str, Any]) -> str | None:
    """``then`` or ``else``: the branch every If of subgraph 0 whose condition the analysis
    could not know took in the run, when they all took the same one; else ``None``."""
    taken = set()
    for node in graph.topological_nodes():
        if node.op_type != "If" or not node.inputs:
            continue
        cond = graph.tensors.get(node.inputs[0])
        if cond is not None and cond.value is not None:
            continue
        array = observed.get(node.inputs[0])
        if array is None or array.size != 1:
            return None
        taken.add("then" if bool(array.reshape(-1)[0]) else "else")
    return taken.pop() if len(taken) == 1 else None
