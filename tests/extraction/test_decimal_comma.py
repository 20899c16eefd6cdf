"""Finding 3: "12,5 is stored as 125.0 and -0,24 as -24 on the extraction page and in the sheet
upload". A decimal comma is read as such once declared (by the review or for one file), and
refused, naming the readings, while it is not: never stored as another number."""

import io

import openpyxl
import pytest
from django.urls import reverse

from analysis.models import EffectData
from tests.extraction.conftest import declare

CONTINUOUS = {"m1i": "12,5", "sd1i": "2,5", "n1i": "20", "m2i": "10", "sd2i": "2", "n2i": "20"}


def _post_page(client, review, outcome, study, values):
    url = reverse("analysis:outcome-data", args=[review.slug, outcome.pk])
    return client.post(url, {"study": study.pk, "version": "new", **values})


def test_the_page_stores_a_decimal_comma_as_typed_when_the_review_declares_it(
    client, review, lead, continuous, generic, trial
):
    declare(review, "comma")
    client.force_login(lead)
    assert _post_page(client, review, continuous, trial, CONTINUOUS).status_code == 302
    assert (
        _post_page(client, review, generic, trial, {"yi": "-0,24", "sei": "0,1"}).status_code == 302
    )
    assert EffectData.objects.get(outcome=continuous).values["m1i"] == 12.5
    assert EffectData.objects.get(outcome=continuous).values["sd1i"] == 2.5
    assert EffectData.objects.get(outcome=generic).values == {"yi": -0.24, "sei": 0.1}


def test_the_page_refuses_a_comma_while_no_separator_is_declared(
    client, review, lead, continuous, generic, trial
):
    client.force_login(lead)
    response = _post_page(client, review, continuous, trial, CONTINUOUS)
    assert response.status_code == 400
    assert (
        "Mean, treatment group: &#x27;12,5&#x27; has a comma, which could be a decimal comma "
        "(12.5); set the review&#x27;s decimal separator (Settings)"
    ) in response.content.decode()
    response = _post_page(client, review, generic, trial, {"yi": "-0,24", "sei": "0.1"})
    assert response.status_code == 400
    assert "&#x27;-0,24&#x27; has a comma" in response.content.decode()
    assert not EffectData.objects.exists()


def test_the_page_with_a_decimal_point_reads_a_thousands_comma(
    client, review, lead, continuous, trial
):
    declare(review, "point")
    client.force_login(lead)
    values = CONTINUOUS | {"m1i": "1,234.5", "sd1i": "12.5"}
    assert _post_page(client, review, continuous, trial, values).status_code == 302
    assert EffectData.objects.get().values["m1i"] == 1234.5


def _upload(client, review, name, content, **extra):
    url = reverse("analysis:sheet-upload", args=[review.slug])
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(url, {"file": upload, **extra})


SHEET = b"study;outcome;yi;sei\nTrial 1;Effect;-0,24;0,1\n"


def test_the_sheet_reads_a_decimal_comma_declared_by_the_review(
    client, review, lead, generic, trial
):
    declare(review, "comma")
    client.force_login(lead)
    assert _upload(client, review, "sheet.csv", SHEET).status_code == 302
    assert EffectData.objects.get().values == {"yi": -0.24, "sei": 0.1}


def test_the_sheet_upload_declares_the_separator_of_its_file(client, review, lead, generic, trial):
    client.force_login(lead)
    response = _upload(client, review, "sheet.csv", SHEET, decimal_separator="comma")
    assert response.status_code == 302
    assert EffectData.objects.get().values == {"yi": -0.24, "sei": 0.1}


def test_the_sheet_refuses_a_comma_naming_line_and_column_when_undeclared(
    client, review, lead, generic, trial
):
    client.force_login(lead)
    response = _upload(client, review, "sheet.csv", SHEET)
    assert response.status_code == 400
    text = response.content.decode()
    assert "line 2, yi: Effect (analysis scale): &#x27;-0,24&#x27; has a comma" in text
    assert "line 2, sei: Standard error: &#x27;0,1&#x27; has a comma" in text
    assert not EffectData.objects.exists()


def test_excel_numbers_pass_through_and_comma_text_follows_the_declaration(
    client, review, lead, generic, continuous, trial
):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["study", "outcome", "yi", "sei", "m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"])
    sheet.append(["Trial 1", "Effect", "-0,24", 0.1])
    sheet.append(["Trial 1", "Pain", None, None, 12.5, "2,5", 20, 1234.5, 2, 20])
    buffer = io.BytesIO()
    book.save(buffer)
    client.force_login(lead)
    response = _upload(client, review, "sheet.xlsx", buffer.getvalue(), decimal_separator="comma")
    assert response.status_code == 302, response.content.decode()
    assert EffectData.objects.get(outcome=generic).values == {"yi": -0.24, "sei": 0.1}
    stored = EffectData.objects.get(outcome=continuous).values
    assert (stored["m1i"], stored["sd1i"], stored["n1i"], stored["m2i"]) == (12.5, 2.5, 20, 1234.5)


def test_the_review_declares_its_separator_in_settings(client, review, lead):
    client.force_login(lead)
    url = reverse("review:settings", args=[review.slug])
    page = client.get(url).content.decode()
    assert '<label for="id_decimal_separator">Decimal separator' in page
    data = {
        "title": review.title,
        "title_abstract_mode": review.title_abstract_mode,
        "full_text_mode": review.full_text_mode,
        "decimal_separator": "comma",
    }
    assert client.post(url, data).status_code == 302
    review.refresh_from_db()
    assert review.decimal_separator == "comma"


@pytest.mark.parametrize("value", ["", "point", "comma"])
def test_the_sheet_form_defaults_to_the_reviews_separator(client, review, lead, value):
    declare(review, value)
    client.force_login(lead)
    page = client.get(reverse("analysis:extraction", args=[review.slug])).content.decode()
    assert '<label for="id_decimal_separator">Decimal separator in this file' in page
    assert f'<option value="{value}" selected>' in page
