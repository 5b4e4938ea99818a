"""What a feed event looks like: the documented serializer and the page's fast paths.

A page of the change feed is read as plain rows (:func:`event_rows`) or, on PostgreSQL, as
JSON the database writes itself (:func:`event_documents`); :func:`page_results` redacts
what the reader may not see and returns the page's ``results`` as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, F, Func, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from cases.models import TimelineEvent
from cases.security import access, sensitive
from cases.security.policy import policy_for

# --------------------------------------------------------------------------------------------
# The description of an event
# --------------------------------------------------------------------------------------------

#: How a value is written. TEXT goes through JSON's escaping; UUID, TIMESTAMP and HEX need
#: none and are quoted as they are; NUMBER and JSON are written as the database holds them.
TEXT, UUID, TIMESTAMP, HEX, NUMBER, JSON = "text", "uuid", "timestamp", "hex", "number", "json"
#: A list that redaction fills in for the reader (``redacted``): empty as the event is stored.
REDACTED = "redacted"


@dataclass(frozen=True)
class Member:
    """One key of an event's representation: where its value comes from and how it is shown.

    A leaf reads the column ``path`` (an ORM path from the event, ``__`` between relations)
    and writes it as ``kind``. A nested object lists its ``members`` and the serializer that
    documents it; it reads the related row ``relation`` (or the event itself when None). A
    value or object is null when the column ``null_unless`` is. ``help_text`` declares the
    documented field instead of taking the model's.
    """

    key: str
    path: str = ""
    kind: str = TEXT
    null_unless: str | None = None
    relation: str | None = None
    members: tuple[Member, ...] = ()
    help_text: str = ""

    @property
    def is_nested(self) -> bool:
        """Return True for a nested object."""
        return bool(self.members)

    def columns(self) -> list[str]:
        """Return the columns this member reads, its null test's included."""
        own = [self.null_unless] if self.null_unless else []
        if self.is_nested:
            return own + [column for member in self.members for column in member.columns()]
        return own + ([self.path] if self.path else [])


CASE_MEMBERS = (Member("uuid", "case__uuid", UUID), Member("reference", "case__reference"))
SOURCE_MEMBERS = (Member("uuid", "source__uuid", UUID), Member("title", "source__title"))
ACTOR_MEMBERS = (
    Member("label", "actor_label"),
    Member(
        "username",
        "actor__username",
        null_unless="actor_id",
        help_text="Return the acting user's username, or None for the system and commands.",
    ),
)

#: One timeline event as the feed, the case timeline and the webhooks show it, in key
#: order. The documented serializer, the rows read in Python and the JSON written by
#: PostgreSQL all come from this: a new key is one new member.
EVENT = (
    Member("uuid", "uuid", UUID),
    Member("case", null_unless="case_id", relation="case", members=CASE_MEMBERS),
    Member("case_seq", "case_seq", NUMBER),
    Member("kind", "kind"),
    Member("summary", "summary"),
    Member(
        "changes",
        "changes",
        JSON,
        help_text="What changed, as {field: [old, new]}; a value that refers to a row is "
        "{'uuid': ..., 'label': ...}; a sensitive key withheld from this reader has null for "
        "its pair and is named in 'redacted'.",
    ),
    Member("actor", members=ACTOR_MEMBERS),
    Member("channel", "channel"),
    Member("reason", "reason"),
    Member("source", null_unless="source_id", relation="source", members=SOURCE_MEMBERS),
    Member("subject_type", "subject_type"),
    Member("subject_uuid", "subject_uuid", UUID),
    Member("subject_version", "subject_version", NUMBER),
    Member("object", "object", JSON),
    Member("occurred_at", "occurred_at", TIMESTAMP),
    Member("occurred_precision", "occurred_precision"),
    Member("recorded_at", "recorded_at", TIMESTAMP),
    Member(
        "prev_hash",
        "prev_hash",
        HEX,
        help_text="'hash' of the event before this one in its chain; empty for the first.",
    ),
    Member(
        "hash",
        "hash",
        HEX,
        help_text=(
            "SHA-256 (hex) over this event's full content and 'prev_hash': the head of its "
            "chain (the case's, in case_seq order) when it is the latest. Keep the latest "
            "hash of each case: 'manage.py verify_timeline' proves the history up to it."
        ),
    ),
    Member(
        "redacted",
        kind=REDACTED,
        help_text="Keys of 'changes' (and 'summary') withheld from this reader.",
    ),
)


