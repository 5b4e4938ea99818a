"""The change feed (``/api/v1/events/``) and one case's timeline (``/cases/{uuid}/timeline/``).

Both are read-only, use the project's default authentication and permissions, and answer
``304 Not Modified`` to a repeated poll whose ``If-None-Match`` names the current ``ETag``.
The cursor logic lives in :mod:`cases.feed.cursor`, the events' representation in
:mod:`cases.feed.documents`.
"""

from __future__ import annotations

import django_filters
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.db.models import FloatField
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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

from cases.api.replica_reads import REPLICA_LAG_HEADER
from cases.choices import EventKind
from cases.feed import cursor
from cases.feed.documents import (
    CaseTimelinePageSerializer,
    EncodedPage,
    EventFeedPageSerializer,
    _events,
    _page_renderers,
    event_documents,
    page_results,
)
from cases.filters import UtcDateTimeFilter
from cases.models import Case, TimelineEvent
from cases.timeline.representations import SUBJECT_TYPES
from tracker.db_routers import replica_alias, replica_failed

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
    subject_type = django_filters.MultipleChoiceFilter(
        choices=[(name, name) for name in SUBJECT_TYPES],
        help_text="Subject type; repeat the parameter for several.",
    )
    subject_uuid = django_filters.UUIDFilter(help_text="The subject's uuid.")
    occurred_after = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcDateTimeFilter(field_name="occurred_at", lookup_expr="lte")
    recorded_after = UtcDateTimeFilter(field_name="recorded_at", lookup_expr="gte")
    recorded_before = UtcDateTimeFilter(field_name="recorded_at", lookup_expr="lte")

    class Meta:
        model = TimelineEvent
        fields = [
            "case",
            "kind",
            "subject_type",
            "subject_uuid",
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
    default_detail = gettext_lazy("This cursor is no longer valid. Sync again from the start.")
    default_code = "cursor_gone"


def _whole_number(request, name: str, *, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        if high is not None:
            text = _("Give '%(name)s' as a whole number from %(low)s to %(high)s; got %(value)s.")
        else:
            text = _("Give '%(name)s' as a whole number of at least %(low)s; got %(value)s.")
        raise exceptions.ValidationError(
            {name: [text % {"name": name, "low": low, "high": high, "value": repr(raw[:40])}]}
        )
    return value


def _limit(request) -> int:
    return _whole_number(
        request, "limit", default=cursor.DEFAULT_LIMIT, low=1, high=cursor.MAX_LIMIT
    )


def _filtered(filterset_class, request, queryset):
    if not any(name in request.query_params for name in filterset_class.base_filters):
        # No filter asked for: a FilterSet would copy its filters only to change nothing,
        # which costs more than the rest of an empty poll.
        return queryset
    filterset = filterset_class(request.query_params, queryset=queryset, request=request)
    if not filterset.is_valid():
        raise exceptions.ValidationError(filterset.errors)
    return filterset.qs


def _query_items(request) -> list[tuple[str, str]]:
    return [(name, value) for name, values in request.query_params.lists() for value in values]


def _not_modified(request, headers: dict[str, str]) -> Response | None:
    if cursor.etag_matches(request.headers.get("If-None-Match"), headers["ETag"]):
        return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return None


def _page_headers(etag: str, replica_lag: float | None) -> dict[str, str]:
    # Private: pages are for signed-in clients only. no-cache: always revalidate (cheaply);
    # no-store: no cache on the way, nor the client's own HTTP cache, keeps the page (the
    # client keeps the ETag itself to poll with If-None-Match).
    headers = {"ETag": etag, "Cache-Control": "private, no-cache, no-store"}
    if replica_lag is not None:
        # A header, not a field: the body under one ETag must not change with the lag.
        headers[REPLICA_LAG_HEADER] = f"{replica_lag:.3f}"
    return headers


def _position(token: str | None, state: cursor.FeedState) -> cursor.Position:
    if token is None:
        return cursor.START
    try:
        return cursor.decode_cursor(token, state)
    except cursor.CursorError as exc:
        raise exceptions.ValidationError({"after": [str(exc)]}) from None


def _feed_state(token: str | None) -> tuple[str, cursor.FeedState, cursor.Position]:
    """Return where to read the feed, the feed's state there and the cursor's position.

    The replica when one is configured and it can serve the cursor; otherwise the primary.
    A replica that does not answer, or has not yet replayed the transactions a cursor names
    (the cursor came from the primary, or from a replica further on), leaves the page to the
    primary: only the primary may call a cursor gone.
    """
    alias = replica_alias()
    if alias is not None:
        try:
            state = cursor.read_state(connections[alias])
            return alias, state, _position(token, state)
        except OperationalError:
            replica_failed()
        except cursor.CursorGone:
            pass
    state = cursor.read_state(connections[DEFAULT_DB_ALIAS])
    try:
        return DEFAULT_DB_ALIAS, state, _position(token, state)
    except cursor.CursorGone as exc:
        raise Gone(str(exc)) from None


_LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": cursor.MAX_LIMIT},
    description=f"Events per page, 1 to {cursor.MAX_LIMIT} (default {cursor.DEFAULT_LIMIT}).",
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
_NO_READ_PERMISSION = OpenApiResponse(
    _ERROR, description="The account lacks cases.view_timelineevent (it holds no role)."
)
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

    renderer_classes = _page_renderers()
    #: The feed has no queryset to name a model by; reading it needs the timeline's view
    #: permission, which every role holds, so an account with no role reads nothing.
    read_permission = "cases.view_timelineevent"

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
                "subject_type",
                OpenApiTypes.STR,
                many=True,
                explode=True,
                enum=list(SUBJECT_TYPES),
                description="Only events about these subject types; repeat for several.",
            ),
            OpenApiParameter(
                "subject_uuid",
                OpenApiTypes.UUID,
                description="Only events about this subject (any type).",
            ),
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
            403: _NO_READ_PERMISSION,
            410: OpenApiResponse(_ERROR, description="Sync again from the start."),
        },
        filters=False,
    )
    def get(self, request):
        """Return one page of the feed, or 304 when the request's ETag still holds."""
        limit = _limit(request)
        queryset = _filtered(EventFilterSet, request, _events())
        alias, state, after = _feed_state(request.query_params.get("after"))
        held = state.held_back
        etag = cursor.page_etag(
            scope=state.database,
            head=(state.head.xact_id, state.head.event_id),
            # A new holder of the watermark changes the page's held_back, so its ETag too.
            params=[*_query_items(request), ("held_back", held.xid if held else "")],
            media_type=request.accepted_renderer.media_type,
        )
        headers = _page_headers(etag, state.replica_lag)
        not_modified = _not_modified(request, headers)
        if not_modified is not None:
            return not_modified
        try:
            page = cursor.feed_page(
                queryset.using(alias), state=state, after=after, limit=limit, rows=event_documents
            )
        except OperationalError:
            if alias == DEFAULT_DB_ALIAS:
                raise
            # The replica failed between the state and the page (it went away, or a query
            # was cancelled by a conflict with recovery): the primary answers instead.
            replica_failed()
            return self.get(request)
        data = EncodedPage(
            page_results(request, page.events),
            next_cursor=cursor.encode_cursor(state, page.next_position),
            has_more=page.has_more,
            held_back=held.as_dict() if held else None,
        )
        return Response(data, headers=headers)


