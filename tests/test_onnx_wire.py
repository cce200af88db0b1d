"""The structure-only wire reader yields exactly the graph ``onnx.load`` yields.

Compared on every builder in ``tests/onnx_builders.py``, every operator case of
``tests/test_onnx_ops.py``, every zoo spec exported through ``graph_to_onnx``,
hypothesis-generated models and tensors, and (through the plugin at the bottom
of this file) every ONNX model the rest of the suite analyzes. Bad bytes must
raise :class:`ModelFormatError`, never another exception.

This module is also a pytest plugin: ``-p tests.test_onnx_wire`` with
``ARCHCOST_WIRE_CROSSCHECK=<log file>`` makes every ``load_onnx_graph`` call of a
test run build the graph with both readers and log whether they agree.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from archcost.errors import ArchcostError
from archcost.frontends import onnx as onnx_frontend
from archcost.frontends import onnx_wire
from archcost.frontends.onnx import _small_values, load_onnx_graph, read_model
from archcost.frontends.onnx_wire import AttributeType, WireError, parse_model
from archcost.graph import Graph
from tests import onnx_builders
from tests.conftest import REPO, run_cli

CROSSCHECK_ENV = "ARCHCOST_WIRE_CROSSCHECK"


# --- comparing graphs ---------------------------------------------------------------------


def describe(value: Any) -> Any:
    """A plain, exactly comparable picture of a graph or attribute value (types included)."""
    if isinstance(value, Graph):
        return (
            "Graph", value.name, value.inputs, value.outputs,
            {name: describe(t) for name, t in value.tensors.items()},
            [describe(node) for node in value.topological_nodes()],
            sorted((p, c, tuple(d["tensors"])) for p, c, d in value.dag.edges(data=True)),
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__,
                tuple((f.name, describe(getattr(value, f.name))) for f in dataclasses.fields(value)))
    if isinstance(value, (Mapping, MappingProxyType)):
        return ("map", tuple((k, describe(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(describe(v) for v in value))
    if isinstance(value, float):
        return ("float", value.hex())
    if isinstance(value, (int, str, bytes, Fraction, type(None))) or hasattr(value, "free_symbols"):
        return (type(value).__name__, value)
    if hasattr(value, "value") and hasattr(value, "name"):  # an enum member
        return (type(value).__name__, value.name)
    raise TypeError(f"describe() does not know {type(value).__name__}")


def load_both(path: Path, **kwargs: Any) -> tuple[Any, Any]:
    """The outcome with each reader: (graph, bindings) or the error raised."""
    outcomes = []
    for reader in ("onnx", "wire"):
        try:
            graph, bindings = load_onnx_graph(path, path.name, bindings=kwargs.get("bindings", {}),
                                              symbols=kwargs.get("symbols", ()), reader=reader)
            outcomes.append(("ok", describe(graph), describe(bindings)))
        except ArchcostError as err:
            outcomes.append(("error", type(err).__name__, str(err)))
    return outcomes[0], outcomes[1]


def assert_same_graph(proto: onnx.ModelProto, tmp_path: Path, name: str = "m.onnx") -> None:
    path = tmp_path / name
    path.write_bytes(proto.SerializeToString())
    reference, wire = load_both(path)
    assert wire == reference


# --- every builder, every op case, every zoo spec -----------------------------------------


def _builder_models() -> list[tuple[str, Callable[[], onnx.ModelProto]]]:
    models: list[tuple[str, Callable[[], onnx.ModelProto]]] = []
    for name, function in inspect.getmembers(onnx_builders, inspect.isfunction):
        if function.__module__ != onnx_builders.__name__ or name.startswith("_"):
            continue
        parameters = inspect.signature(function).parameters.values()
        if all(p.default is not inspect.Parameter.empty for p in parameters):
            models.append((name, function))
    assert {"residual_block", "concat_block", "attention"} <= {n for n, _ in models}
    models += [
        ("attention-seq9", lambda: onnx_builders.attention(seq=9)),
        ("attention-batch-N", lambda: onnx_builders.attention(batch="N")),
        ("attention-unnamed", lambda: onnx_builders.attention(seq=None)),
        ("single_op-conv", lambda: onnx_builders.single_op(
            "Conv", [1, 3, 8, 8], [onnx_builders.weight("w", [4, 3, 3, 3])], pads=[1, 1, 1, 1])),
    ]
    return models


@pytest.mark.parametrize(("name", "build"), _builder_models(), ids=[n for n, _ in _builder_models()])
def test_builders(name: str, build: Callable[[], onnx.ModelProto], tmp_path: Path) -> None:
    assert_same_graph(build(), tmp_path)


def _op_cases() -> list[Any]:
    from tests import test_onnx_ops

    return list(test_onnx_ops.CASES)


@pytest.mark.parametrize("case", _op_cases(), ids=lambda c: c.id)
def test_operator_cases(case: Any, tmp_path: Path) -> None:
    assert_same_graph(case.proto, tmp_path)


def _zoo() -> list[str]:
    from archcost.zoo import zoo_names

    return zoo_names()


@pytest.mark.parametrize("spec", _zoo())
def test_exported_zoo_specs(spec: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Zoo specs through ``graph_to_onnx``; weights over 4096 elements are stored as external data.

    The readers never read those bytes, so writing hundreds of MB of random weights
    would test nothing; an external location (never opened) keeps the file small
    and exercises the external-data fields of both readers.
    """
    from archcost.frontends.loader import load_model
    from archcost.runtime import export

    def initializer(tensor: Any, rng: Any) -> Any:
        shape = tuple(int(d) for d in tensor.shape)
        if math.prod(shape) > 4096:
            return np.broadcast_to(np.zeros((), export._numpy_dtype(tensor.dtype)), shape)
        return original_initializer(tensor, rng)

    def tensor_proto(name: str, array: Any) -> Any:
        if array.size <= 4096:
            return numpy_helper.from_array(np.ascontiguousarray(array), name)
        proto = TensorProto(name=name, data_type=helper.np_dtype_to_tensor_dtype(array.dtype), dims=array.shape)
        proto.data_location = TensorProto.EXTERNAL
        proto.external_data.add(key="location", value="weights.bin")
        proto.external_data.add(key="length", value=str(array.nbytes))
        return proto

    original_initializer = export._initializer
    monkeypatch.setattr(export, "_initializer", initializer)
    monkeypatch.setattr(export, "_tensor_proto", tensor_proto)
    graph = load_model(spec).graph
    assert_same_graph(export.graph_to_onnx(graph), tmp_path, f"{spec}.onnx")


