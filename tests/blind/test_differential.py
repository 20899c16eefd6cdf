"""Blind means blind: nothing reviewer Bob can observe depends on reviewer Alice's votes.

Two worlds share everything (the review, its records, the team, the same seed) and the same
actions by Bob, Carol and the lead; they differ only in what Alice votes on the records she
screens (the same records in both). After the scenario, Bob opens every page and endpoint of
the review the URL configuration has (each page, htmx fragment, API response and export, his
screening cards at both stages and so the queue order he is served, the prioritisation panel,
the dashboard, every record's page and history); the two worlds must give him the same bytes,
once CSRF tokens and clock readings are taken out. Alice's vote patterns range from agreeing
with Bob on every record to disagreeing on every one, so settlements, conflicts, agreement
statistics, the ranking's labels and everything downstream differ between the worlds as much
as they can; parametrised over both stages (each blind in dual mode).

A page added to the URL configuration is visited by default (`observe` walks the resolver); one
it cannot reach is listed in `NOT_REACHED` with why. A leak found later is added here.
"""

import contextlib
import difflib
import io
import json
import random
import zipfile

import openpyxl
import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import connection, transaction
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from accounts.models import Invitation
from analysis.models import DataType, Outcome
from review.models import Arm
from screening import prioritisation, services
from screening.models import BulkUpload
from tests import factories
from tests.blind.normalise import normalise
from tests.screening_flow.helpers import member

pytestmark = pytest.mark.django_db
TA, FT = "title_abstract", "full_text"
N_DB, N_OTHER = 24, 3

#: URL names Bob's observation cannot reach in these worlds, and why
NOT_REACHED = {
    "login": "the login page, the same for everyone",
    "logout": "would end Bob's session",
    "export-job": "no Excel export is queued (reviews this small are exported at once)",
    "export-download": "no Excel export is queued",
    "calibration-close": "no calibration round (the round's own agreement is shown to its pair)",
    "duplicate-decide": "no possible duplicate pair in these worlds",
    "study": "no study: nobody links included reports in these worlds",
    "study-rename": "no study in these worlds (and a lead's action)",
    "study-merge": "no study in these worlds (and a lead's action)",
    "study-delete": "no study in these worlds (and a lead's action)",
    "bulk-report": "no bulk upload of full texts in these worlds (a lead's pages)",
    "bulk-confirm": "no bulk upload in these worlds",
    "bulk-discard": "no bulk upload in these worlds",
    "invitation": "an invitation link: Bob holds none (tests/accounts)",
    "invitation-revoke": "no invitation in these worlds (a lead's action)",
    "password_reset_confirm": "a link from a reset e-mail, about an account, not the review",
}


class Rollback(Exception):
    pass


# Bob's and Alice's votes ---------------------------------------------------------------------


def bob_verdict(index: int, stage: str) -> tuple[str, str | None]:
    """Bob's vote on the record with this index (a fixed function: Bob acts the same in both
    worlds as long as he is served the same records)."""
    if stage == TA:
        if index % 3 == 0:
            return "include", None
        return ("maybe" if index % 7 == 0 else "exclude"), None
    return ("include", None) if index % 2 == 0 else ("exclude", "Wrong population")


def _reason_at(stage):
    return "Wrong population" if stage == FT else None


def _opposite(verdict, reason, stage):
    if verdict == "exclude":
        return "include", None
    return "exclude", ("Wrong study design" if stage == FT else None)


PATTERNS = {
    "opposite of Bob": lambda i, stage: _opposite(*bob_verdict(i, stage), stage),
    "same as Bob": lambda i, stage: bob_verdict(i, stage),
    "include all": lambda i, stage: ("include", None),
    "exclude all": lambda i, stage: ("exclude", "Wrong study design" if stage == FT else None),
    "random": lambda i, stage: random.Random(i * 7919 + len(stage)).choice(  # noqa: S311
        [("include", None), ("maybe", None), ("exclude", _reason_at(stage))]
    ),
}
REFERENCE = "opposite of Bob"


# The shared set-up ---------------------------------------------------------------------------


