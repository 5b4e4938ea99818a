"""Stated intentions and the case's current intention."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases import choices, consent
from cases.models import Case, Party, Source, StatedIntention
from cases.services.base import (
    Actor,
    check_version,
    date_to_datetime,
    field_value,
    occurred,
    reference,
    refuse_unknown,
    writes,
)
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import INTENTION_STATE_EVENTS, EventKind

INTENTION_FIELDS = (
    "option",
    "destination_country",
    "certainty",
    "conditions",
    "quote",
    "quote_language",
    "stated_on",
    "stated_on_precision",
    "heard_by",
    "heard_by_role",
    "setting",
    "interpreter_supplied_by",
    "detaining_power_present",
    "options_explained",
    "duress_signs",
    "verification",
    "interview",
)

#: The denormalised copy of the current intention on the case.
_CURRENT_FIELDS = (
    "current_intention",
    "current_intention_option",
    "current_intention_destination",
    "current_intention_verification",
    "current_intention_verified",
    "updated_at",
)


def refresh_current_intention(sink, case: Case) -> dict[str, list[Any]]:
    """Recompute the case's denormalised current intention; return the change, if any."""
    old = case.current_intention
    new = sink.current_intention(case)
    case.current_intention = new
    case.current_intention_option = new.option if new else ""
    case.current_intention_destination = new.destination_country if new else ""
    case.current_intention_verification = new.verification if new else ""
    case.current_intention_verified = bool(new and new.is_verified)
    case.updated_at = sink.now()
    sink.update(case, _CURRENT_FIELDS)
    if (old.pk if old else None) == (new.pk if new else None):
        return {}
    return {"current_intention": [reference(old), reference(new)]}


def _new_intention(
    sink,
    case: Case,
    fields: Mapping[str, Any],
    source: Source | None,
    present_parties: list[Party],
    *,
    at_handover: bool = False,
) -> StatedIntention:
    """Return an unsaved, validated statement whose verification level is earned.

    ``at_handover``: the statement is the reconfirmation taken at a handover, which needs no
    private interview of a visit (``consent.interview_problems``).
    """
    refuse_unknown(fields, INTENTION_FIELDS, "intention")
    intention = sink.new(StatedIntention, case=case, source=source, **fields)
    sink.validate(intention, exclude=["case", "supersedes", "interview"])
    consent.check_level(
        intention,
        present_parties,
        has_earlier_verified=sink.has_earlier_verified(intention),
        at_handover=at_handover,
    )
    return intention


def _store_intention(sink, intention: StatedIntention, present_parties: list[Party]) -> None:
    sink.insert(intention)
    sink.set_present_parties(intention, present_parties)


def intention_created_changes(
    intention: StatedIntention, present_parties: Iterable[Party] = ()
) -> dict[str, list[Any]]:
    """Return the changes a new statement records: what it says, and who was present."""
    changes = {}
    for name in INTENTION_FIELDS:
        value = field_value(intention, name)
        if value in (None, "", False):
            continue
        if name == "detaining_power_present" and value == "unknown":
            continue
        changes[name] = [None, value]
    present = [reference(party) for party in sorted(present_parties, key=lambda p: (p.name, p.pk))]
    if present:
        changes["present_parties"] = [None, present]
    return changes


@writes
def intention_record(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    source: Source | None = None,
    present_parties: Iterable[Party] = (),
    at_handover: bool = False,
    sink,
    **fields: Any,
) -> StatedIntention:
    """Record a new statement of what the person wants; append ``intention.recorded``.

    Its verification level must be earned by how it was heard (``consent.level_problems``):
    ``verified`` needs the private interview it was taken in (``interview``), as does
    ``reconfirmed`` unless taken at a handover (``at_handover``, given by the handover).
    Earlier statements stay active: a statement that replaces one goes through
    ``intention_supersede`` instead.
    """
    case = sink.lock(case)
    present_parties = list(present_parties or ())
    intention = _new_intention(sink, case, fields, source, present_parties, at_handover=at_handover)
    _store_intention(sink, intention, present_parties)
    changes = intention_created_changes(intention, present_parties)
    changes.update(refresh_current_intention(sink, case))
    sink.append(
        EventDraft(
            kind=EventKind.INTENTION_RECORDED,
            summary=vocabulary.intention_recorded(case.person, intention),
            subject=intention,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(intention.stated_on),
            occurred_precision=intention.stated_on_precision,
        )
    )
    return intention


