"""De-duplication in a review: plan matches for new records, link them, and let people decide.

The matching itself is the pure package `review.dedup`; this module turns its matches into
stored facts. Records are never deleted: a duplicate points at its group's primary record
(`Record.duplicate_of`, a flat star: every member points at the primary), every match is kept as
a `DuplicatePair` with the reason it matched, and every action is a `DedupEvent`.
"""

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from review import dedup
from review.models import DedupAction, DedupEvent, DuplicatePair, PairStatus, Record, Review

_FIELDS = (
    "pk", "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "pmid",
    "abstract", "duplicate_of_id",
)  # fmt: skip


def _new_key(index: int) -> str:
    return f"new-{index}"


def _as_dedup_record(key, row: dict) -> dedup.DedupRecord:
    return dedup.DedupRecord(
        id=key,
        title=row.get("title") or "",
        authors=tuple(row.get("authors") or ()),
        year=row.get("year"),
        journal=row.get("journal") or "",
        volume=row.get("volume") or "",
        issue=row.get("issue") or "",
        pages=row.get("pages") or "",
        doi=row.get("doi") or "",
        pmid=row.get("pmid") or "",
        abstract=row.get("abstract") or "",
    )


@dataclass
class DedupPlan:
    """What to store after an import: links of new records and pairs, keyed as in `matches`."""

    links: dict = field(default_factory=dict)  # new key -> primary key (an existing pk or new key)
    pairs: list = field(default_factory=list)  # (key_a, key_b, status, score, reason)
    compared: int = 0


def dedup_plan(*, review: Review, new) -> DedupPlan:
    """Match parsed records (not yet stored) against each other and the review's records."""
    return dedup_plan_start(review=review, new=new, parallel=False)()


# Large imports: the matching (pure CPU) runs in a forked child while the parent writes the
# records to the database, so the two phases overlap on a 2-core machine.
PARALLEL_MIN_RECORDS = 20_000
_child_input: tuple | None = None


def _match_in_child() -> DedupPlan:
    incoming, existing, primary_of = _child_input
    return _match(incoming, existing, primary_of)


def _match(incoming, existing, primary_of) -> DedupPlan:
    result = dedup.find_duplicates(incoming, existing=existing)
    by_key = {r.id: r for r in incoming}
    return _plan_from_matches(result.matches, by_key, primary_of, result.stats)


def dedup_plan_start(*, review: Review, new, parallel: bool = True) -> Callable[[], DedupPlan]:
    """Start matching `new` parsed records; returns a function that waits for the plan.

    The review's records are read here, in the caller's process. With `parallel` and at least
    PARALLEL_MIN_RECORDS new records, the matching runs in a child process forked now (it
    touches no database connection and exits without running finalisers), and the caller can
    write records meanwhile; otherwise it runs before this returns.
    """
    global _child_input
    existing_rows = list(Record.objects.filter(review=review).values(*_FIELDS))
    existing = [_as_dedup_record(row["pk"], row) for row in existing_rows]
    primary_of = {row["pk"]: row["duplicate_of_id"] or row["pk"] for row in existing_rows}
    incoming = [
        _as_dedup_record(_new_key(i), {name: getattr(r, name, None) for name in _FIELDS[1:-1]})
        for i, r in enumerate(new)
    ]
    fork = "fork" in multiprocessing.get_all_start_methods()
    if not (parallel and fork and len(incoming) >= PARALLEL_MIN_RECORDS):
        plan = _match(incoming, existing, primary_of)
        return lambda: plan
    _child_input = (incoming, existing, primary_of)
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    try:
        future = executor.submit(_match_in_child)
    finally:
        _child_input = None  # the child has its copy; free the parent's reference
    executor.shutdown(wait=False)

    def wait() -> DedupPlan:
        return future.result()

    return wait


