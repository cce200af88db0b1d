"""The cost figure of the HTML report (archcost/report/cost_figure.py), checked in a real browser.

The expected figures are archcost's own ``Report.by_module`` and ``Report.by_category`` sums,
which tests/test_modules.py and tests/test_corpus.py check against closed forms and torch.
What is checked here is the drawing: a headless Chromium (tests/browser.py) opens the written
report page and measures every rectangle. Each module must be exactly as wide as its share of
the cost, nested under its parent after its earlier siblings, and every module wide enough
must be drawn; the page must make no request of any kind beyond its own file, and log no error
or exception. Hostile module names must stay text.

The browser tests skip, saying why, when no Chromium is installed; the markup tests always run.
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from archcost.cost.pipeline import analyze_model
from archcost.cost.result import Report
from archcost.report import cost_figure as cf
from archcost.report.build import model_document
from archcost.report.format import exact
from archcost.report.render import document_html
from archcost.report.table import Document, Figure
from tests.browser import find_chromium, visit
from tests.conftest import run_cli

CORPUS = Path(__file__).parent / "fixtures" / "corpus"
CHROMIUM = find_chromium()
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary on PATH (apt-get install -y chromium): the figure is "
    "checked in a real headless browser")

#: Hostile names: each would run script or fetch a URL if it became markup.
IMG = "<img src=x onerror=alert(1)>"
SCRIPT_OPEN = '"><script>alert(2)<'  # a '/' would start a new scope segment
CLASS = "</title><img src=y onerror=alert(3)>"
GRAPH = "<script>alert(4)</script>"

#: Everything the browser reports about the figure, as JSON.
MEASURE = r"""(() => {
  const svg = document.querySelector('figure#cost_breakdown > svg');
  if (!svg) return {figures: 0};
  const scale = svg.getBoundingClientRect().width / Number(svg.dataset.width);
  const box = (g) => {
    const rect = g.querySelector('rect'), bbox = rect.getBBox(), text = g.querySelector('text');
    return {x: bbox.x, y: bbox.y, width: bbox.width, screenWidth: rect.getBoundingClientRect().width,
            title: g.querySelector('title').textContent, label: text ? text.textContent : null,
            labelWidth: text ? text.getComputedTextLength() : 0};
  };
  return {
    figures: document.querySelectorAll('figure > svg').length,
    scale: scale,
    total: svg.dataset.totalCost,
    modules: [...svg.querySelectorAll('g.module')].map(g => Object.assign(
        {index: Number(g.dataset.index), depth: Number(g.dataset.depth)}, box(g))),
    others: [...svg.querySelectorAll('g.other')].map(g => Object.assign(
        {parent: Number(g.dataset.parent), gathered: Number(g.dataset.gathered)}, box(g))),
    categories: [...svg.querySelectorAll('g.category')].map(g => Object.assign(
        {category: g.dataset.category}, box(g))),
    active: document.querySelectorAll(
        'script, img, iframe, object, embed, link, [onerror], [onload], [onclick]').length,
    caption: document.querySelector('figure#cost_breakdown figcaption').textContent,
  };
})()"""

#: Coordinates are written with two decimals (half a hundredth off at most) and the browser keeps
#: them as 32-bit floats; the bounding box read back is within this of the exact share.
SVG_UNITS = 0.011
#: On screen the browser snaps to device pixels: a rectangle's painted width may be 1 px off.
SCREEN_PX = 1.0


# -- graphs ------------------------------------------------------------------------------------

def _matmul_chain(names: Sequence[str], *, graph: str = "test", dim: int = 8,
                  metadata: dict[int, tuple[str, str]] | None = None) -> onnx.ModelProto:
    """``len(names)`` MatMuls in a chain, each ``[1, dim] × [dim, dim]`` (``dim²`` MACs), node ``i``
    named ``names[i]`` (and given dynamo scope metadata ``metadata[i]``, if any)."""
    nodes = []
    for i, name in enumerate(names):
        out = "y" if i == len(names) - 1 else f"t{i}"
        node = helper.make_node("MatMul", ["x" if i == 0 else f"t{i - 1}", "w"], [out], name=name)
        if metadata and i in metadata:
            for key, value in zip(("pkg.torch.onnx.name_scopes", "pkg.torch.onnx.class_hierarchy"),
                                  metadata[i], strict=True):
                entry = node.metadata_props.add()
                entry.key, entry.value = key, value
        nodes.append(node)
    w = numpy_helper.from_array(np.ones((dim, dim), np.float32), "w")
    g = helper.make_graph(nodes, graph, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, dim])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, dim])], initializer=[w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    m.ir_version = 8
    return m


def _hostile() -> onnx.ModelProto:
    names = [f"/{IMG}/MatMul", f"/{IMG}/{IMG}/MatMul", f"/{SCRIPT_OPEN}/script>/MatMul", "dynamo_mm"]
    scopes = "['', 'head', 'head.mm']"
    classes = f"['Model', '{CLASS}', 'aten.mm.default']"
    return _matmul_chain(names, graph=GRAPH, metadata={3: (scopes, classes)})


def _tree(stages: int = 10, blocks: int = 10, layers: int = 20) -> onnx.ModelProto:
    """``stages × blocks × layers`` leaf modules (2,000 by default) under ``stages × blocks`` blocks,
    layer ``j`` holding ``1 + j % 3`` MatMuls, and one heavy layer of 40 in the first block."""
    names = []
    for a in range(stages):
        for b in range(blocks):
            for j in range(layers):
                repeat = 40 if (a, b, j) == (0, 0, 0) else 1 + j % 3
                names += [f"/stage{a}/block{b}/layer{j}/MatMul_{r}" for r in range(repeat)]
    return _matmul_chain(names)


def _save(m: onnx.ModelProto, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.onnx"
    path.write_bytes(m.SerializeToString())
    return str(path)


# -- what the drawing must be ------------------------------------------------------------------

def _parents(modules: Sequence[Any]) -> list[int]:
    """Each module's parent position in pre-order (``-1`` for the root), from the depths."""
    parents, path = [], []
    for i, m in enumerate(modules):
        while path and modules[path[-1]].depth >= m.depth:
            path.pop()
        parents.append(path[-1] if path else -1)
        path.append(i)
    return parents


