"""Plots (matplotlib, the optional ``plot`` extra), written as PNG and SVG.

Every plot is drawn from statistics the table builders already computed; nothing
here analyzes a model. Output is byte-for-byte deterministic for one matplotlib
version: a fixed ``svg.hashsalt``, no date or software metadata, a fixed DPI, and
no pyplot global state.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from archcost.report.table import Figure

#: What to tell a user whose install has no matplotlib.
INSTALL_HINT = ("plots need matplotlib: pip install matplotlib (or the extra: pip install 'archcost[plot]', "
                "from a checkout '.[plot]')")

#: Typed loosely: matplotlib's stubs type rcParams keys as literals.
_RC: Any = {
    "svg.hashsalt": "archcost",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_DPI = 100


class PlotsUnavailable(ImportError):
    """matplotlib is not installed."""


def matplotlib_version() -> str | None:
    """The installed matplotlib version, or None."""
    try:
        import matplotlib
    except ImportError:
        return None
    return str(matplotlib.__version__)


def _matplotlib() -> Any:
    """matplotlib with its ticker module, or :class:`PlotsUnavailable` with the install hint."""
    try:
        import matplotlib
        import matplotlib.ticker
    except ImportError as err:
        raise PlotsUnavailable(INSTALL_HINT) from err
    return matplotlib


def _new_figure(width: float, height: float) -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure as MplFigure
    except ImportError as err:
        raise PlotsUnavailable(INSTALL_HINT) from err
    fig = MplFigure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Any, key: str, caption: str) -> Figure:
    data = {}
    for fmt, metadata in (("svg", {"Date": None, "Creator": None}), ("png", {"Software": None})):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata=metadata, dpi=_DPI)
        data[fmt] = buffer.getvalue()
    return Figure(key, caption, data)


def _millions(value: float, _pos: object = None) -> str:
    return f"{value / 1e6:g}M"


def layer_bars(key: str, title: str, names: Sequence[str], macs: Sequence[int],
               weights: Sequence[int]) -> Figure:
    """Per-layer MACs and weights as two bar charts sharing the layer axis."""
    matplotlib = _matplotlib()

    with matplotlib.rc_context(_RC):
        fig = _new_figure(max(6.0, 0.22 * len(names) + 1.5), 5.2)
        top, bottom = fig.subplots(2, 1, sharex=True)
        x = list(range(len(names)))
        top.bar(x, macs, color="#3b6ea5")
        top.set_ylabel("MACs")
        top.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_millions))
        top.set_title(title)
        bottom.bar(x, weights, color="#c0702f")
        bottom.set_ylabel("weights")
        bottom.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_millions))
        bottom.set_xticks(x)
        bottom.set_xticklabels(names, rotation=90, fontsize=7)
        fig.tight_layout()
        return _save(fig, key, title)


def category_shares(key: str, title: str, labels: Sequence[str], mac_percent: Sequence[float],
                    weight_percent: Sequence[float]) -> Figure:
    """Share of MACs and of weights per layer category (the paper's Table 2), as grouped bars."""
    matplotlib = _matplotlib()

    with matplotlib.rc_context(_RC):
        fig = _new_figure(6.5, 3.2)
        ax = fig.subplots()
        y = list(range(len(labels)))
        height = 0.38
        ax.barh([v - height / 2 for v in y], mac_percent, height, label="% MACs", color="#3b6ea5")
        ax.barh([v + height / 2 for v in y], weight_percent, height, label="% weights", color="#c0702f")
        for v, m, w in zip(y, mac_percent, weight_percent, strict=False):
            ax.text(m + 1, v - height / 2, f"{m:.2f}", va="center", fontsize=7)
            ax.text(w + 1, v + height / 2, f"{w:.2f}", va="center", fontsize=7)
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.invert_yaxis()
        ax.set_xlim(0, 110)
        ax.set_xlabel("percent of the model total")
        ax.set_title(title)
        ax.legend(loc="lower right", frameon=False)
        fig.tight_layout()
        return _save(fig, key, title)


def scaling_curves(key: str, title: str,
                   alpha_curve: tuple[Sequence[float], Sequence[int]],
                   resolution_curve: tuple[Sequence[float], Sequence[int]],
                   alpha_cited: tuple[Sequence[float], Sequence[float]],
                   resolution_cited: tuple[Sequence[float], Sequence[float]]) -> Figure:
    """MACs vs α and vs resolution (exact sweep values), with the paper's cited points marked."""
    matplotlib = _matplotlib()

    with matplotlib.rc_context(_RC):
        fig = _new_figure(8.0, 3.4)
        left, right = fig.subplots(1, 2)
        for ax, (xs, ys), (cx, cy), xlabel in (
            (left, alpha_curve, alpha_cited, "width multiplier α (resolution 224)"),
            (right, resolution_curve, resolution_cited, "resolution (α = 1)"),
        ):
            ax.plot(xs, ys, color="#3b6ea5", linewidth=1.4, label="computed (exact)")
            ax.plot(cx, cy, "x", color="#b22222", markersize=7, label="cited (paper)")
            ax.set_xlabel(xlabel)
            ax.set_ylabel("MACs")
            ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_millions))
            ax.legend(frameon=False)
        fig.suptitle(title)
        fig.tight_layout()
        return _save(fig, key, title)


def macs_params_scatter(key: str, title: str, labels: Sequence[str], macs: Sequence[int],
                        params: Sequence[int], notes: Sequence[str]) -> Figure:
    """MACs vs parameters of compared models, log-log, labelled (with cited accuracy when given)."""
    matplotlib = _matplotlib()

    with matplotlib.rc_context(_RC):
        fig = _new_figure(7.0, 4.6)
        ax = fig.subplots()
        ax.scatter(macs, params, color="#3b6ea5", zorder=3)
        order = sorted(range(len(labels)), key=lambda i: macs[i])
        for rank, i in enumerate(order):
            text = f"{labels[i]}\n{notes[i]}" if notes[i] else labels[i]
            # Alternate above/below so neighbours in MACs do not overprint.
            offset = (5, 4) if rank % 2 == 0 else (5, -20)
            ax.annotate(text, (macs[i], params[i]), textcoords="offset points", xytext=offset, fontsize=7)
        ax.margins(x=0.15, y=0.15)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("MACs (log)")
        ax.set_ylabel("parameters (log)")
        ax.set_title(title)
        ax.grid(True, which="major", linewidth=0.4, alpha=0.5)
        fig.tight_layout()
        return _save(fig, key, title)
