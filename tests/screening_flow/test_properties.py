"""No sequence of screening actions breaks the PRISMA 2020 arithmetic (stateful property test).

Hypothesis drives a team (a lead, a chosen resolver, two reviewers) through random sequences
of what the pages and services let them do, on a review whose stages are single or dual, blind
or not: cards served and skipped, votes (new and changed), undos, resolutions, the lead's
re-openings (with and without withdrawing the later stages), retrievals, full-text votes, study
links, lifting and restoring the blinding, leases expiring. A refused action is fine (the
service says why); after every step:

- every rule of the PRISMA 2020 flow diagram holds (`prisma_counts(review).check() == []`);
- no reviewer has two current votes on a record at a stage, and no record has more current
  votes than the stage has places (two in dual mode, one in single mode);
- no record is held on more reviewers' cards than it has places;
- a record re-opened by a lead has no current result until it is resolved.
"""

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from review.models import Arm
from screening import services
from screening.models import (
    Reopening,
    Retrieval,
    ScreeningDecision,
    ScreeningLease,
    StageResult,
)
from screening.prisma import prisma_counts
from tests import factories
from tests.screening_flow.helpers import member

pytestmark = pytest.mark.django_db
TA, FT = "title_abstract", "full_text"
STAGES = st.sampled_from([TA, FT])
VERDICTS = st.sampled_from(["include", "exclude", "maybe"])
N_DB, N_OTHER = 3, 1


class Rollback(Exception):
    pass


