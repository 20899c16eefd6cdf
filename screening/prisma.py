"""Every PRISMA 2020 count of a review, computed from stored facts, with its arithmetic checks.

`prisma_counts(review)` returns a `PrismaCounts` whose field names are the PRISMA2020 R
package's variables (Haddaway et al. 2022). Nothing is a stored counter: each count is an
aggregate over records, current stage results (`superseded_at IS NULL`), retrievals and study
links, in six queries whatever the review's size. "dbr" means databases and registers; "other"
means the other-methods arms (websites, organisations, citation searching).

Identification (box A1, C1)
    `database_results`, `register_results`, `website_results`, `organisation_results`,
    `citations_results`: every record by its source's arm (duplicates and removed records
    included), so the per-source counts (`database_specific_results`,
    `register_specific_results`, source name → n, every source of the arm, 0 included) add up
    to their arm's total (rule H1). An other-methods arm with no source is `None`.

Removed before screening (box B1; databases and registers only)
    `duplicates`: database/register records with `duplicate_of` set; `excluded_automatic` /
    `excluded_other`: database/register records whose `removed_reason` is `automation` /
    `other`. Box B1 sits in the databases-and-registers column and rule H2 subtracts it from
    that column only, so duplicates and removals among other-methods records are not in it: they
    are `other_duplicates` / `other_removed` (extras, not package variables; the diagram does not
    draw the gap between C1 and C3, rule F6).

Screening (A2, B2)
    `records_screened`: database/register records neither duplicate nor removed (rule H2, so it
    is the number *to be* screened; the records still waiting are `pending.records`).
    `records_excluded`: current title/abstract results with verdict exclude on database/register
    records, split into `records_excluded_automation` (method `automation`) and
    `records_excluded_human` (any other method).

Retrieval and eligibility, databases and registers (A3, B3, A4, B4)
    `dbr_sought_reports`: current title/abstract results with verdict include.
    `dbr_notretrieved_reports`: of those records, the ones whose `Retrieval` is not retrieved.
    `dbr_assessed`: current full-text results on database/register records.
    `dbr_excluded`: current full-text excludes grouped by reason label, ordered by the reason's
    position (excludes without a reason under "No reason recorded", last).

Other methods (C3, D3, C4, D4; `None` when the review has no other-methods source)
    Other-methods records skip title/abstract screening: every one that is neither duplicate nor
    removed is sought (`other_sought_reports`); then `other_notretrieved_reports`,
    `other_assessed`, `other_excluded` as above. Title/abstract results on other-methods
    records are ignored.

Included (A5)
    `new_reports`: current full-text results with verdict include (both arms).
    `new_studies`: distinct studies with at least one `StudyReport` whose record has a current
    full-text include.

Checks (`PrismaCounts.check()`, `PrismaCounts.rules()`)
    Rules H1, H2, S3, H4, H5, H7, H8, H9 of PRISMA2020_FLOW.md. A review in progress does not
    close its arithmetic (records not screened yet, reports not retrieved yet), so every rule
    that subtracts one stage from the one before it counts the work still to do
    (`PrismaCounts.pending`) as a term of its equation:

    - S3: dbr_sought_reports = records_screened - records_excluded - pending.records
    - H4: dbr_assessed = dbr_sought_reports - dbr_notretrieved_reports - pending.dbr_reports
    - H7: the same for other methods, with pending.other_reports
    - H9: new_studies ≤ new_reports, and new_studies = 0 only while new_reports = 0 or some
      included reports are not linked to a study yet (pending.study_links)

    A pending term is computed from the facts, not as a difference, so an equation fails only
    when facts contradict each other: a title/abstract result on a record removed before
    screening (S3), a full-text result on a record not sought for retrieval (excluded at
    title/abstract, or a duplicate) or on one marked not retrieved (H4, H7), a study report on a
    record without a current full-text include (H9). When an equation holds with a pending term
    above 0 the rule's status is "in progress", not a failure. H1, H2, H5 and H8 hold by
    construction for counts computed here and fail only for counts built by hand (or a bug).
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Literal

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    FilteredRelation,
    Min,
    OuterRef,
    Q,
    QuerySet,
)

from analysis.models import StudyReport
from review.cells import safe_cell
from review.models import (
    DATABASES_AND_REGISTERS,
    OTHER_METHODS,
    Arm,
    ImportBatch,
    Record,
    Removal,
    Review,
    Source,
)
from screening.models import (
    ResultMethod,
    Retrieval,
    RetrievalStatus,
    Stage,
    StageResult,
    Verdict,
)

NO_REASON = "No reason recorded"

#: the identification variable of each arm
ARM_VARIABLE = {
    Arm.DATABASE: "database_results",
    Arm.REGISTER: "register_results",
    Arm.WEBSITE: "website_results",
    Arm.ORGANISATION: "organisation_results",
    Arm.CITATION: "citations_results",
}

Severity = Literal["hard", "soft"]
Status = Literal["pass", "in progress", "fail", "not applicable"]


@dataclass
class Pending:
    """Work still to do, counted from the facts (not as differences)."""

    #: database/register records neither duplicate nor removed without a current
    #: title/abstract result
    records: int = 0
    #: database/register reports sought (current title/abstract include) neither marked not
    #: retrieved nor assessed at full text (not retrieved yet, or retrieved and waiting)
    dbr_reports: int = 0
    #: the same for other methods (records neither duplicate nor removed); None without them
    other_reports: int | None = None
    #: reports with a current full-text include not linked to a study
    study_links: int = 0

    @property
    def total(self) -> int:
        return self.records + self.dbr_reports + (self.other_reports or 0) + self.study_links


@dataclass
class Contradictions:
    """Facts that contradict each other; each makes one rule fail (0 in a consistent review)."""

    #: current title/abstract results on database/register records removed before screening (S3)
    screened_but_removed: int = 0
    #: current full-text results on database/register records without a current title/abstract
    #: include (H4)
    dbr_assessed_not_sought: int = 0
    #: current full-text results on sought database/register records marked not retrieved (H4)
    dbr_assessed_not_retrieved: int = 0
    #: current full-text results on other-methods duplicates or removed records (H7)
    other_assessed_not_sought: int = 0
    #: current full-text results on sought other-methods records marked not retrieved (H7)
    other_assessed_not_retrieved: int = 0
    #: study reports on records without a current full-text include (H9)
    links_not_included: int = 0


@dataclass(frozen=True)
class RuleResult:
    rule: str
    severity: Severity
    status: Status
    message: str = ""

    def __str__(self) -> str:
        verb = {"fail": "fails", "in progress": "is in progress"}.get(self.status, self.status)
        return f"{self.rule} {verb}: {self.message}" if self.message else f"{self.rule} {verb}"


@dataclass(frozen=True)
class RuleFailure:
    rule: str
    message: str
    severity: Severity

    def __str__(self) -> str:
        return f"{self.rule} fails: {self.message}"


def studies_without_records(review: Review) -> int:
    """Studies entered for analysis with no record reporting them (e.g. the bcg demo, typed in
    from a published meta-analysis): they exist outside the flow diagram's counts."""
    return review.studies.filter(reports__isnull=True).count()


