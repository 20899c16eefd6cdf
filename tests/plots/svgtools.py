"""Reading the figures back: SVG texts and marks by id, text boxes after drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from analysis.plots import render
from analysis.plots._style import style

NS = "{http://www.w3.org/2000/svg}"


def svg_root(svg: bytes) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 -- our own output, not untrusted input


def texts_by_id(svg: bytes) -> dict[str, str]:
    """id of a <g> -> the text of the <text> directly inside it (texts drawn with a gid)."""
    out = {}
    for g in svg_root(svg).iter(f"{NS}g"):
        text = g.find(f"{NS}text")
        if text is not None and g.get("id"):
            out[g.get("id")] = "".join(text.itertext())
    return out


def all_texts(svg: bytes) -> list[str]:
    return ["".join(t.itertext()) for t in svg_root(svg).iter(f"{NS}text")]


def group(svg: bytes, gid: str) -> ET.Element | None:
    for g in svg_root(svg).iter(f"{NS}g"):
        if g.get("id") == gid:
            return g
    return None


def ids(svg: bytes, prefix: str) -> list[str]:
    return [
        g.get("id") for g in svg_root(svg).iter(f"{NS}g") if (g.get("id") or "").startswith(prefix)
    ]


def count_marks(svg: bytes, gid: str) -> int:
    """Markers drawn by one scatter collection: <use> elements, or one <path> each."""
    g = group(svg, gid)
    if g is None:
        return 0
    uses = list(g.iter(f"{NS}use"))
    if uses:
        return len(uses)
    return len([p for p in g.findall(f"{NS}path")])


def as_svg(fig) -> bytes:
    return render(fig, "svg")


def text_boxes(fig) -> list[tuple[str, np.ndarray]]:
    """(text, [x0, y0, x1, y1] in pixels) of every visible, non-empty text after drawing."""
    with style():
        canvas = FigureCanvasAgg(fig)
        renderer = canvas.get_renderer()
        fig.draw(renderer)
        out = []
        for t in fig.findobj(Text):
            if t.get_visible() and t.get_text().strip():
                bb = t.get_window_extent(renderer)
                out.append((t.get_text(), np.array([bb.x0, bb.y0, bb.x1, bb.y1])))
    return out


def overlapping_texts(fig, tolerance: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than ``tolerance`` pixels both ways."""
    boxes = text_boxes(fig)
    pairs = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i][1], boxes[j][1]
            dx = min(a[2], b[2]) - max(a[0], b[0])
            dy = min(a[3], b[3]) - max(a[1], b[1])
            if dx > tolerance and dy > tolerance:
                pairs.append((boxes[i][0], boxes[j][0]))
    return pairs


def outside_figure(fig, tolerance: float = 0.5) -> list[str]:
    w, h = fig.bbox.width, fig.bbox.height
    return [
        s
        for s, b in text_boxes(fig)
        if b[0] < -tolerance or b[1] < -tolerance or b[2] > w + tolerance or b[3] > h + tolerance
    ]
