"""The analysis demo: the BCG vaccine trials (Colditz et al. 1994, metafor's dat.bcg) as a
review with 13 studies, one outcome and two moderators, from real, attributed data shipped in
`analysis/demo_data/` (see its README). Idempotent."""

from __future__ import annotations

import csv
from pathlib import Path

from django.db import transaction

from analysis import extraction
from analysis.models import DataType, Moderator, ModeratorKind, Outcome, Study
from review import services
from review.models import Membership, Review, Role, ScreeningMode

BCG_FILE = Path(__file__).resolve().parent / "demo_data" / "dat_bcg.csv"
BCG_SLUG = "bcg"
OUTCOME = "Tuberculosis cases"


def bcg_rows(path: Path = BCG_FILE) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def bcg_label(row: dict) -> str:
    return f"{row['author']} {row['year']}"


@transaction.atomic
def bcg_demo_load(users: dict) -> Review:
    """Create or update the `bcg` review for the demo users (`users`: username → (user, role))."""
    lead = next(user for user, role in users.values() if role == Role.LEAD)
    review = Review.objects.filter(slug=BCG_SLUG).first()
    if review is None:
        review = services.review_create(
            slug=BCG_SLUG,
            lead=lead,
            title="BCG vaccine against tuberculosis (demo: Colditz et al. 1994, metafor's dat.bcg)",
            question="Does BCG vaccination prevent tuberculosis, and does its effect vary with "
            "latitude or the way participants were allocated?",
            protocol_registration="",
            highlight_include=[],
            highlight_exclude=[],
            title_abstract_mode=ScreeningMode.SINGLE,
            full_text_mode=ScreeningMode.SINGLE,
        )
    for user, role in users.values():
        Membership.objects.update_or_create(review=review, user=user, defaults={"role": role})
    outcome, _ = Outcome.objects.get_or_create(
        review=review,
        name=OUTCOME,
        defaults={
            "data_type": DataType.BINARY,
            "measure": "RR",
            "description": "Tuberculosis cases among vaccinated and unvaccinated participants.",
        },
    )
    allocation, _ = Moderator.objects.get_or_create(
        review=review, name="allocation", defaults={"kind": ModeratorKind.CATEGORICAL}
    )
    latitude, _ = Moderator.objects.get_or_create(
        review=review, name="absolute latitude", defaults={"kind": ModeratorKind.NUMERIC}
    )
    for row in bcg_rows():
        study, _ = Study.objects.get_or_create(
            review=review,
            label=bcg_label(row),
            defaults={"notes": f"Trial {row['trial']} of dat.bcg (Colditz et al. 1994)."},
        )
        tpos, tneg, cpos, cneg = (int(row[k]) for k in ("tpos", "tneg", "cpos", "cneg"))
        extraction.save_effect_data(
            outcome=outcome,
            study=study,
            raw={"ai": tpos, "n1i": tpos + tneg, "ci": cpos, "n2i": cpos + cneg},
            user=lead,
            notes="From metafor's dat.bcg: tpos, tpos + tneg, cpos, cpos + cneg.",
        )
        extraction.save_moderator_value(moderator=allocation, study=study, value=row["alloc"])
        extraction.save_moderator_value(moderator=latitude, study=study, value=row["ablat"])
    outcome.subgroup_by = allocation
    outcome.regress_on = latitude
    outcome.save(update_fields=["subgroup_by", "regress_on"])
    return review
