"""The diagram as a pure function of a `PrismaCounts`: labels, templates, null ≠ 0, failures,
text that fits, arrows that meet their boxes."""

import re
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from analysis import prisma_diagram
from analysis.prisma_diagram import PrismaRuleError, diagram_svg, template_of, text_width
from screening.prisma import NO_REASON, Pending, PrismaCounts
from tests.prisma_diagram.conftest import SVG, box, counts_drawn, line_text, parse

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def worked_example(**changes) -> PrismaCounts:
    """PRISMA2020_FLOW.md §6 (template T2)."""
    counts = PrismaCounts(
        database_results=3000,
        register_results=0,
        duplicates=1100,
        records_screened=1900,
        records_excluded=1840,
        records_excluded_human=1840,
        dbr_sought_reports=60,
        dbr_notretrieved_reports=3,
        dbr_assessed=57,
        dbr_excluded={"Wrong population": 18, "Wrong intervention": 12,
                      "Wrong study design": 8, "No relevant outcome": 3},
        citations_results=15,
        other_sought_reports=6,
        other_notretrieved_reports=1,
        other_assessed=5,
        other_excluded={"Wrong study design": 1, "Wrong population": 1},
        new_studies=17,
        new_reports=19,
        database_specific_results={"PubMed": 1200, "PsycINFO": 800, "Web of Science": 900,
                                   "Cochrane": 100},
        register_specific_results={},
        other_duplicates=0,
        other_removed=0,
        pending=Pending(other_reports=0),
    )  # fmt: skip
    return replace(counts, **changes)


def box_lines(svg: str, box_id: str) -> list[str]:
    """A box's logical lines as drawn (a wrapped line's rows joined by a space)."""
    g = box(svg, box_id)
    assert g is not None, box_id
    return [line_text(child) for child in g if child.tag == f"{SVG}g"]


def test_the_worked_example_box_by_box():
    svg = diagram_svg(worked_example())
    assert parse(svg).get("data-template") == "T2"
    headers = {g.get("id"): line_text(g) for g in parse(svg).iter(f"{SVG}g")
               if (g.get("id") or "").startswith("header-")}  # fmt: skip
    assert headers == {
        "header-A0": "Identification of studies via databases and registers",
        "header-C0": "Identification of studies via other methods",
    }
    assert box_lines(svg, "box-database_results") == [
        "Records identified from*:",
        "Databases (n = 3,000):",
        "PubMed (n = 1,200)",
        "PsycINFO (n = 800)",
        "Web of Science (n = 900)",
        "Cochrane (n = 100)",
        "Registers (n = 0)",
    ]
    assert box_lines(svg, "box-duplicates") == [
        "Records removed before screening:",
        "Duplicate records removed (n = 1,100)",
        "Records marked as ineligible by automation tools (n = 0)",
        "Records removed for other reasons (n = 0)",
    ]
    assert box_lines(svg, "box-citations_results") == [
        "Records identified from:",
        "Citation searching (n = 15)",
    ]
    expected = {
        "box-records_screened": ["Records screened (n = 1,900)"],
        "box-records_excluded": ["Records excluded** (n = 1,840)"],  # no split: no automation
        "box-dbr_sought_reports": ["Reports sought for retrieval (n = 60)"],
        "box-dbr_notretrieved_reports": ["Reports not retrieved (n = 3)"],
        "box-other_sought_reports": ["Reports sought for retrieval (n = 6)"],
        "box-other_notretrieved_reports": ["Reports not retrieved (n = 1)"],
        "box-dbr_assessed": ["Reports assessed for eligibility (n = 57)"],
        "box-other_assessed": ["Reports assessed for eligibility (n = 5)"],
        "box-dbr_excluded": ["Reports excluded:", "Wrong population (n = 18)",
                             "Wrong intervention (n = 12)", "Wrong study design (n = 8)",
                             "No relevant outcome (n = 3)"],
        "box-other_excluded": ["Reports excluded:", "Wrong study design (n = 1)",
                               "Wrong population (n = 1)"],
        "box-new_studies": ["Studies included in review (n = 17)",
                            "Reports of included studies (n = 19)"],
    }  # fmt: skip
    for box_id, lines in expected.items():
        assert box_lines(svg, box_id) == lines, box_id
    cells = {g.get("id"): g.get("data-cell") for g in parse(svg).iter(f"{SVG}g")
             if g.get("data-cell")}  # fmt: skip
    assert cells["box-other_sought_reports"] == "C3" and cells["box-other_excluded"] == "D4"
    assert "etc." not in svg
    assert "Page MJ, McKenzie JE, Bossuyt PM" in svg  # the source line


