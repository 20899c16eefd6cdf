"""PubMed XML (PubmedArticleSet, from PubMed "Save → XML" or E-utilities efetch)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from review.importers import normalise
from review.importers.base import Context
from review.importers.xmlsafe import Position, stream_records, text_of, to_string

RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle")


def parse_bytes(data: bytes, ctx: Context) -> str:
    def on_record(element: ET.Element, position: Position) -> None:
        if element.tag == "PubmedBookArticle":
            _book(element, position, ctx)
        else:
            _article(element, position, ctx)

    encoding, root = stream_records(data, ctx.filename, RECORD_TAGS, on_record)
    if root not in (None, "PubmedArticleSet", *RECORD_TAGS):
        ctx.warning(1, f"Line 1: the root element is <{root}>, not <PubmedArticleSet>.")
    return encoding


def _authors(author_list: ET.Element | None) -> list[str]:
    names: list[str] = []
    if author_list is None:
        return names
    for author in author_list.findall("Author"):
        collective = text_of(author.find("CollectiveName"))
        if collective:
            names.append(collective)
            continue
        last = text_of(author.find("LastName"))
        given = text_of(author.find("ForeName")) or text_of(author.find("Initials"))
        if last:
            names.append(f"{last}, {given}" if given else last)
    return names


def _abstract(abstract: ET.Element | None) -> str:
    if abstract is None:
        return ""
    parts = []
    for part in abstract.findall("AbstractText"):
        text = normalise.collapse(text_of(part))  # tabs and line breaks, as in other fields
        label = part.get("Label")
        if text:
            parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


def _year(pub_date: ET.Element | None) -> str:
    if pub_date is None:
        return ""
    return text_of(pub_date.find("Year")) or text_of(pub_date.find("MedlineDate"))


def _article_ids(element: ET.Element) -> dict[str, str]:
    ids: dict[str, str] = {}
    for article_id in element.iterfind("PubmedData/ArticleIdList/ArticleId"):
        kind = article_id.get("IdType", "")
        if kind and kind not in ids:
            ids[kind] = text_of(article_id)
    return ids


def _keywords(citation: ET.Element) -> list[str]:
    words = [text_of(d) for d in citation.iterfind("MeshHeadingList/MeshHeading/DescriptorName")]
    words += [text_of(k) for k in citation.iterfind("KeywordList/Keyword")]
    return words


def _article(element: ET.Element, position: Position, ctx: Context) -> None:
    citation = element.find("MedlineCitation")
    if citation is None:
        citation = ET.Element("MedlineCitation")
    article = citation.find("Article")
    if article is None:
        article = ET.Element("Article")
    journal = article.find("Journal")
    if journal is None:
        journal = ET.Element("Journal")
    issue = journal.find("JournalIssue")
    ids = _article_ids(element)
    doi = ids.get("doi", "")
    if not doi:
        for location in article.findall("ELocationID"):
            if location.get("EIdType") == "doi":
                doi = text_of(location)
                break
    year = _year(issue.find("PubDate") if issue is not None else None)
    if not year:
        year = text_of(article.find("ArticleDate/Year"))
    ctx.add(
        {
            "title": text_of(article.find("ArticleTitle"))
            or text_of(article.find("VernacularTitle")),
            "abstract": _abstract(article.find("Abstract")),
            "authors": _authors(article.find("AuthorList")),
            "year": year,
            "journal": text_of(journal.find("Title")) or text_of(journal.find("ISOAbbreviation")),
            "volume": text_of(issue.find("Volume")) if issue is not None else "",
            "issue": text_of(issue.find("Issue")) if issue is not None else "",
            "pages": text_of(article.find("Pagination/MedlinePgn"))
            or _start_end(article.find("Pagination")),
            "doi": doi,
            "pmid": text_of(citation.find("PMID")) or ids.get("pubmed", ""),
            "keywords": _keywords(citation),
            "language": text_of(article.find("Language")),
        },
        position.line,
        {"xml": to_string(element)},
        position.describe(ctx.entries + 1),
    )


def _start_end(pagination: ET.Element | None) -> str:
    if pagination is None:
        return ""
    start = text_of(pagination.find("StartPage"))
    end = text_of(pagination.find("EndPage"))
    return f"{start}-{end}" if start and end else start


def _book(element: ET.Element, position: Position, ctx: Context) -> None:
    document = element.find("BookDocument")
    if document is None:
        document = ET.Element("BookDocument")
    book = document.find("Book")
    if book is None:
        book = ET.Element("Book")
    ids = {
        a.get("IdType", ""): text_of(a)
        for a in element.iterfind("PubmedBookData/ArticleIdList/ArticleId")
    }
    ctx.add(
        {
            "title": text_of(document.find("ArticleTitle")) or text_of(book.find("BookTitle")),
            "abstract": _abstract(document.find("Abstract")),
            "authors": _authors(document.find("AuthorList")) or _authors(book.find("AuthorList")),
            "year": _year(book.find("PubDate")),
            "journal": text_of(book.find("BookTitle")),
            "doi": ids.get("doi", ""),
            "pmid": text_of(document.find("PMID")) or ids.get("pubmed", ""),
            "keywords": [text_of(k) for k in document.iterfind("KeywordList/Keyword")],
            "language": text_of(document.find("Language")),
        },
        position.line,
        {"xml": to_string(element)},
        position.describe(ctx.entries + 1),
    )