def _plan_from_matches(matches, new_records: dict, primary_of: dict, stats: dict) -> DedupPlan:
    """Group duplicate matches into clusters; never join two existing groups automatically.

    Matches are taken strongest first. A match that would join two groups that each already
    hold a stored record becomes a *possible* pair for a person instead: an import must not
    silently merge groups that earlier imports (or people) kept apart.
    """
    parent: dict = {}

    def find(key):
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    anchor: dict = {}  # component root -> the existing primary it contains, if any
    plan = DedupPlan(compared=int(stats.get("candidate_pairs", 0)) if stats else 0)
    for match in sorted(matches, key=lambda m: -m.score):
        if match.outcome != "duplicate":
            plan.pairs.append((match.a, match.b, PairStatus.POSSIBLE, match.score, match.reason))
            continue
        for key in (match.a, match.b):
            root = find(key)
            if key in primary_of:
                anchor.setdefault(root, primary_of[key])
        root_a, root_b = find(match.a), find(match.b)
        if root_a == root_b:
            plan.pairs.append((match.a, match.b, PairStatus.AUTOMATIC, match.score, match.reason))
            continue
        anchor_a, anchor_b = anchor.get(root_a), anchor.get(root_b)
        if anchor_a is not None and anchor_b is not None and anchor_a != anchor_b:
            plan.pairs.append((match.a, match.b, PairStatus.POSSIBLE, match.score, match.reason))
            continue
        parent[root_b] = root_a
        anchor_value = anchor_a if anchor_a is not None else anchor_b
        anchor.pop(root_b, None)
        if anchor_value is not None:
            anchor[root_a] = anchor_value
        plan.pairs.append((match.a, match.b, PairStatus.AUTOMATIC, match.score, match.reason))

    members: dict = {}
    for key in new_records:
        if key in parent:
            members.setdefault(find(key), []).append(key)
    for root, keys in members.items():
        primary = anchor.get(root)
        if primary is None:
            if len(keys) < 2:
                continue
            primary = dedup.choose_primary([new_records[k] for k in keys])
        for key in keys:
            if key != primary:
                plan.links[key] = primary
    return plan


