"""Shared helpers for the de-duplication tests (pure Python, no database)."""

from __future__ import annotations

import csv
import gzip
import sys
from pathlib import Path

import pytest

from review.dedup import DedupRecord, record_from_mapping

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "dedup" / "asysd_sample.csv.gz"
METHOD_COLUMNS = (
    "title", "authors", "year", "journal", "volume", "issue", "pages", "doi", "abstract",
    "source_database", "isbn", "url", "secondary_title",
)  # fmt: skip


def load_sample() -> tuple[list[DedupRecord], dict[str, str], list[str]]:
    """(records built from the allowed columns only, truth {id: cluster}, dataset per record)."""
    csv.field_size_limit(sys.maxsize)
    records, truth, datasets = [], {}, []
    with gzip.open(SAMPLE, "rt", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            records.append(
                record_from_mapping({k: row[k] for k in METHOD_COLUMNS}, row["record_id"])
            )
            truth[row["record_id"]] = row["cluster_id"]
            datasets.append(row["dataset"])
    return records, truth, datasets


@pytest.fixture(scope="session")
def sample():
    return load_sample()
