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
from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice
from typing import Any

from django.db.models import BooleanField, F, Func, Min, Prefetch, QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.translation import get_language, gettext, gettext_lazy
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

#: The name variants heading, replaced when only pseudonyms are exported.
NAME_VARIANTS_HEADING = gettext_lazy("Name variants")
#: Column headings, in order; the table's columns plus the current intention's source. They
#: are in the reader's language, as the page's table is; programs read the API instead.
COLUMNS = [
    gettext_lazy("Reference"),
    gettext_lazy("Person"),
    NAME_VARIANTS_HEADING,
    gettext_lazy("Nationalities"),
    gettext_lazy("Detaining party"),
    gettext_lazy("Legal status"),
    gettext_lazy("Status"),
    gettext_lazy("Current intention"),
    gettext_lazy("Destination"),
    gettext_lazy("Verification"),
    gettext_lazy("Verified"),
    gettext_lazy("Capture date"),
    gettext_lazy("Capture date precision"),
    gettext_lazy("Last change (UTC)"),
    gettext_lazy("Intention source title"),
    gettext_lazy("Intention source publisher"),
    gettext_lazy("Intention source date"),
    gettext_lazy("Case id"),
    gettext_lazy("Held now at"),
    gettext_lazy("Capture card due"),
    gettext_lazy("Capture card overdue"),
    gettext_lazy("Notification due"),
    gettext_lazy("Notification overdue"),
    gettext_lazy("Serving under"),
    gettext_lazy("External identifiers"),
    gettext_lazy("Nationality claims"),
]

