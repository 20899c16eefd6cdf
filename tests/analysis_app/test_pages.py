"""The extraction and analysis pages: who may see and change what, the numbers the analysis page
shows against metafor (dat.bcg, the analysis demo), plot downloads."""

import math

import pytest
from django.urls import reverse

from analysis.models import EffectData, Outcome
from tests import factories
from tests.analysis.reference import result


@pytest.fixture
def outcome(bcg):
    return Outcome.objects.get(review=bcg)


def url(name, review, *args):
    return reverse(f"analysis:{name}", args=[review.slug, *args])


def test_outsiders_see_nothing(client, bcg, outcome):
    client.force_login(factories.MembershipFactory(role="lead").user)  # lead of another review
    study = bcg.studies.first()
    for address in (
        url("extraction", bcg),
        url("outcome-data", bcg, outcome.pk),
        url("study", bcg, study.pk),
        url("analysis", bcg, outcome.pk),
        url("plot", bcg, outcome.pk, "forest", "svg"),
        url("sheet-template", bcg),
        url("export", bcg),
    ):
        assert client.get(address).status_code == 404, address


def test_viewers_read_but_cannot_change(client, bcg, outcome):
    client.force_login(bcg.viewer_user)
    assert client.get(url("analysis", bcg, outcome.pk)).status_code == 200
    study = bcg.studies.first()
    response = client.post(
        url("outcome-data", bcg, outcome.pk),
        {"study": study.pk, "ai": 1, "n1i": 10, "ci": 1, "n2i": 10},
    )
    assert response.status_code == 403
    assert client.post(url("outcome-create", bcg), {"name": "X"}).status_code == 403
    assert client.post(url("analysis-save", bcg, outcome.pk), {}).status_code == 403


def test_reviewer_enters_data_with_field_errors_shown(client, bcg, outcome):
    client.force_login(bcg.reviewer_user)
    study = bcg.studies.get(label="Aronson 1948")
    response = client.post(
        url("outcome-data", bcg, outcome.pk),
        {"study": study.pk, "ai": 200, "n1i": 123, "ci": 11, "n2i": 139},
    )
    assert response.status_code == 400
    assert "Events in the treatment group" in response.content.decode()
    assert EffectData.objects.get(study=study).values["ai"] == 4  # unchanged
    response = client.post(
        url("outcome-data", bcg, outcome.pk),
        {"study": study.pk, "ai": 5, "n1i": 123, "ci": 11, "n2i": 139},
    )
    assert response.status_code == 302
    assert EffectData.objects.get(study=study).values["ai"] == 5
    preview = client.post(
        url("effect-preview", bcg, outcome.pk), {"ai": 4, "n1i": 123, "ci": 11, "n2i": 139}
    )
    assert f"RR {math.log((4 / 123) / (11 / 139)):.4f}" in preview.content.decode()


def test_analysis_page_shows_metaFors_numbers(client, bcg, outcome):
    client.force_login(bcg.viewer_user)
    response = client.get(url("analysis", bcg, outcome.pk))
    assert response.status_code == 200
    report = response.context["report"]
    ref = result("bcg_RR")["random"]["REML"]["z"]
    assert math.isclose(report.main.estimate, ref["b"], rel_tol=1e-6)
    assert math.isclose(report.main.tau2, ref["tau2"], rel_tol=1e-6)
    html = response.content.decode()
    assert f"{math.exp(ref['b']):.2f}" in html  # the risk ratio on the natural scale
    assert f"[{math.exp(ref['ci.lb']):.2f}, {math.exp(ref['ci.ub']):.2f}]" in html
    assert f"{ref['I2']:.1f}%" in html
    assert (
        "Test for subgroup differences" in html and "Meta-regression on absolute latitude" in html
    )
    assert html.count("<svg") >= 3  # forest, funnel, bubble inline


def test_settings_from_the_page_change_the_model(client, bcg, outcome):
    client.force_login(bcg.viewer_user)
    response = client.get(
        url("analysis", bcg, outcome.pk),
        {"measure": "OR", "method": "DL", "test": "knha", "level": "90"},
    )
    main = response.context["report"].main
    assert (main.method, main.test, main.level) == ("DL", "knha", 90)
    assert response.context["report"].measure == "OR"


def test_robustness_flags_a_change_of_conclusion(client, bcg, outcome):
    # three trials on which REML's CI includes RR = 1 but Paule-Mandel's (z) does not
    client.force_login(bcg.lead_user)
    keep = ["Aronson 1948", "Ferguson & Simes 1949", "Frimodt-Moller et al 1973"]
    EffectData.objects.filter(outcome=outcome).exclude(study__label__in=keep).delete()
    response = client.get(
        url("analysis", bcg, outcome.pk),
        {"measure": "RR", "method": "REML", "test": "z", "level": "95"},
    )
    report = response.context["report"]
    flags = {(p.method, p.test): p.crosses_null for p in report.robustness}
    assert report.robustness_changes == any(v != report.main.crosses_null for v in flags.values())
    assert report.robustness_changes, flags
    assert report.main.crosses_null and not flags[("PM", "z")] and flags[("PM", "knha")]
    assert 'data-testid="robustness-flag"' in response.content.decode()


