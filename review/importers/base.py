"""The plain data types every importer returns, and the shared record-finishing logic.

Pure Python: nothing here (or anywhere in this package) may import Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from review.importers import normalise

FORMATS = (
    "ris",
    "bibtex",
    "medline",
    "pubmed_xml",
    "endnote_xml",
    "wos",
    "csv",
    "excel",
    "endnote_tagged",
    "proquest",
)

FORMAT_NAMES = {
    "ris": "RIS",
    "bibtex": "BibTeX",
    "medline": "PubMed MEDLINE",
    "pubmed_xml": "PubMed XML",
    "endnote_xml": "EndNote XML",
    "wos": "Web of Science",
    "csv": "CSV",
    "excel": "Excel",
    "endnote_tagged": "EndNote tagged (%0/%T)",
    "proquest": "ProQuest plain text",
}

ERROR = "error"
WARNING = "warning"

#: Record fields that hold text (checked against ``max_field_chars``).
TEXT_FIELDS = (
    "title",
    "abstract",
    "journal",
    "volume",
    "issue",
    "pages",
    "doi",
    "pmid",
    "url",
    "language",
)
LIST_FIELDS = ("authors", "keywords")


@dataclass(slots=True)
class ParsedRecord:
    """One bibliographic record; field names are those of the Django ``Record`` model."""

    title: str = ""
    abstract: str = ""
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    journal: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    doi: str = ""
    pmid: str = ""
    url: str = ""
    keywords: list[str] = field(default_factory=list)
    language: str = ""
    raw: dict = field(default_factory=dict)
    line: int = 0
    #: the entry's number in the file (1, 2, …), counting entries that could not be imported
    position: int = 0

    def as_fields(self) -> dict:
        """Every field except ``line`` and ``position``, ready for ``Record(**fields)``."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _PLACE_FIELDS}


_PLACE_FIELDS = ("line", "position")


@dataclass(frozen=True, slots=True)
class Problem:
    """Something the user should be told about. ``error`` means: do not import the file."""

    line: int | None
    message: str
    severity: str

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def describe(self, filename: str) -> str:
        """The message prefixed with the file name, e.g. for a log or a flash message."""
        return f"{filename}: {self.message}"