@writes
def intention_supersede(
    *,
    actor: Actor,
    intention: StatedIntention,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    present_parties: Iterable[Party] = (),
    sink,
    **fields: Any,
) -> StatedIntention:
    """Record a new statement that replaces ``intention`` (a change of mind).

    The old statement is kept, marked superseded and linked from the new one; one
    ``intention.superseded`` event covers both.
    """
    case = sink.lock(intention.case)
    old = sink.lock(intention)
    check_version(old, expected_version)
    if old.state != choices.IntentionState.ACTIVE:
        raise ValidationError(
            _("Only an active statement can be superseded; this one is %(state)s.")
            % {"state": old.state}
        )
    present_parties = list(present_parties or ())
    new = _new_intention(sink, case, fields, source, present_parties)
    new.supersedes = old
    _store_intention(sink, new, present_parties)
    old.state = choices.IntentionState.SUPERSEDED
    old.version += 1
    sink.save(old, fields=["state", "version"])
    changes = intention_created_changes(new, present_parties)
    changes["superseded"] = [reference(old), None]
    changes.update(refresh_current_intention(sink, case))
    sink.append(
        EventDraft(
            kind=EventKind.INTENTION_SUPERSEDED,
            summary=vocabulary.intention_superseded(case.person, old, new),
            subject=new,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(new.stated_on),
            occurred_precision=new.stated_on_precision,
        )
    )
    return new


@writes
def intention_set_state(
    *,
    actor: Actor,
    intention: StatedIntention,
    state: str,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    occurred_on: dt.date | None = None,
    occurred_precision: str = choices.DatePrecision.DAY,
    sink,
) -> StatedIntention:
    """Withdraw, contest, invalidate or reinstate a statement; recompute the current one.

    Superseding goes through ``intention_supersede``. A withdrawal, contest or invalidation
    without a reason is refused: the timeline must say why a statement stopped counting.
    ``occurred_on`` is when it happened in the world (e.g. the day the person withdrew the
    statement); without it the event is dated now.
    """
    case = sink.lock(intention.case)
    intention = sink.lock(intention)
    check_version(intention, expected_version)
    if state not in INTENTION_STATE_EVENTS:
        allowed = ", ".join(INTENTION_STATE_EVENTS)
        raise ValidationError(
            {
                "state": _("Use one of: %(allowed)s (to supersede, record anew).")
                % {"allowed": allowed}
            }
        )
    if intention.state == state:
        raise ValidationError(
            {"state": _("The statement is already %(state)s.") % {"state": state}}
        )
    if intention.state == choices.IntentionState.SUPERSEDED:
        raise ValidationError({"state": _("A superseded statement stays superseded.")})
    if not reason.strip() and state != choices.IntentionState.ACTIVE:
        raise ValidationError(
            {"reason": _("Say why the statement is %(state)s.") % {"state": state}}
        )
    old_state = intention.state
    intention.state = state
    intention.version += 1
    sink.save(intention, fields=["state", "version"])
    changes: dict[str, list[Any]] = {"state": [old_state, state]}
    changes.update(refresh_current_intention(sink, case))
    sink.append(
        EventDraft(
            kind=INTENTION_STATE_EVENTS[state],
            summary=vocabulary.intention_state_changed(case.person, intention, state),
            subject=intention,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            **occurred(occurred_on, occurred_precision),
        )
    )
    return intention


def intention_withdraw(*, actor: Actor, intention: StatedIntention, **kwargs) -> StatedIntention:
    """Mark a statement withdrawn by the person; see ``intention_set_state``."""
    return intention_set_state(
        actor=actor, intention=intention, state=choices.IntentionState.WITHDRAWN, **kwargs
    )


def intention_contest(*, actor: Actor, intention: StatedIntention, **kwargs) -> StatedIntention:
    """Mark a statement contested; see ``intention_set_state``."""
    return intention_set_state(
        actor=actor, intention=intention, state=choices.IntentionState.CONTESTED, **kwargs
    )


def intention_invalidate(*, actor: Actor, intention: StatedIntention, **kwargs) -> StatedIntention:
    """Mark a statement invalid (e.g. made under duress); see ``intention_set_state``."""
    return intention_set_state(
        actor=actor, intention=intention, state=choices.IntentionState.INVALIDATED, **kwargs
    )
