"""Field normalisers: every comparison in the package works on these canonical forms.

Pure functions, no Django. Built on `review.keys` (`fold`, `normalise_doi`, ...).
"""

from __future__ import annotations

import html
import re
from functools import lru_cache

from review.keys import fold

# ---------------------------------------------------------------------------------------------
# text

_MOJIBAKE = re.compile("Ã|Â|â€|Å|Ä")
_TAGS = re.compile(r"<[^>]{1,40}>")


_R_ESCAPE = re.compile(r"<U\+([0-9A-Fa-f]{4,6})>")


def demojibake(text: str) -> str:
    """Repair UTF-8 read as Latin-1/cp1252 (`KÃ¶nig` → `König`) and R's `<U+1EF3>` escapes;
    other text is returned as is."""
    if text and "<U+" in text:
        text = _R_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if not text or not _MOJIBAKE.search(text):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def clean_text(text: str) -> str:
    """HTML entities and tags removed, mojibake repaired."""
    text = demojibake(text or "")
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAGS.sub(" ", text)
    return text


#: a note cut off by the export's field length (`Title.[Erratum appears in J Clin`): an opening
#: bracket never closed, starting with the words the databases use for appended notes
_CUT_OFF_NOTE = re.compile(
    r"\s*\[\s*(?:published\s+)?(?:erratum|errata|corrigendum|correction|retraction|comment|"
    r"comments|see|update|expression of concern|corrected|summary for patients|reprinted|"
    r"republished)\b[^\]]*$",
    re.IGNORECASE,
)


def _trailing_note_start(text: str) -> int | None:
    """Where a bracketed note at the end of `text` begins (brackets may nest:
    `[Erratum appears in … Note: Small, S [added]]`), or None."""
    end = len(text.rstrip().rstrip(".").rstrip())
    if not end or text[end - 1] != "]":
        return None
    depth = 0
    for k in range(end - 1, -1, -1):
        if text[k] == "]":
            depth += 1
        elif text[k] == "[":
            depth -= 1
            if depth == 0:
                return k
    return None


def strip_title_notes(title: str) -> str:
    """Drop database notes appended to titles: `Title.[Erratum appears in Neurology. 2017 ...]`,
    the same note cut off (`Title.[Erratum appears in J Clin`) or holding brackets of its own,
    several in a row (`[corrected][published erratum appears in …]`), `Title. [Japanese]`;
    unwrap a fully bracketed translated title (`[Temozolomide: Temodal]`)."""
    text = title.strip()
    if text.startswith("[") and text.rstrip(".").endswith("]") and text.count("[") == 1:
        return text.rstrip(".")[1:-1]
    cut = _CUT_OFF_NOTE.search(text)
    if cut and len(fold(text[: cut.start()]).split()) >= 2:
        text = text[: cut.start()]
    for _ in range(4):
        start = _trailing_note_start(text)
        if start is None or len(fold(text[:start]).split()) < 2:
            break
        text = text[:start]
    return text


def norm_title(title: str) -> str:
    """Folded title: ASCII lower case words, appended notes removed (see `strip_title_notes`)."""
    key = fold(strip_title_notes(clean_text(title)))
    for suffix in (" abstract", " meeting abstract", " conference abstract"):
        if key.endswith(suffix) and len(key) > len(suffix) + 20:
            key = key[: -len(suffix)]
    return key


_NOTICE = re.compile(
    r"^(?:erratum|errata|corrigendum|corrigenda|correction|retraction|retracted|withdrawn|"
    r"expression of concern|notice of retraction|reply|in reply|author s? reply|authors reply|"
    r"response|comment|comments on|commentary|letter|editorial comment)\b"
)
_NOTICE_ANYWHERE = re.compile(
    r"\b(?:erratum|corrigendum|retraction notice|author s reply|authors reply|reply to|"
    r"response to|in response|comment on|commentary on)\b"
)


