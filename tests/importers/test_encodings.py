"""The same content in every encoding and line-ending style parses to the same records."""

import codecs

import pytest

from review.importers import parse
from review.importers.encoding import decode

RIS = (
    "TY  - JOUR\nTI  - Étude de l’effet du café — “naïve” patients\nAU  - Müller, Jörg\n"
    "AU  - Núñez, Zoë\nPY  - 2020\nAB  - Résumé: 5 µg/kg… ± 2 °C\nER  - \n\n"
    "TY  - JOUR\nTI  - Second\nPY  - 2021\nER  - \n"
)
CSV = 'Title,Authors,Year\n"Étude de l’effet du café","Müller, Jörg; Núñez, Zoë",2020\n'


def _variants(text: str, cp1252_ok: bool = True):
    out = {
        "utf-8": text.encode("utf-8"),
        "utf-8-sig": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf-16-le": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "utf-16-be": codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
        "crlf": text.replace("\n", "\r\n").encode("utf-8"),
        "cr": text.replace("\n", "\r").encode("utf-8"),
    }
    if cp1252_ok:
        out["cp1252"] = text.encode("cp1252")
    return out


@pytest.mark.parametrize("fmt", ["ris", "csv"])
def test_same_records_in_every_encoding(fmt):
    text = RIS if fmt == "ris" else CSV
    variants = _variants(text)
    results = {name: parse(data, f"x.{fmt}") for name, data in variants.items()}
    reference = [r.as_fields() for r in results["utf-8"].records]
    assert reference
    for name, result in results.items():
        assert result.problems == [], name
        assert [r.as_fields() for r in result.records] == reference, name
        assert [r.line for r in result.records] == [r.line for r in results["utf-8"].records]
    assert {name: r.encoding for name, r in results.items()} == {
        "utf-8": "utf-8",
        "utf-8-sig": "utf-8-sig",
        "utf-16-le": "utf-16-le",
        "utf-16-be": "utf-16-be",
        "crlf": "utf-8",
        "cr": "utf-8",
        "cp1252": "cp1252",
    }


def test_utf16_without_bom_is_recognised():
    text, encoding, problems = decode(RIS.encode("utf-16-le"), "x.ris")
    assert (text, encoding, problems) == (RIS, "utf-16-le", [])


def test_latin1_bytes_undefined_in_cp1252_do_not_crash():
    text, encoding, _ = decode(b"Title\nCaf\xe9 \x81 \x9d\n", "x.csv")
    assert encoding == "cp1252"
    assert text == "Title\nCafé \x81 \x9d\n"


def test_records_are_identical_in_utf16_xml():
    from tests.importers.conftest import read

    utf8 = read("endnote.xml")
    utf16 = utf8.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    a = parse(utf8, "e.xml")
    b = parse(utf16, "e.xml")
    assert [r.as_fields() for r in a.records] == [r.as_fields() for r in b.records]
    assert b.encoding == "utf-16"