# --------------------------------------------------------------------------------------------
# The documented serializer, from the description
# --------------------------------------------------------------------------------------------


def _source(member: Member, relation: str | None) -> str:
    """Return the serializer source of a leaf, relative to its object's row."""
    path = member.path
    if relation:
        path = path.removeprefix(f"{relation}__")
    return path.replace("__", ".")


def _documented_field(member: Member, relation: str | None) -> serializers.Field:
    """Return the read-only serializer field that documents a leaf of a nested object."""
    options = {"read_only": True, "source": _source(member, relation)}
    if options["source"] == member.key:
        del options["source"]
    if member.null_unless:
        options["allow_null"] = True
    if member.help_text:
        options["help_text"] = member.help_text
    if member.kind == UUID:
        return serializers.UUIDField(**options)
    return serializers.CharField(**options)


class DescribedSerializer(serializers.Serializer):
    """A read-only serializer whose fields come from ``members`` (see :class:`Member`)."""

    members: tuple[Member, ...] = ()
    relation: str | None = None

    def get_fields(self):
        return {member.key: _documented_field(member, self.relation) for member in self.members}


class FeedCaseSerializer(DescribedSerializer):
    """The case an event belongs to."""

    members = CASE_MEMBERS
    relation = "case"


class FeedSourceSerializer(DescribedSerializer):
    """The source an event cites."""

    members = SOURCE_MEMBERS
    relation = "source"


class FeedActorSerializer(DescribedSerializer):
    """Who acted: the label shown on the timeline and the user's username, if a user acted."""

    members = ACTOR_MEMBERS


#: The serializer documenting each nested object of :data:`EVENT`.
_NESTED_SERIALIZERS = {
    "case": FeedCaseSerializer,
    "source": FeedSourceSerializer,
    "actor": FeedActorSerializer,
}


@extend_schema_field({"type": "object", "additionalProperties": True})
class JsonObjectField(serializers.JSONField):
    """A JSON object (never a list or a scalar), documented as one."""


def _event_field(member: Member) -> serializers.Field | None:
    """Return the declared field of a member of :data:`EVENT`; None to take the model's."""
    if member.kind == JSON:
        column = TimelineEvent._meta.get_field(member.path)
        return JsonObjectField(
            read_only=True,
            allow_null=column.null,
            help_text=member.help_text or column.help_text or None,
        )
    if member.is_nested:
        serializer = _NESTED_SERIALIZERS[member.key]
        if member.relation is None:
            return serializer(source="*", read_only=True)
        return serializer(read_only=True, allow_null=member.null_unless is not None)
    if member.kind == REDACTED:
        return serializers.ListField(
            child=serializers.CharField(), read_only=True, help_text=member.help_text
        )
    if member.help_text or "__" in member.path:
        source = _source(member, None)
        options = {"source": source} if source != member.key else {}
        if member.null_unless:
            options["allow_null"] = True
        return serializers.CharField(read_only=True, help_text=member.help_text, **options)
    return None


class FeedEventSerializer(serializers.ModelSerializer):
    """One timeline event as the feed and the case timeline show it."""

    # The fields come from EVENT: plain columns are the model's fields (their choices and
    # help texts document them); nested objects and members with a help text of their own
    # are declared from the description.

    class Meta:
        model = TimelineEvent
        fields = [member.key for member in EVENT]
        read_only_fields = fields

    def get_fields(self):
        declared = {}
        for member in EVENT:
            field = _event_field(member)
            if field is not None:
                declared[member.key] = field
        self._declared_fields = declared
        return super().get_fields()

    def get_field_names(self, declared_fields, info):
        # Read at use, as the fast paths read it, rather than fixed when the class was made.
        return [member.key for member in EVENT]

    def get_extra_kwargs(self):
        return {member.key: {"read_only": True} for member in EVENT}