def notice_kind(title_key: str) -> str:
    """'notice' for errata, corrections, retractions, replies and comments; '' otherwise.

    A notice about a paper shares most of its title but is a different record (a different
    study for PRISMA purposes), so such a pair is never merged with the article.
    """
    if _NOTICE.match(title_key) or _NOTICE_ANYWHERE.search(title_key):
        return "notice"
    return ""


# ---------------------------------------------------------------------------------------------
# authors

# A run-together export: "Adeli K.Lewis G. F." — a new author starts after "X." when the next
# character is a capital followed by a lower-case letter or an apostrophe (Lewis, D'Souza).
_RUN_TOGETHER = re.compile(r"(?<=[A-Z]\.)(?=[A-Z][a-z'\u00c0-\u024f])|(?<=[A-Z]\.)(?=[A-Z]\s)")
_INITIALS_TOKEN = re.compile(r"^(?:[A-Z]\.?-?){1,4}$")


def split_authors(text: str) -> list[str]:
    """Split an exported author string into names.

    Handles `A; B`, `A and B`, `Surname AB, Surname CD` (PubMed) and run-together
    `Adeli K.Lewis G. F.` (EndNote/Ovid). Returns names as written (mojibake repaired).
    """
    text = demojibake(text or "").strip()
    if not text:
        return []
    if "\n" in text or "\r" in text:
        parts = re.split(r"[\r\n]+", text)
    elif ";" in text:
        parts = text.split(";")
    elif " and " in text and "," not in text:
        parts = text.split(" and ")
    elif "," in text and _looks_like_comma_list(text):
        parts = text.split(",")
    else:
        parts = _RUN_TOGETHER.split(text)
    return [p.strip() for p in parts if p.strip() and p.strip().lower() not in {"et al", "et al."}]


