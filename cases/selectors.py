"""Reads, with the query decisions (select_related, prefetch) made in one place."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet

from cases import choices
from cases.models import (
    Case,
    Party,
    Person,
    Position,
    Request,
    RiskAssessment,
    Source,
    StatedIntention,
    TimelineEvent,
)


def stated_period_start(day: dt.date, precision: str) -> dt.date:
    """Return the first day a statement dated ``day`` at ``precision`` may have been made."""
    if precision == choices.DatePrecision.MONTH:
        return day.replace(day=1)
    if precision == choices.DatePrecision.YEAR:
        return day.replace(month=1, day=1)
    return day


def intention_order_key(intention: StatedIntention) -> tuple:
    """Return the key that orders a case's statements from oldest to newest.

    By when the statement was made, a statement known only to the month or year counting
    from the first day of it; then by when it was recorded; then by id.
    """
    recorded = intention.recorded_at or dt.datetime.max.replace(tzinfo=dt.UTC)
    return (
        stated_period_start(intention.stated_on, intention.stated_on_precision),
        recorded,
        intention.pk or 0,
    )


def current_intention_for(case: Case) -> StatedIntention | None:
    """Return the case's current intention, or None.

    The current intention is the newest active statement (``intention_order_key``),
    whatever its verification level: a newer change of mind, even one only reported, is
    what the person now says. Its level is shown beside it, and the consent gate asks for a
    verified one. Archived statements never count.
    """
    active = StatedIntention.objects.filter(
        case=case, state=choices.IntentionState.ACTIVE, archived_at__isnull=True
    ).select_related("heard_by", "case__detaining_party", "case__person__power_depends_on")
    return max(active, key=intention_order_key, default=None)


def case_list() -> QuerySet[Case]:
    """Return cases with what a list shows joined in."""
    return Case.objects.select_related(
        "person", "detaining_party", "current_intention", "assigned_officer", "current_place"
    )


def case_detail(pk: int) -> Case:
    """Return one case with its person, intentions, risk assessments, requests and positions."""
    return (
        Case.objects.select_related(
            "person__power_depends_on", "detaining_party__parent", "current_intention"
        )
        .prefetch_related(
            "person__names",
            Prefetch("intentions", queryset=intentions()),
            Prefetch("risk_assessments", queryset=risk_assessments()),
            Prefetch(
                "requests",
                queryset=Request.objects.select_related(
                    "requested_by", "addressed_to", "source", "intention"
                ).prefetch_related("positions__party", "positions__source"),
            ),
        )
        .get(pk=pk)
    )


def intentions() -> QuerySet[StatedIntention]:
    """Return intentions with the case, the parties, the source, the superseded one and the
    interview taken in."""
    return StatedIntention.objects.select_related(
        "case", "heard_by", "interpreter_supplied_by", "source", "supersedes", "interview"
    ).prefetch_related("present_parties")


def risk_assessments() -> QuerySet[RiskAssessment]:
    """Return risk assessments with the case, the assessing party and the source."""
    return RiskAssessment.objects.select_related("case", "assessed_by", "source")


def requests() -> QuerySet[Request]:
    """Return requests with their parties, case, intention, source and positions."""
    return Request.objects.select_related(
        "case", "requested_by", "addressed_to", "source", "intention"
    ).prefetch_related(
        Prefetch("positions", queryset=Position.objects.select_related("party", "source"))
    )


def persons() -> QuerySet[Person]:
    """Return persons with name variants and service parties."""
    return Person.objects.select_related(
        "armed_force", "power_depends_on", "serving_under"
    ).prefetch_related("names")


def parties() -> QuerySet[Party]:
    """Return parties with their parent."""
    return Party.objects.select_related("parent")


def sources() -> QuerySet[Source]:
    """Return sources."""
    return Source.objects.all()


def case_timeline(case: Case) -> QuerySet[TimelineEvent]:
    """Return the case's events, newest first, with actor and source joined in."""
    return (
        TimelineEvent.objects.filter(case=case)
        .select_related("actor", "source")
        .order_by("-case_seq")
    )
