"""The extraction sheet is safe to open in a spreadsheet and still loads back unchanged.

Text a user typed that starts with = + - @ is written with a leading apostrophe (review.cells);
uploading the sheet again reads such a cell back as the user's text, so a study `=cmd` exported
as `'=cmd` still matches the study `=cmd`. Negative numbers stay numbers, with a decimal point
or the review's decimal comma (then the sheet is `;`-separated)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from analysis import extraction
from analysis.models import (
    DataType,
    EffectData,
    Moderator,
    ModeratorKind,
    ModeratorValue,
    Outcome,
    Study,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet_review(review, lead):
    outcome = Outcome.objects.create(
        review=review, name="=Mortality", data_type=DataType.GENERIC, measure="GEN"
    )
    group = Moderator.objects.create(review=review, name="@arm", kind=ModeratorKind.CATEGORICAL)
    latitude = Moderator.objects.create(review=review, name="-lat", kind=ModeratorKind.NUMERIC)
    labels = ["=cmd|' /C calc'!A0", "+Kim 2023", "-Lee 2022", "@Jones 2021", "'=quoted", "-1"]
    for i, label in enumerate(labels):
        study = Study.objects.create(review=review, label=label)
        extraction.save_effect_data(
            outcome=outcome, study=study, user=lead, notes=["=1+1", "-x", "'@y", ""][i % 4],
            raw={"yi": -0.24 - i, "sei": 0.125},
        )  # fmt: skip
        extraction.save_moderator_value(moderator=group, study=study, value=["=a", "+b"][i % 2])
        extraction.save_moderator_value(moderator=latitude, study=study, value=-12.5 - i)
    return review


def _state(review):
    data = {
        (d.study.label, d.outcome.name): (d.values, d.notes)
        for d in EffectData.objects.filter(outcome__review=review).select_related(
            "study", "outcome"
        )
    }
    moderators = {
        (v.study.label, v.moderator.name): v.value
        for v in ModeratorValue.objects.filter(moderator__review=review).select_related(
            "study", "moderator"
        )
    }
    return data, moderators


@pytest.mark.parametrize("decimal", ["point", "comma"])
def test_the_sheet_quotes_user_text_and_keeps_negative_numbers(sheet_review, decimal):
    sheet_review.decimal_separator = decimal
    sheet_review.save()
    text = extraction.sheet_csv(sheet_review)
    rows = list(csv.reader(io.StringIO(text), delimiter=";" if decimal == "comma" else ","))
    cells = [cell for row in rows[1:] for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells and "'@Jones 2021" in cells
    assert "'=Mortality" in cells and "'+b" in cells and "'=1+1" in cells
    assert "''=quoted" in cells  # an apostrophe the user typed survives the round trip
    assert "-1" in cells  # a label that is a plain number is left alone
    negative = "-0,24" if decimal == "comma" else "-0.24"
    assert negative in cells and ("-12,5" if decimal == "comma" else "-12.5") in cells


@pytest.mark.parametrize("decimal", ["point", "comma"])
def test_download_then_upload_changes_nothing(client, sheet_review, lead, decimal):
    sheet_review.decimal_separator = decimal
    sheet_review.save()
    before = _state(sheet_review)
    client.force_login(lead)
    sheet = client.get(reverse("analysis:sheet-template", args=[sheet_review.slug])).content
    upload = SimpleUploadedFile("sheet.csv", sheet, content_type="text/csv")
    response = client.post(
        reverse("analysis:sheet-upload", args=[sheet_review.slug]), {"file": upload}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert _state(sheet_review) == before
    assert EffectData.objects.get(study__label="=cmd|' /C calc'!A0").values["yi"] == -0.24


def test_an_uploaded_quoted_label_matches_the_study(sheet_review, lead):
    content = "study,outcome,yi,sei,notes\n'=cmd|' /C calc'!A0,'=Mortality,\"-1,5\",0.5,'-new\n"
    content = content.replace('"-1,5"', "-1.5")
    extraction.import_sheet(review=sheet_review, name="s.csv", content=content.encode(), user=lead)
    data = EffectData.objects.get(study__label="=cmd|' /C calc'!A0")
    assert data.values["yi"] == -1.5 and data.notes == "-new"