def studies_without_records_note(n: int) -> str:
    """What the PRISMA page and the dashboard say about such studies ("" when there are none)."""
    if not n:
        return ""
    if n == 1:
        return (
            "1 study was entered directly for analysis, without records; it is not in the flow "
            "diagram."
        )
    return (
        f"{n:,} studies were entered directly for analysis, without records; they are not in "
        "the flow diagram."
    )


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@dataclass
class PrismaCounts:
    database_results: int = 0
    register_results: int = 0
    website_results: int | None = None
    organisation_results: int | None = None
    citations_results: int | None = None
    duplicates: int = 0
    excluded_automatic: int = 0
    excluded_other: int = 0
    records_screened: int = 0
    records_excluded: int = 0
    records_excluded_human: int = 0
    records_excluded_automation: int = 0
    dbr_sought_reports: int = 0
    dbr_notretrieved_reports: int = 0
    dbr_assessed: int = 0
    dbr_excluded: dict[str, int] = field(default_factory=dict)
    other_sought_reports: int | None = None
    other_notretrieved_reports: int | None = None
    other_assessed: int | None = None
    other_excluded: dict[str, int] | None = None
    new_studies: int = 0
    new_reports: int = 0
    database_specific_results: dict[str, int] = field(default_factory=dict)
    register_specific_results: dict[str, int] = field(default_factory=dict)
    # Extras (not package variables): other-methods records removed before retrieval.
    other_duplicates: int | None = None
    other_removed: int | None = None
    pending: Pending = field(default_factory=Pending)
    contradictions: Contradictions = field(default_factory=Contradictions)

    # Derived ----------------------------------------------------------------------------------

    @property
    def has_other_methods(self) -> bool:
        return self.other_sought_reports is not None

    @property
    def dbr_excluded_total(self) -> int:
        return sum(self.dbr_excluded.values())

    @property
    def other_excluded_total(self) -> int | None:
        return None if self.other_excluded is None else sum(self.other_excluded.values())

    @property
    def dbr_incl(self) -> int:
        """Database/register reports included at full text (rule H5; no package variable)."""
        return self.dbr_assessed - self.dbr_excluded_total

    @property
    def other_incl(self) -> int | None:
        if self.other_assessed is None:
            return None
        return self.other_assessed - (self.other_excluded_total or 0)

    def to_dict(self) -> dict:
        """Plain data for JSON: per-source and per-reason counts as nested objects."""
        data = asdict(self)
        data["dbr_incl"] = self.dbr_incl
        data["other_incl"] = self.other_incl
        return data

    # Checks -----------------------------------------------------------------------------------

    def rules(self) -> list[RuleResult]:
        """Every rule's status: pass, in progress, fail, or not applicable (no other methods)."""
        return [
            self._h1(),
            self._h2(),
            self._s3(),
            self._h4(),
            self._h5(),
            self._h7(),
            self._h8(),
            self._h9(),
        ]

    def check(self) -> list[RuleFailure]:
        """The rules that fail (facts contradict each other); [] when all pass or are pending."""
        return [
            RuleFailure(r.rule, r.message, r.severity) for r in self.rules() if r.status == "fail"
        ]

    def _h1(self) -> RuleResult:
        problems = []
        for label, total, per_source in (
            ("databases", self.database_results, self.database_specific_results),
            ("registers", self.register_results, self.register_specific_results),
        ):
            if total != sum(per_source.values()):
                problems.append(
                    f"records identified from {label} ({total}) differ from the sum of the "
                    f"per-source counts ({sum(per_source.values())})"
                )
        if problems:
            return RuleResult("H1", "hard", "fail", "; ".join(problems) + ".")
        return RuleResult("H1", "hard", "pass")

    def _h2(self) -> RuleResult:
        expected = (
            self.database_results
            + self.register_results
            - self.duplicates
            - self.excluded_automatic
            - self.excluded_other
        )
        if self.records_screened != expected:
            return RuleResult(
                "H2",
                "hard",
                "fail",
                f"records screened ({self.records_screened}) should be databases "
                f"({self.database_results}) + registers ({self.register_results}) − duplicates "
                f"({self.duplicates}) − marked ineligible by automation "
                f"({self.excluded_automatic}) − removed for other reasons "
                f"({self.excluded_other}) = {expected}.",
            )
        return RuleResult("H2", "hard", "pass")

    def _s3(self) -> RuleResult:
        waiting = self.pending.records
        expected = self.records_screened - self.records_excluded - waiting
        if self.dbr_sought_reports != expected:
            terms = (
                f"records screened ({self.records_screened}) − records excluded "
                f"({self.records_excluded})"
            )
            if waiting:
                terms += f" − records awaiting screening ({waiting})"
            message = f"reports sought ({self.dbr_sought_reports}) should be {terms} = {expected}"
            stale = self.contradictions.screened_but_removed
            if stale:
                message += (
                    f"; {_plural(stale, 'title/abstract result is', 'title/abstract results are')}"
                    " on records removed before screening (duplicates or removed)"
                )
            return RuleResult("S3", "soft", "fail", message + ".")
        if waiting:
            return RuleResult(
                "S3",
                "soft",
                "in progress",
                f"{_plural(waiting, 'record awaits', 'records await')} title/abstract screening.",
            )
        return RuleResult("S3", "soft", "pass")

    @staticmethod
    def _retrieval_rule(
        rule: str,
        arm: str,
        sought: int,
        not_retrieved: int,
        assessed: int,
        waiting: int,
        not_sought: int,
        assessed_not_retrieved: int,
    ) -> RuleResult:
        expected = sought - not_retrieved - waiting
        if assessed != expected:
            terms = f"reports sought ({sought}) − not retrieved ({not_retrieved})"
            if waiting:
                terms += f" − awaiting retrieval or assessment ({waiting})"
            message = f"{arm}reports assessed ({assessed}) should be {terms} = {expected}"
            if not_sought:
                message += (
                    f"; {_plural(not_sought, 'full-text result is', 'full-text results are')}"
                    " on records not sought for retrieval"
                )
            if assessed_not_retrieved:
                message += (
                    f"; {_plural(assessed_not_retrieved, 'full-text result is', 'full-text results are')}"  # noqa: E501
                    " on records marked not retrieved"
                )
            return RuleResult(rule, "hard", "fail", message + ".")
        if waiting:
            return RuleResult(
                rule,
                "hard",
                "in progress",
                f"{arm}{_plural(waiting, 'report awaits', 'reports await')} retrieval or "
                "full-text assessment.",
            )
        return RuleResult(rule, "hard", "pass")

    def _h4(self) -> RuleResult:
        return self._retrieval_rule(
            "H4",
            "",
            self.dbr_sought_reports,
            self.dbr_notretrieved_reports,
            self.dbr_assessed,
            self.pending.dbr_reports,
            self.contradictions.dbr_assessed_not_sought,
            self.contradictions.dbr_assessed_not_retrieved,
        )

    def _h5(self) -> RuleResult:
        if self.dbr_incl < 0:
            return RuleResult(
                "H5",
                "hard",
                "fail",
                f"reports excluded ({self.dbr_excluded_total}) exceed reports assessed "
                f"({self.dbr_assessed}).",
            )
        return RuleResult("H5", "hard", "pass")

    def _h7(self) -> RuleResult:
        if not self.has_other_methods:
            return RuleResult("H7", "hard", "not applicable", "no other-methods source.")
        result = self._retrieval_rule(
            "H7",
            "other methods: ",
            self.other_sought_reports or 0,
            self.other_notretrieved_reports or 0,
            self.other_assessed or 0,
            self.pending.other_reports or 0,
            self.contradictions.other_assessed_not_sought,
            self.contradictions.other_assessed_not_retrieved,
        )
        if result.status != "fail" and (self.other_incl or 0) < 0:
            return RuleResult(
                "H7",
                "hard",
                "fail",
                f"other methods: reports excluded ({self.other_excluded_total}) exceed reports "
                f"assessed ({self.other_assessed}).",
            )
        return result

    def _h8(self) -> RuleResult:
        other = self.other_incl or 0
        expected = self.dbr_incl + other
        if self.new_reports != expected:
            return RuleResult(
                "H8",
                "hard",
                "fail",
                f"reports of included studies ({self.new_reports}) should be reports included "
                f"from databases and registers ({self.dbr_incl}) + from other methods "
                f"({other}) = {expected}.",
            )
        return RuleResult("H8", "hard", "pass")

    def _h9(self) -> RuleResult:
        problems = []
        if self.new_studies > self.new_reports:
            problems.append(
                f"studies included ({self.new_studies}) exceed reports of included studies "
                f"({self.new_reports})"
            )
        elif self.new_reports and not self.new_studies and not self.pending.study_links:
            problems.append(f"no study is included but {self.new_reports} reports are")
        stray = self.contradictions.links_not_included
        if stray:
            problems.append(
                f"{_plural(stray, 'study report links a record', 'study reports link records')}"
                " without a current full-text include"
            )
        if problems:
            return RuleResult("H9", "hard", "fail", "; ".join(problems) + ".")
        if self.pending.study_links:
            n = self.pending.study_links
            return RuleResult(
                "H9",
                "hard",
                "in progress",
                f"{_plural(n, 'included report is', 'included reports are')} not linked to a "
                "study yet.",
            )
        return RuleResult("H9", "hard", "pass")


