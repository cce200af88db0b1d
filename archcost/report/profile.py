"""``archcost profile``'s output: where the MACs go next to where the time goes.

:func:`archcost.runtime.profile.aggregate` returns exact statistics (MACs, bytes,
Fraction seconds and µs); this module chooses units and words, and lays the tables
out through :mod:`archcost.report.render`.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import Any

from archcost.cost.roofline import device_dict
from archcost.errors import UsageError
from archcost.fileio import write_atomic
from archcost.report import escape
from archcost.report import render as renderer
from archcost.report.format import giga, milliseconds, share
from archcost.report.plots import INSTALL_HINT
from archcost.report.roofline import device_rates
from archcost.report.table import Column, Kind, Table, make_table
from archcost.runtime.calibrate import Calibration
from archcost.runtime.profile import RUNTIME_ROW, ProfileResult


def category_records(result: ProfileResult) -> list[dict[str, Any]]:
    """The category table as plain data: MACs exact, times in µs, shares as fractions of 1."""
    macs, est, measured = result.macs, result.est_time, result.measured_us
    return [
        {
            "category": c.category.value if c.category else RUNTIME_ROW,
            "label": c.label,
            "macs": c.macs,
            "macs_share": _share(c.macs, macs),
            "est_us": float(c.est_time * 10**6),
            "est_share": _share(c.est_time, est),
            "measured_us": float(c.measured_us),
            "measured_share": _share(c.measured_us, measured),
            "kernels": c.kernels,
        }
        for c in result.categories()
    ]


def _share(part: int | Fraction, whole: int | Fraction) -> float | None:
    ratio = share(part, whole)
    return None if ratio is None else float(ratio)


def kernel_records(result: ProfileResult) -> list[dict[str, Any]]:
    """One record per kernel: what ran, which archcost nodes it covers, estimate and measurement."""
    return [
        {
            "kernel": k.name,
            "op": k.op_name,
            "anchor": k.anchor,
            "members": list(k.members),
            "category": k.category.value if k.category else RUNTIME_ROW,
            "macs": k.macs,
            "bytes": k.bytes,
            "intensity": str(Fraction(k.macs, k.bytes)) if k.bytes else None,
            "bound": k.bound,
            "est_us": float(k.est_time * 10**6),
            "measured_us": float(k.measured_us),
        }
        for k in result.kernels
    ]


def calibration_dict(calibration: Calibration) -> dict[str, Any]:
    """A calibration as plain data: the fitted device and the fit's statistics."""
    return {
        "device": device_dict(calibration.device),
        "points": calibration.points,
        "rms_log_error": calibration.rms_log_error,
        "est_us": calibration.est_us,
        "measured_us": calibration.measured_us,
    }


def profile_dict(result: ProfileResult) -> dict[str, Any]:
    """JSON-ready: MACs and bytes exact ints, times in float µs, shares as fractions of 1."""
    return {
        "model": result.model,
        "device": device_dict(result.device),
        "settings": dict(result.settings),
        "warmup": result.warmup,
        "runs": result.runs,
        "run_us": float(result.run_us),
        "macs": result.macs,
        "est_us": float(result.est_time * 10**6),
        "measured_us": float(result.measured_us),
        "rank_correlation": result.rank_correlation,
        "categories": category_records(result),
        "kernels": kernel_records(result),
        "calibration": None if result.calibration is None else calibration_dict(result.calibration),
    }


def _records_table(key: str, records: list[dict[str, Any]]) -> Table:
    """Records as a table whose columns are the records' keys (for CSV)."""
    names = list(records[0]) if records else []
    rows = [[" ".join(v) if isinstance(v, list) else v for v in r.values()] for r in records]
    return make_table(key, key, [Column(n, n) for n in names], rows, convention="")


def render(result: ProfileResult, fmt: str, *, table: str = "categories") -> str:
    """``table``/``markdown``: everything; ``csv``: the ``categories`` or ``kernels`` table; ``json``."""
    if fmt == "json":
        return renderer.json_text(profile_dict(result))
    if fmt == "csv":
        records = category_records(result) if table == "categories" else kernel_records(result)
        return renderer.table_csv(_records_table(table, records), convention=False)
    return _text(result, "github" if fmt == "markdown" else "simple")


def categories_table(result: ProfileResult) -> Table:
    """Per category: MACs, estimated and measured time (ms) and their shares (%), kernels."""
    columns = (Column("category", "category"), Column("macs", "MACs", Kind.EXACT),
               Column("macs_percent", "% MACs", Kind.DECIMAL, 2), Column("est_ms", "est. ms", Kind.DECIMAL, 3),
               Column("est_percent", "% est.", Kind.DECIMAL, 2),
               Column("measured_ms", "measured ms", Kind.DECIMAL, 3),
               Column("measured_percent", "% measured", Kind.DECIMAL, 2),
               Column("kernels", "kernels", Kind.EXACT))
    rows: list[list[Any]] = [
        [r["label"], r["macs"], _percent(r["macs_share"]), r["est_us"] / 1e3, _percent(r["est_share"]),
         r["measured_us"] / 1e3, _percent(r["measured_share"]), r["kernels"]]
        for r in category_records(result)
    ]
    total = ["total", result.macs, 100, float(result.est_time) * 1e3, 100,
             float(result.measured_us / 10**6) * 1e3, 100, sum(c.kernels for c in result.categories())]
    return make_table("categories", f"{result.model}: categories", columns, rows, total=total, convention="")


