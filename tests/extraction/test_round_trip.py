"""What the page and the sheet show, a reviewer can save again unchanged.

Found by the journey test: with a decimal comma declared, a saved 0,187 came back on the page as
"0.187", which the same page then refused ("could be 187 or 0.187") when the row was saved
again (say to add a note); the sheet downloaded from the review had the same trap. Numbers are
now written in the convention the review declares, and read back as the same float."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.engine.numbers import COMMA, POINT, format_number, parse_number
from analysis.models import DataType, EffectData, Moderator, ModeratorValue, Outcome
from tests.extraction.conftest import declare


@pytest.fixture
def correlation(review):
    return Outcome.objects.create(
        review=review, name="Adherence", data_type=DataType.CORRELATION, measure="ZCOR"
    )


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([None, POINT, COMMA]))
@settings(max_examples=300)
def test_a_number_written_in_a_convention_reads_back_exactly_in_it(value, decimal):
    assert parse_number(format_number(value, decimal), decimal=decimal) == value


def _shown(response, field):
    html = response.content.decode()
    return re.search(rf'name="{field}"[^>]*value="([^"]*)"', html).group(1)


@pytest.mark.parametrize(
    "decimal, typed, shown", [(COMMA, "0,187", "0,187"), ("", "0.187", "0.187")]
)
def test_the_page_shows_a_saved_number_as_the_review_writes_it_and_saves_it_again(
    client, review, lead, correlation, trial, decimal, typed, shown
):
    declare(review, decimal)
    client.force_login(lead)
    url = reverse("analysis:outcome-data", args=[review.slug, correlation.pk])
    assert (
        client.post(
            url, {"study": trial.pk, "version": "new", "ri": typed, "ni": "109"}
        ).status_code
        == 302
    )
    page = client.get(url)
    assert _shown(page, "ri") == shown
    data = EffectData.objects.get()
    again = client.post(
        url,
        {
            "study": trial.pk,
            "version": page.context["rows"][0]["version"],
            "ri": _shown(page, "ri"),
            "ni": _shown(page, "ni"),
            "notes": "checked",
        },
    )
    assert again.status_code == 302, again.content.decode()[:2000]
    data.refresh_from_db()
    assert data.values == {"ri": 0.187, "ni": 109}
    assert data.notes == "checked"


def test_a_numeric_moderator_is_shown_with_the_reviews_decimal_comma(client, review, lead, trial):
    declare(review, COMMA)
    age = Moderator.objects.create(review=review, name="Mean age", kind="numeric")
    client.force_login(lead)
    url = reverse("analysis:study", args=[review.slug, trial.pk])
    page = client.get(url)
    assert page.status_code == 200
    client.post(url, {f"moderator-{age.pk}": "53,59"})
    assert ModeratorValue.objects.get().value == "53.59"
    page = client.get(url)
    assert re.search(rf'name="moderator-{age.pk}"[^>]*value="53,59"', page.content.decode())


def test_the_downloaded_sheet_uploads_again_unchanged_with_a_decimal_comma(
    client, review, lead, correlation, trial
):
    declare(review, COMMA)
    EffectData.objects.create(outcome=correlation, study=trial, values={"ri": 0.187, "ni": 109})
    client.force_login(lead)
    sheet = client.get(reverse("analysis:sheet-template", args=[review.slug])).content
    assert b"0,187" in sheet and b";" in sheet.splitlines()[0]
    response = client.post(
        reverse("analysis:sheet-upload", args=[review.slug]),
        {"file": SimpleUploadedFile("sheet.csv", sheet, content_type="text/csv"), "decimal": COMMA},
    )
    assert response.status_code in (200, 302), response.content.decode()[:2000]
    assert EffectData.objects.get().values == {"ri": 0.187, "ni": 109}
