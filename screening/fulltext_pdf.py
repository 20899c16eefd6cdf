"""What a full-text file is and says: the PDF check and the text and metadata of its first
pages (for matching files to records). Pure: no Django; pypdf reads the PDF.

    pdf_problem("a.pdf", head, size, max_bytes)  # None, or why the file is refused
    read_pdf(stream)                              # PdfText(title, text, metadata)
"""

import logging
from dataclasses import dataclass, field

PDF_MAGIC = b"%PDF-"
#: A PDF reader accepts the header anywhere in the first 1024 bytes.
HEAD_BYTES = 1024
#: Pages read for a DOI or the title (the first page carries them; a cover page may come first).
PAGES_READ = 2
#: Characters of text kept per file (enough for a first page).
TEXT_CHARS = 6000

log = logging.getLogger(__name__)


def looks_like_pdf(head: bytes) -> bool:
    return PDF_MAGIC in head[:HEAD_BYTES]


def pdf_problem(name: str, head: bytes, size: int, max_bytes: int) -> str | None:
    """Why the file `name` (first bytes `head`, `size` bytes) cannot be kept as a full text,
    or None if it can."""
    if size == 0:
        return f"“{name}” is empty."
    if size > max_bytes:
        return f"“{name}” is larger than the {max_bytes // (1024 * 1024)} MB limit."
    if not looks_like_pdf(head):
        return f"“{name}” is not a PDF (its content does not start with “%PDF-”)."
    return None


@dataclass(frozen=True)
class PdfText:
    title: str = ""
    text: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    readable: bool = True


def read_pdf(stream) -> PdfText:
    """The title, the text of the first pages and the document metadata of a PDF (a binary
    file object). A PDF pypdf cannot read gives an empty, unreadable `PdfText`."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(stream)
        info = reader.metadata or {}
        metadata = {str(key).lstrip("/"): str(value) for key, value in info.items() if value}
        parts: list[str] = []
        for page in reader.pages[:PAGES_READ]:
            parts.append(page.extract_text() or "")
            if sum(map(len, parts)) >= TEXT_CHARS:
                break
    except Exception as error:  # any damaged PDF is simply unreadable here
        log.info("Could not read a PDF: %s", error)
        return PdfText(readable=False)
    return PdfText(
        title=metadata.get("Title", "").strip(),
        text="\n".join(parts)[:TEXT_CHARS],
        metadata=metadata,
    )