def dedup_apply(plan: DedupPlan, *, review: Review, new_ids: list[int]) -> None:
    """Store a plan once the new records have ids: links, pairs and one log event.

    Runs inside the import's transaction.
    """

    def pk(key):
        return new_ids[int(key.removeprefix("new-"))] if isinstance(key, str) else key

    links = [(pk(primary), pk(key)) for key, primary in plan.links.items()]
    if links:
        table = connection.ops.quote_name(Record._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET duplicate_of_id = %s WHERE id = %s",  # noqa: S608
                links,
            )

    pairs = {}
    for a, b, status, score, reason in plan.pairs:
        low, high = sorted((pk(a), pk(b)))
        pairs.setdefault((low, high), (status, score, reason))
    DuplicatePair.objects.bulk_create(
        [
            DuplicatePair(
                review=review, record_a_id=a, record_b_id=b, status=s, score=score, reason=reason
            )
            for (a, b), (s, score, reason) in pairs.items()
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    if plan.links or pairs:
        DedupEvent.objects.create(
            review=review,
            action=DedupAction.AUTO_MERGE,
            detail={
                "merged": len(plan.links),
                "possible": sum(1 for s, _, _ in pairs.values() if s == PairStatus.POSSIBLE),
                "records": len(new_ids),
            },
        )


# People's decisions --------------------------------------------------------------------------


def _group(primary_id: int) -> list[Record]:
    return list(
        Record.objects.select_for_update()
        .filter(Q(pk=primary_id) | Q(duplicate_of=primary_id))
        .order_by("pk")
    )


def _primary_id(record: Record) -> int:
    return record.duplicate_of_id or record.pk


def _completeness_winner(first: Record, second: Record) -> Record:
    chosen = dedup.choose_primary(
        [_as_dedup_record(r.pk, r.__dict__ | {"authors": r.authors}) for r in (first, second)]
    )
    return first if chosen == first.pk else second


def _decide(pair: DuplicatePair, status: str, user) -> None:
    pair.status, pair.decided_by, pair.decided_at = status, user, timezone.now()
    pair.save(update_fields=["status", "decided_by", "decided_at"])


@transaction.atomic
def duplicate_pair_confirm(*, pair: DuplicatePair, user) -> Record:
    """The two records are one: merge their groups under the more complete primary."""
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.status not in (PairStatus.POSSIBLE, PairStatus.REJECTED):
        raise ValidationError("These records are already merged.")
    a, b = Record.objects.select_for_update().filter(pk__in=[pair.record_a_id, pair.record_b_id])
    primaries = Record.objects.in_bulk([_primary_id(a), _primary_id(b)])
    first, second = primaries[_primary_id(a)], primaries[_primary_id(b)]
    winner = first if first.pk == second.pk else _completeness_winner(first, second)
    moved = []
    for primary in {first.pk: first, second.pk: second}.values():
        if primary.pk == winner.pk:
            continue
        group = _group(primary.pk)
        moved = [r.pk for r in group]
        Record.objects.filter(pk__in=moved).update(duplicate_of=winner)
    _decide(pair, PairStatus.CONFIRMED, user)
    DedupEvent.objects.create(
        review=pair.review, action=DedupAction.CONFIRM, pair=pair, record=winner, user=user,
        detail={"primary": winner.pk, "moved": moved},
    )  # fmt: skip
    return winner


@transaction.atomic
def duplicate_pair_reject(*, pair: DuplicatePair, user) -> DuplicatePair:
    """The two records are different studies or reports: keep them apart for good."""
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.status != PairStatus.POSSIBLE:
        raise ValidationError("Only a possible duplicate can be rejected; undo a merge instead.")
    _decide(pair, PairStatus.REJECTED, user)
    DedupEvent.objects.create(review=pair.review, action=DedupAction.REJECT, pair=pair, user=user)
    return pair


@transaction.atomic
def duplicate_pairs_decide(*, pairs: list[DuplicatePair], verdict: str, user) -> int:
    """Decide the possible pairs of one group of records at once (a person judged them
    together): `confirm` merges them all into one study, `reject` keeps them all apart. Pairs
    decided meanwhile are left as they are; a pair whose records were merged meanwhile through
    other pairs is confirmed along with the rest, never rejected. Each pair is logged as if
    decided alone. Returns how many pairs were decided."""
    if verdict not in ("confirm", "reject"):
        raise ValidationError(f"Unknown decision {verdict!r}.")
    ids = [p.pk for p in pairs]
    current = list(
        DuplicatePair.objects.select_for_update()
        .filter(pk__in=ids, status=PairStatus.POSSIBLE)
        .order_by("-score", "pk")
    )
    decided = 0
    for pair in current:
        if verdict == "confirm":
            duplicate_pair_confirm(pair=pair, user=user)
        elif DuplicatePair.objects.filter(pk=pair.pk).same_group().exists():
            continue  # merged through other pairs: nothing to keep apart
        else:
            duplicate_pair_reject(pair=pair, user=user)
        decided += 1
    return decided


@transaction.atomic
def duplicate_pair_undo(*, pair: DuplicatePair, user) -> DuplicatePair:
    """Put a decided pair back in the queue; a merged pair's later record leaves its group."""
    pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
    if pair.status == PairStatus.POSSIBLE:
        raise ValidationError("This pair has not been decided yet.")
    previous = pair.status
    detached = None
    if previous in (PairStatus.AUTOMATIC, PairStatus.CONFIRMED):
        a, b = sorted(
            Record.objects.select_for_update().filter(pk__in=[pair.record_a_id, pair.record_b_id]),
            key=lambda r: r.pk,
        )
        if _primary_id(a) == _primary_id(b):
            leaving = b if b.duplicate_of_id is not None else a  # never the primary
            Record.objects.filter(pk=leaving.pk).update(duplicate_of=None)
            detached = leaving.pk
    _decide(pair, PairStatus.POSSIBLE, user)
    DedupEvent.objects.create(
        review=pair.review, action=DedupAction.UNDO, pair=pair, user=user,
        detail={"previous_status": previous, "detached": detached},
    )  # fmt: skip
    return pair


@transaction.atomic
def record_set_primary(*, record: Record, user) -> Record:
    """Make `record` the primary of its duplicate group (the one screened and counted)."""
    record = Record.objects.select_for_update().get(pk=record.pk)
    old = _primary_id(record)
    if old == record.pk:
        return record
    group = _group(old)
    Record.objects.filter(pk__in=[r.pk for r in group if r.pk != record.pk]).update(
        duplicate_of=record
    )
    Record.objects.filter(pk=record.pk).update(duplicate_of=None)
    record.duplicate_of = None
    DedupEvent.objects.create(
        review=record.review, action=DedupAction.SET_PRIMARY, record=record, user=user,
        detail={"previous_primary": old},
    )  # fmt: skip
    return record
