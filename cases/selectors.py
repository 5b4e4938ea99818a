"""Reads, with the query decisions (select_related, prefetch) made in one place."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from cases import choices
from cases.models import Case, Request, StatedIntention, TimelineEvent


def current_intention_for(case: Case) -> StatedIntention | None:
    """Return the case's current intention, or None.

    The current intention is the newest active statement at the highest verification level
    present among the active statements: a verified "undecided" outranks a newer hearsay
    report, and among statements of the same level the latest stated wins (ties broken by
    the order they were recorded). Archived statements never count.
    """
    active = list(
        StatedIntention.objects.filter(
            case=case, state=choices.IntentionState.ACTIVE, archived_at__isnull=True
        )
    )
    if not active:
        return None
    return max(
        active,
        key=lambda i: (choices.VERIFICATION_RANK[i.verification], i.stated_on, i.pk),
    )


def case_list() -> QuerySet[Case]:
    """Return cases with what a list shows joined in."""
    return Case.objects.select_related(
        "person", "detaining_party", "current_intention", "assigned_officer"
    )


def case_detail(pk: int) -> Case:
    """Return one case with its person, intentions, requests and positions loaded."""
    return (
        Case.objects.select_related("person", "detaining_party", "current_intention")
        .prefetch_related(
            "person__names",
            Prefetch(
                "intentions",
                queryset=StatedIntention.objects.select_related(
                    "heard_by", "interpreter_supplied_by", "source", "supersedes"
                ),
            ),
            Prefetch(
                "requests",
                queryset=Request.objects.select_related(
                    "requested_by", "addressed_to", "source", "intention"
                ).prefetch_related("positions__party", "positions__source"),
            ),
        )
        .get(pk=pk)
    )


def case_timeline(case: Case) -> QuerySet[TimelineEvent]:
    """Return the case's events, newest first, with actor and source joined in."""
    return (
        TimelineEvent.objects.filter(case=case)
        .select_related("actor", "source")
        .order_by("-case_seq")
    )
