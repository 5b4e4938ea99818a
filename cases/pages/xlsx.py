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
from itertools import islice
from typing import Any
from xml.sax.saxutils import escape

#: Rows formatted before their bytes are handed to the compressor and sent.
ROWS_PER_WRITE = 500
#: zlib's fastest level. The sheet's markup repeats itself so much that level 1 already
#: shrinks it several times over; level 6 made the file about a quarter smaller and took about
#: three times as long, the largest part of the writer's time once rows had templates.
COMPRESS_LEVEL = 1

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


#: How a row template writes a cell of each class, ``VALUE`` standing for the value: the same
#: markup as ``_cell`` gives. A row with a value of any other class is written by ``_cell``.
_TEMPLATE_CELLS: dict[type, str] = {
    type(None): "<c/>",
    str: '<c t="inlineStr"><is><t>{VALUE}</t></is></c>',
    bool: '<c t="b"><v>{VALUE:d}</v></c>',
    int: "<c><v>{VALUE}</v></c>",
    float: "<c><v>{VALUE}</v></c>",
    Decimal: "<c><v>{VALUE}</v></c>",
    dt.date: f'<c s="{_DATE_STYLE}"><v>{{VALUE.toordinal() - {_EPOCH_DATE.toordinal()}}}</v></c>',
    # An aware datetime cannot be subtracted from the naive epoch: the TypeError sends the row
    # to ``_cell``, which refuses it with its message.
    dt.datetime: f'<c s="{_DATETIME_STYLE}"><v>{{(VALUE - _EPOCH) / _DAY!r}}</v></c>',
}
_DAY = dt.timedelta(days=1)


class _RowTemplate:
    """The markup of every row whose values are of one sequence of classes.

    An export has a handful of such sequences (a column holds a date or nothing, say), so
    each gets a function compiled once: an f-string of the whole row, built from the fixed
    markup of ``_TEMPLATE_CELLS`` and the values' positions only. It writes a row in one
    step, where ``_cell`` costs a call and a few type tests per value.

    The function does not escape texts. ``plain`` says whether a piece of markup made by
    templates is valid as it is: it holds no more ``<`` and ``>`` than the templates put
    there, no ``&``, no character XML cannot hold (``isprintable`` is False for them, and
    also for tab and newline, which are merely sent the slow way) and no text with a space
    at either end, which would need ``xml:space="preserve"``: such a space sits right after
    ``<t>`` or right before ``</t>``, where the templates never put one.
    """

    __slots__ = ("format", "less_than", "greater_than")

    def __init__(self, classes: tuple[type, ...]):
        cells = "".join(
            _TEMPLATE_CELLS[cls].replace("VALUE", f"v[{index}]")
            for index, cls in enumerate(classes)
        )
        # The source holds markup and positions only, never a value.
        self.format = eval(  # noqa: S307
            f"lambda n, v: f'<row r=\"{{n}}\">{cells}</row>'",
            {"_EPOCH": _EPOCH, "_DAY": _DAY},
        )
        markup = f'<row r="0">{cells}</row>'
        self.less_than = markup.count("<")
        self.greater_than = markup.count(">")


def plain(markup: str, *, less_than: int, greater_than: int) -> bool:
    """Return whether template ``markup`` is valid as it is (see ``_RowTemplate``)."""
    return (
        markup.count("<") == less_than
        and markup.count(">") == greater_than
        and "&" not in markup
        and "> " not in markup
        and " <" not in markup
        and markup.isprintable()
    )


#: Row templates by the classes of a row's values; None for a sequence with a class the
#: templates do not write. Few, and the same in every export.
_TEMPLATES: dict[tuple[type, ...], _RowTemplate | None] = {}


#: Templates kept at most: rows of ever new shapes start the cache again rather than grow it.
_MAX_TEMPLATES = 256


def _template(classes: tuple[type, ...]) -> _RowTemplate | None:
    if classes not in _TEMPLATES:
        if len(_TEMPLATES) >= _MAX_TEMPLATES:
            _TEMPLATES.clear()
        writable = all(cls in _TEMPLATE_CELLS for cls in classes)
        _TEMPLATES[classes] = _RowTemplate(classes) if writable else None
    return _TEMPLATES[classes]


def _rows_markup(first: int, rows: list[Any]) -> str:
    """Return the markup of ``rows``, numbered from ``first``.

    Every row is written by its template and the whole batch is checked at once; only when
    the check fails is each row checked, and a row that needs escaping (or holds a value
    the templates do not write) is written cell by cell by ``_cell``.
    """
    written: list[tuple[str, _RowTemplate | None]] = []
    less_than = greater_than = 0
    for number, values in enumerate(rows, start=first):
        template = _TEMPLATES.get(tuple(map(type, values))) or _template(tuple(map(type, values)))
        markup = None
        if template is not None:
            try:
                markup = template.format(number, values)
            except TypeError:
                template = None
            else:
                less_than += template.less_than
                greater_than += template.greater_than
        written.append((markup or _row(number, values), template))
    fast = [markup for markup, template in written if template is not None]
    if len(fast) == len(written):
        text = "".join(fast)
        if plain(text, less_than=less_than, greater_than=greater_than):
            return text
    elif plain("".join(fast), less_than=less_than, greater_than=greater_than):
        return "".join(markup for markup, _template in written)
    return "".join(
        markup
        if template is None
        or plain(markup, less_than=template.less_than, greater_than=template.greater_than)
        else _row(number, values)
        for number, values, (markup, template) in zip(
            range(first, first + len(rows)), rows, written, strict=True
        )
    )


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
    with zipfile.ZipFile(
        pipe, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
    ) as book:
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
            rows = iter(rows)
            number = 2
            while batch := list(islice(rows, ROWS_PER_WRITE)):
                sheet.write(_rows_markup(number, batch).encode())
                number += len(batch)
                yield pipe.take()
            sheet.write(b"</sheetData></worksheet>")
        yield pipe.take()
    yield pipe.take()