def _percent(part: int, whole: int) -> str:
    """``100 · part / whole`` rounded half up to two decimals."""
    hundredths = (Fraction(10_000 * part, whole) + Fraction(1, 2)).__floor__()
    return f"{hundredths // 100}.{hundredths % 100:02d}"


def _check_drawing(report: Report, seen: dict[str, Any]) -> None:
    """``seen`` (the browser's measurements) against ``report``'s exact figures."""
    modules = report.by_module(cf.MAX_BANDS)
    parents = _parents(modules)
    total = int(modules[0].cost)
    width = cf.WIDTH
    assert seen["figures"] == 1 and seen["active"] == 0
    assert seen["total"] == str(total)

    def share(cost: int) -> float:
        return cost * width / total

    def wide(i: int) -> bool:
        return modules[i].cost > 0 and modules[i].cost * width >= cf.MIN_WIDTH_PX * total

    def drawn_expected(i: int) -> bool:
        return i == 0 or (wide(i) and drawn_expected(parents[i]))

    # Every module wide enough is drawn, and nothing else: an exact count.
    drawn = {m["index"]: m for m in seen["modules"]}
    assert len(drawn) == len(seen["modules"])
    assert sorted(drawn) == [i for i in range(len(modules)) if drawn_expected(i)]
    band_y = {}
    for i, m in drawn.items():
        expected = share(int(modules[i].cost)) if total else width
        assert abs(m["width"] - expected) <= SVG_UNITS, (modules[i].name, m["width"], expected)
        assert abs(m["screenWidth"] - expected * seen["scale"]) <= SCREEN_PX, modules[i].name
        assert m["depth"] == modules[i].depth
        band_y.setdefault(m["depth"], m["y"])
        assert m["y"] == band_y[m["depth"]]
        heading = (modules[i].name or report.model) + (f" ({modules[i].kind})" if modules[i].kind else "")
        cost = int(modules[i].cost)
        assert m["title"].split("\n") == [
            heading, f"{report.convention.unit}: {exact(cost)} ({_percent(cost, total)} % of {exact(total)})",
            f"params: {exact(int(modules[i].params))}"]
        if m["label"] is not None:  # a label is the module's name, or its start and "…", and fits
            assert m["labelWidth"] <= m["width"], (m["label"], m["labelWidth"], m["width"])
    assert sorted(band_y) == list(range(len(band_y)))
    assert [band_y[d] for d in sorted(band_y)] == sorted(band_y.values())
    assert drawn[0]["x"] == 0 and abs(drawn[0]["width"] - width) <= SVG_UNITS

    # Children sit inside their parent, in graph order, without overlapping.
    for i, m in drawn.items():
        if i == 0:
            continue
        p = drawn[parents[i]]
        assert p["x"] - SVG_UNITS <= m["x"] and m["x"] + m["width"] <= p["x"] + p["width"] + SVG_UNITS
    for d in band_y:
        row = sorted((i for i in drawn if drawn[i]["depth"] == d), key=lambda i: drawn[i]["x"])
        assert row == sorted(row)
        for a, b in itertools.pairwise(row):
            assert drawn[a]["x"] + drawn[a]["width"] <= drawn[b]["x"] + SVG_UNITS

    # One "other" sliver per drawn parent whose narrow submodules add up to a pixel.
    hidden: dict[int, list[int]] = {}
    for i in range(1, len(modules)):
        if parents[i] in drawn and not wide(i) and modules[i].cost > 0:
            hidden.setdefault(parents[i], []).append(i)
    slivers = {p: sum(int(modules[i].cost) for i in kids) for p, kids in hidden.items()}
    expected_slivers = {p: c for p, c in slivers.items() if c * width >= cf.MIN_WIDTH_PX * total}
    assert sorted(o["parent"] for o in seen["others"]) == sorted(expected_slivers)
    for o in seen["others"]:
        assert o["gathered"] == len(hidden[o["parent"]])
        assert abs(o["width"] - share(expected_slivers[o["parent"]])) <= SVG_UNITS

    # The category bar: one segment per category with a cost, in order, each its share wide.
    categories = [(c.value, int(s.cost)) for c, s in report.by_category().items() if s.cost]
    assert [c["category"] for c in seen["categories"]] == [c for c, _ in categories]
    for segment, (_, cost) in zip(seen["categories"], categories, strict=True):
        assert abs(segment["width"] - share(cost)) <= SVG_UNITS
        assert exact(cost) in segment["title"]


