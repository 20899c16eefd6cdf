"""The demo review, built from real, attributed data shipped in `review/demo_data/`.

`demo_load` imports the 271 records of Sep et al. (2021) and then replays the published review's
own decisions on part of them, so every stage of the PRISMA flow has records in it. Nothing is
invented: each replayed step follows from the dataset's inclusion label (`label_included`, final
inclusion in the published review), and each decision says so in its note. See
`review/demo_data/README.md` for what is replayed and what is left for users to do.
"""

import csv
import gzip
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from review import services
from review.models import Arm, ImportFormat, Membership, Review, Role, ScreeningMode, Source

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_FILE = DATA_DIR / "Sep_2021.csv.gz"
DEMO_SLUG = "demo"
DEMO_USERS = {  # username → (password, role); printed by load_demo, for local use only
    "lead": ("lead-demo-2026", Role.LEAD),
    "reviewer": ("reviewer-demo-2026", Role.REVIEWER),
}
SOURCE_NAME = "Sep et al. 2021 search export (ASReview dataset Sep_2021)"

#: The replay (see review/demo_data/README.md): the lead account screens the first
#: REPLAY_SCREENED records in file order by their label; of the included ones the last
#: LEFT_TO_SEEK are left for the retrieval page, of the retrieved ones the last LEFT_TO_ASSESS
#: for full-text eligibility, of the included reports the last LEFT_TO_LINK for the inclusion page.
REPLAY_SCREENED = 200
LEFT_TO_SEEK = 3
LEFT_TO_ASSESS = 3
LEFT_TO_LINK = 2
REPLAY_NOTE = "Replayed from the published review's label (Sep et al. 2021): {what}."
INCLUDED = "included in the published review"
NOT_INCLUDED = (
    "not included in the published review (the label is final inclusion only, so the published "
    "review may have excluded it at full text instead)"
)


@dataclass(frozen=True)
class ReplayPlan:
    """Dataset ids (the CSV's `id` column, file order) for each replayed step."""

    screened: dict[str, bool]  # id → included in the published review
    retrieved: list[str]
    assessed: list[str]
    linked: list[str]


@dataclass
class ReplayDone:
    """What one `demo_load` run replayed (all zero when the demo was already up to date)."""

    screened: int = 0
    retrieved: int = 0
    assessed: int = 0
    linked: int = 0

    def any(self) -> bool:
        return bool(self.screened or self.retrieved or self.assessed or self.linked)


@dataclass(frozen=True)
class DemoResult:
    review: Review
    created: bool
    records: int
    users: dict[str, str]  # username → password
    replayed: ReplayDone = field(default_factory=ReplayDone)


