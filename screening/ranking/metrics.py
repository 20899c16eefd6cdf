"""Screening metrics on the labels in the order records were shown (prior records first).

The conventions of the benchmark's shared `screening_metrics.py`: prior records count as
screened and, when relevant, as found; records to x% = records screened when ceil(x·R) of the R
relevant records are found; WSS@95 = (N - records to 95%)/N - 0.05 (Cohen et al. 2006);
recall@10% = share of the relevant records found in the first ceil(0.1·N).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def records_to_recall(labels_in_order: Sequence[int], recall: float) -> int | None:
    labels = np.asarray(labels_in_order, dtype=int)
    target = math.ceil(recall * labels.sum())
    hit = np.nonzero(np.cumsum(labels) >= target)[0]
    return int(hit[0]) + 1 if len(hit) else None


def screening_metrics(labels_in_order: Sequence[int]) -> dict:
    """For a complete order (every record once)."""
    labels = np.asarray(labels_in_order, dtype=int)
    n, r = len(labels), int(labels.sum())
    if r == 0:
        raise ValueError("No relevant record: the metrics are undefined.")
    n95 = records_to_recall(labels, 0.95)
    n100 = records_to_recall(labels, 1.0)
    return {
        "n_records": n,
        "n_relevant": r,
        "n_to_95": n95,
        "n_to_100": n100,
        "wss_95": (n - n95) / n - 0.05,
        "recall_at_10pct": float(labels[: math.ceil(0.10 * n)].sum() / r),
    }
