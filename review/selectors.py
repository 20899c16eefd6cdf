"""Reads that cross relations: the review list and the dashboard's sources table.

The counts are aggregate queries over stored facts (records, stage results, retrievals,
study links), never stored counters. `docs/architecture.md` maps each PRISMA 2020 box to them.
"""

from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from review.dedup import DedupRecord
from review.dedup.explain import describe_pair, explain_match
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


def _dedup_record(record: Record) -> DedupRecord:
    return DedupRecord(
        id=record.pk,
        title=record.title or "",
        authors=tuple(record.authors or ()),
        year=record.year,
        journal=record.journal or "",
        volume=record.volume or "",
        issue=record.issue or "",
        pages=record.pages or "",
        doi=record.doi or "",
        pmid=record.pmid or "",
        abstract=record.abstract or "",
    )


def pair_words(pair: DuplicatePair) -> list[str]:
    """How the two records of a pair compare, in plain words read from the records ("same DOI",
    "titles differ only in punctuation", "pages 32 vs S112"), plus why the de-duplicator did
    not merge them when it held back a link."""
    words = describe_pair(_dedup_record(pair.record_a), _dedup_record(pair.record_b))
    held_back = [w for w in explain_match(pair.reason) if w.startswith("Not merged")]
    return words + [w[:1].lower() + w[1:] for w in held_back]


def _pair_view(pair: DuplicatePair) -> PairView:
    from review.keys import fold

    left, right = pair.record_a, pair.record_b
    rows = []
    for name, label in _PAIR_FIELDS:
        a, b = _shown(getattr(left, name)), _shown(getattr(right, name))
        rows.append(PairRow(label, a, b, differs=fold(a) != fold(b)))
    return PairView(pair, left, right, rows, why=pair_words(pair))


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


# Possible duplicates grouped by study ---------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    label: str
    values: list[str]
    differs: bool


@dataclass(frozen=True)
class GroupPair:
    pair: DuplicatePair
    left: Record
    right: Record
    why: str  # plain words, "; "-separated
    open: bool  # still needs a person (possible, and the records not merged through others)


@dataclass(frozen=True)
class PossibleGroup:
    """Records that possible pairs connect: one question ("are these one study?")."""

    key: int  # the group's first pair id (the card's id)
    records: list[Record]
    rows: list[GroupRow]
    pairs: list[GroupPair]

    @property
    def open_ids(self) -> list[int]:
        return [p.pair.pk for p in self.pairs if p.open]

    @property
    def shown_ids(self) -> list[int]:
        return [p.pair.pk for p in self.pairs]

    @property
    def merged(self) -> bool:
        """All its records are now one study (share a primary)."""
        return len({r.duplicate_of_id or r.pk for r in self.records}) == 1


def _primary(record: Record) -> int:
    return record.duplicate_of_id or record.pk


def _group_view(pairs: list[DuplicatePair]) -> PossibleGroup:
    from review.keys import fold

    records = {}
    for pair in pairs:
        records.setdefault(pair.record_a_id, pair.record_a)
        records.setdefault(pair.record_b_id, pair.record_b)
    ordered = sorted(records.values(), key=lambda r: (r.number, r.pk))
    rows = []
    for name, label in _PAIR_FIELDS:
        values = [_shown(getattr(r, name)) for r in ordered]
        rows.append(GroupRow(label, values, differs=len({fold(v) for v in values}) > 1))
    shown = [
        GroupPair(
            pair=pair,
            left=pair.record_a,
            right=pair.record_b,
            why="; ".join(pair_words(pair)),
            open=pair.status == PairStatus.POSSIBLE
            and _primary(pair.record_a) != _primary(pair.record_b),
        )
        for pair in sorted(pairs, key=lambda p: (p.record_a.number, p.record_b.number, p.pk))
    ]
    return PossibleGroup(min(p.pk for p in pairs), ordered, rows, shown)


def possible_groups(review: Review) -> "LazyGroups":
    """The possible pairs that still need a person, grouped by study: records (counting a
    merged group as one) that the pairs connect form one question. Strongest groups first."""
    rows = (
        DuplicatePair.objects.filter(review=review)
        .awaiting()
        .annotate(
            group_a=Coalesce("record_a__duplicate_of_id", "record_a_id"),
            group_b=Coalesce("record_b__duplicate_of_id", "record_b_id"),
        )
        .values_list("pk", "group_a", "group_b", "score")
    )
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    rows = list(rows)
    for _, a, b, _ in rows:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[tuple[int, float]]] = {}
    for pk, a, _, score in rows:
        groups.setdefault(find(a), []).append((pk, score))
    ordered = sorted(groups.values(), key=lambda g: (-max(s for _, s in g), min(pk for pk, _ in g)))
    return LazyGroups(review, [[pk for pk, _ in g] for g in ordered])


class LazyGroups:
    """A sequence of PossibleGroups that a Paginator slices; only a page's pairs are loaded."""

    def __init__(self, review: Review, groups: list[list[int]]):
        self.review = review
        self.groups = groups

    def count(self) -> int:
        return len(self.groups)

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index):
        chosen = self.groups[index] if isinstance(index, slice) else [self.groups[index]]
        wanted = [pk for group in chosen for pk in group]
        by_pk = _pairs(self.review).in_bulk(wanted)
        views = [_group_view([by_pk[pk] for pk in group if pk in by_pk]) for group in chosen]
        return views if isinstance(index, slice) else views[0]


def possible_group(review: Review, pair_ids: list[int]) -> PossibleGroup | None:
    """The group a person was shown (its pairs, whatever they became), to show it again."""
    pairs = list(_pairs(review).filter(pk__in=pair_ids))
    return _group_view(pairs) if pairs else None


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
