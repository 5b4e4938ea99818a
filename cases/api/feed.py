"""The change feed (``/api/v1/events/``) and one case's timeline (``/cases/{uuid}/timeline/``).

Both are read-only, use the project's default authentication and permissions, and answer
``304 Not Modified`` to a repeated poll whose ``If-None-Match`` names the current ``ETag``.
The cursor logic lives in :mod:`cases.feed`.
"""

from __future__ import annotations

from collections.abc import Iterable

import django_filters
from django.db import connection
from django.db.models import F, Func, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import access, feed, sensitive
from cases.choices import EventKind
from cases.models import Case, TimelineEvent

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
    template = (
        "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        "|| CASE WHEN to_char(%(expressions)s, 'US') = '000000' THEN '' "
        "ELSE '.' || to_char(%(expressions)s, 'US') END || 'Z'"
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
            }
        )
    return results


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


class TimelineFilterSet(django_filters.FilterSet):
    """Filter a case's timeline by event kind."""

    kind = django_filters.MultipleChoiceFilter(
        choices=EventKind.choices, help_text="Event kind; repeat the parameter for several."
    )

    class Meta:
        model = TimelineEvent
        fields = ["kind"]


class EventFilterSet(TimelineFilterSet):
    """Filter the change feed; the cursor still advances over events filtered out."""

    case = django_filters.UUIDFilter(field_name="case__uuid", help_text="The case's uuid.")
    occurred_after = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lte")
    recorded_after = django_filters.IsoDateTimeFilter(field_name="recorded_at", lookup_expr="gte")
    recorded_before = django_filters.IsoDateTimeFilter(field_name="recorded_at", lookup_expr="lte")

    class Meta:
        model = TimelineEvent
        fields = [
            "case",
            "kind",
            "occurred_after",
            "occurred_before",
            "recorded_after",
            "recorded_before",
        ]


# --------------------------------------------------------------------------------------------
# Shared request handling
# --------------------------------------------------------------------------------------------


class Gone(exceptions.APIException):
    """The cursor refers to a database or positions that are no longer there."""

    status_code = status.HTTP_410_GONE
    default_detail = "This cursor is no longer valid. Sync again from the start."
    default_code = "cursor_gone"


def _whole_number(request, name: str, *, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    bounds = f"from {low} to {high}" if high is not None else f"of at least {low}"
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        raise exceptions.ValidationError(
            {name: [f"Give '{name}' as a whole number {bounds}; got {raw[:40]!r}."]}
        )
    return value


def _limit(request) -> int:
    return _whole_number(request, "limit", default=feed.DEFAULT_LIMIT, low=1, high=feed.MAX_LIMIT)


def _filtered(filterset_class, request, queryset):
    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise exceptions.ValidationError(filterset.errors)
    return filterset.qs


def _query_items(request) -> list[tuple[str, str]]:
    return [(name, value) for name, values in request.query_params.lists() for value in values]


def _not_modified(request, etag: str) -> Response | None:
    if feed.etag_matches(request.headers.get("If-None-Match"), etag):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers=_cache_headers(etag))
    return None


def _cache_headers(etag: str) -> dict[str, str]:
    # Private: pages are for signed-in clients only. no-cache: always revalidate (cheaply).
    return {"ETag": etag, "Cache-Control": "private, no-cache"}


_LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    OpenApiTypes.INT,
    description=f"Events per page, 1 to {feed.MAX_LIMIT} (default {feed.DEFAULT_LIMIT}).",
)
_KIND_PARAMETER = OpenApiParameter(
    "kind",
    OpenApiTypes.STR,
    many=True,
    explode=True,
    enum=EventKind.values,
    description="Only these event kinds; repeat the parameter for several.",
)
_IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description="The ETag of the previous identical request; 304 when nothing changed.",
)
_ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    response=[200, 304],
    description="Send it back in If-None-Match to get 304 when nothing changed.",
)
_ERROR = inline_serializer("FeedError", {"detail": serializers.CharField()})
_NOT_MODIFIED = OpenApiResponse(description="Nothing new since the ETag sent in If-None-Match.")
_BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="A parameter is malformed; each field name maps to messages saying what to send.",
)


def _visible_results(request, rows: list[dict]) -> list[dict]:
    """Return the representation of ``rows`` as the user may see it, and log what it shows.

    Sensitive values are withheld per event (:func:`cases.sensitive.redact_events`); the
    ones a permitted user is shown go to the access log in one insert for the whole page,
    so the page still costs a fixed number of queries.
    """
    results = represent_events(rows)
    shown = sensitive.redact_events(results, request.user)
    if shown:
        reads: dict[tuple[str, str], set[str]] = {}
        for subject_type, subject_uuid, keys in shown:
            reads.setdefault((subject_type, subject_uuid), set()).update(keys)
        access.log_access(
            user=request.user,
            channel=access.API,
            objects=list(reads),
            fields={subject_uuid: sorted(keys) for (_t, subject_uuid), keys in reads.items()},
            path=request.path,
            token_label=access.token_label_of(request),
        )
    return results


# --------------------------------------------------------------------------------------------
# Views
# --------------------------------------------------------------------------------------------


