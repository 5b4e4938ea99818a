"""What was said and what happened: parties' positions, occurrences, notes."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases import choices
from cases.models import Case, Note, Occurrence, Party, Position, Request, Source
from cases.services.base import Actor, created_changes, date_to_datetime, reference, writes
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind


@writes
def position_record(
    *,
    actor: Actor,
    request: Request,
    party: Party,
    stance: str,
    stated_on: dt.date,
    conditions: str = "",
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Position:
    """Record a party's stance on a request; append ``position.recorded``.

    Earlier positions of the same party are kept: a position is what was said on a date.
    """
    case = sink.lock(request.case)
    position = sink.new(
        Position,
        request=request,
        party=party,
        stance=stance,
        stated_on=stated_on,
        conditions=conditions,
        source=source,
    )
    sink.validate(position, exclude=["request"])
    sink.insert(position)
    changes = {
        "party": [None, reference(party)],
        "stance": [None, stance],
        "stated_on": [None, stated_on.isoformat()],
    }
    if conditions:
        changes["conditions"] = [None, conditions]
    sink.append(
        EventDraft(
            kind=EventKind.POSITION_RECORDED,
            summary=vocabulary.position_recorded(position, party, request),
            subject=position,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(stated_on),
            occurred_precision=choices.DatePrecision.DAY,
        )
    )
    return position


@writes
def occurrence_record(
    *,
    actor: Actor,
    case: Case,
    kind: str,
    occurred_on: dt.date,
    description: str,
    occurred_on_precision: str = choices.DatePrecision.DAY,
    place: str = "",
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Occurrence:
    """Record something that happened in the world; append ``occurrence.recorded``."""
    case = sink.lock(case)
    occurrence = sink.new(
        Occurrence,
        case=case,
        kind=kind,
        occurred_on=occurred_on,
        occurred_on_precision=occurred_on_precision,
        description=description,
        place=place,
        source=source,
    )
    sink.validate(occurrence, exclude=["case"])
    sink.insert(occurrence)
    sink.append(
        EventDraft(
            kind=EventKind.OCCURRENCE_RECORDED,
            summary=vocabulary.occurrence_recorded(occurrence),
            subject=occurrence,
            actor=actor,
            case=case,
            changes=created_changes(
                occurrence,
                ("kind", "occurred_on", "occurred_on_precision", "description", "place"),
            ),
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(occurred_on),
            occurred_precision=occurred_on_precision,
        )
    )
    return occurrence


@writes
def note_add(
    *,
    actor: Actor,
    case: Case,
    body: str,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Note:
    """Add a case officer's note; append ``note.added``."""
    case = sink.lock(case)
    # Django's "required" lets whitespace through; a blank note says nothing on the timeline.
    if not body.strip():
        raise ValidationError({"body": _("Write something in the note.")})
    note = sink.new(Note, case=case, body=body, author=actor.user, source=source)
    sink.validate(note, exclude=["case", "author"])
    sink.insert(note)
    sink.append(
        EventDraft(
            kind=EventKind.NOTE_ADDED,
            summary=vocabulary.note_added(note),
            subject=note,
            actor=actor,
            case=case,
            changes={"body": [None, body]},
            reason=reason,
            source=source,
        )
    )
    return note
