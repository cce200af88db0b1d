"""Fuzz archcost with hostile and malformed input.

The invariant: every input either produces a report or raises an
:class:`~archcost.errors.ArchcostError` subclass (which the CLI turns into one
line and exit code 2). Any other exception, a hang or runaway memory is a bug.

Seven kinds of input, each a Hypothesis strategy (the last four in ``tools/fuzz_files.py``:
budget files, baselines, profiles and output paths, each with its own check):

* ``spec``: YAML spec trees, valid and invalid (wrong types, missing keys, huge
  or negative numbers, deep nesting, unicode, anchors and aliases), plus
  text-level damage (truncation, garbage bytes, billion-laughs shapes);
* ``onnx_graph``: ONNX models built with ``onnx.helper`` from random registry
  operators with random attributes, dangling and cyclic edges, nested subgraphs;
* ``onnx_bytes``: byte-level mutations of valid ONNX files (truncation, bit
  flips, spliced and duplicated ranges, huge varints).

The long run (each input in a worker process with a per-input timeout and a
memory cap)::

    python -m tools.fuzz --seconds 600
    python -m tools.fuzz --count 20000 --kinds spec,onnx_bytes

prints how many inputs it tried by kind and how many failed, saves each failing
input under ``--save``, and exits 1 on any failure. ``tests/test_fuzz.py`` runs
the same strategies, bounded and deterministic, in the test suite.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from tools import protowire as pb
from tools.fuzz_files import FILE_KINDS

# --- names and values shared by the strategies --------------------------------------------

#: Names that must survive every renderer as text: markup, formulas, separators, unicode.
HOSTILE_NAMES = (
    "<script>alert(1)</script>", "=HYPERLINK(\"x\")", "+1", "-1", "@SUM(A1)", "a|b", "ü名", "\u202e",
    "a\nb", "a.b", "", " ", "input", "input1", "x", "y",
)
_SPEC_NAMES = ("a", "b", "c", "conv1", "relu_1", "conv_1", *HOSTILE_NAMES)
_EXPR_NAMES = ("alpha", "resolution", "batch", "in_channels", "in_height", "out", "t", "stride",
               "nope", "__class__", "_x")


def _huge_ints() -> st.SearchStrategy[int]:
    return st.sampled_from([0, -1, 2**31, 2**32 + 1, 2**63, 2**64 + 1, 10**15, 10**30, -(10**30), 10**400])


def hostile_values() -> st.SearchStrategy[Any]:
    """Anything YAML can hold, biased towards values that break naive code."""
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(-3, 70), _huge_ints(),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
        st.sampled_from(HOSTILE_NAMES), expressions(),
    )
    return st.one_of(
        scalars,
        st.recursive(scalars, lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
            max_leaves=8),
        st.integers(1, 120).map(_nested_list),
    )


def _nested_list(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def _expression(draw: st.DrawFn, depth: int = 0) -> str:
    choice = draw(st.integers(0, 9 if depth < 4 else 2))
    if choice == 0:
        return str(draw(st.integers(-3, 300)))
    if choice == 1:
        return draw(st.sampled_from(_EXPR_NAMES))
    if choice == 2:
        return draw(st.sampled_from(["0.75", "1e5", "1e40", "9" * 40, ".5", "1.", "0"]))
    if choice in (3, 4, 5):
        op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "==", "<", ">=", "and", "or"]))
        return f"{draw(_expression(depth + 1))} {op} {draw(_expression(depth + 1))}"
    if choice == 6:
        func = draw(st.sampled_from(["int", "floor", "ceil", "round", "min", "max", "make_divisible",
                                     "eval", "__import__"]))
        args = draw(st.lists(_expression(depth + 1), min_size=0, max_size=4))
        return f"{func}({', '.join(args)})"
    if choice == 7:
        return f"({draw(_expression(depth + 1))})"
    if choice == 8:
        return f"{draw(st.sampled_from(['-', 'not ', '+']))}{draw(_expression(depth + 1))}"
    return draw(st.text(alphabet="()+-*/%<>=!.,_ a1eE9", max_size=20))


def expressions() -> st.SearchStrategy[str]:
    """Expression text for the spec grammar: valid, invalid, and numerically hostile."""
    towers = st.integers(2, 12).map(lambda n: "(" * n + "10**32" + ")**32" * n)
    return st.one_of(_expression(), towers, st.integers(1, 80).map(lambda n: "(" * n + "1" + ")" * n))


# --- spec trees ---------------------------------------------------------------------------

#: Fields whose absence is an error most of the time: include them usually.
_REQUIRED_FIELDS = frozenset({"out", "kernel", "shape", "perm", "end", "axis"})


def _sane_value(name: str) -> st.SearchStrategy[Any]:
    """Values a careful author would write, so that lowering and the walk are reached."""
    if name == "out":
        return st.one_of(st.integers(1, 24), st.sampled_from(["make_divisible(16*alpha, 8)", "int(32*alpha)",
                                                              "in_channels*2", "8*batch"]))
    if name == "kernel":
        return st.sampled_from([1, 1, 3, 3, 5, [1, 3], "1+2"])
    if name in ("stride", "dilation", "multiplier"):
        return st.sampled_from([1, 1, 2])
    if name == "groups":
        return st.sampled_from([1, 1, 2])
    if name == "padding":
        return st.sampled_from(["same", "valid", 0, 1, [0, 1, 1, 0]])
    if name in ("depthwise", "bias", "ceil_mode", "transpose_b"):
        return st.booleans()
    if name == "epsilon":
        return st.sampled_from([0.001, "1e-5"])
    if name == "axis":
        return st.integers(-2, 1)
    if name == "shape":
        return st.sampled_from([[1, -1], [-1], [1, 4, -1], [0, -1], ["batch", -1]])
    if name == "perm":
        return st.permutations([0, 1, 2, 3])
    if name == "start":
        return st.integers(0, 2)
    if name == "end":
        return st.sampled_from([2, 4, -1, 10**12])
    if name == "step":
        return st.sampled_from([1, 2])
    return st.none()


def _field_value(name: str) -> st.SearchStrategy[Any]:
    """Values anywhere from careful to hostile."""
    sizes = st.one_of(st.integers(-1, 9), expressions(), st.lists(st.integers(-1, 6), max_size=3))
    if name == "out":
        return st.one_of(_sane_value(name), st.integers(-1, 48), expressions())
    if name in ("kernel", "stride", "dilation", "groups", "multiplier"):
        return st.one_of(_sane_value(name), sizes)
    if name == "padding":
        return st.one_of(st.sampled_from(["same", "valid", "SAME"]), st.integers(-1, 3),
                         st.lists(st.integers(-1, 3), max_size=6))
    if name in ("depthwise", "bias", "ceil_mode", "transpose_b"):
        return st.one_of(st.booleans(), st.booleans(), hostile_values())
    if name == "epsilon":
        return st.one_of(st.floats(1e-8, 1.0), st.sampled_from(["1e-5", "1e400", "1e-400", 0, -1, 10**400]))
    if name == "axis":
        return st.one_of(st.integers(-5, 5), _huge_ints())
    if name in ("shape", "perm"):
        return st.lists(st.one_of(st.integers(-1, 12), st.sampled_from(["batch", "in_channels", "-1"]),
                                  _huge_ints()), max_size=6)
    if name in ("start", "end", "step"):
        return st.one_of(st.integers(-12, 12), _huge_ints())
    return hostile_values()


#: Layer kinds that keep a [batch, channels, height, width] tensor 4-D, for sane sequences.
_SPATIAL_KINDS = ("conv", "conv", "conv", "pointwise", "batch_norm", "relu", "relu6", "hard_swish", "swish",
                  "max_pool", "avg_pool", "sigmoid", "dropout", "add", "mul", "concat", "slice", "tanh")
#: Kinds that end a sane sequence: they change the rank.
_HEAD_KINDS = ("global_avg_pool", "flatten", "fc", "linear", "softmax", "reshape", "transpose",
               "layer_norm", "gelu", "matmul", "expand", "global_max_pool", "parameter")


@st.composite
def _layer(draw: st.DrawFn, names: list[str], blocks: list[str], sane: bool) -> dict[str, Any]:
    from archcost.frontends.spec_layers import LAYER_KINDS

    value = _sane_value if sane else _field_value
    layer: dict[str, Any]
    if blocks and draw(st.integers(0, 4)) == 0:
        layer = {"use": draw(st.sampled_from(blocks if sane else [*blocks, "nothing"]))}
        for arg in draw(st.lists(st.sampled_from(["out", "t", "stride"] if sane else ["out", "t", "stride", "bogus"]),
                                 max_size=3, unique=True)):
            layer[arg] = draw(value("out" if arg == "out" else "stride"))
    else:
        if sane:
            kind = draw(st.sampled_from(_SPATIAL_KINDS if draw(st.integers(0, 5)) else _HEAD_KINDS))
        else:
            kind = draw(st.sampled_from([*sorted(LAYER_KINDS), "convolution"]))
        layer = {"op": kind}
        for key in LAYER_KINDS[kind].fields if kind in LAYER_KINDS else ():
            keep = draw(st.integers(0, 9)) > 0 if key in _REQUIRED_FIELDS else draw(st.booleans())
            if keep:
                layer[key] = draw(value(key))
        if sane and kind == "conv" and layer.get("depthwise") is True:
            layer.pop("out", None)
            layer.pop("groups", None)
    if sane:
        if draw(st.integers(0, 2)) == 0:
            base = draw(st.sampled_from([n for n in _SPEC_NAMES if n and "." not in n and n != "input"]))
            layer["name"] = base if base not in names else f"{base}{len(names)}"
    elif draw(st.integers(0, 2)) == 0:
        layer["name"] = draw(st.one_of(st.sampled_from(_SPEC_NAMES), st.text(max_size=8)))
    binary = layer.get("op") in ("add", "mul", "concat", "matmul")
    if names and (binary or draw(st.integers(0, 3)) == 0):
        pool = names if sane else [*names, "input", "nope"]
        layer["inputs"] = draw(st.lists(st.sampled_from(pool), min_size=2 if binary else 1, max_size=3))
    if draw(st.integers(0, 6)) == 0:
        layer["repeat"] = draw(st.integers(1, 3) if sane else st.one_of(
            st.integers(-1, 4), st.sampled_from([1000, 1001, "10**9", "2", 0.5])))
    if draw(st.integers(0, 9)) == 0:
        layer["when"] = draw(st.booleans() if sane else st.one_of(st.booleans(), expressions()))
    return layer


@st.composite
def _layers(draw: st.DrawFn, names: list[str], blocks: list[str], max_size: int,
            sane: bool) -> list[dict[str, Any]]:
    layers = []
    for _ in range(draw(st.integers(1 if sane else 0, max_size))):
        layer = draw(_layer(names, blocks, sane))
        layers.append(layer)
        names.append(str(layer.get("name", f"{layer.get('op', layer.get('use'))}_{len(layers)}")))
    return layers


@st.composite
def spec_trees(draw: st.DrawFn, sane: bool = False) -> dict[str, Any]:
    """A spec as a Python tree: ``sane`` ones mostly analyze; the others are damaged on purpose."""
    params: dict[str, Any] = {"alpha": draw(st.sampled_from([1.0, 0.5, 0.75, 0.25]))}
    if draw(st.booleans()):
        params["resolution"] = {"default": draw(st.integers(1, 40)), "multiple_of": draw(st.integers(1, 8))}
    else:
        params["resolution"] = draw(st.integers(1, 40))
    params["batch"] = draw(st.integers(1, 2))
    rank = 4 if sane and draw(st.integers(0, 3)) else draw(st.integers(0, 5))
    dims: list[Any] = ["batch", draw(st.integers(1, 8))] + ["resolution"] * max(0, rank - 2)
    dims = dims[:rank]
    tree: dict[str, Any] = {
        "name": draw(st.sampled_from(["fuzz", *HOSTILE_NAMES[:6]])),
        "params": params,
        "inputs": {"x": {"shape": dims}},
    }
    blocks: list[str] = []
    if draw(st.integers(0, 2)) == 0:
        body = draw(_layers(["input"], [] if sane else ["blk"], 4, sane))
        tree["blocks"] = {"blk": {"args": {"out": draw(st.sampled_from([None, 8] if not sane else [8])),
                                           "t": 1, "stride": 1},
                                  "layers": body}}
        blocks.append("blk")
    names = ["x"]
    tree["layers"] = draw(_layers(names, blocks, 8, sane))
    if draw(st.integers(0, 4)) == 0:
        tree["outputs"] = draw(st.lists(st.sampled_from(names if sane else [*names, "nope"]), max_size=3))
    if not sane:
        if draw(st.integers(0, 4)) == 0:
            tree["published"] = {"macs": {"value": draw(hostile_values()), "source": draw(hostile_values())}}
        for _ in range(draw(st.integers(0, 3))):
            _mutate_tree(draw, tree)
    return tree


def _slots(tree: Any) -> list[tuple[Any, Any]]:
    """Every (container, key-or-index) in ``tree``, iteratively."""
    slots = []
    stack = [tree]
    while stack:
        node = stack.pop()
        keys: Sequence[Any] = list(node) if isinstance(node, dict) else range(len(node))
        for key in keys:
            slots.append((node, key))
            if isinstance(node[key], (dict, list)):
                stack.append(node[key])
    return slots


def _mutate_tree(draw: st.DrawFn, tree: dict[str, Any]) -> None:
    slots = _slots(tree)
    if not slots:
        return
    container, key = slots[draw(st.integers(0, len(slots) - 1))]
    action = draw(st.sampled_from(["replace", "replace", "delete", "add_key", "wrap"]))
    if action == "replace":
        container[key] = draw(hostile_values())
    elif action == "delete":
        del container[key]
    elif action == "add_key" and isinstance(container[key], dict):
        container[key][draw(st.text(max_size=6))] = draw(hostile_values())
    else:
        container[key] = [container[key]]


def dump_spec(tree: Any, flow: bool | None = None) -> str:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False, default_flow_style=flow)


def billion_laughs(levels: int, width: int) -> str:
    lines = [f'l0: &l0 [{", ".join(["lol"] * width)}]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


@st.composite
def _damaged_text(draw: st.DrawFn) -> bytes:
    tree = draw(spec_trees(sane=draw(st.booleans())))
    data = dump_spec(tree, draw(st.sampled_from([None, True, False]))).encode("utf-8")
    action = draw(st.sampled_from(["truncate", "insert", "alias", "anchor", "bytes"]))
    at = draw(st.integers(0, len(data)))
    if action == "truncate":
        return data[:at]
    if action == "insert":
        junk = draw(st.sampled_from(["\t", "\0", "\ufeff", ": :", "- ", "{", "]", "!!python/name:os.system ",
                                     "!!binary ", "? ", "%YAML 1.1\n", "---\n", "|\n", "'"]))
        return data[:at] + junk.encode("utf-8") + data[at:]
    if action == "alias":
        return data[:at] + b" *a " + data[at:]
    if action == "anchor":
        return data[:at] + b" &a " + data[at:]
    return data[:at] + draw(st.binary(max_size=16)) + data[at:]


def _deep_block_mapping(depth: int) -> str:
    return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}v\n"


def spec_inputs() -> st.SearchStrategy[bytes]:
    """Spec files as bytes: trees in every YAML style, and text-level attacks."""
    from archcost.frontends.yaml_loader import MAX_SPEC_BYTES

    sane = st.builds(dump_spec, spec_trees(sane=True), st.sampled_from([None, True, False]))
    hostile = st.builds(dump_spec, spec_trees(), st.sampled_from([None, True, False]))
    return st.one_of(
        sane.map(lambda text: text.encode("utf-8")),
        sane.map(lambda text: text.encode("utf-8")),
        sane.map(lambda text: text.encode("utf-8")),
        hostile.map(lambda text: text.encode("utf-8")),
        hostile.map(lambda text: text.encode("utf-8")),
        _damaged_text(),
        st.builds(billion_laughs, st.integers(1, 12), st.integers(1, 12)).map(str.encode),
        st.integers(1, 5000).map(lambda n: ("x: " + "[" * n + "]" * n + "\n").encode()),
        st.integers(1, 300).map(lambda n: _deep_block_mapping(n).encode()),
        st.text(max_size=200).map(lambda text: text.encode("utf-8")),
        st.binary(max_size=200),
        st.sampled_from([b"", b"---\n", b"null\n", b"[]\n", b"name: x\n", b"\xef\xbb\xbfname: x\n",
                         b"x" * (MAX_SPEC_BYTES + 1)]),
    )


# --- ONNX graphs --------------------------------------------------------------------------

_ELEM_TYPES = (1, 1, 1, 7, 7, 6, 10, 11, 9, 2, 3, 8, 16, 0, 99)  # float, int64, int32, f16, f64, bool, ...
_UNKNOWN_OPS = ("FooBar", "If", "Loop", "Scan", "Custom", "")
_DOMAINS = ("", "", "", "", "ai.onnx", "com.microsoft", "x.y")


@functools.cache
def _registry_ops() -> tuple[str, ...]:
    from archcost.ops.registry import REGISTRY

    return tuple(sorted(t for d, t in REGISTRY if d == ""))


@functools.cache
def _schema_attrs(op_type: str, opset: int) -> tuple[tuple[str, int], ...]:
    import onnx

    try:
        schema = onnx.defs.get_schema(op_type, opset, "")
    except Exception:  # no such op, or not in this opset
        return ()
    return tuple(sorted((name, int(a.type)) for name, a in schema.attributes.items()))


@st.composite
def _small_tensor(draw: st.DrawFn, name: str) -> Any:
    from onnx import helper

    dims = draw(st.lists(st.integers(0, 5), max_size=4))
    count = 1
    for d in dims:
        count *= d
    elem = draw(st.sampled_from([1, 7, 6, 9]))
    if draw(st.integers(0, 9)) == 0:
        dims = draw(st.lists(st.one_of(st.integers(-3, 5), _huge_ints()), max_size=4))
        count = draw(st.integers(0, 6))
    if elem == 1:
        values: list[Any] = draw(st.lists(st.floats(width=32), min_size=count, max_size=count))
    elif elem == 9:
        values = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    else:
        values = draw(st.lists(st.one_of(st.integers(-4, 16), st.sampled_from([2**31 - 1, -(2**63), 2**63 - 1])),
                               min_size=count, max_size=count))
    try:
        return helper.make_tensor(name, elem, dims, values)
    except Exception:  # helper refuses some combinations; an empty tensor will do
        return helper.make_tensor(name, elem, [0], [])


def _attr_value(draw: st.DrawFn, attr_type: int, depth: int) -> Any:
    if attr_type == 1:  # FLOAT
        return draw(st.floats(width=32))
    if attr_type == 2:  # INT
        return draw(st.one_of(st.integers(-3, 8), _huge_ints().filter(lambda v: -(2**63) <= v < 2**63)))
    if attr_type == 3:  # STRING
        return draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "nearest", "linear",
                                     "constant", "reflect", "tanh", "bogus", "<b>", "\u00e9"]))
    if attr_type == 4:  # TENSOR
        return draw(_small_tensor("value"))
    if attr_type == 5:  # GRAPH
        return draw(_subgraph(depth + 1))
    if attr_type == 6:  # FLOATS
        return draw(st.lists(st.floats(width=32), min_size=1, max_size=4))
    if attr_type == 7:  # INTS
        return draw(st.lists(st.one_of(st.integers(-3, 8), st.sampled_from([0, 2**40, -(2**40)])),
                             min_size=1, max_size=8))
    if attr_type == 8:  # STRINGS
        return draw(st.lists(st.sampled_from(["a", "b", "<i>"]), min_size=1, max_size=3))
    return draw(st.integers(0, 3))


@st.composite
def _nodes(draw: st.DrawFn, available: list[str], opset: int, depth: int, prefix: str) -> list[Any]:
    from onnx import helper

    nodes = []
    count = draw(st.integers(0 if depth else 1, 10 if depth == 0 else 3))
    future = [f"{prefix}t{i}" for i in range(count * 2)]
    for index in range(count):
        op_type = draw(st.one_of(st.sampled_from(_registry_ops()), st.sampled_from(_UNKNOWN_OPS)))
        sources = [*available[-6:], "", "dangling", *future[:2 * index + 2]]
        inputs = draw(st.lists(st.sampled_from(sources), max_size=5))
        outputs = [future[2 * index]]
        if draw(st.integers(0, 4)) == 0:
            outputs.append(draw(st.sampled_from([future[2 * index + 1], *available[-2:], ""])))
        attrs: dict[str, Any] = {}
        schema = _schema_attrs(op_type, opset)
        for attr_name, attr_type in schema:
            if draw(st.integers(0, 2)) == 0:
                if draw(st.integers(0, 9)) == 0:  # the wrong type for this attribute
                    attr_type = draw(st.sampled_from([1, 2, 3, 6, 7]))
                attrs[attr_name] = _attr_value(draw, attr_type, depth)
        if op_type in ("If", "Loop", "Scan") and draw(st.booleans()):
            key = {"If": "then_branch", "Loop": "body", "Scan": "body"}[op_type]
            attrs[key] = draw(_subgraph(depth + 1))
        name = draw(st.one_of(st.just(f"{prefix}n{index}"), st.sampled_from(HOSTILE_NAMES)))
        domain = draw(st.sampled_from(_DOMAINS))
        try:
            nodes.append(helper.make_node(op_type, inputs, outputs, name=name, domain=domain or None, **attrs))
        except Exception:  # helper.make_attribute refuses some values (empty lists)
            nodes.append(helper.make_node(op_type, inputs, outputs, name=name))
        available.extend(outputs)
    return nodes


@st.composite
def _subgraph(draw: st.DrawFn, depth: int) -> Any:
    from onnx import TensorProto, helper

    prefix = f"g{depth}_"
    if depth > 3:
        return helper.make_graph([], prefix, [], [])
    available = [f"{prefix}in"]
    nodes = draw(_nodes(available, 18, depth, prefix))
    inputs = [helper.make_tensor_value_info(f"{prefix}in", TensorProto.FLOAT, [2])]
    outputs = [helper.make_tensor_value_info(available[-1], TensorProto.FLOAT, None)]
    return helper.make_graph(nodes, prefix, inputs, outputs)


def nested_ifs(depth: int) -> bytes:
    """A model whose ``If`` nodes nest ``depth`` deep (then-branch inside then-branch).

    Written straight in the protobuf wire format: ``onnx.helper`` itself cannot
    build the deep ones, and those are the point.
    """
    value_info = pb.field(1, b"y")  # ValueInfoProto.name
    graph = pb.field(1, pb.field(1, b"x") + pb.field(2, b"y") + pb.field(4, b"Identity")) + pb.field(2, b"leaf")
    graph += pb.field(12, value_info)
    leaf = graph
    for level in range(depth):
        # Only the then-branch nests: sharing one graph in both would double the file per level.
        then = pb.field(1, b"then_branch") + pb.field(6, graph) + pb.varint(20 << 3) + pb.varint(5)
        other = pb.field(1, b"else_branch") + pb.field(6, leaf) + pb.varint(20 << 3) + pb.varint(5)
        node = pb.field(1, b"c") + pb.field(2, b"y") + pb.field(3, f"if{level}".encode()) + pb.field(4, b"If")
        graph = pb.field(1, node + pb.field(5, then) + pb.field(5, other)) + pb.field(2, f"level{level}".encode())
        graph += pb.field(12, value_info)
    bool_scalar = pb.field(2, pb.field(1, pb.varint(1 << 3) + pb.varint(9) + pb.field(2, b"")))
    pair_shape = pb.field(2, pb.field(1, pb.varint(1 << 3) + b"\x02"))  # TensorShapeProto [2]
    float_pair = pb.field(2, pb.field(1, pb.varint(1 << 3) + pb.varint(1) + pair_shape))
    graph += pb.field(11, pb.field(1, b"c") + bool_scalar) + pb.field(11, pb.field(1, b"x") + float_pair)
    opset = pb.field(8, pb.field(1, b"") + pb.varint(2 << 3) + pb.varint(18))
    return pb.varint(1 << 3) + pb.varint(8) + pb.field(7, graph) + opset


@st.composite
def onnx_graph_models(draw: st.DrawFn) -> bytes:
    """A model built with ``onnx.helper``: random ops, attributes and edges."""
    from onnx import helper

    opset = draw(st.sampled_from([7, 11, 13, 17, 18, 18, 18, 21]))
    inputs = []
    available: list[str] = []
    for i in range(draw(st.integers(0, 3))):
        rank = draw(st.integers(0, 5))
        dims = draw(st.lists(st.one_of(st.integers(1, 12), st.integers(1, 12), st.just(0),
                                       st.sampled_from(["N", "batch", "<b>", "x|y"]), st.none(),
                                       st.sampled_from([-1, 2**40, 2**62])),
                             min_size=rank, max_size=rank))
        if draw(st.integers(0, 9)) == 0:
            dims = None
        name = draw(st.one_of(st.just(f"in{i}"), st.sampled_from(HOSTILE_NAMES)))
        inputs.append(helper.make_tensor_value_info(name, draw(st.sampled_from(_ELEM_TYPES)), dims))
        available.append(name)
    initializers = []
    for i in range(draw(st.integers(0, 4))):
        tensor = draw(_small_tensor(f"w{i}"))
        initializers.append(tensor)
        available.append(tensor.name)
    nodes = draw(_nodes(available, opset, 0, ""))
    outputs = [helper.make_tensor_value_info(name, 1, None)
               for name in draw(st.lists(st.sampled_from([*available, "nope"]), max_size=3))]
    graph = helper.make_graph(nodes, draw(st.sampled_from(["g", *HOSTILE_NAMES[:6]])), inputs, outputs,
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = draw(st.sampled_from([8, 8, 3, 9, 10, 0]))
    return bytes(model.SerializeToString())


@functools.cache
def _input_arity(op_type: str, opset: int) -> tuple[int, int]:
    import onnx

    try:
        schema = onnx.defs.get_schema(op_type, opset, "")
    except Exception:  # not an ONNX op at this opset
        return (1, 2)
    low = min(schema.min_input, 5)
    return (low, max(low, min(schema.max_input, 5)))


@st.composite
def _operand(draw: st.DrawFn, name: str) -> Any:
    """A fresh initializer for a node's extra input: a weight-like tensor or a small int vector."""
    import numpy as np
    from onnx import numpy_helper

    if draw(st.booleans()):
        dims = draw(st.lists(st.integers(1, 6), max_size=4))
        return numpy_helper.from_array(np.full(dims, 0.5, np.float32), name)
    values = draw(st.lists(st.integers(-2, 6), min_size=draw(st.sampled_from([0, 1, 1, 2, 4])), max_size=8))
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


