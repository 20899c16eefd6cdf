"""Dual extraction: independent and blind, agreeing extractions used at once, differing ones
reconciled by a lead (or a chosen resolver who did not extract the study), all logged."""

import pytest
from django.urls import reverse

from analysis import dual
from analysis.models import EffectData, ExtractionDraft, ExtractionEvent, Outcome
from tests import factories


@pytest.fixture
def setup(bcg):
    outcome = Outcome.objects.get(review=bcg)
    outcome.dual_extraction = True
    outcome.save()
    EffectData.objects.filter(outcome=outcome).delete()
    second = factories.UserFactory(username="second")
    factories.MembershipFactory(review=bcg, user=second, role="reviewer")
    study = bcg.studies.get(label="Aronson 1948")
    return outcome, study, bcg.reviewer_user, second


def post(client, review, outcome, study, **values):
    return client.post(
        reverse("analysis:outcome-data", args=[review.slug, outcome.pk]),
        {"study": study.pk, **values},
    )


ARONSON = {"ai": "4", "n1i": "123", "ci": "11", "n2i": "139"}


def test_agreeing_extractions_become_the_data(client, bcg, setup):
    outcome, study, first, second = setup
    client.force_login(first)
    assert post(client, bcg, outcome, study, **ARONSON).status_code == 302
    assert not EffectData.objects.filter(outcome=outcome, study=study).exists()
    assert dual.states(outcome)[study.pk].state == dual.WAITING
    client.force_login(second)
    post(client, bcg, outcome, study, **ARONSON)
    data = EffectData.objects.get(outcome=outcome, study=study)
    assert data.values == {"ai": 4, "n1i": 123, "ci": 11, "n2i": 139}
    assert dual.states(outcome)[study.pk].state == dual.AGREED
    event = ExtractionEvent.objects.filter(action="data", study=study).last()
    assert "independent extractions of bcg-reviewer and second agree" in event.detail


def test_extractors_are_blind_and_differences_are_reconciled(client, bcg, setup):
    outcome, study, first, second = setup
    client.force_login(first)
    post(client, bcg, outcome, study, **ARONSON)
    client.force_login(second)
    page = client.get(reverse("analysis:outcome-data", args=[bcg.slug, outcome.pk]))
    row = page.content.decode().split(f'id="study-{study.pk}"')[1].split("</tr>")[0]
    assert 'value="123"' not in row  # the first extraction is not shown to the second
    post(client, bcg, outcome, study, **{**ARONSON, "ai": "5"})
    state = dual.states(outcome)[study.pk]
    assert state.state == dual.CONFLICT and state.differing() == {"ai"}
    assert not EffectData.objects.filter(outcome=outcome, study=study).exists()

    # a reviewer who is not a resolver cannot reconcile; the lead can
    url = reverse("analysis:reconcile", args=[bcg.slug, outcome.pk])
    assert client.get(url).status_code == 403
    client.force_login(bcg.lead_user)
    page = client.get(url).content.decode()
    assert 'data-testid="differs"' in page and page.count('data-testid="conflict"') == 1
    response = client.post(url, {"study": study.pk, **ARONSON, "notes": "checked Table 2"})
    assert response.status_code == 302
    assert EffectData.objects.get(outcome=outcome, study=study).values["ai"] == 4
    assert dual.states(outcome)[study.pk].state == dual.RECONCILED
    assert ExtractionDraft.objects.filter(study=study).count() == 2  # both kept
    last = ExtractionEvent.objects.filter(action="data", study=study).last()
    assert last.user == bcg.lead_user and "reconciled from the extractions" in last.detail


def test_a_resolver_does_not_settle_a_study_they_extracted(client, bcg, setup):
    outcome, study, first, second = setup
    bcg.memberships.filter(user=first).update(can_resolve=True)
    client.force_login(first)
    post(client, bcg, outcome, study, **ARONSON)
    client.force_login(second)
    post(client, bcg, outcome, study, **{**ARONSON, "ci": "12"})
    client.force_login(first)
    url = reverse("analysis:reconcile", args=[bcg.slug, outcome.pk])
    assert 'data-testid="no-conflicts"' in client.get(url).content.decode()
    assert client.post(url, {"study": study.pk, **ARONSON}).status_code == 403


def test_the_study_history_keeps_the_other_extraction_hidden_until_settled(client, bcg, setup):
    outcome, study, first, second = setup
    client.force_login(first)
    post(client, bcg, outcome, study, **{**ARONSON, "n1i": "98765"})
    study_page = reverse("analysis:study", args=[bcg.slug, study.pk])
    client.force_login(second)
    assert "98765" not in client.get(study_page).content.decode()
    client.force_login(bcg.lead_user)
    assert "98765" in client.get(study_page).content.decode()
    client.force_login(second)
    post(client, bcg, outcome, study, **{**ARONSON, "n1i": "98765"})  # they agree: settled
    assert "98765" in client.get(study_page).content.decode()
