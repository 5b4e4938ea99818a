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

Identity, places and notifications: each row also gives where the person is held now, when
his next capture card is due and whether that day has passed, the earliest pending
notification's due day and whether it has passed, whom he served under, his external
identifiers (``scheme:value``) and the nationalities claimed for him. His true name as the
Convention records it (family and given names), his parents' names, the person to inform,
his address and his documents' numbers are sensitive (``cases.security.sensitive``): their
columns are in the export only for a reader who may see sensitive values, as the true name
variants are. The identifiers, claims, notifications and documents of a chunk's cases come
in one query each, so the export's query count grows with its chunks, not its rows.

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

from django.db.models import Min, Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import get_language
from django_countries import countries

from cases import clocks
from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim
from cases.models import Case, PersonName
from cases.notifications.models import Notification, NotificationState
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
    "Held now at",
    "Capture card due",
    "Capture card overdue",
    "Notification due",
    "Notification overdue",
    "Serving under",
    "External identifiers",
    "Nationality claims",
]

#: The person's sensitive fields (GC III Art. 17, 122) the export gives, with their headings,
#: to readers who may see sensitive values; ``Identity documents`` follows them.
SENSITIVE_PERSON_COLUMNS = (
    ("family_name", "Family name"),
    ("given_names", "Given names"),
    ("father_first_name", "Father's first name"),
    ("mother_maiden_name", "Mother's maiden name"),
    ("person_to_inform", "Person to inform"),
    ("correspondence_address", "Address for correspondence"),
)
#: Headings of the columns only readers of sensitive values get.
SENSITIVE_COLUMNS = [heading for _field, heading in SENSITIVE_PERSON_COLUMNS] + [
    "Identity documents"
]
#: The sensitive fields a download for a permitted reader shows (for the access log).
SENSITIVE_EXPORT_FIELDS = [
    sensitive.NAMES,
    *(field for field, _heading in SENSITIVE_PERSON_COLUMNS),
    "identitydocument.number",
]

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def export_queryset(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Return ``cases`` with everything a row needs joined or prefetched per chunk."""
    return cases.select_related(
        "person__serving_under", "detaining_party", "current_intention__source", "current_place"
    ).prefetch_related(
        Prefetch("person__names", queryset=PersonName.objects.order_by("person_id", "id")),
        Prefetch(
            "person__external_identifiers",
            queryset=ExternalIdentifier.objects.order_by("person_id", "scheme", "value", "id"),
        ),
        Prefetch(
            "person__nationality_claims",
            queryset=NationalityClaim.objects.select_related("claimed_by").order_by(
                "person_id", "country", "id"
            ),
        ),
        Prefetch(
            "person__identity_documents",
            queryset=IdentityDocument.objects.order_by("person_id", "id"),
        ),
        Prefetch(
            "notifications",
            queryset=Notification.objects.filter(state=NotificationState.PENDING).order_by(
                "case_id", "due_on", "id"
            ),
            to_attr="pending_notifications",
        ),
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
    "id",
    "current_place__name",
    "capture_card_due_on",
    "closed_at",
    "person__serving_under__name",
)
#: The person's sensitive fields, read only for a reader who may see them.
SENSITIVE_ROW_FIELDS = tuple(f"person__{field}" for field, _heading in SENSITIVE_PERSON_COLUMNS)


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
    """Return the heading row; it says so when sensitive name variants are left out.

    The sensitive identity columns (``SENSITIVE_COLUMNS``) are there only with
    ``show_sensitive``.
    """
    if show_sensitive:
        return [*COLUMNS, *SENSITIVE_COLUMNS]
    return [REDACTED_NAMES_HEADING if c == "Name variants" else c for c in COLUMNS]


def _identifiers_text(rows: list[Any]) -> str:
    return "; ".join(f"{row.scheme}:{row.value}" for row in rows)


def _claims_text(rows: list[tuple[Any, str]]) -> str:
    """Return ``(country, claimant's name)`` pairs as "KP (claimed by ...); RU (...)"."""
    return "; ".join(f"{country} (claimed by {claimant})" for country, claimant in rows)


def _documents_text(rows: list[Any]) -> str:
    return "; ".join(
        f"{row.kind} {row.issuer_country or '?'}: {row.number}" for row in rows if row.number
    )


def _yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def case_row(
    case: Case, *, show_sensitive: bool = False, today: dt.date | None = None
) -> list[Any]:
    """Return one case as a row of plain values, in ``columns()`` order.

    Without ``show_sensitive`` the name variants are the pseudonymous ones only and the
    sensitive identity columns are left out.
    """
    today = today or clocks.today()
    intention = case.current_intention
    source = intention.source if intention else None
    person = case.person
    destination = case.current_intention_destination
    row = [
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
        *_identity_cells(
            place=case.current_place.name if case.current_place_id else None,
            card_due=case.capture_card_due_on,
            closed_at=case.closed_at,
            notification_due=min((n.due_on for n in case.pending_notifications), default=None),
            serving_under=person.serving_under.name if person.serving_under_id else None,
            identifiers=_identifiers_text(list(person.external_identifiers.all())),
            claims=_claims_text(
                [(c.country, c.claimed_by.name) for c in person.nationality_claims.all()]
            ),
            today=today,
        ),
    ]
    if show_sensitive:
        row += [getattr(person, field) for field, _heading in SENSITIVE_PERSON_COLUMNS]
        row.append(_documents_text(list(person.identity_documents.all())))
    return row


def _identity_cells(
    *,
    place: str | None,
    card_due: dt.date | None,
    closed_at: dt.datetime | None,
    notification_due: dt.date | None,
    serving_under: str | None,
    identifiers: str,
    claims: str,
    today: dt.date,
) -> list[Any]:
    """Return the cells of the places, notifications and identity columns of one row."""
    card_overdue = clocks.capture_card_overdue(
        {"capture_card_due_on": card_due, "closed_at": closed_at}, today
    )
    return [
        place or "",
        card_due,
        _yes_no(card_overdue) if card_due else "",
        notification_due,
        _yes_no(notification_due < today) if notification_due else "",
        serving_under or "",
        identifiers,
        claims,
    ]


def _codes(stored: Any) -> str:
    """Return stored nationalities (a list, or a comma-separated string) as "KP, RU"."""
    if isinstance(stored, str):
        stored = stored.split(",")
    return ", ".join(str(getattr(code, "code", code)) for code in stored or () if code)


def _country_name(code: str) -> str:
    return _country_name_in(code, get_language())


@lru_cache(maxsize=512)
def _country_name_in(code: str, language: str | None) -> str:
    # Country names are in the reader's language: one per code and language.
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


def _grouped(rows, key: str) -> dict[Any, list[Any]]:
    found: dict[Any, list[Any]] = {}
    for row in rows:
        found.setdefault(getattr(row, key), []).append(row)
    return found


def _identity_by_person(person_ids: list[int], *, show_sensitive: bool) -> dict[str, dict]:
    """Return the identifiers, claims (and, with ``show_sensitive``, documents) per person.

    One query each for the given persons, whatever their number.
    """
    identifiers = _grouped(
        ExternalIdentifier.objects.filter(person_id__in=person_ids)
        .order_by("person_id", "scheme", "value", "id")
        .values_list("person_id", "scheme", "value", named=True),
        "person_id",
    )
    claims = _grouped(
        NationalityClaim.objects.filter(person_id__in=person_ids)
        .order_by("person_id", "country", "id")
        .values_list("person_id", "country", "claimed_by__name", named=True),
        "person_id",
    )
    found = {
        "identifiers": {k: _identifiers_text(v) for k, v in identifiers.items()},
        "claims": {
            k: _claims_text([(row.country, row.claimed_by__name) for row in v])
            for k, v in claims.items()
        },
        "documents": {},
    }
    if show_sensitive:
        documents = _grouped(
            IdentityDocument.objects.filter(person_id__in=person_ids)
            .order_by("person_id", "id")
            .values_list("person_id", "kind", "issuer_country", "number", named=True),
            "person_id",
        )
        found["documents"] = {k: _documents_text(v) for k, v in documents.items()}
    return found


def _notification_due_by_case(case_ids: list[int]) -> dict[int, dt.date]:
    """Return the earliest due day of each case's pending notifications, in one query."""
    return dict(
        Notification.objects.filter(case_id__in=case_ids, state=NotificationState.PENDING)
        .order_by()
        .values("case_id")
        .annotate(due=Min("due_on"))
        .values_list("case_id", "due")
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0)


def rows(cases: QuerySet[Case], *, show_sensitive: bool = False) -> Iterator[list[Any]]:
    """Yield every filtered case as a row, in ``COLUMNS`` order, reading in chunks.

    The cases are read as plain values (``values_list``, no model instances) through a
    server-side cursor (``iterator(chunk_size=CHUNK_SIZE)``); the name variants of each
    chunk's persons come in one more query, and so do their identifiers, nationality
    claims, pending notifications and (for a reader of sensitive values) documents. So an
    export holds one chunk in memory and costs one query for the cases plus a fixed few per
    chunk, whatever its size. The values are those of ``case_row``; a test compares the two.
    """
    labels = _LABELS
    today = clocks.today()
    fields = ROW_FIELDS + (SENSITIVE_ROW_FIELDS if show_sensitive else ())
    stream = cases.values_list(*fields).iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(stream, CHUNK_SIZE)):
        person_ids = list({row[1] for row in chunk})
        names = _names_by_person(person_ids, show_sensitive=show_sensitive)
        identity = _identity_by_person(person_ids, show_sensitive=show_sensitive)
        notification_due = _notification_due_by_case([row[19] for row in chunk])
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
            case_id,
            place,
            card_due,
            closed_at,
            serving_under,
            *secrets,
        ) in chunk:
            has_intention = intention_id is not None
            row = [
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
                *_identity_cells(
                    place=place,
                    card_due=card_due,
                    closed_at=closed_at,
                    notification_due=notification_due.get(case_id),
                    serving_under=serving_under,
                    identifiers=identity["identifiers"].get(person_id, ""),
                    claims=identity["claims"].get(person_id, ""),
                    today=today,
                ),
            ]
            if show_sensitive:
                row += secrets
                row.append(identity["documents"].get(person_id, ""))
            yield row


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