def test_thousands_separators():
    counts = PrismaCounts(
        database_results=12345,
        database_specific_results={"Embase": 12000, "MEDLINE": 345},
        duplicates=345,
        records_screened=12000,
        records_excluded=11000,
        records_excluded_human=11000,
        dbr_sought_reports=1000,
        dbr_notretrieved_reports=0,
        dbr_assessed=1000,
        dbr_excluded={"Wrong population": 990},
        new_studies=9,
        new_reports=10,
    )
    svg = diagram_svg(counts)
    assert counts_drawn(svg)["database_results"] == 12345
    assert box_lines(svg, "box-database_results")[1:3] == [
        "Databases (n = 12,345):",
        "Embase (n = 12,000)",
    ]
    assert box_lines(svg, "box-records_screened") == ["Records screened (n = 12,000)"]
    assert box_lines(svg, "box-records_excluded") == ["Records excluded** (n = 11,000)"]
    assert box_lines(svg, "box-dbr_assessed") == ["Reports assessed for eligibility (n = 1,000)"]
    assert box_lines(svg, "box-dbr_excluded")[1] == "Wrong population (n = 990)"
    assert prisma_diagram.fmt(1234567) == "1,234,567"


def test_null_is_not_zero():
    # A website search that found nothing is drawn "(n = 0)"; organisations never searched
    # (null) get no line.
    counts = worked_example(website_results=0, citations_results=15)
    lines = box_lines(diagram_svg(counts), "box-website_results")
    assert lines == ["Records identified from:", "Websites (n = 0)", "Citation searching (n = 15)"]


def test_no_other_methods_no_column():
    counts = worked_example(
        citations_results=None, other_sought_reports=None, other_notretrieved_reports=None,
        other_assessed=None, other_excluded=None, new_reports=16, new_studies=15,
        other_duplicates=None, other_removed=None, pending=Pending(),
    )  # fmt: skip
    svg = diagram_svg(counts)
    assert template_of(counts) == "T1"
    assert parse(svg).get("data-template") == "T1"
    assert box(svg, "header-C0") is None
    assert not any((g.get("data-cell") or "X")[0] in "CD" for g in parse(svg).iter(f"{SVG}g"))
    width = float(parse(svg).get("viewBox").split()[2])
    assert width < float(parse(diagram_svg(worked_example())).get("viewBox").split()[2]) - 400


def test_automation_exclusions_split_the_excluded_box():
    counts = worked_example(records_excluded_human=1800, records_excluded_automation=40)
    svg = diagram_svg(counts)
    assert box_lines(svg, "box-records_excluded") == [
        "Records excluded** (n = 1,840)",
        "by a human (n = 1,800)",
        "by automation tools (n = 40)",
    ]
    assert "** Records excluded by a human and by automation tools" in svg


def test_one_source_is_named_in_a_footnote_not_listed():
    counts = worked_example(database_specific_results={"PubMed": 3000})
    svg = diagram_svg(counts)
    assert box_lines(svg, "box-database_results") == [
        "Records identified from*:",
        "Databases (n = 3,000)",
        "Registers (n = 0)",
    ]
    assert "* One database or register was searched: PubMed." in svg


def test_no_reports_excluded():
    counts = worked_example(dbr_excluded={}, dbr_assessed=16, dbr_sought_reports=19,
                            records_excluded=1881, records_excluded_human=1881)  # fmt: skip
    assert box_lines(diagram_svg(counts), "box-dbr_excluded") == ["Reports excluded (n = 0)"]


