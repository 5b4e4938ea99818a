"""Writes of visits and the private interviews held during them.

``visit_record`` records a visit and appends ``visit.recorded`` (an event of no case: a
visit concerns a place); given the persons seen, it records each one's interview with
``interview_record``, which appends ``interview.recorded`` on that person's case. All of it
in one transaction. A statement taken in an interview links to it (``intention_record``'s
``interview``), which is what lets the statement be ``verified``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.models import Case, Party, Source
from cases.services.base import (
    Actor,
    created_changes,
    date_to_datetime,
    refuse_unknown,
    save_new_version,
    versioned_change,
    writes,
)
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind
from cases.visits.models import Interview, Visit

#: What a visit records besides who visited and when.
VISIT_FIELDS = ("visited_on_precision", "place", "place_text", "topics", "notes")
#: What a visit's change may touch; who visited and when only while no statement rests on
#: one of its interviews (``visit_update``).
VISIT_UPDATE_FIELDS = (
    "visiting_body",
    "visited_on",
    "visited_on_precision",
    "detaining_party",
    "place",
    "place_text",
    "topics",
    "notes",
)
#: Fields a statement's level rests on: frozen once a statement links to an interview.
VISIT_FIELDS_STATEMENTS_REST_ON = frozenset(
    {"visiting_body", "visited_on", "visited_on_precision", "detaining_party"}
)
#: What an interview records besides the visit and the case.
INTERVIEW_FIELDS = ("in_private", "interpreter_supplied_by", "topics", "notes")


def _refuse_future(day: dt.date, sink) -> None:
    if day > sink.today():
        raise ValidationError(
            {
                "visited_on": _("%(day)s is in the future; a visit is recorded once it took place.")
                % {"day": day.isoformat()}
            }
        )


@writes
def visit_record(
    *,
    actor: Actor,
    visiting_body: Party,
    visited_on: dt.date,
    detaining_party: Party,
    interviews: Iterable[Mapping[str, Any]] = (),
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Visit:
    """Record a visit to a place of detention and append ``visit.recorded``.

    ``interviews`` lists the persons seen, each as ``{"case": Case, **INTERVIEW_FIELDS}``;
    each is recorded by ``interview_record`` in the same transaction.
    """
    refuse_unknown(fields, VISIT_FIELDS, "visit")
    _refuse_future(visited_on, sink)
    visit = sink.new(
        Visit,
        visiting_body=visiting_body,
        visited_on=visited_on,
        detaining_party=detaining_party,
        source=source,
        **fields,
    )
    sink.validate(visit)
    sink.insert(visit)
    changes = created_changes(
        visit, ("visiting_body", "visited_on", "detaining_party", *VISIT_FIELDS)
    )
    sink.append(
        EventDraft(
            kind=EventKind.VISIT_RECORDED,
            summary=vocabulary.visit_recorded(visit),
            subject=visit,
            actor=actor,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(visited_on),
            occurred_precision=visit.visited_on_precision,
        )
    )
    for seen in interviews:
        seen = dict(seen)
        interview_record(
            sink=sink, actor=actor, visit=visit, case=seen.pop("case"), reason=reason, **seen
        )
    return visit


@writes
def visit_update(
    *,
    actor: Actor,
    visit: Visit,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Visit:
    """Change a visit's details and append ``visit.updated``; nothing when nothing changed.

    Who visited, when and whose place it was stay as they are once a statement rests on one
    of its interviews: the statement's level was earned on them.
    """
    visit = sink.lock(visit)
    changes = versioned_change(
        visit, expected_version=expected_version, fields=fields, allowed=VISIT_UPDATE_FIELDS
    )
    if not changes:
        return visit
    frozen = sorted(VISIT_FIELDS_STATEMENTS_REST_ON & set(changes))
    if frozen and visit.interviews.filter(statements__isnull=False).exists():
        raise ValidationError(
            dict.fromkeys(
                frozen,
                _(
                    "A statement taken in one of this visit's interviews rests on who visited, "
                    "when and whose place it was; record a new visit instead."
                ),
            )
        )
    if "visited_on" in changes:
        _refuse_future(visit.visited_on, sink)
    save_new_version(sink, visit)
    sink.append(
        EventDraft(
            kind=EventKind.VISIT_UPDATED,
            summary=vocabulary.visit_updated(visit, changes),
            subject=visit,
            actor=actor,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return visit


@writes
def interview_record(
    *,
    actor: Actor,
    visit: Visit,
    case: Case,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Interview:
    """Record that the visitors saw ``case``'s person, and how; append ``interview.recorded``
    on his case.

    The case must be held by the party whose place was visited; a person is seen once per
    visit.
    """
    refuse_unknown(fields, INTERVIEW_FIELDS, "interview")
    case = sink.lock(case)
    if case.detaining_party_id is not None and (
        case.detaining_party.root_id() != visit.detaining_party.root_id()
    ):
        raise ValidationError(
            {
                "case": _(
                    "%(case)s is held by %(held_by)s; the visit was to a place held by %(visited)s."
                )
                % {
                    "case": case.reference,
                    "held_by": case.detaining_party.name,
                    "visited": visit.detaining_party.name,
                }
            }
        )
    if sink.interview_exists(visit, case):
        raise ValidationError(
            {
                "case": _("%(case)s is already recorded as seen during this visit.")
                % {"case": case.reference}
            }
        )
    interview = sink.new(Interview, visit=visit, case=case, **fields)
    sink.validate(interview, exclude=["visit", "case"])
    sink.insert(interview)
    changes = created_changes(interview, ("visit", *INTERVIEW_FIELDS), empty=(None, ""))
    changes.setdefault("in_private", [None, interview.in_private])
    sink.append(
        EventDraft(
            kind=EventKind.INTERVIEW_RECORDED,
            summary=vocabulary.interview_recorded(interview),
            subject=interview,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source or visit.source,
            occurred_at=date_to_datetime(visit.visited_on),
            occurred_precision=visit.visited_on_precision,
        )
    )
    return interview


__all__ = [
    "INTERVIEW_FIELDS",
    "VISIT_FIELDS",
    "VISIT_UPDATE_FIELDS",
    "interview_record",
    "visit_record",
    "visit_update",
]
