"""Reads behind the record pages: a record with its stages and audit trail, the records behind a
PRISMA count, and the dashboard's PRISMA boxes.

Blind rule (`review.access.results_visibility`): at a blind stage a reviewer sees their own
votes and vote events and, of the others, only whether a record has its two votes ("waiting for
the other reviewer", "done"), never a result, a conflict, an agreement or anything that follows
from them (retrieval, full text, study link of a database record; the PRISMA counts past
identification), until a lead lifts the blinding. Leads and chosen resolvers see the results,
and the votes of settled records and of conflicts they may resolve.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from review import keys
from review.access import ResultsVisibility, results_visibility
from review.models import DedupEvent, Record, Review
from screening.models import (
    Reopening,
    Retrieval,
    ScreeningAction,
    ScreeningDecision,
    ScreeningEvent,
    Stage,
    StageResult,
)
from screening.prisma import VARIABLES, PrismaCounts, records_behind
from screening.services import count_per_record, visible_decisions

VOTE_ACTIONS = (ScreeningAction.DECIDE, ScreeningAction.CHANGE, ScreeningAction.UNDO)

#: counts that rest on title/abstract results, and on full-text results (hidden from a reviewer
#: while that stage is blind for them); every other count is identification
NEEDS_TITLE_ABSTRACT = frozenset({
    "records_excluded", "records_excluded_human", "records_excluded_automation",
    "dbr_sought_reports", "dbr_notretrieved_reports", "dbr_assessed", "dbr_excluded",
    "new_reports", "new_studies", "pending_records", "pending_dbr_reports", "pending_study_links",
})  # fmt: skip
NEEDS_FULL_TEXT = frozenset({
    "dbr_assessed", "dbr_excluded", "other_assessed", "other_excluded", "new_reports",
    "new_studies", "pending_dbr_reports", "pending_other_reports", "pending_study_links",
})  # fmt: skip


def count_visible(variable: str, visibility: ResultsVisibility) -> bool:
    """May a member with this visibility see the count (and the records behind it)?"""
    if variable in NEEDS_TITLE_ABSTRACT and not visibility.title_abstract:
        return False
    return not (variable in NEEDS_FULL_TEXT and not visibility.full_text)

#: What each count is called on the PRISMA 2020 flow diagram (and in this app).
LABELS = {
    "database_results": "Records identified from databases",
    "register_results": "Records identified from registers",
    "website_results": "Records identified from websites",
    "organisation_results": "Records identified from organisations",
    "citations_results": "Records identified by citation searching",
    "database_specific_results": "Records identified from",
    "register_specific_results": "Records identified from",
    "duplicates": "Duplicate records removed",
    "excluded_automatic": "Records marked as ineligible by automation tools",
    "excluded_other": "Records removed for other reasons",
    "other_duplicates": "Duplicates among other-methods records",
    "other_removed": "Other-methods records removed",
    "records_screened": "Records screened",
    "records_excluded": "Records excluded",
    "records_excluded_human": "Records excluded by reviewers",
    "records_excluded_automation": "Records excluded by automation (stopping rule)",
    "dbr_sought_reports": "Reports sought for retrieval",
    "dbr_notretrieved_reports": "Reports not retrieved",
    "dbr_assessed": "Reports assessed for eligibility",
    "dbr_excluded": "Reports excluded",
    "other_sought_reports": "Reports sought for retrieval (other methods)",
    "other_notretrieved_reports": "Reports not retrieved (other methods)",
    "other_assessed": "Reports assessed for eligibility (other methods)",
    "other_excluded": "Reports excluded (other methods)",
    "new_studies": "Studies included in review",
    "new_reports": "Reports of included studies",
    "pending_records": "Records awaiting title/abstract screening",
    "pending_dbr_reports": "Reports awaiting retrieval or full-text assessment",
    "pending_other_reports": "Other-methods reports awaiting retrieval or assessment",
    "pending_study_links": "Included reports not linked to a study yet",
}
assert set(LABELS) == set(VARIABLES), set(VARIABLES) ^ set(LABELS)  # noqa: S101


def count_label(variable: str, key: str | None = None) -> str:
    label = LABELS[variable]
    if key is None:
        return label
    if variable.endswith("_specific_results"):
        return f"{label} {key}"
    return f"{label}: {key}"


def count_query(variable: str, key: str | None = None) -> str:
    """The query string of the records page for a count (`?count=…&key=…`)."""
    params = {"count": variable}
    if key is not None:
        params["key"] = key
    return urlencode(params)


# The dashboard's PRISMA boxes -----------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    label: str
    n: int | None
    query: str  # the records page's query string for this count
    level: int = 0  # 1 = a breakdown line (per source, per reason)


@dataclass
class Box:
    title: str
    lines: list[Line] = field(default_factory=list)


def _line(variable: str, n, key: str | None = None, level: int = 0, label: str = "") -> Line:
    return Line(label or count_label(variable, key), n, count_query(variable, key), level)


def prisma_boxes(
    counts: PrismaCounts, visibility: ResultsVisibility | None = None
) -> list[tuple[str, list[Box]]]:
    """The PRISMA 2020 flow diagram as rows of boxes (identification, screening, included), each
    count with the query string of the records behind it; with `visibility`, only the counts it
    allows (a box left empty, and a band left without boxes, are dropped)."""
    rows = _prisma_boxes(counts)
    if visibility is None or visibility.everything:
        return rows
    shown = []
    for band, boxes in rows:
        kept = []
        for box in boxes:
            lines = [
                line for line in box.lines if count_visible(_variable(line.query), visibility)
            ]
            if lines:
                kept.append(Box(box.title, lines))
        if kept:
            shown.append((band, kept))
    return shown


def _variable(query: str) -> str:
    return query.split("&", 1)[0].removeprefix("count=")


def _prisma_boxes(counts: PrismaCounts) -> list[tuple[str, list[Box]]]:
    c = counts
    identified = Box("Identification: databases and registers")
    identified.lines.append(_line("database_results", c.database_results))
    for name, n in c.database_specific_results.items():
        identified.lines.append(_line("database_specific_results", n, name, 1, name))
    identified.lines.append(_line("register_results", c.register_results))
    for name, n in c.register_specific_results.items():
        identified.lines.append(_line("register_specific_results", n, name, 1, name))
    removed = Box(
        "Removed before screening",
        [
            _line("duplicates", c.duplicates),
            _line("excluded_automatic", c.excluded_automatic),
            _line("excluded_other", c.excluded_other),
        ],
    )
    screened = Box(
        "Screening",
        [
            _line("records_screened", c.records_screened),
            _line("records_excluded", c.records_excluded),
        ],
    )
    if c.records_excluded_automation:
        screened.lines += [
            _line(
                "records_excluded_human", c.records_excluded_human, level=1, label="by reviewers"
            ),
            _line(
                "records_excluded_automation",
                c.records_excluded_automation,
                level=1,
                label="by automation (stopping rule)",
            ),
        ]
    retrieval = Box(
        "Retrieval",
        [
            _line("dbr_sought_reports", c.dbr_sought_reports),
            _line("dbr_notretrieved_reports", c.dbr_notretrieved_reports),
        ],
    )
    eligibility = Box("Eligibility", [_line("dbr_assessed", c.dbr_assessed)])
    eligibility.lines.append(_line("dbr_excluded", c.dbr_excluded_total))
    for reason, n in c.dbr_excluded.items():
        eligibility.lines.append(_line("dbr_excluded", n, reason, 1, reason))
    included = Box(
        "Included",
        [_line("new_studies", c.new_studies), _line("new_reports", c.new_reports)],
    )
    rows = [
        ("Identification", [identified, removed]),
        ("Screening", [screened, retrieval, eligibility]),
        ("Included", [included]),
    ]
    if c.has_other_methods:
        other = Box("Identification: other methods")
        for variable in ("website_results", "organisation_results", "citations_results"):
            n = getattr(c, variable)
            if n is not None:
                other.lines.append(_line(variable, n))
        if c.other_duplicates or c.other_removed:
            other.lines.append(_line("other_duplicates", c.other_duplicates, level=1))
            other.lines.append(_line("other_removed", c.other_removed, level=1))
        other_screen = Box(
            "Other methods: retrieval and eligibility",
            [
                _line("other_sought_reports", c.other_sought_reports),
                _line("other_notretrieved_reports", c.other_notretrieved_reports),
                _line("other_assessed", c.other_assessed),
                _line("other_excluded", c.other_excluded_total),
            ],
        )
        for reason, n in (c.other_excluded or {}).items():
            other_screen.lines.append(_line("other_excluded", n, reason, 1, reason))
        rows[0][1].append(other)
        rows[1][1].append(other_screen)
    return rows


def pending_lines(counts: PrismaCounts, visibility: ResultsVisibility | None = None) -> list[Line]:
    """The work still to do, each with the records behind it (only the non-zero ones that
    `visibility` allows)."""
    p = counts.pending
    lines = [
        _line("pending_records", p.records),
        _line("pending_dbr_reports", p.dbr_reports),
        _line("pending_other_reports", p.other_reports),
        _line("pending_study_links", p.study_links),
    ]
    visibility = visibility or ResultsVisibility()
    return [
        line for line in lines if line.n and count_visible(_variable(line.query), visibility)
    ]


# The records behind a count -------------------------------------------------------------------


def _current_verdict(stage: str):
    return Subquery(
        StageResult.objects.filter(
            record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
        ).values("verdict")[:1]
    )


def _my_vote(stage: str, viewer):
    return Subquery(
        ScreeningDecision.objects.filter(
            record=OuterRef("pk"), stage=stage, reviewer=viewer, superseded_at__isnull=True
        ).values("verdict")[:1]
    )


def _vote_count(stage: str):
    return count_per_record(
        ScreeningDecision.objects.filter(
            record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
        )
    )


_RECORD_NUMBER = re.compile(r"(?:record\s*|#)?(\d+)", re.IGNORECASE)


def search_query(search: str) -> Q:
    """What the records list's search box matches: words in the title or the authors (a plain
    case-insensitive substring), the DOI (also given as a doi.org link), the PMID, or the
    record's number in its review ("12", "Record 12", "#12")."""
    search = search.strip()
    # Authors are a JSON list; SQLite stores non-ASCII names \u-escaped, so look for both.
    escaped = json.dumps(search)[1:-1]
    query = Q(title__icontains=search) | Q(authors__icontains=search)
    if escaped != search:
        query |= Q(authors__icontains=escaped)
    doi = keys.normalise_doi(search)
    if doi:
        query |= Q(doi=doi)
    query |= Q(pmid=search)
    number = _RECORD_NUMBER.fullmatch(search)
    if number:
        query |= Q(number=int(number.group(1)))
    return query


