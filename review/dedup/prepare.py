"""Turn `DedupRecord`s into the normalised form that blocking and the rules compare."""

from __future__ import annotations

import html
from urllib.parse import unquote

from review.keys import normalise_doi, normalise_pmid

from .normalise import (
    author_key,
    demojibake,
    doi_prefix,
    is_supplement,
    journal_tokens,
    norm_issns,
    norm_issue,
    norm_journal,
    norm_pages,
    norm_title,
    norm_volume,
    notice_kind,
    record_issue,
    split_authors,
)
from .records import DedupRecord

#: authors beyond this many are not compared (consortium lists run to hundreds)
MAX_AUTHORS = 30

_DOI_TAILS = ("/pdf", "/full", "/abstract", "/epdf", "/fulltext", "/html", "/suppinfo")


def clean_doi(value: str) -> str:
    """`normalise_doi` plus URL-decoding (`%2528` → `(`) and publisher-link tails (`/pdf`)."""
    doi = normalise_doi(html.unescape(value) if value and "&" in value else value)
    for _ in range(3):
        if "%" not in doi:
            break
        doi = normalise_doi(unquote(doi))
    for tail in _DOI_TAILS:
        if doi.endswith(tail):
            doi = doi[: -len(tail)]
    if "(issn)" in doi:  # a journal's DOI, not an article's
        return ""
    return doi


_PUNCT = str.maketrans({c: " " for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\r\n\t"})


def quick_fold(text: str) -> str:
    """A cheap `fold` for long text (abstracts): lower case, ASCII punctuation as spaces."""
    return " ".join(text.lower().translate(_PUNCT).split())


class Prepared:
    """Normalised fields of one record (index = position in the combined input)."""

    __slots__ = (
        "abstract",
        "authors",
        "conference",
        "doi",
        "doi_prefix",
        "first_author",
        "id",
        "idx",
        "issns",
        "issue",
        "issue_span",
        "journal",
        "journal_toks",
        "notice",
        "pend",
        "pmid",
        "pstart",
        "rec",
        "surnames",
        "title",
        "title_flat",
        "tokens",
        "volume",
        "year",
    )

    def __init__(self, idx: int, rec: DedupRecord):
        self.idx = idx
        self.id = rec.id
        self.title = norm_title(rec.title)
        self.title_flat = self.title.replace(" ", "")
        self.tokens = tuple(dict.fromkeys(t for t in self.title.split() if len(t) > 2))
        self.notice = notice_kind(self.title)
        names = rec.authors
        if len(names) == 1 and ("." in names[0] or ";" in names[0]):
            names = tuple(split_authors(names[0])) or names
        keys = [author_key(demojibake(n)) for n in names[:MAX_AUTHORS]]
        self.authors = tuple(k for k in keys if k[0])
        self.surnames = frozenset(k[0] for k in self.authors)
        self.first_author = self.authors[0][0] if self.authors else ""
        self.year = rec.year if isinstance(rec.year, int) and 1000 < rec.year < 3000 else None
        jkey, conference = norm_journal(rec.journal)
        self.journal = jkey
        self.journal_toks = journal_tokens(jkey)
        self.conference = conference or is_supplement(rec.volume, rec.issue)
        self.volume = norm_volume(rec.volume)
        self.issue = norm_issue(rec.issue)
        self.pstart, self.pend = norm_pages(rec.pages)
        self.issue_span = (
            None if self.conference else record_issue(rec.volume, rec.issue, self.pstart)
        )
        self.doi = clean_doi(rec.doi)
        self.doi_prefix = doi_prefix(self.doi)
        self.pmid = normalise_pmid(rec.pmid) if rec.pmid else ""
        self.abstract = quick_fold(rec.abstract[:700])[:600] if rec.abstract else ""
        self.issns = norm_issns(rec.isbn)
        self.rec = rec

    @property
    def completeness(self) -> tuple:
        """Sort key parts for choosing a primary: abstract, DOI, fields filled, abstract length."""
        rec = self.rec
        filled = (
            rec.title, rec.authors, rec.year, rec.journal, rec.volume, rec.issue, rec.pages,
            self.pmid, rec.isbn,
        )  # fmt: skip
        return (int(bool(rec.abstract)), int(bool(self.doi)), sum(map(bool, filled)),
                len(rec.abstract or ""))  # fmt: skip