class CaseTimelineView(APIView):
    """One case's events in ``case_seq`` order: the order to apply them in."""

    renderer_classes = _page_renderers()
    read_permission = "cases.view_timelineevent"

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
                {"type": "integer", "minimum": 0},
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
            403: _NO_READ_PERMISSION,
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
        # in the same transaction, and a later one waits for the next request. A replica
        # that lacks the case or has not reached after_seq yet leaves the page to the primary.
        alias = replica_alias()
        try:
            case = _timeline_head(alias, case_uuid) if alias else None
        except OperationalError:
            replica_failed()
            case = None
        if case is None or after_seq > case["last_event_seq"]:
            alias = DEFAULT_DB_ALIAS
            case = _timeline_head(alias, case_uuid)
        if case is None:
            raise exceptions.NotFound(_("No case has this uuid."))
        last_seq = case["last_event_seq"]
        if after_seq > last_seq:
            raise Gone(
                _(
                    "This case's timeline ends at case_seq %(last)s, before after_seq "
                    "%(after)s; the database was probably restored. Read the timeline again "
                    "from the start (leave 'after_seq' out)."
                )
                % {"last": last_seq, "after": after_seq}
            )
        etag = cursor.page_etag(
            scope=f"case:{case_uuid}",
            head=(last_seq,),
            params=_query_items(request),
            media_type=request.accepted_renderer.media_type,
        )
        headers = _page_headers(etag, case.get("replica_lag"))
        not_modified = _not_modified(request, headers)
        if not_modified is not None:
            return not_modified
        try:
            rows = (
                list(
                    event_documents(
                        queryset.using(alias)
                        .filter(case_id=case["pk"], case_seq__gt=after_seq, case_seq__lte=last_seq)
                        .order_by("case_seq")
                    )[: limit + 1]
                )
                if after_seq < last_seq
                else []  # Nothing after the case's last event: no page query.
            )
        except OperationalError:
            if alias == DEFAULT_DB_ALIAS:
                raise
            replica_failed()  # As for the feed: the primary answers instead.
            return self.get(request, case_uuid)
        has_more = len(rows) > limit
        events = rows[:limit]
        data = EncodedPage(
            page_results(request, events),
            next_after_seq=events[-1]["case_seq"] if has_more else last_seq,
            has_more=has_more,
        )
        return Response(data, headers=headers)


def _timeline_head(alias: str, case_uuid) -> dict | None:
    """Return the case's pk and last_event_seq read from ``alias``, and the replica's lag."""
    queryset = Case.objects.using(alias).filter(uuid=case_uuid)
    if alias != DEFAULT_DB_ALIAS:
        # Asked in the same query, so a page from the replica costs no more queries.
        queryset = queryset.annotate(
            replica_lag=RawSQL(cursor.REPLICA_LAG_SQL, (), output_field=FloatField())
        )
        return queryset.values("pk", "last_event_seq", "replica_lag").first()
    return queryset.values("pk", "last_event_seq").first()