def record_list(
    review: Review,
    *,
    count: str | None = None,
    key: str | None = None,
    search: str = "",
    viewer=None,
) -> QuerySet[Record]:
    """The review's records (or those behind one PRISMA count), with each stage's settled
    verdict (`ta_result`, `ft_result`), in import order. Raises ValueError for an unknown count.

    With `viewer`, a count they may not see raises PermissionError, and a stage whose results
    are blind for them carries their own vote and the record's number of votes instead
    (`ta_mine`, `ta_votes`, `ft_mine`, `ft_votes`)."""
    visibility = results_visibility(viewer, review) if viewer is not None else None
    if count:
        if count not in VARIABLES:
            raise ValueError(f"Unknown count {count!r}.")
        if visibility is not None and not count_visible(count, visibility):
            raise PermissionError(
                "This count is shown to the leads and the reviewers chosen to resolve conflicts "
                "while screening is blind."
            )
        records = records_behind(review, count, key or None)
    else:
        records = Record.objects.filter(review=review)
    if search.strip():
        records = records.filter(search_query(search))
    records = records.select_related("batch__source").annotate(
        duplicate_of_number=F("duplicate_of__number")
    )
    for stage, prefix in ((Stage.TITLE_ABSTRACT, "ta"), (Stage.FULL_TEXT, "ft")):
        if visibility is None or visibility.stage(stage):
            records = records.annotate(**{f"{prefix}_result": _current_verdict(stage)})
        else:
            records = records.annotate(
                **{f"{prefix}_mine": _my_vote(stage, viewer), f"{prefix}_votes": _vote_count(stage)}
            )
    return records.order_by("pk")


