"""Graph → runnable ONNX model, with seeded random weights.

Every initializer keeps its declared shape and dtype. Tensors whose contents
the graph knows (``Tensor.value``: clip bounds, reshape targets, slice bounds)
get those contents; all others get seeded random numbers: float kernels of rank
≥ 2 are drawn from N(0, 1/fan_in) so deep stacks stay finite, vectors
(biases, γ/β, running statistics) from U(0.5, 1.5) so variances stay positive,
and integer tensors are zeros (always valid indices).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.dtypes import DTYPE_CODES, is_integer, lookup
from archcost.errors import ArchcostError, UsageError, about
from archcost.fileio import write_atomic
from archcost.graph import Graph, Tensor, TensorKind
from archcost.numeric import is_concrete
from archcost.ops.tensor import ConstTensor
from archcost.runtime.checks import require_concrete, require_runtime_size

#: The opset exported models declare: the oldest with every op the registry lowers
#: to (Gelu is opset 20; Split's num_outputs and ReduceMean's axes input are 18).
EXPORT_OPSET = 20
#: IR version 9 is what opset 20 needs, and what onnxruntime ≥ 1.16 reads.
EXPORT_IR_VERSION = 9


def _numpy_dtype(dtype: str) -> Any:
    import numpy as np

    row = lookup(dtype) if dtype in DTYPE_CODES else None
    # NumPy has no bfloat16, fp8 or int4 type, and random weights are never complex.
    if row is None or row.numpy is None or row.kind == "complex":
        raise UsageError(f"cannot export a tensor of dtype {dtype!r}")
    return np.dtype(row.numpy)


def _array(shape: tuple[int, ...], dtype: str, values: tuple[Any, ...] | None, rng: Any) -> Any:
    """The contents for one tensor: its known values, else seeded random numbers."""
    import numpy as np

    np_dtype = _numpy_dtype(dtype)
    size = 1
    for d in shape:
        size *= d
    if values is not None and len(values) in (size, 1):
        flat = [float(v) if isinstance(v, Fraction) else v for v in values]
        data = np.array(flat * (size if len(flat) == 1 and size != 1 else 1), dtype=np_dtype)
        return data.reshape(shape)
    if is_integer(dtype):
        return np.zeros(shape, dtype=np_dtype)
    if len(shape) >= 2:
        fan_in = size // shape[0] if shape[0] else 1
        return (rng.standard_normal(shape) / max(fan_in, 1) ** 0.5).astype(np_dtype)
    return rng.uniform(0.5, 1.5, size=shape).astype(np_dtype)


def _tensor_proto(name: str, array: Any) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(array, name)


def _attribute(node: str, key: str, value: Any, rng: Any) -> Any:
    """A node attribute as something ``onnx.helper.make_attribute`` accepts."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float, str)):
        return value
    if isinstance(value, Fraction):
        return float(value)
    if isinstance(value, ConstTensor):
        return _tensor_proto("", _array(value.shape, value.dtype, value.values, rng))
    if isinstance(value, (list, tuple)):
        items = [_attribute(node, key, v, rng) for v in value]
        if any(isinstance(v, float) for v in items):
            items = [float(v) for v in items]
        return items
    if not is_concrete(value) and hasattr(value, "free_symbols"):
        raise UsageError(f"node {node!r}: attribute {key!r} is symbolic ({value}); bind its "
                         "parameters with --set before exporting")
    raise UsageError(f"node {node!r}: attribute {key!r} ({type(value).__name__}) cannot be exported")


def _value_info(name: str, dtype: str | None, shape: tuple[Any, ...] | None) -> Any:
    from onnx import TensorProto, helper

    code = DTYPE_CODES.get(dtype or "", TensorProto.UNDEFINED)
    if shape is not None and not all(isinstance(d, int) for d in shape):
        shape = None
    return helper.make_tensor_value_info(name, code, None if shape is None else list(shape))


