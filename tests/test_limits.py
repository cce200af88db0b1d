"""Every documented resource limit: just under it works, just over it is one clear error.

No limit is ever reached by running out of stack: deep inputs are refused by an
explicit count (YAML depth by an event scan, subgraph depth by an explicit stack
and the wire reader's own depth count, expression depth by the parser's counter).
Exact numbers stay exact ints at any size (10**15 MACs and past 2**64).
"""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

import archcost
from archcost.errors import ArchcostError, ExpressionError, LimitError, ModelFormatError, SpecError
from archcost.expr import MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_LENGTH, MAX_VALUE_BITS, evaluate_text, parse
from archcost.frontends.onnx import MAX_FILE_BYTES, MAX_SUBGRAPH_DEPTH, read_model
from archcost.frontends.spec import MAX_BLOCK_DEPTH, MAX_REPEAT, MAX_SPEC_NODES
from archcost.frontends.yaml_loader import MAX_SPEC_BYTES, MAX_YAML_DEPTH, load_yaml
from archcost.report.analysis import render
from archcost.runtime.checks import MAX_RUNTIME_ELEMENTS
from tests.conftest import run_cli
from tests.onnx_builders import model, node, save
from tools.fuzz import billion_laughs, nested_ifs

HEADER = """name: limits
inputs:
  x: {shape: [1, 4]}
"""


def _spec(tmp_path: Path, text: str, name: str = "spec.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- file size ----------------------------------------------------------------------------


def test_spec_file_size(tmp_path: Path) -> None:
    body = HEADER + "layers:\n  - {op: relu}\n"
    padded = body + "#" * (MAX_SPEC_BYTES - len(body) - 1) + "\n"
    assert len(padded.encode()) == MAX_SPEC_BYTES
    assert len(archcost.analyze(_spec(tmp_path, padded)).layers) == 1
    with pytest.raises(LimitError, match=f"the limit is {MAX_SPEC_BYTES:,}"):
        archcost.analyze(_spec(tmp_path, padded + "#"))


@pytest.mark.parametrize("reader", ["wire", "onnx"])
def test_onnx_file_size_is_refused_before_reading(tmp_path: Path, reader: str) -> None:
    # A sparse file: 2 GiB on paper, no disk used. Reading it would take seconds and
    # then fail as "not ONNX"; the size check refuses it first, naming the limit.
    path = tmp_path / "huge.onnx"
    with path.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 1)
    start = time.perf_counter()
    with pytest.raises(LimitError, match=f"at most {MAX_FILE_BYTES:,}") as caught:
        read_model(path, str(path), reader)
    assert time.perf_counter() - start < 1.0  # nothing was read
    assert str(caught.value).startswith(f"{path}:")


# --- graph size ---------------------------------------------------------------------------


def _relu_chain(count: int) -> object:
    nodes = [node("Relu", ["x" if i == 0 else f"t{i - 1}"], f"t{i}") for i in range(count)]
    return model(nodes, [("x", [2])], [f"t{count - 1}"])


def test_graph_node_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The limit itself is 250,000 nodes; the same check at 5 keeps the test small.
    monkeypatch.setattr("archcost.graph.MAX_NODES", 5)
    assert len(archcost.analyze(str(save(_relu_chain(5), tmp_path / "five.onnx"))).layers) == 5
    with pytest.raises(LimitError, match="more than 5 nodes"):
        archcost.analyze(str(save(_relu_chain(6), tmp_path / "six.onnx")))


def test_spec_node_limit_counts_nested_repeats(tmp_path: Path) -> None:
    # 1000 × 101 nodes from a few lines: refused once the count passes the limit, long
    # before a million-node graph is built.
    text = HEADER + "blocks:\n  inner:\n    layers:\n      - {op: relu, repeat: 101}\n"
    text += "layers:\n  - {use: inner, repeat: 1000}\n"
    with pytest.raises(LimitError, match=f"more than {MAX_SPEC_NODES:,} operator nodes"):
        archcost.analyze(_spec(tmp_path, text))


# --- repeat, blocks -----------------------------------------------------------------------


def test_repeat_limit(tmp_path: Path) -> None:
    at_limit = HEADER + f"layers:\n  - {{op: relu, repeat: {MAX_REPEAT}}}\n"
    assert len(archcost.analyze(_spec(tmp_path, at_limit)).layers) == MAX_REPEAT
    for count in (MAX_REPEAT + 1, "10**9"):
        over = HEADER + f"layers:\n  - {{op: relu, repeat: '{count}'}}\n"
        with pytest.raises(LimitError, match=f"exceeds the limit of {MAX_REPEAT:,}"):
            archcost.analyze(_spec(tmp_path, over))