def _open(doc: Document, tmp_path: Path) -> Any:
    page = tmp_path / "report.html"
    page.write_text(document_html(doc), encoding="utf-8")
    assert CHROMIUM is not None
    seen = visit(CHROMIUM, page, MEASURE)
    assert seen.problems == [], seen.problems
    assert seen.requests == [page.resolve().as_uri()]
    return seen.value


def _figure(doc: Document) -> Figure:
    (figure,) = [f for f in doc.figures if f.key == cf.FIGURE_KEY]
    return figure


# -- in the browser ----------------------------------------------------------------------------

@needs_chromium
@pytest.mark.parametrize(("model", "settings"), [
    ("resnet50", {}),
    (str(CORPUS / "torchvision_vit_dynamo.onnx"), {"batch": "1"}),
    (str(CORPUS / "llama_gqa_kv_dynamo.onnx"), {"batch": "1", "sequence": "16", "past_sequence": "8"}),
    (str(CORPUS / "yolo_fpn_torchscript.onnx"), {"batch": "1", "height": "128", "width": "96"}),
], ids=["resnet50-spec", "vit-dynamo", "llama-dynamo", "yolo-torchscript"])
def test_each_module_is_as_wide_as_its_cost(model: str, settings: dict[str, str], tmp_path: Path) -> None:
    report = analyze_model(model, params=settings)
    assert report.has_module_scopes and not report.is_symbolic
    seen = _open(model_document(model, settings, figures=False), tmp_path)
    _check_drawing(report, seen)
    assert len(seen["modules"]) > 10