def test_lead_saves_settings_for_the_export(client, bcg, outcome):
    client.force_login(bcg.lead_user)
    response = client.post(
        url("analysis-save", bcg, outcome.pk),
        {"measure": "OR", "method": "PM", "test": "knha", "level": "95"},
    )
    assert response.status_code == 302
    outcome.refresh_from_db()
    assert (outcome.measure, outcome.method, outcome.test, outcome.subgroup_by) == (
        "OR",
        "PM",
        "knha",
        None,
    )


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
def test_plot_downloads_are_deterministic(client, bcg, outcome, fmt, magic):
    client.force_login(bcg.viewer_user)
    first = client.get(url("plot", bcg, outcome.pk, "forest", fmt))
    second = client.get(url("plot", bcg, outcome.pk, "forest", fmt))
    assert first.status_code == 200 and first.content.startswith(magic)
    assert first.content == second.content
    assert client.get(url("plot", bcg, outcome.pk, "funnel", fmt)).status_code == 200
    assert client.get(url("plot", bcg, outcome.pk, "bubble", fmt)).status_code == 200
    assert client.get(url("plot", bcg, outcome.pk, "violin", fmt)).status_code == 404


def test_a_stale_edit_is_refused_and_every_change_is_logged(client, bcg, outcome):
    from analysis.extraction import version_of
    from analysis.models import ExtractionEvent

    study = bcg.studies.get(label="Aronson 1948")
    seen = version_of(EffectData.objects.get(study=study))
    # the lead saves first …
    client.force_login(bcg.lead_user)
    data = {"study": study.pk, "ai": 6, "n1i": 123, "ci": 11, "n2i": 139, "version": seen}
    assert client.post(url("outcome-data", bcg, outcome.pk), data).status_code == 302
    # … then the reviewer, on the page loaded before, is told and changes nothing
    client.force_login(bcg.reviewer_user)
    data = {"study": study.pk, "ai": 7, "n1i": 123, "ci": 11, "n2i": 139, "version": seen}
    response = client.post(url("outcome-data", bcg, outcome.pk), data)
    assert response.status_code == 400
    assert "changed these numbers while you were editing" in response.content.decode()
    assert EffectData.objects.get(study=study).values["ai"] == 6
    event = ExtractionEvent.objects.filter(study=study, action="data").last()
    assert event.user == bcg.lead_user
    assert event.before["values"]["ai"] == 4 and event.after["values"]["ai"] == 6
    # the study page shows the history, newest first
    page = client.get(url("study", bcg, study.pk)).content.decode()
    assert 'data-testid="history"' in page and "Outcome data saved" in page


def test_a_failed_robustness_fit_is_shown_in_its_row_and_the_page_renders(
    client, bcg, outcome, monkeypatch
):
    """Paule-Mandel can fail where the chosen estimator fits (metafor: "tau2.max too low" on
    dat.curtis1998, tests/analysis/test_report.py): the page used to fail entirely."""
    from analysis import report as report_module
    from analysis.engine import MetaAnalysisError

    real = report_module.rma

    def pm_fails(*args, method="REML", **kwargs):
        if method == "PM":
            raise MetaAnalysisError("Value of 'tau2_max' too low.")
        return real(*args, method=method, **kwargs)

    monkeypatch.setattr(report_module, "rma", pm_fails)
    client.force_login(bcg.lead_user)
    response = client.get(url("analysis", bcg, outcome.pk), {"method": "REML"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="robustness-failed"') == 2
    assert '<td>PM + Hartung-Knapp</td><td colspan="5" class="error">Not fitted: Value of' in html
    assert 'data-testid="forest"' in html


def test_a_failed_panel_or_plot_is_said_in_its_place_and_the_rest_renders(
    client, bcg, outcome, monkeypatch
):
    from analysis import plotting
    from analysis import report as report_module
    from analysis.engine import MetaAnalysisError

    def fails(*args, **kwargs):
        raise MetaAnalysisError("Fisher scoring algorithm did not converge.")

    def cannot_draw(*args, **kwargs):
        raise ValueError("no room for 13 labels")

    monkeypatch.setattr(report_module, "leave1out", fails)
    monkeypatch.setattr(report_module, "trimfill", fails)
    monkeypatch.setattr(plotting, "funnel_svg", cannot_draw)
    client.force_login(bcg.lead_user)
    response = client.get(url("analysis", bcg, outcome.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="loo-error">Not computed: Fisher scoring' in html
    assert "Trim and fill not computed: Fisher scoring" in html
    assert 'data-testid="funnel-error">The funnel plot could not be drawn: no room' in html
    assert 'data-testid="forest"' in html and "<svg" in html
    assert response.context["report"].main.k == 13


def test_the_conventions_panel_shows_metafor_meta_and_revman_side_by_side(client, bcg, outcome):
    client.force_login(bcg.viewer_user)
    response = client.get(
        url("analysis", bcg, outcome.pk),
        {"measure": "RR", "method": "REML", "test": "z", "level": "95"},
    )
    html = response.content.decode()
    rows = {c["convention"]: c for c in response.context["conventions"]}
    assert set(rows) == {"metafor", "meta", "revman"}
    assert not any(c["error"] for c in rows.values())
    assert rows["metafor"]["estimate"] == rows["meta"]["estimate"] == "0.49"  # REML both
    assert rows["revman"]["ci_method"].startswith("Hartung-Knapp")
    assert rows["revman"]["ci"] != rows["meta"]["ci"]
    for name in ("metafor", "meta", "revman"):
        assert f'data-testid="convention-{name}"' in html
