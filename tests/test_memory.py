"""Peak activation memory: liveness checked against hand computations and a brute-force model.

The convention under test (archcost/cost/memory.py): at each step the step's inputs
and outputs are live together, plus every earlier activation still to be read; the
graph input is live from step 0 to its last reader, graph outputs to the end;
initializers are weights, not activations. float32 is 4 bytes.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archcost
from archcost.cost.analyze import analyze_graph
from archcost.cost.conventions import get_convention
from archcost.cost.memory import DEFAULT_ORDER_BEST, MemoryProfile, activation_memory, tensor_bytes
from archcost.cost.result import Report
from archcost.errors import ShapeError
from archcost.graph import GraphBuilder, OpNode, Tensor, TensorKind
from archcost.zoo import zoo_names
from tests.conftest import run_cli, summary_figure
from tools.conformance import data_dir

FIXTURES = Path(__file__).parent / "fixtures" / "gate"
F32 = 4


# --- MobileNetV1: Howard et al. 2017, Table 1 -------------------------------------------------

#: (output channels, output size) of each conv in Table 1, in order; depthwise keeps channels.
#: The last depthwise row is printed s2 but runs at 7×7 (see specs/mobilenet_v1.yaml).
MOBILENET_CONVS = [
    (32, 112),                                   # Conv / s2
    (32, 112), (64, 112),                        # dw / s1, 1×1
    (64, 56), (128, 56),                         # dw / s2, 1×1
    (128, 56), (128, 56),
    (128, 28), (256, 28),
    (256, 28), (256, 28),
    (256, 14), (512, 14),
    *[(512, 14), (512, 14)] * 5,
    (512, 7), (1024, 7),
    (1024, 7), (1024, 7),
]


def mobilenet_v1_steps() -> list[int]:
    """Live bytes per step, by hand: each conv is conv → BN → ReLU, then pool, flatten, FC, softmax."""
    steps = []
    previous = 3 * 224 * 224  # the image, live until conv1 has read it
    for channels, size in MOBILENET_CONVS:
        out = channels * size * size
        steps += [previous + out, 2 * out, 2 * out]  # conv (in + out), BN (in + out), ReLU (in + out)
        previous = out
    steps.append(1024 * 7 * 7 + 1024)  # global average pool
    steps.append(1024 + 1024)  # flatten
    steps.append(1024 + 1000)  # FC
    steps.append(1000 + 1000)  # softmax (its output is the graph output)
    return [F32 * s for s in steps]


def test_mobilenet_v1_liveness_matches_hand_computation() -> None:
    profile = activation_memory(archcost.analyze("mobilenet_v1"))
    assert list(profile.live_bytes) == mobilenet_v1_steps()
    # The peak: BN after the 1×1 conv at 112×112 holds two 64×112×112 float32 tensors.
    assert profile.peak_bytes == 2 * 64 * 112 * 112 * F32 == 6_422_528
    assert profile.steps[profile.peak_step or 0].layer.endswith("pw_bn")
    # A chain has a single topological order: the best order is the default.
    assert profile.best_peak_bytes == profile.peak_bytes


def test_mobilenet_v1_weight_bytes() -> None:
    # 4,209,088 conv and FC weights (paper, Table 1 / DESIGN.md), the FC's 1000 biases, and
    # BN γ, β plus running mean, var over every conv's output channels.
    bn_channels = sum(c for c, _ in MOBILENET_CONVS)
    assert bn_channels == 10_944
    stored = 4_209_088 + 1000 + 2 * bn_channels + 2 * bn_channels
    profile = activation_memory(archcost.analyze("mobilenet_v1"))
    assert profile.weight_bytes == F32 * stored == 17_015_456
    assert sum(profile.weight_bytes_by_layer.values()) == profile.weight_bytes


# --- ResNet-18: He et al. 2015, Table 1 (18-layer column) ---------------------------------------

def _identity_block(c: int, s: int) -> list[int]:
    a = c * s * s
    # conv1, bn1, relu1, conv2, bn2, add, relu2: the block input stays live until the add.
    return [2 * a, 3 * a, 3 * a, 3 * a, 3 * a, 3 * a, 2 * a]


def _projection_block(c_in: int, s_in: int) -> list[int]:
    a = c_in * s_in * s_in
    b = 2 * c_in * (s_in // 2) ** 2
    # conv1, bn1, relu1, conv2, bn2 (input x kept for the shortcut), downsample (last reader
    # of x), downsample_bn, add, relu2.
    return [a + b, a + 2 * b, a + 2 * b, a + 2 * b, a + 2 * b, a + 2 * b, 3 * b, 3 * b, 2 * b]


def resnet18_steps() -> list[int]:
    stem = 64 * 112 * 112
    steps = [3 * 224 * 224 + stem, 2 * stem, 2 * stem, stem + 64 * 56 * 56]
    steps += _identity_block(64, 56) * 2
    for c_in, s_in in ((64, 56), (128, 28), (256, 14)):
        steps += _projection_block(c_in, s_in) + _identity_block(2 * c_in, s_in // 2)
    steps += [512 * 7 * 7 + 512, 512 + 512, 512 + 1000]  # pool, flatten, FC (graph output)
    return [F32 * s for s in steps]


def test_resnet18_liveness_matches_hand_computation() -> None:
    profile = activation_memory(archcost.analyze("resnet18"))
    assert list(profile.live_bytes) == resnet18_steps()
    assert profile.peak_bytes == 2 * 64 * 112 * 112 * F32
    assert profile.best_peak_bytes <= profile.peak_bytes


def test_residual_skip_stays_live_across_the_block() -> None:
    profile = activation_memory(archcost.analyze("resnet18"))
    steps = {s.layer: s for s in profile.steps}
    add = next(name for name in steps if name.startswith("layer1_") and name.endswith(".add"))
    block = add.rsplit(".", 1)[0]
    # At the add: the block input (the skip), the second BN's output and the sum.
    assert steps[add].live_bytes == 3 * 64 * 56 * 56 * F32
    assert len(steps[add].live) == 3
    assert steps[f"{block}.conv2"].live_bytes == 3 * 64 * 56 * 56 * F32


# --- a DAG where order matters --------------------------------------------------------------------

def test_heuristic_beats_the_written_order_on_branches() -> None:
    profile = activation_memory(archcost.analyze(str(FIXTURES / "branches.yaml")))
    x, wide, narrow, cat = 8 * 64, 64 * 64, 8 * 64, 16 * 64  # elements: C × 8 × 8
    # As written: a1, b1, a2, b2, cat. Both wide tensors are live at b1 and at a2.
    assert list(profile.live_bytes) == [F32 * v for v in (
        x + wide, x + 2 * wide, 2 * wide + narrow, wide + 2 * narrow, 2 * narrow + cat)]
    assert profile.peak_bytes == F32 * (x + 2 * wide) == 34_816
    # Finishing branch a first: a1, a2, b1, b2, cat; never two wide tensors at once.
    assert profile.best_order == ("a1", "a2", "b1", "b2", "cat")
    assert [s.live_bytes for s in profile.best_steps] == [F32 * v for v in (
        x + wide, x + wide + narrow, x + narrow + wide, narrow + wide + narrow, 2 * narrow + cat)]
    assert profile.best_peak_bytes == F32 * (x + wide + narrow) == 20_480


# --- dtypes and symbols -----------------------------------------------------------------------------

@pytest.mark.parametrize(("dtype", "elements", "expected"), [
    ("float32", 10, 40), ("float16", 10, 20), ("bfloat16", 3, 6), ("int8", 7, 7), ("uint8", 7, 7),
    ("int64", 3, 24), ("double", 2, 16), ("bool", 5, 5), ("int4", 3, 2), ("uint4", 4, 2),
], ids=lambda v: str(v))
def test_dtype_sizes(dtype: str, elements: int, expected: int) -> None:
    assert tensor_bytes((elements,), dtype) == expected


def test_unknown_dtype_is_an_error_and_string_is_unsized() -> None:
    with pytest.raises(ShapeError, match="floot32"):
        tensor_bytes((2,), "floot32", tensor="x")
    assert tensor_bytes((2,), "string") is None


def test_float16_spec_halves_the_input_bytes(write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = write_spec(
        "name: half\ninputs:\n  x: {shape: [1, 4, 2, 2], dtype: float16}\n"
        "layers:\n  - {op: relu, name: r}\n"
    )
    profile = activation_memory(archcost.analyze(str(spec)))
    assert list(profile.live_bytes) == [2 * 16 + 2 * 16]


def test_symbolic_batch_gives_a_symbolic_peak() -> None:
    import sympy

    report = archcost.analyze("mobilenet_v1", symbols=["batch"])
    peak = activation_memory(report).peak_bytes
    batch = next(iter(peak.free_symbols))
    assert str(batch) == "batch"
    assert sympy.simplify(peak - 6_422_528 * batch) == 0


def test_symbolic_resolution_at_224_equals_the_fast_path() -> None:
    report = archcost.analyze("mobilenet_v1", symbols=["resolution"])
    profile = activation_memory(report)
    (resolution,) = profile.peak_bytes.free_symbols
    assert profile.peak_bytes.subs(resolution, 224) == 6_422_528
    fast = activation_memory(archcost.analyze("mobilenet_v1")).live_bytes
    assert [v.subs(resolution, 224) for v in profile.live_bytes] == list(fast)


# --- analyze output -------------------------------------------------------------------------------

def test_analyze_json_and_table_carry_memory() -> None:
    result = run_cli("analyze", "mobilenet_v1", "--format", "json")
    assert result.returncode == 0, result.stderr
    memory = json.loads(result.stdout)["memory"]
    assert memory["peak_activation_bytes"] == 6_422_528
    assert memory["best_peak_activation_bytes"] == 6_422_528
    assert memory["weight_bytes"] == 17_015_456
    assert [s["live_bytes"] for s in memory["steps"]] == mobilenet_v1_steps()
    table = run_cli("analyze", "tests/fixtures/gate/branches.yaml")
    assert summary_figure(table.stdout, "peak activation bytes, default order") == "34,816"
    assert summary_figure(table.stdout, "peak activation bytes, best order found") == "20,480"


# --- random DAGs: the heuristic never loses, and liveness agrees with a brute-force model ----------

@st.composite
def dag_specs(draw: st.DrawFn) -> list[tuple[str, list[int], int]]:
    """Nodes as (op, input indices, output channels); index 0 is the graph input (8 channels)."""
    nodes: list[tuple[str, list[int], int]] = []
    channels = [8]
    for _ in range(draw(st.integers(1, 9))):
        available = len(channels)
        if available >= 2 and draw(st.booleans()):
            picks = draw(st.lists(st.integers(0, available - 1), min_size=2, max_size=3, unique=True))
            nodes.append(("Concat", picks, sum(channels[i] for i in picks)))
        elif draw(st.booleans()):
            src = draw(st.integers(0, available - 1))
            nodes.append(("Relu", [src], channels[src]))
        else:
            src = draw(st.integers(0, available - 1))
            nodes.append(("Conv", [src], draw(st.integers(1, 64))))
        channels.append(nodes[-1][2])
    return nodes


def _add_node(b: GraphBuilder, i: int, op: str, srcs: list[int], out: int, channels: list[int],
              output: str) -> None:
    """Node ``n{i}`` reading tensors ``t{s}`` for ``s`` in ``srcs``: a 1×1 Conv to ``out``
    channels (weight ``w{i}``), a channel Concat, or an elementwise op; ``channels`` grows by one."""
    inputs = [f"t{s}" for s in srcs]
    attrs: dict[str, object] = {}
    if op == "Conv":
        b.add_tensor(Tensor(f"w{i}", (out, channels[srcs[0]], 1, 1), TensorKind.INITIALIZER))
        inputs.append(f"w{i}")
        attrs = {"kernel_shape": [1, 1]}
    elif op == "Concat":
        attrs = {"axis": 1}
    b.add_node(OpNode(f"n{i}", op, tuple(inputs), (output,), attrs))
    channels.append(out)


def _build(spec: list[tuple[str, list[int], int]]):  # type: ignore[no-untyped-def]
    b = GraphBuilder("random")
    b.add_tensor(Tensor("t0", (1, 8, 4, 4), TensorKind.INPUT))
    channels = [8]
    for i, (op, srcs, out) in enumerate(spec, start=1):
        _add_node(b, i, op, srcs, out, channels, f"t{i}")
    # Sinks (and one extra tensor) are graph outputs.
    read = {s for _, srcs, _ in spec for s in srcs}
    b.outputs = [f"t{i}" for i in range(1, len(spec) + 1) if i not in read]
    return b.build(), channels


def _brute_force(order: list[int], spec: list[tuple[str, list[int], int]], channels: list[int],
                 outputs: set[int]) -> list[int]:
    """Live bytes per step straight from the definition, one tensor at a time."""
    position = {node: p for p, node in enumerate(order)}
    result = []
    for p in range(len(order)):
        total = 0
        for t in range(len(channels)):
            born = 0 if t == 0 else position[t]
            readers = [position[n] for n in order if t in spec[n - 1][1]]
            if t == 0 and not readers:
                continue
            last = len(order) - 1 if t in outputs else max(readers, default=born)
            if born <= p <= last:
                total += channels[t] * 4 * 4 * F32
        result.append(total)
    return result


@settings(max_examples=150, deadline=None)
@given(dag_specs())
def test_random_dags(spec: list[tuple[str, list[int], int]]) -> None:
    graph, channels = _build(spec)
    report = analyze_graph(graph, get_convention("paper"))
    profile = activation_memory(report)
    outputs = {int(t[1:]) for t in graph.outputs}
    default = list(range(1, len(spec) + 1))
    assert list(profile.live_bytes) == _brute_force(default, spec, channels, outputs)

    best = [int(name[1:]) for name in profile.best_order]
    assert sorted(best) == default
    for p, node in enumerate(best):  # a valid topological order
        assert all(src == 0 or best.index(src) < p for src in spec[node - 1][1])
    best_live = _brute_force(best, spec, channels, outputs)
    assert [s.live_bytes for s in profile.best_steps] == best_live
    assert profile.best_peak_bytes == max(best_live)
    assert profile.best_peak_bytes <= profile.peak_bytes == max(profile.live_bytes)

    if len(spec) <= 6:
        # No topological order can beat the optimum the brute force finds.
        optimum = min(
            max(_brute_force(list(order), spec, channels, outputs))
            for order in itertools.permutations(default)
            if all(src == 0 or order.index(src) < p
                   for p, node in enumerate(order) for src in spec[node - 1][1])
        )
        assert optimum <= profile.best_peak_bytes


# --- the best order: never worse than the default order, always topological ---------------------

#: Every zoo spec, and the onnx package's light models (ONNX-zoo AlexNet, DenseNet-121, ...),
#: on which the greedy orders do beat the default order.
BEST_ORDER_MODELS = [*zoo_names(), *(str(p) for p in sorted((data_dir() / "light").glob("*.onnx")))]


@pytest.fixture(scope="module", params=BEST_ORDER_MODELS, ids=lambda m: Path(m).stem)
def analyzed(request: pytest.FixtureRequest) -> tuple[Report, MemoryProfile]:
    report = archcost.analyze(request.param)
    return report, activation_memory(report)


def test_the_light_models_are_there() -> None:
    # A missing data folder must fail loudly, not shrink the parametrization.
    assert len(BEST_ORDER_MODELS) >= len(zoo_names()) + 9


def test_best_order_is_never_worse_than_the_default(analyzed: tuple[Report, MemoryProfile]) -> None:
    _, profile = analyzed
    assert isinstance(profile.peak_bytes, int)
    assert profile.best_peak_bytes <= profile.peak_bytes
    assert profile.best_peak_bytes == max(s.live_bytes for s in profile.best_steps)
    if profile.best_peak_bytes == profile.peak_bytes:
        assert profile.heuristic == DEFAULT_ORDER_BEST
        assert profile.best_order == tuple(s.layer for s in profile.steps)


def test_best_order_is_topological(analyzed: tuple[Report, MemoryProfile]) -> None:
    report, profile = analyzed
    rows = {row.name: row for row in report.layers}
    assert sorted(profile.best_order) == sorted(rows)
    assert [s.layer for s in profile.best_steps] == list(profile.best_order)
    # Every tensor a row reads, sized or not, is produced by an earlier row (or by none).
    producer = {t: row.name for row in report.layers for t in row.output_names if t}
    ran: set[str] = set()
    for name in profile.best_order:
        early = [t for t in rows[name].input_names if t in producer and producer[t] not in ran]
        assert not early, f"{name} reads {early} before their producers run"
        ran.add(name)


# --- small random DAGs: the heuristic against the optimum over every topological order ------------

@st.composite
def small_dags(draw: st.DrawFn) -> tuple[list[tuple[str, list[int], int]], set[int]]:
    """Up to 8 nodes as (op, input tensor indices, output channels), and the graph outputs.

    Tensors 0 and 1 are graph inputs (8 and 24 channels); tensor ``i + 1`` is node ``i``'s
    output. The graph outputs are any non-empty set of tensors, so an output that nothing
    reads and that is no graph output occurs, and so does a graph output that is also read.
    """
    channels = [8, 24]
    nodes: list[tuple[str, list[int], int]] = []
    for _ in range(draw(st.integers(1, 8))):
        available = range(len(channels))
        op = draw(st.sampled_from(["Relu", "Conv", "Concat", "Add"]))
        if op == "Concat":
            srcs = draw(st.lists(st.sampled_from(available), min_size=2, max_size=3, unique=True))
            nodes.append((op, srcs, sum(channels[s] for s in srcs)))
        elif op == "Add":
            a = draw(st.sampled_from(available))
            same = [s for s in available if channels[s] == channels[a] and s != a]
            srcs = [a, draw(st.sampled_from(same))] if same else [a]
            nodes.append(("Add" if same else "Relu", srcs, channels[a]))
        else:
            src = draw(st.sampled_from(available))
            nodes.append((op, [src], draw(st.integers(1, 48)) if op == "Conv" else channels[src]))
        channels.append(nodes[-1][2])
    outputs = draw(st.sets(st.integers(2, len(channels) - 1), min_size=1))
    return nodes, outputs


def _small_graph(nodes: list[tuple[str, list[int], int]], outputs: set[int]):  # type: ignore[no-untyped-def]
    b = GraphBuilder("small")
    b.add_tensor(Tensor("t0", (1, 8, 4, 4), TensorKind.INPUT))
    b.add_tensor(Tensor("t1", (1, 24, 4, 4), TensorKind.INPUT))
    channels = [8, 24]
    for i, (op, srcs, out) in enumerate(nodes):
        _add_node(b, i, op, srcs, out, channels, f"t{i + 2}")
    b.outputs = [f"t{t}" for t in sorted(outputs)]
    return b.build(), channels


def _peak_by_definition(order: tuple[int, ...], nodes: list[tuple[str, list[int], int]],
                        channels: list[int], outputs: set[int]) -> int:
    """The README's rules, one tensor at a time: float32 at 4×4 is 64 bytes per channel.

    A graph input is live from step 0 to its last reader; a node's output from its step to
    its last reader, or just its own step when nothing reads it; a graph output to the end.
    """
    step = {node: p for p, node in enumerate(order)}
    last = len(order) - 1
    live = [0] * len(order)
    for t, c in enumerate(channels):
        read_at = [step[n] for n, (_, srcs, _) in enumerate(nodes) if t in srcs]
        born = 0 if t < 2 else step[t - 2]
        if t in outputs:
            dies = last
        elif read_at:
            dies = max(read_at)
        elif t < 2:
            continue  # an input nothing reads is never live
        else:
            dies = born
        for p in range(born, dies + 1):
            live[p] += c * 4 * 4 * F32
    return max(live)


@settings(max_examples=100, deadline=None)
@given(small_dags())
def test_heuristic_between_the_optimum_and_the_default(
        dag: tuple[list[tuple[str, list[int], int]], set[int]]) -> None:
    nodes, outputs = dag
    graph, channels = _small_graph(nodes, outputs)
    profile = activation_memory(analyze_graph(graph, get_convention("paper")))
    dependencies = nx.DiGraph()
    dependencies.add_nodes_from(range(len(nodes)))
    dependencies.add_edges_from((s - 2, n) for n, (_, srcs, _) in enumerate(nodes) for s in srcs if s >= 2)
    optimum = min(_peak_by_definition(tuple(order), nodes, channels, outputs)
                  for order in nx.all_topological_sorts(dependencies))

    default = tuple(range(len(nodes)))
    best = tuple(int(name[1:]) for name in profile.best_order)
    assert profile.peak_bytes == _peak_by_definition(default, nodes, channels, outputs)
    assert profile.best_peak_bytes == _peak_by_definition(best, nodes, channels, outputs)
    assert optimum <= profile.best_peak_bytes <= profile.peak_bytes
