"""The change feed (``/api/v1/events/``) and one case's timeline (``/cases/{uuid}/timeline/``).

Both are read-only, use the project's default authentication and permissions, and answer
``304 Not Modified`` to a repeated poll whose ``If-None-Match`` names the current ``ETag``.
The cursor logic lives in :mod:`cases.feed`.
"""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
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

from cases import feed
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
        page = feed.feed_page(queryset, state=state, after=after, limit=limit)
        data = {
            "results": FeedEventSerializer(page.events, many=True).data,
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
            queryset.filter(
                case_id=case["pk"], case_seq__gt=after_seq, case_seq__lte=last_seq
            ).order_by("case_seq")[: limit + 1]
        )
        has_more = len(rows) > limit
        events = rows[:limit]
        data = {
            "results": FeedEventSerializer(events, many=True).data,
            "next_after_seq": events[-1].case_seq if has_more else last_seq,
            "has_more": has_more,
        }
        return Response(data, headers=_cache_headers(etag))
