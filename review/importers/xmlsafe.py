"""Streaming, attack-safe XML reading shared by the PubMed and EndNote XML importers.

defusedxml's parser refuses entity declarations (billion laughs, external entities) the
moment it meets them, before anything is expanded. We also refuse any internal DTD subset.
A DOCTYPE line that only names an external DTD (every PubMed download has one) is allowed:
the DTD is never fetched or read.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from xml.parsers import expat

from defusedxml import (
    DefusedXmlException,
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import DefusedXMLParser

from review.importers.base import ImportFileError

CHUNK = 1 << 16


class _Parser(DefusedXMLParser):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.parser.StartDoctypeDeclHandler = self.defused_start_doctype_decl

    def defused_start_doctype_decl(self, name, sysid, pubid, has_internal_subset):
        if has_internal_subset:
            raise DTDForbidden(name, sysid, pubid)


@dataclass(frozen=True, slots=True)
class Position:
    """Where a record element starts: its line, its byte offset in the file, and its element
    path (``/xml/records/record[2]``). The line alone says little in one-line XML (EndNote)."""

    line: int
    byte: int
    path: str

    def describe(self, number: int) -> str:
        """``Record 2 (/xml/records/record[2], line 1, byte 1043)``: names the record in a
        message, with its number in the file (title-less records counted)."""
        return f"Record {number} ({self.path}, line {self.line}, byte {self.byte})"


class _Target:
    """Builds only the elements inside each ``record_tag`` and hands each one over when it ends,
    with its ``Position``. Outside records it keeps the element path (tag and sibling number)."""

    def __init__(
        self, record_tags: Iterable[str], on_record: Callable[[ET.Element, Position], None]
    ):
        self.record_tags = frozenset(record_tags)
        self.on_record = on_record
        self.builder: ET.TreeBuilder | None = None
        self.depth = 0
        self.position: Position | None = None
        self.parser: _Parser | None = None
        self.root_tag: str | None = None
        # The open elements outside any record: (path step, {child tag: how many so far}).
        self.stack: list[tuple[str, dict[str, int]]] = [("", {})]

    def start(self, tag, attrs):
        if self.root_tag is None:
            self.root_tag = tag
        if self.builder is None:
            siblings = self.stack[-1][1]
            number = siblings[tag] = siblings.get(tag, 0) + 1
            if tag not in self.record_tags:
                self.stack.append((tag if number == 1 else f"{tag}[{number}]", {}))
                return
            expat_parser = self.parser.parser
            path = "/".join(step for step, _ in self.stack)
            self.position = Position(
                expat_parser.CurrentLineNumber,
                expat_parser.CurrentByteIndex,
                f"{path}/{tag}[{number}]",
            )
            self.builder = ET.TreeBuilder()
            self.depth = 0
        self.depth += 1
        self.builder.start(tag, attrs)

    def end(self, tag):
        if self.builder is None:
            if len(self.stack) > 1:
                self.stack.pop()
            return
        self.builder.end(tag)
        self.depth -= 1
        if self.depth == 0:
            element = self.builder.close()
            self.builder = None
            self.on_record(element, self.position)

    def data(self, text):
        if self.builder is not None:
            self.builder.data(text)

    def close(self):
        return None


def stream_records(
    data: bytes,
    filename: str,
    record_tags: Iterable[str],
    on_record: Callable[[ET.Element, Position], None],
) -> tuple[str, str | None]:
    """Feed ``data`` through the safe parser, calling ``on_record(element, position)``.

    Returns (encoding declared or "utf-8", root tag). Raises ImportFileError for malformed or
    unsafe XML.
    """
    target = _Target(record_tags, on_record)
    parser = _Parser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    target.parser = parser
    encoding = {"value": "utf-8"}

    def xml_decl(version, enc, standalone):
        if enc:
            encoding["value"] = enc.lower()

    parser.parser.XmlDeclHandler = xml_decl
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding["value"] = "utf-16"
    try:
        for start in range(0, len(data), CHUNK):
            parser.feed(data[start : start + CHUNK])
        parser.close()
    except EntitiesForbidden:
        raise ImportFileError(
            filename,
            "the XML declares entities (<!ENTITY …>), which is how 'billion laughs' and "
            "external-entity attacks work; the file was refused without reading it. "
            "Export the file again from the database.",
            _line(parser),
        ) from None
    except (DTDForbidden, ExternalReferenceForbidden):
        raise ImportFileError(
            filename,
            "the XML contains a DTD with declarations (<!DOCTYPE … [ … ]>); entity "
            "declarations there are how 'billion laughs' and external-entity attacks work, so "
            "the file was refused without expanding anything. Export it again from the database.",
            _line(parser),
        ) from None
    except DefusedXmlException as exc:
        raise ImportFileError(filename, f"the XML was refused as unsafe ({exc}).") from None
    except (ET.ParseError, expat.ExpatError) as exc:
        line = getattr(exc, "position", (None,))[0] or _line(parser)
        reason = str(exc).split(":", 1)[0]
        raise ImportFileError(filename, f"the XML is not well-formed ({reason}).", line) from None
    return encoding["value"], target.root_tag


def _line(parser: _Parser) -> int | None:
    try:
        return parser.parser.CurrentLineNumber
    except AttributeError:
        return None


def text_of(element: ET.Element | None) -> str:
    """All the text inside ``element`` (inline markup such as <i> or <style> flattened)."""
    if element is None:
        return ""
    return "".join(element.itertext()).strip()


def to_string(element: ET.Element) -> str:
    return ET.tostring(element, encoding="unicode")
