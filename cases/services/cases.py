"""Cases: custody episodes, their details and their status."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django_countries import countries

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
from cases.tasks import rules as task_rules
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind
from cases.transitions import (
    CASE_CLOSED_STATUSES,
    CASE_TRANSITIONS,
    REQUEST_FINAL_STATUSES,
    allowed_case_statuses,
)

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
        raise ValidationError({"status": _("A case cannot be opened in a closed status.")})
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
            follow_ups=pending.follow_ups(actor=actor),
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

    Nothing is written, and no event appended, when nothing changed. A new detaining party
    is refused on a closed case and while a request in flight depends on the old one
    (:func:`_check_detaining_party_change`).
    """
    case = sink.lock(case)
    old_detaining = case.detaining_party
    changes = versioned_change(
        case, expected_version=expected_version, fields=fields, allowed=CASE_FIELDS
    )
    if not changes:
        return case
    if "detaining_party" in changes:
        _check_detaining_party_change(case, old_detaining)
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


def _check_detaining_party_change(case: Case, old: Party) -> None:
    """Refuse a new detaining party where the old one is part of what stands or happened.

    On a closed case the detaining party is part of the record of how custody ended (who
    released or handed him over). On an open case, a request in flight (draft to scheduled,
    not archived) depends on it when it is addressed to the old detaining power (the party
    or one under the same topmost party), or when whether executing it crosses a border
    depends on the state holding him (treatment in a named country): such requests are
    named, to be re-addressed, withdrawn or decided first. Nothing else changes with the
    party: statements, positions and exchange lists keep what they recorded.
    """
    if case.closed_at is not None or case.status in CASE_CLOSED_STATUSES:
        raise ValidationError(
            {
                "detaining_party": _(
                    "Case %(reference)s is closed (%(status)s): the detaining party is part of "
                    "the record of how his custody ended and is not changed."
                )
                % {"reference": case.reference, "status": case.get_status_display().lower()}
            }
        )
    old_root = old.root_id()
    new_country = case.detaining_party.country.code or ""
    held_in = {old.country.code or "", new_country}
    depending = []
    for request in case.requests.filter(archived_at__isnull=True).select_related("addressed_to"):
        if request.status in REQUEST_FINAL_STATUSES:
            continue
        addressed = request.addressed_to is not None and request.addressed_to.root_id() == old_root
        border = (
            request.kind == choices.RequestKind.MEDICAL_TREATMENT
            and (request.destination_country.code or "") in held_in
            and len(held_in) > 1
        )
        if addressed or border:
            depending.append(request)
    if depending:
        names = "; ".join(
            _("%(kind)s to %(party)s (%(status)s)")
            % {
                "kind": request.get_kind_display(),
                "party": request.addressed_to.name if request.addressed_to else "-",
                "status": request.get_status_display().lower(),
            }
            for request in depending
        )
        raise ValidationError(
            {
                "detaining_party": _(
                    "Requests in flight depend on the detaining party %(party)s: %(requests)s. "
                    "Re-address them to the new detaining party, withdraw them or let them be "
                    "decided first."
                )
                % {"party": old.name, "requests": names}
            }
        )


#: What a case officer is told when he tries to close a case by a border crossing directly.
HANDOVER_ONLY = (
    "A case becomes {status} only through a handover, which executes the scheduled request "
    "and takes the reconfirmation there: record it with the case's handover (admin: Add "
    "handover on the case page; API: POST /api/v1/handovers/)."
)


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
    released_to: str = "",
    released_to_place: str = "",
    sink,
) -> Case:
    """Move a case to ``status`` if the state machine allows it; append ``case.status_changed``.

    ``repatriated`` and ``transferred_third_state`` (the person left custody for another
    state) are refused here: only a handover (``cases.exchanges.services.handover_record``)
    reaches them, through :func:`case_status_apply`, in the transaction that executes his
    request and passes the consent gate. ``released`` says where to (``released_to``).
    """
    if status in consent.GATED_CASE_STATUSES:
        raise ValidationError({"status": HANDOVER_ONLY.format(status=status)})
    return case_status_apply(
        sink=sink,
        actor=actor,
        case=case,
        status=status,
        expected_version=expected_version,
        reason=reason,
        source=source,
        occurred_on=occurred_on,
        occurred_precision=occurred_precision,
        destination_country=destination_country,
        released_to=released_to,
        released_to_place=released_to_place,
    )