# One record -----------------------------------------------------------------------------------


@dataclass
class StageView:
    stage: str
    label: str
    result: StageResult | None
    votes: list[ScreeningDecision]
    hidden_votes: int  # other reviewers' votes the viewer may not see yet (blind)
    in_conflict: bool
    #: the stage's results are blind for the viewer: `status` says what they may know instead
    blind: bool = False
    #: "not screened", "waiting for a second reviewer", "waiting for the other reviewer",
    #: "done", or "" when the viewer may not know the record reached the stage at all
    status: str = ""
    reopened: bool = False


@dataclass
class RecordView:
    record: Record
    stages: list[StageView]
    retrieval: Retrieval | None
    study_label: str | None
    duplicates: list[Record]
    events: list  # ScreeningEvent and DedupEvent, oldest first
    downstream_hidden: bool = False


def _blind_status(votes: int, mine: bool) -> str:
    if votes >= 2:
        return "done"
    if votes == 1:
        return "waiting for the other reviewer" if mine else "waiting for a second reviewer"
    return "not screened"


def _event_visible(event, viewer, stage_ok: dict[str, bool], downstream_ok: bool) -> bool:
    """May the viewer see this audit event (blind rule)?"""
    own_vote = event.action in VOTE_ACTIONS and event.user_id == viewer.pk
    if event.stage == "":  # retrieval
        return downstream_ok
    if event.stage == Stage.FULL_TEXT and not downstream_ok:
        return own_vote
    if event.action == ScreeningAction.STOP:
        return True
    if not stage_ok.get(event.stage, True):
        return own_vote
    return True