# Queries --------------------------------------------------------------------------------------


def _current(stage: str, **filters) -> QuerySet[StageResult]:
    return StageResult.objects.filter(stage=stage, superseded_at__isnull=True, **filters)


_RETAINED = Q(duplicate_of__isnull=True, removed_reason="")


def _record_result(stage: str) -> FilteredRelation:
    """The current result at `stage` of the row's record (at most one: a LEFT JOIN)."""
    return FilteredRelation(
        "record__stageresults",
        condition=Q(
            record__stageresults__stage=stage, record__stageresults__superseded_at__isnull=True
        ),
    )


def prisma_counts(review: Review) -> PrismaCounts:
    """Every PRISMA 2020 count of the review, in six aggregate queries whatever its size."""
    counts = PrismaCounts()
    # 1. Records by import batch, with their current title/abstract result (at most one each).
    ta = FilteredRelation(
        "stageresults",
        condition=Q(
            stageresults__stage=Stage.TITLE_ABSTRACT, stageresults__superseded_at__isnull=True
        ),
    )
    removed = Q(duplicate_of__isnull=False) | ~Q(removed_reason="")
    per_batch = list(
        Record.objects.filter(review=review)
        .annotate(ta=ta)
        .order_by()
        .values("batch")
        .annotate(
            n=Count("pk"),
            dup=Count("pk", filter=Q(duplicate_of__isnull=False)),
            automation=Count("pk", filter=Q(removed_reason=Removal.AUTOMATION)),
            other=Count("pk", filter=Q(removed_reason=Removal.OTHER)),
            ta_include=Count("ta__pk", filter=Q(ta__verdict=Verdict.INCLUDE)),
            ta_exclude=Count("ta__pk", filter=Q(ta__verdict=Verdict.EXCLUDE)),
            ta_exclude_auto=Count(
                "ta__pk", filter=Q(ta__verdict=Verdict.EXCLUDE, ta__method=ResultMethod.AUTOMATION)
            ),
            ta_removed=Count("ta__pk", filter=removed),
        )
    )
    # Batches and sources are read after the records, so every batch a record names is known
    # (a batch cannot go while it has records, nor a source while it has batches).
    sources = list(Source.objects.filter(review=review).order_by("name", "pk"))
    arm_of_source = {s.pk: s.arm for s in sources}
    source_of_batch: dict[int, int] = dict(
        ImportBatch.objects.filter(review=review).values_list("pk", "source")
    )
    batch_arm = {batch: arm_of_source[source] for batch, source in source_of_batch.items()}

    arms = {s.arm for s in sources}
    has_other = bool(arms & set(OTHER_METHODS))
    for arm in OTHER_METHODS:
        if arm in arms:
            setattr(counts, ARM_VARIABLE[arm], 0)
    if has_other:
        counts.other_sought_reports = counts.other_notretrieved_reports = 0
        counts.other_assessed = 0
        counts.other_excluded = {}
        counts.other_duplicates = counts.other_removed = 0
        counts.pending.other_reports = 0

    per_source = {s.pk: 0 for s in sources}
    for row in per_batch:
        arm = batch_arm[row["batch"]]
        per_source[source_of_batch[row["batch"]]] += row["n"]
        variable = ARM_VARIABLE[arm]
        setattr(counts, variable, (getattr(counts, variable) or 0) + row["n"])
        retained = row["n"] - row["dup"] - row["automation"] - row["other"]
        if arm in DATABASES_AND_REGISTERS:
            counts.duplicates += row["dup"]
            counts.excluded_automatic += row["automation"]
            counts.excluded_other += row["other"]
            counts.records_screened += retained
            counts.records_excluded += row["ta_exclude"]
            counts.records_excluded_automation += row["ta_exclude_auto"]
            counts.dbr_sought_reports += row["ta_include"]
            counts.contradictions.screened_but_removed += row["ta_removed"]
            on_retained = row["ta_include"] + row["ta_exclude"] - row["ta_removed"]
            counts.pending.records += retained - on_retained
        else:
            counts.other_duplicates += row["dup"]
            counts.other_removed += row["automation"] + row["other"]
            counts.other_sought_reports += retained
    counts.records_excluded_human = counts.records_excluded - counts.records_excluded_automation
    for source in sources:
        if source.arm == Arm.DATABASE:
            counts.database_specific_results[source.name] = per_source[source.pk]
        elif source.arm == Arm.REGISTER:
            counts.register_specific_results[source.name] = per_source[source.pk]

    # 2. Current full-text results, with what else is known about their record (joins to rows
    # that exist at most once per record, so no row is counted twice; joins rather than EXISTS
    # subqueries keep PostgreSQL's cost estimate low enough not to JIT-compile the query).
    retained = ExpressionWrapper(
        Q(record__duplicate_of__isnull=True, record__removed_reason=""),
        output_field=BooleanField(),
    )
    full_text = (
        _current(Stage.FULL_TEXT, review=review)
        .annotate(
            ta=_record_result(Stage.TITLE_ABSTRACT),
            retained=retained,
            linked=ExpressionWrapper(
                Q(record__study_report__isnull=False), output_field=BooleanField()
            ),
        )
        .order_by()
        .values(
            "record__batch__source__arm",
            "verdict",
            "reason",
            "reason__label",
            "reason__position",
            "ta__verdict",
            "record__retrieval__status",
            "retained",
            "linked",
        )
        .annotate(n=Count("pk"))
    )
    excluded: dict[str, dict[tuple, int]] = {"dbr": {}, "other": {}}
    sought_assessed = {"dbr": 0, "other": 0}  # sought, assessed, not marked not retrieved
    linked_included = 0
    for row in full_text:
        dbr = row["record__batch__source__arm"] in DATABASES_AND_REGISTERS
        side = "dbr" if dbr else "other"
        sought = row["ta__verdict"] == Verdict.INCLUDE if dbr else row["retained"]
        n = row["n"]
        if dbr:
            counts.dbr_assessed += n
        else:
            counts.other_assessed += n
        if not sought:
            if dbr:
                counts.contradictions.dbr_assessed_not_sought += n
            else:
                counts.contradictions.other_assessed_not_sought += n
        elif row["record__retrieval__status"] == RetrievalStatus.NOT_RETRIEVED:
            if dbr:
                counts.contradictions.dbr_assessed_not_retrieved += n
            else:
                counts.contradictions.other_assessed_not_retrieved += n
        else:
            sought_assessed[side] += n
        if row["verdict"] == Verdict.INCLUDE:
            counts.new_reports += n
            linked_included += n if row["linked"] else 0
        else:
            if row["reason"] is None:
                key = (1, 0, 0, NO_REASON)
            else:
                key = (0, row["reason__position"], row["reason"], row["reason__label"])
            excluded[side][key] = excluded[side].get(key, 0) + n
    counts.dbr_excluded = {key[3]: n for key, n in sorted(excluded["dbr"].items())}
    if has_other:
        counts.other_excluded = {key[3]: n for key, n in sorted(excluded["other"].items())}
    counts.pending.study_links = counts.new_reports - linked_included

    # 3. Reports marked not retrieved, by whether they were sought.
    retrievals = (
        Retrieval.objects.filter(review=review, status=RetrievalStatus.NOT_RETRIEVED)
        .annotate(ta=_record_result(Stage.TITLE_ABSTRACT), retained=retained)
        .order_by()
        .values("record__batch__source__arm", "ta__verdict", "retained")
        .annotate(n=Count("pk"))
    )
    for row in retrievals:
        if row["record__batch__source__arm"] in DATABASES_AND_REGISTERS:
            if row["ta__verdict"] == Verdict.INCLUDE:
                counts.dbr_notretrieved_reports += row["n"]
        elif row["retained"]:
            counts.other_notretrieved_reports += row["n"]
    counts.pending.dbr_reports = (
        counts.dbr_sought_reports - counts.dbr_notretrieved_reports - sought_assessed["dbr"]
    )
    if has_other:
        counts.pending.other_reports = (
            counts.other_sought_reports
            - counts.other_notretrieved_reports
            - sought_assessed["other"]
        )

    # 4. Studies with at least one included report, and links to records not included.
    # (EXISTS here: a join through the record would scan every record on PostgreSQL.)
    included = Exists(_current(Stage.FULL_TEXT, verdict=Verdict.INCLUDE, record=OuterRef("record")))
    studies = (
        StudyReport.objects.filter(study__review=review)
        .annotate(included=included)
        .aggregate(
            studies=Count("study", distinct=True, filter=Q(included=True)),
            stray=Count("pk", filter=Q(included=False)),
        )
    )
    counts.new_studies = studies["studies"]
    counts.contradictions.links_not_included = studies["stray"]
    return counts


