"""Reading lists: CSV (BOM, semicolons, quoted line breaks), XLSX, blank lines, dates."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from cases.imports import parsing
from cases.imports.parsing import FileRefused, parse_date, read_sheet, resolve_columns
from tests.imports.conftest import csv_bytes


def rows_of(content: bytes, name: str = "list.csv", columns=None) -> list[parsing.Row]:
    sheet = read_sheet(content, name)
    return list(parsing.read_rows(sheet, resolve_columns(sheet.headers, columns)))


def test_a_csv_with_a_bom_reads_its_first_header():
    """The BOM a spreadsheet writes is not part of the first header."""
    rows = rows_of(csv_bytes([["working_name", "rank"], ["Ri", "Private"]], bom=True))
    assert rows[0].values == {"working_name": "Ri", "rank": "Private"}
    assert rows[0].line == 2


def test_semicolons_are_read_when_the_header_uses_them():
    """A list saved in a locale that separates with semicolons reads the same."""
    rows = rows_of(csv_bytes([["working_name", "unit"], ["Baek", "94th, 2nd"]], delimiter=";"))
    assert rows[0].values == {"working_name": "Baek", "unit": "94th, 2nd"}


def test_blank_lines_are_counted_not_errors_and_lines_stay_the_files():
    """Blank lines (empty or only separators) are marked blank; the next row keeps its line,
    also after a quoted value over two lines."""
    content = b'working_name,unit\n\nRi,"a\nb"\n,\nBaek,x\n'
    rows = rows_of(content)
    assert [(r.line, r.blank) for r in rows] == [(2, True), (4, False), (5, True), (6, False)]
    assert rows[1].values["unit"] == "a b"
    assert not any(r.errors for r in rows)


@pytest.mark.parametrize(
    ("text", "date", "precision"),
    [
        ("1999-03-12", dt.date(1999, 3, 12), "day"),
        ("12.03.1999", dt.date(1999, 3, 12), "day"),
        ("03.1999", dt.date(1999, 3, 1), "month"),
        ("1999-03", dt.date(1999, 3, 1), "month"),
        ("1999", dt.date(1999, 1, 1), "year"),
        ("~1999", dt.date(1999, 1, 1), "approximate"),
        ("c. 1999", dt.date(1999, 1, 1), "approximate"),
    ],
)
def test_partial_dates_keep_their_precision(text, date, precision):
    """A year, a month or an approximate year is kept as such, not as a day."""
    assert parse_date(text) == (date, precision)


@pytest.mark.parametrize("text", ["31.02.1999", "1999-13-01", "19xx", "tomorrow", "12/1999/03"])
def test_a_bad_date_is_the_rows_error_with_a_message(text):
    """A date that does not exist or cannot be read is an error of that row alone."""
    rows = rows_of(csv_bytes([["working_name", "birth_date"], ["Ri", text], ["Baek", "2001"]]))
    assert rows[0].errors and rows[0].errors[0].startswith("birth_date: ")
    assert repr(text) in rows[0].errors[0]
    assert rows[1].errors == []


def test_other_bad_values_are_row_errors():
    """An unknown sex or country code, and a row without any name, are errors of the row."""
    rows = rows_of(
        csv_bytes(
            [
                ["working_name", "name_hangul", "sex", "nationality"],
                ["Ri", "", "X", "KP"],
                ["Baek", "", "M", "KP XX"],
                ["", "", "M", "KP"],
                ["", "백", "m", "kp, ru"],
            ]
        )
    )
    assert "sex" in rows[0].errors[0]
    assert "XX" in rows[1].errors[0]
    assert rows[2].errors == ["No name: give working_name or a name in one of the name columns."]
    assert rows[3].errors == []
    assert "working_name" not in rows[3].values  # a true name is never the working name
    assert rows[3].values["nationalities"] == ["KP", "RU"]


def _xlsx(rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_reads_with_its_dates_and_numbers():
    """Cells typed as dates are days; whole numbers are read without ".0"; a blank row is
    blank; lines are the sheet's row numbers."""
    content = _xlsx(
        [
            ["Name", "Born", "No"],
            ["Ри Хён Чхоль", dt.datetime(2001, 5, 4), 12345.0],
            [None, None, None],
            ["리", "03.1999", None],
        ]
    )
    rows = rows_of(
        content,
        "list.xlsx",
        {"Name": "name_cyrillic", "Born": "birth_date", "No": "service_number"},
    )
    assert rows[0].line == 2 and rows[0].values["birth_date"] == dt.date(2001, 5, 4)
    assert rows[0].values["service_number"] == "12345"
    assert rows[0].values["name_cyrillic"] == "Ри Хён Чхоль"
    assert rows[1].blank
    assert rows[2].line == 4 and rows[2].values["birth_date_precision"] == "month"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "list.csv", "The file is empty."),
        ("working_name\nRené\n".encode("latin-1"), "list.csv", "not UTF-8"),
        (b"not a zip at all", "list.xlsx", "not a readable XLSX"),
        (b"PK\x03\x04broken zip", "list.bin", "not a readable XLSX"),
        (b"\n\n", "list.csv", "no header row"),
        (b"working_name,colour\nRi,red\n", "list.csv", "Unknown columns: colour"),
        (b"working_name,working_name\nRi,Ri\n", "list.csv", "appear twice"),
        (b"rank\nPrivate\n", "list.csv", "working_name"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_with_a_reason(content, name, message):
    """The file's fault, said in a sentence; never an exception of another class."""
    with pytest.raises(FileRefused, match=message):
        rows_of(content, name)


def test_a_file_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(parsing, "MAX_BYTES", 10)
    with pytest.raises(FileRefused, match="the largest taken is"):
        read_sheet(b"working_name\nRi Hyon Chol\n", "list.csv")


def test_a_mapping_must_cover_the_files_columns_and_name_known_fields():
    """Headers the mapping lacks, columns it names that the file lacks, unknown fields."""
    sheet = read_sheet(b"Name,Unit\nRi,x\n", "l.csv")
    with pytest.raises(FileRefused, match="Unknown columns: Unit"):
        resolve_columns(sheet.headers, {"Name": "working_name"})
    with pytest.raises(FileRefused, match="lacks: Rank"):
        resolve_columns(sheet.headers, {"Name": "working_name", "Unit": "", "Rank": "rank"})
    with pytest.raises(FileRefused, match="unknown fields: colour"):
        resolve_columns(sheet.headers, {"Name": "working_name", "Unit": "colour"})
    assert resolve_columns(sheet.headers, {"Name": "working_name", "Unit": ""}) == {
        0: "working_name"
    }