def test_block_nesting_limit(tmp_path: Path) -> None:
    text = HEADER + "blocks:\n  loop:\n    layers:\n      - {use: loop}\nlayers:\n  - {use: loop}\n"
    with pytest.raises(LimitError, match=f"blocks nest deeper than {MAX_BLOCK_DEPTH}"):
        archcost.analyze(_spec(tmp_path, text))


# --- expressions --------------------------------------------------------------------------


def test_expression_length_limit() -> None:
    text = "1+" * ((MAX_EXPRESSION_LENGTH - 1) // 2) + "1"
    text += "0" * (MAX_EXPRESSION_LENGTH - len(text))
    assert len(text) == MAX_EXPRESSION_LENGTH
    parse(text)
    with pytest.raises(ExpressionError, match=f"the limit is {MAX_EXPRESSION_LENGTH}"):
        parse(text + "0")


@pytest.mark.parametrize(("opening", "closing"), [("(", ")"), ("-", ""), ("int(", ")")],
                         ids=["parentheses", "unary-minus", "calls"])
def test_expression_depth_limit(opening: str, closing: str) -> None:
    if opening != "int(":  # a call is two levels (the call and its argument), so only the refusal
        below = MAX_EXPRESSION_DEPTH - 1
        assert evaluate_text(opening * below + "7" + closing * below, {}) in (7, -7)
    with pytest.raises(ExpressionError, match=f"nests deeper than {MAX_EXPRESSION_DEPTH} levels"):
        parse(opening * MAX_EXPRESSION_DEPTH + "7" + closing * MAX_EXPRESSION_DEPTH)
    deepest = (MAX_EXPRESSION_LENGTH - 1) // (len(opening) + len(closing))  # the most the length allows
    with pytest.raises(ExpressionError, match=f"nests deeper than {MAX_EXPRESSION_DEPTH} levels"):
        parse(opening * deepest + "7" + closing * deepest)


def test_expression_value_limit() -> None:
    # 2**255 is the largest power of two below the limit; 2**256 reaches it.
    assert evaluate_text("(2**32)**7 * 2**31", {}) == 2**255
    for text in ("(2**32)**7 * 2**32", "1 / ((2**32)**7 * 2**32)", "-(2**32)**7 * 2**32"):
        with pytest.raises(ExpressionError, match=f"exceeds 2\\*\\*{MAX_VALUE_BITS}"):
            evaluate_text(text, {})


def test_power_tower_is_refused_before_it_is_computed() -> None:
    # Unchecked, the seventh power here has about 10**10 digits: the test would never end.
    tower = "(" * 7 + "10**32" + ")**32" * 7
    with pytest.raises(ExpressionError, match="exceeds"):
        evaluate_text(tower, {})


# --- YAML ---------------------------------------------------------------------------------


def test_billion_laughs_is_refused_in_under_a_second(tmp_path: Path) -> None:
    # Nine levels of nine aliases: 9**9 (387 million) strings if expanded.
    path = _spec(tmp_path, billion_laughs(9, 9))
    start = time.perf_counter()
    with pytest.raises(SpecError, match="anchors"):
        archcost.analyze(path)
    assert time.perf_counter() - start < 1.0


def test_a_lone_alias_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="aliases"):
        archcost.analyze(_spec(tmp_path, HEADER + "layers: *x\n"))


@pytest.mark.parametrize("flow", [True, False], ids=["flow", "block"])
def test_yaml_depth_limit(tmp_path: Path, flow: bool) -> None:
    def nested(depth: int) -> str:
        if flow:
            return "x: " + "[" * (depth - 1) + "]" * (depth - 1) + "\n"
        return "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}v\n"

    path = tmp_path / "deep.yaml"
    path.write_text(nested(MAX_YAML_DEPTH), encoding="utf-8")
    load_yaml(path, "deep.yaml")
    # Block indentation grows quadratically in bytes: 500 levels stay under the size limit.
    for depth in (MAX_YAML_DEPTH + 1, 100_000 if flow else 500):
        path.write_text(nested(depth), encoding="utf-8")
        with pytest.raises(LimitError, match=f"deeper than {MAX_YAML_DEPTH} levels"):
            load_yaml(path, "deep.yaml")


# --- ONNX subgraphs -----------------------------------------------------------------------


def test_subgraph_nesting_limit(tmp_path: Path) -> None:
    path = tmp_path / "nested.onnx"
    path.write_bytes(nested_ifs(MAX_SUBGRAPH_DEPTH))
    archcost.analyze(str(path))  # at the limit: analyzed
    # One If level is three protobuf messages (node, attribute, graph), so one level more
    # also passes protobuf's own limit of 100 nested messages, which either reader enforces.
    path.write_bytes(nested_ifs(MAX_SUBGRAPH_DEPTH + 1))
    # The default (wire) reader names the limit; onnx.load only says the bytes do not parse.
    with pytest.raises(LimitError, match="If/Loop/Scan subgraphs"):
        archcost.analyze(str(path), reader="wire")
    with pytest.raises((LimitError, ModelFormatError), match=r"nest|does not parse"):
        archcost.analyze(str(path), reader="onnx")


