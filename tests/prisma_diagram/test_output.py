"""PNG and PDF through cairosvg: what they are, and the same bytes every time."""

import io
import re
import struct
import time

from PIL import Image

from analysis.prisma_diagram import diagram_svg, to_pdf, to_png
from tests.prisma_diagram.conftest import parse
from tests.prisma_diagram.test_drawing import worked_example


def _size_pt(svg):
    root = parse(svg)
    return float(root.get("width").removesuffix("pt")), float(root.get("height").removesuffix("pt"))


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def test_png_at_300_dpi():
    svg = diagram_svg(worked_example())
    png = to_png(svg)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    chunks = dict(_chunks(png))
    assert struct.unpack(">IIB", chunks[b"pHYs"]) == (11811, 11811, 1)  # 300 dpi in px/m
    image = Image.open(io.BytesIO(png))
    image.load()  # the CRCs and the data are valid
    assert [round(d) for d in image.info["dpi"]] == [300, 300]
    width_pt, height_pt = _size_pt(svg)
    assert abs(image.width - width_pt / 72 * 300) <= 1
    assert abs(image.height - height_pt / 72 * 300) <= 1
    assert image.getpixel((2, 2))[:3] == (255, 255, 255)  # a white background, not transparent


def test_png_at_600_dpi_for_journals():
    svg = diagram_svg(worked_example())
    image = Image.open(io.BytesIO(to_png(svg, dpi=600)))
    assert [round(d) for d in image.info["dpi"]] == [600, 600]
    assert abs(image.width - _size_pt(svg)[0] / 72 * 600) <= 1


def test_pdf_is_a_pdf_of_the_figure_size():
    svg = diagram_svg(worked_example())
    pdf = to_pdf(svg)
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    width_pt, height_pt = _size_pt(svg)
    assert abs(float(box.group(1)) - width_pt) < 1 and abs(float(box.group(2)) - height_pt) < 1


def test_same_bytes_every_time():
    svg = diagram_svg(worked_example())
    first = (diagram_svg(worked_example()), to_png(svg), to_pdf(svg))
    time.sleep(1.1)  # cairo's creation date has a resolution of one second
    second = (diagram_svg(worked_example()), to_png(svg), to_pdf(svg))
    assert first == second
    assert b"/CreationDate" not in first[2] and b"/ModDate" not in first[2]


def test_pdf_carries_the_title_and_no_date():
    from analysis.prisma_diagram import _PDF_DATE, _epoch_date

    pdf = to_pdf(diagram_svg(worked_example(), title="Figure 1: Smith & Jones – review"))
    assert b"/Title <FEFF" in pdf and b"/CreationDate" not in pdf  # UTF-16: the en dash
    # A cairo that still writes a date gets it zeroed in place, at the same length.
    written = b"<< /Producer (cairo) /CreationDate (D:20261125090840Z) >>"
    fixed = _PDF_DATE.sub(_epoch_date, written)
    assert fixed == b"<< /Producer (cairo) /CreationDate (D:19700101000000Z) >>"
    assert len(fixed) == len(written)
