"""Finding 4: "Studies cannot be renamed, merged or deleted. Typing 'wang 2019' when 'Wang 2019'
exists creates a second study that then stays in the extraction list, sheet and ZIP forever."
A label that differs only in case or spacing reuses the study; a lead renames, merges (settling
conflicting values on a confirmation page) and deletes studies; each change is logged."""

import io
import zipfile

import pytest
from django.urls import reverse

from analysis import extraction
from analysis.exports import build_zip
from analysis.models import (
    EffectData,
    Moderator,
    ModeratorValue,
    Study,
    StudyEvent,
    StudyReport,
)
from screening import services
from screening.models import Retrieval
from tests import factories
from tests.screening_flow.helpers import FT, vote

BINARY = {"ai": "4", "n1i": "123", "ci": "11", "n2i": "139"}


@pytest.fixture
def included(review, lead):
    """Two records included at full text (single-reviewer stages)."""
    review.title_abstract_mode = review.full_text_mode = "single"
    review.save()
    records = factories.RecordFactory.create_batch(
        2, batch__review=review, batch__source__review=review
    )
    for record in records:
        vote(review, record, lead, "include")
        Retrieval.objects.create(review=review, record=record, status="retrieved")
        vote(review, record, lead, "include", stage=FT)
    return records


@pytest.fixture
def binary(review):
    from analysis.models import DataType, Outcome

    return Outcome.objects.create(
        review=review, name="Mortality", data_type=DataType.BINARY, measure="OR"
    )


def test_typing_wang_2019_links_the_report_to_the_existing_Wang_2019(
    client, review, lead, included
):
    services.report_link_study(
        review=review, record=included[0], user=lead, study_label="Wang 2019"
    )
    client.force_login(lead)
    url = reverse("screening:inclusion-link", args=[review.slug, included[1].pk])
    response = client.post(url, {"study": "  wang   2019 "}, follow=True)
    assert list(review.studies.values_list("label", flat=True)) == ["Wang 2019"]
    assert StudyReport.objects.filter(study__label="Wang 2019").count() == 2
    assert (
        f"Record {included[1].number}: “wang 2019” is the existing study “Wang 2019”; "
        "the report was linked to it."
    ) in [str(m) for m in response.context["messages"]]


def _sheet_labels(review):
    return {line.split(",")[0] for line in extraction.sheet_csv(review).splitlines()[1:]}


def _zip_text(review):
    with zipfile.ZipFile(io.BytesIO(build_zip(review, with_prisma=False))) as archive:
        return "".join(
            archive.read(n).decode("utf-8", "replace")
            for n in archive.namelist()
            if n.endswith(".csv")
        )


def test_rename_refuses_the_name_of_another_study_and_renames_everywhere(
    client, review, lead, binary
):
    wang = Study.objects.create(review=review, label="wang 2019")
    Study.objects.create(review=review, label="Lee 2020")
    extraction.save_effect_data(outcome=binary, study=wang, raw=BINARY, user=lead)
    client.force_login(lead)
    url = reverse("analysis:study-rename", args=[review.slug, wang.pk])
    response = client.post(url, {"label": " LEE  2020"}, follow=True)
    assert "“Lee 2020” already names a study of this review" in response.content.decode()
    wang.refresh_from_db()
    assert wang.label == "wang 2019"
    response = client.post(url, {"label": "Wang  2019"})
    assert response.status_code == 302
    wang.refresh_from_db()
    assert wang.label == "Wang 2019"
    event = StudyEvent.objects.get()
    assert (event.action, event.user, event.detail) == (
        "rename",
        lead,
        {"before": "wang 2019", "after": "Wang 2019"},
    )
    assert _sheet_labels(review) == {"Lee 2020", "Wang 2019"}
    assert "Wang 2019" in _zip_text(review) and "wang 2019" not in _zip_text(review)
    page = client.get(reverse("analysis:extraction", args=[review.slug])).content.decode()
    assert "Wang 2019" in page and "wang 2019" not in page


@pytest.fixture
def twins(review, lead, binary, included):
    services.report_link_study(
        review=review, record=included[0], user=lead, study_label="Wang 2019"
    )
    keep = Study.objects.get(label="Wang 2019")
    other = Study.objects.create(review=review, label="Wang 2019b")
    StudyReport.objects.filter(record=included[1]).delete()
    StudyReport.objects.create(study=other, record=included[1])
    extraction.save_effect_data(outcome=binary, study=keep, raw=BINARY, user=lead)
    extraction.save_effect_data(outcome=binary, study=other, raw=BINARY | {"ai": "5"}, user=lead)
    mod = Moderator.objects.create(review=review, name="Country", kind="categorical")
    extraction.save_moderator_value(moderator=mod, study=other, value="China", user=lead)
    return keep, other