def graph_to_onnx(graph: Graph, *, seed: int = 0, opset: int | None = None) -> Any:
    """A runnable ``onnx.ModelProto`` for ``graph`` with seeded random weights.

    The graph must be concrete (every dim an int): bind parameters first.
    """
    import numpy as np
    from onnx import helper

    from archcost.cost.analyze import analyze_graph
    from archcost.cost.conventions import PAPER

    require_concrete(graph, "export")
    report = analyze_graph(graph, PAPER)
    # A Constant's value is filled with random data here: its size counts like a weight's.
    constants = {out: report.tensor_shapes[out] for op in graph.topological_nodes() if op.op_type == "Constant"
                 for out in op.outputs if out in report.tensor_shapes}
    require_runtime_size(graph, "export", constants)
    rng = np.random.default_rng(seed)
    initializers = []
    inputs = []
    for tensor in graph.tensors.values():
        if tensor.kind is TensorKind.INITIALIZER:
            initializers.append(_tensor_proto(tensor.name, _initializer(tensor, rng)))
        else:
            inputs.append(_value_info(tensor.name, tensor.dtype, tensor.shape))
    nodes = []
    domains: set[str] = set()
    for op in graph.topological_nodes():
        attrs = {}
        for key, value in op.attrs.items():
            converted = _attribute(op.name, key, value, rng)
            if isinstance(converted, list) and not converted:
                continue  # an empty list has no ONNX type; the attribute's default applies
            attrs[key] = converted
        try:
            nodes.append(helper.make_node(op.op_type, list(op.inputs), list(op.outputs), name=op.name,
                                          domain=op.domain or None, **attrs))
        except (TypeError, ValueError) as err:
            raise UsageError(f"node {op.name!r} cannot be exported: {err}") from None
        if op.domain:
            domains.add(op.domain)
    outputs = [
        _value_info(name, report.tensor_dtypes.get(name), report.tensor_shapes.get(name))
        for name in graph.outputs
    ]
    onnx_graph = helper.make_graph(nodes, graph.name, inputs, outputs, initializer=initializers)
    opsets = [helper.make_opsetid("", opset or EXPORT_OPSET)]
    opsets += [helper.make_opsetid(d, 1) for d in sorted(domains)]
    model = helper.make_model(onnx_graph, opset_imports=opsets, producer_name="archcost")
    model.ir_version = EXPORT_IR_VERSION
    return model


def _initializer(tensor: Tensor, rng: Any) -> Any:
    shape = tuple(int(d) for d in tensor.shape)
    return _array(shape, tensor.dtype, tensor.value, rng)


def refuse_tflite(source: Any, command: str) -> None:
    """A TFLite graph keeps TFLite's operators and layouts (NHWC, OHWI filters), which onnxruntime
    cannot run: ``export`` and ``profile`` say so rather than write a model that will not load."""
    if source.format == "tflite":
        raise UsageError(f"{source.display}: {command} works on an ONNX export for onnxruntime, and a TFLite model's "
                         "operators are TFLite's; run it as it is with archcost verify (LiteRT: pip install "
                         "'archcost[litert]')")


def export_model(model: str, out: Path, *, params: Mapping[str, Any] | None = None, seed: int = 0,
                 input_shapes: Mapping[str, Any] | None = None,
                 input_values: Mapping[str, Any] | None = None) -> Path:
    """Export ``model`` (zoo name, spec or ONNX file) to ``out``; returns ``out``.

    The file is written to a temporary name in the same folder and renamed, so
    ``out`` is either the complete model or untouched.
    """
    from archcost.frontends.loader import load_model

    with about(model):
        loaded = load_model(model, params=params, input_shapes=input_shapes, input_values=input_values)
        refuse_tflite(loaded.source, "export")
        proto = graph_to_onnx(loaded.graph, seed=seed)
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"{out}: the folder {folder} does not exist")
    try:
        write_atomic(out, proto.SerializeToString())
    except OSError as err:
        raise ArchcostError(f"{out}: cannot write the model ({err.strerror})") from None
    return out
