"""The identification side of the PRISMA pipeline: reviews, their teams, sources, imports, records.

Models hold fields, choices and constraints; use cases live in `services.py`, cross-relation reads
in `selectors.py`, and who may do what in `access.py`/`rules.py`.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from review import keys


class ScreeningMode(models.TextChoices):
    SINGLE = "single", "Single reviewer"
    DUAL = "dual", "Dual independent reviewers"


class ReviewQuerySet(models.QuerySet):
    def for_user(self, user) -> "ReviewQuerySet":
        """Reviews the user is a member of, each annotated with `user_role` (their role in it)
        and `user_can_resolve` (whether the lead chose them to resolve conflicts)."""
        if not user.is_authenticated:
            return self.none()
        membership = Membership.objects.filter(review=OuterRef("pk"), user=user)
        return self.annotate(
            user_role=Subquery(membership.values("role")[:1]),
            user_can_resolve=Subquery(membership.values("can_resolve")[:1]),
        ).filter(user_role__isnull=False)


class DecimalSeparator(models.TextChoices):
    """How a review's extracted numbers are typed (analysis/engine/numbers.py reads them)."""

    NOT_DECLARED = "", "Not declared: a number with a comma is refused as ambiguous"
    POINT = "point", "Point: 12.5 (a comma groups thousands: 1,234.5)"
    COMMA = "comma", "Comma: 12,5 (a point groups thousands: 1.234,5)"