class EventFeedView(APIView):
    """Every committed timeline event, exactly once, in feed order.

    Keep passing back ``next_cursor`` as ``after``. Events become visible once every
    transaction older than theirs has finished, so the feed lags behind the oldest
    transaction still open in the database cluster.
    """

    @extend_schema(
        operation_id="events_feed",
        summary="Pull the change feed",
        description=(
            "Every committed timeline event exactly once, in feed order, for a client that "
            "keeps passing back 'next_cursor' as 'after'. Filters narrow what is returned but "
            "the cursor still advances over the whole feed. The feed lags behind the oldest "
            "transaction still open in the database cluster. A 410 means the cursor belongs "
            "to another database (for example after a restore): sync again from the start."
        ),
        parameters=[
            OpenApiParameter(
                "after",
                OpenApiTypes.STR,
                description="The 'next_cursor' of the previous page; leave out to start.",
            ),
            _LIMIT_PARAMETER,
            OpenApiParameter("case", OpenApiTypes.UUID, description="Only this case's events."),
            _KIND_PARAMETER,
            OpenApiParameter(
                "occurred_after", OpenApiTypes.DATETIME, description="occurred_at on or after."
            ),
            OpenApiParameter(
                "occurred_before", OpenApiTypes.DATETIME, description="occurred_at on or before."
            ),
            OpenApiParameter(
                "recorded_after", OpenApiTypes.DATETIME, description="recorded_at on or after."
            ),
            OpenApiParameter(
                "recorded_before", OpenApiTypes.DATETIME, description="recorded_at on or before."
            ),
            _IF_NONE_MATCH,
            _ETAG_HEADER,
        ],
        responses={
            200: EventFeedPageSerializer,
            304: _NOT_MODIFIED,
            400: _BAD_REQUEST,
            410: OpenApiResponse(_ERROR, description="Sync again from the start."),
        },
        filters=False,
    )
    def get(self, request):
        """Return one page of the feed, or 304 when the request's ETag still holds."""
        limit = _limit(request)
        queryset = _filtered(EventFilterSet, request, _events())
        state = feed.read_state()
        token = request.query_params.get("after")
        try:
            after = feed.START if token is None else feed.decode_cursor(token, state)
        except feed.CursorError as exc:
            raise exceptions.ValidationError({"after": [str(exc)]}) from None
        except feed.CursorGone as exc:
            raise Gone(str(exc)) from None
        etag = feed.page_etag(
            scope=state.database,
            head=(state.head.xact_id, state.head.event_id),
            params=_query_items(request),
            media_type=request.accepted_renderer.media_type,
        )
        not_modified = _not_modified(request, etag)
        if not_modified is not None:
            return not_modified
        page = feed.feed_page(event_rows(queryset), state=state, after=after, limit=limit)
        data = {
            "results": _visible_results(request, page.events),
            "next_cursor": feed.encode_cursor(state, page.next_position),
            "has_more": page.has_more,
        }
        return Response(data, headers=_cache_headers(etag))


class CaseTimelineView(APIView):
    """One case's events in ``case_seq`` order: the order to apply them in."""

    @extend_schema(
        operation_id="cases_timeline",
        summary="Read one case's timeline",
        description=(
            "The case's events by case_seq (gapless per case, the order in which to apply "
            "them). Keep passing back 'next_after_seq' as 'after_seq'."
        ),
        parameters=[
            OpenApiParameter(
                "case_uuid", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The case."
            ),
            OpenApiParameter(
                "after_seq",
                OpenApiTypes.INT,
                description="Only events after this case_seq (default 0: from the start).",
            ),
            _LIMIT_PARAMETER,
            _KIND_PARAMETER,
            _IF_NONE_MATCH,
            _ETAG_HEADER,
        ],
        responses={
            200: CaseTimelinePageSerializer,
            304: _NOT_MODIFIED,
            400: _BAD_REQUEST,
            404: OpenApiResponse(_ERROR, description="No case with this uuid."),
            410: OpenApiResponse(_ERROR, description="after_seq is beyond the case's events."),
        },
        filters=False,
    )
    def get(self, request, case_uuid):
        """Return one page of the case's timeline, or 304 when the request's ETag still holds."""
        limit = _limit(request)
        after_seq = _whole_number(request, "after_seq", default=0, low=0, high=None)
        queryset = _filtered(TimelineFilterSet, request, _events())
        # The committed sequence of the case bounds the page: the event holding it committed
        # in the same transaction, and a later one waits for the next request.
        case = Case.objects.filter(uuid=case_uuid).values("pk", "last_event_seq").first()
        if case is None:
            raise exceptions.NotFound("No case has this uuid.")
        last_seq = case["last_event_seq"]
        if after_seq > last_seq:
            raise Gone(
                f"This case's timeline ends at case_seq {last_seq}, before after_seq "
                f"{after_seq}; the database was probably restored. Read the timeline again "
                "from the start (leave 'after_seq' out)."
            )
        etag = feed.page_etag(
            scope=f"case:{case_uuid}",
            head=(last_seq,),
            params=_query_items(request),
            media_type=request.accepted_renderer.media_type,
        )
        not_modified = _not_modified(request, etag)
        if not_modified is not None:
            return not_modified
        rows = list(
            event_rows(
                queryset.filter(
                    case_id=case["pk"], case_seq__gt=after_seq, case_seq__lte=last_seq
                ).order_by("case_seq")
            )[: limit + 1]
        )
        has_more = len(rows) > limit
        events = rows[:limit]
        data = {
            "results": _visible_results(request, events),
            "next_after_seq": events[-1]["case_seq"] if has_more else last_seq,
            "has_more": has_more,
        }
        return Response(data, headers=_cache_headers(etag))
