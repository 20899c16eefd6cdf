"""House style, the rcParams context, text measurement and number formatting.

Everything that depends on matplotlib's global ``rcParams`` runs inside :func:`style` (a
``matplotlib.rc_context`` guarded by a lock), so building or rendering a figure never changes
the caller's settings and two threads never see each other's temporary settings.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import matplotlib as mpl
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties

FONT = "DejaVu Sans"  # bundled with matplotlib: the same glyphs and metrics on every machine
# For SVG text kept as text: what a viewer without DejaVu Sans should use instead.
FONT_FALLBACKS = ("DejaVu Sans", "Bitstream Vera Sans", "Verdana", "Arial", "Helvetica")

MINUS = "\u2212"  # typographic minus, as matplotlib's tick labels (axes.unicode_minus)
BASE_SIZE = 9.0  # points
SMALL_SIZE = 8.0
INK = "#000000"
#: blank border around every figure, in points
MARGIN = 8.0
GREY = "#595959"
LIGHT = "#ebebeb"

RC: dict = {
    "font.family": ["sans-serif"],
    "font.sans-serif": list(FONT_FALLBACKS),
    "font.size": BASE_SIZE,
    "mathtext.fontset": "dejavusans",
    "text.usetex": False,
    # user text (study labels, outcome and moderator names) is text: "$x^$" is no formula
    "text.parse_math": False,
    "text.color": INK,
    "axes.unicode_minus": True,
    "axes.linewidth": 0.8,
    "axes.edgecolor": INK,
    "axes.labelcolor": INK,
    "axes.facecolor": "white",
    "axes.titlesize": BASE_SIZE + 1,
    "axes.labelsize": BASE_SIZE,
    "xtick.color": INK,
    "ytick.color": INK,
    "xtick.labelsize": SMALL_SIZE,
    "ytick.labelsize": SMALL_SIZE,
    "xtick.major.size": 3.5,
    "ytick.major.size": 3.5,
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "xtick.minor.visible": False,
    "ytick.minor.visible": False,
    "lines.linewidth": 0.9,
    "lines.solid_capstyle": "butt",
    "legend.frameon": False,
    "legend.fontsize": SMALL_SIZE,
    "figure.facecolor": "white",
    "figure.dpi": 100,
    "savefig.dpi": 300,
    "savefig.facecolor": "white",
    "savefig.edgecolor": "white",
    "savefig.bbox": "standard",
    "savefig.transparent": False,
    "savefig.pad_inches": 0.0,
    "svg.fonttype": "none",  # text stays <text>: editable and searchable
    "svg.hashsalt": "prisma-workbench",  # deterministic ids for clip paths and markers
    "svg.image_inline": True,
    "pdf.fonttype": 42,  # embed TrueType (editable text in Illustrator/Inkscape)
    "pdf.compression": 6,
    "ps.fonttype": 42,
    "path.simplify": False,
    "image.interpolation": "nearest",
}

_LOCK = threading.RLock()


@contextmanager
def style() -> Iterator[None]:
    """The house rcParams, restored on exit (serialised: rcParams are process-global)."""
    with _LOCK, mpl.rc_context(RC):
        yield


# --------------------------------------------------------------------------- descriptions

_DESCRIPTIONS: weakref.WeakKeyDictionary[Figure, str] = weakref.WeakKeyDictionary()


def set_description(figure: Figure, title: str, description: str) -> None:
    """Title (the figure's label) and a one-sentence text description for screen readers;
    :func:`analysis.plots.render` writes them into the file's metadata (SVG ``<title>`` and
    ``<desc>``, PDF Title/Subject, PNG Title/Description)."""
    figure.set_label(title)
    _DESCRIPTIONS[figure] = description


def get_description(figure: Figure) -> str:
    return _DESCRIPTIONS.get(figure, "")


# --------------------------------------------------------------------------- sizes


def figure_size(width_pt: float, height_pt: float) -> tuple[float, float]:
    """Width and height in points rounded up to whole hundredths of an inch, so that a PNG at
    100, 200, 300 or 600 dpi has exactly ``inches x dpi`` pixels (matplotlib truncates)."""

    def up(pt: float) -> float:
        return math.ceil(round(pt / 0.72, 6)) * 0.72

    return up(width_pt), up(height_pt)


def new_figure(width_pt: float, height_pt: float) -> Figure:
    """A figure of that size in points (already rounded with :func:`figure_size`); a
    billionth of an inch more so that ``int(inches * dpi)`` never falls one pixel short."""
    return Figure(figsize=(width_pt / 72.0 + 1e-9, height_pt / 72.0 + 1e-9))


# --------------------------------------------------------------------------- measurement


@cache
def _renderer() -> RendererAgg:
    return RendererAgg(8, 8, 72)  # at 72 dpi one pixel is one point


def text_width(
    text: str, size: float = BASE_SIZE, *, bold: bool = False, italic: bool = False
) -> float:
    """Width of ``text`` in points, as the Agg renderer lays it out in the house font."""
    if not text:
        return 0.0
    prop = FontProperties(
        family=FONT,
        size=size,
        weight="bold" if bold else "normal",
        style="italic" if italic else "normal",
    )
    width, _, _ = _renderer().get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def _break_points(text: str) -> list[str]:
    """Pieces of ``text`` that may start a new line: after "; ", ": " or ", " outside
    brackets, so that "p < 0.001" and "0.52 [0.37, 0.74]" are never split."""
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth = max(0, depth - 1)
        elif ch == " " and depth == 0 and i > 0 and text[i - 1] in ";:,":
            pieces.append(text[start:i])
            start = i + 1
    pieces.append(text[start:])
    return pieces


def wrap_text(text: str, width: float, size: float = BASE_SIZE) -> list[str]:
    """``text`` in lines at most ``width`` points wide, broken after "; ", ": " or ", "
    outside brackets (a piece longer than ``width`` stays whole)."""
    lines: list[str] = []
    line = ""
    for piece in _break_points(text):
        candidate = f"{line} {piece}" if line else piece
        if line and text_width(candidate, size) > width:
            lines.append(line)
            line = piece
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def symbol_offset(figure, size: float):
    """A transform moving text down by the height of a centred symbol's middle above the
    baseline (~0.35 em), so that ``va="baseline"`` puts "+", "?" and the minus in the centre."""
    from matplotlib.transforms import ScaledTranslation

    return ScaledTranslation(0.0, -0.355 * size / 72.0, figure.dpi_scale_trans)


# --------------------------------------------------------------------------- formatting


def format_number(x: float, digits: int = 2) -> str:
    """``x`` rounded to ``digits`` decimals (as R's ``formatC(format="f")``), with a typographic
    minus and no sign on a value that rounds to zero."""
    x = float(x)
    if math.isnan(x):
        return "NA"
    if math.isinf(x):
        return "∞" if x > 0 else MINUS + "∞"
    text = f"{x:.{digits}f}"
    if float(text) == 0.0:
        text = text.lstrip("-")
    return text.replace("-", MINUS)


def format_ci(est: float, lb: float, ub: float, digits: int = 2) -> str:
    """``"est [lb, ub]"``."""
    return f"{format_number(est, digits)} [{format_interval(lb, ub, digits)}]"


def format_interval(lb: float, ub: float, digits: int = 2) -> str:
    return f"{format_number(lb, digits)}, {format_number(ub, digits)}"


def format_p(p: float, digits: int = 3) -> str:
    """``"p < 0.001"`` below ``10**-digits``, else ``"p = 0.042"`` (metafor's ``fmtp``)."""
    p = float(p)
    if math.isnan(p):
        return "p = NA"
    threshold = 10.0 ** (-digits)
    if p < threshold:
        return f"p < {threshold:.{digits}f}"
    return f"p = {format_number(p, digits)}"


def format_tick(value: float) -> str:
    """A tick label: the shortest decimal that shows the tick's value (``0.25``, ``1``, ``4``)."""
    if value == 0:
        return "0"
    for decimals in range(0, 7):
        text = f"{value:.{decimals}f}"
        if math.isclose(float(text), value, rel_tol=1e-9, abs_tol=1e-12):
            break
    return text.replace("-", MINUS)


def format_percent(x: float, digits: int = 1) -> str:
    return f"{format_number(x, digits)}%"


def draw_title(fig: Figure, title: str | None, width_pt: float, height_pt: float, font_size):
    """The figure's bold title in its top-left corner (nothing without a title)."""
    if title:
        fig.text(
            MARGIN / width_pt,
            1.0 - (MARGIN + font_size * 0.9) / height_pt,
            title,
            fontsize=font_size + 1.5,
            fontweight="bold",
            ha="left",
            va="center",
        )


def draw_notes(fig: Figure, notes, left: float, top: float, transform, size: float, gid: str):
    """Lines of small text from `top` down (figure points, `transform`); the y after them."""
    for note in notes:
        fig.text(
            left,
            top,
            note,
            transform=transform,
            fontsize=size,
            ha="left",
            va="center_baseline",
            color=INK,
            gid=gid,
        )
        top -= size * 1.7
    return top
