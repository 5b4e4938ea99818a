"""What a feed event looks like: the documented serializer and the page's fast paths.

A page of the change feed is read as plain rows (:func:`event_rows`) or, on PostgreSQL, as
JSON the database writes itself (:func:`event_documents`); :func:`page_results` redacts
what the reader may not see and returns the page's ``results`` as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

from django.db import connection
from django.db.models import BooleanField, F, Func, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings

from cases.models import TimelineEvent
from cases.security import access, sensitive
from cases.security.policy import policy_for

# --------------------------------------------------------------------------------------------
# Representation
# --------------------------------------------------------------------------------------------


class FeedCaseSerializer(serializers.Serializer):
    """The case an event belongs to."""

    uuid = serializers.UUIDField(read_only=True)
    reference = serializers.CharField(read_only=True)


class FeedSourceSerializer(serializers.Serializer):
    """The source an event cites."""

    uuid = serializers.UUIDField(read_only=True)
    title = serializers.CharField(read_only=True)


class FeedActorSerializer(serializers.Serializer):
    """Who acted: the label shown on the timeline and the user's username, if a user acted."""

    label = serializers.CharField(source="actor_label", read_only=True)
    username = serializers.SerializerMethodField()

    def get_username(self, event: TimelineEvent) -> str | None:
        """Return the acting user's username, or None for the system and commands."""
        return event.actor.get_username() if event.actor_id else None


class FeedEventSerializer(serializers.ModelSerializer):
    """One timeline event as the feed and the case timeline show it."""

    case = FeedCaseSerializer(read_only=True, allow_null=True)
    actor = FeedActorSerializer(source="*", read_only=True)
    source = FeedSourceSerializer(read_only=True, allow_null=True)
    redacted = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Keys of 'changes' (and 'summary') withheld from this reader.",
    )
    prev_hash = serializers.CharField(
        read_only=True,
        help_text="'hash' of the event before this one in its chain; empty for the first.",
    )
    hash = serializers.CharField(
        read_only=True,
        help_text=(
            "SHA-256 (hex) over this event's full content and 'prev_hash': the head of its "
            "chain (the case's, in case_seq order) when it is the latest. Keep the latest "
            "hash of each case: 'manage.py verify_timeline' proves the history up to it."
        ),
    )

    class Meta:
        model = TimelineEvent
        fields = [
            "uuid",
            "case",
            "case_seq",
            "kind",
            "summary",
            "changes",
            "actor",
            "channel",
            "reason",
            "source",
            "subject_type",
            "subject_uuid",
            "occurred_at",
            "occurred_precision",
            "recorded_at",
            "prev_hash",
            "hash",
            "redacted",
        ]
        read_only_fields = fields


