"""Reads for the API, with every join and prefetch decided here so lists cost a fixed count."""

from __future__ import annotations

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from cases import choices
from cases.models import (
    Case,
    Party,
    Person,
    Position,
    Request,
    Source,
    StatedIntention,
)
from cases.selectors import case_list
from cases.transitions import REQUEST_OPEN_STATUSES

#: Requests that count as open on a case: filed and not yet final (drafts are not open yet).
OPEN_REQUEST_STATUSES = sorted(REQUEST_OPEN_STATUSES - {choices.RequestStatus.DRAFT})


def _count(queryset: QuerySet, ref: str) -> Coalesce:
    """Return a correlated count of ``queryset`` rows grouped by ``ref``, 0 when none."""
    counted = queryset.values(ref).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def api_cases() -> QuerySet[Case]:
    """Return cases for lists: person and names, party, current intention, open requests."""
    open_requests = Request.objects.filter(
        case=OuterRef("pk"), status__in=OPEN_REQUEST_STATUSES
    ).order_by()
    return (
        case_list()
        .prefetch_related("person__names")
        .annotate(open_request_count=_count(open_requests, "case"))
    )


def _positions() -> Prefetch:
    return Prefetch("positions", queryset=Position.objects.select_related("party", "source"))


def api_intentions() -> QuerySet[StatedIntention]:
    """Return intentions with the case, the parties, the source and the superseded one."""
    return StatedIntention.objects.select_related(
        "case", "heard_by", "interpreter_supplied_by", "source", "supersedes"
    )


def api_requests() -> QuerySet[Request]:
    """Return requests with their parties, case, intention, source and positions."""
    return Request.objects.select_related(
        "case", "requested_by", "addressed_to", "source", "intention"
    ).prefetch_related(_positions())


def api_case_detail() -> QuerySet[Case]:
    """Return cases with everything a case's page shows: intentions, requests, positions."""
    return api_cases().prefetch_related(
        Prefetch("intentions", queryset=api_intentions()),
        Prefetch("requests", queryset=api_requests()),
    )


def api_persons() -> QuerySet[Person]:
    """Return persons with name variants and service parties."""
    return Person.objects.select_related("armed_force", "power_depends_on").prefetch_related(
        "names"
    )


def api_parties() -> QuerySet[Party]:
    """Return parties with their parent."""
    return Party.objects.select_related("parent")


def api_sources() -> QuerySet[Source]:
    """Return sources."""
    return Source.objects.all()
