"""A review with every kind of row a backup must carry, and a snapshot of what must survive.

Used in-process by tests/backup/ and, for the SQLite → PostgreSQL round trip, in a subprocess
on a fresh SQLite database (`python -m tests.backup.world build-and-backup OUT.zip`), so both
sides build and compare exactly the same things.
"""

import hashlib
import json
import sys

from django.core.files.base import ContentFile

PDF = b"%PDF-1.4\n% a full text for the backup test\n%%EOF\n"


def build() -> dict:
    """The demo reviews (`demo`, `bcg`) plus history the replay does not make: a changed vote,
    a re-opened result, a full-text exclusion with its reason, a confirmed duplicate pair, a
    merged study, and files (the search export, a full text, a bulk upload, an Excel export,
    one file gone from storage)."""
    from django.contrib.auth import get_user_model

    from analysis.demo import bcg_demo_load
    from analysis.studies import study_merge
    from review.dedup_service import duplicate_pair_confirm
    from review.demo import DEMO_FILE, DEMO_USERS, demo_load
    from review.models import DuplicatePair, PairStatus
    from screening import services
    from screening.models import (
        BulkUpload,
        BulkUploadFile,
        ExclusionReason,
        ExportJob,
        ExportStatus,
        Retrieval,
        RetrievalStatus,
        ScreeningDecision,
        Stage,
        StageResult,
        Verdict,
    )

    result = demo_load()
    review = result.review
    User = get_user_model()
    users = {
        name: (User.objects.get(username=name), role) for name, (_, role) in DEMO_USERS.items()
    }
    lead = users["lead"][0]
    bcg = bcg_demo_load(users)

    # a changed vote (single mode: allowed until the record moves on) supersedes vote and result
    excluded = (
        StageResult.objects.filter(
            review=review, stage=Stage.TITLE_ABSTRACT, verdict=Verdict.EXCLUDE
        )
        .order_by("record__number")
        .values_list("record_id", flat=True)
    )
    changed, reopened = review.records.filter(pk__in=excluded[:2]).order_by("number")
    services.decision_record(
        review=review, record=changed, reviewer=lead, stage=Stage.TITLE_ABSTRACT,
        verdict=Verdict.INCLUDE, note="Changed my mind: a rat study after all.",
    )  # fmt: skip
    services.stage_reopen(
        review=review, record=reopened, stage=Stage.TITLE_ABSTRACT, lead=lead, note="Check again"
    )
    # a full-text exclusion with its reason, of a retrieved report not assessed yet
    reason = ExclusionReason.objects.create(review=review, label="=Wrong population")
    assessed = StageResult.objects.filter(review=review, stage=Stage.FULL_TEXT)
    waiting = (
        Retrieval.objects.filter(review=review, status=RetrievalStatus.RETRIEVED)
        .exclude(record__in=assessed.values("record"))
        .order_by("record__number")
        .first()
    )
    services.retrieval_set(
        review=review,
        record=waiting.record,
        user=lead,
        status=RetrievalStatus.RETRIEVED,
        file=ContentFile(PDF, name="full-text.pdf"),
        url=waiting.url,
    )  # the retrieve event names the file
    services.decision_record(
        review=review, record=waiting.record, reviewer=lead, stage=Stage.FULL_TEXT,
        verdict=Verdict.EXCLUDE, reason=reason, note="Humans",
    )  # fmt: skip
    # a confirmed duplicate pair among records nobody screened (its event holds record ids)
    voted = ScreeningDecision.objects.filter(review=review).values("record")
    a, b = review.records.exclude(pk__in=voted).order_by("number")[:2]
    pair = DuplicatePair.objects.create(
        review=review, record_a=a, record_b=b, score=0.91, status=PairStatus.POSSIBLE
    )
    duplicate_pair_confirm(pair=pair, user=lead)
    # two studies merged into one (the event holds record ids)
    keep, other = review.studies.order_by("label")[:2]
    study_merge(keep=keep, other=other, choices={}, user=lead)
    # files: the search export as uploaded, a bulk upload (one file gone), an Excel export
    batch = review.imports.get()
    batch.file.save("Sep_2021.csv.gz", ContentFile(DEMO_FILE.read_bytes()))
    upload = BulkUpload.objects.create(review=review, created_by=lead)
    kept = BulkUploadFile(upload=upload, position=0, filename="a.pdf", size=len(PDF))
    kept.file.save("a.pdf", ContentFile(PDF))
    gone = BulkUploadFile(upload=upload, position=1, filename="b.pdf", size=len(PDF))
    gone.file.save("b.pdf", ContentFile(PDF))
    gone.file.storage.delete(gone.file.name)
    job = ExportJob.objects.create(
        review=review, user=lead, status=ExportStatus.DONE, filename="demo.xlsx"
    )
    job.file.save("demo.xlsx", ContentFile(b"PK not really a workbook"))
    return {"demo": review, "bcg": bcg}


def _iso(value):
    return value.isoformat() if value else None


