"""The PRISMA 2020 flow diagram of a review, drawn from its live counts (docs/prisma_diagram.md).

`diagram_svg(counts)` builds the statement's figure as a standalone SVG string from a
`screening.prisma.PrismaCounts`, following /work/shared/PRISMA2020_FLOW.md: the template
(T1-T4) is chosen from the data, boxes sit on the package's grid (3.5-inch boxes, 0.5-inch
gaps, 0.4-inch headers and bands; one SVG user unit is one point), every row is as tall as its
tallest box, text is wrapped by measuring it with DejaVu Sans's advance widths (a table below,
so the output does not depend on the fonts of the machine), and the same counts always give the
same string. Counts that break a hard rule of the arithmetic raise `PrismaRuleError`: never a
wrong diagram. `to_png` and `to_pdf` convert with cairosvg; the PDF carries no creation date,
so it is reproducible too.

Views and the `prisma_diagram` command call `diagram_page`, `diagram_file` and `template_csv`.
"""

from __future__ import annotations

import re
import struct
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, unescape

from django.urls import reverse

from screening.prisma import (
    VARIABLES,
    PrismaCounts,
    RuleFailure,
    RuleResult,
    prisma_counts,
    to_template_csv,
)
from screening.record_selectors import count_query, pending_lines

Link = Callable[..., str | None]

# Geometry (points: the package's inches times 72) ----------------------------------------------

INCH = 72.0
BOX_W = 3.5 * INCH  # every box and the previous-studies header
GAP = 0.5 * INCH  # between columns
HEADER_H = 0.4 * INCH  # at least
BAND_W = 0.4 * INCH
MIN_BOX_H = 0.5 * INCH
ROW_GAP = 0.4 * INCH  # between rows, where the down arrows run
HEADER_GAP = 0.2 * INCH  # between the headers and the first row of boxes
BAND_GAP = 0.15 * INCH  # between the bands and the first column
MARGIN = 0.25 * INCH
FONT = 10.0  # box text
LINE = 13.0  # line pitch of box text
PAD_X, PAD_Y = 8.0, 6.0
INDENT = 11.0  # per level of a sub-line
NOTE_FONT, NOTE_LINE = 8.0, 10.5  # footnotes
HEAD_LEN, HEAD_HALF = 7.0, 3.5  # arrowheads

FONT_FAMILY = "DejaVu Sans, sans-serif"
GOLD, GREY, BLUE, WHITE, BLACK = "#FFC125", "#DCDCDC", "#BCD2EE", "#FFFFFF", "#000000"
LINK_COLOUR = "#1A4FB4"

#: the arithmetic of each rule (PRISMA2020_FLOW.md §4), printed with its failure
EQUATIONS = {
    "H1": "database_results = Σ database_specific_results, register_results = Σ "
    "register_specific_results",
    "H2": "records_screened = database_results + register_results − duplicates − "
    "excluded_automatic − excluded_other",
    "S3": "dbr_sought_reports = records_screened − records_excluded",
    "H4": "dbr_assessed = dbr_sought_reports − dbr_notretrieved_reports",
    "H5": "dbr_assessed − Σ dbr_excluded ≥ 0",
    "F6": "other_sought_reports ≤ website_results + organisation_results + citations_results",
    "H7": "other_assessed = other_sought_reports − other_notretrieved_reports, "
    "other_assessed − Σ other_excluded ≥ 0",
    "H8": "new_reports = (dbr_assessed − Σ dbr_excluded) + (other_assessed − Σ other_excluded)",
    "H9": "new_studies ≤ new_reports, and new_studies = 0 only when new_reports = 0 (likewise "
    "previous_* and total_*)",
    "S10": "total_studies = previous_studies + new_studies, total_reports = previous_reports + "
    "new_reports",
    "V": "every count is a non-negative integer or null",
}

CITATION = (
    "Flow diagram template: Page MJ, McKenzie JE, Bossuyt PM, et al. The PRISMA 2020 "
    "statement: an updated guideline for reporting systematic reviews. BMJ 2021;372:n71. "
    "doi:10.1136/bmj.n71"
)


class DiagramError(ValueError):
    """The diagram cannot be drawn."""


class PrismaRuleError(DiagramError):
    """The counts break a hard rule of the PRISMA 2020 arithmetic: the diagram is not drawn."""

    def __init__(self, failures: list[RuleFailure]):
        self.failures = failures
        lines = [f"{f.rule} fails ({EQUATIONS.get(f.rule, '')}): {f.message}" for f in failures]
        super().__init__(
            "The PRISMA 2020 flow diagram is not drawn: the counts break "
            + ("a rule" if len(failures) == 1 else "rules")
            + " of its arithmetic.\n"
            + "\n".join(lines)
        )


# Rules ------------------------------------------------------------------------------------------

_PREVIOUS = ("previous_studies", "previous_reports")
_TOTALS = ("total_studies", "total_reports")
_OTHER_IDENTIFIED = ("website_results", "organisation_results", "citations_results")


def _get(counts, name: str):
    """A count that `PrismaCounts` may not have (previous and total: updated reviews)."""
    return getattr(counts, name, None)


