"""The streaming XLSX writer: read back with openpyxl, value by value, and sent while written."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from cases.pages import xlsx


def read_back(chunks) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(b"".join(chunks)))


def test_values_of_every_kind_read_back_as_written():
    """Text, numbers, booleans, dates, date-times and empty cells keep their type and value."""
    row = [
        "Ri 리 Ли",
        "  padded  ",
        "=cmd|' /C calc'!A0",
        'a < b & c > d "q"',
        7,
        -2.5,
        Decimal("12.75"),
        True,
        False,
        dt.date(2025, 1, 9),
        dt.datetime(2025, 3, 5, 14, 30, 15),
        None,
        "last",
    ]
    book = read_back(
        xlsx.stream_xlsx([f"c{i}" for i in range(len(row))], [row], sheet_name="Cases")
    )
    sheet = book["Cases"]
    values = [cell.value for cell in sheet[2]]
    assert values[:9] == row[:9]
    assert values[9] == dt.datetime(2025, 1, 9)  # openpyxl reads every date cell as a datetime
    assert values[10] == dt.datetime(2025, 3, 5, 14, 30, 15)
    assert values[11] is None
    assert values[12] == "last"
    assert sheet["C2"].data_type == "s"  # a formula-like text stays text
    assert [cell.value for cell in sheet[1]][:2] == ["c0", "c1"]
    assert sheet.freeze_panes == "A2"


def test_characters_xml_cannot_hold_become_replacement_characters():
    """C0 controls, U+FFFE and lone surrogates become U+FFFD; tab and newline stay."""
    book = read_back(xlsx.stream_xlsx(["x"], [["a\x00b\x0bc\ufffe\ud800d\te\nf"]]))
    assert book.active["A2"].value == "a\ufffdb\ufffdc\ufffd\ufffdd\te\nf"


def test_an_aware_datetime_is_refused():
    """XLSX has no time zone: the caller converts to naive UTC first (the export does)."""
    with pytest.raises(ValueError, match="naive"):
        b"".join(xlsx.stream_xlsx(["x"], [[dt.datetime(2025, 1, 1, tzinfo=dt.UTC)]]))


def test_the_workbook_is_sent_while_the_rows_are_read():
    """Chunks leave before the last row is read, and the archive is a valid zip."""
    read = []

    def rows():
        for number in range(5 * xlsx.ROWS_PER_WRITE):
            read.append(number)
            yield [f"UA-2025-{number:05d}", number, dt.date(2025, 1, 1)]

    stream = xlsx.stream_xlsx(["reference", "n", "date"], rows())
    chunks = []
    for chunk in stream:
        chunks.append((len(read), chunk))
    sent_before_the_end = [size for count, size in chunks if count < len(read) and size]
    assert sent_before_the_end, "bytes left before the last row was read"
    body = b"".join(chunk for _count, chunk in chunks)
    assert zipfile.ZipFile(io.BytesIO(body)).testzip() is None
    sheet = read_back([body]).active
    assert sheet.max_row == 5 * xlsx.ROWS_PER_WRITE + 1
    assert sheet.cell(row=sheet.max_row, column=2).value == 5 * xlsx.ROWS_PER_WRITE - 1


def test_the_sheet_name_is_escaped():
    book = read_back(xlsx.stream_xlsx(["x"], [], sheet_name='A&B "c"'))
    assert book.sheetnames == ['A&B "c"']
