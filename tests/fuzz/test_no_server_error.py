"""No request takes the site down (issue 14): every page of the URL configuration, opened by the
lead of a small review (records, votes, a duplicate pair, studies, an outcome with data and
moderators: the analysis demo), answers GET with random query values and POST with random form
values without a 500. The form field names are read from the page itself (its <input>,
<select> and <textarea>), plus the query names the views read; the values are random text
(NUL, "²", huge numbers, "$…$" included). Each request runs in a savepoint that is rolled back,
so one example never changes the next, and on PostgreSQL a refused statement does not abort the
test's transaction. Deterministic (`derandomize`) and bounded (a few examples per URL).

A URL the fuzzing does not open is listed in `SKIPPED` with why.
"""

import html.parser

import pytest
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services as account_services
from analysis.demo import bcg_demo_load
from review.models import DuplicatePair, ImportStatus, PairStatus, Role
from screening import services
from screening.models import BulkUpload
from tests import factories
from tests.blind.test_differential import _patterns

pytestmark = pytest.mark.django_db
TA, FT = "title_abstract", "full_text"

#: URL names not fuzzed, and why
SKIPPED = {
    "logout": "would end the lead's session",
    "password_reset_confirm": "a link from a reset e-mail (its token and uid are checked first)",
    "accounts:invitation": "an invitation link: tokens are fuzzed in tests/test_bad_input_i13.py",
    "screening:export-job": "no Excel export is queued (reviews this small are exported at once)",
    "screening:export-download": "no Excel export is queued",
    "screening:calibration-close": "no calibration round in this review",
}

#: query names the views read from request.GET (beside the page's own form fields)
QUERY_NAMES = ("q", "key", "count", "page", "record", "stage", "layout", "dpi", "status", "into")
#: form names sent to every POST (ids read by views that have no form field for them)
FORM_NAMES = ("record", "reason", "study", "verdict", "note", "version")

NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "²",
    "٣",
    "-1",
    "0",
    "1",
    "1.5",
    "1e309",
    "-1e309",
    "nan",
    "inf",
    "99999999999999999999",
    "9" * 400,
    "$x^$",
    "$\\alpha$ 2019",
    "50$ and $60",
    "<script>",
    "'; --",
    "%00",
    "on",
    "include",
    "exclude",
    "title_abstract",
    "x" * 3000,
]
#: sent in every field at once, to every page
SWEEP = ["²", "99999999999999999999", "abc", "$x^$"]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=12))


class _FieldNames(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "select", "textarea", "button"):
            name = dict(attrs).get("name")
            if name and name != "csrfmiddlewaretoken":
                self.names.add(name)


def field_names(response) -> list[str]:
    """The names of the form fields of an HTML page (none for other content)."""
    if "html" not in response.get("Content-Type", "") or response.streaming:
        return []
    parser = _FieldNames()
    parser.feed(response.content.decode("utf-8", "replace"))
    return sorted(parser.names)


@pytest.fixture
def fuzz_world(db):
    lead = factories.UserFactory(username="fuzz-lead")
    review = bcg_demo_load({"lead": (lead, Role.LEAD)})
    reviewer = factories.UserFactory(username="fuzz-reviewer")
    factories.MembershipFactory(review=review, user=reviewer, role=Role.REVIEWER)
    # imported (a pending batch has its uploaded file: the factory's has none)
    batch = factories.ImportBatchFactory(
        source__review=review, source__name="PubMed", status=ImportStatus.DONE
    )
    records = [factories.RecordFactory(batch=batch, title=f"Trial {i} of BCG") for i in range(6)]
    review.exclusion_reasons.get_or_create(label="Wrong population")
    for record, verdict in zip(records[:3], ("include", "maybe", "include"), strict=True):
        services.decision_record(
            review=review, record=record, reviewer=lead, stage=TA, verdict=verdict
        )
    DuplicatePair.objects.create(
        review=review,
        record_a=records[4],
        record_b=records[5],
        score=0.9,
        status=PairStatus.POSSIBLE,
    )
    BulkUpload.objects.create(review=review, created_by=lead)
    account_services.invitation_create(
        review=review,
        email="someone@example.org",
        role=Role.REVIEWER,
        invited_by=lead,
        link_for=lambda token: f"https://example.org/{token}",
    )
    return review, lead, records


