"""Studies entered for analysis without records are named on the PRISMA page and dashboard,
never silently left out of the flow diagram's count."""

import pytest
from django.urls import reverse

from analysis.models import StudyReport
from review.models import Record
from screening.prisma import studies_without_records
from tests import factories

NOTE = (
    "13 studies were entered directly for analysis, without records; they are not in the flow "
    "diagram."
)


def test_the_bcg_demo_says_its_studies_are_not_in_the_diagram(client, bcg):
    assert Record.objects.filter(review=bcg).count() == 0 and bcg.studies.count() == 13
    client.force_login(bcg.lead_user)
    for name in ("analysis:prisma", "review:dashboard"):
        html = client.get(reverse(name, args=[bcg.slug])).content.decode()
        assert NOTE in html, name


@pytest.mark.django_db
def test_only_studies_without_a_record_are_counted(review, lead, client):
    record = factories.RecordFactory(batch__source__review=review)
    linked = review.studies.create(label="Smith 2019")
    StudyReport.objects.create(study=linked, record=record)
    assert studies_without_records(review) == 0
    review.studies.create(label="Jones 2020")
    assert studies_without_records(review) == 1
    client.force_login(lead)
    html = client.get(reverse("analysis:prisma", args=[review.slug])).content.decode()
    assert "1 study was entered directly for analysis, without records; it is not in" in html