# The records behind each count -------------------------------------------------------------


def _has(stage: str, **filters) -> Exists:
    return Exists(_current(stage, record=OuterRef("pk"), **filters))


def _reason_q(reason: str | None) -> dict:
    if reason is None:
        return {}
    if reason == NO_REASON:
        return {"reason__isnull": True}
    return {"reason__label": reason}


_DBR = Q(batch__source__arm__in=DATABASES_AND_REGISTERS)
_OTHER = Q(batch__source__arm__in=OTHER_METHODS)
_NOT_RETRIEVED = Q(retrieval__status=RetrievalStatus.NOT_RETRIEVED)

#: variables whose records are found by a fixed filter (dict variables are handled apart)
_FILTERS = {
    "database_results": lambda: Q(batch__source__arm=Arm.DATABASE),
    "register_results": lambda: Q(batch__source__arm=Arm.REGISTER),
    "website_results": lambda: Q(batch__source__arm=Arm.WEBSITE),
    "organisation_results": lambda: Q(batch__source__arm=Arm.ORGANISATION),
    "citations_results": lambda: Q(batch__source__arm=Arm.CITATION),
    "duplicates": lambda: _DBR & Q(duplicate_of__isnull=False),
    "excluded_automatic": lambda: _DBR & Q(removed_reason=Removal.AUTOMATION),
    "excluded_other": lambda: _DBR & Q(removed_reason=Removal.OTHER),
    "other_duplicates": lambda: _OTHER & Q(duplicate_of__isnull=False),
    "other_removed": lambda: _OTHER & ~Q(removed_reason=""),
    "records_screened": lambda: _DBR & _RETAINED,
    "records_excluded": lambda: _DBR & _has(Stage.TITLE_ABSTRACT, verdict=Verdict.EXCLUDE),
    "records_excluded_automation": lambda: (
        _DBR & _has(Stage.TITLE_ABSTRACT, verdict=Verdict.EXCLUDE, method=ResultMethod.AUTOMATION)
    ),
    "records_excluded_human": lambda: (
        _DBR
        & Exists(
            _current(Stage.TITLE_ABSTRACT, record=OuterRef("pk"), verdict=Verdict.EXCLUDE).exclude(
                method=ResultMethod.AUTOMATION
            )
        )
    ),
    "dbr_sought_reports": lambda: _DBR & _has(Stage.TITLE_ABSTRACT, verdict=Verdict.INCLUDE),
    "dbr_notretrieved_reports": lambda: (
        _DBR & _has(Stage.TITLE_ABSTRACT, verdict=Verdict.INCLUDE) & _NOT_RETRIEVED
    ),
    "dbr_assessed": lambda: _DBR & _has(Stage.FULL_TEXT),
    "other_sought_reports": lambda: _OTHER & _RETAINED,
    "other_notretrieved_reports": lambda: _OTHER & _RETAINED & _NOT_RETRIEVED,
    "other_assessed": lambda: _OTHER & _has(Stage.FULL_TEXT),
    "new_reports": lambda: _has(Stage.FULL_TEXT, verdict=Verdict.INCLUDE),
    # Pending work (PrismaCounts.pending)
    "pending_records": lambda: _DBR & _RETAINED & ~_has(Stage.TITLE_ABSTRACT),
    "pending_dbr_reports": lambda: (
        _DBR
        & _has(Stage.TITLE_ABSTRACT, verdict=Verdict.INCLUDE)
        & ~_NOT_RETRIEVED
        & ~_has(Stage.FULL_TEXT)
    ),
    "pending_other_reports": lambda: _OTHER & _RETAINED & ~_NOT_RETRIEVED & ~_has(Stage.FULL_TEXT),
    "pending_study_links": lambda: (
        _has(Stage.FULL_TEXT, verdict=Verdict.INCLUDE) & Q(study_report__isnull=True)
    ),
}