def _plain_counts(counts) -> list[tuple[str, object]]:
    """(name, value) of every count: numbers, per-source and per-reason dicts, nulls."""
    names = [
        name
        for name, value in vars(counts).items()
        if isinstance(value, int | dict) or value is None
    ]
    names += [name for name in (*_PREVIOUS, *_TOTALS) if name not in names]
    return [(name, _get(counts, name)) for name in names]


def diagram_rules(counts: PrismaCounts) -> list[RuleResult]:
    """Every rule the diagram depends on: `PrismaCounts.rules()` (H1-H9) and the ones the
    diagram adds (V: values; F6: other methods; H9 and S10 for updated reviews), the added ones
    only where they apply or fail."""
    results = list(counts.rules())
    bad = []
    for name, value in _plain_counts(counts):
        values = value.values() if isinstance(value, dict) else [value]
        for v in values:
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                bad.append(f"{name} is {v!r}")
    if bad:
        results.insert(0, RuleResult("V", "hard", "fail", "; ".join(bad) + "."))
    if counts.has_other_methods:
        identified = sum(_get(counts, name) or 0 for name in _OTHER_IDENTIFIED)
        sought = counts.other_sought_reports or 0
        if sought > identified:
            message = (
                f"other methods: reports sought ({sought}) exceed records identified "
                f"({identified})."
            )
            results.append(RuleResult("F6", "soft", "fail", message))
    if _is_update(counts):
        results.append(_h9_bound(counts, "previous"))
        if any(_get(counts, name) is not None for name in _TOTALS):
            results.append(_h9_bound(counts, "total"))
            results.append(_s10(counts))
    return results


def _h9_bound(counts, prefix: str) -> RuleResult:
    studies = _get(counts, f"{prefix}_studies") or 0
    reports = _get(counts, f"{prefix}_reports") or 0
    if studies > reports:
        return RuleResult(
            "H9",
            "hard",
            "fail",
            f"{prefix} studies ({studies}) exceed {prefix} reports ({reports}).",
        )
    if reports and not studies:
        return RuleResult(
            "H9", "hard", "fail", f"no {prefix} study but {reports} {prefix} reports."
        )
    return RuleResult("H9", "hard", "pass", f"{prefix} studies and reports.")


def _s10(counts) -> RuleResult:
    problems = []
    for kind in ("studies", "reports"):
        total = _get(counts, f"total_{kind}")
        previous = _get(counts, f"previous_{kind}") or 0
        new = getattr(counts, f"new_{kind}")
        if total is not None and total != previous + new:
            problems.append(
                f"total {kind} ({total}) should be previous ({previous}) + new ({new}) = "
                f"{previous + new}; explain the difference in a note"
            )
    if problems:
        return RuleResult("S10", "soft", "fail", "; ".join(problems) + ".")
    return RuleResult("S10", "soft", "pass")


def check(counts: PrismaCounts) -> list[RuleResult]:
    """Raise `PrismaRuleError` when a hard rule fails; return the soft failures (warnings)."""
    results = diagram_rules(counts)
    hard = [RuleFailure(r.rule, r.message, r.severity) for r in results if _fatal(r)]
    if hard:
        raise PrismaRuleError(hard)
    return [r for r in results if r.status == "fail"]


def _fatal(result: RuleResult) -> bool:
    return result.status == "fail" and result.severity == "hard"


def _is_update(counts) -> bool:
    return any(_get(counts, name) is not None for name in _PREVIOUS)


def _has_other(counts) -> bool:
    return counts.has_other_methods or any(
        _get(counts, name) is not None for name in _OTHER_IDENTIFIED
    )


def template_of(counts: PrismaCounts) -> str:
    """T1-T4 (PRISMA2020_FLOW.md §1): updated (previous_* set), other methods used (any set)."""
    return {(False, False): "T1", (False, True): "T2", (True, False): "T3", (True, True): "T4"}[
        (_is_update(counts), _has_other(counts))
    ]


# Text measuring and wrapping --------------------------------------------------------------------

