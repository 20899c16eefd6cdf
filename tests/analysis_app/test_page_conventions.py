"""The analysis page's conventions and zero-cell rules (issue 15): chosen once per outcome,
shown on the page, kept for the export; switching convention brings its defaults."""

import pytest
from django.urls import reverse

from analysis.models import DataType, EffectData, Outcome
from tests import factories


@pytest.fixture
def outcome(bcg):
    return Outcome.objects.get(review=bcg)


def url(name, review, *args):
    return reverse(f"analysis:{name}", args=[review.slug, *args])


BASE = {"measure": "RR", "method": "REML", "test": "z", "level": "95"}


def test_the_page_computes_and_says_the_convention(client, bcg, outcome):
    client.force_login(bcg.viewer_user)
    metafor = client.get(url("analysis", bcg, outcome.pk), BASE).context["report"]
    response = client.get(
        url("analysis", bcg, outcome.pk),
        {**BASE, "convention": "meta", "previous_convention": "metafor"},
    )
    meta = response.context["report"]
    assert meta.convention == "meta" and metafor.convention == "metafor"
    # same tau² and estimate (meta calls metafor's REML), meta's I² from Q and t(k-1) PI
    assert meta.main.estimate == pytest.approx(metafor.main.estimate, rel=1e-9)
    assert meta.main.i2 != pytest.approx(metafor.main.i2, rel=1e-3)
    assert meta.main.pi_ub - meta.main.pi_lb > metafor.main.pi_ub - metafor.main.pi_lb
    html = response.content.decode()
    assert 'data-testid="convention"' in html and "as meta (R)" in html
    assert "Mantel-Haenszel" in html  # the description of what the convention does
    assert "as meta (R)" in html.split('data-testid="forest"')[1]  # the plot's model label


def test_switching_to_revman_brings_hartung_knapp_unless_changed(client, bcg, outcome):
    client.force_login(bcg.viewer_user)
    response = client.get(
        url("analysis", bcg, outcome.pk),
        {**BASE, "convention": "revman", "previous_convention": "metafor"},
    )
    report = response.context["report"]
    assert (report.convention, report.test) == ("revman", "knha")
    form = response.context["form"]
    assert form["test"].value() == "knha"  # what the page shows is what it computed
    assert form["previous_convention"].value() == "revman"
    # a test the user chose themselves stays
    chosen = client.get(
        url("analysis", bcg, outcome.pk),
        {
            **BASE,
            "method": "DL",
            "test": "knha",
            "convention": "meta",
            "previous_convention": "metafor",
        },
    ).context["report"]
    assert (chosen.method, chosen.test) == ("DL", "knha")  # not metafor's defaults: kept
    back = client.get(
        url("analysis", bcg, outcome.pk),
        {**BASE, "test": "knha", "convention": "metafor", "previous_convention": "revman"},
    ).context["report"]
    assert back.test == "z"


def test_the_lead_keeps_the_convention_and_zero_cell_rules(client, bcg, outcome):
    client.force_login(bcg.lead_user)
    response = client.post(
        url("analysis-save", bcg, outcome.pk),
        {**BASE, "convention": "meta", "zero_add": "0.25", "zero_to": "all", "double_zero": "keep"},
    )
    assert response.status_code == 302
    outcome.refresh_from_db()
    assert (outcome.convention, outcome.zero_add, outcome.zero_to, outcome.double_zero) == (
        "meta",
        0.25,
        "all",
        "keep",
    )
    page = client.get(url("analysis", bcg, outcome.pk))
    assert page.context["report"].convention == "meta"
    assert page.context["report"].zero_cells == {"add": 0.25, "to": "all", "drop00": False}


def test_zero_cell_rules_change_the_study_effects(client, bcg, outcome):
    client.force_login(bcg.viewer_user)
    row = EffectData.objects.filter(outcome=outcome).order_by("study__label").first()
    row.values = {**row.values, "ai": 0, "ci": 0}
    row.save()
    label = row.study.label

    def get(**extra):
        return client.get(url("analysis", bcg, outcome.pk), {**BASE, **extra}).context["report"]

    assert label in get().labels  # metafor's escalc keeps a double-zero table
    assert label not in get(double_zero="drop").labels
    assert label not in get(convention="meta", previous_convention="metafor").labels
    kept = get(convention="meta", previous_convention="metafor", double_zero="keep")
    assert label in kept.labels
    assert get(zero_add="0.1").yi[0] != get().yi[0]


def test_revman_refuses_proportions_with_a_reason(client, bcg):
    client.force_login(bcg.lead_user)
    outcome = Outcome.objects.create(
        review=bcg, name="Events", data_type=DataType.PROPORTION, measure="PLO"
    )
    for study, (x, n) in zip(bcg.studies.all()[:3], [(3, 20), (5, 31), (9, 40)], strict=True):
        EffectData.objects.create(outcome=outcome, study=study, values={"xi": x, "ni": n})
    response = client.get(
        url("analysis", bcg, outcome.pk),
        {
            "measure": "PLO",
            "method": "REML",
            "test": "z",
            "level": "95",
            "convention": "revman",
            "previous_convention": "metafor",
        },
    )
    assert response.status_code == 200
    assert "RevMan Web does not pool single-group proportions" in response.content.decode()
    meta = client.get(
        url("analysis", bcg, outcome.pk),
        {
            "measure": "PLO",
            "method": "REML",
            "test": "z",
            "level": "95",
            "convention": "meta",
            "previous_convention": "metafor",
        },
    )
    assert "GLMM" in meta.context["report"].main.label


def test_a_new_outcome_under_revman_gets_hartung_knapp(client, bcg):
    client.force_login(bcg.lead_user)
    response = client.post(
        reverse("analysis:outcome-create", args=[bcg.slug]),
        {"name": "Deaths", "data_type": "binary", "measure": "OR", "convention": "revman"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Outcome.objects.get(review=bcg, name="Deaths")
    assert (created.convention, created.method, created.test) == ("revman", "REML", "knha")


def test_outsiders_cannot_save_a_convention(client, bcg, outcome):
    client.force_login(factories.MembershipFactory(role="lead").user)
    response = client.post(url("analysis-save", bcg, outcome.pk), {**BASE, "convention": "meta"})
    assert response.status_code == 404
    outcome.refresh_from_db()
    assert outcome.convention == "metafor"
