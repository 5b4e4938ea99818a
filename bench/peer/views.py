"""The peer's views: a ``ModelViewSet`` for cases and a plain list view for the change feed."""

import base64
import hashlib

from django.db.models import Count, Max, Prefetch, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, status, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from cases.api.selectors import OPEN_REQUEST_STATUSES
from cases.models import Case, PersonName, Position, Request, StatedIntention, TimelineEvent

from .filters import PeerCaseFilterSet
from .serializers import CaseDetailSerializer, CaseSerializer, EventSerializer


class Pages(PageNumberPagination):
    """Fifty cases a page."""

    page_size = 50


class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Cases, filtered and paged; a case with its intentions and requests."""

    lookup_field = "uuid"
    filterset_class = PeerCaseFilterSet
    pagination_class = Pages
    queryset = Case.objects.filter(archived_at__isnull=True)

    def get_queryset(self):
        cases = (
            super()
            .get_queryset()
            .select_related(
                "person",
                "detaining_party",
                "current_place",
                "assigned_officer",
                "current_intention",
            )
            .prefetch_related(Prefetch("person__names", queryset=PersonName.objects.order_by("id")))
            .annotate(
                open_request_count=Count(
                    "requests", filter=Q(requests__status__in=OPEN_REQUEST_STATUSES)
                )
            )
            .order_by("reference")
        )
        if self.action == "retrieve":
            cases = cases.select_related("person__power_depends_on").prefetch_related(
                Prefetch(
                    "intentions",
                    queryset=StatedIntention.objects.select_related(
                        "case",
                        "heard_by",
                        "interpreter_supplied_by",
                        "supersedes",
                        "interview",
                        "source",
                    ).prefetch_related("present_parties"),
                ),
                Prefetch(
                    "requests",
                    queryset=Request.objects.select_related(
                        "case", "requested_by", "addressed_to", "intention", "source"
                    ).prefetch_related(
                        Prefetch(
                            "positions",
                            queryset=Position.objects.select_related("party", "source"),
                        )
                    ),
                ),
            )
        return cases

    def get_serializer_class(self):
        return CaseDetailSerializer if self.action == "retrieve" else CaseSerializer


class EventFeedView(generics.ListAPIView):
    """Timeline events by id after an opaque cursor, ``limit`` a page, with an ETag.

    The cursor is the last event's id: events whose transactions commit out of id order
    can be skipped, which the tracker's feed prevents and this one does not try to.
    """

    serializer_class = EventSerializer
    queryset = TimelineEvent.objects.select_related("case", "actor", "source").order_by("id")
    pagination_class = None
    filterset_class = None

    # The project refuses query parameters a view does not declare: these two are declared.
    @extend_schema(parameters=[OpenApiParameter("after", str), OpenApiParameter("limit", int)])
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        after = _decode(request.query_params.get("after"))
        try:
            limit = min(int(request.query_params.get("limit", 100)), 10_000)
        except ValueError:
            raise exceptions.ValidationError({"limit": ["Give a whole number."]}) from None
        newest = TimelineEvent.objects.aggregate(newest=Max("id"))["newest"] or 0
        etag = (
            '"'
            + hashlib.sha256(f"{newest}:{request.GET.urlencode()}".encode()).hexdigest()[:32]
            + '"'
        )
        if request.headers.get("If-None-Match") == etag:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        events = list(self.get_queryset().filter(id__gt=after, id__lte=newest)[: limit + 1])
        has_more = len(events) > limit
        events = events[:limit]
        last = events[-1].id if has_more else max(after, newest)
        data = {
            "next_cursor": _encode(last),
            "has_more": has_more,
            "held_back": None,
            "results": self.get_serializer(events, many=True).data,
        }
        return Response(data, headers={"ETag": etag})


def _encode(event_id: int) -> str:
    return base64.urlsafe_b64encode(str(event_id).encode()).decode()


def _decode(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise exceptions.ValidationError({"after": ["Not a cursor of this feed."]}) from None
