"""Exports of a filtered set of cases as CSV and XLSX.

What is streamed, and what is not:

* Rows are read from the database in chunks (``QuerySet.iterator(chunk_size=...)``, with the
  name variants prefetched per chunk), so at most one chunk of cases is in memory at a time,
  whatever the size of the export.
* CSV is generated row by row and sent as it is produced (``StreamingHttpResponse``): the
  first bytes leave before the last rows are read.
* XLSX is a zip archive whose directory is written last, so it cannot be sent before it is
  complete. The rows are written with openpyxl's write-only mode, which keeps no cells in
  memory and spools the sheet to a temporary file; the finished file is then streamed from
  disk in blocks and deleted when the response is closed. Memory stays bounded; the time to
  the first byte grows with the number of rows.

Cells are guarded against formula injection: in CSV a text value starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it
as text rather than running it; in XLSX such values are stored as typed text cells, which a
spreadsheet never evaluates.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django_countries import countries

from cases import choices, sensitive
from cases.models import Case, PersonName

#: Rows fetched from the database per round trip.
CHUNK_SIZE = 2000

#: Column headings, in order; the table's columns plus the current intention's source.
COLUMNS = [
    "Reference",
    "Person",
    "Name variants",
    "Nationalities",
    "Detaining party",
    "Legal status",
    "Status",
    "Current intention",
    "Destination",
    "Verification",
    "Verified",
    "Capture date",
    "Capture date precision",
    "Last change (UTC)",
    "Intention source title",
    "Intention source publisher",
    "Intention source date",
    "Case id",
]

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def export_queryset(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Return ``cases`` with everything a row needs joined or prefetched per chunk."""
    return cases.select_related(
        "person", "detaining_party", "current_intention__source"
    ).prefetch_related(
        Prefetch("person__names", queryset=PersonName.objects.order_by("person_id", "id"))
    )


#: Labels of the stored choice values, looked up once rather than per row and field.
_LABELS = {
    "legal_status": dict(choices.LegalStatus.choices),
    "status": dict(choices.CaseStatus.choices),
    "option": dict(choices.IntentionOption.choices),
    "verification": dict(choices.Verification.choices),
    "precision": dict(choices.DatePrecision.choices),
}


#: The name variants heading when only pseudonyms are exported (``cases.sensitive``).
REDACTED_NAMES_HEADING = "Name variants (pseudonyms only; other variants redacted)"


def columns(*, show_sensitive: bool) -> list[str]:
    """Return the heading row; it says so when sensitive name variants are left out."""
    if show_sensitive:
        return list(COLUMNS)
    return [REDACTED_NAMES_HEADING if c == "Name variants" else c for c in COLUMNS]


def case_row(case: Case, *, show_sensitive: bool = False) -> list[Any]:
    """Return one case as a row of plain values, in ``COLUMNS`` order.

    Without ``show_sensitive`` the name variants are the pseudonymous ones only.
    """
    intention = case.current_intention
    source = intention.source if intention else None
    person = case.person
    destination = case.current_intention_destination
    return [
        case.reference,
        person.working_name,
        "; ".join(
            name.value
            for name in sensitive.visible_names(person.names.all(), None, allowed=show_sensitive)
        ),
        _codes(person.__dict__["nationalities"]),
        case.detaining_party.name,
        _LABELS["legal_status"].get(case.legal_status, case.legal_status),
        _LABELS["status"].get(case.status, case.status),
        _LABELS["option"].get(case.current_intention_option, case.current_intention_option),
        _country_name(destination.code) if destination else "",
        _LABELS["verification"].get(
            case.current_intention_verification, case.current_intention_verification
        ),
        ("yes" if case.current_intention_verified else "no") if intention else "",
        case.capture_date,
        _LABELS["precision"].get(case.capture_date_precision, "") if case.capture_date else "",
        case.updated_at.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0),
        source.title if source else "",
        source.publisher if source else "",
        source.published_on if source else None,
        str(case.uuid),
    ]


def _codes(stored: Any) -> str:
    """Return stored nationalities (a list, or a comma-separated string) as "KP, RU"."""
    if isinstance(stored, str):
        stored = stored.split(",")
    return ", ".join(str(getattr(code, "code", code)) for code in stored or () if code)


@lru_cache(maxsize=512)
def _country_name(code: str) -> str:
    return str(countries.name(code)) or code


def rows(cases: QuerySet[Case], *, show_sensitive: bool = False) -> Iterator[list[Any]]:
    """Yield every filtered case as a row, reading the database in chunks."""
    for case in export_queryset(cases).iterator(chunk_size=CHUNK_SIZE):
        yield case_row(case, show_sensitive=show_sensitive)


def guard_csv_cell(value: Any) -> str:
    """Return ``value`` as CSV text that a spreadsheet will not evaluate as a formula."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_PREFIXES):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose ``write`` returns what it is given, for ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(cases: QuerySet[Case], *, show_sensitive: bool = False) -> Iterator[str]:
    """Yield the CSV text of the export: a byte-order mark, the heading, then one line a row.

    The byte-order mark lets spreadsheet programs read Hangul and Cyrillic as UTF-8.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(columns(show_sensitive=show_sensitive))
    for row in rows(cases, show_sensitive=show_sensitive):
        yield writer.writerow([guard_csv_cell(value) for value in row])


def _filename(extension: str) -> str:
    return f"cases-{timezone.now():%Y%m%d-%H%M%S}.{extension}"


def csv_response(cases: QuerySet[Case], *, show_sensitive: bool = False) -> StreamingHttpResponse:
    """Return a streamed CSV download of ``cases``."""
    response = StreamingHttpResponse(
        csv_chunks(cases, show_sensitive=show_sensitive), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    response["Cache-Control"] = "no-store"
    return response


def write_xlsx(cases: QuerySet[Case], target, *, show_sensitive: bool = False) -> None:
    """Write ``cases`` as an XLSX workbook to the file object ``target`` (write-only mode)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Cases")
    sheet.freeze_panes = "A2"
    sheet.append(columns(show_sensitive=show_sensitive))

    def cell(value: Any):
        if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
            # openpyxl would store "=..." as a formula; a typed string cell stays text.
            text = WriteOnlyCell(sheet)
            text.value = value
            text.data_type = "s"
            return text
        return value

    for row in rows(cases, show_sensitive=show_sensitive):
        sheet.append([cell(value) for value in row])
    workbook.save(target)


def xlsx_response(cases: QuerySet[Case], *, show_sensitive: bool = False) -> FileResponse:
    """Return an XLSX download of ``cases``, built in a temporary file and streamed from it."""
    # An unnamed temporary file disappears when closed, i.e. when the response is done.
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - closed by the response
    try:
        write_xlsx(cases, handle, show_sensitive=show_sensitive)
    except BaseException:
        handle.close()
        raise
    handle.seek(0)
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=_filename("xlsx"),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Cache-Control"] = "no-store"
    return response
