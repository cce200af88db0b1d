"""The figure archcost draws itself: where one model's cost goes, by layer category and by module.

One SVG, written here in pure Python (no matplotlib, no script, nothing fetched), so an HTML
page can set it inline and its tooltips work:

* a **category bar**: the full width is the model's cost under the report's convention; each
  layer category (:meth:`~archcost.cost.result.Report.by_category`) is a segment as wide as
  its share, with a legend below;
* an **icicle** of the module tree (:meth:`~archcost.cost.result.Report.by_module`): one band
  per depth, the whole model on top; each module is a rectangle as wide as its share of the
  cost, set under its parent after its earlier siblings. The part of a parent that nothing is
  drawn under is what it computes outside its submodules.

Every rectangle carries a ``<title>`` (the tooltip: full name, class, exact cost, share of the
total, params); a label sits inside a rectangle wide enough for it. Names and classes are
untrusted data: every one goes through :func:`_text`, which escapes it.

The drawing stays bounded for any graph: modules with no cost are left out; modules narrower
than :data:`MIN_WIDTH_PX` are gathered, per parent, into one grey "other" sliver (drawn when it
is at least that wide itself), and none of their submodules is drawn; at most :data:`MAX_BANDS`
levels below the root are drawn, and a level that would take the figure past
:data:`MAX_RECTANGLES` rectangles is left out with every level below it. Names in tooltips are
cut at :data:`MAX_NAME_CHARS` characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from archcost.categories import Category
from archcost.cost.result import ModuleShare, Report
from archcost.report import escape
from archcost.report.cited import at_precision
from archcost.report.format import exact
from archcost.report.table import Figure

#: The file stem of the figure (``figures/cost_breakdown.svg``).
FIGURE_KEY = "cost_breakdown"
#: The drawing's width in SVG units; the whole model's cost spans it.
WIDTH = 960
#: A module narrower than this is not drawn on its own (it joins its parent's "other" sliver).
MIN_WIDTH_PX = 1
#: Levels of the module tree drawn below the root.
MAX_BANDS = 6
#: Rectangles the icicle draws at most (root and slivers included).
MAX_RECTANGLES = 1200
#: A tooltip's name is cut here, so that one absurdly long name cannot bloat the page.
MAX_NAME_CHARS = 200

_FONT_PX = 11
_BAR_PX = 20
_BAND_PITCH = 22
_LABEL_PAD = 3
#: Narrowest rectangle given a label, and fewest characters of a cut label worth showing.
_MIN_LABEL_PX = 24
_MIN_LABEL_CHARS = 3
_TEXT_COLOR = "#1b1b1b"
_ROOT_FILL = "#d4d4d4"
_OTHER_FILL = "#b3b3b3"
#: Hues of the top-level modules, in turn; deeper levels are lighter shades of their branch's.
_BRANCH_HUES = ("#3b6ea5", "#d9822b", "#4f9a4a", "#c2473f", "#7a5ea8", "#2f9a95", "#b5a12b", "#a8577f")
_CATEGORY_FILLS = {
    Category.CONV_1X1: "#3b6ea5", Category.DEPTHWISE: "#2f9a95", Category.FULL_CONV: "#4f9a4a",
    Category.GROUPED_CONV: "#b5a12b", Category.FULLY_CONNECTED: "#d9822b",
    Category.ATTENTION_MATMUL: "#c2473f", Category.OTHER: "#8c8c8c",
}
#: Characters XML 1.0 forbids that the HTML sink's escaping does not spell out (lone surrogates).
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _text(value: str) -> str:
    """``value`` as SVG/HTML text or attribute value, under the HTML sink's policy
    (:func:`archcost.report.escape.html`: control characters spelled out, ``& < > " '`` escaped)."""
    return escape.html(_NOT_XML.sub("\ufffd", value), lines=True)


def _cut(name: str) -> str:
    """``name`` cut to :data:`MAX_NAME_CHARS` characters (ending in "…" when cut)."""
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"


def _px(value: Fraction) -> str:
    return f"{float(value):.2f}"


def _text_width(text: str) -> float:
    """A generous estimate of ``text``'s width in px at :data:`_FONT_PX` in a sans-serif face."""
    em = 0.0
    for ch in text:
        if ch in "iljtf.,:;'!|() ":
            em += 0.36
        elif ch in "mwMW@%":
            em += 0.95
        elif ch.isupper() or ch.isdigit() or ch in "_#&×<>=?~":
            em += 0.72
        else:
            em += 0.62
    return em * _FONT_PX


def _fitted(label: str, width: float) -> str:
    """``label`` cut (with "…") to fit ``width`` px; ``""`` when fewer than
    :data:`_MIN_LABEL_CHARS` characters would be left."""
    room = width - 2 * _LABEL_PAD
    if width < _MIN_LABEL_PX:
        return ""
    label = label[: int(room / (0.36 * _FONT_PX)) + 1]  # no more characters than the narrowest fit
    if _text_width(label) <= room:
        return label
    for end in range(len(label) - 1, _MIN_LABEL_CHARS - 1, -1):
        if _text_width(label[:end] + "…") <= room:
            return label[:end] + "…"
    return ""


def _shade(hex_color: str, toward_white: float) -> str:
    """``hex_color`` mixed with white (0: unchanged, 1: white)."""
    rgb = [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(c + (255 - c) * toward_white):02x}" for c in rgb)


def _percent(part: int, whole: int) -> str:
    return at_precision(Fraction(100 * part, whole), 1, 2) if whole else "—"


# -- the icicle's layout -----------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """One icicle rectangle: a module, or the "other" sliver of its parent's narrow submodules."""

    #: The module's position in ``report.by_module(MAX_BANDS)``; ``-1`` for a sliver.
    index: int
    #: The parent module's position (``-1`` for the root).
    parent: int
    depth: int
    #: Cost drawn before this box in its band: its left edge is ``offset / total`` of the width.
    offset: int
    cost: int
    params: int
    #: How many modules a sliver gathers (``0`` for a module).
    gathered: int = 0


@dataclass(frozen=True)
class Icicle:
    """The rectangles to draw, and what was left out (for the caption)."""

    modules: tuple[ModuleShare, ...]
    boxes: tuple[Box, ...]
    total: int
    #: Modules with no cost, at the levels drawn.
    costless: int
    #: The first level left out to keep under :data:`MAX_RECTANGLES` (``0``: none was).
    cut_at_depth: int


def icicle(report: Report) -> Icicle:
    """Lay out ``report``'s module tree: band by band, children in graph order under their parent,
    narrow ones gathered into one sliver after them."""
    modules = tuple(report.by_module(MAX_BANDS))
    children: dict[int, list[int]] = {}
    open_path: list[int] = []
    for i, m in enumerate(modules):
        while open_path and modules[open_path[-1]].depth >= m.depth:
            open_path.pop()
        if open_path:
            children.setdefault(open_path[-1], []).append(i)
        open_path.append(i)
    total = int(modules[0].cost)
    boxes = [Box(0, -1, 0, 0, total, int(modules[0].params))]
    band, depth, cut_at = [boxes[0]], 0, 0
    while band and depth < MAX_BANDS:
        depth += 1
        drawn: list[Box] = []
        slivers: list[Box] = []
        for parent in band:
            offset = parent.offset
            narrow_cost = narrow_params = narrow_count = 0
            for i in children.get(parent.index, ()):
                cost = int(modules[i].cost)
                if cost == 0:
                    continue
                if cost * WIDTH >= MIN_WIDTH_PX * total:
                    drawn.append(Box(i, parent.index, depth, offset, cost, int(modules[i].params)))
                    offset += cost
                else:
                    narrow_cost += cost
                    narrow_params += int(modules[i].params)
                    narrow_count += 1
            if narrow_cost * WIDTH >= MIN_WIDTH_PX * total > 0:
                slivers.append(Box(-1, parent.index, depth, offset, narrow_cost, narrow_params, narrow_count))
        if len(boxes) + len(drawn) + len(slivers) > MAX_RECTANGLES:
            cut_at = depth
            break
        boxes += drawn + slivers
        band = drawn
    last_depth = cut_at - 1 if cut_at else MAX_BANDS
    costless = sum(1 for m in modules[1:] if m.depth <= last_depth and m.cost == 0)
    return Icicle(modules, tuple(boxes), total, costless, cut_at)


# -- the drawing -------------------------------------------------------------------------------


def _label(modules: tuple[ModuleShare, ...], box: Box, model: str) -> str:
    """A module's name relative to its parent (``conv1`` under ``layer1.0``), the model for the root."""
    if box.index < 0:
        return f"other ({box.gathered})"
    name = modules[box.index].name
    if box.index == 0:
        return model
    parent = modules[box.parent].name
    return name[len(parent) + 1:] if parent and name.startswith(parent + ".") else name


def _rectangle(x: Fraction, y: int, width: Fraction, fill: str, label: str) -> list[str]:
    parts = [f'<rect x="{_px(x)}" y="{y}" width="{_px(width)}" height="{_BAR_PX}" fill="{fill}" '
             'stroke="#ffffff" stroke-width="0.5"/>']
    shown = _fitted(label, float(width))
    if shown:
        # A nested viewport clips the label to its rectangle whatever font the viewer has.
        parts.append(f'<svg x="{_px(x)}" y="{y}" width="{_px(width)}" height="{_BAR_PX}">'
                     f'<text x="{_LABEL_PAD}" y="{_BAR_PX - 6}">{_text(shown)}</text></svg>')
    return parts


def _category_part(report: Report, top: int) -> tuple[list[str], int]:
    """The category bar and its legend from ``top``; returns the markup and the next free y."""
    unit = report.convention.unit
    total = int(report.totals.cost)
    shares = [(c, int(s.cost), s) for c, s in report.by_category().items() if int(s.cost) > 0]
    parts = [f'<text x="0" y="{top + 12}" font-weight="600">By layer category</text>']
    bar_y = top + 18
    parts.append(f'<rect x="0" y="{bar_y}" width="{WIDTH}" height="{_BAR_PX}" fill="#f0f0f0"/>')
    offset = 0
    legend: list[tuple[str, str]] = []
    for category, cost, share in shares:
        x, width = Fraction(offset * WIDTH, total), Fraction(cost * WIDTH, total)
        fill = _shade(_CATEGORY_FILLS[category], 0.35)
        percent = _percent(cost, total)
        tooltip = "\n".join((category.label, f"{unit}: {exact(cost)} ({percent} % of {exact(total)})",
                             f"weights: {exact(share.weights)}", f"nodes: {share.nodes}"))
        parts.append(f'<g class="category" data-category="{_text(category.value)}" data-cost="{cost}">'
                     f"<title>{_text(tooltip)}</title>")
        parts += _rectangle(x, bar_y, width, fill, f"{category.label} {percent} %")
        parts.append("</g>")
        legend.append((fill, f"{category.label}: {percent} %"))
        offset += cost
    if not shares:
        parts.append(f'<text x="{_LABEL_PAD}" y="{bar_y + _BAR_PX - 6}">no {_text(unit)} under the '
                     f"{_text(report.convention.name)} convention</text>")
    key_x, key_y = 0.0, bar_y + _BAR_PX + 6
    for fill, words in legend:
        key_width = 16 + _text_width(words) + 14
        if key_x and key_x + key_width > WIDTH:
            key_x, key_y = 0.0, key_y + 16
        parts.append(f'<rect x="{key_x:.2f}" y="{key_y}" width="11" height="11" fill="{fill}"/>'
                     f'<text x="{key_x + 16:.2f}" y="{key_y + 10}">{_text(words)}</text>')
        key_x += key_width
    return parts, key_y + 16 + 8


def _module_part(report: Report, layout: Icicle, top: int) -> tuple[list[str], int]:
    unit = report.convention.unit
    parts = [f'<text x="0" y="{top + 12}" font-weight="600">By module (one band per depth)</text>']
    bands_top = top + 18
    hue_of: dict[int, str] = {}
    branches = 0
    total = layout.total
    for box in layout.boxes:
        y = bands_top + box.depth * _BAND_PITCH
        x = Fraction(box.offset * WIDTH, total) if total else Fraction(0)
        width = Fraction(box.cost * WIDTH, total) if total else Fraction(WIDTH)
        percent = _percent(box.cost, total)
        cost_line = f"{unit}: {exact(box.cost)} ({percent} % of {exact(total)})"
        if box.index < 0:
            parent = _cut(layout.modules[box.parent].name or report.model)
            tooltip = "\n".join((f"{box.gathered} more submodules of {parent}, each narrower than "
                                 f"{MIN_WIDTH_PX} px", cost_line, f"params: {exact(box.params)}"))
            parts.append(f'<g class="other" data-parent="{box.parent}" data-gathered="{box.gathered}" '
                         f'data-cost="{box.cost}"><title>{_text(tooltip)}</title>')
            parts += _rectangle(x, y, width, _OTHER_FILL, _label(layout.modules, box, report.model))
            parts.append("</g>")
            continue
        module = layout.modules[box.index]
        if box.depth == 0:
            fill = _ROOT_FILL
        else:
            if box.depth == 1:
                hue = _BRANCH_HUES[branches % len(_BRANCH_HUES)]
                branches += 1
            else:
                hue = hue_of[box.parent]
            hue_of[box.index] = hue
            fill = _shade(hue, min(0.3 + 0.12 * box.depth, 0.85))
        name = _cut(module.name or report.model)
        heading = f"{name} ({_cut(module.kind)})" if module.kind else name
        tooltip = "\n".join((heading, cost_line, f"params: {exact(box.params)}"))
        parts.append(f'<g class="module" data-index="{box.index}" data-depth="{box.depth}" '
                     f'data-cost="{box.cost}"><title>{_text(tooltip)}</title>')
        parts += _rectangle(x, y, width, fill, _label(layout.modules, box, report.model))
        parts.append("</g>")
    depths = max(b.depth for b in layout.boxes)
    return parts, bands_top + (depths + 1) * _BAND_PITCH


def _caption(report: Report, layout: Icicle) -> str:
    unit = report.convention.unit
    words = [f"{report.model}: where the {unit} go ({report.convention.name} convention). Top: by layer "
             f"category. Below: by module, one band per depth, the whole model on top; each rectangle is "
             f"as wide as its share of the {unit} and sits under its parent. Hover for exact figures."]
    if layout.total == 0:
        words.append(f"Nothing in this graph counts toward {unit} under this convention, so no "
                     "module is drawn.")
    elif not report.has_module_scopes:
        words.append("This graph records no module scopes (no exporter name scopes, no '/'-separated "
                     "node names, no spec blocks), so only the whole model is shown.")
    else:
        left_out = f" ({layout.costless} here)" if layout.costless else ""
        words.append(f"Modules with no {unit}{left_out} are left out; modules narrower than {MIN_WIDTH_PX} px "
                     "are gathered into one grey \"other\" sliver per parent.")
        if layout.cut_at_depth:
            words.append(f"Levels from depth {layout.cut_at_depth} down are left out, to keep the figure "
                         f"under {MAX_RECTANGLES} rectangles.")
        elif any(m.depth == MAX_BANDS for m in layout.modules):
            words.append(f"At most {MAX_BANDS} levels below the model are drawn.")
    return " ".join(words)


def binding_note(report: Report) -> str:
    """The one line a symbolic report gets instead of the figure."""
    hint = report.binding_hint()
    return ("The cost figure (by layer category and by module) needs concrete counts: bind the free "
            f"symbols{f' ({hint})' if hint else ''}.")


def cost_figure(report: Report) -> Figure:
    """The category bar and module icicle of a concrete ``report`` (see the module docstring).

    Raises ``ValueError`` for a symbolic report (:attr:`Report.is_symbolic`): widths need
    numbers; :func:`binding_note` says what to bind.
    """
    if report.is_symbolic:
        raise ValueError(binding_note(report))
    layout = icicle(report)
    categories, y = _category_part(report, 0)
    modules, height = _module_part(report, layout, y)
    unit = report.convention.unit
    svg = "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{_text(_cut(report.model))}: '
        f'where the {_text(unit)} go" font-family="sans-serif" font-size="{_FONT_PX}" fill="{_TEXT_COLOR}" '
        f'style="max-width: 100%; height: auto" data-total-cost="{layout.total}" data-width="{WIDTH}">',
        *categories, *modules, "</svg>",
    ]) + "\n"
    return Figure(FIGURE_KEY, _caption(report, layout), {"svg": svg.encode("utf-8")}, inline=True)
