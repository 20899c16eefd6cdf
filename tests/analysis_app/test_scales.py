"""Natural scales where people read (issue 15, finding 3): the forest plot of a correlation
outcome shows r (back-transformed from Fisher's z), as the table does, and says so on its axis;
the analysis scale (z, log RR) is there on request, and its axis says that too."""

import pytest
from django.urls import reverse

from analysis.models import EffectData, Outcome
from tests.analysis import reference as ref


@pytest.fixture
def correlations(bcg):
    """A correlation outcome on the demo's studies, with dat.molloy2014's first 13 (r, n)."""
    outcome = Outcome.objects.create(
        review=bcg, name="Adherence", data_type="correlation", measure="ZCOR"
    )
    ri, ni = ref.column("molloy2014_ZCOR", "ri"), ref.column("molloy2014_ZCOR", "ni")
    for i, study in enumerate(bcg.studies.order_by("label")):
        EffectData.objects.create(
            outcome=outcome, study=study, values={"ri": float(ri[i]), "ni": int(ni[i])}
        )
    return outcome


def forest(client, review, outcome, **params):
    url = reverse("analysis:plot", args=[review.slug, outcome.pk, "forest", "svg"])
    query = {"measure": outcome.measure, "method": "REML", "test": "z", "level": "95"} | params
    response = client.get(url, query)
    assert response.status_code == 200
    return response.content.decode()


def test_a_correlation_forest_plot_shows_r_by_default(client, bcg, correlations):
    client.force_login(bcg.lead_user)
    svg = forest(client, bcg, correlations)
    assert "r [95% CI]" in svg and "z [95% CI]" not in svg
    assert "Correlation r (back-transformed from Fisher" in svg
    page = client.get(reverse("analysis:analysis", args=[bcg.slug, correlations.pk]))
    assert "r [95% CI]" in page.content.decode()


def test_the_analysis_scale_on_request_says_so(client, bcg, correlations):
    client.force_login(bcg.lead_user)
    svg = forest(client, bcg, correlations, scale="analysis")
    assert "z [95% CI]" in svg and "Fisher" in svg and "r [95% CI]" not in svg


def test_a_ratio_on_the_analysis_scale_is_labelled_as_a_log_ratio(client, bcg):
    client.force_login(bcg.lead_user)
    outcome = Outcome.objects.get(review=bcg)
    natural = forest(client, bcg, outcome)
    assert "RR [95% CI]" in natural and "Risk Ratio (log scale)" in natural
    analysis = forest(client, bcg, outcome, scale="analysis")
    assert "log RR [95% CI]" in analysis and "Log Risk Ratio" in analysis


def test_the_table_follows_the_scale(client, bcg, correlations):
    from analysis.display import fmt

    client.force_login(bcg.lead_user)
    url = reverse("analysis:analysis", args=[bcg.slug, correlations.pk])
    query = {"measure": "ZCOR", "method": "REML", "test": "z", "level": "95"}
    natural = client.get(url, query).context
    analysis = client.get(url, query | {"scale": "analysis"}).context
    z = natural["report"].main.estimate
    import math

    assert natural["view"]["main"]["estimate"] == fmt(math.tanh(z))
    assert analysis["view"]["main"]["estimate"] == fmt(z)
    assert natural["view"]["scale"] and analysis["view"]["scale"] is None
