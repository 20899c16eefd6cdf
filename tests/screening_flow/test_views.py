import pytest
from django.urls import reverse

from screening.models import ScreeningDecision, StageResult
from tests import factories

pytestmark = pytest.mark.django_db
TA = "title_abstract"


@pytest.fixture
def records(review):
    review.highlight_include = ["trial"]
    review.save()
    batch = factories.ImportBatchFactory(source__review=review)
    return [factories.RecordFactory(batch=batch, title=f"A trial {i}") for i in range(2)]


def test_the_page_shows_the_next_record_with_keywords_highlighted(
    client, review, records, reviewer
):
    client.force_login(reviewer)
    html = client.get(reverse("screening:screen", args=[review.slug, TA])).content.decode()
    assert f'data-record="{records[0].pk}"' in html
    assert '<mark class="kw-include">trial</mark>' in html
    assert "/static/screening/keys.js" in html


def test_deciding_with_htmx_returns_the_next_card(client, review, records, reviewer):
    client.force_login(reviewer)
    url = reverse("screening:decide", args=[review.slug, TA])
    response = client.post(
        url, {"record": records[0].pk, "verdict": "include"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="screen-card"')
    assert f'data-record="{records[1].pk}"' in html and "Mine: 1 / 2" in html
    assert ScreeningDecision.objects.get().verdict == "include"


def test_undo_brings_the_record_back(client, review, records, reviewer):
    client.force_login(reviewer)
    client.post(reverse("screening:decide", args=[review.slug, TA]),
                {"record": records[0].pk, "verdict": "exclude"})  # fmt: skip
    html = client.post(
        reverse("screening:undo", args=[review.slug, TA]), headers={"HX-Request": "true"}
    ).content.decode()
    assert f'data-record="{records[0].pk}"' in html


def test_viewers_cannot_screen_and_outsiders_see_nothing(client, review, records, viewer, outsider):
    url = reverse("screening:screen", args=[review.slug, TA])
    client.force_login(viewer)
    assert client.get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    decide = reverse("screening:decide", args=[review.slug, TA])
    assert client.post(decide, {"record": records[0].pk, "verdict": "include"}).status_code == 404
    assert not ScreeningDecision.objects.exists()


def test_a_lead_resolves_a_conflict_on_the_conflicts_page(client, review, records, reviewer, lead):
    second = factories.MembershipFactory(review=review).user
    for user, verdict in ((reviewer, "include"), (second, "exclude")):
        client.force_login(user)
        client.post(reverse("screening:decide", args=[review.slug, TA]),
                    {"record": records[0].pk, "verdict": verdict})  # fmt: skip
    client.force_login(reviewer)
    assert client.get(reverse("screening:conflicts", args=[review.slug, TA])).status_code == 403
    client.force_login(lead)
    html = client.get(reverse("screening:conflicts", args=[review.slug, TA])).content.decode()
    assert f'id="conflict-{records[0].pk}"' in html and second.username in html
    client.post(reverse("screening:resolve", args=[review.slug, TA, records[0].pk]),
                {"verdict": "exclude"})  # fmt: skip
    result = StageResult.objects.get(record=records[0])
    assert (result.verdict, result.method, result.decided_by) == ("exclude", "resolution", lead)


def test_unknown_stage_is_404(client, review, reviewer):
    client.force_login(reviewer)
    assert client.get(reverse("screening:screen", args=[review.slug, "nope"])).status_code == 404


def test_the_retrieval_page_takes_a_pdf(client, review, records, reviewer, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from screening.models import Retrieval

    settings.MEDIA_ROOT = tmp_path
    review.title_abstract_mode = "single"
    review.save()
    client.force_login(reviewer)
    client.post(reverse("screening:decide", args=[review.slug, TA]),
                {"record": records[0].pk, "verdict": "include"})  # fmt: skip
    html = client.get(reverse("screening:retrieval", args=[review.slug])).content.decode()
    assert (
        f'id="retrieval-{records[0].pk}"' in html and f'id="retrieval-{records[1].pk}"' not in html
    )
    pdf = SimpleUploadedFile("paper.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    client.post(reverse("screening:retrieval-save", args=[review.slug, records[0].pk]),
                {"status": "retrieved", "file": pdf})  # fmt: skip
    retrieval = Retrieval.objects.get(record=records[0])
    assert retrieval.status == "retrieved" and retrieval.file.name.endswith(".pdf")


def test_dashboard_shows_agreement_to_the_lead_and_to_all_once_unblinded(
    client, review, records, reviewer, viewer, lead
):
    second = factories.MembershipFactory(review=review, user__username="zoe").user
    for record, (a, b) in zip(records, [("include", "maybe"), ("exclude", "include")], strict=True):
        for user, verdict in ((reviewer, a), (second, b)):
            client.force_login(user)
            client.post(reverse("screening:decide", args=[review.slug, TA]),
                        {"record": record.pk, "verdict": verdict})  # fmt: skip
    dashboard = reverse("review:dashboard", args=[review.slug])
    agreement_csv = reverse("screening:agreement-csv", args=[review.slug])
    for user in (viewer, reviewer):  # blind: the agreement would reveal the other's votes
        client.force_login(user)
        html = client.get(dashboard).content.decode()
        assert "· zoe" not in html and ">50%<" not in html
        assert "zoe" not in client.get(agreement_csv).content.decode()
    client.force_login(lead)
    html = client.get(dashboard).content.decode()
    assert f"{reviewer.username} · zoe" in html and ">50%<" in html
    client.post(reverse("screening:blinding", args=[review.slug, TA]), {"blind": "off"})
    client.force_login(viewer)
    html = client.get(dashboard).content.decode()
    assert f"{reviewer.username} · zoe" in html and ">50%<" in html
    response = client.get(agreement_csv)
    assert response["Content-Type"].startswith("text/csv")
    assert "zoe" in response.content.decode()


def test_the_included_page_links_reports_to_studies(client, review, records, reviewer, viewer):
    from screening import services
    from screening.models import Retrieval

    review.title_abstract_mode = review.full_text_mode = "single"
    review.save()
    record = records[0]
    services.decision_record(review=review, record=record, reviewer=reviewer, stage=TA,
                             verdict="include")  # fmt: skip
    Retrieval.objects.create(review=review, record=record, status="retrieved")
    services.decision_record(review=review, record=record, reviewer=reviewer, stage="full_text",
                             verdict="include")  # fmt: skip
    client.force_login(reviewer)
    client.post(reverse("screening:inclusion-link", args=[review.slug, record.pk]),
                {"study": "Smith 2019"})  # fmt: skip
    client.force_login(viewer)
    html = client.get(reverse("screening:inclusion", args=[review.slug])).content.decode()
    assert "<strong>Smith 2019</strong>" in html and "Link</button>" not in html
    url = reverse("screening:inclusion-link", args=[review.slug, record.pk])
    assert client.post(url, {"study": "X"}).status_code == 403
