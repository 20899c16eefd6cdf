"""Reads that cross relations: the review list and the dashboard's sources table.

The counts are aggregate queries over stored facts (records, stage results, retrievals,
study links), never stored counters. `docs/architecture.md` maps each PRISMA 2020 box to them.
"""

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from review.dedup.explain import explain_match
from review.models import (
    DuplicatePair,
    ImportBatch,
    Membership,
    PairStatus,
    Record,
    Review,
    Source,
)


def _count_subquery(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("review").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def reviews_for_user(user) -> QuerySet[Review]:
    """The user's reviews with their role, record count and team size, in one query."""
    return Review.objects.for_user(user).annotate(
        record_count=_count_subquery(Record.objects.filter(review=OuterRef("pk"))),
        member_count=_count_subquery(Membership.objects.filter(review=OuterRef("pk"))),
    )


@dataclass(frozen=True)
class SourceCount:
    source: Source
    records: int
    duplicates: int
    imports: int


def source_counts(review: Review) -> list[SourceCount]:
    """Each source with its imports, records and duplicates (the dashboard's sources table), in
    three queries whatever the review's size. The PRISMA counts are `screening.prisma`'s."""
    per_batch = (
        Record.objects.filter(review=review)
        .order_by()
        .values("batch")
        .annotate(n=Count("pk"), dup=Count("pk", filter=Q(duplicate_of__isnull=False)))
    )
    batch_source = dict(ImportBatch.objects.filter(review=review).values_list("pk", "source"))
    per_source: dict[int, list[int]] = {}
    for row in per_batch:
        totals = per_source.setdefault(batch_source[row["batch"]], [0, 0])
        totals[0] += row["n"]
        totals[1] += row["dup"]
    rows = []
    for source in Source.objects.filter(review=review):
        n, dup = per_source.get(source.pk, (0, 0))
        imports = sum(1 for s in batch_source.values() if s == source.pk)
        rows.append(SourceCount(source, n, dup, imports))
    return rows


# Imports and duplicates ----------------------------------------------------------------------


def _import_preview(batch: ImportBatch, mapping: dict | None):
    """The header and first rows of a CSV/Excel batch, reading only them (importers.preview)."""
    from review import importers
    from review.import_service import spreadsheet_limits

    try:
        with batch.file.open("rb") as fh:
            return importers.preview(
                fh,
                batch.filename,
                batch.format,
                column_mapping=mapping,
                limits=spreadsheet_limits(),
            )
    except (importers.ImportFileError, OSError):
        return None


def import_headers(batch: ImportBatch) -> list[str]:
    """The column headers of a CSV/Excel batch, in file order."""
    result = _import_preview(batch, None)
    if result is None:
        return sorted(set((batch.column_mapping or {}).values()))
    return list(result.headers or [])


def import_preview(batch: ImportBatch, rows: int = 5) -> list[dict]:
    """The first rows of a CSV/Excel batch as read with its current mapping."""
    result = _import_preview(batch, batch.column_mapping)
    if result is None:
        return []
    return [
        {"title": r.title, "year": r.year, "authors": "; ".join(r.authors[:3]), "doi": r.doi}
        for r in result.records[:rows]
    ]


_PAIR_FIELDS = [
    ("title", "Title"),
    ("authors", "Authors"),
    ("year", "Year"),
    ("journal", "Journal"),
    ("volume", "Volume"),
    ("issue", "Issue"),
    ("pages", "Pages"),
    ("doi", "DOI"),
    ("pmid", "PMID"),
    ("abstract", "Abstract"),
]


@dataclass(frozen=True)
class PairRow:
    label: str
    left: str
    right: str
    differs: bool


@dataclass(frozen=True)
class PairView:
    pair: DuplicatePair
    left: Record
    right: Record
    rows: list[PairRow]
    why: list[str]  # how they matched, in plain words


def _shown(value) -> str:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _pair_view(pair: DuplicatePair) -> PairView:
    from review.keys import fold

    left, right = pair.record_a, pair.record_b
    rows = []
    for name, label in _PAIR_FIELDS:
        a, b = _shown(getattr(left, name)), _shown(getattr(right, name))
        rows.append(PairRow(label, a, b, differs=fold(a) != fold(b)))
    return PairView(pair, left, right, rows, why=explain_match(pair.reason))


def _pairs(review: Review) -> QuerySet[DuplicatePair]:
    return DuplicatePair.objects.filter(review=review).select_related(
        "record_a__batch__source", "record_b__batch__source", "decided_by"
    )


def duplicate_pairs(review: Review, *, status: str) -> list[PairView]:
    """The review's pairs in `status`; possible pairs only while they still need a person."""
    pairs = _pairs(review)
    pairs = pairs.awaiting() if status == PairStatus.POSSIBLE else pairs.filter(status=status)
    return LazyPairViews(pairs.order_by("-score", "pk"))


class LazyPairViews:
    """A sequence of PairViews that a Paginator can slice without loading every pair."""

    def __init__(self, queryset):
        self.queryset = queryset

    def count(self) -> int:
        return self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_pair_view(p) for p in self.queryset[index]]
        return _pair_view(self.queryset[index])


def duplicate_pair(review: Review, pair_id: int) -> PairView:
    return _pair_view(_pairs(review).get(pk=pair_id))


def duplicate_tallies(review: Review) -> dict[str, int]:
    """Pairs per status; `possible` counts those that still need a person, and `settled` the
    possible pairs whose records were merged meanwhile through other pairs (not asked again)."""
    pairs = DuplicatePair.objects.filter(review=review)
    counts = dict(pairs.order_by().values_list("status").annotate(n=Count("pk")))
    settled = pairs.filter(status=PairStatus.POSSIBLE).same_group().count()
    tallies = {status: counts.get(status, 0) for status in PairStatus.values}
    tallies[PairStatus.POSSIBLE] -= settled
    tallies["settled"] = settled
    return tallies
