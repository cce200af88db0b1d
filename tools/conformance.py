"""Run archcost over the ONNX backend conformance cases and compare every output shape.

The cases are the ONNX project's own: the ``node/`` cases regenerated from the
case definitions the onnx package ships (``onnx.backend.test.case.node.collect_testcases``),
and the ``pytorch-converted``, ``pytorch-operator``, ``simple`` and ``light``
models stored in the package's ``backend/test/data``. For each case the graph
inputs are bound to the shapes of the case's input tensors (``input_shapes``,
as ``--input`` does), and each graph output's inferred shape is compared with
the shape of the expected output tensor:

* ``exact``: every dim equal;
* ``symbolic``: the rank and every concrete dim equal, and each symbolic dim is
  made only of values computed at run time (the case feeds axes, pads or a
  target shape as a graph input, or a size depends on data); the report names them;
* ``wrong``: a rank or a concrete dim differs, or a dim is left in a bound symbol;
* ``missing``: an output has no inferred shape (an op without a rule upstream);
* ``refused``: archcost raised an :class:`~archcost.errors.ArchcostError`;
* ``crash``: any other exception.

``python -m tools.conformance`` prints the figures, beside those of
``onnx.shape_inference.infer_shapes`` on the same cases with the same input
shapes. The test suite runs :func:`run_all` (tests/test_conformance.py).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnx

#: The stored suites of the onnx package, beside the regenerated ``node`` cases.
STORED_SUITES = ("pytorch-converted", "pytorch-operator", "simple", "light")
VERDICTS = ("exact", "symbolic", "wrong", "missing", "refused", "crash")

#: One expected or inferred shape: a tuple of dims; ``None`` for a dim that differs
#: between the elements of a sequence (its stack has no single size there).
Expected = tuple[int | None, ...] | None


@dataclass
class Case:
    """One conformance case: a model and the shapes of its inputs and expected outputs."""

    name: str
    suite: str
    model: onnx.ModelProto
    inputs: dict[str, tuple[int | None, ...]]
    outputs: dict[str, Expected]


@dataclass
class Outcome:
    case: str
    verdict: str
    detail: str = ""
    #: Output name → (inferred, expected) for every compared output.
    shapes: dict[str, tuple[str, str]] = field(default_factory=dict)


def data_dir() -> Path:
    return Path(onnx.__file__).parent / "backend" / "test" / "data"


def _shape_of(value: Any) -> Expected | str:
    """The stack shape of a test value: a tensor, a sequence of tensors, an optional, or None."""
    import numpy as np

    if value is None:
        return None
    if isinstance(value, onnx.TensorProto):
        return tuple(int(d) for d in value.dims)
    if isinstance(value, onnx.SequenceProto):
        return _stack([tuple(int(d) for d in t.dims) for t in value.tensor_values])
    if isinstance(value, onnx.OptionalProto):
        if value.HasField("tensor_value"):
            return _shape_of(value.tensor_value)
        if value.HasField("sequence_value"):
            return _shape_of(value.sequence_value)
        return None
    if isinstance(value, list):
        return _stack([tuple(np.asarray(v).shape) for v in value])
    if isinstance(value, dict):
        return "map"
    return tuple(int(d) for d in np.asarray(value).shape)


def _stack(shapes: list[tuple[int, ...]]) -> Expected | str:
    """A sequence as archcost represents it: ``[length, *element]``, None where elements differ."""
    if not shapes:
        return "empty sequence"
    if len({len(s) for s in shapes}) != 1:
        return "ragged sequence"
    element = tuple(d if all(s[i] == d for s in shapes) else None for i, d in enumerate(shapes[0]))
    return (len(shapes), *element)


def _element_rank(model: onnx.ModelProto, input_name: str) -> int:
    """The declared element rank of a sequence input (0 when the file gives none)."""
    for info in model.graph.input:
        if info.name == input_name:
            t = info.type
            while t.HasField("optional_type") or t.HasField("sequence_type"):
                t = t.optional_type.elem_type if t.HasField("optional_type") else t.sequence_type.elem_type
            if t.HasField("tensor_type") and t.tensor_type.HasField("shape"):
                return len(t.tensor_type.shape.dim)
    return 0


def _is_sequence(model: onnx.ModelProto, input_name: str) -> bool:
    """Whether a graph input is a sequence (or an optional sequence)."""
    for info in model.graph.input:
        if info.name == input_name:
            t = info.type
            if t.HasField("optional_type"):
                t = t.optional_type.elem_type
            return t.HasField("sequence_type")
    return False


def _graph_inputs(model: onnx.ModelProto) -> list[str]:
    initializers = {i.name for i in model.graph.initializer}
    return [v.name for v in model.graph.input if v.name not in initializers]


def _case(name: str, suite: str, model: onnx.ModelProto, inputs: list[Any], outputs: list[Any]) -> Case:
    bound: dict[str, tuple[int | None, ...]] = {}
    for input_name, value in zip(_graph_inputs(model), inputs, strict=False):
        shape = _shape_of(value)
        if shape == "empty sequence" or (value is None and _is_sequence(model, input_name)):
            shape = (0, *_element_rank(model, input_name) * (None,))
        if isinstance(shape, tuple):
            bound[input_name] = shape
    expected: dict[str, Expected] = {}
    for info, value in zip(model.graph.output, outputs, strict=False):
        shape = _shape_of(value)
        expected[info.name] = shape if not isinstance(shape, str) else None
    return Case(name, suite, model, bound, expected)


def node_cases() -> Iterator[Case]:
    """The ``node/`` cases, regenerated from the onnx package's case definitions."""
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    for case in cases:
        inputs, outputs = case.data_sets[0] if case.data_sets else ([], [])
        yield _case(case.name, "node", case.model, list(inputs), list(outputs))