@pytest.fixture
def world_setup(review):
    """A dual blind review (both stages) with 24 database records, 3 found by citation
    searching, a lead, three reviewers, a viewer, an outcome; at full text, title/abstract
    screening was settled beforehand in single mode (the full-text worlds need reports)."""
    team = {
        "lead": member(review, "lena", "lead"),
        "alice": member(review, "alice"),
        "bob": member(review, "bob"),
        "carol": member(review, "carol"),
        "vic": member(review, "vic", "viewer"),
    }
    review.highlight_include = ["memory"]
    review.save()
    db_batch = factories.ImportBatchFactory(source__review=review, source__name="PubMed")
    topics = ["memory consolidation in adults", "zebrafish fin regeneration",
              "stress hormones and recall", "soil microbiome diversity"]  # fmt: skip
    records = [
        factories.RecordFactory(
            batch=db_batch, title=f"Study {i}: {topics[i % 4]}", abstract=f"On {topics[i % 4]}."
        )
        for i in range(N_DB)
    ]
    other_batch = factories.ImportBatchFactory(
        source__review=review, source__name="Citations", source__arm=Arm.CITATION
    )
    others = [
        factories.RecordFactory(batch=other_batch, title=f"Cited report {i} on memory")
        for i in range(N_OTHER)
    ]
    for label in ("Wrong population", "Wrong study design"):
        review.exclusion_reasons.get_or_create(label=label)
    Outcome.objects.create(
        review=review, name="Recall", data_type=DataType.CORRELATION, measure="ZCOR"
    )
    lead = team["lead"]
    for record in others[:2]:
        services.retrieval_set(review=review, record=record, user=lead, status="retrieved",
                               url=f"https://example.org/{record.pk}")  # fmt: skip
    prioritisation.ranking_train(review)
    return review, team, records, others


def settle_title_abstract(review, lead, records):
    """Full-text worlds start from a settled title/abstract stage (single mode, not blind)."""
    review.title_abstract_mode, review.title_abstract_blind = "single", False
    review.save()
    for i, record in enumerate(records):
        services.decision_record(review=review, record=record, reviewer=lead, stage=TA,
                                 verdict="include" if i < 18 else "exclude")  # fmt: skip
    for i, record in enumerate(records[:18]):
        services.retrieval_set(
            review=review, record=record, user=lead,
            status="retrieved" if i < 16 else "not_retrieved",
            url=f"https://example.org/{record.pk}", reason="Not found",
        )  # fmt: skip


# One world -----------------------------------------------------------------------------------


