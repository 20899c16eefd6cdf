"""Titles and abstracts as safe HTML with the inline markup databases put in them.

PubMed and others store titles such as ``Genetics of <i>Drosophila</i>`` or ``CO<sub>2</sub>``.
`inline_markup` keeps the tags i, em, b, strong, sup and sub when they carry no attributes,
closes any it opened, and escapes everything else (so ``<script>`` or ``<i onclick=…>`` show as
text). Pure: no Django; the template filter `inline_markup` (review/templatetags/markup.py)
marks the result safe. Exports keep the stored text as it is.
"""

import re
from html import escape

ALLOWED_TAGS = frozenset({"i", "em", "b", "strong", "sup", "sub"})
_TAG = re.compile(r"<(/?)([a-zA-Z]+)\s*>")
ELLIPSIS = "…"


def inline_markup(text: str, limit: int | None = None) -> str:
    """`text` as HTML keeping only attribute-free inline tags; with `limit`, the visible text is
    cut to at most `limit` characters (ending in "…") and the open tags are closed."""
    text = text or ""
    out: list[str] = []
    opened: list[str] = []
    room = limit

    def add_text(chunk: str) -> bool:
        """Append escaped text; False once the limit cut it."""
        nonlocal room
        if room is not None and len(chunk) > room:
            out.append(escape(chunk[: max(room - 1, 0)]) + ELLIPSIS)
            return False
        out.append(escape(chunk))
        if room is not None:
            room -= len(chunk)
        return True

    position, whole = 0, True
    for match in _TAG.finditer(text):
        closing, name = match.group(1), match.group(2).lower()
        if name not in ALLOWED_TAGS:
            continue  # escaped with the text around it
        if not add_text(text[position : match.start()]):
            whole = False
            break
        position = match.end()
        if not closing:
            opened.append(name)
            out.append(f"<{name}>")
        elif name in opened:  # close it, and any tag opened inside it and left open
            while opened:
                inner = opened.pop()
                out.append(f"</{inner}>")
                if inner == name:
                    break
        # a closing tag that closes nothing is dropped
    if whole:
        add_text(text[position:])
    out.extend(f"</{name}>" for name in reversed(opened))
    return "".join(out)