def test_reports_excluded_without_a_reason():
    counts = worked_example(dbr_excluded={"Wrong population": 38, NO_REASON: 3})
    lines = box_lines(diagram_svg(counts), "box-dbr_excluded")
    assert lines[-1] == "No reason recorded (n = 3)"


@dataclass
class UpdatedCounts(PrismaCounts):
    """`PrismaCounts` has no previous-version counts yet; the diagram reads them if set."""

    previous_studies: int | None = None
    previous_reports: int | None = None
    total_studies: int | None = None
    total_reports: int | None = None


def updated(**changes) -> UpdatedCounts:
    base = {name: getattr(worked_example(), name) for name in PrismaCounts.__dataclass_fields__}
    return UpdatedCounts(**{**base, "previous_studies": 10, "previous_reports": 12,
                            "total_studies": 27, "total_reports": 31, **changes})  # fmt: skip


def test_an_updated_review_uses_template_t4():
    counts = updated()
    svg = diagram_svg(counts)
    assert template_of(counts) == "T4"
    assert line_text(box(svg, "header-P0")) == "Previous studies"
    assert line_text(box(svg, "header-A0")) == (
        "Identification of new studies via databases and registers"
    )
    assert line_text(box(svg, "header-C0")) == "Identification of new studies via other methods"
    assert box_lines(svg, "box-previous_studies") == [
        "Studies included in previous version of review (n = 10)",
        "Reports of studies included in previous version of review (n = 12)",
    ]
    assert box_lines(svg, "box-new_studies") == [
        "New studies included in review (n = 17)",
        "Reports of new included studies (n = 19)",
    ]
    assert box_lines(svg, "box-total_studies") == [
        "Total studies included in review (n = 27)",
        "Reports of total included studies (n = 31)",
    ]
    assert box(svg, "box-total_studies").get("data-cell") == "A6"
    no_other = updated(citations_results=None, other_sought_reports=None,
                       other_notretrieved_reports=None, other_assessed=None,
                       other_excluded=None, new_reports=16, new_studies=15,
                       total_studies=25, total_reports=28)  # fmt: skip
    assert template_of(no_other) == "T3"


def test_updated_totals_that_do_not_add_up_warn():
    counts = updated(total_studies=30)
    assert [r.rule for r in prisma_diagram.check(counts)] == ["S10"]
    diagram_svg(counts)  # drawn; the page asks for a note
    with pytest.raises(PrismaRuleError, match="H9"):
        diagram_svg(updated(previous_studies=13))


# Failures -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "rule", "equation"),
    [
        ({"database_specific_results": {"PubMed": 1}}, "H1", "database_results = Σ"),
        ({"records_screened": 1901}, "H2", "records_screened = database_results + "),
        ({"dbr_assessed": 56, "dbr_excluded": {"Wrong population": 38}}, "H4",
         "dbr_assessed = dbr_sought_reports − dbr_notretrieved_reports"),
        ({"dbr_excluded": {"Wrong population": 60}}, "H5", "dbr_assessed − Σ dbr_excluded ≥ 0"),
        ({"other_assessed": 4}, "H7", "other_assessed = other_sought_reports"),
        ({"new_reports": 20}, "H8", "new_reports = (dbr_assessed − Σ dbr_excluded)"),
        ({"new_studies": 20}, "H9", "new_studies ≤ new_reports"),
        ({"duplicates": -1, "records_screened": 3001}, "V", "non-negative integer"),
    ],
)  # fmt: skip
def test_a_hard_rule_failure_raises_naming_the_rule_and_its_equation(changes, rule, equation):
    counts = worked_example(**changes)
    with pytest.raises(PrismaRuleError) as info:
        diagram_svg(counts)
    message = str(info.value)
    assert message.startswith("The PRISMA 2020 flow diagram is not drawn")
    assert f"{rule} fails ({EQUATION_START[rule]}" in message
    assert equation in message
    assert rule in [f.rule for f in info.value.failures]


EQUATION_START = {rule: text.split(" ")[0] for rule, text in prisma_diagram.EQUATIONS.items()}


def test_a_soft_rule_failure_draws_with_a_warning():
    counts = worked_example(dbr_sought_reports=61, dbr_notretrieved_reports=4)  # S3 only
    warnings = prisma_diagram.check(counts)
    assert [(w.rule, w.severity) for w in warnings] == [("S3", "soft")]
    assert counts_drawn(diagram_svg(counts))["dbr_sought_reports"] == 61