def _percent(share_of_one: float | None) -> float | None:
    return None if share_of_one is None else 100 * share_of_one


def kernels_table(result: ProfileResult) -> Table:
    """Per kernel: what ran, its MACs, bytes, intensity, bound, estimated and measured µs, nodes."""
    columns = (Column("kernel", "kernel"), Column("op", "op"), Column("category", "category"),
               Column("macs", "MACs", Kind.EXACT), Column("bytes", "bytes", Kind.EXACT),
               Column("intensity", "MAC/B", Kind.DECIMAL, 2), Column("bound", "bound"),
               Column("est_us", "est. µs", Kind.DECIMAL, 1), Column("measured_us", "measured µs", Kind.DECIMAL, 1),
               Column("nodes", "nodes"))
    rows: list[list[Any]] = [
        [r["kernel"] or "(did not run)", r["op"], r["category"], r["macs"], r["bytes"],
         None if r["intensity"] is None else Fraction(r["intensity"]), r["bound"], r["est_us"],
         r["measured_us"], " ".join(r["members"])]
        for r in kernel_records(result)
    ]
    return make_table("kernels", f"{result.model}: kernels", columns, rows, convention="")


def _text(result: ProfileResult, style: str) -> str:
    d, s = result.device, result.settings
    est_s, measured_s = result.est_time, result.measured_us / 10**6
    rho = result.rank_correlation
    name = (escape.markdown if style == "github" else escape.terminal)  # text from the input
    lines = [
        f"# {name(result.model)}: static cost vs measured time" if style == "github"
        else f"model: {name(result.model)}",
        "",
        f"runtime: onnxruntime {s.get('onnxruntime', '?')}, {s.get('provider', 'CPUExecutionProvider')}, "
        f"threads={s.get('threads', '?')}, optimization={s.get('optimization', '?')}; "
        f"{result.warmup} warm-up run(s), {result.runs} measured (median per kernel)",
        f"device for the estimate: {name(d.name)} — {device_rates(d)}" + (f" ({name(d.source)})" if d.source else ""),
        "",
        renderer.grid(categories_table(result), style),
        "",
        f"measured: {milliseconds(measured_s)} ms (sum of kernel medians); "
        f"{float(result.run_us) / 1e3:.3f} ms per run (median wall time)",
        f"estimated: {milliseconds(est_s)} ms on {name(d.name)}",
        "rank correlation (Spearman ρ, estimated vs measured time per kernel, "
        f"n={len(result.mapped)}): " + ("—" if rho is None else f"{rho:.3f}"),
        "",
        renderer.grid(kernels_table(result), style),
        "",
    ]
    if result.calibration is not None:
        c = result.calibration
        lines += [
            f"calibrated device {name(repr(c.device.name))}: peak {giga(c.device.peak_macs_per_s)} GMAC/s, "
            f"bandwidth {giga(c.device.bandwidth_bytes_per_s)} GB/s "
            f"(fit over {c.points} kernels, rms log error {c.rms_log_error:.3f}; "
            f"estimate {c.est_us / 1e3:.3f} ms vs measured {c.measured_us / 1e3:.3f} ms)",
            "",
        ]
    return "\n".join(lines)


def plot(result: ProfileResult, path: Path) -> None:
    """A bar chart per category: share of MACs, of estimated time and of measured time."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError(f"--plot: {INSTALL_HINT}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    categories = result.categories()
    macs, est, measured = result.macs, result.est_time, result.measured_us
    series = [
        ("MACs", [float(Fraction(c.macs, macs)) * 100 if macs else 0.0 for c in categories]),
        (f"estimated time ({result.device.name})",
         [float(c.est_time / est) * 100 if est else 0.0 for c in categories]),
        ("measured time", [float(c.measured_us / measured) * 100 if measured else 0.0
                           for c in categories]),
    ]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(categories)), 4.0))
    width = 0.8 / len(series)
    for index, (label, values) in enumerate(series):
        xs = [i + (index - (len(series) - 1) / 2) * width for i in range(len(categories))]
        bars = ax.bar(xs, values, width, label=label)
        ax.bar_label(bars, fmt="%.1f", fontsize=7)
    ax.set_xticks(range(len(categories)))
    ax.set_xticklabels([c.label for c in categories], rotation=20, ha="right")
    ax.set_ylabel("% of total")
    ax.set_title(f"{result.model}: where the MACs go vs where the time goes")
    ax.legend()
    fig.tight_layout()
    fmt = path.suffix.lower().lstrip(".") or "png"
    supported = fig.canvas.get_supported_filetypes()
    if fmt not in supported:
        plt.close(fig)
        raise UsageError(f"a plot is written as one of {', '.join(sorted(supported))}, by its suffix; "
                         f"got .{fmt}", where=str(path))
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=fmt)
    finally:
        plt.close(fig)
    try:
        write_atomic(path, buffer.getvalue())
    except OSError as err:
        raise UsageError(f"cannot write the plot: {err.strerror or err}", where=str(path)) from None