class Screening(RuleBasedStateMachine):
    """One review per example, rolled back at its end."""

    @initialize(
        ta_mode=st.sampled_from(["single", "dual"]),
        ft_mode=st.sampled_from(["single", "dual"]),
        ta_blind=st.booleans(),
        ft_blind=st.booleans(),
    )
    def set_up(self, ta_mode, ft_mode, ta_blind, ft_blind):
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        review = factories.ReviewFactory(
            title_abstract_mode=ta_mode,
            full_text_mode=ft_mode,
            title_abstract_blind=ta_blind,
            full_text_blind=ft_blind,
        )
        self.review = review
        self.lead = member(review, f"lead-{review.pk}", "lead")
        self.resolver = member(review, f"res-{review.pk}")
        review.memberships.filter(user=self.resolver).update(can_resolve=True)
        self.reviewers = [member(review, f"rev{i}-{review.pk}") for i in range(2)]
        self.users = [self.lead, self.resolver, *self.reviewers]
        batch = factories.ImportBatchFactory(source__review=review)
        other = factories.ImportBatchFactory(source__review=review, source__arm=Arm.CITATION,
                                             source__name=f"Citations {review.pk}")  # fmt: skip
        self.records = [factories.RecordFactory(batch=batch) for _ in range(N_DB)]
        self.records += [factories.RecordFactory(batch=other) for _ in range(N_OTHER)]
        self.reasons = [
            review.exclusion_reasons.create(label=label)
            for label in ("Wrong population", "Wrong design")
        ]

    def teardown(self):
        if hasattr(self, "atomic"):
            transaction.set_rollback(True)
            self.atomic.__exit__(None, None, None)

    def attempt(self, action, *args, **kwargs):
        try:
            return action(*args, **kwargs)
        except ValidationError:
            return None  # refused, with a message; the state must still be consistent

    # Actions: each picks among the objects it can act on (`pick` wraps the index), so that
    # meaningful sequences (vote, settle, retrieve, assess, link, then undo or re-open) are
    # common, and also among every record, so that refusals are exercised too.

    @staticmethod
    def pick(items, index):
        items = list(items)
        return items[index % len(items)] if items else None

    def record(self, index):
        return self.records[index % len(self.records)]

    @rule(which=st.integers(0, 20), include=st.booleans(), by=st.integers(0, 3),
          steps=st.integers(1, 4))  # fmt: skip
    def advance(self, which, include, by, steps):
        """Take one record up to `steps` steps down the pipeline the way a team would (votes by
        two members, retrieval, full-text votes, a study link), so deep states are common."""
        record = self.record(which)
        users = [self.users[by], self.users[(by + 1) % 4]]
        verdict = "include" if include else "exclude"
        for _ in range(steps):
            result = {
                r.stage: r for r in StageResult.objects.filter(record=record, superseded_at=None)
            }
            if record.batch.source.arm != Arm.CITATION and TA not in result:
                for user in users:
                    self.attempt(services.decision_record, review=self.review, record=record,
                                 reviewer=user, stage=TA, verdict=verdict)  # fmt: skip
            elif not Retrieval.objects.filter(record=record).exists():
                self.attempt(services.retrieval_set, review=self.review, record=record,
                             user=self.lead, status="retrieved", url="https://x.org/p")  # fmt: skip
            elif FT not in result:
                for user in users:
                    self.attempt(services.decision_record, review=self.review, record=record,
                                 reviewer=user, stage=FT, verdict=verdict,
                                 reason=None if include else self.reasons[0])  # fmt: skip
            else:
                self.attempt(services.report_link_study, review=self.review, record=record,
                             user=self.lead, study_label="Smith 2019")  # fmt: skip

    @rule(user=st.integers(0, 3), stage=STAGES, skip=st.booleans())
    def take_a_card(self, user, stage, skip):
        card = services.next_card(review=self.review, reviewer=self.users[user], stage=stage)
        if card is not None and skip:
            services.card_skip(review=self.review, record=card.record,
                               reviewer=self.users[user], stage=stage)  # fmt: skip

    @rule(user=st.integers(0, 3), record=st.integers(0, 20), stage=STAGES, verdict=VERDICTS,
          reason=st.integers(0, 1))  # fmt: skip
    def vote(self, user, record, stage, verdict, reason):
        self.attempt(
            services.decision_record, review=self.review, record=self.record(record),
            reviewer=self.users[user], stage=stage, verdict=verdict,
            reason=self.reasons[reason] if verdict == "exclude" and stage == FT else None,
        )  # fmt: skip

    @rule(user=st.integers(0, 3), stage=STAGES, verdict=VERDICTS)
    def vote_on_my_card(self, user, stage, verdict):
        card = services.next_card(review=self.review, reviewer=self.users[user], stage=stage)
        if card is not None:
            self.attempt(
                services.decision_record, review=self.review, record=card.record,
                reviewer=self.users[user], stage=stage, verdict=verdict,
                reason=self.reasons[0] if stage == FT and verdict == "exclude" else None,
            )  # fmt: skip

    @rule(which=st.integers(0, 20), verdict=VERDICTS)
    def change_a_vote(self, which, verdict):
        vote = self.pick(
            ScreeningDecision.objects.filter(review=self.review, superseded_at=None)
            .select_related("reviewer", "record").order_by("pk"), which
        )  # fmt: skip
        if vote is not None:
            self.attempt(
                services.decision_record, review=self.review, record=vote.record,
                reviewer=vote.reviewer, stage=vote.stage, verdict=verdict,
                reason=self.reasons[1] if vote.stage == FT and verdict == "exclude" else None,
            )  # fmt: skip

    @rule(which=st.integers(0, 20))
    def undo(self, which):
        vote = self.pick(
            ScreeningDecision.objects.filter(review=self.review, superseded_at=None)
            .select_related("reviewer", "record").order_by("pk"), which
        )  # fmt: skip
        if vote is not None:
            self.attempt(services.decision_undo, review=self.review, record=vote.record,
                         reviewer=vote.reviewer, stage=vote.stage)  # fmt: skip

    @rule(user=st.integers(0, 1), which=st.integers(0, 20), stage=STAGES,
          include=st.booleans())  # fmt: skip
    def resolve(self, user, which, stage, include):
        record = self.pick(services.conflicts(self.review, stage), which) or self.record(which)
        self.attempt(
            services.conflict_resolve, review=self.review, record=record,
            stage=stage, resolver=self.users[user], verdict="include" if include else "exclude",
            reason=self.reasons[1] if stage == FT and not include else None,
        )  # fmt: skip

    @rule(which=st.integers(0, 20), cascade=st.booleans())
    def reopen(self, which, cascade):
        result = self.pick(
            StageResult.objects.filter(review=self.review, superseded_at=None)
            .select_related("record").order_by("pk"), which
        )  # fmt: skip
        if result is not None:
            self.attempt(services.stage_reopen, review=self.review, record=result.record,
                         stage=result.stage, lead=self.lead, cascade=cascade)  # fmt: skip

    @rule(user=st.integers(0, 3), which=st.integers(0, 20), retrieved=st.booleans())
    def retrieve(self, user, which, retrieved):
        record = self.pick(services.sought_records(self.review).order_by("pk"), which)
        self.attempt(
            services.retrieval_set, review=self.review, record=record or self.record(which),
            user=self.users[user], status="retrieved" if retrieved else "not_retrieved",
            url="https://example.org/paper", reason="Not found",
        )  # fmt: skip

    @rule(user=st.integers(0, 3), which=st.integers(0, 20),
          study=st.sampled_from(["Smith 2019", "Lee 2020"]))  # fmt: skip
    def link(self, user, which, study):
        record = self.pick(services.included_reports(self.review).order_by("pk"), which)
        self.attempt(services.report_link_study, review=self.review,
                     record=record or self.record(which), user=self.users[user],
                     study_label=study)  # fmt: skip

    @rule(stage=STAGES, blind=st.booleans())
    def blinding(self, stage, blind):
        services.stage_blinding_set(review=self.review, stage=stage, blind=blind, user=self.lead)

    @rule()
    def leases_expire(self):
        ScreeningLease.objects.filter(review=self.review).update(expires_at=timezone.now())

    # Invariants ------------------------------------------------------------------------------

    @invariant()
    def prisma_rules_hold(self):
        if hasattr(self, "review"):
            failures = prisma_counts(self.review).check()
            assert failures == [], [str(f) for f in failures]

    @invariant()
    def votes_fit_their_places(self):
        if not hasattr(self, "review"):
            return
        current = ScreeningDecision.objects.filter(review=self.review, superseded_at=None)
        per_reviewer = current.values("record", "stage", "reviewer").annotate(n=Count("pk"))
        assert all(row["n"] == 1 for row in per_reviewer)
        for row in current.values("record", "stage").annotate(n=Count("pk")):
            assert row["n"] <= services.places(self.review, row["stage"]), row

    @invariant()
    def cards_fit_their_places(self):
        if not hasattr(self, "review"):
            return
        held = ScreeningLease.objects.filter(
            review=self.review, skipped=False, expires_at__gt=timezone.now()
        )
        for row in held.values("record", "stage").annotate(n=Count("pk")):
            assert row["n"] <= services.places(self.review, row["stage"]), row

    @invariant()
    def a_reopened_record_waits_for_its_resolution(self):
        if not hasattr(self, "review"):
            return
        for reopening in Reopening.objects.filter(review=self.review, closed_at=None):
            assert not StageResult.objects.filter(
                record=reopening.record_id, stage=reopening.stage, superseded_at=None
            ).exists()


def test_no_sequence_of_screening_actions_breaks_the_prisma_rules():
    Screening.TestCase.settings = settings(
        max_examples=80,
        stateful_step_count=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    Screening.TestCase().runTest()
