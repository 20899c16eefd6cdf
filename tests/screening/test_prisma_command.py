import csv
import io
import json

import pytest
from django.core.management import CommandError, call_command

from screening.prisma import PrismaCounts, prisma_counts, to_template_csv
from tests.screening.conftest import EXCLUDE, FT, KNOWN, TA, add_result


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("prisma_counts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_table(prisma_review):
    review = prisma_review.review
    out, err = run(review.slug)
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"PRISMA 2020 counts: {review.title} ({review.slug})"
    width = 70

    def row(label, n, indent=1):
        return f"{'  ' * indent + label:<{width}}{n:>10}"

    for expected in (
        row("Records identified from databases", "11"),
        row("Embase", "5", 2),
        row("PubMed", "6", 2),
        row("Records identified from registers", "3"),
        row("ClinicalTrials.gov", "3", 2),
        row("Records identified from websites", "not done"),
        row("Records identified from citation searching", "4"),
        row("Duplicate records removed", "3"),
        row("Records screened", "9"),
        row("Records excluded", "3"),
        row("by a human", "2", 2),
        row("by automation tools", "1", 2),
        row("Reports sought for retrieval", "6"),
        row("Reports excluded", "3"),
        row("Wrong study design", "1", 2),
        row("Wrong population", "2", 2),
        row("Reports sought for retrieval", "3"),
        row("Studies included in review", "2"),
        row("Reports of included studies", "3"),
        row("Records awaiting title/abstract screening", "0"),
        "  H4 pass",
        "  H9 pass",
    ):
        assert expected in lines, expected
    # Reasons are listed in their position order.
    assert lines.index(row("Wrong study design", "1", 2)) < lines.index(
        row("Wrong population", "2", 2)
    )


def test_table_by_id_and_thousands_separators(review):
    counts = PrismaCounts(database_results=1234)
    assert f"{counts.database_results:,}" == "1,234"
    out, _ = run(str(review.pk))
    assert "(no other-methods source)" in out
    assert "H7 not applicable: no other-methods source." in out


def test_json(prisma_review):
    out, _ = run(prisma_review.review.slug, "--json")
    data = json.loads(out)
    assert data["review"]["slug"] == prisma_review.review.slug
    for variable, expected in KNOWN.items():
        assert data["counts"][variable] == expected, variable
    assert list(data["counts"]["dbr_excluded"]) == ["Wrong study design", "Wrong population"]
    assert data["counts"]["database_specific_results"] == {"Embase": 5, "PubMed": 6}
    assert data["counts"]["dbr_incl"] == 2
    assert data["pending"] == {"records": 0, "dbr_reports": 0, "other_reports": 0, "study_links": 0}
    assert [(r["rule"], r["status"]) for r in data["rules"]] == [
        (rule, "pass") for rule in ("H1", "H2", "S3", "H4", "H5", "H7", "H8", "H9")
    ]


def test_csv(prisma_review):
    out, _ = run(prisma_review.review.slug, "--csv")
    assert out == to_template_csv(prisma_counts(prisma_review.review))


def test_hard_failure_exits_non_zero_naming_the_rule(prisma_review):
    add_result(prisma_review.records["P5"], FT, EXCLUDE)
    with pytest.raises(CommandError) as raised:
        run(prisma_review.review.slug)
    assert str(raised.value) == (
        "H4 fails: reports assessed (6) should be reports sought (6) − not retrieved (1) = 5; "
        "1 full-text result is on records not sought for retrieval."
    )
    assert raised.value.returncode == 1


def test_json_still_printed_before_a_failure(prisma_review):
    add_result(prisma_review.records["P5"], FT, EXCLUDE)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"^H4 fails: "):
        call_command("prisma_counts", prisma_review.review.slug, "--json", stdout=out)
    rules = {r["rule"]: r["status"] for r in json.loads(out.getvalue())["rules"]}
    assert rules["H4"] == "fail"


def test_soft_failure_warns_and_fails_only_when_strict(prisma_review):
    add_result(prisma_review.records["E1"], TA, EXCLUDE)
    message = (
        "S3 fails: reports sought (6) should be records screened (9) − records excluded (4) = 5; "
        "1 title/abstract result is on records removed before screening (duplicates or removed)."
    )
    _, err = run(prisma_review.review.slug)
    assert err == f"Warning: {message}\n"
    with pytest.raises(CommandError) as raised:
        run(prisma_review.review.slug, "--strict")
    assert str(raised.value) == message


def test_unknown_review(db):
    with pytest.raises(CommandError, match="No review with id or slug 'nope'"):
        run("nope")


# The PRISMA2020 package's CSV template --------------------------------------------------------


def test_template_csv_layout_and_values(prisma_review):
    counts = prisma_counts(prisma_review.review)
    counts.database_specific_results = {"Web of Science; Core, Collection": 5, "PubMed": 6}
    rows = list(csv.DictReader(io.StringIO(to_template_csv(counts))))
    assert list(rows[0]) == [
        "data",
        "node",
        "box",
        "description",
        "boxtext",
        "tooltips",
        "url",
        "n",
    ]
    n = {row["data"]: row["n"] for row in rows if row["data"] != "NA"}
    assert n["database_results"] == "11"
    assert n["database_specific_results"] == "Web of Science Core Collection, 5; PubMed, 6"
    assert n["dbr_excluded"] == "Wrong study design, 1; Wrong population, 2"
    assert n["other_excluded"] == "Wrong population, 1"
    assert n["website_results"] == "NA"  # null: no website searched, box omitted
    assert n["citations_results"] == "4"
    assert n["previous_studies"] == "NA"
    assert n["new_studies"] == "2"
    assert n["new_reports"] == "3"
    # Same rows in the same order as the package's inst/extdata/PRISMA.csv.
    assert [(row["data"], row["node"], row["box"]) for row in rows][:8] == [
        ("NA", "node4", "prevstud"),
        ("previous_studies", "node5", "box1"),
        ("previous_reports", "NA", "box1"),
        ("NA", "node6", "newstud"),
        ("database_results", "node7", "box2"),
        ("database_specific_results", "NA", "box2"),
        ("register_results", "NA", "box2"),
        ("register_specific_results", "NA", "box2"),
    ]
    assert len(rows) == 32
    boxtext = {row["data"]: row["boxtext"] for row in rows}
    assert boxtext["duplicates"] == "Duplicate records removed"
    assert boxtext["new_studies"] == "Studies included in review"


def test_template_csv_without_other_methods(review):
    rows = list(csv.DictReader(io.StringIO(to_template_csv(prisma_counts(review)))))
    n = {row["data"]: row["n"] for row in rows if row["data"] != "NA"}
    assert n["other_sought_reports"] == "NA"
    assert n["other_excluded"] == "NA"
    assert n["dbr_excluded"] == ""
    assert n["database_results"] == "0"