def record_view(review: Review, record: Record, viewer, *, can_resolve: bool) -> RecordView:
    """Everything the record page shows, with the blind rule applied for `viewer`."""
    visibility = results_visibility(viewer, review)
    downstream_ok = visibility.downstream(record.batch.source.arm)
    stage_ok = {
        Stage.TITLE_ABSTRACT: visibility.title_abstract,
        Stage.FULL_TEXT: visibility.full_text and downstream_ok,
    }
    results = {
        r.stage: r
        for r in StageResult.objects.filter(
            record=record, superseded_at__isnull=True
        ).select_related("reason", "decided_by")
    }
    counts = dict(
        ScreeningDecision.objects.filter(record=record, superseded_at__isnull=True)
        .order_by()
        .values("stage")
        .annotate(n=Count("pk"))
        .values_list("stage", "n")
    )
    reopened = set(
        Reopening.objects.filter(record=record, closed_at__isnull=True).values_list(
            "stage", flat=True
        )
    )
    stages = []
    for stage in Stage.values:
        visible = list(
            visible_decisions(
                review=review, stage=stage, viewer=viewer, record_ids=[record.pk],
                conflicts=can_resolve, visibility=visibility,
            ).order_by("created_at", "pk")
        )  # fmt: skip
        total = counts.get(stage, 0)
        mine = any(v.reviewer_id == viewer.pk for v in visible)
        if stage_ok[stage]:
            result = results.get(stage)
            in_conflict = result is None and (total >= 2 or stage in reopened)
            view = StageView(stage, Stage(stage).label, result, visible, total - len(visible),
                             in_conflict, reopened=stage in reopened)  # fmt: skip
        elif stage == Stage.FULL_TEXT and not downstream_ok:
            view = StageView(stage, Stage(stage).label, None, visible, 0, False, blind=True)
        else:
            view = StageView(stage, Stage(stage).label, None, visible, total - len(visible),
                             False, blind=True, status=_blind_status(total, mine))  # fmt: skip
        stages.append(view)

    events = [
        event
        for event in ScreeningEvent.objects.filter(review=review, record=record)
        .select_related("user")
        .order_by("created_at", "pk")
        if _event_visible(event, viewer, stage_ok, downstream_ok)
    ]
    dedup_events = (
        DedupEvent.objects.filter(review=review)
        .filter(Q(record=record) | Q(pair__record_a=record) | Q(pair__record_b=record))
        .select_related("user", "pair")
        .order_by("created_at", "pk")
    )
    events = sorted([*events, *dedup_events], key=lambda e: (e.created_at, e.pk))

    retrieval = None
    if downstream_ok:
        retrieval = Retrieval.objects.filter(record=record).select_related("updated_by").first()
    link = getattr(record, "study_report", None)
    return RecordView(
        record=record,
        stages=stages,
        retrieval=retrieval,
        study_label=link.study.label if link and stage_ok[Stage.FULL_TEXT] else None,
        duplicates=list(record.duplicates.select_related("batch__source").order_by("pk")),
        events=events,
        downstream_hidden=not downstream_ok,
    )
