"""A streaming XLSX writer: one sheet of plain values, sent while it is written.

An XLSX file is a zip of a few XML parts. The standard library's ``zipfile`` writes a zip to
a stream it cannot seek (each entry's sizes follow its data, the directory comes last), so
the sheet's rows are compressed and sent as they are produced, in constant memory, as the
CSV export is. openpyxl's write-only mode, used before, spent about 26 s of CPU on 100,000
cases, nearly all of it building a cell object per value; here a row is one formatted string.

Values: ``str`` (stored as inline text, never as a formula, whatever it starts with), ``bool``,
``int``, ``float``, ``Decimal``, ``date`` and naive ``datetime`` (as spreadsheet serial numbers
with a date format), and ``None`` (an empty cell). Characters XML cannot hold are replaced by
U+FFFD.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any
from xml.sax.saxutils import escape

#: Rows formatted before their bytes are handed to the compressor and sent.
ROWS_PER_WRITE = 500

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"

_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
#: Day 0 of spreadsheet serial dates (1900 date system, as Excel counts after February 1900).
_EPOCH = dt.datetime(1899, 12, 30)
_EPOCH_DATE = _EPOCH.date()
_DATE_STYLE, _DATETIME_STYLE = 1, 2


def xml_safe(text: str) -> str:
    """Return ``text`` with each character XML cannot hold replaced by U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def _static_parts(sheet_name: str) -> list[tuple[str, str]]:
    name = escape(xml_safe(sheet_name), {'"': "&quot;"})
    return [
        (
            "[Content_Types].xml",
            f'<Types xmlns="{_TYPES}">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_OFFICE}.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            f'ContentType="{_OFFICE}.worksheet+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_OFFICE}.styles+xml"/>'
            "</Types>",
        ),
        (
            "_rels/.rels",
            f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        ),
        (
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        ),
        (
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_PKG_REL}">'
            f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>",
        ),
        (
            "xl/styles.xml",
            f'<styleSheet xmlns="{_MAIN}">'
            '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
            '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" '
            'applyNumberFormat="1"/>'
            '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" '
            'applyNumberFormat="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>",
        ),
    ]


def _text(value: str) -> str:
    text = escape(xml_safe(value))
    if text != text.strip():
        return f'<c t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    return f'<c t="inlineStr"><is><t>{text}</t></is></c>'


def _cell(value: Any) -> str:
    if value is None:
        return "<c/>"
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bool):
        return f'<c t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | Decimal):
        return f"<c><v>{value}</v></c>"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise ValueError("XLSX holds no time zone: pass a naive (UTC) datetime")
        serial = (value - _EPOCH) / dt.timedelta(days=1)
        return f'<c s="{_DATETIME_STYLE}"><v>{serial!r}</v></c>'
    if isinstance(value, dt.date):
        return f'<c s="{_DATE_STYLE}"><v>{(value - _EPOCH_DATE).days}</v></c>'
    return _text(str(value))


def _row(number: int, values: Iterable[Any]) -> str:
    return f'<row r="{number}">{"".join(map(_cell, values))}</row>'


class _Pipe:
    """A write-only, unseekable file whose bytes are taken as they are written."""

    def __init__(self):
        self._parts: list[bytes] = []

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self._parts = b"".join(self._parts), []
        return data


def stream_xlsx(
    header: list[str], rows: Iterable[Iterable[Any]], *, sheet_name: str = "Sheet1"
) -> Iterator[bytes]:
    """Yield an XLSX workbook of one sheet (``header``, then ``rows``) as it is written.

    The header row is frozen. Nothing is held but the rows of one write.
    """
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as book:
        for name, text in _static_parts(sheet_name):
            book.writestr(name, text)
        yield pipe.take()
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<worksheet xmlns="{_MAIN}"><sheetViews><sheetView workbookViewId="0">'
                '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                "</sheetView></sheetViews><sheetData>".encode()
            )
            sheet.write(_row(1, header).encode())
            batch: list[str] = []
            for number, values in enumerate(rows, start=2):
                batch.append(_row(number, values))
                if len(batch) == ROWS_PER_WRITE:
                    sheet.write("".join(batch).encode())
                    batch = []
                    yield pipe.take()
            sheet.write(("".join(batch) + "</sheetData></worksheet>").encode())
        yield pipe.take()
    yield pipe.take()