def _reset_sequences():
    """Start every table's ids where they stood before the world (PostgreSQL's sequences are
    not rolled back with a transaction; SQLite's are)."""
    statements = connection.ops.sequence_reset_sql(no_style(), apps.get_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _card(client, review, stage):
    import re

    html = client.get(reverse("screening:screen", args=[review.slug, stage])).content.decode()
    found = re.search(r'data-record="(\d*)"', html)
    return int(found.group(1)) if found and found.group(1) else None


def _reason(review, label):
    return review.exclusion_reasons.get(label=label) if label else None


def run_world(review, team, records, stage, pattern, capture):
    """The scenario: Alice votes on fixed records, Bob screens from his queue (cards, votes,
    undo, a skip, a refused change), Alice then votes on every record Bob voted on, Carol
    votes on records Alice also votes on, and every retrain the app queues runs at once.
    Returns what Bob observes afterwards."""
    alice, bob, carol = team["alice"], team["bob"], team["carol"]
    index = {record.pk: i for i, record in enumerate(records)}
    pool = records if stage == TA else records[:16]  # full text: the retrieved reports
    alice_vote = PATTERNS[pattern]

    def alice_votes(targets):
        for record in targets:
            verdict, label = alice_vote(index[record.pk], stage)
            # A refusal (two others screened it) is part of the world: Bob's pages show it.
            with capture(execute=True), contextlib.suppress(ValidationError):
                services.decision_record(review=review, record=record, reviewer=alice,
                                         stage=stage, verdict=verdict,
                                         reason=_reason(review, label))  # fmt: skip

    bob_client = Client()
    bob_client.force_login(bob)
    decide = reverse("screening:decide", args=[review.slug, stage])
    undo = reverse("screening:undo", args=[review.slug, stage])
    htmx = {"HX-Request": "true"}

    def bob_screens(n, skip_at=None):
        served = []
        for step in range(n):
            with capture(execute=True):
                record_id = _card(bob_client, review, stage)
                if record_id is None:
                    break
                served.append(record_id)
                if step == skip_at:
                    bob_client.post(decide, {"record": record_id, "verdict": "skip"}, headers=htmx)
                    continue
                verdict, label = bob_verdict(index[record_id], stage)
                reason = _reason(review, label)
                bob_client.post(decide, {"record": record_id, "verdict": verdict,
                                         "reason": reason.pk if reason else ""},
                                headers=htmx)  # fmt: skip
        return served

    alice_votes(pool[:4])
    bob_screens(6, skip_at=2)
    with capture(execute=True):
        bob_client.post(undo, headers=htmx)  # allowed or refused by whether Alice voted there
    bob_screens(2)
    voted_by_bob = list(
        review.records.filter(screeningdecisions__reviewer=bob, screeningdecisions__stage=stage,
                              screeningdecisions__superseded_at=None).order_by("pk")
    )  # fmt: skip
    alice_votes([r for r in voted_by_bob if r not in pool[:4]] + list(pool[10:13]))
    for record in pool[10:12]:
        with capture(execute=True), contextlib.suppress(ValidationError):
            services.decision_record(review=review, record=record, reviewer=carol,
                                     stage=stage, verdict="include")  # fmt: skip
    # Bob tries to change a vote on a record Alice voted on too: refused, whatever she voted.
    changed = voted_by_bob[0]
    verdict, _label = bob_verdict(index[changed.pk], stage)
    with capture(execute=True):
        bob_client.post(decide, {"record": changed.pk,
                                 "verdict": "include" if verdict == "exclude" else "exclude",
                                 "reason": _reason(review, "Wrong population").pk},
                        headers=htmx)  # fmt: skip
    bob_screens(4)
    return observe(bob_client, review, bob)


# What Bob observes ---------------------------------------------------------------------------


def _patterns(resolver=None, namespace=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin"):
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _patterns(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}", pattern


def _values(review, bob):
    """Values for each URL parameter: every instance in the review Bob could name."""
    invitations = Invitation.objects.filter(review=review)
    return {
        "slug": [review.slug],
        "review_slug": [review.slug],
        "stage": [TA, FT],
        "record_id": list(review.records.order_by("pk").values_list("pk", flat=True)),
        "pk": list(review.records.order_by("pk").values_list("pk", flat=True)),
        "fmt": ["svg", "png", "pdf"],
        "batch_id": list(review.imports.values_list("pk", flat=True)),
        "member_id": list(review.memberships.order_by("pk").values_list("pk", flat=True)),
        "outcome_id": list(review.outcomes.values_list("pk", flat=True)),
        "kind": ["forest", "funnel"],
        "name": ["ci-to-se"],
        "round_id": [],
        "job_id": [],
        "pair_id": [],
        "action": ["confirm"],
        "study_id": list(review.studies.values_list("pk", flat=True)),
        "invitation_id": list(invitations.values_list("pk", flat=True)),
        "upload_id": list(BulkUpload.objects.filter(review=review).values_list("pk", flat=True)),
        "token": [],  # invitation links: Bob holds none (tests/accounts)
        "uidb64": [],  # password-reset links: about Bob's account, not the review
    }


#: query strings worth visiting on some pages, beside none
QUERIES = {
    "screening:records": [{"q": "memory"}, {"page": "2"}],
    "screening:records-csv": [{"layout": "long"}],
    "screening:records-xlsx": [{"layout": "long"}],
    "api:decision-list": [{"stage": TA}, {"stage": FT}],
    "api:result-list": [{"stage": TA}, {"stage": FT}],
}


def _count_queries():
    from screening.prisma import VARIABLES

    return [{"count": variable} for variable in VARIABLES]


def _urls(review, bob):
    """(url name, url) for every URL of the project Bob could open in this review."""
    import itertools

    values = _values(review, bob)
    for name, pattern in _patterns():
        if name.split(":")[-1] in NOT_REACHED:
            continue
        params = sorted(pattern.pattern.regex.groupindex)
        if any(not values[p] for p in params):
            continue
        for combo in itertools.product(*(values[p] for p in params)):
            try:
                url = reverse(name, kwargs=dict(zip(params, combo, strict=True)))
            except NoReverseMatch:  # e.g. a value the route's converter does not take
                continue
            queries = [{}, *QUERIES.get(name, [])]
            if name == "screening:records":
                queries += _count_queries()
            for query in queries:
                yield name, url, query


def _body(response) -> str:
    """A response's content as comparable text."""
    content_type = response.get("Content-Type", "")
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if "spreadsheetml" in content_type:
        workbook = openpyxl.load_workbook(io.BytesIO(content))
        rows = [list(row) for sheet in workbook for row in sheet.iter_rows(values_only=True)]
        return normalise(json.dumps(rows, default=str))
    if "zip" in content_type:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return normalise(json.dumps({n: archive.read(n).hex() if n.endswith((".png", ".pdf"))
                                         else archive.read(n).decode() for n in archive.namelist()}))  # noqa: E501  # fmt: skip
    if content_type.startswith(("image/", "application/pdf")):
        return content.hex()
    return normalise(content.decode())


def observe(client, review, bob) -> dict[str, str]:
    """Every page Bob can open, as "status body" per URL (bodies normalised)."""
    seen = {}
    for _name, url, query in _urls(review, bob):
        response = client.get(url, query)
        key = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
        seen[key] = f"{response.status_code}\n{_body(response)}"
    # Each htmx fragment Bob's pages load: the card after a decision is covered by the
    # scenario; the card itself (GET with HX-Request) here.
    for stage in (TA, FT):
        url = reverse("screening:screen", args=[review.slug, stage])
        response = client.get(url, headers={"HX-Request": "true"})
        seen[url + " (htmx)"] = f"{response.status_code}\n{_body(response)}"
    return seen


def world(review, team, records, stage, pattern, capture) -> dict[str, str]:
    out = {}
    try:
        with transaction.atomic():
            _reset_sequences()
            out = run_world(review, team, records, stage, pattern, capture)
            raise Rollback
    except Rollback:
        pass
    _reset_sequences()
    return out


def _diff(a: dict, b: dict) -> str:
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            lines = difflib.unified_diff(
                (a.get(key) or "<missing>").splitlines(),
                (b.get(key) or "<missing>").splitlines(),
                lineterm="",
                n=2,
            )
            return f"{key}:\n" + "\n".join(list(lines)[:60])
    return ""


@pytest.mark.parametrize("stage", [TA, FT])
def test_bob_observes_the_same_whatever_alice_votes(
    world_setup, stage, django_capture_on_commit_callbacks
):
    review, team, records, _others = world_setup
    if stage == FT:
        settle_title_abstract(review, team["lead"], records)
    capture = django_capture_on_commit_callbacks
    reference = world(review, team, records, stage, REFERENCE, capture)
    assert len(reference) > 100  # every page was visited
    for pattern in PATTERNS:
        if pattern == REFERENCE:
            continue
        other = world(review, team, records, stage, pattern, capture)
        assert other == reference, f"Bob can tell '{pattern}' from '{REFERENCE}':\n" + _diff(
            reference, other
        )


def test_the_worlds_do_differ_for_the_lead(world_setup, django_capture_on_commit_callbacks):
    """The test has teeth: the lead, who sees the results, can tell the worlds apart."""
    review, team, records, _others = world_setup
    capture = django_capture_on_commit_callbacks

    def lead_sees(pattern):
        out = {}
        try:
            with transaction.atomic():
                _reset_sequences()
                run_world(review, team, records, TA, pattern, capture)
                client = Client()
                client.force_login(team["lead"])
                out = {
                    "dashboard": _body(client.get(reverse("review:dashboard", args=[review.slug]))),
                    "csv": _body(client.get(reverse("screening:records-csv", args=[review.slug]))),
                }
                raise Rollback
        except Rollback:
            pass
        _reset_sequences()
        return out

    assert lead_sees("same as Bob") != lead_sees("opposite of Bob")


def test_every_url_of_the_project_is_observed_or_listed_as_not_reached(world_setup):
    review, team, _records, _others = world_setup
    visited = {name.split(":")[-1] for name, _url, _query in _urls(review, team["bob"])}
    every = {name.split(":")[-1] for name, _pattern in _patterns()}
    assert every - visited <= set(NOT_REACHED), every - visited - set(NOT_REACHED)
    assert set(NOT_REACHED) <= every  # no stale entry
