"""The demo review, built from real, attributed data shipped in `review/demo_data/`."""

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from review import services
from review.models import Arm, ImportFormat, Membership, Review, Role, Source

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
DEMO_FILE = DATA_DIR / "Sep_2021.csv.gz"
DEMO_SLUG = "demo"
DEMO_USERS = {  # username → (password, role); printed by load_demo, for local use only
    "lead": ("lead-demo-2026", Role.LEAD),
    "reviewer": ("reviewer-demo-2026", Role.REVIEWER),
}
SOURCE_NAME = "Sep et al. 2021 search export (ASReview dataset Sep_2021)"


@dataclass(frozen=True)
class DemoResult:
    review: Review
    created: bool
    records: int
    users: dict[str, str]  # username → password


def read_demo_entries(path: Path = DEMO_FILE) -> list[dict]:
    """Parse the shipped CSV into Record field dicts (the inclusion label stays out of `raw`)."""
    with gzip.open(path, "rb") as fh:
        rows = list(csv.DictReader(io.TextIOWrapper(fh, encoding="utf-8")))
    entries = []
    for row in rows:
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
    return DemoResult(
        review=review,
        created=created,
        records=review.records.count(),
        users={name: pw for name, (pw, _role) in DEMO_USERS.items()},
    )
