"""Included studies: finding one by its label, renaming, merging and deleting (lead only; each
change in one transaction, logged as a `StudyEvent`). See docs/extraction.md ("Studies")."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from analysis.models import (
    EffectData,
    ExtractionDraft,
    ExtractionEvent,
    ModeratorValue,
    RiskOfBias,
    Study,
    StudyAction,
    StudyEvent,
)

MAX_LABEL = Study._meta.get_field("label").max_length


def label_key(label: str) -> str:
    """What two labels must share to name the same study: case and spacing do not count
    ("wang  2019" is "Wang 2019")."""
    return " ".join(label.split()).casefold()


def clean_label(label: str) -> str:
    """A label as stored: trimmed, inner runs of spaces made one. A control character (a NUL
    byte, which PostgreSQL cannot store, among them) is refused, never dropped silently."""
    label = " ".join(label.split())
    if any(unicodedata.category(c) == "Cc" for c in label):
        raise ValidationError("A study name cannot contain control characters.")
    return label[:MAX_LABEL]


def study_matching(*, review, label: str, exclude: Study | None = None) -> Study | None:
    """The review's study whose label equals `label` but for case and spacing."""
    key = label_key(label)
    studies = review.studies.exclude(pk=exclude.pk) if exclude else review.studies.all()
    return next((s for s in studies if label_key(s.label) == key), None)


def study_for_label(*, review, label: str) -> tuple[Study, bool]:
    """The study a typed label names: an existing one when only case or spacing differ
    (`reused` True when its label is not the one typed), else a new one."""
    label = clean_label(label)
    if not label:
        raise ValidationError("Name the study, e.g. “Smith 2019”.")
    existing = study_matching(review=review, label=label)
    if existing is not None:
        return existing, existing.label != label
    return Study.objects.create(review=review, label=label), False


def _log(study: Study, action: str, user, **detail) -> None:
    StudyEvent.objects.create(
        review_id=study.review_id,
        study=study if action != StudyAction.DELETE else None,
        label=study.label,
        action=action,
        user=user,
        detail=detail,
    )


