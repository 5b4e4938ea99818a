"""Cases: custody episodes, their details and their status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError

from cases import choices, consent
from cases.models import Case, Party, Person, Source
from cases.notifications import services as notifications
from cases.services.base import (
    Actor,
    check_version,
    created_changes,
    occurred,
    refuse_merged,
    refuse_unknown,
    save_new_version,
    versioned_change,
    writes,
)
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind
from cases.transitions import CASE_CLOSED_STATUSES, CASE_TRANSITIONS, allowed_case_statuses

CASE_FIELDS = (
    "reference",
    "detaining_party",
    "legal_status",
    "capture_date",
    "capture_date_precision",
    "capture_place",
    "capture_place_code",
    "detention_place",
    "assigned_officer",
    "priority",
)

_CASE_STATUSES = frozenset(choices.CaseStatus.values)


def lock_case(case: Case) -> Case:
    """Return ``case`` re-read under a row lock, serialising writes to one case."""
    return Case.objects.select_for_update().get(pk=case.pk)


@writes
def case_open(
    *,
    actor: Actor,
    reference: str,
    person: Person,
    detaining_party: Party,
    status: str = choices.CaseStatus.CAPTURED,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Case:
    """Open a custody episode for ``person`` and append ``case.opened``."""
    refuse_unknown(fields, CASE_FIELDS, "case")
    if status in CASE_CLOSED_STATUSES:
        raise ValidationError({"status": "A case cannot be opened in a closed status."})
    # Locked, so that a merge of him waits for this case and then moves it with the rest.
    person = sink.lock(person) if person.pk is not None else person
    refuse_merged(person)
    case = sink.new(
        Case,
        reference=reference,
        person=person,
        detaining_party=detaining_party,
        status=status,
        **fields,
    )
    sink.validate(case)
    sink.insert(case)
    # Capture (or the registration of someone captured) is notified (GC III Art. 122).
    pending = notifications.prepare(
        sink=sink,
        case=case,
        reason=notifications.OPENING_REASON,
        occurred_on=case.capture_date,
        occurred_precision=case.capture_date_precision,
    )
    event = sink.append(
        EventDraft(
            kind=EventKind.CASE_OPENED,
            summary=vocabulary.case_opened(case, person, detaining_party),
            subject=case,
            actor=actor,
            case=case,
            changes={
                **created_changes(case, ("reference", "status", "detaining_party", *fields)),
                **pending.changes(),
            },
            reason=reason,
            source=source,
        )
    )
    pending.store(sink, event)
    return case


@writes
def case_update(
    *,
    actor: Actor,
    case: Case,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Case:
    """Change a case's details (not its status) and append ``case.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    case = sink.lock(case)
    changes = versioned_change(
        case, expected_version=expected_version, fields=fields, allowed=CASE_FIELDS
    )
    if not changes:
        return case
    save_new_version(sink, case)
    sink.append(
        EventDraft(
            kind=EventKind.CASE_UPDATED,
            summary=vocabulary.case_updated(case, changes),
            subject=case,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return case


@writes
def case_change_status(
    *,
    actor: Actor,
    case: Case,
    status: str,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    occurred_on: dt.date | None = None,
    occurred_precision: str = choices.DatePrecision.DAY,
    destination_country: str = "",
    sink,
) -> Case:
    """Move a case to ``status`` if the state machine allows it; append ``case.status_changed``.

    A status that means the person left custody for another state (``repatriated``,
    ``transferred_third_state``, to ``destination_country`` or the destination of the case's
    scheduled transfer) passes the consent gate for the day it happened (``occurred_on``,
    else today); the event names the statement that opened it.
    """
    case = sink.lock(case)
    check_version(case, expected_version)
    if status not in _CASE_STATUSES:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    if status not in CASE_TRANSITIONS[case.status]:
        allowed = allowed_case_statuses(case.status)
        allowed_text = ", ".join(allowed) if allowed else "none (the case is closed)"
        raise ValidationError(
            {
                "status": f"A case cannot go from {case.status} to {status}. "
                f"Allowed from {case.status}: {allowed_text}."
            }
        )
    move = consent.move_for_case_status(case, status, str(destination_country or ""))
    passed = sink.require_consent(case, move, on=occurred_on)
    old_status = case.status
    changes: dict[str, list[Any]] = {"status": [old_status, status]}
    if move is not None and move.destination:
        changes["destination_country"] = [None, move.destination]
    if passed is not None:
        changes.update(passed.changes())
    case.status = status
    if status in CASE_CLOSED_STATUSES:
        case.closed_at = sink.now()
        changes["closed_at"] = [None, case.closed_at.isoformat()]
    case.version += 1
    sink.save(case)
    # What GC III Art. 122-123 requires to be notified opens, in this transaction, one
    # pending notification per recipient, listed in this event (cases/notifications/).
    pending = notifications.for_status(sink=sink, case=case, status=status, occurred_on=occurred_on)
    changes.update(pending.changes())
    event = sink.append(
        EventDraft(
            kind=EventKind.CASE_STATUS_CHANGED,
            summary=vocabulary.case_status_changed(case, old_status, status),
            subject=case,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            **occurred(occurred_on, occurred_precision),
        )
    )
    pending.store(sink, event)
    return case