def stored_cases(suite: str) -> Iterator[Case]:
    """A stored suite: ``<case>/model.onnx`` with ``test_data_set_0``, or ``light_*.onnx``."""
    root = data_dir() / suite
    if not root.is_dir():
        raise FileNotFoundError(f"the onnx package has no {suite!r} conformance data at {root}")
    if suite == "light":
        for path in sorted(root.glob("*.onnx")):
            model = onnx.load(str(path), load_external_data=False)
            output = path.with_name(f"{path.stem}_output_0.pb")
            expected = [_load_tensor(output)] if output.exists() else []
            declared = [tuple(d.dim_value for d in v.type.tensor_type.shape.dim)
                        for v in model.graph.input if v.name in _graph_inputs(model)]
            yield _case(path.stem, suite, model, [_Shape(s) for s in declared], expected)
        return
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        model = onnx.load(str(folder / "model.onnx"), load_external_data=False)
        data = folder / "test_data_set_0"
        inputs = [_load_value(p) for p in sorted(data.glob("input_*.pb"), key=_index)]
        outputs = [_load_value(p) for p in sorted(data.glob("output_*.pb"), key=_index)]
        yield _case(folder.name, suite, model, inputs, outputs)


class _Shape:
    """A stand-in value that has only a shape (the light models' declared inputs)."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.shape = shape

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        import numpy as np

        return np.empty(self.shape, dtype=np.float32)


def _index(path: Path) -> int:
    return int(path.stem.rsplit("_", 1)[1])


def _load_tensor(path: Path) -> onnx.TensorProto:
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return tensor


def _load_value(path: Path) -> Any:
    """A stored test value: a TensorProto, or a SequenceProto / OptionalProto when it parses as one."""
    data = path.read_bytes()
    tensor = onnx.TensorProto()
    try:
        tensor.ParseFromString(data)
        if tensor.dims or tensor.raw_data or tensor.data_type:
            return tensor
    except Exception:
        pass
    for kind in (onnx.SequenceProto, onnx.OptionalProto):
        value = kind()
        try:
            value.ParseFromString(data)
            return value
        except Exception:
            continue
    return tensor


def all_cases() -> Iterator[Case]:
    yield from node_cases()
    for suite in STORED_SUITES:
        yield from stored_cases(suite)


def check(case: Case, folder: Path) -> Outcome:
    """Analyze one case with its input shapes bound, and judge every output's shape."""
    from archcost.api import analyze
    from archcost.errors import ArchcostError
    from archcost.ledger import RUN_TIME

    path = folder / f"{case.suite}-{case.name}.onnx"
    path.write_bytes(case.model.SerializeToString())
    try:
        report = analyze(str(path), input_shapes=case.inputs)
    except ArchcostError as err:
        return Outcome(case.name, "refused", str(err))
    except Exception as err:
        return Outcome(case.name, "crash", f"{type(err).__name__}: {err}")
    run_time = {s.name: s.origin for s in report.free_symbols if s.kind == RUN_TIME}
    verdict, reasons, shapes = "exact", [], {}
    for name, expected in case.outputs.items():
        inferred = report.tensor_shapes.get(name)
        shapes[name] = (str(list(inferred)) if inferred is not None else "none", str(expected))
        if expected is None:
            continue  # an empty optional, an empty or ragged sequence, a map: nothing to compare
        if inferred is None:
            return Outcome(case.name, "missing", f"output {name!r} has no inferred shape", shapes)
        if len(inferred) != len(expected):
            return Outcome(case.name, "wrong", f"output {name!r}: rank {len(inferred)}, expected "
                           f"{len(expected)}", shapes)
        for axis, (got, want) in enumerate(zip(inferred, expected, strict=True)):
            if isinstance(got, int):
                if want is not None and got != want:
                    return Outcome(case.name, "wrong", f"output {name!r} axis {axis}: {got}, expected {want}",
                                   shapes)
                continue
            free = {str(s) for s in getattr(got, "free_symbols", ())}
            if want is not None and not (free and free <= run_time.keys()):
                return Outcome(case.name, "wrong", f"output {name!r} axis {axis}: {got} depends on "
                               f"{', '.join(sorted(free - run_time.keys()))}, which the inputs bind", shapes)
            if want is not None:
                verdict = "symbolic"
                reasons.extend(run_time[s] for s in sorted(free))
    return Outcome(case.name, verdict, "; ".join(dict.fromkeys(reasons)), shapes)