class HeldBackSerializer(serializers.Serializer):
    """The open transaction that may be holding events back from the feed."""

    since = serializers.DateTimeField(
        allow_null=True,
        help_text="When the open transaction began (the answer's Date minus this is how long "
        "the feed has been held); null when the server may not see it.",
    )


class EventFeedPageSerializer(serializers.Serializer):
    """A page of the change feed."""

    results = FeedEventSerializer(many=True)
    next_cursor = serializers.CharField(
        help_text="Pass this back as 'after' on the next request, also when 'results' is empty."
    )
    has_more = serializers.BooleanField(
        help_text="True when more events are visible right now; poll again at once."
    )
    held_back = HeldBackSerializer(
        allow_null=True,
        help_text="Null when nothing holds the feed back (caught up when has_more is false); "
        "otherwise events committed since 'since' may still be pending behind an open "
        "transaction (PostgreSQL; docs/feed.md, Lag).",
    )


class CaseTimelinePageSerializer(serializers.Serializer):
    """A page of one case's timeline."""

    results = FeedEventSerializer(many=True)
    next_after_seq = serializers.IntegerField(
        help_text="Pass this back as 'after_seq' on the next request."
    )
    has_more = serializers.BooleanField()


def _events() -> QuerySet[TimelineEvent]:
    """Return events with everything the representation shows joined in (no per-row query)."""
    return TimelineEvent.objects.select_related("case", "actor", "source")


# --------------------------------------------------------------------------------------------
# The page as plain rows, represented in Python, from the description
# --------------------------------------------------------------------------------------------


def _leaves(members: Iterable[Member]) -> Iterator[Member]:
    for member in members:
        if member.is_nested:
            yield from _leaves(member.members)
        elif member.path:
            yield member


def _row_key(member: Member) -> str:
    """Return the key of a leaf's value in a row of :func:`event_rows`."""
    if member.kind in (UUID, TIMESTAMP):
        # Read through an expression (text on PostgreSQL), so under a name of its own.
        return f"{member.path}_text"
    return member.path


def _row_columns() -> tuple[str, ...]:
    """Return the columns :func:`event_rows` reads as they are, feed order's included."""
    columns = ["id", "xact_id"]
    for member in EVENT:
        for column in member.columns():
            if column not in columns and not _leaf_is_expression(column):
                columns.append(column)
    return tuple(columns)


def _leaf_is_expression(column: str) -> bool:
    return any(leaf.path == column and _row_key(leaf) != column for leaf in _leaves(EVENT))


class IsoUtc(Func):
    """Write a timestamp as DRF's DateTimeField does in UTC: seconds, micro only if any, Z."""

    output_field = TextField()
    # One to_char: the microseconds are dropped when zero, as Python's isoformat() does; a
    # date and time never hold a dot elsewhere.
    template = (
        "replace(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), "
        "'.000000', '') || 'Z'"
    )


def event_rows(queryset: QuerySet[TimelineEvent]) -> QuerySet:
    """Return ``queryset`` as plain rows holding what :func:`represent_events` needs.

    Model instances and serializer fields cost far more per event than the query itself,
    so a page of the feed is read as dictionaries. On PostgreSQL the database also writes
    the uuids and (when the current time zone is UTC, as DRF would show them) the
    timestamps as text, which spares a Python object per value.
    """
    expressions = {}
    on_postgresql = connection.vendor == "postgresql"
    in_utc = timezone.get_current_timezone_name() == "UTC"
    for leaf in _leaves(EVENT):
        if leaf.kind == UUID:
            expressions[_row_key(leaf)] = (
                Cast(leaf.path, TextField()) if on_postgresql else F(leaf.path)
            )
        elif leaf.kind == TIMESTAMP:
            expressions[_row_key(leaf)] = (
                IsoUtc(leaf.path) if on_postgresql and in_utc else F(leaf.path)
            )
    return queryset.values(*_row_columns(), **expressions)