@st.composite
def sane_onnx_models(draw: st.DrawFn) -> bytes:
    """A well-formed chain of registry ops with fitting arity: rules see plausible inputs."""
    from onnx import TensorProto, helper

    opset = draw(st.sampled_from([13, 17, 18, 18, 21]))
    dims = draw(st.lists(st.one_of(st.integers(1, 6), st.just("N")), min_size=1, max_size=4))
    if draw(st.integers(0, 2)):
        dims = [1, draw(st.integers(1, 6)), draw(st.integers(1, 9)), draw(st.integers(1, 9))]
    name = draw(st.sampled_from(["x", *HOSTILE_NAMES[:7]]))
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)]
    last = name
    initializers = []
    nodes = []
    for index in range(draw(st.integers(1, 6))):
        op_type = draw(st.sampled_from(_registry_ops()))
        low, high = _input_arity(op_type, opset)
        operands = [last]
        for extra in range(1, draw(st.integers(max(low, 1), max(high, 1)))):
            tensor = draw(_operand(f"c{index}_{extra}"))
            initializers.append(tensor)
            operands.append(tensor.name)
        attrs = {}
        for attr_name, attr_type in _schema_attrs(op_type, opset):
            if attr_type != 5 and draw(st.integers(0, 2)) == 0:
                attrs[attr_name] = _attr_value(draw, attr_type, 0)
        node_name = draw(st.one_of(st.just(f"n{index}"), st.sampled_from(HOSTILE_NAMES[:7])))
        out = f"t{index}"
        try:
            nodes.append(helper.make_node(op_type, operands, [out], name=f"{node_name}{index}", **attrs))
        except Exception:  # helper refuses some attribute values
            nodes.append(helper.make_node(op_type, operands, [out], name=f"{node_name}{index}"))
        last = out
    graph = helper.make_graph(nodes, draw(st.sampled_from(["g", *HOSTILE_NAMES[:6]])), inputs,
                              [helper.make_tensor_value_info(last, TensorProto.FLOAT, None)],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return bytes(model.SerializeToString())


def onnx_graph_inputs() -> st.SearchStrategy[bytes]:
    """Random helper-built models, plus deeply nested subgraphs."""
    nested = st.one_of(st.integers(1, 150), st.just(1000)).map(nested_ifs)
    return st.one_of(sane_onnx_models(), sane_onnx_models(), sane_onnx_models(), onnx_graph_models(),
                     onnx_graph_models(), nested)


# --- ONNX byte mutations ------------------------------------------------------------------


@functools.cache
def seed_models() -> tuple[bytes, ...]:
    """Valid ONNX files to mutate: convolutions, residual adds, attention-style shape plumbing."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    def weight(name: str, shape: list[int]) -> Any:
        return numpy_helper.from_array(np.full(shape, 0.5, np.float32), name)

    def const(name: str, values: list[int]) -> Any:
        return numpy_helper.from_array(np.asarray(values, np.int64), name)

    def model(nodes: list[Any], inputs: list[Any], outputs: list[str], inits: list[Any]) -> bytes:
        graph = helper.make_graph(nodes, "seed", inputs,
                                  [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
                                  initializer=inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        m.ir_version = 8
        return bytes(m.SerializeToString())

    x4 = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])
    conv = model(
        [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="<script>alert(1)</script>", pads=[1, 1, 1, 1]),
         helper.make_node("BatchNormalization", ["c1", "g", "b", "m", "v"], ["n1"]),
         helper.make_node("Relu", ["n1"], ["r1"]),
         helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
         helper.make_node("Conv", ["p1", "w2"], ["c2"], group=4),
         helper.make_node("GlobalAveragePool", ["c2"], ["gap"]),
         helper.make_node("Flatten", ["gap"], ["f"]),
         helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1)],
        [x4], ["y"],
        [weight("w1", [4, 3, 3, 3]), weight("b1", [4]), weight("g", [4]), weight("b", [4]),
         weight("m", [4]), weight("v", [4]), weight("w2", [8, 1, 1, 1]), weight("fc", [5, 8]),
         weight("fcb", [5])])
    residual = model(
        [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Add", ["c", "x"], ["s"]),
         helper.make_node("Sigmoid", ["s"], ["g"]),
         helper.make_node("Mul", ["s", "g"], ["y"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 6])], ["y"],
        [weight("w", [3, 3, 3, 3])])
    shapes = model(
        [helper.make_node("Shape", ["x"], ["xs"]),
         helper.make_node("Gather", ["xs", "i0"], ["b"], axis=0),
         helper.make_node("Unsqueeze", ["b", "ax0"], ["b1"]),
         helper.make_node("Concat", ["b1", "rest"], ["target"], axis=0),
         helper.make_node("Reshape", ["x", "target"], ["r"]),
         helper.make_node("MatMul", ["r", "wq"], ["q"]),
         helper.make_node("Softmax", ["q"], ["p"], axis=-1),
         helper.make_node("Slice", ["p", "st", "en", "ax1"], ["sl"]),
         helper.make_node("Transpose", ["sl"], ["y"], perm=[0, 2, 1])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, 2, 4])], ["y"],
        [const("i0", [0]), const("ax0", [0]), const("rest", [4, 8]), weight("wq", [8, 6]),
         const("st", [1]), const("en", [5]), const("ax1", [2])])
    return (conv, residual, shapes, nested_ifs(2))


_VARINT_BOMBS = (b"\xff" * 9 + b"\x01", b"\x80" * 10, b"\xff\xff\xff\xff\x0f", b"\x00", b"\x0a\xff\xff\xff\x7f")


@st.composite
def onnx_byte_mutations(draw: st.DrawFn) -> bytes:
    """A valid seed model with 1-4 byte-level mutations."""
    seeds = seed_models()
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["truncate", "flip", "flip", "byte", "splice", "delete", "duplicate",
                                       "varint"]))
        if action == "truncate":
            del data[at:]
        elif action == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "byte":
            data[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x3A]))
        elif action in ("splice", "duplicate"):
            donor = data if action == "duplicate" else draw(st.sampled_from(seeds))
            start = draw(st.integers(0, len(donor) - 1))
            chunk = bytes(donor[start:start + draw(st.integers(1, 64))])
            if draw(st.booleans()):
                data[at:at] = chunk
            else:
                data[at:at + len(chunk)] = chunk
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 32))]
        else:
            data[at:at] = draw(st.sampled_from(_VARINT_BOMBS))
    return bytes(data)


def onnx_byte_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(onnx_byte_mutations(), onnx_byte_mutations(), onnx_byte_mutations(),
                     st.binary(max_size=64))


# --- the invariant ------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of fuzz input: its strategy and the file suffix analyze dispatches on."""

    name: str
    strategy: Callable[[], st.SearchStrategy[bytes]]
    suffix: str


KINDS = {
    "spec": Kind("spec", spec_inputs, ".yaml"),
    "onnx_graph": Kind("onnx_graph", onnx_graph_inputs, ".onnx"),
    "onnx_bytes": Kind("onnx_bytes", onnx_byte_inputs, ".onnx"),
    # The other file arguments and the output paths (tools/fuzz_files.py): the "suffix" names the check.
    **{name: Kind(name, strategy, name) for name, (strategy, _) in FILE_KINDS.items()},
}


def check_input(data: bytes, suffix: str, folder: Path) -> str:
    """Analyze ``data`` as a ``suffix`` file; ``"report"`` or ``"refused"``, else the exception escapes.

    A report is also rendered in every ``analyze`` format, so names and numbers reach the
    renderers and the memory planner too.
    """
    import archcost
    from archcost.errors import ArchcostError
    from archcost.report.analysis import FORMATS, render

    if suffix in FILE_KINDS:
        return FILE_KINDS[suffix][1](data, folder)
    path = folder / f"input{suffix}"
    path.write_bytes(data)
    try:
        report = archcost.analyze(str(path))
        for fmt in FORMATS:
            render(report, fmt)
    except ArchcostError as err:
        if len(str(err).splitlines()) != 1:
            raise AssertionError(f"an error message spans lines: {str(err)!r}") from err
        return "refused"
    return "report"


# --- the long run -------------------------------------------------------------------------


@dataclass
class Tally:
    tried: Counter[str] = field(default_factory=Counter)
    reports: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    hangs: Counter[str] = field(default_factory=Counter)
    crashes: Counter[str] = field(default_factory=Counter)
    slowest: dict[str, float] = field(default_factory=dict)

    def failed(self, kind: str | None = None) -> int:
        counters = (self.unexpected, self.hangs, self.crashes)
        if kind is None:
            return sum(sum(c.values()) for c in counters)
        return sum(c[kind] for c in counters)

    def merge(self, other: Tally) -> None:
        for name in ("tried", "reports", "refused", "unexpected", "hangs", "crashes"):
            getattr(self, name).update(getattr(other, name))
        for kind, seconds in other.slowest.items():
            self.slowest[kind] = max(self.slowest.get(kind, 0.0), seconds)


def _worker(conn: Any, parent_end: Any, memory_mb: int) -> None:
    """Analyze inputs from ``conn`` until told to stop, under a memory cap."""
    parent_end.close()  # so that the worker sees EOF, and ends, when the parent dies
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    with tempfile.TemporaryDirectory(prefix="archcost-fuzz-") as folder:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            suffix, data = message
            start = time.perf_counter()
            try:
                outcome = check_input(data, suffix, Path(folder))
            except BaseException as err:  # reporting anything else is the point
                conn.send(("unexpected", f"{type(err).__name__}: {err}"[:500], traceback.format_exc(),
                           time.perf_counter() - start))
            else:
                conn.send((outcome, "", "", time.perf_counter() - start))


class _Runner:
    """Sends inputs to a worker process and classifies what comes back."""

    def __init__(self, timeout: float, memory_mb: int, save: Path, lane: int) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.save = save
        self.lane = lane
        self.tally = Tally()
        self._context = multiprocessing.get_context("fork")
        self._start()

    def _start(self) -> None:
        self.conn, child = self._context.Pipe()
        self.process = self._context.Process(target=_worker, args=(child, self.conn, self.memory_mb),
                                            daemon=True)
        self.process.start()
        child.close()

    def _restart(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()
        self._start()

    def close(self) -> None:
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def run(self, kind: Kind, data: bytes) -> None:
        self.tally.tried[kind.name] += 1
        self.conn.send((kind.suffix, data))
        if not self.conn.poll(self.timeout):
            self.tally.hangs[kind.name] += 1
            self._record(kind, data, f"hang: no answer within {self.timeout:g} s", "")
            self._restart()
            return
        try:
            outcome, summary, trace, seconds = self.conn.recv()
        except EOFError:
            code = self.process.exitcode
            self.tally.crashes[kind.name] += 1
            self._record(kind, data, f"crash: the worker died (exit code {code})", "")
            self._restart()
            return
        self.tally.slowest[kind.name] = max(self.tally.slowest.get(kind.name, 0.0), seconds)
        if outcome == "report":
            self.tally.reports[kind.name] += 1
        elif outcome == "refused":
            self.tally.refused[kind.name] += 1
        else:
            self.tally.unexpected[kind.name] += 1
            self._record(kind, data, summary, trace)
            if "MemoryError" in summary:
                self._restart()

    def _record(self, kind: Kind, data: bytes, summary: str, trace: str) -> None:
        self.save.mkdir(parents=True, exist_ok=True)
        stem = self.save / f"{kind.name}-lane{self.lane}-{self.tally.tried[kind.name]}"
        stem.with_suffix(kind.suffix).write_bytes(data)
        stem.with_suffix(".txt").write_text(f"{summary}\n\n{trace}", encoding="utf-8")
        print(f"FAILED {kind.name}: {summary} (input saved to {stem.with_suffix(kind.suffix)})",
              file=sys.stderr, flush=True)


class _Stop(BaseException):
    """Ends a Hypothesis run early, when the time or count budget is spent (not a failure)."""


def _feed(runner: _Runner, kind: Kind, deadline: float, count: int | None) -> Callable[[bytes], None]:
    def one(data: bytes) -> None:
        if time.monotonic() >= deadline or (count is not None and sum(runner.tally.tried.values()) >= count):
            raise _Stop
        runner.run(kind, data)

    return one


def _lane(kinds: list[str], deadline: float, count: int | None, seed: int, timeout: float,
          memory_mb: int, save: Path, lane: int, batch: int) -> Tally:
    runner = _Runner(timeout, memory_mb, save, lane)
    rng = random.Random(seed)
    try:
        while time.monotonic() < deadline and (count is None or sum(runner.tally.tried.values()) < count):
            for name in kinds:
                one = _feed(runner, KINDS[name], deadline, count)
                # One seed per batch, drawn from the lane's seed, keeps a whole run reproducible.
                test = hypothesis_seed(rng.getrandbits(64))(settings(
                    max_examples=batch, deadline=None, database=None, phases=[Phase.generate],
                    suppress_health_check=list(HealthCheck))(given(KINDS[name].strategy())(one)))
                try:
                    test()
                except _Stop:
                    break
    finally:
        runner.close()
    return runner.tally


def _lane_entry(queue: Any, *args: Any) -> None:
    queue.put(_lane(*args))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, help="stop after this many seconds (default 60 without --count)")
    parser.add_argument("--minutes", type=float, help="stop after this many minutes")
    parser.add_argument("--count", type=int, help="stop after this many inputs (all lanes together)")
    parser.add_argument("--kinds", default=",".join(KINDS), help=f"comma-separated, from {', '.join(KINDS)}")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds one input may take (default 5)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="address-space cap per worker (default 4096)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel lanes, each with its own worker")
    parser.add_argument("--seed", type=int, help="base seed (default: random, printed)")
    parser.add_argument("--batch", type=int, default=200, help="examples per Hypothesis run (default 200)")
    parser.add_argument("--save", type=Path, default=Path("fuzz-failures"),
                        help="folder for failing inputs (default fuzz-failures)")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        parser.error(f"unknown kinds {unknown}; choose from {', '.join(KINDS)}")
    seconds = args.seconds if args.seconds is not None else (args.minutes * 60 if args.minutes else None)
    if seconds is None and args.count is None:
        seconds = 60.0
    seed = args.seed if args.seed is not None else random.SystemRandom().getrandbits(32)
    start = time.monotonic()
    deadline = start + seconds if seconds is not None else float("inf")
    jobs = max(1, args.jobs)
    per_lane = None if args.count is None else -(-args.count // jobs)
    print(f"archcost fuzz: kinds {', '.join(kinds)}; "
          f"{f'{seconds:g} s' if seconds is not None else 'no time limit'}"
          f"{'' if args.count is None else f', {args.count} inputs'}; {jobs} lane(s); seed {seed}; "
          f"timeout {args.timeout:g} s per input; memory cap {args.memory_mb} MiB", flush=True)
    total = Tally()
    lane_args = [(kinds, deadline, per_lane, seed + lane, args.timeout, args.memory_mb, args.save, lane,
                  args.batch) for lane in range(jobs)]
    if jobs == 1:
        total.merge(_lane(*lane_args[0]))
    else:
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        lanes = [context.Process(target=_lane_entry, args=(queue, *a)) for a in lane_args]
        for process in lanes:
            process.start()
        for _ in lanes:
            total.merge(queue.get())
        for process in lanes:
            process.join()
    elapsed = time.monotonic() - start
    print(f"{'kind':<11} {'tried':>8} {'reports':>8} {'refused':>8} {'unexpected':>10} {'hangs':>6} "
          f"{'crashes':>7} {'slowest s':>9}")
    for kind in kinds:
        print(f"{kind:<11} {total.tried[kind]:>8,} {total.reports[kind]:>8,} {total.refused[kind]:>8,} "
              f"{total.unexpected[kind]:>10,} {total.hangs[kind]:>6,} {total.crashes[kind]:>7,} "
              f"{total.slowest.get(kind, 0.0):>9.2f}")
    tried = sum(total.tried.values())
    print(f"total: {tried:,} inputs in {elapsed:.0f} s; {total.failed():,} failed "
          f"({sum(total.unexpected.values())} unexpected exceptions, {sum(total.hangs.values())} hangs "
          f"over {args.timeout:g} s, {sum(total.crashes.values())} worker crashes)")
    return 1 if total.failed() else 0


if __name__ == "__main__":
    sys.exit(main())