class Review(models.Model):
    """One systematic review: its question, protocol and how each screening stage is run."""

    title = models.CharField(max_length=300)
    slug = models.SlugField(max_length=80, unique=True)
    question = models.TextField(blank=True, help_text="The review question (e.g. in PICO form).")
    protocol_registration = models.CharField(
        max_length=100, blank=True, help_text="Registration id, e.g. PROSPERO CRD42021234567."
    )
    title_abstract_mode = models.CharField(
        "title/abstract screening",
        max_length=10,
        choices=ScreeningMode.choices,
        default=ScreeningMode.DUAL,
    )
    title_abstract_blind = models.BooleanField(
        "blind title/abstract screening",
        default=True,
        help_text="Reviewers do not see each other's decisions until resolved.",
    )
    full_text_mode = models.CharField(
        "full-text eligibility",
        max_length=10,
        choices=ScreeningMode.choices,
        default=ScreeningMode.DUAL,
    )
    full_text_blind = models.BooleanField(
        "blind full-text eligibility",
        default=True,
        help_text="Reviewers do not see each other's decisions until resolved.",
    )
    highlight_include = models.JSONField(
        "include keywords", default=list, blank=True, help_text="Highlighted as signs of relevance."
    )
    highlight_exclude = models.JSONField(
        "exclude keywords",
        default=list,
        blank=True,
        help_text="Highlighted as signs of irrelevance.",
    )
    decimal_separator = models.CharField(
        max_length=5,
        choices=DecimalSeparator.choices,
        default=DecimalSeparator.NOT_DECLARED,
        blank=True,
        help_text="How extracted numbers are typed. Until it is declared, a number with a comma "
        "is refused: 1,234 could be 1.234 or 1234.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(title_abstract_mode__in=ScreeningMode.values)
                & Q(full_text_mode__in=ScreeningMode.values),
                name="review_screening_mode_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Role(models.TextChoices):
    LEAD = "lead", "Lead"
    REVIEWER = "reviewer", "Reviewer"
    VIEWER = "viewer", "Viewer"


class Membership(models.Model):
    """A user's role in one review. Viewers read, reviewers also screen, leads also manage."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REVIEWER)
    can_resolve = models.BooleanField(
        "resolves conflicts",
        default=False,
        help_text="A reviewer the lead chose to resolve conflicts (leads always may).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["review", "user"], name="membership_one_per_user"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.review}"


class Arm(models.TextChoices):
    """Where a source sits in the PRISMA 2020 flow diagram."""

    DATABASE = "database", "Database"
    REGISTER = "register", "Register"
    WEBSITE = "website", "Website"
    ORGANISATION = "organisation", "Organisation"
    CITATION = "citation", "Citation searching"


DATABASES_AND_REGISTERS = (Arm.DATABASE, Arm.REGISTER)
OTHER_METHODS = (Arm.WEBSITE, Arm.ORGANISATION, Arm.CITATION)


class Source(models.Model):
    """A place records came from: a bibliographic database, a register, or another method."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=200, help_text="e.g. MEDLINE via PubMed, Embase via Ovid.")
    arm = models.CharField(max_length=20, choices=Arm.choices, default=Arm.DATABASE)
    date_searched = models.DateField(null=True, blank=True)
    search_string = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "name"], name="source_name_unique_in_review"),
            models.CheckConstraint(condition=Q(arm__in=Arm.values), name="source_arm_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_other_method(self) -> bool:
        return self.arm in OTHER_METHODS


class ImportFormat(models.TextChoices):
    RIS = "ris", "RIS"
    BIBTEX = "bibtex", "BibTeX"
    MEDLINE = "medline", "PubMed/MEDLINE text"
    PUBMED_XML = "pubmed_xml", "PubMed XML"
    ENDNOTE_XML = "endnote_xml", "EndNote XML"
    WOS = "wos", "Web of Science text"
    CSV = "csv", "CSV/TSV"
    EXCEL = "excel", "Excel"
    ENDNOTE_TAGGED = "endnote_tagged", "EndNote tagged (%0/%T)"
    PROQUEST = "proquest", "ProQuest plain text"
    MANUAL = "manual", "Entered by hand"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "Waiting"  # for its column mapping to be confirmed, or for a worker
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"  # by its uploader or a lead; nothing was written


class ImportBatch(models.Model):
    """One uploaded search export (or one batch of hand-entered records) from one source."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="imports")
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="imports")
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=20, choices=ImportFormat.choices)
    sha256 = models.CharField(max_length=64, blank=True)
    record_count = models.PositiveIntegerField(
        default=0, help_text="Entries the file held, as parsed."
    )
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    error = models.TextField(blank=True, help_text="Why the import failed; nothing was written.")
    problems = models.JSONField(
        default=list, blank=True, help_text="Warnings and errors: {line, message, severity}."
    )
    file = models.FileField(
        upload_to="imports/%Y/%m/", blank=True, help_text="The file as uploaded."
    )
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes.")
    strict = models.BooleanField(
        default=False,
        help_text="A record without a title fails the import (instead of being left out with "
        "a warning).",
    )
    column_mapping = models.JSONField(
        null=True, blank=True, help_text="CSV/Excel: record field → column header."
    )
    phase = models.CharField(max_length=40, blank=True, help_text="What a running import does now.")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    # The lease of the process running it (review.heartbeat): a running import whose heartbeat is
    # older than IMPORT_STALE_SECONDS lost its worker, and is queued again (import_service.
    # imports_sweep) until IMPORT_MAX_ATTEMPTS runs have started, then failed.
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the process running it."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started (a worker that stopped mid-way counts)."
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "import batches"
        indexes = [models.Index(fields=["review", "sha256"], name="import_review_sha256")]
        constraints = [
            models.CheckConstraint(
                condition=Q(format__in=ImportFormat.values), name="import_format_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="import_status_valid"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="import_progress_percent"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.source})"


class Removal(models.TextChoices):
    """Why a record left before title/abstract screening, other than being a duplicate."""

    AUTOMATION = "automation", "Marked as ineligible by automation tools"
    OTHER = "other", "Removed for other reasons"


class RecordQuerySet(models.QuerySet):
    def for_review(self, review) -> "RecordQuerySet":
        return self.filter(review=review)

    def duplicates(self) -> "RecordQuerySet":
        return self.filter(duplicate_of__isnull=False)

    def removed(self, reason: str | None = None) -> "RecordQuerySet":
        if reason is None:
            return self.exclude(removed_reason="")
        return self.filter(removed_reason=reason)

    def retained(self) -> "RecordQuerySet":
        """Records still in the review after duplicates and pre-screening removals are taken out."""
        return self.filter(duplicate_of__isnull=True, removed_reason="")

    def in_arms(self, arms) -> "RecordQuerySet":
        return self.filter(batch__source__arm__in=arms)


class Record(models.Model):
    """One bibliographic record as imported, with normalised keys for matching.

    Records are never deleted to de-duplicate: a duplicate points at its primary record
    (`duplicate_of`), so every source keeps its count and the PRISMA duplicates box is a query.
    """

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="records")
    batch = models.ForeignKey(ImportBatch, on_delete=models.PROTECT, related_name="records")
    position = models.PositiveIntegerField(default=0, help_text="Entry number within its file.")
    number = models.PositiveIntegerField(
        help_text="The record's number in its review (Record 1, 2, …), in import order."
    )

    title = models.TextField()
    abstract = models.TextField(blank=True)
    authors = models.JSONField(default=list, blank=True)
    year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1000), MaxValueValidator(2999)]
    )
    journal = models.CharField(max_length=500, blank=True)
    volume = models.CharField(max_length=50, blank=True)
    issue = models.CharField(max_length=50, blank=True)
    pages = models.CharField(max_length=50, blank=True)
    doi = models.CharField(max_length=255, blank=True, help_text="Lower case, without URL prefix.")
    pmid = models.CharField(max_length=20, blank=True)
    url = models.TextField(blank=True)
    keywords = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=50, blank=True)
    raw = models.JSONField(default=dict, blank=True, help_text="The entry as parsed from the file.")

    # Normalised keys for de-duplication and blocking (kept short so they can be indexed).
    title_key = models.CharField(max_length=255, blank=True)
    first_author_key = models.CharField(max_length=100, blank=True)

    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    removed_reason = models.CharField(max_length=20, choices=Removal.choices, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RecordQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["review", "doi"], name="record_review_doi"),
            models.Index(fields=["review", "pmid"], name="record_review_pmid"),
            models.Index(fields=["review", "title_key"], name="record_review_title_key"),
            models.Index(
                fields=["review", "year", "first_author_key"], name="record_review_year_author"
            ),
            models.Index(fields=["review", "duplicate_of"], name="record_review_duplicate_of"),
            # The screening queue walks a review's open records in id order.
            models.Index(
                fields=["review", "id"],
                condition=Q(duplicate_of__isnull=True, removed_reason=""),
                name="record_review_open",
            ),
            # Covers the count of the records to screen (the screening card's progress, on
            # every key press) as an index-only scan: open records by batch.
            models.Index(
                fields=["review", "batch"],
                condition=Q(duplicate_of__isnull=True, removed_reason=""),
                name="record_review_open_batch",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["review", "number"], name="record_number_in_review"),
            models.CheckConstraint(
                condition=Q(year__isnull=True) | Q(year__gte=1000, year__lte=2999),
                name="record_year_plausible",
                violation_error_message="The year must be between 1000 and 2999.",
            ),
            models.CheckConstraint(
                condition=Q(removed_reason="") | Q(removed_reason__in=Removal.values),
                name="record_removed_reason_valid",
            ),
            models.CheckConstraint(
                condition=Q(duplicate_of__isnull=True) | Q(removed_reason=""),
                name="record_duplicate_or_removed_not_both",
            ),
        ]

    def __str__(self) -> str:
        return self.title[:80]

    def set_keys(self) -> None:
        """Fill the normalised keys from the bibliographic fields (call before saving)."""
        self.doi = keys.normalise_doi(self.doi)
        self.pmid = keys.normalise_pmid(self.pmid)
        self.title_key = keys.title_key(self.title)[:255]
        self.first_author_key = keys.first_author_key(self.authors)[:100]


class PairStatus(models.TextChoices):
    AUTOMATIC = "automatic", "Merged automatically"
    POSSIBLE = "possible", "Possible duplicate: needs a person"
    CONFIRMED = "confirmed", "Confirmed duplicate"
    REJECTED = "rejected", "Not duplicates"


class DuplicatePairQuerySet(models.QuerySet):
    def same_group(self) -> "DuplicatePairQuerySet":
        """Pairs whose two records are already in one duplicate group (they share a primary),
        e.g. b and c once the pairs (a, b) and (a, c) were merged: nothing is left to ask."""
        return self.annotate(
            primary_a=Coalesce("record_a__duplicate_of_id", "record_a_id"),
            primary_b=Coalesce("record_b__duplicate_of_id", "record_b_id"),
        ).filter(primary_a=F("primary_b"))

    def awaiting(self) -> "DuplicatePairQuerySet":
        """Possible duplicates that still need a person: not already in one group."""
        merged = self.filter(status=PairStatus.POSSIBLE).same_group().values("pk")
        return self.filter(status=PairStatus.POSSIBLE).exclude(pk__in=merged)


class DuplicatePair(models.Model):
    """Two records the de-duplicator matched, with why, and what became of the match.

    `automatic` and `confirmed` pairs are merged (the records share a primary through
    `Record.duplicate_of`); `possible` pairs wait for a person; `rejected` pairs are kept so the
    same match is never proposed again. Every change is logged as a `DedupEvent`.
    """

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="duplicate_pairs")
    record_a = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    record_b = models.ForeignKey(Record, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=PairStatus.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = DuplicatePairQuerySet.as_manager()

    class Meta:
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["review", "status"], name="pair_review_status")]
        constraints = [
            models.UniqueConstraint(fields=["record_a", "record_b"], name="pair_once"),
            models.CheckConstraint(condition=Q(record_a__lt=F("record_b")), name="pair_ordered"),
            models.CheckConstraint(
                condition=Q(status__in=PairStatus.values), name="pair_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"records {self.record_a_id} and {self.record_b_id}: {self.status}"


class DedupAction(models.TextChoices):
    AUTO_MERGE = "auto_merge", "Merged automatically"
    CONFIRM = "confirm", "Confirmed as duplicates"
    REJECT = "reject", "Marked as not duplicates"
    SET_PRIMARY = "set_primary", "Made the primary record"
    UNDO = "undo", "Undone"


class DedupEvent(models.Model):
    """The append-only log of de-duplication: who did what to which records, and when."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="dedup_events")
    action = models.CharField(max_length=20, choices=DedupAction.choices)
    pair = models.ForeignKey(
        DuplicatePair, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    record = models.ForeignKey(
        Record, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        who = self.user or "the de-duplicator"
        return f"{self.action} by {who} at {self.created_at:%Y-%m-%d %H:%M}"
