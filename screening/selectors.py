"""Reads for the screening pages."""

import re
from dataclasses import dataclass

from django.db.models import Count
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from review.access import results_visibility
from review.markup import inline_markup
from review.models import Record, Review
from screening.models import Reopening, ScreeningDecision, StageResult
from screening.services import downstream_visible, eligible_records, stage_mode


@dataclass(frozen=True)
class Progress:
    total: int
    mine: int
    settled: int = 0
    #: blind for this reviewer: `done` (records with two votes) instead of `settled`
    blind: bool = False
    done: int = 0

    @property
    def done_percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def mine_percent(self) -> int:
        return round(100 * self.mine / self.total) if self.total else 0

    @property
    def settled_percent(self) -> int:
        return round(100 * self.settled / self.total) if self.total else 0


def screening_progress(review: Review, reviewer, stage: str) -> Progress:
    """Three plain counts, the votes and results straight from their (review, stage, …) indexes:
    this runs on every key press. Votes and results only exist on records open at their stage,
    so they need no join to the records; a record merged as a duplicate after it was screened
    would still count until its votes are undone (the bar shows at most 100%). The PRISMA counts
    (`screening.prisma`) are the exact ones."""
    current = {"review": review, "stage": stage, "superseded_at__isnull": True}
    total = eligible_records(review, stage, viewer=reviewer).count()
    mine = min(total, ScreeningDecision.objects.filter(reviewer=reviewer, **current).count())
    visibility = results_visibility(reviewer, review)
    votes = ScreeningDecision.objects.filter(**current)
    settled = StageResult.objects.filter(**current)
    downstream = downstream_visible(review, reviewer, visibility) if stage == "full_text" else None
    if downstream:  # full text, while title/abstract is blind: other-methods records only
        visible = Record.objects.filter(downstream).values("pk")
        votes, settled = votes.filter(record__in=visible), settled.filter(record__in=visible)
    if visibility.stage(stage):
        return Progress(total=total, mine=mine, settled=min(total, settled.count()))
    # Blind: how far the team is, from whether records have their two votes, never what the
    # votes are (each record has at most two current votes in dual mode).
    counted = votes.aggregate(n=Count("pk"), records=Count("record", distinct=True))
    return Progress(
        total=total, mine=mine, blind=True, done=min(total, counted["n"] - counted["records"])
    )


def last_decision(review: Review, reviewer, stage: str) -> ScreeningDecision | None:
    return (
        ScreeningDecision.objects.filter(
            review=review, reviewer=reviewer, stage=stage, superseded_at__isnull=True
        )
        .select_related("record")
        .order_by("-pk")  # ids grow with time; walking the primary key back stops at once
        .first()
    )


def highlight(text: str, include: list[str], exclude: list[str]) -> SafeString:
    """Escape `text` (keeping its inline markup: review.markup) and wrap the review's keywords
    in <mark> (green include, red exclude)."""
    html = inline_markup(text or "")
    css = {w.casefold(): "kw-exclude" for w in exclude if w.strip()}
    css.update({w.casefold(): "kw-include" for w in include if w.strip()})
    if not css:
        return mark_safe(html)  # noqa: S308  (escaped above)
    words = sorted(css, key=len, reverse=True)  # longest first: "recognition memory" > "memory"
    pattern = re.compile(r"\b(" + "|".join(re.escape(escape(w)) for w in words) + r")\b", re.I)
    parts = _MARKUP_TAG.split(html)  # text, tag, text, …: keywords are marked in text only
    parts[::2] = [
        pattern.sub(lambda m: f'<mark class="{css[m.group(1).casefold()]}">{m.group(1)}</mark>', t)
        for t in parts[::2]
    ]
    return mark_safe("".join(parts))  # noqa: S308  (escaped text; only <mark> added)


_MARKUP_TAG = re.compile(r"(</?[a-z]+>)")


def conflict_views(review: Review, stage: str, records) -> list[tuple[Record, list, object]]:
    """Conflicts with both votes (the lead resolving them sees what each reviewer decided) and,
    for a record a lead re-opened, the reopening."""
    records = list(records)
    by_record: dict[int, list] = {}
    votes = ScreeningDecision.objects.filter(
        stage=stage, superseded_at__isnull=True, record__in=records
    ).select_related("reviewer", "reason")
    for vote in votes.order_by("created_at"):
        by_record.setdefault(vote.record_id, []).append(vote)
    reopenings = {
        r.record_id: r
        for r in Reopening.objects.filter(
            stage=stage, closed_at__isnull=True, record__in=records
        ).select_related("opened_by")
    }
    return [(r, by_record.get(r.pk, []), reopenings.get(r.pk)) for r in records]


@dataclass(frozen=True)
class AwaitingItem:
    """A record waiting for a second reviewer: who voted and when; the verdict (and its reason
    and note) only when the stage is not blind."""

    record: Record
    voter: str
    voted_at: object
    verdict: str | None
    reason: str | None
    note: str | None


def awaiting_views(review: Review, stage: str, records) -> list[AwaitingItem]:
    """The one current vote of each record awaiting a second reviewer; in blind mode without
    its verdict, reason or note (nobody, the lead included, sees a vote before settlement)."""
    records = list(records)
    _mode, blind = stage_mode(review, stage)
    votes = {
        v.record_id: v
        for v in ScreeningDecision.objects.filter(
            stage=stage, superseded_at__isnull=True, record__in=records
        ).select_related("reviewer", "reason")
    }
    items = []
    for record in records:
        vote = votes.get(record.pk)
        if vote is None:
            continue
        items.append(
            AwaitingItem(
                record=record,
                voter=vote.reviewer.username,
                voted_at=vote.created_at,
                verdict=None if blind else vote.get_verdict_display(),
                reason=None if blind or vote.reason is None else vote.reason.label,
                note=None if blind else vote.note,
            )
        )
    return items