def _looks_like_comma_list(text: str) -> bool:
    """`Smith J, Jones K` (list) vs `Smith, John` (one name) vs `Smith, J.; ...`."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) < 2:
        return False
    return all(len(p.split()) >= 2 and _INITIALS_TOKEN.match(p.split()[-1]) for p in parts)


@lru_cache(maxsize=200_000)
def author_key(name: str) -> tuple[str, str]:
    """(family name folded without spaces, initials) from `Lewis G. F.`, `Lewis, Gary F.`,
    `Gary F. Lewis`, `El Hachmane M.`, `von Deimling A`."""
    name = demojibake(name or "").strip()
    if not name:
        return ("", "")
    if "," in name:
        family, given = name.split(",", 1)
        given_tokens = given.replace(".", ". ").split()
        return (fold(family).replace(" ", ""), "".join(t[0].lower() for t in given_tokens if t))
    tokens = name.replace(".", ". ").split()
    # trailing initials: "Lewis G. F." / "Lewis GF"
    initials: list[str] = []
    while len(tokens) > 1 and _INITIALS_TOKEN.match(tokens[-1]):
        initials.insert(0, tokens.pop())
    if initials:
        letters = "".join(ch for ch in "".join(initials) if ch.isalpha()).lower()
        return (fold(" ".join(tokens)).replace(" ", ""), letters)
    if len(tokens) == 1:
        return (fold(tokens[0]).replace(" ", ""), "")
    # "Gary F. Lewis": the last word is the family name
    return (fold(tokens[-1]).replace(" ", ""), "".join(t[0].lower() for t in tokens[:-1]))


# ---------------------------------------------------------------------------------------------
# numbers: year, volume, issue, pages

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}
_EXCEL_DAY_MONTH = re.compile(r"^(\d{1,2})-([A-Za-z]{3})[a-z]*$")
_EXCEL_MONTH_NUM = re.compile(r"^([A-Za-z]{3})[a-z]*-(\d{1,4})$")
_PAGE_RANGE = re.compile(
    r"^([A-Za-z]{0,2})(\d+)([A-Za-z]?)\s*(?:[-\u2010-\u2015]+\s*([A-Za-z]{0,2})(\d+)[A-Za-z]?)?"
)
_INT = re.compile(r"\d+")


def norm_pages(pages: str) -> tuple[str, str]:
    """(first page, last page) as canonical strings: `221-8` → (221, 228), Excel's `06-Oct` →
    (6, 10), `Oct-17` → (10, 17), `S31-S32` → (s31, s32), `e1002` → (e1002, ''); ('', '') if none.
    """
    text = (pages or "").strip().strip(".")
    if not text:
        return ("", "")
    m = _EXCEL_DAY_MONTH.match(text)
    if m and m.group(2).lower() in _MONTHS:
        text = f"{int(m.group(1))}-{_MONTHS[m.group(2).lower()]}"
    m = _EXCEL_MONTH_NUM.match(text)
    if m and m.group(1).lower() in _MONTHS:
        text = f"{_MONTHS[m.group(1).lower()]}-{int(m.group(2))}"
    m = _PAGE_RANGE.match(text)
    if not m:
        return ("", "")
    prefix = m.group(1).lower()
    first = str(int(m.group(2)))
    last = ""
    if m.group(5):
        last_digits = m.group(5)
        if len(last_digits) < len(first) and int(m.group(2)) > 0:
            last_digits = first[: len(first) - len(last_digits)] + last_digits  # 221-8 → 228
        last = str(int(last_digits))
        if int(last) < int(first):
            last = ""
    start = prefix + first
    end = (prefix + last) if last else ""
    if end == start:
        end = ""
    return (start, end)


def norm_volume(value: str) -> str:
    """The leading number of a volume (`81 (10 Supplement 1)` → `81`); '' when unclear (`1)`)."""
    text = (value or "").strip()
    if not text or (")" in text and "(" not in text):
        return ""
    m = _INT.search(text)
    if not m or (m.start() > 0 and not text[: m.start()].strip().lower().startswith("v")):
        return ""
    return str(int(m.group(0)))


def norm_issue(value: str) -> str:
    text = (value or "").strip().lower()
    if not text or "suppl" in text or "meeting" in text:
        return ""
    m = _INT.match(text)
    return str(int(m.group(0))) if m else ""


_ISSUE_SPAN = re.compile(r"^(?:no\.?\s*)?(\d{1,4})(?:\s*[-/\u2010-\u2015&,]\s*(\d{1,4}))?")


def norm_issue_span(value: str) -> tuple[int, int] | None:
    """The issue as a range of numbers: `3` and `03` → (3, 3), `3-4` and `3/4` → (3, 4); None
    when unknown: empty, a supplement (`Suppl 1`, `10 Supplement 1`), a month or a season."""
    text = (value or "").strip().lower()
    if not text or is_supplement(text):
        return None
    m = _ISSUE_SPAN.match(text)
    if not m:
        return None
    low = int(m.group(1))
    high = int(m.group(2)) if m.group(2) else low
    return (low, high) if low <= high else (low, low)


_VOLUME_ISSUE = re.compile(r"^\s*\d+\s*\(\s*(\d[^)]*)\)")


def record_issue(volume: str, issue: str, first_page: str) -> tuple[int, int] | None:
    """The issue span of a record as exported. Embase writes `19 (12) (no pagination)` in the
    volume and the article number in the issue field: the issue is then the volume's
    parenthesis (or unknown); an issue equal to the first page is an article number too."""
    volume = volume or ""
    if "(" in volume or "no pagination" in volume.lower():
        m = _VOLUME_ISSUE.match(volume)
        return norm_issue_span(m.group(1)) if m else None
    span = norm_issue_span(issue)
    if span and first_page.lstrip("abcdefghijklmnopqrstuvwxyz") == str(span[0]):
        return None
    return span


#: issue numbers above this are continuous numbering (The Lancet's 10170) or an article number
#: put in the issue field; a small issue against such a number is two schemes, not a conflict
ISSUE_SCHEME = 100


def issues_conflict(a: tuple[int, int] | None, b: tuple[int, int] | None) -> bool:
    """Two known issues of one numbering scheme that share no number (`1` / `2`, `3-4` / `5`);
    `3` / `3-4` agree, and `3` / `791` (an article number) is not a conflict."""
    if a is None or b is None or (a[1] > ISSUE_SCHEME) != (b[1] > ISSUE_SCHEME):
        return False
    return a[1] < b[0] or b[1] < a[0]


def is_supplement(*values: str) -> bool:
    return any(v and ("suppl" in v.lower() or "meeting" in v.lower()) for v in values)


# ---------------------------------------------------------------------------------------------
# journal

_JOURNAL_STOP = {"the", "of", "and", "in", "for", "on", "de", "la", "le", "der", "und", "des", "et"}
_CONFERENCE = re.compile(
    r"\b(conference|congress|meeting|symposium|abstracts?|proceedings|annual|workshop|summit|"
    r"colloquium|supplement)\b"
)


@lru_cache(maxsize=50_000)
def norm_journal(journal: str) -> tuple[str, bool]:
    """(folded journal without a conference tail or bracketed translation, is-conference).

    `Neurology. Conference: 69th AAN Annual Meeting` → (`neurology`, True).
    """
    text = clean_text(journal)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    conference = False
    m = re.search(r"\.\s*(conference|congress|meeting|symposium)", text, re.IGNORECASE)
    if m:
        text = text[: m.start()]
        conference = True
    key = fold(text.replace("&", " and "))
    if _CONFERENCE.search(fold(journal)):
        conference = True
    return key, conference


@lru_cache(maxsize=50_000)
def journal_tokens(key: str) -> tuple[str, ...]:
    return tuple(t for t in key.split() if t not in _JOURNAL_STOP)


def journals_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """`Curr Opin Lipidol` ~ `Current Opinion in Lipidology`: same number of significant words
    and each abbreviation a prefix of the full word; or the shorter name's words are prefixes of
    the longer name's words in order (dropped sub-titles)."""
    if not a or not b:
        return False
    if a == b:
        return True
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    j = 0
    for token in short:
        while j < len(long_) and not (long_[j].startswith(token) or token.startswith(long_[j])):
            j += 1
        if j == len(long_):
            return False
        j += 1
    return len(short) == len(long_) or len(short) >= 3


