"""Decode uploaded bytes to text, recognising binary files and mixed encodings."""

from __future__ import annotations

import codecs
import re

from review.importers.base import ImportFileError, Problem

#: Magic numbers of binary files people upload by mistake (first bytes → a description).
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Excel/Word file)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office file (.xls/.doc)"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# Control characters that never appear in a text export (everything below 0x20 except
# tab, line feed, form feed and carriage return, plus DEL).
_CONTROL = frozenset(set(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F})


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    # cp1252 leaves 0x81, 0x8D, 0x8F, 0x90 and 0x9D undefined; read them as Latin-1.
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("importers-latin1", _latin1_fallback)


def binary_kind(data: bytes) -> str | None:
    """A description such as "a PNG image" when ``data`` is clearly not a text file."""
    for magic, description in _MAGIC:
        if data.startswith(magic):
            return description
    return None


def _utf16_without_bom(sample: bytes) -> str | None:
    if len(sample) < 4:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    half = len(sample) / 2
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        return "utf-16-le"
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        return "utf-16-be"
    return None


def _looks_binary(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b in _CONTROL)
    return controls > max(2, len(sample) // 100)


def normalise_newlines(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def decode(data: bytes, filename: str) -> tuple[str, str, list[Problem]]:
    """Return (text with "\\n" line ends and no BOM, encoding name, problems).

    Raises ImportFileError for empty or binary files.
    """
    if not data or not data.strip():
        raise ImportFileError(filename, "the file is empty.")
    kind = binary_kind(data)
    if kind:
        raise ImportFileError(filename, f"this is not a text export: it looks like {kind}.")

    problems: list[Problem] = []
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n" if codec == "utf-8-sig" else b"\n\x00") + 1
                raise ImportFileError(
                    filename,
                    f"the file starts with a {codec} byte-order mark but is not valid "
                    f"{codec} text.",
                    line,
                ) from None
            name = {"utf-8-sig": "utf-8-sig"}.get(
                codec, f"{codec}-{'le' if bom[0] == 0xFF else 'be'}"
            )
            return _finish(text, filename), name, problems

    utf16 = _utf16_without_bom(data[:4096])
    if utf16:
        try:
            return _finish(data.decode(utf16), filename), utf16, problems
        except UnicodeDecodeError:
            pass

    if _looks_binary(data):
        raise ImportFileError(
            filename, "this is not a text export: it contains binary data (control bytes)."
        )

    try:
        return _finish(data.decode("utf-8"), filename), "utf-8", problems
    except UnicodeDecodeError as exc:
        first_bad = exc.start

    # GBK/GB18030, as Chinese databases (CNKI, Wanfang, VIP) export: before the UTF-8 test
    # below, which a GBK file passes by accident (many GBK pairs are also UTF-8 sequences).
    if _looks_gbk(data):
        try:
            return _finish(data.decode("gb18030"), filename), "gb18030", problems
        except UnicodeDecodeError:
            pass

    # Is it mostly UTF-8 with a few stray single-byte characters, or a single-byte file?
    has_utf8_sequences = _has_valid_utf8_multibyte(data)
    if not has_utf8_sequences:
        text = data.decode("cp1252", errors="importers-latin1")
        return _finish(text, filename), "cp1252", problems

    lines = data.split(b"\n")
    out: list[str] = []
    bad_lines: list[int] = []
    first_bad_line = data[:first_bad].count(b"\n") + 1
    for number, raw_line in enumerate(lines, start=1):
        if number < first_bad_line:
            out.append(raw_line.decode("utf-8"))
            continue
        try:
            out.append(raw_line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(raw_line.decode("cp1252", errors="importers-latin1"))
            bad_lines.append(number)
    others = len(bad_lines) - 1
    more = f" and {others} other line{'s' if others != 1 else ''} are" if others else " is"
    problems.append(
        Problem(
            bad_lines[0],
            f"Line {bad_lines[0]}{more} not valid UTF-8 although the rest of the file is "
            f"(mixed encodings); {'they were' if others else 'it was'} read as Windows-1252. "
            "Check the accented characters "
            "there.",
            "warning",
        )
    )
    return _finish("\n".join(out), filename), "utf-8+cp1252", problems


_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)


_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
# GB2312's characters in GBK: both bytes in A1-FE (the lead byte up to F7). Nearly every word
# of simplified Chinese is written with them.
_GB2312_WORD = re.compile(rb"(?:[\xa1-\xf7][\xa1-\xfe]){2,}")


def _looks_gbk(data: bytes) -> bool:
    """True when the non-ASCII bytes are mostly Chinese words in GBK: runs of two or more
    two-byte GB2312 characters. Western single-byte text (Windows-1252, Latin-1) has its
    accented letters one or two at a time between ASCII letters, so it does not qualify."""
    runs = _HIGH_RUN.findall(data)
    high = sum(len(run) for run in runs)
    if high < 4:
        return False
    in_words = sum(len(run) for run in runs if _GB2312_WORD.fullmatch(run))
    return in_words >= 0.5 * high


def _has_valid_utf8_multibyte(data: bytes) -> bool:
    """True when the data contains at least one well-formed multi-byte UTF-8 sequence."""
    return _UTF8_MULTIBYTE.search(data) is not None


def _finish(text: str, filename: str) -> str:
    if text.startswith("\ufeff"):
        text = text[1:]
    text = normalise_newlines(text)
    if not text.strip():
        raise ImportFileError(filename, "the file is empty.")
    if "\x00" in text:
        raise ImportFileError(filename, "this is not a text export: it contains NUL characters.")
    return text