def _read_rows(path: Path) -> list[dict]:
    with gzip.open(path, "rb") as fh:
        return list(csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8")))


def read_demo_entries(path: Path = DEMO_FILE) -> list[dict]:
    """Parse the shipped CSV into Record field dicts (the inclusion label stays out of `raw`)."""
    entries = []
    for row in _read_rows(path):
        raw = {k: v for k, v in row.items() if k != "label_included" and v}
        entries.append(
            {
                "title": row["title"].strip(),
                "abstract": row.get("abstract", "").strip(),
                "doi": row.get("doi", ""),
                "pmid": row.get("pmid", ""),
                "year": int(row["year"]) if row.get("year", "").isdigit() else None,
                "url": row.get("openalex_id", ""),
                "raw": raw,
            }
        )
    return entries


def replay_plan(path: Path = DEMO_FILE) -> ReplayPlan:
    """Which records the replay decides, from the published labels alone (file order)."""
    rows = _read_rows(path)[:REPLAY_SCREENED]
    screened = {row["id"]: row["label_included"] == "1" for row in rows}
    included = [i for i, label in screened.items() if label]
    retrieved = included[: len(included) - LEFT_TO_SEEK]
    assessed = retrieved[: len(retrieved) - LEFT_TO_ASSESS]
    return ReplayPlan(
        screened=screened,
        retrieved=retrieved,
        assessed=assessed,
        linked=assessed[: len(assessed) - LEFT_TO_LINK],
    )


def study_label(record) -> str:
    """The demo records have no authors, so a study is named by its report's record id."""
    year = f" ({record.year})" if record.year else ""
    return f"Record {record.pk}{year}"


def _rank(review: Review) -> None:
    """Order the records left to screen by the model trained on the replayed decisions, so the
    demo shows a ranked queue and the stopping panel (once; later decisions retrain it)."""
    from screening.models import RecordRank
    from screening.prioritisation import ranking_train

    if not RecordRank.objects.filter(review=review).exists():
        ranking_train(review)


@transaction.atomic
def demo_load() -> DemoResult:
    """Create (or bring up to date) the demo users and the demo review. Safe to run repeatedly."""
    User = get_user_model()
    users = {}
    for username, (password, _role) in DEMO_USERS.items():
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        users[username] = user

    review = Review.objects.filter(slug=DEMO_SLUG).first()
    created = review is None
    if created:
        review = services.review_create(
            slug=DEMO_SLUG,
            lead=users["lead"],
            title="The rodent object-in-context task (demo: Sep et al. 2021)",
            question=(
                "Which variables influence memory performance in the rodent object-in-context task?"
            ),
            protocol_registration="",
            highlight_include=["object-in-context", "context", "recognition memory", "rat", "mice"],
            highlight_exclude=["human", "patients", "review"],
            # The published labels are one final decision per record, not two reviewers' votes:
            # replayed in single mode, so no second reviewer's agreement is made up.
            title_abstract_mode=ScreeningMode.SINGLE,
            full_text_mode=ScreeningMode.SINGLE,
        )
    for username, (_password, role) in DEMO_USERS.items():
        Membership.objects.update_or_create(
            review=review, user=users[username], defaults={"role": role}
        )

    source, _ = Source.objects.get_or_create(
        review=review,
        name=SOURCE_NAME,
        defaults={
            "arm": Arm.DATABASE,
            "notes": (
                "Records and labels from the CC0 ASReview dataset of Sep MSC et al. (2021), "
                "PLOS ONE 16(7): e0249102, doi:10.1371/journal.pone.0249102."
            ),
        },
    )
    if not review.imports.filter(source=source).exists():
        services.records_add(
            review=review,
            source=source,
            entries=read_demo_entries(),
            filename=DEMO_FILE.name,
            format=ImportFormat.CSV,
            content=DEMO_FILE.read_bytes(),
            user=users["lead"],
        )
    replayed = _replay(review, source, users["lead"])
    _rank(review)
    return DemoResult(
        review=review,
        created=created,
        records=review.records.count(),
        users={name: pw for name, (pw, _role) in DEMO_USERS.items()},
        replayed=replayed,
    )


def _replay(review: Review, source: Source, lead) -> ReplayDone:
    """Replay the published decisions that are not in the database yet, through the services.

    A step is skipped when its record already has what the step would write (so a second run
    writes nothing) or when someone changed the record since (a step never overrides a person:
    a record the lead ever voted on, or that is settled, is not voted on again).
    """
    from analysis.models import StudyReport
    from screening import services as screening
    from screening.models import (
        Retrieval,
        RetrievalStatus,
        ScreeningDecision,
        Stage,
        StageResult,
        Verdict,
    )

    if (
        review.title_abstract_mode == ScreeningMode.DUAL
        and not ScreeningDecision.objects.filter(review=review).exists()
    ):  # a demo review loaded before the replay existed, not screened yet
        services.review_update(
            review=review,
            title_abstract_mode=ScreeningMode.SINGLE,
            full_text_mode=ScreeningMode.SINGLE,
        )
    plan = replay_plan()
    records = {
        r.raw.get("id"): r
        for r in review.records.filter(batch__source=source).order_by("position", "pk")
    }
    done = ReplayDone()

    def untouched(stage: str) -> set[int]:
        voted = ScreeningDecision.objects.filter(review=review, stage=stage, reviewer=lead)
        settled = StageResult.objects.filter(review=review, stage=stage, superseded_at=None)
        taken = {*voted.values_list("record_id", flat=True)}
        taken |= {*settled.values_list("record_id", flat=True)}
        return {r.pk for r in records.values()} - taken

    def current(stage: str, verdict: str) -> set[int]:
        return set(
            StageResult.objects.filter(
                review=review, stage=stage, verdict=verdict, superseded_at=None
            ).values_list("record_id", flat=True)
        )

    open_ta = untouched(Stage.TITLE_ABSTRACT)
    for dataset_id, included in plan.screened.items():
        record = records.get(dataset_id)
        if record is None or record.pk not in open_ta:
            continue
        verdict = Verdict.INCLUDE if included else Verdict.EXCLUDE
        what = INCLUDED if included else NOT_INCLUDED
        screening.decision_record(
            review=review, record=record, reviewer=lead, stage=Stage.TITLE_ABSTRACT,
            verdict=verdict, note=REPLAY_NOTE.format(what=what),
        )  # fmt: skip
        done.screened += 1

    passed = current(Stage.TITLE_ABSTRACT, Verdict.INCLUDE)
    sought = set(Retrieval.objects.filter(review=review).values_list("record_id", flat=True))
    for dataset_id in plan.retrieved:
        record = records.get(dataset_id)
        if record is None or record.pk not in passed or record.pk in sought or not record.doi:
            continue
        screening.retrieval_set(
            review=review, record=record, user=lead, status=RetrievalStatus.RETRIEVED,
            url=f"https://doi.org/{record.doi}",
        )  # fmt: skip
        done.retrieved += 1

    retrieved = set(
        Retrieval.objects.filter(review=review, status=RetrievalStatus.RETRIEVED).values_list(
            "record_id", flat=True
        )
    )
    open_ft = untouched(Stage.FULL_TEXT)
    for dataset_id in plan.assessed:
        record = records.get(dataset_id)
        if record is None or not {record.pk} <= passed & retrieved & open_ft:
            continue
        screening.decision_record(
            review=review, record=record, reviewer=lead, stage=Stage.FULL_TEXT,
            verdict=Verdict.INCLUDE, note=REPLAY_NOTE.format(what=INCLUDED),
        )  # fmt: skip
        done.assessed += 1

    included = current(Stage.FULL_TEXT, Verdict.INCLUDE)
    linked = set(
        StudyReport.objects.filter(study__review=review).values_list("record_id", flat=True)
    )
    for dataset_id in plan.linked:
        record = records.get(dataset_id)
        if record is None or record.pk not in included or record.pk in linked:
            continue
        screening.report_link_study(
            review=review, record=record, user=lead, study_label=study_label(record)
        )
        done.linked += 1
    return done
