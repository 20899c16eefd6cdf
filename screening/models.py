"""Screening and eligibility facts: votes, settled stage results, full-text retrieval.

Everything here is a stored fact from which PRISMA counts are queries:
- `ScreeningDecision`: one reviewer's vote on one record at one stage. Append-only: a changed
  vote supersedes the old row (`superseded_at` set), so the history is the audit trail.
- `StageResult`: the settled outcome of a record at a stage (one reviewer's vote in single mode,
  two agreeing votes or a resolved conflict in dual mode, or an automated exclusion). Also
  append-only, with at most one current row per record and stage.
- `Retrieval`: what happened when the full text of a record that passed title/abstract
  screening was sought (retrieved, with a file or URL, or not retrieved, with why).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Stage(models.TextChoices):
    TITLE_ABSTRACT = "title_abstract", "Title/abstract screening"
    FULL_TEXT = "full_text", "Full-text eligibility"


class Verdict(models.TextChoices):
    INCLUDE = "include", "Include"
    EXCLUDE = "exclude", "Exclude"
    MAYBE = "maybe", "Maybe"


class ExclusionReason(models.Model):
    """One of a review's shared reasons for excluding a report ("Wrong population", …)."""

    review = models.ForeignKey(
        "review.Review", on_delete=models.CASCADE, related_name="exclusion_reasons"
    )
    label = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "label"], name="reason_label_unique_in_review"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class StageFact(models.Model):
    """What votes and results share: a verdict on a record at a stage, append-only.

    A row is never edited: a later row supersedes it (`superseded_at` set on the old one), so the
    rows are their own audit trail and "current" means `superseded_at IS NULL`.
    """

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey("review.Record", on_delete=models.CASCADE, related_name="%(class)ss")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    reason = models.ForeignKey(
        ExclusionReason, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=Stage.values), name="%(class)s_stage_valid"
            ),
            models.CheckConstraint(
                condition=Q(reason__isnull=True) | Q(verdict=Verdict.EXCLUDE),
                name="%(class)s_reason_only_for_exclude",
            ),
        ]