# --- hypothesis: generated models ---------------------------------------------------------

_NUMERIC = [TensorProto.FLOAT, TensorProto.UINT8, TensorProto.INT8, TensorProto.UINT16, TensorProto.INT16,
            TensorProto.INT32, TensorProto.INT64, TensorProto.BOOL, TensorProto.FLOAT16, TensorProto.DOUBLE,
            TensorProto.UINT32, TensorProto.UINT64, TensorProto.BFLOAT16]
_STORAGE = {TensorProto.FLOAT: "float_data", TensorProto.INT64: "int64_data", TensorProto.DOUBLE: "double_data",
            TensorProto.UINT32: "uint64_data", TensorProto.UINT64: "uint64_data"}
_RANGES = {"int32_data": (-(2**31), 2**31 - 1), "int64_data": (-(2**63), 2**63 - 1),
           "uint64_data": (0, 2**64 - 1)}


@st.composite
def tensors(draw: st.DrawFn, name: str = "t") -> TensorProto:
    """A TensorProto stored every way ONNX allows: raw bytes, its typed field, or a wrong one.

    Lengths are drawn independently of the dims on purpose: a mismatch must make
    both readers drop the contents, not disagree.
    """
    dtype = draw(st.sampled_from([*_NUMERIC, TensorProto.STRING, TensorProto.COMPLEX64, 22]))
    dims = draw(st.lists(st.integers(-2, 4), max_size=3))
    tensor = TensorProto(name=name, data_type=dtype, dims=dims)
    storage = draw(st.sampled_from(["raw", "typed", "typed", "float_data", "int32_data", "int64_data",
                                    "uint64_data", "double_data", "none"]))
    # Mostly a count that fills the dims, so contents are decoded; sometimes any count.
    fits = all(d >= 0 for d in dims) and draw(st.integers(0, 3)) > 0
    count = math.prod(dims) if fits else draw(st.integers(0, 12))
    if storage == "raw":
        size = np.dtype(helper.tensor_dtype_to_np_dtype(dtype)).itemsize if dtype in _NUMERIC else 4
        tensor.raw_data = draw(st.binary(min_size=count * size, max_size=count * size) if fits
                               else st.binary(max_size=48))
    elif storage != "none":
        field = _STORAGE.get(dtype, "int32_data") if storage == "typed" else storage
        if field in ("float_data", "double_data"):
            values = draw(st.lists(st.floats(width=32 if field == "float_data" else 64), min_size=count,
                                   max_size=count))
        else:
            low, high = _RANGES[field]
            values = draw(st.lists(st.integers(low, high), min_size=count, max_size=count))
        getattr(tensor, field).extend(values)
    if draw(st.booleans()):
        tensor.segment.begin = 0
        tensor.ClearField("segment") if draw(st.booleans()) else None
    return tensor


