"""Rows described once: the serializers' fields, the rows read and their representation.

``CaseSerializer`` documents a case as lists show it (the OpenAPI schema is built from it);
the list itself reads its page as plain rows (``selectors.api_case_rows``) and represents
them without a serializer, because model instances and serializer fields cost several
times the queries on a page of 50. :data:`CASE_LIST` names each key of that representation,
the row's columns it comes from and how it is written: the serializer's ``fields``, the
columns the rows read and :func:`represent_row` all come from it, so a new key is one new
entry here (and, when the model cannot document it, one declared field).

A case's detail nests its statements, requests and the requests' positions; they are
described the same way (:data:`INTENTION_ROW`, :data:`REQUEST_ROW`, :data:`POSITION_ROW`),
so the detail too is read as plain rows (``selectors.api_case_detail_rows``) and written
without per-field machinery, where building the nested serializers of every response cost
more than the reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from cases.choices import VERIFIED_LEVELS

#: How a value is written.
PLAIN, UUID, DATE, TIMESTAMP, COUNTRY, URL, PERSON, OVERDUE = (
    "plain",
    "uuid",
    "date",
    "timestamp",
    "country",
    "url",
    "person",
    "overdue",
)
#: Whether a statement's level counts as verified; the sensitive fields withheld (written
#: by ``cases.security.sensitive.redact_fields``, after the other keys); rows of another
#: description that belong to this one (``Rendering.related``, by the value of the column).
VERIFIED, REDACTED, RELATED = "verified", "redacted", "related"


@dataclass(frozen=True)
class Column:
    """One key of a listed row: the row's column it comes from and how it is written.

    A nested object lists its ``members``; it (or a value) is null when the column
    ``null_unless`` is. A kind that needs more than one column names the others in
    ``reads``.
    """

    key: str
    path: str = ""
    kind: str = PLAIN
    null_unless: str | None = None
    members: tuple[Column, ...] = ()
    reads: tuple[str, ...] = ()

    def columns(self) -> list[str]:
        """Return the row columns this key reads."""
        own = [self.null_unless] if self.null_unless else []
        own += [self.path] if self.path else []
        own += list(self.reads)
        return own + [column for member in self.members for column in member.columns()]


#: A case as lists show it, in key order.
CASE_LIST = (
    Column("url", "uuid", URL),
    Column("uuid", "uuid", UUID),
    Column("reference", "reference"),
    Column("status", "status"),
    Column("legal_status", "legal_status"),
    Column(
        "person",
        "person__uuid",
        PERSON,
        reads=("person_id", "person__working_name"),
    ),
    Column(
        "detaining_party",
        members=(
            Column("uuid", "detaining_party__uuid", UUID),
            Column("name", "detaining_party__name"),
        ),
    ),
    Column("capture_date", "capture_date", DATE),
    Column("capture_date_precision", "capture_date_precision"),
    Column("capture_place", "capture_place"),
    Column("capture_place_code", "capture_place_code"),
    Column("detention_place", "detention_place"),
    Column(
        "current_place",
        null_unless="current_place_id",
        members=(
            Column("uuid", "current_place__uuid", UUID),
            Column("name", "current_place__name"),
        ),
    ),
    Column("capture_card_due_on", "capture_card_due_on", DATE),
    Column("capture_card_overdue", "capture_card_due_on", OVERDUE, reads=("closed_at",)),
    Column("priority", "priority"),
    Column("assigned_officer", "assigned_officer__username"),
    Column(
        "current_intention",
        null_unless="current_intention_id",
        members=(
            Column("uuid", "current_intention__uuid", UUID),
            Column("option", "current_intention_option"),
            Column("destination_country", "current_intention_destination", COUNTRY),
            Column("verification", "current_intention_verification"),
            Column("verified", "current_intention_verified"),
            Column("stated_on", "current_intention__stated_on", DATE),
        ),
    ),
    Column("open_request_count", "open_request_count"),
    Column("version", "version"),
    Column("opened_at", "opened_at", TIMESTAMP),
    Column("closed_at", "closed_at", TIMESTAMP),
    Column("released_to", "released_to", COUNTRY),
    Column("released_to_place", "released_to_place"),
    Column("updated_at", "updated_at", TIMESTAMP),
    Column("archived_at", "archived_at", TIMESTAMP),
)


def _ref(key: str, label: str = "name", *, nullable: bool = True) -> Column:
    """Return a nested reference ``{uuid, label}`` to the row the foreign key ``key`` names."""
    return Column(
        key,
        null_unless=f"{key}_id" if nullable else None,
        members=(Column("uuid", f"{key}__uuid", UUID), Column(label, f"{key}__{label}")),
    )


def _uuid_of(key: str) -> Column:
    """Return the uuid of the row the foreign key ``key`` names, or null."""
    return Column(key, f"{key}__uuid", UUID, null_unless=f"{key}_id")


#: A statement as a case's detail nests it (``IntentionSerializer``), in key order.
INTENTION_ROW = (
    Column("url", "uuid", URL),
    Column("uuid", "uuid", UUID),
    Column("case", "case__uuid", UUID),
    Column("option", "option"),
    Column("destination_country", "destination_country", COUNTRY),
    Column("certainty", "certainty"),
    Column("conditions", "conditions"),
    Column("quote", "quote"),
    Column("quote_language", "quote_language"),
    Column("stated_on", "stated_on", DATE),
    Column("stated_on_precision", "stated_on_precision"),
    _ref("heard_by"),
    Column("heard_by_role", "heard_by_role"),
    Column("setting", "setting"),
    _ref("interpreter_supplied_by"),
    Column("present_parties", "id", RELATED),
    Column("detaining_power_present", "detaining_power_present"),
    Column("options_explained", "options_explained"),
    Column("duress_signs", "duress_signs"),
    Column("verification", "verification"),
    Column("verified", "verification", VERIFIED),
    Column("state", "state"),
    _uuid_of("supersedes"),
    _uuid_of("interview"),
    _ref("source", "title"),
    Column("redacted", kind=REDACTED),
    Column("version", "version"),
    Column("recorded_at", "recorded_at", TIMESTAMP),
    Column("archived_at", "archived_at", TIMESTAMP),
)

#: A party's stance on a request as the request nests it (``PositionSerializer``).
POSITION_ROW = (
    Column("uuid", "uuid", UUID),
    _ref("party", nullable=False),
    Column("stance", "stance"),
    Column("conditions", "conditions"),
    Column("stated_on", "stated_on", DATE),
    _ref("source", "title"),
    Column("recorded_at", "recorded_at", TIMESTAMP),
)

#: A request as a case's detail nests it (``RequestSerializer``), in key order.
REQUEST_ROW = (
    Column("url", "uuid", URL),
    Column("uuid", "uuid", UUID),
    Column("case", "case__uuid", UUID),
    Column("kind", "kind"),
    _ref("requested_by"),
    _ref("addressed_to"),
    Column("destination_country", "destination_country", COUNTRY),
    Column("legal_basis", "legal_basis"),
    Column("status", "status"),
    Column("filed_on", "filed_on", DATE),
    Column("decided_on", "decided_on", DATE),
    Column("decision_reason", "decision_reason"),
    _uuid_of("intention"),
    _ref("source", "title"),
    Column("positions", "id", RELATED),
    Column("version", "version"),
    Column("created_at", "created_at", TIMESTAMP),
    Column("updated_at", "updated_at", TIMESTAMP),
    Column("archived_at", "archived_at", TIMESTAMP),
)

#: A party named inside another row (``PartyRefSerializer``), read as ``{uuid, name}``.
PARTY_REF = (Column("uuid", "uuid", UUID), Column("name", "name"))

#: Keys the list's rows compute rather than read from the case or its joins.
COMPUTED = frozenset({"open_request_count"})


def row_columns(description: tuple[Column, ...] = CASE_LIST) -> tuple[str, ...]:
    """Return the columns a described row reads, each once, in the description's order."""
    columns: list[str] = []
    for column in description:
        if column.key in COMPUTED or column.kind == REDACTED:
            continue
        for name in column.columns():
            if name not in columns:
                columns.append(name)
    return tuple(columns)