@transaction.atomic
def study_rename(*, study: Study, label: str, user) -> Study:
    """Rename a study; refused when another study of the review has that name (but for case
    and spacing): the two are then one study, to be merged."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    label = clean_label(label)
    if not label:
        raise ValidationError("Name the study, e.g. “Smith 2019”.")
    clash = study_matching(review=study.review, label=label, exclude=study)
    if clash is not None:
        raise ValidationError(
            f"“{clash.label}” already names a study of this review (case and spaces do not "
            "count): merge the two studies instead."
        )
    if label == study.label:
        return study
    before = study.label
    study.label = label
    study.save(update_fields=["label"])
    _log(study, StudyAction.RENAME, user, before=before, after=label)
    return study


# --- merging -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conflict:
    """Both studies hold a value for the same thing (an outcome's data, a moderator, the risk of
    bias, a reviewer's independent extraction) and the values differ."""

    key: str
    what: str
    rows: list[tuple[str, str, str]]  # (field, the kept study's value, the other's), differing


@dataclass(frozen=True)
class MergePlan:
    keep: Study
    other: Study
    reports: list = field(default_factory=list)
    moving: list[str] = field(default_factory=list)  # what moves to the kept study as it is
    conflicts: list[Conflict] = field(default_factory=list)


def _items(study: Study) -> dict[str, tuple[str, object, dict]]:
    """Everything extracted for the study, by a key shared with any other study of the review:
    key -> (what, the row, its comparable content)."""
    from analysis.extraction import FIELD_LABELS

    items = {}
    for d in EffectData.objects.filter(study=study).select_related("outcome"):
        content = {FIELD_LABELS.get(k, k): v for k, v in d.values.items()}
        items[f"data-{d.outcome_id}"] = (d.outcome.name, d, content)
    for v in ModeratorValue.objects.filter(study=study).select_related("moderator"):
        items[f"moderator-{v.moderator_id}"] = (v.moderator.name, v, {v.moderator.name: v.value})
    rob = RiskOfBias.objects.filter(study=study).first()
    if rob is not None:
        judged = {k: rob.judgements()[k] for k in rob.judgements()}
        items["rob"] = ("Risk of bias (RoB 2)", rob, judged)
    for draft in ExtractionDraft.objects.filter(study=study).select_related("outcome", "extractor"):
        what = f"{draft.outcome.name}: independent extraction by {draft.extractor}"
        content = {FIELD_LABELS.get(k, k): v for k, v in draft.values.items()}
        items[f"draft-{draft.outcome_id}-{draft.extractor_id}"] = (what, draft, content)
    return items


def _text(value) -> str:
    return "" if value is None else str(value)


def study_merge_plan(*, keep: Study, other: Study) -> MergePlan:
    """What merging `other` into `keep` does: the reports and data that move, and the values
    both hold that differ (the lead picks one of each before merging)."""
    if keep.pk == other.pk or keep.review_id != other.review_id:
        raise ValidationError("Choose another study of this review to merge into.")
    kept, others = _items(keep), _items(other)
    moving, conflicts = [], []
    for key, (what, _, content) in others.items():
        if key not in kept:
            moving.append(what)
            continue
        mine = kept[key][2]
        if mine != content:
            names = list(dict.fromkeys([*mine, *content]))
            rows = [
                (n, _text(mine.get(n)), _text(content.get(n)))
                for n in names
                if mine.get(n) != content.get(n)
            ]
            conflicts.append(Conflict(key, what, rows))
    return MergePlan(keep, other, list(other.reports.select_related("record")), moving, conflicts)


def _copy(source, target) -> None:
    """Give `target` the content of `source` (a row of the same kind, for another study)."""
    if isinstance(source, RiskOfBias):
        for name in [*source.judgements(), "notes"]:
            setattr(target, name, getattr(source, name))
    elif isinstance(source, ModeratorValue):
        target.value = source.value
    else:  # EffectData, ExtractionDraft
        target.values, target.notes = source.values, source.notes
    target.save()


@transaction.atomic
def study_merge(*, keep: Study, other: Study, choices: dict[str, str], user) -> Study:
    """Merge `other` into `keep`: its reports, data, moderator values, risk of bias, independent
    extractions and history move to `keep`; where both hold differing values, `choices[key]`
    ("keep" or "other") says whose to keep. Then `other` is deleted. Logged with the values
    given up."""
    locked = {s.pk: s for s in Study.objects.select_for_update().filter(pk__in=[keep.pk, other.pk])}
    if len(locked) != 2:
        raise ValidationError("One of the two studies no longer exists.")
    keep, other = locked[keep.pk], locked[other.pk]
    plan = study_merge_plan(keep=keep, other=other)
    missing = [c.what for c in plan.conflicts if choices.get(c.key) not in ("keep", "other")]
    if missing:
        raise ValidationError([f"{what}: choose which study’s values to keep." for what in missing])
    conflicting = {c.key for c in plan.conflicts}
    kept, others = _items(keep), _items(other)
    replaced, discarded = {}, {}
    for key, (_, row, _content) in others.items():
        if key not in kept:
            row.study = keep
            row.save()
            continue
        if key in conflicting and choices[key] == "other":
            replaced[key] = _stored(kept[key][1])
            _copy(row, kept[key][1])
        elif key in conflicting:
            discarded[key] = _stored(row)
        row.delete()
    reports = list(other.reports.values_list("record_id", flat=True))
    other.reports.update(study=keep)
    ExtractionEvent.objects.filter(study=other).update(study=keep)
    StudyEvent.objects.filter(study=other).update(study=keep)
    if other.notes and other.notes not in keep.notes:
        keep.notes = "\n".join(n for n in (keep.notes, other.notes) if n)
        keep.save(update_fields=["notes"])
    other.delete()
    _log(
        keep,
        StudyAction.MERGE,
        user,
        merged=other.label,
        reports=reports,
        choices={k: choices[k] for k in conflicting},
        replaced=replaced,
        discarded=discarded,
    )
    return keep


def _stored(row) -> dict:
    if isinstance(row, RiskOfBias):
        return {**row.judgements(), "notes": row.notes}
    if isinstance(row, ModeratorValue):
        return {"value": row.value}
    return {**row.values, "notes": row.notes}


# --- deleting --------------------------------------------------------------------------------


def study_data(study: Study) -> list[str]:
    """What is extracted for the study, one line each (the delete confirmation lists it)."""
    lines = []
    for what, _, content in _items(study).values():
        values = ", ".join(f"{k}: {_text(v) or '–'}" for k, v in content.items())
        lines.append(values if what in content else f"{what}: {values}")
    return lines


@transaction.atomic
def study_delete(*, study: Study, user) -> None:
    """Delete a study that has no reports, with its extracted data (logged in full)."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    reports = study.reports.count()
    if reports:
        it = "it" if reports == 1 else "them"
        noun = "report" if reports == 1 else "reports"
        raise ValidationError(
            f"“{study.label}” has {reports} {noun}: link {it} to another study on the Included "
            "page, or merge this study into another, before deleting it."
        )
    data = [
        {"outcome": d.outcome.name, "values": d.values, "notes": d.notes}
        for d in EffectData.objects.filter(study=study).select_related("outcome")
    ]
    moderators = {
        v.moderator.name: v.value
        for v in ModeratorValue.objects.filter(study=study).select_related("moderator")
    }
    rob = RiskOfBias.objects.filter(study=study).first()
    _log(
        study,
        StudyAction.DELETE,
        user,
        data=data,
        moderators=moderators,
        risk_of_bias={**rob.judgements(), "notes": rob.notes} if rob else None,
        study_notes=study.notes,
    )
    study.delete()