@settings(max_examples=400, deadline=None)
@given(tensors())
def test_small_tensor_contents_match_numpy(tensor: TensorProto) -> None:
    """The wire reader's decoding of a small tensor equals ``numpy_helper.to_array``'s."""
    graph = helper.make_graph([helper.make_node("Identity", ["t"], ["y"])], "g", [], [], [tensor])
    model = helper.make_model(graph)
    wire_tensor = parse_model(model.SerializeToString()).graph.initializer[0]
    shape = tuple(int(d) for d in tensor.dims)
    dtype = onnx_frontend.dtype_name(tensor.data_type)
    assert describe(_small_values(wire_tensor, shape, dtype)) == describe(_small_values(tensor, shape, dtype))
    assert list(wire_tensor.dims) == list(tensor.dims) and wire_tensor.data_type == tensor.data_type


_NAMES = st.sampled_from(["a", "b", "c", "x", "w", "k", "é", "n_1"])
_ATTRIBUTE_VALUES = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(width=32),
    st.text(max_size=5),
    st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=4),
    st.lists(st.floats(width=32), min_size=1, max_size=4),
    st.lists(st.text(max_size=3), min_size=1, max_size=3),
    tensors(name=""),
    st.lists(tensors(name=""), min_size=1, max_size=2),
)


