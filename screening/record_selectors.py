"""Reads behind the record pages: a record with its stages and audit trail, the records behind a
PRISMA count, and the dashboard's PRISMA boxes.

Blind rule (dual mode with blind on): while a record is not settled at a stage, a member sees
only their own vote there, and only their own vote events in the audit trail. A member who can
resolve conflicts also sees both votes of a record in conflict at that stage (the conflicts page
shows them anyway). Settled records show everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from review.models import DedupEvent, Record, Review, ScreeningMode
from screening.models import (
    Retrieval,
    ScreeningAction,
    ScreeningDecision,
    ScreeningEvent,
    Stage,
    StageResult,
)
from screening.prisma import VARIABLES, PrismaCounts, records_behind
from screening.services import stage_mode, visible_decisions

VOTE_ACTIONS = (ScreeningAction.DECIDE, ScreeningAction.CHANGE, ScreeningAction.UNDO)

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


def prisma_boxes(counts: PrismaCounts) -> list[tuple[str, list[Box]]]:
    """The PRISMA 2020 flow diagram as rows of boxes (identification, screening, included), each
    count with the query string of the records behind it."""
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


def pending_lines(counts: PrismaCounts) -> list[Line]:
    """The work still to do, each with the records behind it (only the non-zero ones)."""
    p = counts.pending
    lines = [
        _line("pending_records", p.records),
        _line("pending_dbr_reports", p.dbr_reports),
        _line("pending_other_reports", p.other_reports),
        _line("pending_study_links", p.study_links),
    ]
    return [line for line in lines if line.n]


# The records behind a count -------------------------------------------------------------------


def _current_verdict(stage: str):
    return Subquery(
        StageResult.objects.filter(
            record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
        ).values("verdict")[:1]
    )


def record_list(
    review: Review, *, count: str | None = None, key: str | None = None, search: str = ""
) -> QuerySet[Record]:
    """The review's records (or those behind one PRISMA count), with each stage's settled
    verdict, in import order. Raises ValueError for an unknown count."""
    if count:
        if count not in VARIABLES:
            raise ValueError(f"Unknown count {count!r}.")
        records = records_behind(review, count, key or None)
    else:
        records = Record.objects.filter(review=review)
    search = search.strip()
    if search:
        query = Q(title__icontains=search) | Q(doi__iexact=search.lower()) | Q(pmid=search)
        if search.isdigit():
            query |= Q(pk=int(search))
        records = records.filter(query)
    return (
        records.select_related("batch__source")
        .annotate(
            ta_result=_current_verdict(Stage.TITLE_ABSTRACT),
            ft_result=_current_verdict(Stage.FULL_TEXT),
        )
        .order_by("pk")
    )


# One record -----------------------------------------------------------------------------------


def _blind(review: Review, stage: str) -> bool:
    mode, blind = stage_mode(review, stage)
    return mode == ScreeningMode.DUAL and blind


@dataclass
class StageView:
    stage: str
    label: str
    result: StageResult | None
    votes: list[ScreeningDecision]
    hidden_votes: int  # other reviewers' votes the viewer may not see yet (blind)
    in_conflict: bool


@dataclass
class RecordView:
    record: Record
    stages: list[StageView]
    retrieval: Retrieval | None
    study_label: str | None
    duplicates: list[Record]
    events: list  # ScreeningEvent and DedupEvent, oldest first


def record_view(review: Review, record: Record, viewer, *, can_resolve: bool) -> RecordView:
    """Everything the record page shows, with the blind rule applied for `viewer`."""
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
    stages, open_stages = [], set()
    for stage in Stage.values:
        visible = list(
            visible_decisions(
                review=review, stage=stage, viewer=viewer, record_ids=[record.pk],
                conflicts=can_resolve,
            ).order_by("created_at", "pk")
        )  # fmt: skip
        total, result = counts.get(stage, 0), results.get(stage)
        in_conflict = result is None and total == 2
        hidden = total - len(visible)
        if result is None and _blind(review, stage) and not (in_conflict and not hidden):
            open_stages.add(stage)  # other reviewers' vote events stay hidden too
        stages.append(StageView(stage, Stage(stage).label, result, visible, hidden, in_conflict))

    events = []
    for event in (
        ScreeningEvent.objects.filter(review=review, record=record)
        .select_related("user")
        .order_by("created_at", "pk")
    ):
        if (
            event.stage in open_stages
            and event.action in VOTE_ACTIONS
            and event.user_id != viewer.pk
        ):
            continue  # another reviewer's vote on a record still open in blind mode
        events.append(event)
    dedup_events = (
        DedupEvent.objects.filter(review=review)
        .filter(Q(record=record) | Q(pair__record_a=record) | Q(pair__record_b=record))
        .select_related("user", "pair")
        .order_by("created_at", "pk")
    )
    events = sorted([*events, *dedup_events], key=lambda e: (e.created_at, e.pk))

    retrieval = Retrieval.objects.filter(record=record).select_related("updated_by").first()
    link = getattr(record, "study_report", None)
    return RecordView(
        record=record,
        stages=stages,
        retrieval=retrieval,
        study_label=link.study.label if link else None,
        duplicates=list(record.duplicates.select_related("batch__source").order_by("pk")),
        events=events,
    )