class ScreeningDecision(StageFact):
    """One reviewer's vote (include, exclude or maybe) on one record at one stage."""

    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="screening_decisions"
    )

    class Meta(StageFact.Meta):
        indexes = [
            models.Index(fields=["review", "stage", "reviewer"], name="decision_review_stage_user"),
        ]
        constraints = [
            *StageFact.Meta.constraints,
            models.UniqueConstraint(
                fields=["record", "stage", "reviewer"],
                condition=Q(superseded_at__isnull=True),
                name="decision_one_current_per_reviewer",
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="decision_verdict_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer}: {self.verdict} ({self.stage}) on record {self.record_id}"


class ResultMethod(models.TextChoices):
    SINGLE = "single", "Single reviewer"
    AGREEMENT = "agreement", "Two reviewers agreed"
    RESOLUTION = "resolution", "Conflict resolved"
    AUTOMATION = "automation", "Excluded by automation"


SETTLED_VERDICTS = [(Verdict.INCLUDE, "Include"), (Verdict.EXCLUDE, "Exclude")]


class StageResult(StageFact):
    """The settled outcome of a record at a stage: what PRISMA counts.

    Set by one reviewer's vote in single mode, two agreeing votes or a resolved conflict in dual
    mode, or an automated exclusion. A 'maybe' moves a record on, so it settles as include.
    """

    verdict = models.CharField(max_length=10, choices=SETTLED_VERDICTS)
    method = models.CharField(max_length=20, choices=ResultMethod.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Who resolved the conflict (empty when reviewers' votes settled it).",
    )

    class Meta(StageFact.Meta):
        indexes = [
            models.Index(fields=["review", "stage", "verdict"], name="result_review_stage_verdict")
        ]
        constraints = [
            *StageFact.Meta.constraints,
            models.UniqueConstraint(
                fields=["record", "stage"],
                condition=Q(superseded_at__isnull=True),
                name="result_one_current_per_stage",
            ),
            models.CheckConstraint(
                condition=Q(verdict__in=[Verdict.INCLUDE, Verdict.EXCLUDE]),
                name="result_verdict_valid",
            ),
            models.CheckConstraint(
                condition=Q(method__in=ResultMethod.values), name="result_method_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"record {self.record_id}: {self.verdict} at {self.stage} ({self.method})"


class RetrievalStatus(models.TextChoices):
    RETRIEVED = "retrieved", "Retrieved"
    NOT_RETRIEVED = "not_retrieved", "Not retrieved"


class Retrieval(models.Model):
    """The full text of a record sought for retrieval (PRISMA's "reports sought")."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    record = models.OneToOneField(
        "review.Record", on_delete=models.CASCADE, related_name="retrieval"
    )
    status = models.CharField(max_length=20, choices=RetrievalStatus.choices)
    file = models.FileField(upload_to="fulltext/%Y/%m/", blank=True)
    url = models.TextField(blank=True)
    not_retrieved_reason = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["review", "status"], name="retrieval_review_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RetrievalStatus.values), name="retrieval_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"record {self.record_id}: {self.status}"

    @property
    def has_pdf(self) -> bool:
        """A PDF is attached (uploads are checked to be PDFs; the file view checks again)."""
        return bool(self.file) and self.file.name.lower().endswith(".pdf")

    @property
    def web_url(self) -> str:
        """The saved URL if it is a web address (http or https), else "": a link never runs
        a `javascript:` or `data:` URL saved before URLs were checked."""
        return self.url if self.url.lower().startswith(("http://", "https://")) else ""


class ScreeningAction(models.TextChoices):
    DECIDE = "decide", "Decided"
    CHANGE = "change", "Changed a decision"
    UNDO = "undo", "Undid a decision"
    SETTLE = "settle", "Settled by the reviewers' votes"
    RESOLVE = "resolve", "Resolved a conflict"
    REOPEN = "reopen", "Re-opened as a conflict"
    WITHDRAW = "withdraw", "Withdrawn when an earlier stage was re-opened"
    UNLINK = "unlink", "Unlinked from its study when its stage was re-opened"
    RETRIEVE = "retrieve", "Recorded the full-text retrieval"
    INCLUDE = "include", "Linked an included report to its study"
    STOP = "stop", "Excluded by automation (stopping rule)"


class ScreeningEvent(models.Model):
    """The append-only audit trail of screening: every vote, change, undo and resolution."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(
        "review.Record", on_delete=models.CASCADE, related_name="screening_events"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    action = models.CharField(max_length=20, choices=ScreeningAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["review", "record"], name="event_review_record")]

    def __str__(self) -> str:
        return f"{self.action} on record {self.record_id} by {self.user_id}"


class CalibrationRound(models.Model):
    """A calibration round of a dual-mode stage: two reviewers first screen the same random
    sample of records nobody had voted on, and the lead reads their agreement before the real
    screening starts (`screening/calibration.py`, `docs/agreement.md`).

    While the round is open (`closed_at` empty) the two reviewers' queues serve only the sample
    and the other reviewers' queues skip it. At most one open round per review and stage.
    """

    review = models.ForeignKey(
        "review.Review", on_delete=models.CASCADE, related_name="calibration_rounds"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices)
    reviewer_a = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reviewer_b = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_size = models.PositiveIntegerField(help_text="The sample size the lead asked for.")
    seed = models.BigIntegerField(help_text="Seed of the random draw (reproducible).")
    records = models.ManyToManyField(
        "review.Record", through="CalibrationSample", related_name="calibration_rounds"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review", "stage"],
                condition=Q(closed_at__isnull=True),
                name="calibration_one_open_per_stage",
            ),
            models.CheckConstraint(
                condition=~Q(reviewer_a=models.F("reviewer_b")),
                name="calibration_two_reviewers",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=Stage.values), name="calibration_stage_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"calibration {self.pk} of {self.review_id} at {self.stage}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CalibrationSample(models.Model):
    """One record of a calibration round's sample."""

    round = models.ForeignKey(CalibrationRound, on_delete=models.CASCADE, related_name="samples")
    record = models.ForeignKey(
        "review.Record", on_delete=models.CASCADE, related_name="calibration_samples"
    )

    class Meta:
        ordering = ["record_id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "record"], name="calibration_record_once"),
        ]

    def __str__(self) -> str:
        return f"record {self.record_id} in calibration {self.round_id}"


class CalibrationAction(models.TextChoices):
    START = "start", "Started a calibration round"
    CLOSE = "close", "Closed a calibration round"


class CalibrationEvent(models.Model):
    """The append-only log of calibration rounds started and closed, with who and when."""

    round = models.ForeignKey(CalibrationRound, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=10, choices=CalibrationAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} calibration {self.round_id} by {self.user_id}"


class TrainingState(models.Model):
    """When a ranking was last trained, on what, and whether a retrain is queued (claimed in
    `training_requested_at` so it is never queued twice): the shared ranking's and each
    reviewer's own."""

    decisions_at_training = models.PositiveIntegerField(default=0)
    labels_at_training = models.PositiveIntegerField(default=0)
    trained = models.BooleanField(default=False, help_text="A model ranked (not random order).")
    trained_at = models.DateTimeField(null=True, blank=True)
    train_seconds = models.FloatField(null=True, blank=True)
    training_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class Prioritisation(TrainingState):
    """How a review's title/abstract queue is ordered (active learning) and its stopping rule
    (`screening/prioritisation.py`, `docs/ranking.md`). One row per review, made on first use.

    The ranking is retrained in the background after every few decisions; its order is stored
    as `RecordRank` rows, which the queue walks. For the stopping test the lead switches the
    queue to a random sample of the records left (`sampling_started_at`); when the test shows
    the recall target is reached with the confidence asked for, the lead stops and the records
    left are removed by automation (PRISMA's `excluded_automatic`), with the test's figures.
    """

    review = models.OneToOneField(
        "review.Review", on_delete=models.CASCADE, related_name="prioritisation"
    )
    enabled = models.BooleanField(
        default=True, help_text="Order the title/abstract queue by the model (else import order)."
    )
    show_scores = models.BooleanField(
        default=False, help_text="Show reviewers the model's score of each record."
    )
    seed = models.BigIntegerField(default=0, help_text="Seed of the order before training.")
    recall_target = models.FloatField(default=0.95)
    confidence = models.FloatField(default=0.95)
    sampling_started_at = models.DateTimeField(null=True, blank=True)
    sampling_started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stop_statement = models.TextField(blank=True)
    stop_figures = models.JSONField(default=dict, blank=True)
    stopped_records = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(recall_target__gt=0, recall_target__lt=1)
                & Q(confidence__gt=0, confidence__lt=1),
                name="prioritisation_targets_in_0_1",
            ),
        ]

    def __str__(self) -> str:
        return f"prioritisation of review {self.review_id}"


class RecordRank(models.Model):
    """A record's place in its review's title/abstract queue (0 = first), from the last
    training, or from the random sample drawn for the stopping test (`sampled`)."""

    record = models.OneToOneField(
        "review.Record", on_delete=models.CASCADE, primary_key=True, related_name="rank"
    )
    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    score = models.FloatField(null=True, blank=True)
    sampled = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["review", "position"], name="rank_review_position")]

    def __str__(self) -> str:
        return f"record {self.record_id} at {self.position}"


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Being prepared"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """An Excel export of a large review, built by the background worker for the member who
    asked (their blind view of the votes), downloaded by them alone."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    layout = models.CharField(max_length=10, default="wide")
    resolver = models.BooleanField(default=False, help_text="Shows the votes of conflicts.")
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.PENDING
    )
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"export {self.pk} of review {self.review_id} ({self.status})"


