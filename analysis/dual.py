"""Dual extraction: two reviewers extract each study independently (neither sees the other's
numbers), agreeing extractions become the outcome's data at once, and differing ones wait for a
lead (or a reviewer the lead chose to resolve conflicts) to reconcile them field by field.

The outcome's data (`EffectData`) is what every analysis uses; the independent extractions are
kept (`ExtractionDraft`) and every step is in the extraction log.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from analysis.extraction import ExtractionError, _log, clean_values, save_effect_data
from analysis.models import EffectData, ExtractionAction, ExtractionDraft, Outcome, Study

WAITING, AGREED, CONFLICT, RECONCILED, NONE = "waiting", "agreed", "conflict", "reconciled", "none"


@dataclass
class StudyState:
    study: Study
    state: str  # NONE, WAITING (one extraction), AGREED, CONFLICT, RECONCILED
    drafts: list[ExtractionDraft] = field(default_factory=list)
    data: EffectData | None = None

    def mine(self, user) -> ExtractionDraft | None:
        return next((d for d in self.drafts if d.extractor_id == user.pk), None)

    def differing(self) -> set[str]:
        """The fields on which the (first two) extractions differ."""
        if len(self.drafts) < 2:
            return set()
        a, b = self.drafts[0].values, self.drafts[1].values
        return {k for k in set(a) | set(b) if a.get(k) != b.get(k)}


def _state(drafts: list[ExtractionDraft], data: EffectData | None) -> str:
    if not drafts:
        return NONE
    if len(drafts) < 2:
        return WAITING
    latest = max(d.updated_at for d in drafts)
    if all(d.values == drafts[0].values for d in drafts[1:]):
        return AGREED
    if data is not None and data.updated_at >= latest:
        return RECONCILED
    return CONFLICT


def states(outcome: Outcome) -> dict[int, StudyState]:
    """Each study's dual-extraction state for the outcome, by study id."""
    drafts: dict[int, list[ExtractionDraft]] = {}
    for d in ExtractionDraft.objects.filter(outcome=outcome).select_related("extractor"):
        drafts.setdefault(d.study_id, []).append(d)
    data = {d.study_id: d for d in EffectData.objects.filter(outcome=outcome)}
    out = {}
    for study in outcome.review.studies.order_by("label"):
        mine = sorted(drafts.get(study.pk, []), key=lambda d: (d.updated_at, d.pk))
        out[study.pk] = StudyState(
            study, _state(mine, data.get(study.pk)), mine, data.get(study.pk)
        )
    return out


@transaction.atomic
def save_draft(
    *, outcome: Outcome, study: Study, raw: dict, user, notes: str = "", detail="", decimal=None
):
    """Store `user`'s independent extraction (validated like any data; `decimal`: None for the
    review's separator). When two extractions agree, their numbers become the outcome's data."""
    if not outcome.dual_extraction:
        raise ExtractionError({"__all__": ["This outcome is extracted once, not twice."]})
    if study.review_id != outcome.review_id:
        raise ExtractionError({"study": ["That study is not in this review."]})
    values = clean_values(outcome, raw, decimal=decimal)
    draft = ExtractionDraft.objects.filter(outcome=outcome, study=study, extractor=user).first()
    before = {"values": draft.values, "notes": draft.notes} if draft else None
    after = {"values": values, "notes": notes}
    if before != after:
        ExtractionDraft.objects.update_or_create(
            outcome=outcome,
            study=study,
            extractor=user,
            defaults={"values": values, "notes": notes},
        )
        _log(
            outcome.review_id,
            ExtractionAction.DRAFT,
            user=user,
            study=study,
            outcome=outcome,
            before=before,
            after=after,
            detail=detail,
        )
    drafts = list(
        ExtractionDraft.objects.filter(outcome=outcome, study=study).select_related("extractor")
    )
    if len(drafts) >= 2 and all(d.values == drafts[0].values for d in drafts[1:]):
        names = " and ".join(sorted(d.extractor.get_username() for d in drafts))
        notes = " / ".join(d.notes for d in drafts if d.notes)
        save_effect_data(
            outcome=outcome,
            study=study,
            raw=drafts[0].values,
            user=None,
            notes=notes,
            detail=f"the independent extractions of {names} agree",
        )


@transaction.atomic
def reconcile(*, outcome: Outcome, study: Study, raw: dict, user, notes: str = "") -> EffectData:
    """The reconciled numbers of a study whose two extractions differ (the caller checks that
    `user` may resolve)."""
    drafts = list(
        ExtractionDraft.objects.filter(outcome=outcome, study=study).select_related("extractor")
    )
    if len(drafts) < 2:
        raise ExtractionError({"__all__": [f"{study.label}: there are not two extractions yet."]})
    names = " and ".join(sorted(d.extractor.get_username() for d in drafts))
    return save_effect_data(
        outcome=outcome,
        study=study,
        raw=raw,
        user=user,
        notes=notes,
        detail=f"reconciled from the extractions of {names}",
    )