def _text(value) -> str | None:
    """Return a uuid as text (PostgreSQL already sends text)."""
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _timestamp(value, zone) -> str | None:
    """Return a timestamp as DRF's DateTimeField does: ISO 8601, UTC written as ``Z``."""
    if value is None or isinstance(value, str):
        return value
    text = value.astimezone(zone).isoformat() if timezone.is_aware(value) else value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _python_value(member: Member) -> str | None:
    """Return the Python expression of a member's value in a row, or None to leave it out."""
    if member.kind == REDACTED:
        return None  # Redaction adds it, for the reader at hand.
    if member.is_nested:
        items = []
        for child in member.members:
            value = _python_value(child)
            if value is not None:
                items.append(f"{child.key!r}: {value}")
        value = "{" + ", ".join(items) + "}"
    else:
        value = f"row[{_row_key(member)!r}]"
        if member.kind == UUID:
            value = f"_text({value})"
        elif member.kind == TIMESTAMP:
            value = f"_timestamp({value}, zone)"
    if member.null_unless:
        value = f"({value} if row[{member.null_unless!r}] is not None else None)"
    return value


def _python_representer():
    """Return ``represent(row, zone)``, compiled from :data:`EVENT`.

    One dictionary display per event, as a hand-written function would be: a loop over the
    members for every event would cost several times as much on a page of thousands.
    """
    items = []
    for member in EVENT:
        value = _python_value(member)
        if value is not None:
            items.append(f"{member.key!r}: {value}")
    source = "def represent(row, zone):\n    return {" + ", ".join(items) + "}\n"
    namespace = {"_text": _text, "_timestamp": _timestamp}
    exec(compile(source, "<cases.feed.documents.EVENT>", "exec"), namespace)  # noqa: S102
    return namespace["represent"]


_represent = _python_representer()


def represent_events(rows: Iterable[dict]) -> list[dict]:
    """Return the representation of event rows, equal to :class:`FeedEventSerializer`'s.

    Both come from :data:`EVENT`; this builds the dictionaries from :func:`event_rows`
    without per-field machinery. ``redacted`` is left to redaction.
    """
    zone = timezone.get_current_timezone()
    return [_represent(row, zone) for row in rows]


# --------------------------------------------------------------------------------------------
# The page as JSON, written by PostgreSQL, from the description
# --------------------------------------------------------------------------------------------


def _json_string(sql: str) -> str:
    """Return SQL writing the text ``sql`` as a JSON string, or ``null`` for NULL."""
    return f"coalesce(to_json(({sql})::text)::text, 'null')"


def _json_quoted(sql: str) -> str:
    """Return SQL writing text that needs no escaping (a uuid, a timestamp) as a JSON string."""
    return f"""coalesce('"' || ({sql})::text || '"', 'null')"""


def _json_as_stored(sql: str) -> str:
    """Return SQL writing a number or a JSON value as the database holds it."""
    return f"coalesce(({sql})::text, 'null')"


_SQL_WRITERS = {
    TEXT: _json_string,
    UUID: _json_quoted,
    TIMESTAMP: _json_quoted,
    HEX: _json_quoted,
    NUMBER: _json_as_stored,
    JSON: _json_as_stored,
}


def _sql_value(member: Member, c: Mapping[str, str]) -> str:
    """Return SQL writing a member's value as JSON text; ``c`` maps columns to SQL."""
    if member.kind == REDACTED:
        return "'[]'"
    if member.is_nested:
        members = " || ',' || ".join(
            f"""'"{child.key}":' || {_sql_value(child, c)}""" for child in member.members
        )
        value = f"'{{' || {members} || '}}'"
    else:
        value = _SQL_WRITERS[member.kind](c[member.path])
    if member.null_unless:
        value = f"CASE WHEN {c[member.null_unless]} IS NULL THEN 'null' ELSE {value} END"
    return value


def _document_sql(c: Mapping[str, str]) -> str:
    """Return SQL that writes one event as :class:`FeedEventSerializer` would, ``redacted`` empty.

    ``c`` maps each column :data:`EVENT` reads to its compiled SQL. Keys come in the
    description's order; strings go through ``to_json`` (the escaping of JSON), uuids and
    timestamps are written as DRF writes them, and ``changes`` is the stored JSON.
    """
    members = " || ',' || ".join(
        f"""'"{member.key}":' || {_sql_value(member, c)}""" for member in EVENT
    )
    return f"('{{' || {members} || '}}')"


