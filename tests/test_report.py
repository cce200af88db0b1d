"""``archcost report``: the MobileNet paper's tables, reproduced, in every format.

Expected figures come from closed forms over the paper's Table 1 (Howard et al. 2017,
arXiv:1704.04861), computed here independently of the tool, and from the paper's
printed tables (table numbers in comments).
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from archcost.report import render
from archcost.report.build import model_document, paper_document
from archcost.report.paper import Models, formula_values, model_table, paper_tables, table1, table2
from archcost.report.table import FLAGGED, NO_SPEC, OK, Column, Kind, Table, make_table
from tests.conftest import REPO, check_golden, run_cli

GOLDEN = Path(__file__).parent / "golden"


# -- an independent closed form for MobileNetV1 (Table 1) --------------------------------------

def _trunc(c: int, alpha: Fraction) -> int:
    return int(c * alpha)


def mobilenet_closed_form(alpha: Fraction = Fraction(1), resolution: int = 224) -> dict[str, int]:
    """MACs per Table 2 category and weights, from Table 1 (stride 1 for the last dw row)."""
    def ceil_half(x: int) -> int:
        return -(-x // 2)

    c1 = _trunc(32, alpha)
    hw = ceil_half(resolution)
    out = {"full": 3 * 3 * 3 * c1 * hw * hw, "dw": 0, "pw": 0, "fc": 0}
    weights = {"full": 27 * c1, "dw": 0, "pw": 0, "fc": 0}
    m = c1
    for n, stride in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5,
                      (1024, 2), (1024, 1)]:
        hw = ceil_half(hw) if stride == 2 else hw
        n = _trunc(n, alpha)
        out["dw"] += 9 * m * hw * hw
        weights["dw"] += 9 * m
        out["pw"] += m * n * hw * hw
        weights["pw"] += m * n
        m = n
    out["fc"] = m * 1000
    weights["fc"] = m * 1000
    return {**{f"macs_{k}": v for k, v in out.items()}, **{f"weights_{k}": v for k, v in weights.items()},
            "macs": sum(out.values()), "weights": sum(weights.values())}


@pytest.fixture(scope="module")
def tables() -> list[Table]:
    return paper_tables(Models())


def _get(tables: list[Table], key: str) -> Table:
    return next(t for t in tables if t.key == key)


def test_table2_shares_equal_the_closed_form(tables: list[Table]) -> None:
    cf = mobilenet_closed_form()
    t = _get(tables, "table2_resource_per_layer_type")
    shares = dict(zip(t.values("type"), t.values("macs_percent"), strict=False))
    assert shares["Conv 1×1"] == Fraction(100 * cf["macs_pw"], cf["macs"])
    assert shares["Conv DW 3×3"] == Fraction(100 * cf["macs_dw"], cf["macs"])
    assert shares["Conv 3×3"] == Fraction(100 * cf["macs_full"], cf["macs"])
    assert shares["Fully Connected"] == Fraction(100 * cf["macs_fc"], cf["macs"])
    # DESIGN.md reference figures (Table 2): 94.86 / 3.06 / 1.91 / 0.18 and 74.59 / 1.06 / 0.02 / 24.33.
    md = render.table_markdown(t)
    cells = {c[0]: c for c in (_markdown_rows(md))}
    for label, mac_pct, cited, weight_pct in (["Conv 1×1", "94.86", "94.86", "74.59"],
                                              ["Conv DW 3×3", "3.06", "3.06", "1.06"],
                                              ["Conv 3×3", "1.91", "1.19", "0.02"],
                                              ["Fully Connected", "0.18", "0.18", "24.33"]):
        row = cells[label]
        assert (row[2], row[3], row[5]) == (mac_pct, cited, weight_pct)


def _markdown_rows(md: str) -> list[list[str]]:
    return [[c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            for line in md.splitlines() if line.startswith("|") and not line.startswith("|--")]


@pytest.mark.parametrize(("key", "settings"), [
    ("table6_width_multiplier", [{"alpha": Fraction(a)} for a in ("1", "3/4", "1/2", "1/4")]),
    ("table7_resolution", [{"resolution": r} for r in (224, 192, 160, 128)]),
])
def test_tables_6_and_7_equal_the_closed_form(tables: list[Table], key: str,
                                              settings: list[dict[str, Any]]) -> None:
    t = _get(tables, key)
    md = render.table_markdown(t)
    for row, s in zip(t.rows, settings, strict=False):
        cf = mobilenet_closed_form(**s)
        assert row[t.column("macs")] == cf["macs"]
        assert row[t.column("weights")] == cf["weights"]
        assert f"{cf['macs']:,}" in md and f"{cf['weights']:,}" in md
    # The foundation issue's figures (README): Table 6 and Table 7 rows.
    expected = {"table6_width_multiplier": ("568,740,352", "325,400,448", "149,497,088", "41,030,272"),
                "table7_resolution": ("568,740,352", "418,121,728", "290,675,200", "186,400,768")}
    for figure in expected[key]:
        assert figure in md


def test_known_discrepancies_are_flagged_in_words(tables: list[Table]) -> None:
    doc = render.document_markdown(paper_document(figures=False), figure_dir="plots")
    # Table 2: the paper prints 1.19 % for Conv 3×3; the architecture gives 1.91 %.
    assert re.search(r"Flagged, Conv 3×3: Mult-Adds: computed 1\.91 %, cited 1\.19 %", doc)
    t2 = _get(tables, "table2_resource_per_layer_type")
    assert t2.rows[[r[0] for r in t2.rows].index("Conv 3×3")][-1] == FLAGGED
    # The seed deck's 150M for α=0.5 at 160 vs 76,524,800 computed (paper Table 9: 76M).
    assert re.search(r"Flagged, MobileNetV1 \(α=0\.5, 160×160\): computed 76,524,800 Mult-Adds .*cited 150M", doc)
    seeds = _get(tables, "seeds_comparison")
    row = next(r for r in seeds.rows if r[0].startswith("MobileNetV1 (α=0.5"))
    assert row[seeds.column("macs")] == mobilenet_closed_form(Fraction(1, 2), 160)["macs"] == 76_524_800
    assert row[-1] == FLAGGED
    # Both appear in the summary table at the top, too.
    summary = _get(tables, "discrepancies")
    text = " ".join(summary.values("discrepancy"))
    assert "cited 1.19 %" in text and "cited 150M" in text


def test_matching_rows_are_not_flagged(tables: list[Table]) -> None:
    t6 = _get(tables, "table6_width_multiplier")
    assert t6.values("status") == [OK] * 4  # Table 6: 569/325/149/41 M, 4.2/2.6/1.3/0.5 M all match


def test_table1_matches_the_paper_except_the_printed_stride(tables: list[Table]) -> None:
    t1 = _get(tables, "table1_body_architecture")
    flagged = [r for r in t1.rows if r[-1] == FLAGGED]
    assert [r[1] for r in flagged] == ["sep9.dw"]  # Table 1 prints "Conv dw / s2" at 7×7×1024
    assert len(t1.rows) == 30  # Table 1's rows with the 5× group written out


def test_missing_spec_gives_a_marked_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Models, "available", staticmethod(lambda model: model != "googlenet"))
    t = model_table(Models(), "table8")
    row = next(r for r in t.rows if r[0] == "GoogleNet")
    assert row[-1] == NO_SPEC
    assert row[t.column("macs")] is None and row[t.column("cited_macs")] == "1550M"
    assert any("no spec yet for 'googlenet'" in n for n in t.notes)


def test_formulas_are_derived_by_the_engine() -> None:
    import sympy

    d_k, m, n, d_f = (sympy.Symbol(s, positive=True, integer=True) for s in ("D_K", "M", "N", "D_F"))
    alpha, rho = sympy.Symbol("alpha", positive=True), sympy.Symbol("rho", positive=True)
    f = formula_values()
    # Howard et al. 2017, Sec. 3.1, Eqs. 2-5 and Sec. 3.3-3.4, Eqs. 6-7.
    assert sympy.simplify(f["standard"] - d_k**2 * m * n * d_f**2) == 0
    assert sympy.simplify(f["separable"] - (d_k**2 * m * d_f**2 + m * n * d_f**2)) == 0
    assert sympy.simplify(f["ratio"] - (1 / n + 1 / d_k**2)) == 0
    assert sympy.simplify(f["alpha_rho"] - (d_k**2 * alpha * m * (rho * d_f) ** 2
                                            + alpha**2 * m * n * (rho * d_f) ** 2)) == 0


# -- every format: rows sum to totals; CSV and JSON agree ------------------------------------

def _int(text: str) -> int:
    return int(text.replace(",", "").replace("*", "").strip())


def _summed(tables: list[Table]) -> list[Table]:
    return [t for t in tables if t.summed] + [t for t in model_document("mobilenet_v1", figures=False).tables]


def test_rows_sum_to_totals_in_every_format(tables: list[Table]) -> None:
    for t in _summed(tables):
        for key in t.summed:
            i = t.column(key)
            assert sum(r[i] for r in t.rows) == t.total[i]  # type: ignore[index]
            data = json.loads(render.table_json(t))
            assert sum(r[key] for r in data["rows"]) == data["total"][key]
            rows = list(csv.DictReader(io.StringIO(render.table_csv(t))))
            assert sum(int(r[key]) for r in rows[:-1]) == int(rows[-1][key])
            for text, splitter in ((render.table_markdown(t), r"(?<!\\)\|"), (render.table_latex(t), r"(?<!\\)&")):
                body = [re.split(splitter, line) for line in text.splitlines()
                        if re.search(splitter, line) and not line.startswith("|--")]
                offset = 1 if splitter.endswith("|") else 0
                cells = [line[i + offset].replace("\\\\", "").strip() for line in body[1:]]
                values = [_int(c) for c in cells]
                assert sum(values[:-1]) == values[-1], (t.key, key)
            values = _text_column(render.table_text(t), i)
            assert sum(values[:-1]) == values[-1], (t.key, key)


def _text_column(text: str, index: int) -> list[int]:
    """Column ``index`` of a tabulate ``simple`` table, located by its dashed rule."""
    lines = text.splitlines()
    rule = next(n for n, line in enumerate(lines) if re.fullmatch(r"[- ]+", line) and "-" in line)
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    start, end = spans[index]
    out = []
    for line in lines[rule + 1:]:
        if not line.strip():
            break
        out.append(_int(line[start:end]))
    return out


def test_csv_and_json_agree(tables: list[Table]) -> None:
    for t in tables:
        data = json.loads(render.table_json(t))
        rows = list(csv.DictReader(io.StringIO(render.table_csv(t))))
        records = data["rows"] + ([data["total"]] if data["total"] else [])
        assert len(rows) == len(records)
        for csv_row, record in zip(rows, records, strict=False):
            for key, value in record.items():
                expected = "" if value is None else str(value)
                assert csv_row[key].lstrip("'") == expected, (t.key, key)


# -- goldens ------------------------------------------------------------------------------------

def _golden(name: str, text: str) -> None:
    check_golden(GOLDEN / name, text)


@pytest.mark.parametrize("key", ["table1_body_architecture", "table2_resource_per_layer_type",
                                 "table4_separable_vs_full", "table5_narrow_vs_shallow",
                                 "table6_width_multiplier", "table7_resolution", "table8_popular_models",
                                 "table9_smaller_models", "seeds_comparison", "seeds_formulas",
                                 "discrepancies"])
def test_golden_markdown_and_json(tables: list[Table], key: str) -> None:
    t = _get(tables, key)
    _golden(f"{key}.md", render.table_markdown(t))
    _golden(f"{key}.json", render.table_json(t))


# -- safety of the formats ----------------------------------------------------------------------

def _hostile_table() -> Table:
    cols = (Column("model", "model <b>"), Column("macs", "MACs", Kind.COUNT))
    return make_table("x", "<script>alert(1)</script>", cols, [["=HYPERLINK(\"x\")|a", 5]], convention="paper")


def test_names_are_escaped_in_every_format() -> None:
    t = _hostile_table()
    page = render.table_html(t)
    assert "<script>" not in page and "&lt;script&gt;" in page and "model &lt;b&gt;" in page
    row = next(csv.DictReader(io.StringIO(render.table_csv(t))))
    assert row["model"].startswith("'=HYPERLINK")
    assert "\\|a" in render.table_markdown(t)


def test_html_report_is_self_contained() -> None:
    page = (REPO / "reports" / "mobilenet_v1" / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://|src=\"//|<link|<script", page)
    assert "<style>" in page and "<table>" in page
    from archcost.report.plots import matplotlib_version

    if matplotlib_version() is not None:
        assert page.count('src="data:image/svg+xml;base64,') == 4


def test_without_matplotlib_the_tables_still_work(monkeypatch: pytest.MonkeyPatch) -> None:
    from archcost.report import plots

    def unavailable(*args: object) -> None:
        raise plots.PlotsUnavailable(plots.INSTALL_HINT)

    monkeypatch.setattr(plots, "_new_figure", unavailable)
    doc = paper_document(figures=True)
    assert doc.tables and not any(f.data for f in doc.figures)
    assert "pip install 'archcost[plot]'" in doc.figures_note


# -- the committed reports ----------------------------------------------------------------------

def test_committed_report_is_current() -> None:
    proc = run_cli("report", "--check")
    assert proc.returncode == 0, proc.stderr
    assert "up to date" in proc.stdout


def test_check_fails_on_any_difference(tmp_path: Path) -> None:
    shutil.copytree(REPO / "reports" / "mobilenet_v1", tmp_path / "mobilenet_v1")
    table = tmp_path / "mobilenet_v1" / "tables" / "table2_resource_per_layer_type.md"
    table.write_text(table.read_text(encoding="utf-8").replace("1.91", "1.19"), encoding="utf-8")
    proc = run_cli("report", "--check", "--out", str(tmp_path))
    assert proc.returncode == 1
    assert "differs: tables/table2_resource_per_layer_type.md" in proc.stderr


def test_report_writes_only_under_out(tmp_path: Path) -> None:
    proc = run_cli("report", "mobilenet_v1:alpha=0.5", "--out", str(tmp_path), "--no-plots")
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert all(p.startswith("mobilenet_v1_alpha0.5/") for p in written)
    assert not [p for p in written if ".archcost-" in p]  # no temp files left behind
    layers = json.loads((tmp_path / "mobilenet_v1_alpha0.5" / "tables" / "layers.json").read_text())
    assert layers["total"]["cost"] == mobilenet_closed_form(Fraction(1, 2))["macs"]


def test_table_builders_are_deterministic() -> None:
    models = Models()
    assert render.table_json(table1(models)) == render.table_json(table1(Models()))
    assert render.table_markdown(table2(models)) == render.table_markdown(table2(Models()))