#: every variable `records_behind` answers for
VARIABLES = (
    *_FILTERS,
    "database_specific_results",
    "register_specific_results",
    "dbr_excluded",
    "other_excluded",
    "new_studies",
)


def records_behind(review: Review, variable: str, reason: str | None = None) -> QuerySet[Record]:
    """The records a count is made of, so that `.count()` equals the count.

    `reason` narrows a dict variable to one key: a source name for `database_specific_results`
    / `register_specific_results`, a reason label (or `NO_REASON`) for `dbr_excluded` /
    `other_excluded`. `pending_*` variables are the records behind `PrismaCounts.pending`.
    `new_studies` counts studies, not records: its records are each included study's first
    included report (lowest record id), one per study.
    """
    records = Record.objects.filter(review=review)
    if variable in _FILTERS:
        return records.filter(_FILTERS[variable]())
    if variable in ("database_specific_results", "register_specific_results"):
        arm = Arm.DATABASE if variable.startswith("database") else Arm.REGISTER
        records = records.filter(batch__source__arm=arm)
        return records if reason is None else records.filter(batch__source__name=reason)
    if variable in ("dbr_excluded", "other_excluded"):
        arm = _DBR if variable == "dbr_excluded" else _OTHER
        return records.filter(
            arm & _has(Stage.FULL_TEXT, verdict=Verdict.EXCLUDE, **_reason_q(reason))
        )
    if variable == "new_studies":
        first_reports = (
            StudyReport.objects.filter(study__review=review)
            .filter(
                Exists(
                    _current(Stage.FULL_TEXT, verdict=Verdict.INCLUDE, record=OuterRef("record"))
                )
            )
            .order_by()
            .values("study")
            .annotate(first=Min("record"))
            .values("first")
        )
        return records.filter(pk__in=first_reports)
    raise ValueError(
        f"Unknown PRISMA variable {variable!r}; expected one of {', '.join(VARIABLES)}."
    )