class ScreeningLease(models.Model):
    """A record served to a reviewer at a stage: the queue's work allocation.

    While a lease is active (`expires_at` in the future, not skipped) the record counts the
    reviewer as one of the places it has: two in dual mode, one in single mode, so no more
    reviewers are served it than can vote on it. A reviewer holds at most one active lease per
    stage (their card); a lease ends when they vote, skip (the row stays, `skipped`, so the
    record is not served to them again before it expires) or leave it idle until it expires
    (`SCREENING_LEASE_MINUTES`). Leases are work allocation only: what the reviewers did is in
    `ScreeningDecision` and `ScreeningEvent`.
    """

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey("review.Record", on_delete=models.CASCADE, related_name="leases")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="screening_leases"
    )
    served_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    skipped = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["record", "stage", "expires_at"], name="lease_record_stage"),
            models.Index(fields=["review", "stage", "reviewer"], name="lease_review_stage_user"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "stage", "reviewer"], name="lease_one_per_reviewer_record"
            ),
            models.CheckConstraint(condition=Q(stage__in=Stage.values), name="lease_stage_valid"),
        ]

    def __str__(self) -> str:
        return f"record {self.record_id} served to {self.reviewer_id} at {self.stage}"


class Reopening(models.Model):
    """A lead re-opened a settled record at a stage as a conflict (a reviewer asked to change a
    vote after the record had moved on, or the lead changes their mind): the stage result is
    superseded, later stages are withdrawn (`cascade`), and the record waits on the conflicts
    page until a lead or resolver settles it again, which closes the reopening."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    record = models.ForeignKey(
        "review.Record", on_delete=models.CASCADE, related_name="reopenings"
    )
    stage = models.CharField(max_length=20, choices=Stage.choices)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)
    cascade = models.JSONField(default=dict, blank=True, help_text="What later stages lost.")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record", "stage"],
                condition=Q(closed_at__isnull=True),
                name="reopening_one_open_per_stage",
            ),
            models.CheckConstraint(
                condition=Q(stage__in=Stage.values), name="reopening_stage_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"record {self.record_id} re-opened at {self.stage}"


class StageAction(models.TextChoices):
    LIFT_BLINDING = "lift_blinding", "Lifted the blinding"
    RESTORE_BLINDING = "restore_blinding", "Turned blinding back on"


class StageEvent(models.Model):
    """The log of what happened to a stage as a whole (blinding lifted or turned back on), with
    who and when, for the methods section."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=20, choices=Stage.choices)
    action = models.CharField(max_length=20, choices=StageAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} at {self.stage} of review {self.review_id}"


