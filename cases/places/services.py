"""Writes of places, movements and capture cards; each appends its one timeline event.

A movement and a capture card keep the case's denormalised ``current_place`` and
``capture_card_due_on`` up to date in the same transaction. The case's older free-text
``detention_place`` is left as officers wrote it: it is what is known where no place is
recorded (or a detail the place does not say), and it changes only with ``case.updated``
events, so a mirror of the case's events always holds the value the API serves.
A transfer owes the notifications of GC III Art. 122 (``cases.notifications``): one pending
notification per recipient of the case, opened by ``movement_record`` in its transaction and
listed in its event. A capture was owed when the case was opened, and an admission to
hospital is owed by the case's status ``hospitalised``, so neither movement opens any.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases import choices, clocks
from cases.models import Case, Party, Source
from cases.notifications import services as notifications
from cases.notifications.models import NotificationReason
from cases.places.models import CaptureCard, Movement, MovementKind, Place
from cases.services.base import (
    Actor,
    created_changes,
    date_to_datetime,
    occurred,
    reference,
    refuse_unknown,
    save_new_version,
    versioned_change,
    writes,
)
from cases.tasks import rules as task_rules
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

PLACE_FIELDS = (
    "name",
    "kind",
    "detaining_party",
    "country",
    "subdivision_code",
    "address",
    "notes",
)
MOVEMENT_FIELDS = (
    "from_place",
    "to_place",
    "moved_on",
    "moved_on_precision",
    "kind",
    "notes",
)
CAPTURE_CARD_FIELDS = (
    "filled_in_on",
    "sent_to_family_on",
    "sent_to_agency_on",
    "health",
    "address_given",
    "declined",
    "declined_on",
    "notes",
)

#: The case's columns the movements and cards decide.
_FOLLOWED = ("current_place", "capture_card_due_on")


# --------------------------------------------------------------------------------------------
# Places: reference data, like parties
# --------------------------------------------------------------------------------------------


@writes
def place_create(
    *,
    actor: Actor,
    name: str,
    kind: str,
    detaining_party: Party,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Place:
    """Create a place of detention and append ``place.created``."""
    refuse_unknown(fields, PLACE_FIELDS, "place")
    place = sink.new(Place, name=name, kind=kind, detaining_party=detaining_party, **fields)
    sink.validate(place)
    sink.insert(place)
    sink.append(
        EventDraft(
            kind=EventKind.PLACE_CREATED,
            summary=vocabulary.place_created(place),
            subject=place,
            actor=actor,
            changes=created_changes(place, PLACE_FIELDS),
            reason=reason,
            source=source,
        )
    )
    return place


@writes
def place_update(
    *,
    actor: Actor,
    place: Place,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Place:
    """Change a place's details and append ``place.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    place = sink.lock(place)
    changes = versioned_change(
        place, expected_version=expected_version, fields=fields, allowed=PLACE_FIELDS
    )
    if not changes:
        return place
    save_new_version(sink, place)
    sink.append(
        EventDraft(
            kind=EventKind.PLACE_UPDATED,
            summary=vocabulary.place_updated(place, changes),
            subject=place,
            actor=actor,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return place


# --------------------------------------------------------------------------------------------
# What the case's movements and cards decide
# --------------------------------------------------------------------------------------------


def refresh_followed(sink, case: Case) -> dict[str, list[Any]]:
    """Set the case's current place and capture-card due date from its movements and cards.

    Store them (without a new version of the case: they are not edits of it) and return
    ``{field: [old, new]}`` for those that changed, for the event of the write that moved
    them.
    """
    old_place, old_due = case.current_place, case.capture_card_due_on
    movements = sink.movements_of(case)
    # He is where the newest movement by date (then by the order recorded) took him.
    newest = max(movements, key=lambda m: (m.moved_on, m.pk), default=None)
    place = newest.to_place if newest is not None else None
    case.current_place = place
    case.capture_card_due_on = clocks.capture_card_due_from(movements, sink.capture_cards_of(case))
    sink.update(case, _FOLLOWED)
    changes: dict[str, list[Any]] = {}
    if (old_place.pk if old_place else None) != (place.pk if place else None):
        changes["current_place"] = [reference(old_place), reference(place)]
    if old_due != case.capture_card_due_on:
        changes["capture_card_due_on"] = [
            old_due.isoformat() if old_due else None,
            case.capture_card_due_on.isoformat() if case.capture_card_due_on else None,
        ]
    return changes


# --------------------------------------------------------------------------------------------
# Movements
# --------------------------------------------------------------------------------------------


@writes
def movement_record(
    *,
    actor: Actor,
    case: Case,
    to_place: Place,
    moved_on: dt.date,
    kind: str,
    from_place: Place | None = None,
    moved_on_precision: str = choices.DatePrecision.DAY,
    notes: str = "",
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Movement:
    """Record that the person was moved to ``to_place``; append ``movement.recorded``.

    Movements are never edited: a wrong one is answered by a correcting one. The case's
    current place follows the newest movement by date (then by the order recorded), so a
    back-dated movement recorded late changes it only if it is the newest; the capture-card
    clock restarts at the newest capture, transfer, admission or discharge
    (:mod:`cases.clocks`). Any move but a capture comes from somewhere.
    """
    case = sink.lock(case)
    if from_place is None and kind != MovementKind.CAPTURE:
        raise ValidationError(
            {"from_place": _("Say where he was moved from (only a capture has no origin).")}
        )
    movement = sink.new(
        Movement,
        case=case,
        from_place=from_place,
        to_place=to_place,
        moved_on=moved_on,
        moved_on_precision=moved_on_precision,
        kind=kind,
        notes=notes,
        source=source,
    )
    sink.validate(movement, exclude=["case"])
    sink.insert(movement)
    changes = created_changes(movement, MOVEMENT_FIELDS)
    changes.update(refresh_followed(sink, case))
    # The Art. 70 clock (re)started: its task follows (cases/tasks/rules.py).
    tasks = task_rules.sync_capture_card(sink, case, user=actor.user)
    if kind == MovementKind.TRANSFER:
        owed = notifications.prepare(
            sink=sink,
            case=case,
            reason=NotificationReason.TRANSFER,
            occurred_on=moved_on,
            occurred_precision=moved_on_precision,
        )
    else:
        owed = notifications.Pending()
    changes.update(owed.changes())
    # Both rules' tasks under one entry (the notifications' alone would hide the card's).
    tasks.extend(owed.tasks)
    changes.update(tasks.changes())
    event = sink.append(
        EventDraft(
            kind=EventKind.MOVEMENT_RECORDED,
            summary=vocabulary.movement_recorded(movement),
            subject=movement,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(moved_on),
            occurred_precision=moved_on_precision,
            follow_ups=tasks.drafts(actor=actor),
        )
    )
    owed.store(sink, event)
    return movement


# --------------------------------------------------------------------------------------------
# Capture cards
# --------------------------------------------------------------------------------------------


def _card_day(card: CaptureCard) -> dt.date | None:
    """Return the day a card's news happened: declined, sent, or filled in."""
    return card.declined_on or card.sent_to_agency_on or card.filled_in_on


@writes
def capture_card_record(
    *,
    actor: Actor,
    movement: Movement,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> CaptureCard:
    """Record the capture card that answers ``movement``; append ``capture_card.recorded``.

    One card per movement; a card sent to the Central Agency, or declined with its date,
    stops the case's clock if the movement is the one that started it.
    """
    refuse_unknown(fields, CAPTURE_CARD_FIELDS, "capture card")
    case = sink.lock(movement.case)
    if any(card.movement_id == movement.pk for card in sink.capture_cards_of(case)):
        raise ValidationError(
            {"movement": _("This movement already has its capture card; change that one.")}
        )
    card = sink.new(CaptureCard, case=case, movement=movement, source=source, **fields)
    sink.validate(card, exclude=["case"])
    sink.insert(card)
    changes = created_changes(card, ("movement", *CAPTURE_CARD_FIELDS), empty=(None, "", False))
    changes.update(refresh_followed(sink, case))
    tasks = task_rules.sync_capture_card(sink, case, user=actor.user)
    changes.update(tasks.changes())
    sink.append(
        EventDraft(
            kind=EventKind.CAPTURE_CARD_RECORDED,
            summary=vocabulary.capture_card_recorded(card),
            subject=card,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            follow_ups=tasks.drafts(actor=actor),
            **occurred(_card_day(card), choices.DatePrecision.DAY),
        )
    )
    return card


@writes
def capture_card_update(
    *,
    actor: Actor,
    card: CaptureCard,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> CaptureCard:
    """Change a capture card (it was sent, say) and append ``capture_card.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    case = sink.lock(card.case)
    card = sink.lock(card)
    changes = versioned_change(
        card, expected_version=expected_version, fields=fields, allowed=CAPTURE_CARD_FIELDS
    )
    if not changes:
        return card
    save_new_version(sink, card, exclude=["case"])
    changes.update(refresh_followed(sink, case))
    tasks = task_rules.sync_capture_card(sink, case, user=actor.user)
    changes.update(tasks.changes())
    sink.append(
        EventDraft(
            kind=EventKind.CAPTURE_CARD_UPDATED,
            summary=vocabulary.capture_card_updated(card, changes),
            subject=card,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            follow_ups=tasks.drafts(actor=actor),
        )
    )
    return card
