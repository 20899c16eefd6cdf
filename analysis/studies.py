"""Included studies: finding one by its label, renaming, merging and deleting (lead only, each
in one transaction, each logged as a `StudyEvent`)."""

from __future__ import annotations


def label_key(label: str) -> str:
    """What two labels must share to name the same study: case and spacing do not count
    ("wang  2019" is "Wang 2019")."""
    return " ".join(label.split()).casefold()


def clean_label(label: str) -> str:
    """A label as stored: trimmed, inner runs of spaces made one."""
    return " ".join(label.split())