def _document_columns() -> list[str]:
    columns = []
    for member in EVENT:
        for column in member.columns():
            if column not in columns:
                columns.append(column)
    return columns


_TIMESTAMP_COLUMNS = frozenset(leaf.path for leaf in _leaves(EVENT) if leaf.kind == TIMESTAMP)


class EventDocument(Func):
    """One event's representation as JSON text, written by PostgreSQL (see :func:`_document_sql`).

    Timestamps are written by :class:`IsoUtc`, so this is used only while the current time
    zone is UTC; :func:`event_documents` falls back to Python otherwise.
    """

    output_field = TextField()

    def __init__(self):
        self.columns = _document_columns()
        super().__init__(
            *(
                IsoUtc(column) if column in _TIMESTAMP_COLUMNS else F(column)
                for column in self.columns
            )
        )

    def as_sql(self, compiler, connection, **extra_context):
        columns, params = {}, []
        for name, expression in zip(self.columns, self.get_source_expressions(), strict=True):
            sql, expression_params = compiler.compile(expression)
            columns[name] = sql
            params.extend(expression_params)
        return _document_sql(columns), params


#: Keys of ``changes`` that :mod:`cases.security.sensitive` may withhold or log, on any event.
_SENSITIVE_KEYS = sorted(sensitive.ANY_SENSITIVE_CHANGE_KEY)
#: Subject types whose ``object`` :mod:`cases.security.sensitive` redacts.
_SENSITIVE_SUBJECTS = sorted(sensitive.SENSITIVE_FIELDS)


class MayBeSensitive(Func):
    """True for an event whose representation :mod:`cases.security.sensitive` may change or log.

    That is an event whose ``changes`` holds a sensitive key at the top level (whatever the
    subject), whose summary repeats sensitive text, whose ``changes`` is not an object, or
    whose ``object`` represents a subject type with sensitive fields.
    For every other event ``redact_event`` changes nothing and ``event_shows_sensitive``
    finds nothing, so the database's text is served as it is. A wider test costs only time:
    the events it selects go through :mod:`cases.security.sensitive` in Python.
    """

    output_field = BooleanField()

    def __init__(self):
        super().__init__(F("changes"), F("kind"), F("subject_type"), F("object"))

    def as_sql(self, compiler, connection, **extra_context):
        changes, kind, subject_type, represented = self.get_source_expressions()
        changes_sql, changes_params = compiler.compile(changes)
        kind_sql, kind_params = compiler.compile(kind)
        subject_sql, subject_params = compiler.compile(subject_type)
        object_sql, object_params = compiler.compile(represented)
        sql = (
            f"(jsonb_typeof({changes_sql}) IS DISTINCT FROM 'object' "
            f"OR {changes_sql} ?| %s::text[] OR {kind_sql} = ANY(%s::text[]) "
            f"OR ({object_sql} IS NOT NULL AND {subject_sql} = ANY(%s::text[])))"
        )
        params = [
            *changes_params,
            *changes_params,
            _SENSITIVE_KEYS,
            *kind_params,
            sorted(sensitive.SUMMARY_REPEATS_BODY),
            *object_params,
            *subject_params,
            _SENSITIVE_SUBJECTS,
        ]
        return sql, params


def event_documents(queryset: QuerySet[TimelineEvent]) -> QuerySet:
    """Return ``queryset`` as rows of ``id``, ``xact_id``, ``case_seq`` and the event's JSON.

    On PostgreSQL (in UTC) each row holds ``document``, the event's representation written
    by the database, and ``may_be_sensitive`` (:class:`MayBeSensitive`); elsewhere the rows
    of :func:`event_rows`, represented in Python. :func:`page_results` takes either.
    """
    if connection.vendor == "postgresql" and timezone.get_current_timezone_name() == "UTC":
        return queryset.values(
            "id", "xact_id", "case_seq", document=EventDocument(), may_be_sensitive=MayBeSensitive()
        )
    return event_rows(queryset)


