"""Duplicate detection for bibliographic records (pure Python: no Django).

    from review.dedup import DedupRecord, find_duplicates
    result = find_duplicates(new_records, existing=earlier_records)
    result.duplicates(), result.possible(), result.clusters(), result.primaries

See docs/dedup.md for the method (normalisation, blocking, rules, clustering guard).
"""

from .engine import DedupResult, Match, choose_primary, find_duplicates
from .records import DedupRecord, record_from_mapping

__all__ = [
    "DedupRecord",
    "DedupResult",
    "Match",
    "choose_primary",
    "find_duplicates",
    "record_from_mapping",
]