@needs_chromium
def test_a_graph_without_scopes_is_one_bar(tmp_path: Path) -> None:
    model = _save(_matmul_chain(["mm1", "mm2", "mm3"]), tmp_path, "flat")
    report = analyze_model(model)
    assert not report.has_module_scopes
    seen = _open(model_document(model, figures=False), tmp_path)
    _check_drawing(report, seen)
    assert [m["index"] for m in seen["modules"]] == [0] and seen["others"] == []
    assert "records no module scopes" in seen["caption"]


@needs_chromium
def test_hostile_names_stay_text_in_the_browser(tmp_path: Path) -> None:
    model = _save(_hostile(), tmp_path, "hostile")
    report = analyze_model(model)
    seen = _open(model_document(model, figures=False), tmp_path)  # no request, dialog or error
    _check_drawing(report, seen)
    headings = {m["title"].split("\n")[0] for m in seen["modules"]}
    assert {GRAPH, IMG, f"{IMG}.{IMG}", SCRIPT_OPEN, f"{SCRIPT_OPEN}.script>", f"head ({CLASS})"} <= headings
    assert GRAPH in seen["caption"]


@needs_chromium
def test_two_thousand_modules_in_the_browser(tmp_path: Path) -> None:
    model = _save(_tree(), tmp_path, "tree")
    report = analyze_model(model)
    assert len(report.by_module()) == 1 + 10 + 100 + 2000
    seen = _open(model_document(model, figures=False), tmp_path)
    _check_drawing(report, seen)
    # The root, 10 stages, 100 blocks, the heavy layer; every other layer is in its block's sliver.
    assert len(seen["modules"]) == 1 + 10 + 100 + 1
    assert len(seen["others"]) == 100


# -- the markup ----------------------------------------------------------------------------------

def test_hostile_names_are_escaped_in_the_markup() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        doc = model_document(_save(_hostile(), Path(folder), "hostile"), figures=False)
    svg = _figure(doc).data["svg"].decode("utf-8")
    page = document_html(doc)
    for text in (svg, page):
        assert not re.search(r"<(img|script)\b", text, re.IGNORECASE)
        assert "<title>" in text and "</title><img" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in svg and "&lt;/title&gt;&lt;img src=y" in svg
    root = ET.fromstring(svg)  # the .svg file is well-formed XML, names and all
    titles = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert any(t.startswith(IMG + "\n") for t in titles) and any(t.startswith(GRAPH + "\n") for t in titles)


def test_characters_xml_forbids_are_replaced(tmp_path: Path) -> None:
    model = _save(_matmul_chain(["/a\x01b\x1b[31m/MatMul", "/c/MatMul"]), tmp_path, "control")
    svg = _figure(model_document(model, figures=False)).data["svg"].decode("utf-8")
    ET.fromstring(svg)
    assert "a\\x01b\\x1b[31m" in svg  # the HTML sink's policy: control characters spelled out


def test_the_figure_stays_small_for_two_thousand_modules(tmp_path: Path) -> None:
    report = analyze_model(_save(_tree(), tmp_path, "tree"))
    figure = cf.cost_figure(report)
    svg = figure.data["svg"].decode("utf-8")
    layout = cf.icicle(report)
    assert (len(layout.boxes), layout.cut_at_depth) == (1 + 10 + 100 + 1 + 100, 0)
    assert svg.count("<rect") == len(layout.boxes) + 1 + 2 * 1  # + the category bar's ground, segment, key
    assert len(figure.data["svg"]) < 80_000


def test_two_thousand_siblings_are_one_sliver(tmp_path: Path) -> None:
    report = analyze_model(_save(_matmul_chain([f"/m{i}/MatMul" for i in range(2000)]), tmp_path, "flat"))
    layout = cf.icicle(report)
    assert [(b.index, b.gathered) for b in layout.boxes] == [(0, 0), (-1, 2000)]
    assert len(cf.cost_figure(report).data["svg"]) < 5_000