def test_merge_shows_conflicts_then_keeps_the_leads_choice(client, review, lead, binary, twins):
    keep, other = twins
    client.force_login(lead)
    url = reverse("analysis:study-merge", args=[review.slug, other.pk])
    page = client.get(url, {"into": keep.pk})
    text = page.content.decode()
    assert page.status_code == 200
    assert "Merge “Wang 2019b” into “Wang 2019”" in text
    assert "Events, treatment group" in text and ">4<" in text and ">5<" in text
    assert f'name="choice-data-{binary.pk}"' in text
    # unanswered: refused, nothing changes
    response = client.post(url, {"into": keep.pk})
    assert response.status_code == 400
    assert "Mortality: choose which study’s values to keep." in response.content.decode()
    assert Study.objects.filter(pk=other.pk).exists()
    response = client.post(url, {"into": keep.pk, f"choice-data-{binary.pk}": "other"})
    assert response.status_code == 302
    assert list(review.studies.values_list("label", flat=True)) == ["Wang 2019"]
    assert EffectData.objects.get().values["ai"] == 5
    assert StudyReport.objects.filter(study=keep).count() == 2
    assert ModeratorValue.objects.get().study == keep
    event = StudyEvent.objects.get(action="merge")
    assert event.study == keep and event.detail["merged"] == "Wang 2019b"
    assert event.detail["replaced"][f"data-{binary.pk}"]["ai"] == 4  # the value given up
    assert _sheet_labels(review) == {"Wang 2019"}
    assert "Wang 2019b" not in _zip_text(review)
    assert keep.events.filter(action="data").count() == 2  # the history moved with the data


def test_merge_without_conflicts_needs_no_choice(client, review, lead, binary, twins):
    keep, other = twins
    EffectData.objects.filter(study=other).update(values=EffectData.objects.get(study=keep).values)
    client.force_login(lead)
    url = reverse("analysis:study-merge", args=[review.slug, other.pk])
    assert "No conflicting values" in client.get(url, {"into": keep.pk}).content.decode()
    assert client.post(url, {"into": keep.pk}).status_code == 302
    assert EffectData.objects.get().study == keep


def test_delete_is_refused_while_the_study_has_reports(client, review, lead, twins):
    keep, _ = twins
    client.force_login(lead)
    url = reverse("analysis:study-delete", args=[review.slug, keep.pk])
    response = client.post(url)
    assert response.status_code == 400
    assert (
        "“Wang 2019” has 1 report: link it to another study on the Included page, or merge "
        "this study into another, before deleting it."
    ) in response.content.decode()
    assert Study.objects.filter(pk=keep.pk).exists()


def test_delete_lists_the_data_then_deletes_it(client, review, lead, binary, twins):
    _, other = twins
    StudyReport.objects.filter(study=other).delete()
    client.force_login(lead)
    url = reverse("analysis:study-delete", args=[review.slug, other.pk])
    text = client.get(url).content.decode()
    assert "Mortality" in text and "Country: China" in text
    assert client.post(url).status_code == 302
    assert not Study.objects.filter(pk=other.pk).exists()
    assert EffectData.objects.count() == 1 and not ModeratorValue.objects.exists()
    event = StudyEvent.objects.get(action="delete")
    assert event.label == "Wang 2019b" and event.detail["data"][0]["values"]["ai"] == 5
    assert _sheet_labels(review) == {"Wang 2019"}


@pytest.mark.parametrize("name", ["study-rename", "study-merge", "study-delete"])
def test_only_a_lead_changes_studies(client, review, reviewer, outsider, name):
    study = Study.objects.create(review=review, label="Wang 2019")
    url = reverse(f"analysis:{name}", args=[review.slug, study.pk])
    client.force_login(reviewer)
    assert client.post(url, {"label": "X"}).status_code == 403
    assert client.get(url).status_code in (403, 405)
    client.force_login(outsider)
    assert client.post(url, {"label": "X"}).status_code == 404
    study.refresh_from_db()
    assert study.label == "Wang 2019"