def _sha(field) -> str | None:
    if not field:
        return None
    if not field.storage.exists(field.name):
        return None  # a restore names no file where the backup found none
    with field.open("rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def snapshot(review) -> dict:
    """What a restore must reproduce, with ids replaced by what they name (record numbers,
    usernames, labels), so two databases' copies compare equal."""
    from analysis.exports import finite
    from analysis.extraction import run_analysis
    from analysis.models import (
        EffectData,
        ExtractionEvent,
        ModeratorValue,
        RiskOfBias,
        StudyEvent,
        StudyReport,
    )
    from analysis.report import result_rows
    from review.models import DedupEvent, DuplicatePair
    from screening.models import (
        BulkUploadFile,
        ExportJob,
        RecordRank,
        Reopening,
        Retrieval,
        ScreeningDecision,
        ScreeningEvent,
        StageResult,
    )
    from screening.prisma import prisma_counts

    numbers = dict(review.records.values_list("pk", "number"))

    def num(pk):
        return numbers.get(pk) if isinstance(pk, int) else pk

    def user(u):
        return u.username if u else None

    facts = {}
    for name, model in (("decisions", ScreeningDecision), ("results", StageResult)):
        rows = model.objects.filter(review=review).select_related("record", "reason")
        facts[name] = sorted(
            [
                r.record.number,
                r.stage,
                r.verdict,
                r.reason.label if r.reason else None,
                r.note,
                _iso(r.created_at),
                _iso(r.superseded_at),
                user(getattr(r, "reviewer", None) or getattr(r, "decided_by", None)),
                getattr(r, "method", None),
            ]
            for r in rows
        )
    events = ScreeningEvent.objects.filter(review=review).select_related("record", "user")
    dedup = DedupEvent.objects.filter(review=review).select_related("record", "pair", "user")
    detail_ids = ("primary", "detached", "previous_primary")
    return {
        "prisma": prisma_counts(review).to_dict(),
        "review": [
            review.title,
            review.question,
            review.title_abstract_mode,
            review.full_text_mode,
            review.highlight_include,
            _iso(review.created_at),
        ],
        "members": sorted((m.user.username, m.role) for m in review.memberships.all()),
        "records": [
            [
                r.number,
                r.title,
                r.doi,
                r.authors,
                num(r.duplicate_of_id),
                r.removed_reason,
                r.batch.filename,
                r.batch.source.name,
                _iso(r.created_at),
            ]
            for r in review.records.select_related("batch__source").order_by("number")
        ],
        **facts,
        "screening_events": sorted(
            [
                e.record.number,
                e.stage,
                e.action,
                user(e.user),
                _iso(e.created_at),
                {k: v for k, v in e.detail.items() if k != "file"},
            ]
            for e in events
        ),
        "dedup_events": [
            [
                e.action,
                num(e.record_id),
                user(e.user),
                _iso(e.created_at),
                e.pair and [num(e.pair.record_a_id), num(e.pair.record_b_id)],
                {
                    k: (num(v) if k in detail_ids else [num(x) for x in v] if k == "moved" else v)
                    for k, v in e.detail.items()
                },
            ]
            for e in dedup
        ],
        "pairs": sorted(
            [num(p.record_a_id), num(p.record_b_id), p.status, p.score]
            for p in DuplicatePair.objects.filter(review=review)
        ),
        "retrievals": sorted(
            [r.record.number, r.status, r.url, _sha(r.file)]
            for r in Retrieval.objects.filter(review=review).select_related("record")
        ),
        "reopenings": [
            [r.record.number, r.stage, r.note, r.cascade, _iso(r.closed_at)]
            for r in Reopening.objects.filter(review=review).select_related("record")
        ],
        "ranks": sorted(
            [num(r.record_id), r.position, r.score, r.sampled]
            for r in RecordRank.objects.filter(review=review)
        ),
        "imports": [
            [b.filename, b.sha256, b.status, b.record_count, _sha(b.file)]
            for b in review.imports.all()
        ],
        "bulk_files": [
            [f.filename, _sha(f.file)]
            for f in BulkUploadFile.objects.filter(upload__review=review).order_by("position")
        ],
        "exports": [
            [j.filename, j.status, _sha(j.file)] for j in ExportJob.objects.filter(review=review)
        ],
        "studies": [
            [
                s.label,
                s.notes,
                sorted(num(r.record_id) for r in StudyReport.objects.filter(study=s)),
            ]
            for s in review.studies.all()
        ],
        "study_events": [
            [
                e.label,
                e.action,
                user(e.user),
                {k: ([num(x) for x in v] if k == "reports" else v) for k, v in e.detail.items()},
            ]
            for e in StudyEvent.objects.filter(review=review).select_related("user")
        ],
        "effect_data": sorted(
            [d.study.label, d.outcome.name, d.values, d.notes, user(d.updated_by)]
            for d in EffectData.objects.filter(outcome__review=review).select_related(
                "study", "outcome", "updated_by"
            )
        ),
        "moderators": sorted(
            [v.study.label, v.moderator.name, v.value]
            for v in ModeratorValue.objects.filter(moderator__review=review).select_related(
                "study", "moderator"
            )
        ),
        "risk_of_bias": sorted(
            [r.study.label, r.judgements()] for r in RiskOfBias.objects.filter(study__review=review)
        ),
        "extraction_events": [
            [
                e.action,
                e.study.label if e.study else None,
                e.outcome.name if e.outcome else None,
                e.before,
                e.after,
                e.detail,
                _iso(e.created_at),
            ]
            for e in ExtractionEvent.objects.filter(review=review).select_related(
                "study", "outcome"
            )
        ],
        "analysis": {
            o.name: [
                {k: finite(v) for k, v in row.items()}
                for row in result_rows(o.name, run_analysis(o))
            ]
            for o in review.outcomes.select_related("subgroup_by", "regress_on")
        },
    }


def main(argv: list[str]) -> None:
    """`python -m tests.backup.world OUT.zip`: migrate the database DATABASE_URL names, build
    the world, back up `demo` and `bcg` to OUT-demo.zip and OUT-bcg.zip, and print the
    snapshots as JSON (the SQLite side of the SQLite → PostgreSQL test)."""
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.MEDIA_ROOT = os.environ["BACKUP_TEST_MEDIA"]
    call_command("migrate", verbosity=0)
    from review.backup import backup_review

    out = {}
    for slug, review in build().items():
        review.refresh_from_db()
        backup_review(review, f"{argv[0]}-{slug}.zip")
        out[slug] = snapshot(review)
    sys.stdout.write(json.dumps(out, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