#: The person's sensitive fields (GC III Art. 17, 122) the export gives, with their headings,
#: to readers who may see sensitive values; ``Identity documents`` follows them.
SENSITIVE_PERSON_COLUMNS = (
    ("family_name", gettext_lazy("Family name")),
    ("given_names", gettext_lazy("Given names")),
    ("father_first_name", gettext_lazy("Father's first name")),
    ("mother_maiden_name", gettext_lazy("Mother's maiden name")),
    ("person_to_inform", gettext_lazy("Person to inform")),
    ("correspondence_address", gettext_lazy("Address for correspondence")),
)
#: Headings of the columns only readers of sensitive values get.
SENSITIVE_COLUMNS = [heading for _field, heading in SENSITIVE_PERSON_COLUMNS] + [
    gettext_lazy("Identity documents")
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


def _labels() -> dict[str, dict[str, str]]:
    """Return the labels of the stored choice values in the reader's language.

    Looked up once per export rather than per row and field (``choice_labels`` keeps one
    mapping per language).
    """
    return {
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
REDACTED_NAMES_HEADING = gettext_lazy("Name variants (pseudonyms only; other variants redacted)")


def columns(*, show_sensitive: bool) -> list[str]:
    """Return the heading row; it says so when sensitive name variants are left out.

    The sensitive identity columns (``SENSITIVE_COLUMNS``) are there only with
    ``show_sensitive``.
    """
    if show_sensitive:
        return [str(heading) for heading in (*COLUMNS, *SENSITIVE_COLUMNS)]
    return [
        str(REDACTED_NAMES_HEADING if heading is NAME_VARIANTS_HEADING else heading)
        for heading in COLUMNS
    ]


def _identifiers_text(rows: list[tuple[str, str]]) -> str:
    """Return ``(scheme, value)`` pairs as "scheme:value; scheme:value"."""
    return "; ".join(f"{scheme}:{value}" for scheme, value in rows)


def _claims_text(rows: list[tuple[Any, str]]) -> str:
    """Return ``(country, claimant's name)`` pairs as "KP (claimed by ...); RU (...)"."""
    return "; ".join(f"{country} (claimed by {claimant})" for country, claimant in rows)


def _documents_text(rows: list[tuple[str, str, str]]) -> str:
    """Return ``(kind, issuer country, number)`` triples as "kind KP: number; ..."."""
    return "; ".join(f"{kind} {issuer or '?'}: {number}" for kind, issuer, number in rows if number)


def _yes_no() -> dict[bool, str]:
    """Return the yes and no cells in the reader's language, looked up once per export."""
    return {True: gettext("yes"), False: gettext("no")}


def case_row(
    case: Case, *, show_sensitive: bool = False, today: dt.date | None = None
) -> list[Any]:
    """Return one case as a row of plain values, in ``columns()`` order.

    Without ``show_sensitive`` the name variants are the pseudonymous ones only and the
    sensitive identity columns are left out.
    """
    today = today or clocks.today()
    labels = _labels()
    yes_no = _yes_no()
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
        labels["legal_status"].get(case.legal_status, case.legal_status),
        labels["status"].get(case.status, case.status),
        labels["option"].get(case.current_intention_option, case.current_intention_option),
        _country_name(destination.code) if destination else "",
        labels["verification"].get(
            case.current_intention_verification, case.current_intention_verification
        ),
        yes_no[case.current_intention_verified] if intention else "",
        case.capture_date,
        labels["precision"].get(case.capture_date_precision, "") if case.capture_date else "",
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
            identifiers=_identifiers_text(
                [(row.scheme, row.value) for row in person.external_identifiers.all()]
            ),
            claims=_claims_text(
                [(c.country, c.claimed_by.name) for c in person.nationality_claims.all()]
            ),
            today=today,
            yes_no=yes_no,
        ),
    ]
    if show_sensitive:
        row += [getattr(person, field) for field, _heading in SENSITIVE_PERSON_COLUMNS]
        row.append(
            _documents_text(
                [(d.kind, d.issuer_country, d.number) for d in person.identity_documents.all()]
            )
        )
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
    yes_no: dict[bool, str],
) -> list[Any]:
    """Return the cells of the places, notifications and identity columns of one row."""
    card_overdue = clocks.capture_card_overdue(
        {"capture_card_due_on": card_due, "closed_at": closed_at}, today
    )
    return [
        place or "",
        card_due,
        yes_no[card_overdue] if card_due else "",
        notification_due,
        yes_no[notification_due < today] if notification_due else "",
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


class _OneOf(Func):
    """True when ``column`` is one of ``values`` (a chunk's ids).

    PostgreSQL gets the ids as one array parameter, ``column = ANY(%s)``: an ``IN`` list of
    2,000 parameters cost more to build (Django prepares each one) and to send (the driver
    splits the statement at each placeholder) than the query took to run. Elsewhere it is a
    plain ``column IN (%s, ...)``.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, values: list[int]):
        super().__init__(F(column))
        self.values = values

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        if not self.values:
            return "1 = 0", []
        placeholders = ", ".join(["%s"] * len(self.values))
        return f"{column} IN ({placeholders})", [*params, *self.values]

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        # As one text literal: the driver would dump a list element by element in Python.
        array = "{" + ",".join(map(str, self.values)) + "}"
        return f"{column} = ANY(%s::bigint[])", [*params, array]


def _names_by_person(person_ids: list[int], *, show_sensitive: bool) -> dict[int, str]:
    """Return ``{person id: "variant; variant"}`` for the given persons, in one query.

    The variants a reader without the permission may see are chosen by
    ``sensitive.visible_names``, as for every other reader.
    """
    found: dict[int, list[Any]] = {}
    names = (
        PersonName.objects.filter(_OneOf("person_id", person_ids))
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


def _grouped(rows: Iterable[tuple]) -> dict[Any, list[tuple]]:
    """Return ``{first value: [the rest of each row, ...]}``, in the rows' order."""
    found: dict[Any, list[tuple]] = {}
    for key, *rest in rows:
        if key in found:
            found[key].append(rest)
        else:
            found[key] = [rest]
    return found


def _identity_by_person(person_ids: list[int], *, show_sensitive: bool) -> dict[str, dict]:
    """Return the identifiers, claims (and, with ``show_sensitive``, documents) per person.

    One query each for the given persons, whatever their number.
    """
    chunk = _OneOf("person_id", person_ids)
    identifiers = _grouped(
        ExternalIdentifier.objects.filter(chunk)
        .order_by("person_id", "scheme", "value", "id")
        .values_list("person_id", "scheme", "value")
    )
    claims = _grouped(
        NationalityClaim.objects.filter(chunk)
        .order_by("person_id", "country", "id")
        .values_list("person_id", "country", "claimed_by__name")
    )
    found = {
        "identifiers": {k: _identifiers_text(v) for k, v in identifiers.items()},
        "claims": {k: _claims_text(v) for k, v in claims.items()},
        "documents": {},
    }
    if show_sensitive:
        documents = _grouped(
            IdentityDocument.objects.filter(chunk)
            .order_by("person_id", "id")
            .values_list("person_id", "kind", "issuer_country", "number")
        )
        found["documents"] = {k: _documents_text(v) for k, v in documents.items()}
    return found


def _notification_due_by_case(case_ids: list[int]) -> dict[int, dt.date]:
    """Return the earliest due day of each case's pending notifications, in one query."""
    return dict(
        Notification.objects.filter(_OneOf("case_id", case_ids), state=NotificationState.PENDING)
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

    Everything that depends only on the reader's language (labels, yes and no, country
    names) is looked up once per export, not per row.
    """
    labels = _labels()
    legal_statuses, statuses = labels["legal_status"], labels["status"]
    options, verifications = labels["option"], labels["verification"]
    precisions = labels["precision"]
    yes_no = _yes_no()
    language = get_language()
    country_names: dict[str, str] = {}
    today = clocks.today()
    fields = ROW_FIELDS + (SENSITIVE_ROW_FIELDS if show_sensitive else ())
    stream = cases.values_list(*fields).iterator(chunk_size=CHUNK_SIZE)
    while chunk := list(islice(stream, CHUNK_SIZE)):
        person_ids = list({row[1] for row in chunk})
        names = _names_by_person(person_ids, show_sensitive=show_sensitive)
        identity = _identity_by_person(person_ids, show_sensitive=show_sensitive)
        identifiers, claims = identity["identifiers"], identity["claims"]
        documents = identity["documents"]
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
            if destination:
                code = str(destination)
                if code not in country_names:
                    country_names[code] = _country_name_in(code, language)
                destination = country_names[code]
            row = [
                reference,
                working_name,
                names.get(person_id, ""),
                _codes(nationalities),
                party,
                legal_statuses.get(legal_status, legal_status),
                statuses.get(status, status),
                options.get(option, option),
                destination or "",
                verifications.get(verification, verification),
                yes_no[verified] if has_intention else "",
                capture_date,
                precisions.get(precision, "") if capture_date else "",
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
                    identifiers=identifiers.get(person_id, ""),
                    claims=claims.get(person_id, ""),
                    today=today,
                    yes_no=yes_no,
                ),
            ]
            if show_sensitive:
                row += secrets
                row.append(documents.get(person_id, ""))
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


def _in_language(chunks: Iterator, language: str | None) -> Iterator:
    """Yield ``chunks``, each produced with ``language`` active.

    A streamed body is produced after the view has returned, when the reader's language may
    no longer be the active one; the headings and labels are in the reader's language.
    """
    iterator = iter(chunks)
    while True:
        with translation.override(language):
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def _filename(extension: str) -> str:
    return f"cases-{timezone.now():%Y%m%d-%H%M%S}.{extension}"


def csv_response(cases: QuerySet[Case], *, show_sensitive: bool = False) -> StreamingHttpResponse:
    """Return a streamed CSV download of ``cases``."""
    response = StreamingHttpResponse(
        _in_language(csv_chunks(cases, show_sensitive=show_sensitive), get_language()),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    response["Cache-Control"] = "no-store"
    return response


#: Characters XML 1.0 cannot hold (C0 controls but tab, newline and carriage return); a
#: name entered with one must not make the workbook unwritable.
def xlsx_response(cases: QuerySet[Case], *, show_sensitive: bool = False) -> StreamingHttpResponse:
    """Return an XLSX download of ``cases``, sent while it is written."""
    response = StreamingHttpResponse(
        _in_language(
            stream_xlsx(
                columns(show_sensitive=show_sensitive),
                rows(cases, show_sensitive=show_sensitive),
                sheet_name=gettext("Cases"),
            ),
            get_language(),
        ),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    response["Cache-Control"] = "no-store"
    return response
