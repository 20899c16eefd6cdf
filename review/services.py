"""Use cases that change a review: create it, manage its team and sources, add records.

Each service takes keyword-only arguments, validates first, then writes in one transaction.
"""

import hashlib
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils.text import slugify

from review.models import (
    ImportBatch,
    ImportFormat,
    ImportStatus,
    Membership,
    Record,
    Review,
    Role,
    Source,
)
from screening.models import ExclusionReason

# The reasons most reviews start from (Covidence's defaults, in PICO order); leads edit them.
DEFAULT_EXCLUSION_REASONS = (
    "Wrong patient population",
    "Wrong intervention",
    "Wrong comparator",
    "Wrong outcomes",
    "Wrong study design",
    "Wrong setting",
    "Duplicate report",
    "Full text not available in a language the team reads",
)


#: addresses a review cannot take: other pages live there (/reviews/new/)
RESERVED_SLUGS = frozenset({"new"})
_SUFFIX_ROOM = 10  # for the "-2", "-3" … that makes a slug unique


def _cut_between_words(slug: str, limit: int) -> str:
    """`slug` cut to at most `limit` characters at a hyphen (mid-word only for one long word)."""
    if len(slug) <= limit:
        return slug
    head = slug[:limit]
    if slug[limit] != "-" and "-" in head:
        head = head.rsplit("-", 1)[0]
    return head.strip("-")


def unique_review_slug(title: str) -> str:
    """A slug for the title, cut between words, that no review has yet and that is never all
    digits nor a reserved word."""
    limit = Review._meta.get_field("slug").max_length - _SUFFIX_ROOM
    base = _cut_between_words(slugify(title), limit) or "review"
    if base.isdigit() or base in RESERVED_SLUGS:
        base = _cut_between_words(f"review-{base}", limit)
    slug, n = base, 2
    while Review.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def review_create(
    *, title: str, lead, slug: str = "", exclusion_reasons: list[str] | None = None, **settings
) -> Review:
    """Create a review with `lead` as its lead; its exclusion reasons default to the usual list."""
    review = Review(
        title=title, slug=slug or unique_review_slug(title), created_by=lead, **settings
    )
    review.full_clean()
    review.save()
    Membership.objects.create(review=review, user=lead, role=Role.LEAD)
    exclusion_reasons_set(review=review, labels=exclusion_reasons or DEFAULT_EXCLUSION_REASONS)
    return review


BLIND_FLAGS = {"title_abstract_blind": "title_abstract", "full_text_blind": "full_text"}


@transaction.atomic
def review_update(
    *, review: Review, exclusion_reasons: list[str] | None = None, user=None, **fields
) -> Review:
    """Change a review's settings; a change of a stage's blinding is logged with `user`."""
    from screening.services import stage_blinding_logged

    before = {flag: getattr(review, flag) for flag in BLIND_FLAGS}
    for name, value in fields.items():
        setattr(review, name, value)
    review.full_clean()
    review.save(update_fields=list(fields))
    if exclusion_reasons is not None:
        exclusion_reasons_set(review=review, labels=exclusion_reasons)
    for flag, stage in BLIND_FLAGS.items():
        if getattr(review, flag) != before[flag]:
            stage_blinding_logged(review=review, stage=stage, blind=getattr(review, flag),
                                  user=user)  # fmt: skip
    return review


@transaction.atomic
def exclusion_reasons_set(*, review: Review, labels) -> list[ExclusionReason]:
    """Make `labels` the review's active exclusion reasons, in that order.

    A reason left out is deactivated, never deleted, because decisions may cite it; a label
    given again is reactivated. Labels match case-insensitively.
    """
    labels = list(dict.fromkeys(label.strip() for label in labels if label.strip()))
    existing = {r.label.casefold(): r for r in review.exclusion_reasons.all()}
    active = []
    for position, label in enumerate(labels, start=1):
        reason = existing.pop(label.casefold(), None) or ExclusionReason(review=review)
        reason.label, reason.position, reason.is_active = label, position, True
        reason.save()
        active.append(reason)
    for reason in existing.values():
        if reason.is_active:
            reason.is_active = False
            reason.save(update_fields=["is_active"])
    return active


def _ensure_a_lead_remains(review: Review, *, without: Membership) -> None:
    leads = review.memberships.filter(role=Role.LEAD).exclude(pk=without.pk)
    if not leads.exists():
        raise ValidationError("A review needs at least one lead: make someone else lead first.")


@transaction.atomic
def membership_add(*, review: Review, username: str, role: str) -> Membership:
    """Add an existing user, found by username or e-mail, to the review's team."""
    User = get_user_model()
    user = (
        User.objects.filter(username__iexact=username).first()
        or User.objects.filter(email__iexact=username).first()
    )
    if user is None:
        raise ValidationError(f'No user with the username or e-mail "{username}".')
    return membership_create(review=review, user=user, role=role)