# ---------------------------------------------------------------------------------------------
# identifiers

_ISSN = re.compile(r"\b(\d{4})-?(\d{3}[\dXx])\b")


def norm_issns(value: str) -> frozenset[str]:
    """All ISSN/ISBN-like identifiers in an `isbn` field (`0957-9672 (Print)\\r\\n0957-9672`)."""
    if not value:
        return frozenset()
    found = {f"{a}{b.lower()}" for a, b in _ISSN.findall(value)}
    for token in re.findall(r"[\dXx-]{10,17}", value):
        digits = token.replace("-", "").lower()
        if len(digits) in (10, 13):
            found.add(digits)
    return frozenset(found)


def doi_prefix(doi: str) -> str:
    """The registrant prefix of a DOI: `10.1016/j.clineuro.2018.02.003` → `10.1016`."""
    return doi.split("/", 1)[0] if "/" in doi else ""


def dois_conflict(a: str, b: str) -> str:
    """'' when the DOIs agree or one is missing; 'family' when two different DOIs come from the
    same registrant (one publisher does not give one article two DOIs: proof of distinctness);
    'other' when they differ across registrants (often a data-entry error, weaker evidence).

    A DOI that extends the other (`10.1093/eurheartj/ehx502` vs `10.1093/eurheartj/ehx502.P4339`,
    supplement vs abstract) is not a conflict either.
    """
    if not a or not b or a == b or a.startswith(b) or b.startswith(a):
        return ""
    return "family" if doi_prefix(a) == doi_prefix(b) else "other"