#: DejaVu Sans advance widths (units of 1/2048 em) of U+0020..U+007E
_REGULAR_ASCII = (
    651, 821, 942, 1716, 1303, 1946, 1597, 563, 799, 799, 1024, 1716, 651, 739, 651, 690,
    1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 1303, 690, 690, 1716, 1716, 1716, 1087,
    2048, 1401, 1405, 1430, 1577, 1294, 1178, 1587, 1540, 604, 604, 1343, 1141, 1767, 1532, 1612,
    1235, 1612, 1423, 1300, 1251, 1499, 1401, 2025, 1403, 1251, 1403, 799, 690, 799, 1716, 1024,
    1024, 1255, 1300, 1126, 1300, 1260, 721, 1300, 1298, 569, 569, 1186, 569, 1995, 1298, 1253,
    1300, 1300, 842, 1067, 803, 1298, 1212, 1675, 1212, 1212, 1075, 1303, 690, 1303, 1716,
)  # fmt: skip
#: ... of U+00A0..U+017F (Latin-1 Supplement, Latin Extended-A)
_REGULAR_LATIN = (
    651, 821, 1303, 1303, 1303, 1303, 690, 1024, 1024, 2048, 965, 1253, 1716, 739, 2048, 1024,
    1024, 1716, 821, 821, 1024, 1303, 1303, 651, 1024, 821, 965, 1253, 1985, 1985, 1985, 1087,
    1401, 1401, 1401, 1401, 1401, 1401, 1995, 1430, 1294, 1294, 1294, 1294, 604, 604, 604, 604,
    1587, 1532, 1612, 1612, 1612, 1612, 1612, 1716, 1612, 1499, 1499, 1499, 1499, 1251, 1239, 1290,
    1255, 1255, 1255, 1255, 1255, 1255, 2011, 1126, 1260, 1260, 1260, 1260, 569, 569, 569, 569,
    1253, 1298, 1253, 1253, 1253, 1253, 1253, 1716, 1253, 1298, 1298, 1298, 1298, 1212, 1300, 1212,
    1401, 1255, 1401, 1255, 1401, 1255, 1430, 1126, 1430, 1126, 1430, 1126, 1430, 1126, 1577, 1300,
    1587, 1300, 1294, 1260, 1294, 1260, 1294, 1260, 1294, 1260, 1294, 1260, 1587, 1300, 1587, 1300,
    1587, 1300, 1587, 1300, 1540, 1298, 1886, 1532, 604, 569, 604, 569, 604, 569, 604, 569,
    604, 569, 1208, 1138, 604, 569, 1343, 1186, 1186, 1141, 569, 1141, 569, 1141, 569, 1141,
    837, 1154, 592, 1532, 1298, 1532, 1298, 1532, 1298, 1485, 1532, 1298, 1612, 1253, 1612, 1253,
    1612, 1253, 2198, 2100, 1423, 842, 1423, 842, 1423, 842, 1300, 1067, 1300, 1067, 1300, 1067,
    1300, 1067, 1251, 803, 1251, 803, 1251, 803, 1499, 1298, 1499, 1298, 1499, 1298, 1499, 1298,
    1499, 1298, 1499, 1298, 2025, 1675, 1251, 1212, 1251, 1403, 1075, 1403, 1075, 1403, 1075, 721,
)  # fmt: skip
#: DejaVu Sans Bold advance widths of U+0020..U+007E
_BOLD_ASCII = (
    713, 934, 1067, 1716, 1425, 2052, 1786, 627, 936, 936, 1071, 1716, 778, 850, 778, 748,
    1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 1425, 819, 819, 1716, 1716, 1716, 1188,
    2048, 1585, 1561, 1503, 1700, 1399, 1399, 1681, 1714, 762, 762, 1587, 1305, 2038, 1714, 1741,
    1501, 1741, 1577, 1475, 1397, 1663, 1585, 2259, 1579, 1483, 1485, 936, 748, 936, 1716, 1024,
    1024, 1382, 1466, 1214, 1466, 1389, 891, 1466, 1458, 702, 702, 1362, 702, 2134, 1458, 1407,
    1466, 1466, 1010, 1219, 979, 1458, 1335, 1884, 1343, 1335, 1192, 1458, 748, 1458, 1716,
)  # fmt: skip
_REGULAR_EXTRA = {
    "–": 1024, "—": 2048, "‘": 651, "’": 651, "“": 1061, "”": 1061, "…": 2048, "≥": 1716,
    "≤": 1716, "−": 1716, "·": 651, "×": 1716, "±": 1716, "•": 1208, "→": 1716,
}  # fmt: skip
_BOLD_FACTOR = 1.27  # the widest bold/regular ratio of ASCII, for the other characters
_UNKNOWN = 2048  # one em: wider than any Latin glyph; CJK ideographs are one em


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The advance width of `text` in DejaVu Sans at `size` points (no kerning: an upper
    bound of what cairo and browsers draw; fallback fonts are narrower)."""
    units = 0.0
    for ch in text:
        cp = ord(ch)
        if 32 <= cp < 127:
            units += (_BOLD_ASCII if bold else _REGULAR_ASCII)[cp - 32]
            continue
        if 160 <= cp < 384:
            width = _REGULAR_LATIN[cp - 160]
        elif ch in _REGULAR_EXTRA:
            width = _REGULAR_EXTRA[ch]
        elif unicodedata.combining(ch):
            width = 0
        else:
            width = _UNKNOWN
        units += width * (_BOLD_FACTOR if bold else 1)
    return units / 2048 * size


_SPACES = re.compile(r"[^\S\u00a0]+")  # white space but the no-break space


def _clean(text: str) -> str:
    """One line of plain text: no control characters (invalid in XML), single spaces."""
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in str(text))
    return _SPACES.sub(" ", text).strip(" ")


def _split_word(word: str, width: float, size: float, bold: bool) -> list[str]:
    pieces, current = [], ""
    for ch in word:
        if current and text_width(current + ch, size, bold=bold) > width:
            pieces.append(current)
            current = ch
        else:
            current += ch
    return [*pieces, current] if current else pieces


def wrap(text: str, width: float, size: float = FONT, *, bold: bool = False) -> list[str]:
    """Greedy word wrap to `width` points; a word wider than a line is cut. A no-break space
    keeps its neighbours together (the "(n = 1,234)" of a count)."""
    tokens: list[tuple[str, str]] = []  # (glue before, text)
    for word in _clean(text).split(" "):
        if not word:
            continue
        if text_width(word, size, bold=bold) <= width:
            tokens.append((" ", word))
        else:
            for i, piece in enumerate(_split_word(word, width, size, bold)):
                tokens.append((" " if i == 0 else "", piece))
    lines: list[str] = []
    current = ""
    for glue, word in tokens:
        candidate = current + glue + word if current else word
        if current and text_width(candidate, size, bold=bold) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current or not lines:
        lines.append(current)
    return [line.replace("\u00a0", " ") for line in lines]


def fmt(n: int) -> str:
    """Thousands separators: 12345 → "12,345"."""
    return f"{n:,}"


def _count_text(n: int) -> str:
    return f"(n\u00a0=\u00a0{fmt(n)})"


# The boxes --------------------------------------------------------------------------------------


@dataclass
class Line:
    """One line of a box (it may wrap): a label and, for a count, "(n = …)" and its variable."""

    label: str
    n: int | None = None
    variable: str | None = None
    key: str | None = None
    level: int = 0
    colon: bool = False  # "Databases (n = 3,000):" before its per-source lines

    @property
    def text(self) -> str:
        if self.n is None:
            return self.label
        return f"{self.label} {_count_text(self.n)}" + (":" if self.colon else "")


@dataclass
class Box:
    cell: str  # column letter + row number
    title: str  # the tooltip's first words
    lines: list[Line]
    fill: str = WHITE

    @property
    def variables(self) -> list[str]:
        seen: list[str] = []
        for line in self.lines:
            if line.variable and line.variable not in seen:
                seen.append(line.variable)
        return seen

    @property
    def box_id(self) -> str:
        variables = self.variables
        return f"box-{variables[0]}" if variables else f"box-{self.cell}"


@dataclass
class Header:
    cell: str
    text: str
    fill: str
    span: int = 1  # columns


def _count_line(counts, label: str, variable: str, level: int = 0, **kw) -> Line | None:
    n = getattr(counts, variable, None)
    if n is None:
        return None
    return Line(label, n, variable, level=level, **kw)


def _lines(*lines: Line | None) -> list[Line]:
    return [line for line in lines if line is not None]


def _lists_sources(counts) -> bool:
    """Per-source lines when the review searched more than one database or register (#26)."""
    return len(counts.database_specific_results) + len(counts.register_specific_results) > 1


def _identified(counts) -> Box:
    lines = [Line("Records identified from*:")]
    listed = _lists_sources(counts)
    for label, variable, specific in (
        ("Databases", "database_results", "database_specific_results"),
        ("Registers", "register_results", "register_specific_results"),
    ):
        per_source = getattr(counts, specific) if listed else {}
        line = _count_line(counts, label, variable, 1, colon=bool(per_source))
        if line is None:
            continue
        lines.append(line)
        for name, n in per_source.items():
            lines.append(Line(_clean(name), n, specific, key=name, level=2))
    return Box("A1", "Records identified from databases and registers", lines)


def _excluded_box(cell: str, counts, variable: str, fill: str) -> Box | None:
    reasons = getattr(counts, variable, None)
    if reasons is None:
        return None
    if not reasons:
        lines = [Line("Reports excluded", 0, variable)]
    else:
        lines = [Line("Reports excluded:")]
        lines += [Line(_clean(r), n, variable, key=r, level=1) for r, n in reasons.items()]
    return Box(cell, "Reports excluded, by reason", lines, fill)


def _single(cell: str, counts, label: str, variable: str, fill: str = WHITE) -> Box | None:
    line = _count_line(counts, label, variable)
    return None if line is None else Box(cell, label, [line], fill)


def _boxes(counts) -> tuple[str, list[Header], list[Box]]:
    template = template_of(counts)
    update = template in ("T3", "T4")
    other = template in ("T2", "T4")
    new = "new " if update else ""
    headers = [Header("A0", f"Identification of {new}studies via databases and registers", GOLD, 2)]
    boxes: list[Box | None] = []
    if update:
        headers.insert(0, Header("P0", "Previous studies", GREY))
        previous = _lines(
            _count_line(
                counts, "Studies included in previous version of review", "previous_studies"
            ),
            _count_line(
                counts,
                "Reports of studies included in previous version of review",
                "previous_reports",
            ),
        )
        boxes.append(
            Box("P1", "Previous version of the review", previous, GREY) if previous else None
        )

    boxes.append(_identified(counts))
    removed = _lines(
        Line("Records removed before screening:"),
        _count_line(counts, "Duplicate records removed", "duplicates", 1),
        _count_line(
            counts, "Records marked as ineligible by automation tools", "excluded_automatic", 1
        ),
        _count_line(counts, "Records removed for other reasons", "excluded_other", 1),
    )
    boxes.append(Box("B1", "Records removed before screening", removed))
    boxes.append(_single("A2", counts, "Records screened", "records_screened"))
    excluded = _lines(_count_line(counts, "Records excluded**", "records_excluded"))
    if excluded and (counts.records_excluded_automation or 0) > 0:
        excluded += _lines(
            _count_line(counts, "by a human", "records_excluded_human", 1),
            _count_line(counts, "by automation tools", "records_excluded_automation", 1),
        )
    boxes.append(Box("B2", "Records excluded", excluded) if excluded else None)
    boxes.append(_single("A3", counts, "Reports sought for retrieval", "dbr_sought_reports"))
    boxes.append(_single("B3", counts, "Reports not retrieved", "dbr_notretrieved_reports"))
    boxes.append(_single("A4", counts, "Reports assessed for eligibility", "dbr_assessed"))
    boxes.append(_excluded_box("B4", counts, "dbr_excluded", WHITE))

    if other:
        headers.append(Header("C0", f"Identification of {new}studies via other methods", GREY, 2))
        identified = _lines(
            _count_line(counts, "Websites", "website_results", 1),
            _count_line(counts, "Organisations", "organisation_results", 1),
            _count_line(counts, "Citation searching", "citations_results", 1),
        )
        boxes.append(
            Box("C1", "Records identified via other methods",
                [Line("Records identified from:"), *identified], GREY)
        )  # fmt: skip
        boxes.append(
            _single("C3", counts, "Reports sought for retrieval", "other_sought_reports", GREY)
        )
        boxes.append(
            _single("D3", counts, "Reports not retrieved", "other_notretrieved_reports", GREY)
        )
        boxes.append(
            _single("C4", counts, "Reports assessed for eligibility", "other_assessed", GREY)
        )
        boxes.append(_excluded_box("D4", counts, "other_excluded", GREY))

    included = _lines(
        _count_line(counts, f"{new}studies included in review".capitalize(), "new_studies"),
        _count_line(counts, f"Reports of {new}included studies", "new_reports"),
    )
    boxes.append(Box("A5", "Studies and reports included", included) if included else None)
    if update:
        totals = _lines(
            _count_line(counts, "Total studies included in review", "total_studies"),
            _count_line(counts, "Reports of total included studies", "total_reports"),
        )
        boxes.append(Box("A6", "Total studies and reports included", totals) if totals else None)
    return template, headers, [box for box in boxes if box is not None]


# Drawing ----------------------------------------------------------------------------------------


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _attr(value) -> str:
    return escape(str(value), {'"': "&quot;"})


@dataclass
class _Placed:
    box: Box
    x: float
    y: float
    w: float
    h: float
    rows: list[tuple[Line, list[str]]] = field(default_factory=list)

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


def _wrap_box(box: Box) -> list[tuple[Line, list[str]]]:
    inner = BOX_W - 2 * PAD_X
    return [(line, wrap(line.text, inner - line.level * INDENT)) for line in box.lines]


def _text_height(rows) -> float:
    return sum(len(wrapped) for _line, wrapped in rows) * LINE


def _baseline(line_top: float, pitch: float = LINE, size: float = FONT) -> float:
    """The baseline that centres a line of mixed-case text in its slot."""
    return line_top + pitch / 2 + 0.36 * size


def _arrow(points: list[tuple[float, float]]) -> str:
    """A solid line through `points` with a filled head whose tip is the last point."""
    (x1, y1), (x2, y2) = points[-2], points[-1]
    length = ((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5
    ux, uy = (x2 - x1) / length, (y2 - y1) / length
    bx, by = x2 - ux * HEAD_LEN, y2 - uy * HEAD_LEN  # the head's base
    line = [*points[:-1], (bx, by)]
    d = "M" + " L".join(f"{_num(x)},{_num(y)}" for x, y in line)
    head = (
        f"M{_num(x2)},{_num(y2)} L{_num(bx - uy * HEAD_HALF)},{_num(by + ux * HEAD_HALF)} "
        f"L{_num(bx + uy * HEAD_HALF)},{_num(by - ux * HEAD_HALF)} Z"
    )
    return (
        f'<path d="{d}" fill="none" stroke="{BLACK}" stroke-width="1"/>'
        f'<path d="{head}" fill="{BLACK}" stroke="none"/>'
    )


def _render_line(out: list[str], line: Line, wrapped: list[str], x: float, top: float,
                 href: str | None) -> float:  # fmt: skip
    """Append a line's <text> rows (in a <g> carrying its variable when it is a count);
    return the top of the next line."""
    attrs = ""
    if line.variable is not None:
        attrs = f' class="count" data-variable="{_attr(line.variable)}"'
        if line.key is not None:
            attrs += f' data-key="{_attr(line.key)}"'
        if line.n is not None:
            attrs += f' data-n="{line.n}"'
    out.append(f"<g{attrs}>" if attrs else "<g>")
    whole = line.key is not None  # a per-source or per-reason line links as a whole
    count = None if line.n is None else _count_text(line.n).replace("\u00a0", " ")
    if count is not None and line.colon:
        count += ":"
    for i, row in enumerate(wrapped):
        content = escape(row)
        last = i == len(wrapped) - 1
        if href is not None and (whole or (last and count and row.endswith(count))):
            if whole:
                content = _link(href, escape(row))
            else:
                before = row[: len(row) - len(count)]
                content = escape(before) + _link(href, escape(count))
        x_row = x + line.level * INDENT
        out.append(f'<text x="{_num(x_row)}" y="{_num(_baseline(top))}">{content}</text>')
        top += LINE
    out.append("</g>")
    return top


def _link(href: str, content: str) -> str:
    return (
        f'<a href="{_attr(href)}"><tspan fill="{LINK_COLOUR}" text-decoration="underline">'
        f"{content}</tspan></a>"
    )


def _plural(n: int, one: str, many: str) -> str:
    return f"{fmt(n)} {one if n == 1 else many}"


def _pending_note(counts) -> str:
    p = counts.pending
    parts = []
    if p.records:
        parts.append(_plural(p.records, "record", "records") + " awaiting title/abstract screening")
    if p.dbr_reports:
        parts.append(
            _plural(p.dbr_reports, "report", "reports")
            + " awaiting retrieval or full-text assessment"
        )
    if p.other_reports:
        parts.append(
            _plural(p.other_reports, "other-methods report", "other-methods reports")
            + " awaiting retrieval or assessment"
        )
    if p.study_links:
        parts.append(
            _plural(p.study_links, "included report", "included reports")
            + " not linked to a study yet"
        )
    if not parts:
        return ""
    return "Review in progress, counts provisional: " + "; ".join(parts) + "."


def _footnotes(counts) -> list[str]:
    notes = []
    sources = [*counts.database_specific_results, *counts.register_specific_results]
    if _lists_sources(counts):
        notes.append(
            "* Records identified from each database and register searched are listed under "
            "its total."
        )
    elif sources:
        notes.append(f"* One database or register was searched: {_clean(sources[0])}.")
    else:
        notes.append("* No database or register was searched.")
    if (counts.records_excluded_automation or 0) > 0:
        notes.append(
            "** Records excluded by a human and by automation tools (records left unscreened "
            "when the prioritised screening's stopping rule was applied) are counted separately."
        )
    else:
        notes.append("** No automation tool excluded records at screening: a human excluded all.")
    pending = _pending_note(counts)
    if pending:
        notes.append(pending)
    notes.append(CITATION)
    return notes


def diagram_svg(counts: PrismaCounts, *, link: Link | None = None, title: str | None = None) -> str:
    """The PRISMA 2020 flow diagram of `counts` as a standalone SVG document (a string).

    `link(variable, key)` returns the URL of the records behind a count (or None): each box's
    number, and each per-source and per-reason line, is then an `<a href>`. Each box is a
    `<g class="box" id="box-{first variable}" data-cell="A2" data-variables="…">`; each count
    in it a `<g class="count" data-variable="…" [data-key="…"] data-n="…">`. Raises
    `PrismaRuleError` when the counts break a hard rule (PRISMA2020_FLOW.md §4).
    """
    check(counts)
    template, headers, boxes = _boxes(counts)
    update = template in ("T3", "T4")
    other = template in ("T2", "T4")

    columns = (["P"] if update else []) + ["A", "B"] + (["C", "D"] if other else [])
    col_x, x = {}, MARGIN + BAND_W + BAND_GAP
    for column in columns:
        col_x[column] = x
        x += BOX_W + GAP
    width = x - GAP + MARGIN
    last_row = 6 if update else 5

    wrapped = {box.cell: _wrap_box(box) for box in boxes}
    heads = {h.cell: wrap(h.text, h.span * BOX_W + (h.span - 1) * GAP - 2 * PAD_X, bold=True)
             for h in headers}  # fmt: skip
    row_h = {0: max(HEADER_H, max(len(rows) * LINE + 2 * PAD_Y for rows in heads.values()))}
    for row in range(1, last_row + 1):
        in_row = [
            _text_height(wrapped[b.cell]) + 2 * PAD_Y for b in boxes if b.cell[1:] == str(row)
        ]
        row_h[row] = max([MIN_BOX_H, *in_row])
    # Bands: Identification = R1, Screening = R2-R4, Included = R5 (and R6), each at least as
    # tall as its label (the last row of a band grows when it is not).
    bands = (
        ("identification", "Identification", 1, 1),
        ("screening", "Screening", 2, 4),
        ("included", "Included", 5, last_row),
    )
    for _band_id, label, first, last in bands:
        span = sum(row_h[r] for r in range(first, last + 1)) + (last - first) * ROW_GAP
        need = text_width(label, FONT, bold=True) + 4 * PAD_Y
        if span < need:
            row_h[last] += need - span
    row_y, y = {}, MARGIN
    for row in range(last_row + 1):
        row_y[row] = y
        y += row_h[row] + (HEADER_GAP if row == 0 else ROW_GAP)
    bottom = y - ROW_GAP

    placed = {
        b.cell: _Placed(b, col_x[b.cell[0]], row_y[int(b.cell[1:])], BOX_W,
                        row_h[int(b.cell[1:])], wrapped[b.cell])
        for b in boxes
    }  # fmt: skip

    notes = [wrap(note, width - 2 * MARGIN, NOTE_FONT) for note in _footnotes(counts)]
    notes_top = bottom + 0.2 * INCH
    height = notes_top + sum(len(n) for n in notes) * NOTE_LINE + 2 * (len(notes) - 1) + MARGIN

    title = _clean(title or "PRISMA 2020 flow diagram")
    desc = " ".join(
        " ".join(line.text.replace("\u00a0", " ") for line in placed[cell].box.lines)
        for cell in sorted(placed, key=lambda c: (int(c[1:]), c[0]))
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_num(width)}pt" '
        f'height="{_num(height)}pt" viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
        f'aria-labelledby="prisma-title prisma-desc" font-family="{FONT_FAMILY}" '
        f'font-size="{_num(FONT)}" data-template="{template}" class="prisma-diagram">',
        f'<title id="prisma-title">{escape(title)}</title>',
        f'<desc id="prisma-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{_num(width)}" height="{_num(height)}" fill="{WHITE}"/>',
    ]

    for band_id, label, first, last in bands:
        top, end = row_y[first], row_y[last] + row_h[last]
        cx, cy = MARGIN + BAND_W / 2, (top + end) / 2
        out.append(
            f'<g id="band-{band_id}" class="band"><rect x="{_num(MARGIN)}" y="{_num(top)}" '
            f'width="{_num(BAND_W)}" height="{_num(end - top)}" rx="6" ry="6" fill="{BLUE}" '
            f'stroke="none"/><text transform="translate({_num(cx)},{_num(cy)}) rotate(-90)" '
            f'x="0" y="{_num(0.36 * FONT)}" text-anchor="middle" font-weight="bold">'
            f"{label}</text></g>"
        )

    for header in headers:
        hx = col_x[header.cell[0]]
        hw = header.span * BOX_W + (header.span - 1) * GAP
        rows = heads[header.cell]
        top = row_y[0] + (row_h[0] - len(rows) * LINE) / 2
        out.append(
            f'<g id="header-{header.cell}" class="header"><rect x="{_num(hx)}" '
            f'y="{_num(row_y[0])}" width="{_num(hw)}" height="{_num(row_h[0])}" rx="6" ry="6" '
            f'fill="{header.fill}" stroke="{BLACK}" stroke-width="1"/>'
        )
        for i, row in enumerate(rows):
            out.append(
                f'<text x="{_num(hx + hw / 2)}" y="{_num(_baseline(top + i * LINE))}" '
                f'text-anchor="middle" font-weight="bold">{escape(row)}</text>'
            )
        out.append("</g>")

    for cell in sorted(placed, key=lambda c: (int(c[1:]), columns.index(c[0]))):
        p = placed[cell]
        box = p.box
        variables = box.variables
        tooltip = box.title + (f" ({', '.join(variables)})" if variables else "")
        out.append(
            f'<g id="{_attr(box.box_id)}" class="box" data-cell="{cell}" '
            f'data-variables="{_attr(" ".join(variables))}"><title>{escape(tooltip)}</title>'
            f'<rect x="{_num(p.x)}" y="{_num(p.y)}" width="{_num(p.w)}" height="{_num(p.h)}" '
            f'fill="{box.fill}" stroke="{BLACK}" stroke-width="1"/>'
        )
        top = p.y + (p.h - _text_height(p.rows)) / 2
        for line, rows in p.rows:
            href = None
            if link is not None and line.variable is not None and line.n is not None:
                href = link(line.variable, line.key)
            top = _render_line(out, line, rows, p.x + PAD_X, top, href)
        out.append("</g>")

    out.append('<g id="prisma-arrows" class="arrows">')
    for a, b in (("A1", "B1"), ("A2", "B2"), ("A3", "B3"), ("A4", "B4"), ("C3", "D3"),
                 ("C4", "D4")):  # fmt: skip
        if a in placed and b in placed:
            pa, pb = placed[a], placed[b]
            out.append(_arrow([(pa.right, pa.cy), (pb.x, pa.cy)]))
    for a, b in (("A1", "A2"), ("A2", "A3"), ("A3", "A4"), ("A4", "A5"), ("C1", "C3"),
                 ("C3", "C4"), ("A5", "A6")):  # fmt: skip
        if a in placed and b in placed:
            pa, pb = placed[a], placed[b]
            out.append(_arrow([(pa.cx, pa.bottom), (pa.cx, pb.y)]))
    if "C4" in placed and "A5" in placed:  # elbow: down to R5, then left into A5
        c4, a5 = placed["C4"], placed["A5"]
        out.append(_arrow([(c4.cx, c4.bottom), (c4.cx, a5.cy), (a5.right, a5.cy)]))
    if "P1" in placed and "A6" in placed:  # elbow: down to R6, then right into A6
        p1, a6 = placed["P1"], placed["A6"]
        out.append(_arrow([(p1.cx, p1.bottom), (p1.cx, a6.cy), (a6.x, a6.cy)]))
    out.append("</g>")

    out.append(f'<g id="prisma-footnotes" class="footnotes" font-size="{_num(NOTE_FONT)}">')
    top = notes_top
    for rows in notes:
        for row in rows:
            out.append(
                f'<text x="{_num(MARGIN)}" y="{_num(_baseline(top, NOTE_LINE, NOTE_FONT))}">'
                f"{escape(row)}</text>"
            )
            top += NOTE_LINE
        top += 2
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# PNG and PDF ------------------------------------------------------------------------------------


def to_png(svg: str, dpi: int = 300) -> bytes:
    """The diagram as a PNG at `dpi` (the SVG's size is in points), with its resolution stored
    (a pHYs chunk) so that a journal's checks read it."""
    import cairosvg

    png = cairosvg.svg2png(bytestring=svg.encode("utf-8"), dpi=dpi)
    return _with_phys(png, dpi)


def _with_phys(png: bytes, dpi: int) -> bytes:
    """Insert (or replace) the pHYs chunk after IHDR: pixels per metre, unit metre."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        chunks.append((kind, png[pos : pos + 12 + length]))
        pos += 12 + length
    ppm = round(dpi / 0.0254)
    data = b"pHYs" + struct.pack(">IIB", ppm, ppm, 1)
    phys = struct.pack(">I", 9) + data + struct.pack(">I", zlib.crc32(data) & 0xFFFFFFFF)
    out = [png[:8]]
    for kind, chunk in chunks:
        if kind == b"pHYs":
            continue
        out.append(chunk)
        if kind == b"IHDR":
            out.append(phys)
    return b"".join(out)


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate)\s*\(([^)]*)\)")
_SVG_TITLE = re.compile(r"<title[^>]*>([^<]*)</title>")


def to_pdf(svg: str) -> bytes:
    """The diagram as a vector PDF, byte for byte the same for the same SVG.

    cairo writes the time of rendering as /CreationDate (cairo 1.16 ignores
    SOURCE_DATE_EPOCH); an empty creation date in the document metadata makes it leave the
    entry out. Should a cairo version still write a date, it is overwritten in place with the
    same number of bytes (so the cross-reference offsets stay right).
    """
    import cairocffi
    from cairosvg.surface import PDFSurface

    title = _SVG_TITLE.search(svg)

    class _Surface(PDFSurface):
        def _create_surface(self, width, height):
            surface, width, height = super()._create_surface(width, height)
            if hasattr(surface, "set_metadata"):
                surface.set_metadata(cairocffi.PDF_METADATA_CREATE_DATE, "")
                surface.set_metadata(cairocffi.PDF_METADATA_MOD_DATE, "")
                if title:
                    surface.set_metadata(cairocffi.PDF_METADATA_TITLE, unescape(title.group(1)))
            return surface, width, height

    pdf = _Surface.convert(bytestring=svg.encode("utf-8"))
    return _PDF_DATE.sub(_epoch_date, pdf)


def _epoch_date(match: re.Match) -> bytes:
    """The date rewritten as 1 January 1970, 00:00 UTC, keeping its length and layout."""
    digits = iter(b"19700101000000")
    fixed = re.sub(rb"\d", lambda _d: bytes([next(digits, ord("0"))]), match.group(2))
    return b"/" + match.group(1) + b" (" + fixed + b")"


# For the views and the command -----------------------------------------------------------------

FORMATS = {
    "svg": "image/svg+xml",
    "png": "image/png",
    "pdf": "application/pdf",
}
DPIS = (300, 600)


def records_link(review) -> Link:
    """`link(variable, key)` for a review: its records page filtered to the count
    (`/reviews/<slug>/records/?count=…&key=…`, as the dashboard links), or None for a count
    the records page does not know."""
    base = reverse("screening:records", args=[review.slug])

    def link(variable: str, key: str | None = None) -> str | None:
        if variable not in VARIABLES:
            return None
        return f"{base}?{count_query(variable, key)}"

    return link


@dataclass
class DiagramPage:
    """What the diagram page shows: the SVG, or why it is not drawn; the rules' statuses."""

    counts: PrismaCounts
    template: str
    svg: str | None
    error: PrismaRuleError | None
    rules: list[RuleResult]
    warnings: list[RuleResult]  # soft rules that fail: drawn, but needs a note
    in_progress: list[RuleResult]
    pending: list  # screening.record_selectors.Line: work still to do, with its records


def diagram_page(review, *, link: Link | None = None) -> DiagramPage:
    counts = prisma_counts(review)
    rules = diagram_rules(counts)
    svg = error = None
    try:
        svg = review_diagram_svg(review, counts=counts, link=link)
    except PrismaRuleError as exc:
        error = exc
    return DiagramPage(
        counts=counts,
        template=template_of(counts),
        svg=svg,
        error=error,
        rules=rules,
        warnings=[r for r in rules if r.status == "fail" and r.severity == "soft"],
        in_progress=[r for r in rules if r.status == "in progress"],
        pending=pending_lines(counts),
    )


def review_diagram_svg(
    review, *, counts: PrismaCounts | None = None, link: Link | None = None
) -> str:
    """The review's diagram (its live counts, or `counts` when already computed), titled with
    the review's title. Raises PrismaRuleError (a DiagramError)."""
    counts = prisma_counts(review) if counts is None else counts
    return diagram_svg(counts, link=link, title=f"PRISMA 2020 flow diagram: {review.title}")


def diagram_file(
    review, fmt: str, *, dpi: int = 300, counts: PrismaCounts | None = None
) -> tuple[bytes, str, str]:
    """(content, content type, file name) of the review's diagram in `fmt` (svg, png, pdf),
    without links (a figure for a manuscript); `counts` when already computed. Raises
    PrismaRuleError, and ValueError for an unknown format."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    svg = review_diagram_svg(review, counts=counts)
    if fmt == "svg":
        content = svg.encode("utf-8")
    elif fmt == "png":
        content = to_png(svg, dpi=dpi)
    else:
        content = to_pdf(svg)
    return content, FORMATS[fmt], f"prisma-{review.slug}.{fmt}"


def template_csv(review) -> tuple[bytes, str]:
    """The PRISMA2020 R package's CSV template of the review's counts and its file name.
    Raises PrismaRuleError (the package would draw the wrong diagram from it)."""
    counts = prisma_counts(review)
    check(counts)
    return to_template_csv(counts).encode("utf-8"), f"prisma-{review.slug}.csv"
