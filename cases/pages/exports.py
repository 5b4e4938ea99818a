"""Exports of a filtered set of cases as CSV and XLSX.

What is streamed, and what is not:

* Rows are read from the database as plain values in chunks through a server-side cursor
  (``values_list(...).iterator(chunk_size=...)``, with the name variants of each chunk read
  in one query), so at most one chunk of cases is in memory at a time, whatever the size of
  the export, and no model instance is built per row.
* CSV is generated row by row and sent as it is produced (``StreamingHttpResponse``), in
  pieces of about 64 KiB: the first bytes leave before the last rows are read.
* XLSX is streamed too (:mod:`cases.pages.xlsx`): a zip can be written to a stream, each
  entry's sizes after its data and the directory last, so the sheet's rows are compressed
  and sent as they are read, in constant memory.

Cells are guarded against formula injection: in CSV a text value starting with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return gets a leading apostrophe, so a spreadsheet shows it
as text rather than running it; in XLSX every text is stored as an inline text cell, which a
spreadsheet never evaluates. XML cannot hold most control characters, so XLSX cells get
U+FFFD in their place (``xml_safe``); CSV keeps them as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from functools import lru_cache
from itertools import islice
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django_countries import countries

from cases.models import Case, PersonName
from cases.pages.xlsx import stream_xlsx, xml_safe  # noqa: F401 - xml_safe: the exports' API
from cases.security import sensitive
from cases.timeline.presenter import choice_labels

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


#: What a row is read from: plain values, with the person, the party and the current
#: intention's source joined in the same query (``rows``).
ROW_FIELDS = (
    "reference",
    "person_id",
    "person__working_name",
    "person__nationalities",
    "detaining_party__name",
    "legal_status",
    "status",
    "current_intention_id",
    "current_intention_option",
    "current_intention_destination",
    "current_intention_verification",
    "current_intention_verified",
    "capture_date",
    "capture_date_precision",
    "updated_at",
    "current_intention__source__title",
    "current_intention__source__publisher",
    "current_intention__source__published_on",
    "uuid",
)


#: Labels of the stored choice values, looked up once rather than per row and field.
_LABELS = {
    column: choice_labels("case", field)
    for column, field in (
        ("legal_status", "legal_status"),
        ("status", "status"),
        ("option", "current_intention_option"),
        ("verification", "current_intention_verification"),
        ("precision", "capture_date_precision"),
    )
}


#: The name variants heading when only pseudonyms are exported (``cases.security.sensitive``).
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


def _names_by_person(person_ids: list[int], *, show_sensitive: bool) -> dict[int, str]:
    """Return ``{person id: "variant; variant"}`` for the given persons, in one query.

    The variants a reader without the permission may see are chosen by
    ``sensitive.visible_names``, as for every other reader.
    """
    found: dict[int, list[Any]] = {}
    names = (
        PersonName.objects.filter(person_id__in=person_ids)
        .order_by("person_id", "id")
        .values_list("person_id", "value", "is_pseudonym", named=True)
    )
    for name in names:
        found.setdefault(name.person_id, []).append(name)
    return {
        person_id: "; ".join(
            name.value for name in sensitive.visible_names(rows, None, allowed=show_sensitive)
        )
        for person_id, rows in found.items()
    }


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)


def rows(cases: QuerySet[Case], *, show_sensitive: bool = False) -> Iterator[list[Any]]:
    """Yield every filtered case as a row, in ``COLUMNS`` order, reading in chunks.

    The cases are read as plain values (``values_list``, no model instances) through a
    server-side cursor (``iterator(chunk_size=CHUNK_SIZE)``); the name variants of each
    chunk's persons come in one more query. So an export holds one chunk in memory and
    costs one query for the cases plus one per chunk, whatever its size. The values are
    those of ``case_row``; a test compares the two.
    """
    labels = _LABELS
    stream = cases.values_list(*ROW_FIELDS).iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(stream, CHUNK_SIZE)):
        names = _names_by_person(list({row[1] for row in chunk}), show_sensitive=show_sensitive)
        for (
            reference,
            person_id,
            working_name,
            nationalities,
            party,
            legal_status,
            status,
            intention_id,
            option,
            destination,
            verification,
            verified,
            capture_date,
            precision,
            updated_at,
            source_title,
            source_publisher,
            source_date,
            case_uuid,
        ) in chunk:
            has_intention = intention_id is not None
            yield [
                reference,
                working_name,
                names.get(person_id, ""),
                _codes(nationalities),
                party,
                labels["legal_status"].get(legal_status, legal_status),
                labels["status"].get(status, status),
                labels["option"].get(option, option),
                _country_name(str(destination)) if destination else "",
                labels["verification"].get(verification, verification),
                ("yes" if verified else "no") if has_intention else "",
                capture_date,
                labels["precision"].get(precision, "") if capture_date else "",
                _utc(updated_at),
                (source_title or "") if has_intention else "",
                (source_publisher or "") if has_intention else "",
                source_date if has_intention else None,
                str(case_uuid),
            ]


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


#: Characters of CSV text gathered before a piece of the download is sent.
CSV_BUFFER = 64 * 1024


def csv_chunks(cases: QuerySet[Case], *, show_sensitive: bool = False) -> Iterator[str]:
    """Yield the CSV text of the export: a byte-order mark, the heading, then the rows.

    The byte-order mark lets spreadsheet programs read Hangul and Cyrillic as UTF-8. Rows
    are written to a buffer sent every ``CSV_BUFFER`` characters, so the download streams
    in pieces of about 64 KiB rather than one small piece per row.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(columns(show_sensitive=show_sensitive))
    yield buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    guard = guard_csv_cell
    prefixes = _FORMULA_PREFIXES
    for row in rows(cases, show_sensitive=show_sensitive):
        writer.writerow(
            [
                # Most cells are text: guarded here without a call; the rest by guard_csv_cell.
                (("'" + value) if value.startswith(prefixes) else value)
                if value.__class__ is str
                else guard(value)
                for value in row
            ]
        )
        if buffer.tell() >= CSV_BUFFER:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


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


#: Characters XML 1.0 cannot hold (C0 controls but tab, newline and carriage return); a
#: name entered with one must not make the workbook unwritable.
def xlsx_response(cases: QuerySet[Case], *, show_sensitive: bool = False) -> StreamingHttpResponse:
    """Return an XLSX download of ``cases``, sent while it is written."""
    response = StreamingHttpResponse(
        stream_xlsx(
            columns(show_sensitive=show_sensitive),
            rows(cases, show_sensitive=show_sensitive),
            sheet_name="Cases",
        ),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    response["Cache-Control"] = "no-store"
    return response
