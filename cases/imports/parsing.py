"""Read a CSV or XLSX list into rows of import fields, with the line each came from.

A bad file (not UTF-8, empty, an XLSX that is not a zip, too large, columns the mapping
does not know) raises :class:`FileRefused` with a sentence an officer can act on; a bad
value in one row is that row's error, never the file's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django_countries import countries

from cases.choices import DatePrecision, Script, Sex

#: The largest file taken.
MAX_BYTES = 10 * 1024 * 1024
#: The most an XLSX may unpack to, all its parts together (a zip bomb is refused unread).
MAX_UNZIPPED = 100 * 1024 * 1024
#: The most one part of an XLSX may be compressed, once it unpacks to more than 10 MB.
MAX_RATIO = 200
#: The longest cell taken: Excel's own limit.
MAX_CELL = 32_767
#: The most data rows one file may hold.
MAX_ROWS = 50_000

#: The fields an import reads, and what each means.
FIELDS: Mapping[str, str] = {
    "icrc_number": "The ICRC / Central Tracing Agency number: the key a second import matches on.",
    "working_name": "The name the tracker shows (often the name as written on the list).",
    "name_latin": "The name in Latin letters (a name variant).",
    "name_hangul": "The name in Hangul (a name variant).",
    "name_cyrillic": "The name in Cyrillic (a name variant).",
    "family_name": "Surname. Sensitive.",
    "given_names": "Given names. Sensitive.",
    "sex": "male, female or unknown (M / F accepted).",
    "birth_date": "YYYY-MM-DD, DD.MM.YYYY, MM.YYYY, YYYY-MM, YYYY; ~YYYY if approximate.",
    "birth_place": "Place of birth.",
    "rank": "Rank.",
    "unit": "Unit.",
    "service_number": "Service number. Sensitive.",
    "nationality": "ISO 3166-1 codes, several separated by spaces or commas (KP, RU).",
}
#: The name variants a row may carry, by field, and their script.
NAME_FIELDS: Mapping[str, str] = {
    "name_latin": Script.LATIN,
    "name_hangul": Script.HANGUL,
    "name_cyrillic": Script.CYRILLIC,
}
_MAX_LENGTH = {
    "icrc_number": 100,
    "working_name": 200,
    "family_name": 200,
    "given_names": 200,
    "birth_place": 200,
    "rank": 100,
    "unit": 200,
    "service_number": 100,
    **dict.fromkeys(NAME_FIELDS, 200),
}


class FileRefused(ValueError):
    """The file cannot be read as a list: the message says why and what to do."""


@dataclass
class Row:
    """One data row: its line in the file, its values by field, and its errors."""

    line: int
    values: dict[str, object] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    blank: bool = False


@dataclass
class Sheet:
    """A file read as a header and data rows (cells as text, or dates from an XLSX)."""

    headers: list[str]
    rows: list[tuple[int, list[object]]]


# --------------------------------------------------------------------------------------------
# Reading the file
# --------------------------------------------------------------------------------------------


def read_sheet(content: bytes, file_name: str) -> Sheet:
    """Return the header and rows of a CSV or XLSX file, or refuse the file."""
    if not content:
        raise FileRefused(_("The file is empty."))
    if len(content) > MAX_BYTES:
        raise FileRefused(
            _("The file is %(size)s MB; the largest taken is %(largest)s MB. Split the list.")
            % {"size": f"{len(content) / 1048576:.1f}", "largest": MAX_BYTES // 1048576}
        )
    is_zip = content[:4] == b"PK\x03\x04"
    if file_name.lower().endswith((".xlsx", ".xlsm")) or is_zip:
        return _read_xlsx(content)
    return _read_csv(content)


def _read_csv(content: bytes) -> Sheet:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRefused(
            _(
                "The file is not UTF-8 text (byte %(byte)s is not valid UTF-8). Save it as CSV "
                "UTF-8, or upload the XLSX."
            )
            % {"byte": exc.start + 1}
        ) from None
    if "\x00" in text:
        raise FileRefused(_("The file holds NUL characters: it is not a CSV text file."))
    first = next((line for line in text.splitlines() if line.strip()), "")
    # The header line decides the separator: spreadsheets in many locales write semicolons.
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    headers: list[str] | None = None
    rows: list[tuple[int, list[object]]] = []
    try:
        for cells in reader:
            if headers is None:
                if not any(cell.strip() for cell in cells):
                    continue
                headers = [cell.strip() for cell in cells]
                continue
            rows.append((reader.line_num, list(cells)))
            if len(rows) > MAX_ROWS:
                raise FileRefused(
                    _("The file has more than %(rows)s rows. Split the list.") % {"rows": MAX_ROWS}
                )
    except csv.Error as exc:
        raise FileRefused(
            _("Line %(line)s: the CSV cannot be read (%(error)s).")
            % {"line": reader.line_num, "error": exc}
        ) from None
    if headers is None:
        raise FileRefused(_("The file has no header row."))
    return Sheet(headers=headers, rows=rows)


def _check_zip(content: bytes) -> None:
    """Refuse an XLSX that would unpack to far more than it weighs, before reading it."""
    try:
        parts = zipfile.ZipFile(io.BytesIO(content)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # openpyxl refuses it with its own sentence
    total = sum(part.file_size for part in parts)
    packed = [
        p
        for p in parts
        if p.file_size > 10 * 1024 * 1024 and p.file_size > MAX_RATIO * max(p.compress_size, 1)
    ]
    if total > MAX_UNZIPPED or packed:
        raise FileRefused(
            _(
                "The workbook unpacks to %(size)s MB; the most taken is %(most)s MB, %(ratio)s "
                "times its packed size for any part. Save the list as CSV UTF-8, or split it."
            )
            % {
                "size": f"{total / 1048576:.0f}",
                "most": MAX_UNZIPPED // 1048576,
                "ratio": MAX_RATIO,
            }
        )


def _read_xlsx(content: bytes) -> Sheet:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    _check_zip(content)
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileRefused(
            _(
                "The file is not a readable XLSX workbook (%(error)s). Save it again as .xlsx, "
                "or as CSV UTF-8."
            )
            % {"error": type(exc).__name__}
        ) from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise FileRefused(_("The workbook has no sheet."))
        headers: list[str] | None = None
        rows: list[tuple[int, list[object]]] = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            if headers is None:
                if not any(_text(cell) for cell in cells):
                    continue
                headers = [_text(cell) for cell in cells]
                continue
            if any(isinstance(cell, str) and len(cell) > MAX_CELL for cell in cells):
                raise FileRefused(
                    _(
                        "Row %(row)s: a cell is longer than %(limit)s characters; it is not a "
                        "list's value."
                    )
                    % {"row": number, "limit": MAX_CELL}
                )
            rows.append((number, list(cells)))
            if len(rows) > MAX_ROWS:
                raise FileRefused(
                    _("The sheet has more than %(rows)s rows. Split the list.") % {"rows": MAX_ROWS}
                )
    finally:
        book.close()
    if headers is None:
        raise FileRefused(_("The first sheet has no header row."))
    return Sheet(headers=headers, rows=rows)


def _text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    text = str(cell)
    if not text.isascii():
        # Format characters (zero-width space, BOM, direction marks) are invisible: a cell
        # of them only is blank, and a name never keeps them.
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return text.strip()


# --------------------------------------------------------------------------------------------
# The mapping
# --------------------------------------------------------------------------------------------


def check_columns(columns: Mapping[str, str]) -> None:
    """Refuse a mapping that names a field the import does not read."""
    if not isinstance(columns, Mapping) or not columns:
        raise FileRefused(_('Give the mapping as {"column header": "field"}.'))
    odd = [k for k, v in columns.items() if not isinstance(k, str) or not isinstance(v, str)]
    if odd:
        raise FileRefused(
            _(
                "Each column maps to one field name as text: %(columns)s does not. Give the "
                'mapping as {"column header": "field"}.'
            )
            % {"columns": ", ".join(map(repr, odd[:5]))}
        )
    unknown = sorted({str(f) for f in columns.values() if f and f not in FIELDS})
    if unknown:
        raise FileRefused(
            _("The mapping names unknown fields: %(unknown)s. Fields: %(fields)s.")
            % {"unknown": ", ".join(unknown), "fields": ", ".join(FIELDS)}
        )
    targets = [f for f in columns.values() if f]
    twice = sorted({f for f in targets if targets.count(f) > 1})
    if twice:
        raise FileRefused(
            _("Several columns are mapped to %(fields)s.") % {"fields": ", ".join(twice)}
        )
    if not {"working_name", *NAME_FIELDS} & set(targets):
        raise FileRefused(_("Map a column to working_name or to one of the name fields."))


def resolve_columns(headers: list[str], columns: Mapping[str, str] | None) -> dict[int, str]:
    """Return the field each column index is read into; refuse unknown or missing columns.

    Without a mapping the headers must be field names themselves.
    """
    if columns is None:
        unknown = [h for h in headers if h and h not in FIELDS]
        if unknown:
            raise FileRefused(
                _(
                    "Unknown columns: %(unknown)s. Without a mapping the headers must be field "
                    "names (%(fields)s); or give a mapping."
                )
                % {"unknown": ", ".join(unknown), "fields": ", ".join(FIELDS)}
            )
        columns = {h: h for h in headers if h}
    check_columns(columns)
    seen = [h for h in headers if h]
    repeated = sorted({h for h in seen if seen.count(h) > 1})
    if repeated:
        raise FileRefused(
            _("Column headers appear twice: %(headers)s.") % {"headers": ", ".join(repeated)}
        )
    unknown = [h for h in headers if h and h not in columns]
    if unknown:
        raise FileRefused(
            _('Unknown columns: %(unknown)s. Map each to a field, or to "" to ignore it.')
            % {"unknown": ", ".join(unknown)}
        )
    missing = [h for h in columns if h not in headers]
    if missing:
        raise FileRefused(
            _("The mapping names columns the file lacks: %(missing)s.")
            % {"missing": ", ".join(missing)}
        )
    return {i: columns[h] for i, h in enumerate(headers) if h and columns[h]}


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

_DAY_DOTS = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4})$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MONTH_DOTS = re.compile(r"^(\d{1,2})[./](\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")
_APPROX = re.compile(r"^(?:~|c\.|ca\.|circa|approx\.?|около|약)\s*(\d{4})$", re.IGNORECASE)


def parse_date(value: object) -> tuple[dt.date, str]:
    """Return a date and its precision from a cell; raise ValueError with a message."""
    if isinstance(value, dt.datetime):
        return value.date(), DatePrecision.DAY
    if isinstance(value, dt.date):
        return value, DatePrecision.DAY
    text = _text(value)
    try:
        if m := _ISO_DAY.match(text):
            return dt.date(int(m[1]), int(m[2]), int(m[3])), DatePrecision.DAY
        if m := _DAY_DOTS.match(text):
            return dt.date(int(m[3]), int(m[2]), int(m[1])), DatePrecision.DAY
        if m := _ISO_MONTH.match(text):
            return dt.date(int(m[1]), int(m[2]), 1), DatePrecision.MONTH
        if m := _MONTH_DOTS.match(text):
            return dt.date(int(m[2]), int(m[1]), 1), DatePrecision.MONTH
        if m := _YEAR.match(text):
            return dt.date(int(m[1]), 1, 1), DatePrecision.YEAR
        if m := _APPROX.match(text):
            return dt.date(int(m[1]), 1, 1), DatePrecision.APPROXIMATE
    except ValueError:
        raise ValueError(f"{text!r} is not a date that exists.") from None
    raise ValueError(
        f"{text!r} is not a date: write 1999-03-12, 12.03.1999, 03.1999, 1999 or ~1999."
    )


_SEXES = {"m": Sex.MALE, "male": Sex.MALE, "f": Sex.FEMALE, "female": Sex.FEMALE}
_SEXES.update({"u": Sex.UNKNOWN, "unknown": Sex.UNKNOWN, "м": Sex.MALE, "ж": Sex.FEMALE})
_COUNTRY_CODES = {code for code, _name in countries}


def _too_long_a_number(cell: object) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool) and abs(cell) >= 1e15


def read_row(line: int, cells: list[object], fields: Mapping[int, str]) -> Row:
    """Return the row's values by field, each checked; a bad value is a row error."""
    row = Row(line=line)
    raw = {name: cells[i] if i < len(cells) else None for i, name in fields.items()}
    if not any(_text(cell) for cell in cells):
        row.blank = True
        return row
    today = dt.date.today()
    for name, cell in raw.items():
        text = _text(cell)
        if not text and name != "birth_date":
            continue
        if name == "birth_date":
            if cell is None or (not isinstance(cell, dt.date) and not text):
                continue
            try:
                date, precision = parse_date(cell)
            except ValueError as exc:
                row.errors.append(f"birth_date: {exc}")
                continue
            if date > today or date.year < 1900:
                row.errors.append(f"birth_date: {date.isoformat()} is out of range.")
                continue
            row.values["birth_date"] = date
            row.values["birth_date_precision"] = precision
        elif name == "sex":
            sex = _SEXES.get(text.lower())
            if sex is None:
                row.errors.append(f"sex: {text!r} is not male, female or unknown.")
            else:
                row.values["sex"] = sex
        elif name == "nationality":
            codes = [c.upper() for c in re.split(r"[\s,;/]+", text) if c]
            bad = [c for c in codes if c not in _COUNTRY_CODES]
            if bad:
                row.errors.append(f"nationality: {', '.join(bad)} is not an ISO 3166-1 code.")
            else:
                row.values["nationalities"] = list(dict.fromkeys(codes))
        elif name in ("icrc_number", "service_number") and _too_long_a_number(cell):
            # A spreadsheet keeps 15 significant digits of a number: the rest are lost.
            row.errors.append(
                f"{name}: {text} is a number of more than 15 digits, which the spreadsheet "
                "rounded; format the column as text and type the numbers again."
            )
        else:
            limit = _MAX_LENGTH.get(name, 200)
            if len(text) > limit:
                row.errors.append(f"{name}: longer than {limit} characters.")
            else:
                row.values[name] = " ".join(text.split())
    # The name columns hold true names (sensitive); the working name is never taken from
    # them. A row that creates a person without one is an error of the plan.
    if not row.values.get("working_name") and not any(row.values.get(f) for f in NAME_FIELDS):
        row.errors.append("No name: give working_name or a name in one of the name columns.")
    return row


def name_variants(values: Mapping[str, object]) -> list[tuple[str, str]]:
    """Return a row's name variants as (value, script), each value once: a list that puts
    the same name in two name columns gives one variant, in the first column's script."""
    found: dict[str, str] = {}
    for name, script in NAME_FIELDS.items():
        if values.get(name):
            found.setdefault(str(values[name]), script)
    return list(found.items())


def read_rows(sheet: Sheet, fields: Mapping[int, str]) -> Iterator[Row]:
    """Yield each data row of ``sheet`` read under ``fields``.

    A value past the last header (an unquoted separator shifted the row) or under a blank
    header is the row's error: it would be dropped unread otherwise.
    """
    width = len(sheet.headers)
    unnamed = [i for i, header in enumerate(sheet.headers) if not header]
    for line, cells in sheet.rows:
        row = read_row(line, cells, fields)
        if row.blank:
            yield row
            continue
        extra = sum(1 for cell in cells[width:] if _text(cell))
        if extra:
            row.errors.append(
                f"The row has {width + extra} values and the header {width} columns: quote "
                "a value that holds the separator."
            )
        if any(i < len(cells) and _text(cells[i]) for i in unnamed):
            row.errors.append("A value stands under a column with no header: name the column.")
        yield row
