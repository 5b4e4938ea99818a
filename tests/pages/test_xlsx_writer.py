"""The streaming XLSX writer: read back with openpyxl, value by value, and sent while written."""

import datetime as dt
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def cell_by_cell(first, rows):
    """The reference: every value written by ``_cell``, one call each."""
    return "".join(xlsx._row(number, values) for number, values in enumerate(rows, start=first))


_text_values = st.text(
    alphabet=st.sampled_from(list("ab 리Ли&<>\"'\t\n\r\x00\x01\x1f\ufffe\ud800\u3000\xa0]=")),
    max_size=6,
)
_values = st.one_of(
    st.none(),
    _text_values,
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.dates(min_value=dt.date(1900, 3, 1)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1)),
)


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(_values, min_size=3, max_size=3), max_size=8))
def test_rows_written_by_templates_equal_rows_written_cell_by_cell(rows):
    """Whatever the values (texts to escape, spaces at either end, characters XML cannot
    hold, every class the writer takes, rows of one shape and of several), a batch is the
    markup ``_cell`` gives value by value."""
    assert xlsx._rows_markup(7, rows) == cell_by_cell(7, rows)


def test_a_batch_with_one_row_to_escape_escapes_that_row_only():
    """Plain rows stay on the template; the row with ``&`` and a padded text is escaped."""
    rows = [
        ["plain", dt.date(2025, 1, 2), None],
        ["a & b", dt.date(2025, 1, 3), " padded"],
        ["plain again", None, "x"],
    ]
    markup = xlsx._rows_markup(2, rows)
    assert markup == cell_by_cell(2, rows)
    assert "a &amp; b" in markup
    assert '<t xml:space="preserve"> padded</t>' in markup
    assert markup.count("&") == 1


def test_values_of_other_classes_are_written_as_their_text():
    """A lazy translation or a ``str`` subclass is not a template's class: written as text."""
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy

    rows = [[mark_safe("<b>"), gettext_lazy("Cases"), 1]]
    markup = xlsx._rows_markup(2, rows)
    assert markup == cell_by_cell(2, rows)
    assert "&lt;b&gt;" in markup


def test_an_aware_datetime_in_a_later_row_is_refused_too():
    """A row of the same classes as plain ones still refuses a time zone."""
    rows = [[dt.datetime(2025, 1, 1)], [dt.datetime(2025, 1, 1, tzinfo=dt.UTC)]]
    with pytest.raises(ValueError, match="naive"):
        b"".join(xlsx.stream_xlsx(["x"], rows))


def test_many_batches_read_back_with_every_row_in_place():
    """Rows cross several writes, some escaped and some not; each keeps its number."""
    count = 3 * xlsx.ROWS_PER_WRITE + 7
    rows = [
        [f"R{n} & co" if n % 97 == 0 else f"R{n}", n, dt.date(2025, 1, 1 + n % 28)]
        for n in range(count)
    ]
    sheet = read_back(xlsx.stream_xlsx(["name", "n", "day"], rows)).active
    assert sheet.max_row == count + 1
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in values] == [row[0] for row in rows]
    assert [row[1] for row in values] == list(range(count))
    assert values[30][2] == dt.datetime(2025, 1, 3)


def test_the_template_cache_stays_bounded(monkeypatch):
    """Rows of ever new shapes do not grow the cache past its bound, and still read back."""
    monkeypatch.setattr(xlsx, "_MAX_TEMPLATES", 4)
    monkeypatch.setattr(xlsx, "_TEMPLATES", {})
    rows = [[None] * n + ["x"] for n in range(10)]
    assert xlsx._rows_markup(2, rows) == cell_by_cell(2, rows)
    assert len(xlsx._TEMPLATES) <= 4
