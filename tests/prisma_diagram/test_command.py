"""`manage.py prisma_diagram REVIEW --format svg|png|pdf --output FILE`."""

import pytest
from django.core.management import CommandError, call_command

from analysis import prisma_diagram
from analysis.models import Study, StudyReport

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("fmt", ["svg", "png", "pdf"])
def test_writes_each_format(known_review, tmp_path, capsys, fmt):
    review = known_review.review
    out = tmp_path / f"figure.{fmt}"
    call_command("prisma_diagram", review.slug, "--format", fmt, "--output", str(out))
    expected, _type, _name = prisma_diagram.diagram_file(review, fmt)
    assert out.read_bytes() == expected
    assert f"Wrote {out} ({fmt.upper()}, template T1" in capsys.readouterr().out


def test_by_id_with_the_format_from_the_extension(known_review, tmp_path):
    review = known_review.review
    out = tmp_path / "figure.PDF"
    call_command("prisma_diagram", str(review.pk), "-o", str(out))
    assert out.read_bytes().startswith(b"%PDF-")
    out = tmp_path / "figure.png"
    call_command("prisma_diagram", review.slug, "-o", str(out), "--dpi", "600")
    assert out.read_bytes() == prisma_diagram.diagram_file(review, "png", dpi=600)[0]


def test_an_unknown_review(db, tmp_path):
    with pytest.raises(CommandError, match="No review with id or slug 'nope'"):
        call_command("prisma_diagram", "nope", "--output", str(tmp_path / "x.svg"))


def test_an_unknown_format(known_review, tmp_path):
    with pytest.raises(CommandError, match="give --format svg, png or pdf"):
        call_command("prisma_diagram", "known", "--output", str(tmp_path / "x.gif"))
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("prisma_diagram", "known", "--format", "gif", "--output", "x")


def test_failing_rules_write_nothing_and_name_the_rule(known_review, tmp_path):
    study = Study.objects.get(review=known_review.review, label="Smith 2020")
    StudyReport.objects.create(study=study, record=known_review.records["P3"])
    out = tmp_path / "figure.svg"
    with pytest.raises(CommandError, match=r"H9 fails \(new_studies ≤ new_reports") as info:
        call_command("prisma_diagram", "known", "--output", str(out))
    assert "1 study report links a record without a current full-text include" in str(info.value)
    assert not out.exists()


def test_work_still_to_do_is_a_warning(known_review, tmp_path, capsys):
    from review import import_service
    from review.models import Source
    from tests.prisma_diagram.conftest import ris

    source = Source.objects.get(review=known_review.review, name="Embase")
    import_service.import_now(review=known_review.review, source=source, filename="more.ris",
                              content=ris([("N1", "10.1000/n1")]))  # fmt: skip
    call_command("prisma_diagram", "known", "--output", str(tmp_path / "figure.svg"))
    assert "Pending: S3 is in progress: 1 record awaits title/abstract screening." in (
        capsys.readouterr().err
    )