def test_deep_wide_trees_stop_at_the_rectangle_cap(tmp_path: Path) -> None:
    # 400 chains six modules deep, each 2.4 px wide: 400 rectangles a band.
    names = [f"/m{i}/a/b/c/d/e/MatMul" for i in range(400)]
    report = analyze_model(_save(_matmul_chain(names), tmp_path, "deep"))
    layout = cf.icicle(report)
    assert layout.cut_at_depth == 3 and len(layout.boxes) == 1 + 2 * 400 <= cf.MAX_RECTANGLES
    figure = cf.cost_figure(report)
    assert "Levels from depth 3 down are left out" in figure.caption
    assert len(figure.data["svg"]) < 300_000


def test_a_graph_with_no_cost_is_the_root_alone(tmp_path: Path) -> None:
    relu = helper.make_node("Relu", ["x"], ["y"], name="/block/Relu")
    g = helper.make_graph([relu], "relu_only", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)])
    report = analyze_model(_save(m, tmp_path, "relu"))
    assert report.totals.cost == 0 and report.has_module_scopes
    figure = cf.cost_figure(report)
    assert [(b.index, b.cost) for b in cf.icicle(report).boxes] == [(0, 0)]
    assert "Nothing in this graph counts toward MACs" in figure.caption
    assert b"no MACs under the paper convention" in figure.data["svg"]


def test_a_long_name_is_cut_in_the_tooltip(tmp_path: Path) -> None:
    long = "x" * 100_000
    report = analyze_model(_save(_matmul_chain([f"/{long}/MatMul", "/b/MatMul"]), tmp_path, "long"))
    svg = cf.cost_figure(report).data["svg"]
    assert len(svg) < 5_000 + 2 * cf.MAX_NAME_CHARS
    assert ("x" * (cf.MAX_NAME_CHARS - 1) + "…").encode() in svg


def test_a_symbolic_report_gets_a_note_instead(tmp_path: Path) -> None:
    doc = model_document(str(CORPUS / "llama_gqa_kv_dynamo.onnx"), figures=False)
    assert not [f for f in doc.figures if f.key == cf.FIGURE_KEY]
    assert doc.figures_note.startswith("The cost figure (by layer category and by module) needs concrete "
                                       "counts: bind the free symbols (batch (graph input 'input_ids', axis 0)")
    assert "--set batch=VALUE" in doc.figures_note and "\n" not in doc.figures_note
    assert doc.figures_note in document_html(doc).replace("&#x27;", "'")
    assert [t.key for t in doc.tables] == ["layers", "categories", "modules"]


def test_the_report_directory_carries_the_figure_and_checks_it(tmp_path: Path) -> None:
    model = _save(_hostile(), tmp_path, "hostile")
    out = tmp_path / "out"
    assert run_cli("report", model, "--out", str(out)).returncode == 0
    folder = out / "hostile"
    svg = folder / "figures" / "cost_breakdown.svg"
    assert svg.read_bytes() == _figure(model_document(model)).data["svg"]
    assert "](figures/cost_breakdown.svg)" in (folder / "README.md").read_text(encoding="utf-8")
    assert '<figure id="cost_breakdown">' in (folder / "report.html").read_text(encoding="utf-8")
    check = run_cli("report", model, "--out", str(out), "--check")
    assert check.returncode == 0 and "up to date" in check.stdout
    page = folder / "report.html"
    written = page.read_bytes()
    svg.write_bytes(svg.read_bytes().replace(b"<title>", b"<title>x", 1))
    page.write_bytes(written.replace(b"<title>", b"<title>x", 1))
    check = run_cli("report", model, "--out", str(out), "--check")
    assert check.returncode == 1
    assert "differs: figures/cost_breakdown.svg" in check.stderr and "differs: report.html" in check.stderr
    # Rewriting restores both, with or without matplotlib: no committed plot is there to keep.
    assert run_cli("report", model, "--out", str(out)).returncode == 0
    assert page.read_bytes() == written and svg.read_bytes() == _figure(model_document(model)).data["svg"]
