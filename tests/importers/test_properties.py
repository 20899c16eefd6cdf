"""Property tests: round trips through small writers, and robustness on arbitrary bytes."""

import csv
import io

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from review.importers import FORMATS, ImportFileError, ParseResult, parse
from review.importers.normalise import collapse
from tests.importers.conftest import DATA, read

LETTERS = "abcdefghijklmnopqrstuvwxyzéèüößçñåø"
TEXT_CHARS = LETTERS + LETTERS.upper() + "0123456789 .,:()-'?!/\"&%+=αβγ–—’“”"


def words(min_size=1, max_size=80, alphabet=TEXT_CHARS):
    return (
        st.text(alphabet=alphabet, min_size=min_size, max_size=max_size)
        .map(collapse)
        .filter(lambda s: len(s) >= min_size)
    )


name_part = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZÉÖÅ"),
    st.text(alphabet=LETTERS, min_size=1, max_size=10),
)
author = st.builds(lambda family, given: f"{family}, {given}", name_part, name_part)

records = st.fixed_dictionaries(
    {
        "title": words(),
        "abstract": words(0, 400),
        "authors": st.lists(author, max_size=5, unique=True),
        "year": st.none() | st.integers(1000, 2999),
        "journal": words(0, 40),
        "volume": st.from_regex(r"\A[0-9]{0,3}\Z"),
        "issue": st.from_regex(r"\A[0-9]{0,2}\Z"),
        "pages": st.from_regex(r"\A([0-9]{1,4}(-[0-9]{1,4})?)?\Z"),
        "doi": st.from_regex(r"\A(10\.[0-9]{4,6}/[a-z0-9.\-]{0,19}[a-z0-9])?\Z"),
        "keywords": st.lists(words(1, 20, alphabet=LETTERS + " -"), max_size=4, unique=True),
    }
)


def write_ris(items) -> str:
    out = []
    for item in items:
        out.append("TY  - JOUR")
        out.append(f"TI  - {item['title']}")
        out += [f"AU  - {a}" for a in item["authors"]]
        if item["year"] is not None:
            out.append(f"PY  - {item['year']}///")
        for tag, key in (
            ("AB", "abstract"),
            ("JO", "journal"),
            ("VL", "volume"),
            ("IS", "issue"),
            ("SP", "pages"),
            ("DO", "doi"),
        ):
            if item[key]:
                out.append(f"{tag}  - {item[key]}")
        out += [f"KW  - {k}" for k in item["keywords"]]
        out += ["ER  - ", ""]
    return "\n".join(out)


def _wrap(tag: str, value: str) -> list[str]:
    lines, current = [], ""
    for word in value.split(" "):
        if current and len(current) + len(word) > 70:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    lines.append(current)
    return [f"{tag:<4}- {lines[0]}"] + [f"      {line}" for line in lines[1:]]


def write_medline(items) -> str:
    out = []
    for number, item in enumerate(items, start=1):
        out.append(f"PMID- {number}")
        out += _wrap("TI", item["title"])
        if item["abstract"]:
            out += _wrap("AB", item["abstract"])
        out += [f"FAU - {a}" for a in item["authors"]]
        if item["year"] is not None:
            out.append(f"DP  - {item['year']} Jan 5")
        for tag, key in (("JT", "journal"), ("VI", "volume"), ("IP", "issue"), ("PG", "pages")):
            if item[key]:
                out.append(f"{tag:<4}- {item[key]}")
        if item["doi"]:
            out.append(f"LID - {item['doi']} [doi]")
        out += [f"OT  - {k}" for k in item["keywords"]]
        out.append("")
    return "\n".join(out)


def write_csv(items) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "Title",
            "Abstract",
            "Authors",
            "Year",
            "Source title",
            "Volume",
            "Issue",
            "Pages",
            "DOI",
            "Author Keywords",
        ]
    )
    for item in items:
        writer.writerow(
            [
                item["title"],
                item["abstract"],
                "; ".join(item["authors"]),
                "" if item["year"] is None else item["year"],
                item["journal"],
                item["volume"],
                item["issue"],
                item["pages"],
                item["doi"],
                "; ".join(item["keywords"]),
            ]
        )
    return buffer.getvalue()


def comparable(record) -> dict:
    fields = record.as_fields()
    fields.pop("raw")
    fields.pop("pmid")
    fields.pop("url")
    fields.pop("language")
    return fields


WRITERS = {"ris": write_ris, "medline": write_medline, "csv": write_csv}


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(records, min_size=1, max_size=5), fmt=st.sampled_from(sorted(WRITERS)))
def test_round_trip(items, fmt):
    text = WRITERS[fmt](items)
    result = parse(text.encode("utf-8"), f"export.{ {'medline': 'nbib'}.get(fmt, fmt) }")
    assert result.format == fmt
    assert result.problems == []
    assert [comparable(r) for r in result.records] == items
    lines = text.count("\n") + 1
    assert all(1 <= r.line <= lines for r in result.records)
    assert [r.line for r in result.records] == sorted(r.line for r in result.records)


def _check(result: ParseResult, data: bytes):
    assert result.format in FORMATS
    lines = max(data.count(b"\n"), data.count(b"\r"), data.count(b"\n\x00")) + 1
    for record in result.records:
        assert 1 <= record.line <= lines
        assert record.title
    for problem in result.problems:
        assert problem.severity in ("error", "warning")
        assert problem.line is None or 1 <= problem.line <= lines, problem
        assert problem.message


SAMPLES = [
    read(name)
    for name in (
        "scopus.ris",
        "pubmed.nbib",
        "wos.txt",
        "zotero.bib",
        "scopus.csv",
        "pubmed.xml",
        "endnote.xml",
    )
] + [
    (DATA.parent.parent / "data" / "importers" / name).read_bytes()
    for name in ("endnote_tagged.txt", "proquest.txt", "springer.csv", "embase.csv")
]


@st.composite
def mutated_sample(draw):
    data = bytearray(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 50))]
        else:
            del data[position:]
    return bytes(data)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=600) | mutated_sample() | st.text(max_size=300).map(str.encode),
    fmt=st.none() | st.sampled_from(FORMATS),
    name=st.sampled_from(["x.ris", "x.txt", "x.csv", "x.xml", "x.bib", "x.nbib", "x.xlsx", "x"]),
)
@example(data=b"\x80", fmt=None, name="x.csv")
@example(data=b"TY  - ", fmt=None, name="x.ris")
@example(data=b"@article{", fmt="bibtex", name="x.bib")
@example(data=b'"', fmt="csv", name="x.csv")
def test_parse_never_raises_anything_but_import_file_error(data, fmt, name):
    try:
        result = parse(data, name, fmt)
    except ImportFileError as exc:
        assert str(exc).startswith(name)
        return
    _check(result, data)