@transaction.atomic
def membership_create(*, review: Review, user, role: str) -> Membership:
    """Make `user` a member of the review's team with `role` (an accepted invitation, say)."""
    if review.memberships.filter(user=user).exists():
        raise ValidationError(f"{user.username} is already in the team.")
    membership = Membership(review=review, user=user, role=role)
    membership.full_clean()
    membership.save()
    return membership


@transaction.atomic
def membership_set_role(*, membership: Membership, role: str) -> Membership:
    # Lock the team's lead rows so two leads demoting each other at once cannot leave none.
    list(Membership.objects.select_for_update().filter(review=membership.review, role=Role.LEAD))
    if membership.role == Role.LEAD and role != Role.LEAD:
        _ensure_a_lead_remains(membership.review, without=membership)
    membership.role = role
    if role != Role.REVIEWER:
        membership.can_resolve = False  # leads always resolve; viewers never do
    membership.full_clean()
    membership.save(update_fields=["role", "can_resolve"])
    return membership


def membership_set_resolver(*, membership: Membership, can_resolve: bool) -> Membership:
    """Choose a reviewer to resolve conflicts (a third reviewer), or withdraw the choice."""
    if can_resolve and membership.role != Role.REVIEWER:
        raise ValidationError(
            "Only a reviewer can be chosen to resolve conflicts; leads always can."
        )
    membership.can_resolve = bool(can_resolve)
    membership.save(update_fields=["can_resolve"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    list(Membership.objects.select_for_update().filter(review=membership.review, role=Role.LEAD))
    if membership.role == Role.LEAD:
        _ensure_a_lead_remains(membership.review, without=membership)
    membership.delete()


def source_create(*, review: Review, **fields) -> Source:
    source = Source(review=review, **fields)
    source.full_clean()
    source.save()
    return source


@transaction.atomic
def records_add(
    *,
    review: Review,
    source: Source,
    entries: Iterable[dict],
    filename: str,
    format: str = ImportFormat.MANUAL,
    content: bytes = b"",
    user=None,
) -> ImportBatch:
    """Store parsed entries (dicts of Record fields) as one import batch: all of them or none.

    Every entry is validated before anything is written; an invalid one raises a
    ValidationError naming its position (1-based) in `filename`.
    """
    if source.review_id != review.pk:
        raise ValidationError(f'The source "{source}" belongs to another review.')
    records = []
    for position, entry in enumerate(entries, start=1):
        record = Record(review=review, position=position, **entry)
        record.set_keys()
        try:
            # Field validation only: a model constraint check costs a query per record, and the
            # database enforces the constraints anyway (the whole batch rolls back on a breach).
            record.clean_fields(exclude=["review", "batch", "number"])
        except ValidationError as error:
            raise ValidationError(f"{filename}, entry {position}: {_describe(error)}") from error
        records.append(record)
    first = record_numbers_next(review)
    for offset, record in enumerate(records):
        record.number = first + offset
    batch = ImportBatch.objects.create(
        review=review,
        source=source,
        filename=filename,
        format=format,
        sha256=hashlib.sha256(content).hexdigest() if content else "",
        record_count=len(records),
        status=ImportStatus.DONE,
        uploaded_by=user,
    )
    for record in records:
        record.batch = batch
    Record.objects.bulk_create(records, batch_size=1000)
    statistics_refresh(len(records))
    return batch


def record_numbers_next(review: Review | int) -> int:
    """The review's next record number (Record N): one more than its highest.

    Locks the review's row until the caller's transaction ends, so two imports into one review
    at once take their numbers in turn (the unique constraint on (review, number) backs this).
    Must run inside the transaction that writes the records.
    """
    review_id = review if isinstance(review, int) else review.pk
    list(Review.objects.select_for_update().filter(pk=review_id).values_list("pk"))
    highest = Record.objects.filter(review_id=review_id).aggregate(n=Max("number"))["n"]
    return (highest or 0) + 1


#: bulk writes of at least this many records refresh PostgreSQL's planner statistics at once
ANALYZE_MIN_ROWS = 1000


def statistics_refresh(rows: int) -> None:
    """After a bulk write of `rows` records, ANALYZE the records table on PostgreSQL.

    Autovacuum would do it within a minute or so, but until then the planner believes the
    table is as small as before the import and may choose nested loops over 100,000 records
    (measured: the PRISMA counts of a freshly imported 100,000-record review ran for minutes
    instead of 0.2 s). ANALYZE samples the table (a fraction of a second) and, run inside the
    import's transaction, counts the new rows; its statistics are used once it commits.
    """
    if rows < ANALYZE_MIN_ROWS or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(Record._meta.db_table)}")


def _describe(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(
            " ".join(msgs) if field == "__all__" else f"{field}: {' '.join(msgs)}"
            for field, msgs in error.message_dict.items()
        )
    return " ".join(error.messages)