def _values(review, records):
    """One value per URL parameter (both stages), instances of this review."""
    first = lambda qs: list(qs.order_by("pk").values_list("pk", flat=True)[:1])  # noqa: E731
    return {
        "slug": [review.slug],
        "review_slug": [review.slug],
        "stage": [TA, FT],
        "record_id": [records[0].pk],
        "pk": [records[0].pk],
        "fmt": ["svg"],
        "batch_id": first(review.imports),
        "member_id": first(review.memberships.exclude(role=Role.LEAD)),
        "outcome_id": first(review.outcomes),
        "kind": ["forest"],
        "name": ["ci-to-se"],
        "pair_id": first(DuplicatePair.objects.filter(review=review)),
        "action": ["primary"],
        "study_id": first(review.studies),
        "invitation_id": first(review.invitations),
        "upload_id": first(BulkUpload.objects.filter(review=review)),
    }


def _urls(review, records):
    values = _values(review, records)
    for name, pattern in _patterns():
        if name in SKIPPED:
            continue
        params = sorted(pattern.pattern.regex.groupindex)
        missing = [p for p in params if not values.get(p)]
        assert not missing, f"{name}: no value for {missing}: add one or list it in SKIPPED"
        stages = values["stage"] if "stage" in params else [None]
        for stage in stages:
            kwargs = {p: (stage if p == "stage" else values[p][0]) for p in params}
            try:
                yield name, reverse(name, kwargs=kwargs)
            except NoReverseMatch:
                continue


class _Rollback(Exception):
    pass


def _request(client, method, url, data):
    """The response to one request, its database changes rolled back."""
    response = None
    try:
        with transaction.atomic():
            response = getattr(client, method)(url, data)
            raise _Rollback
    except _Rollback:
        pass
    return response


def _fuzz(client, name, url, query, form):
    """Random GETs and POSTs to `url`; the ones answered 500."""
    failures = []

    @settings(
        max_examples=3,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        get=st.dictionaries(st.sampled_from(query), VALUES, max_size=4),
        post=st.dictionaries(st.sampled_from(form), VALUES, min_size=1, max_size=8),
    )
    def fuzz(get, post):
        for method, data in (("get", get), ("post", post)):
            response = _request(client, method, url, data)
            if response.status_code >= 500:
                failures.append((name, method.upper(), url, data, response.status_code))

    fuzz()
    # and each of the worst values in every field at once (what random draws may miss)
    for value in SWEEP:
        for method, names in (("get", query), ("post", form)):
            data = dict.fromkeys(names, value)
            response = _request(client, method, url, data)
            if response.status_code >= 500:
                failures.append((name, method.upper(), url, data, response.status_code))
    return failures


def test_no_page_answers_500_to_random_input(client, fuzz_world):
    review, lead, records = fuzz_world
    client.raise_request_exception = False
    failures = []
    visited = []

    for name, url in _urls(review, records):
        client.force_login(lead)
        page = _request(client, "get", url, {})
        visited.append(name)
        if page.status_code >= 500:
            failures.append((name, "GET", url, {}, page.status_code))
            continue
        form = sorted({*field_names(page), *FORM_NAMES})
        query = sorted({*field_names(page), *QUERY_NAMES})
        failures += _fuzz(client, name, url, query, form)
    assert len(set(visited)) > 60, sorted(set(visited))
    assert failures == [], "\n".join(repr(f)[:300] for f in failures)


def test_skipped_urls_exist():
    names = {name for name, _ in _patterns()}
    assert set(SKIPPED) <= names, set(SKIPPED) - names


def test_the_invitation_is_still_pending_for_the_fuzzing(fuzz_world):
    review, _, _ = fuzz_world
    assert review.invitations.filter(expires_at__gt=timezone.now(), revoked_at=None).exists()