def test_in_progress_counts_are_drawn_with_a_note():
    counts = worked_example(records_excluded=1830, records_excluded_human=1830,
                            pending=Pending(records=10, other_reports=0))  # fmt: skip
    assert prisma_diagram.check(counts) == []
    svg = diagram_svg(counts)
    assert "Review in progress, counts provisional: 10 records awaiting title/abstract" in svg


# Drawing details ----------------------------------------------------------------------------------


def test_the_same_counts_give_the_same_string():
    link = lambda variable, key=None: f"/r?count={variable}&key={key}"  # noqa: E731
    assert diagram_svg(worked_example(), link=link) == diagram_svg(worked_example(), link=link)
    assert diagram_svg(worked_example()) == diagram_svg(worked_example())


def test_standalone_svg_without_scripts_or_external_resources():
    svg = diagram_svg(worked_example(), title="Figure 1 <draft> & co")
    root = parse(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Figure 1 <draft> & co"
    assert "Records screened (n = 1,900)" in root.find(f"{SVG}desc").text
    assert root.get("font-family") == "DejaVu Sans, sans-serif"
    assert root.get("width").endswith("pt") and root.get("height").endswith("pt")
    lowered = svg.lower()
    for forbidden in ("<script", "onload", "@import", "<link", "url(", "xlink:href", "<image"):
        assert forbidden not in lowered, forbidden


def test_names_are_escaped_and_kept_whole():
    counts = worked_example(
        dbr_excluded={"Wrong <population> & setting": 38, 'Says "no"': 3},
        database_specific_results={"PubMed, via NCBI; 2024": 1200, "PsycINFO": 800,
                                   "Web of Science": 900, "Cochrane": 100},
    )  # fmt: skip
    svg = diagram_svg(counts, link=lambda variable, key=None: f"/r?count={variable}&key={key}")
    root = parse(svg)  # valid XML
    keys = [g.get("data-key") for g in root.iter(f"{SVG}g") if g.get("data-key")]
    assert "Wrong <population> & setting" in keys and 'Says "no"' in keys
    assert "PubMed, via NCBI; 2024" in keys
    hrefs = [a.get("href") for a in root.iter(f"{SVG}a")]
    assert "/r?count=dbr_excluded&key=Wrong <population> & setting" in hrefs


def test_links_wrap_the_numbers_and_the_per_source_and_reason_lines():
    svg = diagram_svg(
        worked_example(), link=lambda variable, key=None: f"/r/{variable}/{key or ''}"
    )
    for g in parse(svg).iter(f"{SVG}g"):
        if g.get("data-variable") is None:
            continue
        anchors = list(g.iter(f"{SVG}a"))
        linked = " ".join("".join(a.itertext()) for a in anchors)
        if g.get("data-key"):
            assert linked == line_text(g)  # the whole line
        else:
            assert re.fullmatch(r"\(n = [\d,]+\):?", linked), linked  # the number
        assert {a.get("href") for a in anchors} == {
            f"/r/{g.get('data-variable')}/{g.get('data-key') or ''}"
        }
    no_links = diagram_svg(worked_example(), link=lambda variable, key=None: None)
    assert "<a " not in no_links and no_links == diagram_svg(worked_example())


def _rects(svg):
    """(box or header id, x, y, width, height) of every box and header."""
    out = []
    for g in parse(svg).iter(f"{SVG}g"):
        if g.get("class") in ("box", "header"):
            rect = g.find(f"{SVG}rect")
            out.append((g.get("id"), *(float(rect.get(a)) for a in ("x", "y", "width", "height"))))
    return out


LONG = worked_example(
    dbr_excluded={
        "Wrong population: adults over 65 years living in long-term residential care": 18,
        "Pneumonoultramicroscopicsilicovolcanoconiosisandotherveryverylongwords": 12,
        "Wrong study design (non-randomised, before-after without a control group)": 8,
        "No relevant outcome": 3,
    },
    database_specific_results={"MEDLINE (Ovid) 1946 to present with daily update": 1200,
                               "PsycINFO": 800, "Web of Science Core Collection": 900,
                               "Cochrane Central Register of Controlled Trials": 100},
)  # fmt: skip


@pytest.mark.parametrize("counts", [worked_example(), LONG, updated()], ids=["T2", "long", "T4"])
def test_text_stays_inside_its_box(counts):
    svg = diagram_svg(counts)
    rects = {r[0]: r[1:] for r in _rects(svg)}
    font = None
    if DEJAVU.exists():
        from PIL import ImageFont

        font = ImageFont.truetype(str(DEJAVU), 1000)  # the real font, measured independently
    for g in parse(svg).iter(f"{SVG}g"):
        if g.get("class") not in ("box", "header"):
            continue
        x, y, w, h = rects[g.get("id")]
        bold = g.get("class") == "header"
        for text in g.iter(f"{SVG}text"):
            row = "".join(text.itertext())
            tx, ty = float(text.get("x")), float(text.get("y"))
            width = text_width(row, 10, bold=bold)
            if font is not None and not bold:
                assert width >= font.getlength(row) / 100 - 0.01, row  # our table is DejaVu's
            left = tx - width / 2 if text.get("text-anchor") == "middle" else tx
            assert x + 4 <= left and left + width <= x + w - 4, (g.get("id"), row)
            assert y + 8 <= ty <= y + h - 3, (g.get("id"), row)


def test_boxes_sit_on_the_grid_and_rows_line_up():
    svg = diagram_svg(worked_example())
    rects = {r[0]: r[1:] for r in _rects(svg)}
    a, b = rects["box-records_screened"], rects["box-records_excluded"]
    assert a[2] == b[2] == 252  # 3.5 inches
    assert b[0] - (a[0] + a[2]) == 36  # a 0.5-inch gap
    assert a[1] == b[1] and a[3] == b[3]  # a row takes its tallest box's height
    c4, d4 = rects["box-other_assessed"], rects["box-dbr_excluded"]
    assert c4[1] == d4[1] and c4[3] == d4[3]
    assert rects["header-A0"][2] == 540 and rects["header-A0"][3] >= 28.8  # 7.5 x 0.4 inches
    for box_id, (_x, _y, _w, h) in rects.items():
        if box_id.startswith("box-"):
            assert h >= 36, box_id  # at least 0.5 inch


def _arrowheads(svg):
    arrows = next(g for g in parse(svg).iter(f"{SVG}g") if g.get("id") == "prisma-arrows")
    paths = [p.get("d") for p in arrows.iter(f"{SVG}path")]
    lines, heads = paths[0::2], paths[1::2]
    return lines, [tuple(map(float, re.match(r"M([\d.]+),([\d.]+)", d).groups())) for d in heads]


@pytest.mark.parametrize(
    ("counts", "expected"), [(worked_example(), 13), (updated(), 15)], ids=["T2", "T4"]
)
def test_arrows_end_on_box_edges(counts, expected):
    svg = diagram_svg(counts)
    rects = [r for r in _rects(svg) if r[0].startswith("box-")]
    lines, tips = _arrowheads(svg)
    # §3: A1-A4 right and down (8), C1→C3, C3→D3, C3→C4, C4→D4, the C4→A5 elbow (13); T4 adds
    # the P1→A6 elbow and A5→A6 (15).
    assert len(tips) == expected

    def on_edge(px, py):
        for _id, x, y, w, h in rects:
            left_right = abs(px - x) < 0.01 or abs(px - (x + w)) < 0.01
            top_bottom = abs(py - y) < 0.01 or abs(py - (y + h)) < 0.01
            if (left_right and y <= py <= y + h) or (top_bottom and x <= px <= x + w):
                return True
        return False

    for tip in tips:
        assert on_edge(*tip), tip
    for d in lines:  # every line starts on a box edge too
        start = tuple(map(float, re.match(r"M([\d.]+),([\d.]+)", d).groups()))
        assert on_edge(*start), d
    elbows = [d for d in lines if d.count("L") == 2]
    assert len(elbows) == (2 if template_of(counts) == "T4" else 1)
