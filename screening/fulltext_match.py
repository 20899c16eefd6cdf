"""Matching uploaded full texts to the records sought for retrieval. Pure: no Django.

    match_files(files, candidates) -> [FileMatch, …]   (one per file, in the files' order)

Each file is tried, in this order, by:
1. a DOI in its metadata or in the text of its first pages (the first DOI there that is a
   candidate's: a paper's own DOI is printed at the top, the DOIs it cites come later);
2. its file name: a candidate's DOI written in it (`10.1000_xyz123.pdf`, "/" and other
   characters a file name cannot hold written "_") or the record's number (`12.pdf`,
   `record-12.pdf`);
3. title similarity (rapidfuzz) between its title metadata, or its first-page text, and the
   record's title, at or above `TITLE_THRESHOLD` (0-100), and clearly better than the next
   record's (else it is ambiguous and left unmatched).
A file matched by none is unmatched. Files matched to the same record are all flagged
`duplicate`: the lead chooses which one to attach.
"""

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PureWindowsPath

from rapidfuzz import fuzz, process

TITLE_THRESHOLD = 90.0
#: A title is only looked for inside page text when it is at least this long (normalised), so
#: a short title is not found in some sentence of another paper.
TEXT_TITLE_MIN_CHARS = 30
#: The best title score must beat the next record's by this much, else the file is ambiguous.
TITLE_MARGIN = 3.0
#: Characters of page text searched for a title (the first page's head).
TITLE_TEXT_CHARS = 2500

DOI = re.compile(r"10\.\d{4,9}/[^\s\"'<>]+", re.IGNORECASE)
RECORD_NUMBER = re.compile(r"^(?:record|rec|r)?[\s_#-]*(\d{1,12})$")


@dataclass(frozen=True)
class PdfFile:
    filename: str
    text: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidate:
    """A record sought for retrieval: its id (the number users see, "Record 12"), its DOI
    (lower case, without a URL prefix, or "") and its title."""

    id: int
    doi: str
    title: str


@dataclass(frozen=True)
class FileMatch:
    filename: str
    record_id: int | None
    method: str = ""  # "doi", "filename", "title" or "" (unmatched)
    score: float = 0.0  # 100 for a DOI or a file name; the title similarity otherwise
    duplicate: bool = False  # another file matched the same record
    note: str = ""


def dois_in(text: str) -> list[str]:
    """The DOIs in `text`, lower case, in order, without trailing punctuation."""
    found = []
    for match in DOI.finditer(text):
        doi = match.group(0).rstrip(".,;:)]}").lower()
        if doi.count("(") < doi.count(")"):
            doi = doi.rstrip(")")
        if doi not in found:
            found.append(doi)
    return found


def normalise(text: str) -> str:
    """Lower case, accents off, anything but letters and digits a single space."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def _filename_key(text: str) -> str:
    return re.sub(r"[^a-z0-9.\-]+", "_", text.lower()).strip("_")


def _stem(filename: str) -> str:
    name = PureWindowsPath(filename).name  # drops "dir/" and "dir\" alike
    return name[:-4] if name.lower().endswith(".pdf") else name


class _Index:
    def __init__(self, candidates: Sequence[Candidate]):
        self.by_id = {c.id: c for c in candidates}
        self.by_doi = {c.doi.lower(): c for c in candidates if c.doi}
        self.by_doi_key = {_filename_key(c.doi): c for c in candidates if c.doi}
        self.titles = {c.id: normalise(c.title) for c in candidates}
        self.long_titles = {
            cid: title for cid, title in self.titles.items() if len(title) >= TEXT_TITLE_MIN_CHARS
        }


def _by_doi(file: PdfFile, index: _Index) -> FileMatch | None:
    keys = sorted(file.metadata, key=lambda key: "doi" not in key.lower())
    sources = [str(file.metadata[key]) for key in keys] + [file.text]
    for doi in dois_in("\n".join(sources)):
        if doi in index.by_doi:
            return FileMatch(file.filename, index.by_doi[doi].id, "doi", 100.0)
    return None


def _by_filename(file: PdfFile, index: _Index) -> FileMatch | None:
    stem = _stem(file.filename)
    key = _filename_key(stem)
    for doi_key, candidate in index.by_doi_key.items():
        at = key.find(doi_key)
        end = at + len(doi_key)
        if at >= 0 and (at == 0 or key[at - 1] == "_") and (end == len(key) or key[end] == "_"):
            return FileMatch(file.filename, candidate.id, "filename", 100.0)
    number = RECORD_NUMBER.match(stem.strip().lower())
    if number and int(number.group(1)) in index.by_id:
        return FileMatch(file.filename, int(number.group(1)), "filename", 100.0)
    return None


def _best(query: str, choices: Mapping[int, str], scorer) -> tuple[int | None, float, str]:
    found = process.extract(query, choices, scorer=scorer, limit=2, score_cutoff=TITLE_THRESHOLD)
    if not found:
        return None, 0.0, ""
    (_, score, record_id), *rest = found
    if rest and score - rest[0][1] < TITLE_MARGIN:
        return None, 0.0, f"ambiguous: records {record_id} and {rest[0][2]} have similar titles"
    return record_id, float(score), ""


def _by_title(file: PdfFile, index: _Index) -> FileMatch | None:
    notes = []
    title = normalise(str(file.metadata.get("Title", "")))
    if title:
        record_id, score, note = _best(title, index.titles, fuzz.token_sort_ratio)
        if record_id is not None:
            return FileMatch(file.filename, record_id, "title", round(score, 1))
        notes.append(note)
    text = normalise(file.text[:TITLE_TEXT_CHARS])
    if text:
        record_id, score, note = _best(text, index.long_titles, fuzz.partial_ratio)
        if record_id is not None:
            return FileMatch(file.filename, record_id, "title", round(score, 1))
        notes.append(note)
    note = next((n for n in notes if n), "")
    return FileMatch(file.filename, None, note=note) if note else None


def match_one(file: PdfFile, index: _Index) -> FileMatch:
    for method in (_by_doi, _by_filename, _by_title):
        match = method(file, index)
        if match is not None:
            return match
    return FileMatch(file.filename, None)


def match_files(files: Sequence[PdfFile], candidates: Sequence[Candidate]) -> list[FileMatch]:
    """One `FileMatch` per file, in order; files matched to the same record flagged."""
    index = _Index(candidates)
    matches = [match_one(file, index) for file in files]
    counts = Counter(m.record_id for m in matches if m.record_id is not None)
    return [
        FileMatch(m.filename, m.record_id, m.method, m.score, duplicate=True, note=m.note)
        if counts.get(m.record_id, 0) > 1
        else m
        for m in matches
    ]