# The PRISMA2020 package's CSV template ------------------------------------------------------

#: (data, node, box, box text) in the order of the package's inst/extdata/PRISMA.csv; the box
#: texts are the PRISMA 2020 template labels (new review: "Studies included in review").
_TEMPLATE = (
    (None, "node4", "prevstud", "Previous studies"),
    ("previous_studies", "node5", "box1", "Studies included in previous version of review"),
    ("previous_reports", None, "box1", "Reports of studies included in previous version of review"),
    (None, "node6", "newstud", "Identification of new studies via databases and registers"),
    ("database_results", "node7", "box2", "Databases"),
    ("database_specific_results", None, "box2", "Specific databases"),
    ("register_results", None, "box2", "Registers"),
    ("register_specific_results", None, "box2", "Specific registers"),
    (None, "node16", "othstud", "Identification of new studies via other methods"),
    ("website_results", "node17", "box11", "Websites"),
    ("organisation_results", None, "box11", "Organisations"),
    ("citations_results", None, "box11", "Citation searching"),
    ("duplicates", "node8", "box3", "Duplicate records removed"),
    ("excluded_automatic", None, "box3", "Records marked as ineligible by automation tools"),
    ("excluded_other", None, "box3", "Records removed for other reasons"),
    ("records_screened", "node9", "box4", "Records screened"),
    ("records_excluded", "node10", "box5", "Records excluded"),
    ("dbr_sought_reports", "node11", "box6", "Reports sought for retrieval"),
    ("dbr_notretrieved_reports", "node12", "box7", "Reports not retrieved"),
    ("other_sought_reports", "node18", "box12", "Reports sought for retrieval"),
    ("other_notretrieved_reports", "node19", "box13", "Reports not retrieved"),
    ("dbr_assessed", "node13", "box8", "Reports assessed for eligibility"),
    ("dbr_excluded", "node14", "box9", "Reports excluded"),
    ("other_assessed", "node20", "box14", "Reports assessed for eligibility"),
    ("other_excluded", "node21", "box15", "Reports excluded"),
    ("new_studies", "node15", "box10", "Studies included in review"),
    ("new_reports", None, "box10", "Reports of included studies"),
    ("total_studies", "node22", "box16", "Total studies included in review"),
    ("total_reports", None, "box16", "Reports of total included studies"),
    ("identification", "node1", "identification", "Identification"),
    ("screening", "node2", "screening", "Screening"),
    ("included", "node3", "included", "Included"),
)