@dataclass
class Rendering:
    """What one response's rows share: the reader's addresses, zone and person writer."""

    url_of: Callable[[Any], str]
    person: Callable[[Mapping], dict] | None = None
    zone: Any = field(default_factory=timezone.get_current_timezone)
    #: The day deadlines are measured against (``cases.clocks.today``).
    today: Any = field(default_factory=lambda: _clocks_today())
    #: Per ``RELATED`` key: the represented rows that belong to each value of its column.
    related: Mapping[str, Mapping[Any, list]] = field(default_factory=dict)


def _clocks_today():
    from cases import clocks

    return clocks.today()


def _timestamp(value, zone) -> str | None:
    """Return a timestamp as DRF's DateTimeField does: ISO 8601, UTC written as ``Z``."""
    if value is None:
        return None
    text = value.astimezone(zone).isoformat() if timezone.is_aware(value) else value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


_WRITERS: dict[str, Callable[[Any, Mapping, Rendering], Any]] = {
    PLAIN: lambda value, row, rendering: value,
    UUID: lambda value, row, rendering: str(value),
    DATE: lambda value, row, rendering: None if value is None else value.isoformat(),
    TIMESTAMP: lambda value, row, rendering: _timestamp(value, rendering.zone),
    COUNTRY: lambda value, row, rendering: value or "",
    URL: lambda value, row, rendering: rendering.url_of(value),
    PERSON: lambda value, row, rendering: rendering.person(row),
    # Whether the capture card's day has passed (cases/clocks.py), from the row's due date.
    OVERDUE: lambda value, row, rendering: (
        value is not None and row["closed_at"] is None and value < rendering.today
    ),
    VERIFIED: lambda value, row, rendering: value in VERIFIED_LEVELS,
}


def _value(column: Column, row: Mapping, rendering: Rendering):
    if column.null_unless and row[column.null_unless] is None:
        return None
    if column.members:
        return {member.key: _value(member, row, rendering) for member in column.members}
    if column.kind == RELATED:
        return list(rendering.related[column.key].get(row[column.path], ()))
    return _WRITERS[column.kind](row[column.path], row, rendering)


def represent_row(
    row: Mapping, rendering: Rendering, description: tuple[Column, ...] = CASE_LIST
) -> dict:
    """Return the representation of one described row, keys in the description's order.

    A ``REDACTED`` key is left out: the redaction (``sensitive.redact_fields``) adds it last,
    where the serializers' ``SensitiveFieldsMixin`` adds it too.
    """
    return {
        column.key: _value(column, row, rendering)
        for column in description
        if column.kind != REDACTED
    }
