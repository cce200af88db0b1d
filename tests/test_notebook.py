"""Notebook display: ``repr`` is one short line; ``_repr_html_`` and ``_repr_markdown_`` of a report,
a comparison and a sweep show the same figures as the command's JSON output.

Each rich display is parsed back into rows (HTML with the standard library's parser, markdown by
its pipes) and every figure is checked against the JSON that ``archcost ... --format json``
prints for the same model, formatted the way the one renderer formats it.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

import archcost
from archcost.categories import Category
from archcost.report.format import humanize
from archcost.report.render import human_cell
from archcost.report.table import Column, Kind
from tests.conftest import run_cli

COMPARED = ["mobilenet_v1", "mobilenet_v1:alpha=0.5,resolution=160", "resnet50"]


class _Tables(HTMLParser):
    """Every ``<section id=KEY>``'s table rows (header, body and footer), as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.tags: set[str] = set()
        self.attributes: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        if tag == "section":
            self._section = dict(attrs)["data-key"] or ""
            self.tables[self._section] = []
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._section].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _html_tables(text: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    # Self-contained: nothing that runs or fetches.
    assert not parser.tags & {"script", "img", "iframe", "link", "object", "embed"}
    assert not any(a.startswith("on") for a in parser.attributes)
    assert "http" not in text
    return parser.tables


def _markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """Rows of each table under a ``#### title`` heading, keyed by the title."""
    tables: dict[str, list[list[str]]] = {}
    title = ""
    for line in text.splitlines():
        if line.startswith("#### "):
            title = line[5:]
            tables[title] = []
        elif line.startswith("|") and not re.fullmatch(r"[|\-: ]+", line):
            tables[title].append([c.strip().strip("*").strip("`") for c in line.strip("|").split("|")])
    return tables


def _by_first_cell(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row for row in rows}


@pytest.fixture(scope="module")
def mobilenet() -> tuple[archcost.Report, dict]:  # type: ignore[type-arg]
    data = json.loads(run_cli("analyze", "mobilenet_v1", "--format", "json").stdout)
    return archcost.analyze("mobilenet_v1"), data


def _check_report_tables(tables: dict[str, list[list[str]]], data: dict, keys: tuple[str, str, str]) -> None:  # type: ignore[type-arg]
    totals, categories, layers = (_by_first_cell(tables[k]) for k in keys)
    memory = data["memory"]
    expected = {
        "total MACs": data["totals"]["macs"],
        "params (trainable: weight + bias + norm)": data["totals"]["params"],
        "weights (conv and FC kernels, as the paper counts)": data["totals"]["params_by_kind"]["weight"],
        "peak activation bytes, default order": memory["peak_activation_bytes"],
        "peak activation bytes, best order found": memory["best_peak_activation_bytes"],
        "weight bytes (every initializer, BN buffers included)": memory["weight_bytes"],
    }
    for label, value in expected.items():
        assert totals[label][1] == f"{value:,}", label
    assert totals["total MACs"][2] == humanize(data["totals"]["macs"])
    for key, figures in data["categories"].items():
        row = categories[Category(key).label]
        assert row[1] == f"{figures['cost']:,}" and row[3] == f"{figures['weights']:,}"
        assert row[5] == str(figures["nodes"])
    assert categories["total"][1] == f"{data['totals']['macs']:,}"
    ranked = sorted(data["layers"], key=lambda layer: -layer["cost"])[:10]
    for layer in ranked:
        row = layers[layer["name"]]
        assert row[5] == f"{layer['cost']:,}" and row[-1] == f"{layer['params']:,}", layer["name"]
    assert layers["total"][5] == f"{data['totals']['cost']:,}"
    rest = [name for name in layers if name.startswith("(")]
    assert rest == [f"({len(data['layers']) - 10} other layers)"]


def test_repr_is_one_short_line(mobilenet: tuple[archcost.Report, dict]) -> None:  # type: ignore[type-arg]
    report, data = mobilenet
    text = repr(report)
    assert "\n" not in text and len(text) < 120
    assert f"{data['totals']['macs']:,} MACs" in text and f"{data['totals']['params']:,} params" in text
    assert str(report) == text  # print(report) in a notebook: the same line, not a 62,000-character dump
    symbolic = repr(archcost.analyze("mobilenet_v1", symbols=None))
    assert "<formula in alpha, resolution> MACs" in symbolic and len(symbolic) < 120


def test_report_html_shows_the_json_figures(mobilenet: tuple[archcost.Report, dict]) -> None:  # type: ignore[type-arg]
    report, data = mobilenet
    _check_report_tables(_html_tables(report._repr_html_()), data, ("totals", "categories", "layers"))


def test_report_markdown_shows_the_json_figures(mobilenet: tuple[archcost.Report, dict]) -> None:  # type: ignore[type-arg]
    report, data = mobilenet
    tables = _markdown_tables(report._repr_markdown_())
    keys = ("mobilenet_v1: totals", "mobilenet_v1: where the MACs go", "mobilenet_v1: layers")
    _check_report_tables(tables, data, keys)


def test_the_report_is_still_the_report(mobilenet: tuple[archcost.Report, dict]) -> None:  # type: ignore[type-arg]
    report, data = mobilenet
    assert isinstance(report, archcost.Report)
    assert report.to_dict()["totals"] == data["totals"]


def _count(value: int) -> str:
    return human_cell(value, Column("x", "x", Kind.COUNT))


def test_compare_displays_the_json_rows() -> None:
    data = json.loads(run_cli("compare", *COMPARED, "--format", "json").stdout)
    result = archcost.compare(COMPARED)
    assert result.to_dict() == data
    for rows in (_html_tables(result._repr_html_())["compare"], _markdown_tables(result._repr_markdown_())[
            "Model comparison"]):
        shown = _by_first_cell(rows)
        for record in data["rows"]:
            row = shown[record["model"]]
            assert row[1:4] == [_count(record["macs"]), _count(record["params"]), _count(record["weights"])]
            assert row[5] == record["conv_1x1_percent"]
    assert "<Model comparison: 3 rows" in repr(result)


def test_sweep_displays_the_json_rows() -> None:
    data = json.loads(run_cli("sweep", "mobilenet_v1", "--alpha", "0.5,1", "--resolution", "160,224",
                              "--format", "json").stdout)
    result = archcost.sweep("mobilenet_v1", {"alpha": ["0.5", 1], "resolution": [160, 224]})
    assert result.to_dict() == data
    for rows in (_html_tables(result._repr_html_())["sweep"], _markdown_tables(result._repr_markdown_())[
            "Sweep of mobilenet_v1 over alpha × resolution"]):
        body = [r for r in rows if r[0] != "alpha"]
        assert [r[:2] for r in body] == [[r["alpha"], r["resolution"]] for r in data["rows"]]
        assert [r[2] for r in body] == [_count(r["macs"]) for r in data["rows"]]


def test_symbolic_report_displays_readable_formulas() -> None:
    report = archcost.analyze("mobilenet_v1", symbols=None, continuous=True)
    html = report._repr_html_()
    assert "10752·α<sup>2</sup>·resolution<sup>2</sup>" in html
    assert "`10752·α²·resolution² + 1125·α·resolution²/2 + 1024000·α`" in report._repr_markdown_()