_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _json_array(documents: Iterable[str]) -> bytes:
    """Return the JSON array of ``documents`` (JSON texts) in UTF-8.

    Each is encoded on its own: most are ASCII, which encodes by copying, while one string
    of the whole page would be as wide as its widest character throughout.
    """
    return b"[" + b",".join([document.encode() for document in documents]) + b"]"


def page_results(request, rows: list[dict]) -> bytes:
    """Return the JSON array of ``rows`` as the user may see them, and log what it shows.

    Sensitive values are withheld by :func:`cases.security.sensitive.redact_events`, applied to
    every event that may hold one (all of them when the rows come from :func:`event_rows`); what a
    permitted user is shown goes to the access log in one insert for the whole page, so a
    page costs a fixed number of queries.
    """
    if rows and "document" not in rows[0]:
        results = represent_events(rows)
        _log_shown(request, sensitive.redact_events(results, request.user))
        return _json_array(map(_dumps, results))
    documents = [row["document"] for row in rows]
    positions = [index for index, row in enumerate(rows) if row["may_be_sensitive"]]
    if not positions:
        return _json_array(documents)
    # Permitted readers see the stored values: redaction leaves their events as they were.
    rewrite = not policy_for(request.user).sees_sensitive
    shown = []
    # A few events at a time, so that the objects decoded die young: thousands alive at
    # once would make the garbage collector sweep the whole process, again and again.
    for start in range(0, len(positions), _DECODED_AT_ONCE):
        chunk = positions[start : start + _DECODED_AT_ONCE]
        events = [json.loads(documents[index]) for index in chunk]
        shown.extend(sensitive.redact_events(events, request.user))
        if rewrite:
            for index, event in zip(chunk, events, strict=True):
                documents[index] = _dumps(event)
    _log_shown(request, shown)
    return _json_array(documents)


#: How many events :func:`page_results` decodes at once.
_DECODED_AT_ONCE = 50


def _log_shown(request, shown: list[tuple[str, str, list[str]]]) -> None:
    if not shown:
        return
    reads: dict[tuple[str, str], set[str]] = {}
    for subject_type, subject_uuid, keys in shown:
        reads.setdefault((subject_type, subject_uuid), set()).update(keys)
    access.log_reads(
        reads,
        user=request.user,
        # A webhook delivery reads the feed for its subscription's account, not a request.
        channel=getattr(request, "access_channel", access.API),
        path=request.path,
        token_label=access.token_label_of(request),
    )


_JAVASCRIPT_ESCAPES = (
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


class EncodedPage(Mapping):
    """A page already written as JSON (UTF-8 bytes); read as a mapping, it is decoded once.

    :class:`PageRenderer` sends the bytes as they are; the browsable API, an indented
    rendering and tests read it as the mapping it encodes.
    """

    def __init__(self, results: bytes, **fields):
        tail = _dumps(fields).encode()
        content = b'{"results":' + results + (b"," + tail[1:] if fields else b"}")
        # As DRF's JSONRenderer: keep the output a strict subset of JavaScript, with U+2028
        # and U+2029 (UTF-8 E2 80 A8 and E2 80 A9) escaped.
        for raw, escaped in _JAVASCRIPT_ESCAPES:
            if raw in content:
                content = content.replace(raw, escaped)
        self.content = content
        self._data = None

    def _decoded(self) -> dict:
        if self._data is None:
            self._data = json.loads(self.content)
        return self._data

    def __getitem__(self, key):
        return self._decoded()[key]

    def __iter__(self) -> Iterator:
        return iter(self._decoded())

    def __len__(self) -> int:
        return len(self._decoded())


class PageRenderer(JSONRenderer):
    """DRF's JSON renderer, sending an :class:`EncodedPage` as it was written."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        """Return the page's bytes, or render ``data`` as :class:`JSONRenderer` does."""
        if isinstance(data, EncodedPage):
            if self.get_indent(accepted_media_type, renderer_context or {}) is None:
                return data.content
            data = data._decoded()
        return super().render(data, accepted_media_type, renderer_context)


def _page_renderers() -> list:
    return [
        PageRenderer if renderer is JSONRenderer else renderer
        for renderer in api_settings.DEFAULT_RENDERER_CLASSES
    ]