@pytest.mark.parametrize("reader", ["wire", "onnx"])
@pytest.mark.parametrize("depth", [200, 2000])
def test_very_deep_subgraphs_are_refused_without_recursion(tmp_path: Path, reader: str, depth: int) -> None:
    # Deeper than any stack: the wire reader counts its depth, protobuf has its own limit.
    path = tmp_path / "deep.onnx"
    path.write_bytes(nested_ifs(depth))
    with pytest.raises((LimitError, ModelFormatError), match=r"nest|does not parse"):
        read_model(path, "deep.onnx", reader)


# --- export and verify allocate arrays ----------------------------------------------------


@pytest.mark.parametrize("layers", [
    "  - {op: parameter, shape: [32768, 32769], name: p}\n  - {op: relu}\n",
    "  - {op: parameter, shape: [1, 1180591620717411303424], name: p}\n  - {op: relu}\n",
    "  - {op: relu, inputs: [z]}\n",
], ids=["over-elements", "past-int64", "zero-size-past-int64"])
def test_export_refuses_tensors_over_the_element_limit(tmp_path: Path, layers: str) -> None:
    # 32768 · 32769 = 2**30 + 2**15 elements, just over the limit; 2**70 does not fit int64,
    # not even in a tensor with no elements.
    extra = "  z: {shape: [0, 1180591620717411303424]}\n" if "[z]" in layers else ""
    text = HEADER + extra + "layers:\n" + layers
    spec = _spec(tmp_path, text)
    from archcost.runtime.export import export_model
    from archcost.runtime.verify import verify

    out = tmp_path / "out.onnx"
    with pytest.raises(LimitError, match=f"tensor '(p.value|z)' has shape .* at most {MAX_RUNTIME_ELEMENTS:,}"):
        export_model(spec, out)
    assert not out.exists()
    with pytest.raises(LimitError, match=f"at most {MAX_RUNTIME_ELEMENTS:,}"):
        verify(spec)


def test_verify_refuses_an_intermediate_tensor_over_the_element_limit(tmp_path: Path) -> None:
    # Small weights, a 2**31-element activation: refused before onnxruntime is asked to allocate it.
    text = HEADER.replace("[1, 4]", "[1, 1]") + "layers:\n  - {op: expand, shape: [32768, 65536]}\n"
    from archcost.runtime.verify import verify

    with pytest.raises(LimitError, match="materializes at most"):
        verify(_spec(tmp_path, text))


# --- exact counts at any size -------------------------------------------------------------


@pytest.mark.parametrize(("k", "n"), [(1_000_003, 999_999_937), (2**40 + 15, 2**30 + 3)],
                         ids=["1e15", "past-2**64"])
def test_huge_counts_stay_exact_ints(tmp_path: Path, k: int, n: int) -> None:
    # fc on [1, K] with N outputs and no bias: MACs = weights = K·N (one multiply-accumulate
    # per weight). Both products are odd, so any float or int64 on the way would show.
    text = HEADER.replace("[1, 4]", f"[1, {k}]") + f"layers:\n  - {{op: fc, out: {n}, bias: false}}\n"
    report = archcost.analyze(_spec(tmp_path, text))
    assert type(report.totals.macs) is int and report.totals.macs == k * n
    assert report.totals.weights == k * n
    data = json.loads(render(report, "json"))
    assert data["totals"]["macs"] == k * n and data["layers"][0]["macs"] == k * n
    rows = list(csv.reader(io.StringIO(render(report, "csv"))))
    assert rows[-1][0] == "TOTAL" and int(rows[-1][5]) == k * n
    assert f"{k * n:,}" in render(report, "table")


# --- through the CLI: one line, exit 2 ----------------------------------------------------


@pytest.mark.parametrize(("text", "needle"), [
    (HEADER + "layers:\n  - {op: relu, repeat: 1001}\n", "exceeds the limit of 1,000"),
    (billion_laughs(9, 9), "anchors"),
    (HEADER + "layers:\n  - {op: fc, out: '(2**32)**8'}\n", "exceeds 2**256"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "deeper than 64 levels"),
], ids=["repeat", "billion-laughs", "value", "yaml-depth"])
def test_limits_are_one_line_and_exit_2(tmp_path: Path, text: str, needle: str) -> None:
    path = _spec(tmp_path, text)
    result = run_cli("analyze", path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"archcost: {path}:"), result.stderr
    assert needle in lines[0]


def test_every_limit_error_is_an_archcost_error() -> None:
    assert issubclass(LimitError, ArchcostError)