def shape_inference(case: Case) -> str:
    """``onnx.shape_inference``'s verdict on the same case with the same input shapes:
    exact, partial (some dim or output unknown), wrong, or refused."""
    from onnx import shape_inference

    model = onnx.ModelProto()
    model.CopyFrom(case.model)
    # The cases declare their outputs' shapes; inference must find them, as archcost does.
    del model.graph.value_info[:]
    for value_info in model.graph.output:
        value_info.type.CopyFrom(_without_shape(value_info.type))
    for value_info in model.graph.input:
        shape = case.inputs.get(value_info.name)
        if shape is None or not value_info.type.HasField("tensor_type"):
            continue
        dims = value_info.type.tensor_type.shape
        del dims.dim[:]
        for d in shape:
            dims.dim.add().dim_value = d
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:
        return "refused"
    found = {v.name: v for v in (*inferred.graph.output, *inferred.graph.value_info)}
    verdict = "exact"
    for name, expected in case.outputs.items():
        if expected is None:
            continue
        info = found.get(name)
        shape = _declared(info) if info is not None else None
        if shape is None or len(shape) != len(expected):
            if shape is not None and len(shape) != len(expected):
                return "wrong"
            verdict = "partial"
            continue
        for got, want in zip(shape, expected, strict=True):
            if got is None or want is None:
                verdict = "partial" if got is None and want is not None else verdict
            elif got != want:
                return "wrong"
    return verdict


def _without_shape(type_proto: onnx.TypeProto) -> onnx.TypeProto:
    """``type_proto`` with every tensor shape in it removed (element types kept)."""
    copy = onnx.TypeProto()
    copy.CopyFrom(type_proto)
    pending = [copy]
    while pending:
        t = pending.pop()
        if t.HasField("tensor_type"):
            t.tensor_type.ClearField("shape")
        elif t.HasField("sequence_type"):
            pending.append(t.sequence_type.elem_type)
        elif t.HasField("optional_type"):
            pending.append(t.optional_type.elem_type)
    return copy


def _declared(info: Any) -> tuple[int | None, ...] | None:
    t = info.type
    while t.HasField("sequence_type") or t.HasField("optional_type"):
        return None  # a sequence's element shape is not a stack shape; counted as unknown
    if not t.HasField("tensor_type") or not t.tensor_type.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else None for d in t.tensor_type.shape.dim)


def run_all(with_shape_inference: bool = False) -> tuple[list[Outcome], collections.Counter[str]]:
    """Every case's outcome, and (optionally) onnx.shape_inference's verdicts on the same cases."""
    outcomes: list[Outcome] = []
    reference: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in all_cases():
            outcomes.append(check(case, Path(tmp)))
            if with_shape_inference:
                reference[shape_inference(case)] += 1
    return outcomes, reference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", choices=VERDICTS, action="append", default=[],
                        help="list the cases with this verdict")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    outcomes, reference = run_all(with_shape_inference=True)
    elapsed = time.perf_counter() - start
    counts = collections.Counter(o.verdict for o in outcomes)
    print(f"{len(outcomes)} cases (onnx {onnx.__version__}), {elapsed:.1f} s")
    print("archcost:             " + ", ".join(f"{v} {counts[v]}" for v in VERDICTS))
    print("onnx.shape_inference: " + ", ".join(f"{v} {reference[v]}" for v in ("exact", "partial", "wrong",
                                                                                 "refused")))
    for verdict in args.list:
        for o in outcomes:
            if o.verdict == verdict:
                print(f"{verdict}: {o.case}: {o.detail[:300]} {o.shapes if verdict != 'refused' else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