def _check_release_stays(case: Case, released_to: str) -> None:
    """Refuse a release to another state than the one holding him.

    Released to his own state or to a third state, he crosses a border: that is a
    repatriation or a transfer, which only a handover records, through the consent gate.
    A release to his own state is refused even where the detaining party is recorded as
    that state (a return home is a repatriation).
    """
    held_in = case.detaining_party.country.code or ""
    home = consent.own_states(case.person)
    # Released in his own state is a return home, whoever is recorded as holding him.
    abroad = released_to in home or bool(held_in and released_to != held_in)
    if abroad:
        raise ValidationError(
            {
                "released_to": _(
                    "Released to %(country)s, he crosses a border: record a handover "
                    "(repatriation or transfer) instead, which passes the consent gate. A "
                    "release is to the state holding him (%(holding)s)."
                )
                % {"country": released_to, "holding": held_in or _("unknown")}
            }
        )


def case_status_apply(
    *,
    sink,
    actor: Actor,
    case: Case,
    status: str,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    occurred_on: dt.date | None = None,
    occurred_precision: str = choices.DatePrecision.DAY,
    destination_country: str = "",
    released_to: str = "",
    released_to_place: str = "",
) -> Case:
    """Move a case to ``status`` in the caller's transaction; append ``case.status_changed``.

    The state machine decides which status may follow; a status that means the person left
    custody for another state passes the consent gate for the day it happened
    (``occurred_on``, else today), and the event names the statement that opened it. Only
    :func:`case_change_status` and the handover call this.
    """
    case = sink.lock(case)
    check_version(case, expected_version)
    if status not in _CASE_STATUSES:
        raise ValidationError(
            {"status": _("Unknown status %(status)s.") % {"status": repr(status)}}
        )
    if status not in CASE_TRANSITIONS[case.status]:
        allowed = allowed_case_statuses(case.status)
        allowed_text = ", ".join(allowed) if allowed else _("none (the case is closed)")
        raise ValidationError(
            {
                "status": _(
                    "A case cannot go from %(old)s to %(new)s. Allowed from %(old)s: %(allowed)s."
                )
                % {"old": case.status, "new": status, "allowed": allowed_text}
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
    if status == choices.CaseStatus.RELEASED:
        if not released_to:
            raise ValidationError(
                {"released_to": _("Say to which country he was released (ISO 3166-1 code).")}
            )
        if str(released_to) not in countries:
            raise ValidationError(
                {"released_to": _("Unknown country code %(code)s.") % {"code": repr(released_to)}}
            )
        _check_release_stays(case, str(released_to))
        case.released_to = released_to
        case.released_to_place = released_to_place or ""
        changes["released_to"] = [None, case.released_to.code]
        if case.released_to_place:
            changes["released_to_place"] = [None, case.released_to_place]
    elif released_to or released_to_place:
        raise ValidationError({"released_to": _("Only a release says where he was released to.")})
    if status in CASE_CLOSED_STATUSES:
        case.closed_at = sink.now()
        changes["closed_at"] = [None, case.closed_at.isoformat()]
    case.version += 1
    sink.save(case)
    # What GC III Art. 122-123 requires to be notified opens, in this transaction, one
    # pending notification per recipient, listed in this event (cases/notifications/).
    pending = notifications.for_status(sink=sink, case=case, status=status, occurred_on=occurred_on)
    changes.update(pending.changes())
    tasks = task_rules.Applied().extend(pending.tasks)
    if case.closed_at is not None:
        # A closed case owes no capture card: its task is cancelled (cases/tasks/rules.py).
        tasks.extend(task_rules.sync_capture_card(sink, case))
    changes.update(tasks.changes())
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
            follow_ups=tasks.drafts(actor=actor),
            **occurred(occurred_on, occurred_precision),
        )
    )
    pending.store(sink, event)
    return case
