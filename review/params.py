"""Ids as they arrive in a query string or a form: text that may be anything.

`str.isdigit()` accepts "²" and "٣", which `int()` then refuses or reads as another digit, and
`get_object_or_404(pk="abc")` raises ValueError (a 500): views read ids through `id_param`.
Pure Python.
"""

MAX_ID_DIGITS = 18  # below 2**63: every database's bigint


def id_param(value) -> int | None:
    """`value` as a database id, or None when it is not one (empty, not ASCII digits, too long)."""
    text = str(value or "").strip()
    if not text or len(text) > MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