class ReviewerRanking(TrainingState):
    """One reviewer's own ranking of the title/abstract queue, used while the stage is blind
    (dual mode): trained on the labels that reviewer may see (their own votes, plus settled
    results for a lead or resolver), never on another reviewer's open vote. Its order is stored
    as `ReviewerRank` rows (the first `PERSONAL_RANKS` places); the queue walks them first."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "reviewer"], name="ranking_one_per_reviewer")
        ]

    def __str__(self) -> str:
        return f"ranking of review {self.review_id} for {self.reviewer_id}"


class ReviewerRank(models.Model):
    """A record's place in one reviewer's own queue (0 = first)."""

    ranking = models.ForeignKey(ReviewerRanking, on_delete=models.CASCADE, related_name="ranks")
    record = models.ForeignKey(
        "review.Record", on_delete=models.CASCADE, related_name="personal_ranks"
    )
    position = models.PositiveIntegerField()
    score = models.FloatField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ranking", "position"], name="personal_rank_position")]

    def __str__(self) -> str:
        return f"record {self.record_id} at {self.position} for ranking {self.ranking_id}"


class BulkUploadStatus(models.TextChoices):
    OPEN = "open", "Waiting for the lead's confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    DISCARDED = "discarded", "Discarded"


class BulkUpload(models.Model):
    """A lead's upload of several full texts at once (PDFs or a ZIP of PDFs), matched to the
    records sought for retrieval (`screening/fulltext_match.py`). Its files wait in a private
    folder under MEDIA_ROOT (no URL serves it) until the lead confirms the match report, which
    attaches them to their records, or discards it; either way the waiting copies are deleted."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=10, choices=BulkUploadStatus.choices, default=BulkUploadStatus.OPEN
    )
    finished_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    attached = models.PositiveIntegerField(default=0, help_text="Files attached on confirmation.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=BulkUploadStatus.values), name="bulk_upload_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"bulk upload {self.pk} of review {self.review_id} ({self.status})"


class BulkUploadFile(models.Model):
    """One file of a bulk upload: refused (`problem`), or a PDF with its match (`record`,
    `method`, `score`; no record: unmatched; `duplicate`: another file matched that record)."""

    upload = models.ForeignKey(BulkUpload, on_delete=models.CASCADE, related_name="files")
    position = models.PositiveIntegerField()
    filename = models.CharField(max_length=255, help_text="As uploaded (a ZIP entry's name).")
    file = models.FileField(upload_to="fulltext-bulk/%Y/%m/", blank=True)
    size = models.PositiveBigIntegerField(default=0)
    problem = models.TextField(blank=True, help_text="Why the file was refused.")
    record = models.ForeignKey(
        "review.Record", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    method = models.CharField(max_length=10, blank=True)
    score = models.FloatField(default=0)
    duplicate = models.BooleanField(default=False)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.filename} of bulk upload {self.upload_id}"