@dataclass
class ParseResult:
    format: str
    encoding: str
    records: list[ParsedRecord]
    problems: list[Problem]
    column_mapping: dict[str, str] | None = None
    filename: str = ""
    #: CSV/Excel only: every column header in file order (also when no title column was found).
    headers: list[str] | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when the records may be written (no error problems)."""
        return not any(p.severity == ERROR for p in self.problems)


class ImportFileError(ValueError):
    """The file cannot be read at all (empty, binary, unknown format, unsafe or broken XML…)."""

    def __init__(self, filename: str, message: str, line: int | None = None):
        self.filename = filename
        self.message = message
        self.line = line
        where = f"{filename}, line {line}" if line else filename
        super().__init__(f"{where}: {message}")


class Context:
    """Collects problems for one file and turns field dicts into ``ParsedRecord``s.

    ``unit`` is how an entry is named in messages: "Entry starting at line" for text formats,
    "Row" for CSV/Excel.
    """

    def __init__(
        self,
        filename: str,
        max_field_chars: int,
        *,
        unit: str = "Entry starting at line",
        strict: bool = False,
    ):
        self.filename = filename
        self.max_field_chars = max_field_chars
        self.unit = unit
        #: A record without a title fails the file (strict) or is left out with a warning.
        self.strict = strict
        #: Entries handed to ``add``/``build`` so far, kept or not: the next one's number.
        self.entries = 0
        self.untitled = 0
        self.column_override: dict[str, str] | None = None
        self.headers: list[str] | None = None
        self.problems: list[Problem] = []
        self.records: list[ParsedRecord] = []

    # -- problems -----------------------------------------------------------------------
    def error(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(line, message, ERROR))

    def warning(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(line, message, WARNING))

    def where(self, line: int) -> str:
        return f"{self.unit} {line}"

    # -- records --------------------------------------------------------------------------
    def add(
        self, values: dict, line: int, raw: dict, where: str | None = None
    ) -> ParsedRecord | None:
        """Normalise ``values`` (Record field -> str or list[str]) into a record and keep it.

        Returns None (and records a problem) when the entry cannot be imported. ``where`` names
        the entry in messages when its line is not enough (one-line XML: "Record 2 (/xml/…,
        line 1, byte 1043)"); by default "Entry starting at line 7" or "Row 9".
        """
        record = self.build(values, line, raw, where)
        if record is not None:
            record.position = self.entries
            self.records.append(record)
        return record

    def build(
        self, values: dict, line: int, raw: dict, where: str | None = None
    ) -> ParsedRecord | None:
        self.entries += 1
        number = self.entries
        position = where or f"{self.where(line)} (record {number})"
        where = where or self.where(line)
        limit = self.max_field_chars
        ok = True
        for name, value in values.items():
            size = sum(len(v) for v in value) if isinstance(value, list) else len(value or "")
            if size > limit:
                self.error(
                    line,
                    f"{where}: the {name} field has {size:,} characters, more than the limit "
                    f"of {limit:,}; the file was not imported.",
                )
                ok = False
        if not ok:
            return None

        title = normalise.collapse(values.get("title", ""))
        if not title:
            self.untitled += 1
            if self.strict:
                self.error(
                    line,
                    f"{position} has no title; in strict mode a file with a title-less record "
                    "is not imported.",
                )
            else:
                self.warning(line, f"{position} has no title; it was left out.")
            return None

        year = None
        year_text = (values.get("year") or "").strip()
        if year_text:
            year, reason = normalise.parse_year(year_text)
            if reason:
                self.warning(line, f"{where}: {reason}; the year was left empty.")

        doi_text = (values.get("doi") or "").strip()
        doi = ""
        if doi_text:
            doi = normalise.doi(doi_text)
            if not doi:
                self.warning(
                    line, f"{where}: {doi_text[:80]!r} is not a DOI; the DOI was left empty."
                )

        pmid_text = (values.get("pmid") or "").strip()
        pmid = normalise.pmid(pmid_text) if pmid_text else ""
        if pmid_text and not pmid:
            self.warning(
                line, f"{where}: {pmid_text[:40]!r} is not a PubMed ID; the PMID was left empty."
            )

        return ParsedRecord(
            title=title,
            abstract=(values.get("abstract") or "").strip(),
            authors=normalise.clean_names(values.get("authors") or []),
            year=year,
            journal=normalise.collapse(values.get("journal", "")),
            volume=(values.get("volume") or "").strip(),
            issue=(values.get("issue") or "").strip(),
            pages=(values.get("pages") or "").strip(),
            doi=doi,
            pmid=pmid,
            url=(values.get("url") or "").strip(),
            keywords=normalise.clean_list(values.get("keywords") or []),
            language=(values.get("language") or "").strip(),
            raw=raw,
            line=line,
        )

    def result(self, fmt: str, encoding: str, column_mapping: dict | None = None) -> ParseResult:
        if not self.records and not any(p.severity == ERROR for p in self.problems):
            if self.untitled:
                self.error(
                    None,
                    f"None of the {self.untitled:,} records in the file has a title, so none "
                    "can be imported.",
                )
            else:
                self.error(
                    1,
                    f"Line 1: no {FORMAT_NAMES.get(fmt, fmt)} records were found in the file; "
                    "is it the right file and format?",
                )
        return ParseResult(
            format=fmt,
            encoding=encoding,
            records=self.records,
            problems=self.problems,
            column_mapping=column_mapping,
            filename=self.filename,
            headers=self.headers,
        )


def first_value(entry: dict[str, list[str]], *tags: str) -> str:
    """The first non-empty value among `tags` of a tagged entry (RIS, MEDLINE, WoS)."""
    for tag in tags:
        for value in entry.get(tag, ()):
            if value:
                return value
    return ""


def warn_stray_lines(ctx, first: int, last: int, what: str) -> None:
    """Warn that lines `first`..`last` were ignored, saying what they were not."""
    where = f"Line {first}" if first == last else f"Lines {first}-{last}"
    ctx.warning(first, f"{where}: {what} was ignored.")


def skip_untitled(ctx: Context, title: str, line: int, position: str) -> bool:
    """True, after a warning naming `position`, when a record has no title and is left out.
    With a true ``ctx.strict`` it returns False, and ``ctx.add`` refuses the record as an error."""
    if normalise.collapse(title) or getattr(ctx, "strict", False):
        return False
    ctx.warning(line, f"{position} has no title; it was left out and the other records imported.")
    ctx.entries += 1  # it keeps its number: the next records' positions do not shift
    return True
