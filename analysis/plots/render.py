"""Figures to bytes: SVG, PNG (300 dpi) and PDF, byte-for-byte reproducible."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from matplotlib.figure import Figure

from analysis.plots._style import get_description, style

FORMATS = ("svg", "png", "pdf")
CREATOR = "Prisma Workbench"


def render(figure: Figure, fmt: str, *, dpi: int = 300) -> bytes:
    """The figure as ``"svg"``, ``"png"`` (``dpi``, default 300, recorded in the file) or
    ``"pdf"`` bytes. The same figure gives the same bytes every time, on any machine with the
    same matplotlib: no dates, fixed SVG ids, the bundled DejaVu Sans font. SVG text stays
    text (a ``<title>`` and ``<desc>`` describe the figure); PDF fonts are embedded TrueType."""
    fmt = str(fmt).lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
    title = figure.get_label() or "Meta-analysis figure"
    description = get_description(figure)
    if fmt == "svg":
        metadata = {"Title": title, "Date": None, "Creator": CREATOR}
        if description:
            metadata["Description"] = description
    elif fmt == "pdf":
        metadata = {
            "Title": title,
            "Creator": CREATOR,
            "Producer": CREATOR,
            "CreationDate": None,
            "ModDate": None,
        }
        if description:
            metadata["Subject"] = description
    else:
        metadata = {"Software": None, "Title": title}
        if description:
            metadata["Description"] = description
    buf = io.BytesIO()
    with style():
        figure.savefig(
            buf, format=fmt, dpi=dpi, metadata=metadata, facecolor="white", edgecolor="white"
        )
    data = buf.getvalue()
    if fmt == "svg" and description:
        # a <desc> next to the <title> (what screen readers announce)
        marker = b"</title>"
        at = data.find(marker)
        if at >= 0:
            at += len(marker)
            desc = f"\n <desc>{escape(description)}</desc>".encode()
            data = data[:at] + desc + data[at:]
    return data
