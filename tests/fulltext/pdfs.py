"""Small real PDFs for the full-text tests: one page of Helvetica text, with metadata."""

from io import BytesIO

from pypdf import PdfReader, PdfWriter


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(*lines: str, metadata: dict | None = None) -> bytes:
    """A one-page PDF showing `lines`, with `metadata` (e.g. {"/Title": "…"}) if given."""
    text = " ".join(f"({_escape(line)}) Tj T*" for line in lines)
    content = f"BT /F1 11 Tf 72 720 Td 14 TL {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    if not metadata:
        return bytes(out)
    writer = PdfWriter(clone_from=PdfReader(BytesIO(bytes(out))))
    writer.add_metadata(metadata)
    buffer = BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PDF = pdf_bytes("A full text.")
