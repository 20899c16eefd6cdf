"""Build .xlsx workbooks by hand (zipfile + XML), so the tests can make what openpyxl would
not write: a zip bomb, a shared-string table, a cell at column XFD. Nothing is committed as a
binary; each file is made in a second or less."""

import io
import zipfile
from collections.abc import Iterable
from xml.sax.saxutils import escape

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
{shared}</Types>"""  # noqa: E501
SHARED_TYPE = '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'  # noqa: E501
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>"""  # noqa: E501
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{NS}" xmlns:r="{REL}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"""  # noqa: E501
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG}"><Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>{{shared}}</Relationships>"""  # noqa: E501
SHARED_REL = f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'


def column(n: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    name = ""
    while n:
        n, rest = divmod(n - 1, 26)
        name = chr(65 + rest) + name
    return name


def cell(row: int, col: int, value) -> str:
    ref = f"{column(col)}{row}"
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, SharedString):
        return f'<c r="{ref}" t="s"><v>{value.index}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


class SharedString:
    def __init__(self, index: int):
        self.index = index


def row_xml(number: int, values: Iterable, start_col: int = 1) -> str:
    cells = "".join(cell(number, start_col + i, v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def workbook(
    rows: Iterable[str], *, shared: list[str] | None = None, dimension: str | None = None
) -> bytes:
    """An .xlsx whose first sheet holds `rows` (row_xml strings, written as they come)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml", CONTENT_TYPES.replace("{shared}", SHARED_TYPE if shared else "")
        )
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            WORKBOOK_RELS.replace("{shared}", SHARED_REL if shared else ""),
        )
        if shared:
            items = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
            archive.writestr(
                "xl/sharedStrings.xml",
                f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{NS}" '
                f'count="{len(shared)}" uniqueCount="{len(shared)}">{items}</sst>',
            )
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            dim = f'<dimension ref="{dimension}"/>' if dimension else ""
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{NS}">{dim}'
                "<sheetData>".encode()
            )
            chunk = []
            for row in rows:
                chunk.append(row)
                if len(chunk) >= 2000:
                    sheet.write("".join(chunk).encode())
                    chunk = []
            sheet.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return buffer.getvalue()


HEADERS = ["Title", "Authors", "Year", "Journal", "DOI"]


def records_workbook(n: int) -> bytes:
    """A legitimate export: a header and `n` distinct records."""
    rows = [row_xml(1, HEADERS)]
    rows += (
        row_xml(i + 2, [f"Study number {i} of running", "Smith J; Doe A", 2000 + i % 25,
                        "J Neurosci", f"10.1000/x{i}"])
        for i in range(n)
    )  # fmt: skip
    return workbook(rows)


def zip_bomb(rows: int = 200_000) -> bytes:
    """About 80 KB that expands to about 24 MB of worksheet XML: a header, then `rows` rows of
    the same five cells (what finding 2's probe uploaded)."""
    same = "".join("<c><v>12345</v></c>" for _ in range(5))
    body = (
        f"<row>{same}</row>" if i % 40 else f'<row r="{i}">{same}</row>' for i in range(2, rows + 2)
    )
    return workbook([row_xml(1, HEADERS), *body])