_DBR_SUFFIX, _OTHER_SUFFIX = " (databases and registers)", " (other methods)"
_BANDS = {"identification", "screening", "included"}


def _csv_name(name: str) -> str:
    """A source or reason name the package's parser can read: no commas or semicolons."""
    return " ".join(name.replace(",", " ").replace(";", " ").split())


def _csv_value(value) -> str:
    if value is None:
        return "NA"
    if isinstance(value, dict):
        return "; ".join(f"{_csv_name(name)}, {n}" for name, n in value.items())
    return str(value)


def to_template_csv(counts: PrismaCounts) -> str:
    """The counts in the PRISMA2020 R package's CSV template (`inst/extdata/PRISMA.csv`).

    Same columns (`data,node,box,description,boxtext,tooltips,url,n`) and rows, in the same
    order, as the package's template, so the file loads with `PRISMA_data(read.csv(...))` or in
    the Shiny app. `n` holds the count; lists are "Name, n; Name, n" with commas and semicolons
    taken out of the names; a null count (step not done, box omitted) and the previous-version
    and total rows (not an update) are `NA`, as are the title and band rows' `n`. Every cell goes
    through `review.cells.safe_cell` (a source or reason named "=…" gets a leading apostrophe).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["data", "node", "box", "description", "boxtext", "tooltips", "url", "n"])
    for data, node, box, text in _TEMPLATE:
        if data is None or data in _BANDS:
            kind = "Blue" if data in _BANDS else ("Yellow" if box == "newstud" else "Grey")
            description = f"{kind} {'title' if data is None else data} box; {text}"
            value = None
        else:
            description = text
            if data.startswith(("records_", "dbr_")):
                description += _DBR_SUFFIX
            elif data.startswith("other_"):
                description += _OTHER_SUFFIX
            value = getattr(counts, data, None)
        url = f"{data or box}.html" if node else "NA"
        writer.writerow(
            safe_cell(cell)
            for cell in [
                data or "NA",
                node or "NA",
                box,
                description,
                text,
                description if node else "NA",
                url,
                _csv_value(value),
            ]
        )
    return out.getvalue()