class EventFeedPageSerializer(serializers.Serializer):
    """A page of the change feed."""

    results = FeedEventSerializer(many=True)
    next_cursor = serializers.CharField(
        help_text="Pass this back as 'after' on the next request, also when 'results' is empty."
    )
    has_more = serializers.BooleanField(
        help_text="True when more events are visible right now; poll again at once."
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


#: The columns :func:`event_rows` reads: the event's own and those of the joined rows.
_ROW_FIELDS = (
    "id",
    "xact_id",
    "case_id",
    "case__reference",
    "case_seq",
    "kind",
    "summary",
    "changes",
    "actor_id",
    "actor_label",
    "actor__username",
    "channel",
    "reason",
    "source_id",
    "source__title",
    "subject_type",
    "occurred_precision",
    "prev_hash",
    "hash",
)
#: Columns shown as text: (key in the row, field). PostgreSQL writes them as text itself.
_UUID_COLUMNS = (
    ("uuid_text", "uuid"),
    ("case_uuid_text", "case__uuid"),
    ("source_uuid_text", "source__uuid"),
    ("subject_uuid_text", "subject_uuid"),
)
_TIME_COLUMNS = (("occurred_at_text", "occurred_at"), ("recorded_at_text", "recorded_at"))


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
    for key, field in _UUID_COLUMNS:
        expressions[key] = Cast(field, TextField()) if on_postgresql else F(field)
    in_utc = timezone.get_current_timezone_name() == "UTC"
    for key, field in _TIME_COLUMNS:
        expressions[key] = IsoUtc(field) if on_postgresql and in_utc else F(field)
    return queryset.values(*_ROW_FIELDS, **expressions)


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


def represent_events(rows: Iterable[dict]) -> list[dict]:
    """Return the representation of event rows, equal to :class:`FeedEventSerializer`'s.

    :class:`FeedEventSerializer` stays the documented shape (the OpenAPI schema is built
    from it); this builds the same dictionaries from :func:`event_rows` without per-field
    machinery.
    """
    zone = timezone.get_current_timezone()
    results = []
    append = results.append
    for row in rows:
        append(
            {
                "uuid": _text(row["uuid_text"]),
                "case": (
                    {"uuid": _text(row["case_uuid_text"]), "reference": row["case__reference"]}
                    if row["case_id"] is not None
                    else None
                ),
                "case_seq": row["case_seq"],
                "kind": row["kind"],
                "summary": row["summary"],
                "changes": row["changes"],
                "actor": {
                    "label": row["actor_label"],
                    "username": row["actor__username"] if row["actor_id"] is not None else None,
                },
                "channel": row["channel"],
                "reason": row["reason"],
                "source": (
                    {"uuid": _text(row["source_uuid_text"]), "title": row["source__title"]}
                    if row["source_id"] is not None
                    else None
                ),
                "subject_type": row["subject_type"],
                "subject_uuid": _text(row["subject_uuid_text"]),
                "occurred_at": _timestamp(row["occurred_at_text"], zone),
                "occurred_precision": row["occurred_precision"],
                "recorded_at": _timestamp(row["recorded_at_text"], zone),
                "prev_hash": row["prev_hash"],
                "hash": row["hash"],
            }
        )
    return results


# --------------------------------------------------------------------------------------------
# The page as JSON, written by PostgreSQL
# --------------------------------------------------------------------------------------------

#: Columns the database writes an event's JSON from: placeholder -> field.
_DOCUMENT_FIELDS = {
    "uuid": "uuid",
    "case_id": "case_id",
    "case_uuid": "case__uuid",
    "case_reference": "case__reference",
    "case_seq": "case_seq",
    "kind": "kind",
    "summary": "summary",
    "changes": "changes",
    "actor_label": "actor_label",
    "actor_id": "actor_id",
    "actor_username": "actor__username",
    "channel": "channel",
    "reason": "reason",
    "source_id": "source_id",
    "source_uuid": "source__uuid",
    "source_title": "source__title",
    "subject_type": "subject_type",
    "subject_uuid": "subject_uuid",
    "occurred_at": "occurred_at",
    "occurred_precision": "occurred_precision",
    "recorded_at": "recorded_at",
    "prev_hash": "prev_hash",
    "hash": "hash",
}


def _json_string(sql: str) -> str:
    """Return SQL writing the text ``sql`` as a JSON string, or ``null`` for NULL."""
    return f"coalesce(to_json(({sql})::text)::text, 'null')"


def _json_quoted(sql: str) -> str:
    """Return SQL writing text that needs no escaping (a uuid, a timestamp) as a JSON string."""
    return f"""coalesce('"' || ({sql})::text || '"', 'null')"""


def _json_object_or_null(key_sql: str, members: str) -> str:
    return f"CASE WHEN {key_sql} IS NULL THEN 'null' ELSE '{{' || {members} || '}}' END"


def _document_sql(c: Mapping[str, str]) -> str:
    """Return SQL that writes one event as :class:`FeedEventSerializer` would, ``redacted`` empty.

    ``c`` maps each placeholder of ``_DOCUMENT_FIELDS`` to its compiled column. Keys come in
    the serializer's order; strings go through ``to_json`` (the escaping of JSON), uuids
    and timestamps are written as DRF writes them, and ``changes`` is the stored JSON.
    """
    case = _json_object_or_null(
        c["case_id"],
        f"""'"uuid":' || {_json_quoted(c["case_uuid"])} """
        f"""|| ',"reference":' || {_json_string(c["case_reference"])}""",
    )
    source = _json_object_or_null(
        c["source_id"],
        f"""'"uuid":' || {_json_quoted(c["source_uuid"])} """
        f"""|| ',"title":' || {_json_string(c["source_title"])}""",
    )
    username = (
        f"CASE WHEN {c['actor_id']} IS NULL THEN 'null' "
        f"ELSE {_json_string(c['actor_username'])} END"
    )
    parts = [
        f"""'{{"uuid":' || {_json_quoted(c["uuid"])}""",
        f"""',"case":' || {case}""",
        f"""',"case_seq":' || coalesce(({c["case_seq"]})::text, 'null')""",
        f"""',"kind":' || {_json_string(c["kind"])}""",
        f"""',"summary":' || {_json_string(c["summary"])}""",
        f"""',"changes":' || coalesce(({c["changes"]})::text, 'null')""",
        f"""',"actor":{{"label":' || {_json_string(c["actor_label"])}""",
        f"""',"username":' || {username} || '}}'""",
        f"""',"channel":' || {_json_string(c["channel"])}""",
        f"""',"reason":' || {_json_string(c["reason"])}""",
        f"""',"source":' || {source}""",
        f"""',"subject_type":' || {_json_string(c["subject_type"])}""",
        f"""',"subject_uuid":' || {_json_quoted(c["subject_uuid"])}""",
        f"""',"occurred_at":' || {_json_quoted(c["occurred_at"])}""",
        f"""',"occurred_precision":' || {_json_string(c["occurred_precision"])}""",
        f"""',"recorded_at":' || {_json_quoted(c["recorded_at"])}""",
        # Hex digits or empty: nothing to escape.
        f"""',"prev_hash":' || {_json_quoted(c["prev_hash"])}""",
        f"""',"hash":' || {_json_quoted(c["hash"])}""",
        """',"redacted":[]}'""",
    ]
    return "(" + " || ".join(parts) + ")"


class EventDocument(Func):
    """One event's representation as JSON text, written by PostgreSQL (see :func:`_document_sql`).

    Timestamps are written by :class:`IsoUtc`, so this is used only while the current time
    zone is UTC; :func:`event_documents` falls back to Python otherwise.
    """

    output_field = TextField()

    def __init__(self):
        super().__init__(
            *(
                IsoUtc(field) if field in ("occurred_at", "recorded_at") else F(field)
                for field in _DOCUMENT_FIELDS.values()
            )
        )

    def as_sql(self, compiler, connection, **extra_context):
        columns, params = {}, []
        for name, expression in zip(_DOCUMENT_FIELDS, self.get_source_expressions(), strict=True):
            sql, expression_params = compiler.compile(expression)
            columns[name] = sql
            params.extend(expression_params)
        return _document_sql(columns), params


#: Keys of ``changes`` that :mod:`cases.security.sensitive` may withhold or log, on any event.
_SENSITIVE_KEYS = sorted(sensitive.ANY_SENSITIVE_CHANGE_KEY)


class MayBeSensitive(Func):
    """True for an event whose representation :mod:`cases.security.sensitive` may change or log.

    That is an event whose ``changes`` holds a sensitive key at the top level (whatever the
    subject), whose summary repeats sensitive text, or whose ``changes`` is not an object.
    For every other event ``redact_event`` changes nothing and ``event_shows_sensitive``
    finds nothing, so the database's text is served as it is. A wider test costs only time:
    the events it selects go through :mod:`cases.security.sensitive` in Python.
    """

    output_field = BooleanField()

    def __init__(self):
        super().__init__(F("changes"), F("kind"))

    def as_sql(self, compiler, connection, **extra_context):
        changes, kind = self.get_source_expressions()
        changes_sql, changes_params = compiler.compile(changes)
        kind_sql, kind_params = compiler.compile(kind)
        sql = (
            f"(jsonb_typeof({changes_sql}) IS DISTINCT FROM 'object' "
            f"OR {changes_sql} ?| %s::text[] OR {kind_sql} = ANY(%s::text[]))"
        )
        params = [
            *changes_params,
            *changes_params,
            _SENSITIVE_KEYS,
            *kind_params,
            sorted(sensitive.SUMMARY_REPEATS_BODY),
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
