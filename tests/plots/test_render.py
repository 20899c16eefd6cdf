"""Rendering: SVG, PNG (300 dpi) and PDF bytes, identical for identical data (in this process
and in another one with a different hash seed), with accessible metadata, and without touching
the caller's matplotlib settings."""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import matplotlib as mpl
import pytest
from PIL import Image

from analysis.engine import rma
from analysis.plots import bubble_from_fit, forest_from_fit, funnel_from_fit, render
from tests.analysis.reference import yi_vi
from tests.plots.svgtools import all_texts, svg_root

ROOT = Path(__file__).resolve().parents[2]
FORMATS = ("svg", "png", "pdf")

BUILD = """
import numpy as np
from analysis.engine import rma
from analysis.plots import bubble_from_fit, forest_from_fit, funnel_from_fit
from tests.analysis.reference import column, data, slab, yi_vi

def figures(shift=0.0):
    yi, vi = yi_vi("bcg_RR")
    yi = yi + shift
    labels = slab("bcg_RR")
    fit = rma(yi, vi)
    rob = [{"D1": ["low", "high", "some concerns"][i % 3]} for i in range(len(yi))]
    ablat = column("bcg_RR", "ablat")
    return {
        "forest": forest_from_fit(labels, yi, vi, fit, measure="RR",
                                  groups=data("bcg_RR")["alloc"], rob=rob, title="BCG"),
        "funnel": funnel_from_fit(yi, vi, fit, measure="RR"),
        "bubble": bubble_from_fit(ablat, yi, vi, rma(yi, vi, mods=ablat), measure="RR"),
    }
"""
namespace: dict = {}
exec(BUILD, namespace)  # noqa: S102 -- the same code runs in the subprocess below
figures = namespace["figures"]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def rendered():
    return {(name, fmt): render(fig, fmt) for name, fig in figures().items() for fmt in FORMATS}


def test_same_data_same_bytes(rendered):
    again = {(name, fmt): render(fig, fmt) for name, fig in figures().items() for fmt in FORMATS}
    for key, data in rendered.items():
        assert again[key] == data, key
    # rendering the same figure twice as well
    fig = figures()["forest"]
    for fmt in FORMATS:
        assert render(fig, fmt) == render(fig, fmt)


def test_different_data_different_bytes(rendered):
    changed = {
        (name, fmt): render(fig, fmt)
        for name, fig in figures(shift=0.05).items()
        for fmt in FORMATS
    }
    for key, data in rendered.items():
        assert changed[key] != data, key


def test_same_bytes_in_another_process_with_another_hash_seed(rendered):
    code = BUILD + (
        "\nimport hashlib, json\nfrom analysis.plots import render\n"
        "print(json.dumps({f'{n}.{f}': hashlib.sha256(render(fig, f)).hexdigest() "
        "for n, fig in figures().items() for f in ('svg', 'png', 'pdf')}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONHASHSEED"] = "4242"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    other = json.loads(out.stdout)
    for (name, fmt), data in rendered.items():
        assert other[f"{name}.{fmt}"] == digest(data), (name, fmt)


def _png_chunks(data: bytes) -> dict[bytes, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunks.setdefault(kind, data[pos + 8 : pos + 8 + length])
        pos += 12 + length
    return chunks


def test_png_is_300_dpi(rendered):
    fig = figures()["forest"]
    data = rendered[("forest", "png")]
    phys = _png_chunks(data)[b"pHYs"]
    x, y, unit = struct.unpack(">IIB", phys)
    assert unit == 1 and x == y == round(300 / 0.0254)
    with Image.open(BytesIO(data)) as im:
        w_in, h_in = fig.get_size_inches()
        assert im.size == (round(w_in * 300), round(h_in * 300))
    assert b"Software" not in data  # no version stamp


def test_png_metadata(rendered):
    chunks = _png_chunks(rendered[("forest", "png")])
    assert b"tEXt" in chunks or b"iTXt" in chunks
    assert b"Title" in rendered[("forest", "png")]


def test_pdf(rendered):
    data = rendered[("funnel", "pdf")]
    assert data.startswith(b"%PDF")
    assert b"CreationDate" not in data and b"ModDate" not in data
    assert b"DejaVuSans" in data  # the embedded font
    assert b"/Title (Funnel plot)" in data


def test_svg_text_is_text_with_a_title(rendered):
    svg = rendered[("forest", "svg")]
    root = svg_root(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "BCG"
    assert root.find(f"{ns}desc").text.startswith("Forest plot of 13 studies")
    texts = all_texts(svg)
    assert "Aronson, 1948" in texts and "Ferguson & Simes, 1949" in texts
    text = svg.decode()
    assert "DejaVuSans-" not in text  # no glyph outlines
    assert "font-family: 'DejaVu Sans'" in text and "sans-serif" in text
    assert "<dc:date>" not in text
    assert "svg.hashsalt" not in text


def test_callers_rcparams_are_left_alone():
    before = dict(mpl.rcParams)
    with mpl.rc_context({"font.size": 17, "svg.fonttype": "path"}):
        fig = figures()["funnel"]
        data = render(fig, "svg")
        assert mpl.rcParams["font.size"] == 17
        assert mpl.rcParams["svg.fonttype"] == "path"
    assert b"<text" in data
    after = dict(mpl.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_no_pyplot_and_no_django():
    code = (
        "import sys; import analysis.plots as p; "
        "from tests.analysis.reference import yi_vi; "
        "from analysis.engine import rma; y, v = yi_vi('bcg_RR'); "
        "p.render(p.forest_from_fit(list('abcdefghijklm'), y, v, rma(y, v)), 'png'); "
        "print(sorted(m for m in sys.modules if m.startswith(('matplotlib.pyplot', "
        "'django'))))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_unknown_format(rendered):
    with pytest.raises(ValueError, match="format"):
        render(figures()["bubble"], "gif")
    assert render(figures()["bubble"], "SVG") == rendered[("bubble", "svg")]


def test_png_decodes(rendered):
    with Image.open(BytesIO(rendered[("bubble", "png")])) as im:
        im.load()
        assert im.mode in ("RGBA", "RGB")
        assert im.getpixel((0, 0))[:3] == (255, 255, 255)  # white background


def test_figures_are_independent_of_each_other():
    yi, vi = yi_vi("bcg_RR")
    labels = list("abcdefghijklm")
    a = forest_from_fit(labels, yi, vi, rma(yi, vi))
    bubble_from_fit(yi, yi, vi, rma(yi, vi, mods=yi))  # something else in between
    funnel_from_fit(yi, vi, rma(yi, vi))
    b = forest_from_fit(labels, yi, vi, rma(yi, vi))
    assert render(a, "svg") == render(b, "svg")