@st.composite
def models(draw: st.DrawFn) -> onnx.ModelProto:
    """A chain of nodes of arbitrary op types and attributes over a dynamic-dim input."""
    x_dims = draw(st.lists(st.one_of(st.integers(0, 9), st.sampled_from(["N", "S", ""])), max_size=4))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_dims)
    inits = [draw(tensors(name=f"init{i}")) for i in range(draw(st.integers(0, 3)))]
    defined = ["x", *(t.name for t in inits)]
    nodes = []
    for i in range(draw(st.integers(1, 5))):
        inputs = draw(st.lists(st.sampled_from([*defined, ""]), min_size=0, max_size=3))
        attrs = draw(st.dictionaries(_NAMES, _ATTRIBUTE_VALUES, max_size=3))
        op = draw(st.sampled_from(["Relu", "Conv", "MyOp", "Constant", "Split", "Add"]))
        domain = draw(st.sampled_from(["", "ai.onnx", "com.example"]))
        name = draw(st.sampled_from(["", f"n{i}", "dup"]))
        outputs = [f"o{i}"] + ([f"o{i}b"] if draw(st.booleans()) else [])
        nodes.append(helper.make_node(op, inputs, outputs, name=name, domain=domain, **attrs))
        for key, value in draw(st.lists(st.tuples(_NAMES, st.text(max_size=6)), max_size=2)):
            nodes[-1].metadata_props.add(key=key, value=value)  # decoded, never read by the builder
        nodes[-1].doc_string = draw(st.sampled_from(["", "skipped"]))
        defined += outputs
    if draw(st.booleans()):  # a subgraph attribute, as If branches carry
        body = helper.make_graph([helper.make_node("Relu", ["x"], ["z"])], "body", [],
                                 [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
        nodes.append(helper.make_node("Holder", [], ["h"], name="holder", body=body, bodies=[body, body]))
    value_info = [helper.make_tensor_value_info(defined[-1], TensorProto.FLOAT, [1, "S"])]
    graph = helper.make_graph(nodes, draw(st.text(max_size=4)), [x], [onnx.ValueInfoProto(name=defined[-1])],
                              inits, value_info=value_info)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    return model


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=models())
def test_generated_models(model: onnx.ModelProto, tmp_path: Path) -> None:
    assert_same_graph(model, tmp_path)


def test_attribute_type_enum_is_onnx_s() -> None:
    assert {t.name: int(t) for t in AttributeType} == dict(onnx.AttributeProto.AttributeType.items())


def test_every_attribute_type_is_decoded(tmp_path: Path) -> None:
    """One node with an attribute of each AttributeProto type, including graphs and type protos."""
    body = helper.make_graph([helper.make_node("Relu", ["x"], ["z"])], "body", [],
                             [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    small = numpy_helper.from_array(np.array([3, -1, 2], np.int64))
    sparse = helper.make_sparse_tensor(numpy_helper.from_array(np.array([1.5], np.float32), "v"),
                                       numpy_helper.from_array(np.array([2], np.int64), "i"), [4])
    type_proto = helper.make_tensor_type_proto(TensorProto.INT64, [2, "K"])
    attrs = [
        helper.make_attribute("f", 0.1), helper.make_attribute("i", -7), helper.make_attribute("s", "héllo"),
        helper.make_attribute("t", small), helper.make_attribute("g", body),
        helper.make_attribute("floats", [1.0, -0.5]), helper.make_attribute("ints", [1, 2**40]),
        helper.make_attribute("strings", ["a", "b"]), helper.make_attribute("tensors", [small, small]),
        helper.make_attribute("graphs", [body]), helper.make_attribute("sparse", sparse),
        helper.make_attribute("sparses", [sparse]), helper.make_attribute("tp", type_proto),
        helper.make_attribute("tps", [type_proto]),
    ]
    node = helper.make_node("Custom", ["x"], ["y"], domain="com.example")
    node.attribute.extend(attrs)
    model = onnx_builders.model([node], [("x", [1, 2])], ["y"])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    reference, wire = load_both(path)
    assert reference[0] == "ok" and wire == reference
    structure = read_model(path, "m.onnx", "wire")
    custom = structure.graph.node[0]
    assert [a.type for a in custom.attribute] == [a.type for a in attrs]
    assert [(o.domain, o.version) for o in structure.opset_import] == [("", 18), ("com.example", 1)]
    assert custom.attribute[3].t.flat_values() == [3, -1, 2]
    assert [len(g.node) for g in custom.attribute[9].graphs] == [1]
    # Sparse tensor and type proto values are never read: only their attribute type is kept.
    assert not {"sparse_tensor", "sparse_tensors", "tp", "type_protos"} & {
        field for a in custom.attribute for field in vars(a)}


def test_value_info_and_constant_nodes(tmp_path: Path) -> None:
    shape = numpy_helper.from_array(np.array([1, -1], np.int64))
    nodes = [helper.make_node("Constant", [], ["shape"], value=shape),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    model = onnx_builders.model(nodes, [("x", ["N", 3, 4])], ["y"])
    model.graph.value_info.append(helper.make_tensor_value_info("shape", TensorProto.INT64, [2]))
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    reference, wire = load_both(path)
    assert wire == reference and reference[0] == "ok"
    structure = read_model(path, "m.onnx", "wire")
    assert structure.graph.value_info[0].name == "shape"
    assert structure.graph.node[0].attribute[0].t.flat_values() == [1, -1]


# --- the tables: what is kept, and the hand-written loops agree with them -------------------

#: The onnx class each wire class stands for.
_ONNX_CLASSES = {
    onnx_wire.TypeTensor: onnx.TypeProto.Tensor, onnx_wire.TypeSequence: onnx.TypeProto.Sequence,
    onnx_wire.TypeOptional: onnx.TypeProto.Optional, onnx_wire.TensorShapeDimension: onnx.TensorShapeProto.Dimension,
    onnx_wire.MetadataEntry: onnx.StringStringEntryProto,
}
_F = onnx.NodeProto.DESCRIPTOR.fields_by_name["input"]  # any field descriptor, for its type constants
#: Table kind → (protobuf field type, repeated).
_KINDS = {
    "STRING": (_F.TYPE_STRING, False), "LENIENT_STRING": (_F.TYPE_STRING, False), "STRINGS": (_F.TYPE_STRING, True),
    "BYTES": (_F.TYPE_BYTES, False), "BYTES_LIST": (_F.TYPE_BYTES, True), "INT64": (_F.TYPE_INT64, False),
    "INT32": (_F.TYPE_INT32, False), "ENUM": (_F.TYPE_ENUM, False), "FLOAT": (_F.TYPE_FLOAT, False),
    "FLOATS": (_F.TYPE_FLOAT, True), "INT64S": (_F.TYPE_INT64, True), "MESSAGE": (_F.TYPE_MESSAGE, False),
    "MESSAGES": (_F.TYPE_MESSAGE, True), "PRESENCE": (_F.TYPE_MESSAGE, False),
}


def _onnx_class(cls: type) -> Any:
    return _ONNX_CLASSES.get(cls) or getattr(onnx, cls.__name__)


@pytest.mark.parametrize("cls", onnx_wire._MESSAGES, ids=lambda c: c.__name__)
def test_tables_match_onnx_proto(cls: type) -> None:
    """Every kept field has onnx.proto's number, type and cardinality; message fields, the right class."""
    descriptor = _onnx_class(cls).DESCRIPTOR
    for number, (name, kind, *arg) in cls._keeps.items():  # type: ignore[attr-defined]
        field = descriptor.fields_by_number[number]
        kind_name = next(k for k in _KINDS if getattr(onnx_wire, k) is kind)
        assert field.name == name, (number, name)
        assert (field.type, field.is_repeated) == _KINDS[kind_name], name
        if kind_name in ("MESSAGE", "MESSAGES"):
            assert _onnx_class(getattr(onnx_wire, arg[0])).DESCRIPTOR is field.message_type, name
        if kind_name == "ENUM":
            assert arg[0] == {v.number for v in field.enum_type.values}, name
    oneofs = {descriptor.fields_by_name[name].containing_oneof for name in cls._oneof}  # type: ignore[attr-defined]
    assert None not in oneofs and len(oneofs) <= 1


def _plain(value: Any) -> Any:
    """A wire message as nested dicts of the fields set (empty lists dropped, payloads left out;
    a node's metadata value, decoded when first read, read)."""
    if isinstance(value, onnx_wire.MetadataEntry) and value.HasField("value"):
        assert isinstance(value.value, str)
    if isinstance(value, onnx_wire._Message):
        return (type(value).__name__, {k: _plain(v) for k, v in vars(value).items()
                                       if k not in ("_raw", "_typed") and v != []})
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.hex() if isinstance(value, float) else value


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(model=models())
def test_hand_written_loops_read_what_the_tables_say(model: onnx.ModelProto,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Graphs, nodes and tensors read by their tables alone give the same messages as the hot loops."""
    data = model.SerializeToString()
    hot = _plain(parse_model(data))
    with monkeypatch.context() as patch:
        for cls in (onnx_wire.GraphProto, onnx_wire.NodeProto, onnx_wire.TensorProto):
            patch.setattr(cls, "_parse", onnx_wire._decode)
        by_table = _plain(parse_model(data))
    assert hot == by_table


def test_metadata_props_are_kept() -> None:
    """A dynamo export's node metadata (module scopes) and a model's metadata, as onnx reads them."""
    path = REPO / "tests" / "fixtures" / "corpus" / "gpt2_dynamo.onnx"
    reference = onnx.load(str(path), load_external_data=False)
    wire = read_model(path, path.name, "wire")
    assert [[(e.key, e.value) for e in n.metadata_props] for n in wire.graph.node] == [
        [(e.key, e.value) for e in n.metadata_props] for n in reference.graph.node]
    assert any(e.key == "pkg.torch.onnx.name_scopes" for e in wire.graph.node[0].metadata_props)
    model = onnx_builders.residual_block()
    helper.set_model_props(model, {"author": "a", "license": "MIT"})
    assert [(e.key, e.value) for e in parse_model(model.SerializeToString()).metadata_props] == [
        ("author", "a"), ("license", "MIT")]


def test_only_read_fields_are_decoded(tmp_path: Path) -> None:
    """Metadata that is not UTF-8 reads with U+FFFD; a field nobody reads is skipped unchecked, as
    onnx.load skips it (it never checks UTF-8): neither makes the model unreadable."""
    model = onnx_builders.residual_block()
    node = model.graph.node[0]
    node.doc_string = "DOC"
    node.metadata_props.add(key="k", value="VAL")
    model.producer_name = "PRODUCER"
    data = model.SerializeToString()
    for marker in (b"DOC", b"VAL", b"PRODUCER"):
        data = data.replace(marker, b"\xff" * len(marker))
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    reference, wire = load_both(path)
    assert wire == reference and wire[0] == "ok"
    structure = read_model(path, "m.onnx", "wire")
    assert structure.graph.node[0].metadata_props[0].value == "\ufffd" * 3
    assert "doc_string" not in vars(structure.graph.node[0]) and "producer_name" not in vars(structure)
    # A field that is read is still checked.
    path.write_bytes(model.SerializeToString().replace(node.name.encode(), b"\xff" * len(node.name)))
    with pytest.raises(ArchcostError, match="not valid UTF-8"):
        read_model(path, "m.onnx", "wire")


# --- structure only: payloads are skipped, external data never opened ----------------------


def test_payloads_are_not_copied(tmp_path: Path) -> None:
    """A 64 MiB initializer: reading the structure allocates kilobytes, not the payload."""
    weight = helper.make_tensor("w", TensorProto.FLOAT, [4096, 4096], b"\0" * (4096 * 4096 * 4), raw=True)
    model = onnx_builders.model([onnx_builders.node("MatMul", ["x", "w"], "y")], [("x", [1, 4096])], ["y"],
                                [weight])
    path = tmp_path / "big.onnx"
    path.write_bytes(model.SerializeToString())
    del weight, model
    tracemalloc.start()
    try:
        structure = read_model(path, "big.onnx", "wire")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert list(structure.graph.initializer[0].dims) == [4096, 4096]
    assert peak < 1_000_000


def _external_weight_model(tmp_path: Path, location: str) -> Path:
    """A MatMul whose weight's data lives at ``location`` (which nothing creates)."""
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3, 2])
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    model = onnx_builders.model([onnx_builders.node("MatMul", ["x", "w"], "y")], [("x", [1, 3])], ["y"], [weight])
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_external_data_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _external_weight_model(tmp_path, "missing.bin")
    import builtins

    opened: list[str] = []
    real_open = builtins.open

    def spy(file: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    structure = read_model(path, "m.onnx", "wire")
    monkeypatch.undo()
    assert opened == [str(path)]
    assert structure.graph.initializer[0].external_data[0].value == "missing.bin"
    reference, wire = load_both(path)
    assert wire == reference and wire[0] == "ok"


def test_outside_external_data_is_refused_by_both(tmp_path: Path) -> None:
    path = _external_weight_model(tmp_path, "../../etc/passwd")
    reference, wire = load_both(path)
    assert wire == reference and wire[0] == "error" and wire[1] == "ModelFormatError"


def test_protobuf_merge_rules(tmp_path: Path) -> None:
    """A repeated singular message is merged, a oneof keeps its last member: as protobuf does."""
    model = onnx_builders.residual_block()
    extra = onnx.ModelProto()
    extra.graph.name = "renamed"
    extra.graph.node.add().CopyFrom(helper.make_node("Identity", ["y"], ["z"], name="tail"))
    dim = onnx.TensorShapeProto.Dimension(dim_value=3)
    dim_bytes = dim.SerializeToString() + onnx.TensorShapeProto.Dimension(dim_param="D").SerializeToString()
    merged_dim = onnx.TensorShapeProto.Dimension()
    merged_dim.ParseFromString(dim_bytes)
    data = model.SerializeToString() + extra.SerializeToString()
    reference = onnx.ModelProto()
    reference.ParseFromString(data)
    wire = parse_model(data)
    assert wire.graph.name == reference.graph.name == "renamed"
    assert [n.name for n in wire.graph.node] == [n.name for n in reference.graph.node]
    shape = onnx.TensorShapeProto()
    shape.dim.add().CopyFrom(merged_dim)
    parsed_dim = parse_model(_wrap_dim(dim_bytes)).graph.input[0].type.tensor_type.shape.dim[0]
    assert (parsed_dim.HasField("dim_value"), parsed_dim.dim_param) == (False, "D") == (
        merged_dim.HasField("dim_value"), merged_dim.dim_param)


def _wrap_dim(dim_bytes: bytes) -> bytes:
    """A model whose only graph input has one dim encoded as ``dim_bytes``."""
    def field(number: int, payload: bytes) -> bytes:
        return _varint((number << 3) | 2) + _varint(len(payload)) + payload

    shape = field(1, dim_bytes)
    tensor_type = field(2, shape)
    type_proto = field(1, tensor_type)
    value_info = field(1, b"x") + field(2, type_proto)
    graph = field(11, value_info)
    return field(7, graph)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


# --- bad bytes -----------------------------------------------------------------------------


def _read_wire(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    try:
        load_onnx_graph(path, "bad.onnx", bindings={}, symbols=(), reader="wire")
    except ArchcostError:
        pass


def test_every_truncation_reads_as_onnx_load_reads_it(tmp_path: Path) -> None:
    """Each prefix of a model: both readers refuse it with the same error class, or read the same graph.

    A prefix that ends on a field boundary is valid protobuf (a model missing its
    trailing fields), so it is not an error by itself.
    """
    data = onnx_builders.attention(seq="S", dim=4).SerializeToString()
    path = tmp_path / "cut.onnx"
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        reference, wire = load_both(path)
        if reference[0] == "error":
            assert wire[:2] == reference[:2], (cut, wire, reference)
        else:
            assert wire == reference, cut


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200))
def test_garbage_raises_only_archcost_errors(data: bytes, tmp_path: Path) -> None:
    _read_wire(data, tmp_path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_corrupted_models_raise_only_archcost_errors(data: st.DataObject, tmp_path: Path) -> None:
    original = bytearray(onnx_builders.residual_block().SerializeToString())
    for _ in range(data.draw(st.integers(1, 4))):
        original[data.draw(st.integers(0, len(original) - 1))] = data.draw(st.integers(0, 255))
    _read_wire(bytes(original), tmp_path)


def test_truncated_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "cut.onnx"
    path.write_bytes(onnx_builders.residual_block().SerializeToString()[:200])
    result = run_cli("analyze", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "cut.onnx" in lines[0] and "does not parse" in lines[0]


def test_reader_flag(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_builders.residual_block().SerializeToString())
    outputs = [run_cli("analyze", str(path), "--reader", reader, "--format", "json") for reader in ("wire", "onnx")]
    assert all(o.returncode == 0 for o in outputs) and outputs[0].stdout == outputs[1].stdout
    assert run_cli("analyze", str(path), "--reader", "protobuf").returncode == 2


# --- every model the rest of the suite analyzes ---------------------------------------------


@pytest.mark.slow
def test_every_model_the_suite_analyzes(tmp_path: Path) -> None:
    """Re-run the ONNX test modules with both readers compared on every ``load_onnx_graph`` call."""
    me = Path(__file__).name
    modules = sorted(
        str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_*.py")
        if p.name != me and ".onnx" in p.read_text(encoding="utf-8")
    )
    log = tmp_path / "crosscheck.log"
    env = dict(os.environ, **{CROSSCHECK_ENV: str(log)})
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.test_onnx_wire",
         "--no-header", *modules],
        cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=1800,
    )
    lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    mismatches = [line for line in lines if not line.startswith("same ")]
    assert len(lines) >= 100, f"only {len(lines)} models were cross-checked"
    assert not mismatches, "\n".join(mismatches[:20])


def pytest_configure(config: pytest.Config) -> None:
    """As a plugin (``-p tests.test_onnx_wire``): compare the readers on every load."""
    log = os.environ.get(CROSSCHECK_ENV)
    if not log:
        return
    original = onnx_frontend.load_onnx_graph

    def crosscheck(path: Path, display: str, *, bindings: Mapping[str, Any], symbols: Any,
                   reader: str = "wire", **options: Any) -> Any:
        symbols = tuple(symbols)
        reference, wire = load_both(Path(path), bindings=bindings, symbols=symbols)
        # Both refusing the bytes is agreement; the reasons are worded differently, and the
        # wire reader names protobuf's nesting limit (LimitError) where onnx.load cannot parse.
        same = reference == wire or (reference[0] == wire[0] == "error"
                                     and reference[1] == "ModelFormatError"
                                     and wire[1] in ("ModelFormatError", "LimitError"))
        with open(log, "a", encoding="utf-8") as out:
            verdict = "same" if same else "DIFFERENT"
            detail = "" if same else f" onnx={reference!r:.300} wire={wire!r:.300}"
            out.write(f"{verdict} {str(path)!r}{detail}\n")  # repr: a path may hold a line break
        return original(path, display, bindings=bindings, symbols=symbols, reader=reader, **options)

    onnx_frontend.load_onnx_graph = crosscheck  # type: ignore[assignment]


def _nested(levels: int, extra: int) -> bytes:
    """A model with If subgraphs ``levels`` deep; ``extra`` adds an attribute, a tensor, an entry at the bottom."""
    def field(number: int, payload: bytes) -> bytes:
        return _varint((number << 3) | 2) + _varint(len(payload)) + payload

    inner = field(4, b"Relu")
    if extra >= 1:
        attribute = field(1, b"a") + _varint(160) + _varint(4)
        if extra >= 2:
            attribute += field(5, field(8, b"t") + (field(13, field(1, b"k")) if extra >= 3 else b""))
        inner += field(5, attribute)
    graph = field(1, inner)
    for _ in range(levels):
        attribute = field(1, b"g") + _varint(160) + _varint(5) + field(6, graph)
        graph = field(1, field(4, b"If") + field(5, attribute))
    return field(7, graph) + _varint(8) + _varint(8)


@pytest.mark.parametrize(("levels", "extra"), [(levels, extra) for levels in (31, 32, 33) for extra in range(4)])
def test_nesting_limit_is_protobuf_s(levels: int, extra: int) -> None:
    """onnx.load refuses messages nested more than 100 deep; the wire reader refuses exactly the same."""
    data = _nested(levels, extra)
    try:
        onnx.ModelProto().ParseFromString(data)
        accepted = True
    except Exception:  # protobuf's DecodeError
        accepted = False
    try:
        parse_model(data)
        assert accepted
    except WireError:
        assert not accepted
    assert accepted == ((levels, extra) < (32, 3))  # the boundary itself, so the probe can fail


class _AdviceLog:
    """Stands in for the mmap: records each MADV_WILLNEED request."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.requests: list[tuple[int, int]] = []

    def __len__(self) -> int:
        return self.size

    def madvise(self, option: int, start: int, length: int) -> None:
        import mmap

        assert option == mmap.MADV_WILLNEED
        assert start % mmap.PAGESIZE == 0 and length > 0 and start + length <= self.size
        self.requests.append((start, length))


def _walk_fields(ahead: Any, positions: list[int]) -> None:
    """Drive a readahead the way the graph loop does: call it only when the returned mark is reached."""
    at = positions[0]
    for pos in positions:
        if pos >= at:
            at = ahead.advance(pos)


@pytest.mark.skipif(not hasattr(__import__("mmap"), "MADV_WILLNEED"), reason="no madvise on this platform")
def test_readahead_requests_dense_stretches_ahead_and_skips_sparse_ones() -> None:
    from archcost.frontends.onnx_wire import _Readahead

    mb = 1 << 20
    # Dense: a field every 100 bytes through 3 MB. The file is requested contiguously from
    # the start, always at least up to where the parser is, and never past the end.
    log = _AdviceLog(64 * mb)
    _walk_fields(_Readahead(log, 0), list(range(0, 3 * mb, 100)))  # type: ignore[arg-type]
    starts = [s for s, _ in log.requests]
    assert starts[0] == 0 and starts == sorted(starts)
    assert all(a + length == b for (a, length), b in zip(log.requests, starts[1:], strict=False))
    covered = log.requests[-1][0] + log.requests[-1][1]
    assert 3 * mb <= covered <= 3 * mb + _Readahead.LEAD + _Readahead.CHUNK

    # Sparse: one header every 50 MB (VGG-16's weights). After the first stretch, nothing more
    # is requested, so the skipped payloads are never read.
    log = _AdviceLog(400 * mb)
    _walk_fields(_Readahead(log, 0), [0, 200] + [k * 50 * mb + 300 for k in range(1, 8)])  # type: ignore[arg-type]
    assert sum(length for _, length in log.requests) <= _Readahead.LEAD

    # Dense again after a jump: requesting resumes near the new position, not from the start.
    log = _AdviceLog(400 * mb)
    positions = [0, 100, 100 * mb, *range(100 * mb + 100, 102 * mb, 100)]
    _walk_fields(_Readahead(log, 0), positions)  # type: ignore[arg-type]
    later = [s for s, _ in log.requests if s >= 100 * mb]
    assert later and later[0] <= 100 * mb + 2 * _Readahead.PROBE
    assert not [s for s, _ in log.requests if _Readahead.LEAD < s < 100 * mb]
