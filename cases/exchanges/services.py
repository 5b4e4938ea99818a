"""Writes of exchanges, their lists and handovers.

Exchanges and list entries append one event each, as every service does. A handover is the
one write that moves a person across a border, and it is several changes that belong
together, each with its own subject and so its own event, all in one transaction:

1. ``intention.recorded``: the reconfirmation taken at the handover (a private interview by a
   neutral body at level ``reconfirmed``, which needs an earlier verified statement of the
   same option and destination), when one was taken;
2. ``request.status_changed``: the request ``scheduled -> executed``, through the consent gate
   (``cases.consent``), its event naming the statement that opened it;
3. ``case.status_changed``: the case ``release_approved -> repatriated`` or
   ``transferred_third_state`` (with the destination), through the gate again;
4. ``handover.recorded``: the handover itself, and the list entry ``handed_over``.

A refusal anywhere (the gate, the state machines, the reconfirmation's level) rolls all of
them back. The case must already be ``release_approved``: a case on hold or interned is
refused, not moved through release in passing, because "on hold" often means he was
excluded from exchanges or is under investigation, and releasing him is a decision of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases import choices, consent
from cases.exchanges.models import (
    EXCHANGE_TRANSITIONS,
    HANDOVER_STATUSES,
    LIST_ENTRY_TRANSITIONS,
    Exchange,
    ExchangeListEntry,
    ExchangeStatus,
    Handover,
    ListEntryState,
)
from cases.models import Case, Party, Request, Source, StatedIntention
from cases.services.base import (
    Actor,
    check_version,
    created_changes,
    date_to_datetime,
    reference,
    refuse_unknown,
    save_new_version,
    versioned_change,
    writes,
)
from cases.services.cases import case_status_apply
from cases.services.intentions import intention_record
from cases.services.requests import request_status_apply
from cases.tasks import rules as task_rules
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

EXCHANGE_FIELDS = ("name", "mediator", "planned_on", "planned_on_precision", "notes")
HANDOVER_FIELDS = (
    "occurred_on",
    "occurred_on_precision",
    "place_text",
    "place",
    "receiving_authority",
    "receiving_state",
    "exchange",
    "notes",
)
#: What the caller says about the reconfirmation taken at the handover. The option, the
#: destination, the day, the setting (a private interview by a neutral body) and the level
#: (``reconfirmed``) follow from the handover; whether it earns that level is checked.
RECONFIRMATION_FIELDS = (
    "heard_by",
    "heard_by_role",
    "interpreter_supplied_by",
    "detaining_power_present",
    "options_explained",
    "duress_signs",
    "certainty",
    "conditions",
    "quote",
    "quote_language",
    "present_parties",
)
#: The case status a handover closes the case with, by the option of the move.
CLOSED_BY_OPTION = {
    choices.IntentionOption.RETURN_HOME: choices.CaseStatus.REPATRIATED,
    choices.IntentionOption.THIRD_STATE: choices.CaseStatus.TRANSFERRED_THIRD_STATE,
}


def _party_refs(parties: Iterable[Party]) -> list:
    return [reference(p) for p in sorted(parties, key=lambda p: (p.name, p.pk))]


# --------------------------------------------------------------------------------------------
# Exchanges and their lists
# --------------------------------------------------------------------------------------------


@writes
def exchange_create(
    *,
    actor: Actor,
    name: str,
    parties: Iterable[Party],
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Exchange:
    """Plan an exchange between two sides and append ``exchange.created``."""
    refuse_unknown(fields, EXCHANGE_FIELDS, "exchange")
    parties = list(parties)
    if len({p.pk for p in parties}) != 2:
        raise ValidationError({"parties": _("An exchange is between two sides: name two parties.")})
    exchange = sink.new(Exchange, name=name, source=source, **fields)
    sink.validate(exchange)
    sink.insert(exchange)
    exchange.parties.set(parties)
    changes = created_changes(exchange, ("name", "status", *fields))
    changes["parties"] = [None, _party_refs(parties)]
    sink.append(
        EventDraft(
            kind=EventKind.EXCHANGE_CREATED,
            summary=vocabulary.exchange_created(exchange),
            subject=exchange,
            actor=actor,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return exchange


def _sync_listed_consent(
    sink, exchange: Exchange, actor: Actor
) -> tuple[dict[str, list], list[EventDraft]]:
    """Run the consent rule for every case the exchange lists as proposed or accepted: its
    date (or its being open) is their clock. Return what it did, as event changes, and the
    tasks' own events, each in its case's chain."""
    applied, follow_ups = task_rules.Applied(), []
    listed = (
        ExchangeListEntry.objects.filter(
            exchange=exchange, state__in=[ListEntryState.PROPOSED, ListEntryState.ACCEPTED]
        )
        .select_related("case")
        .order_by("id")
    )
    for entry in listed:
        case = sink.lock(entry.case)
        of_case = task_rules.sync_consent_of_case(sink, case, user=actor.user)
        applied.extend(of_case)
        follow_ups += of_case.drafts(actor=actor, case=case)
    return applied.changes(), follow_ups


@writes
def exchange_update(
    *,
    actor: Actor,
    exchange: Exchange,
    expected_version: int | None = None,
    parties: Iterable[Party] | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Exchange:
    """Change an exchange's details (not its status) and append ``exchange.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    exchange = sink.lock(exchange)
    changes = versioned_change(
        exchange, expected_version=expected_version, fields=fields, allowed=EXCHANGE_FIELDS
    )
    if parties is not None:
        parties = list(parties)
        if len({p.pk for p in parties}) != 2:
            raise ValidationError(
                {"parties": _("An exchange is between two sides: name two parties.")}
            )
        old = list(exchange.parties.all())
        if {p.pk for p in old} != {p.pk for p in parties}:
            changes["parties"] = [_party_refs(old), _party_refs(parties)]
    if not changes:
        return exchange
    save_new_version(sink, exchange)
    if "parties" in changes:
        exchange.parties.set(parties)
    follow_ups: list[EventDraft] = []
    if "planned_on" in changes:
        tasks_changes, follow_ups = _sync_listed_consent(sink, exchange, actor)
        changes.update(tasks_changes)
    sink.append(
        EventDraft(
            kind=EventKind.EXCHANGE_UPDATED,
            summary=vocabulary.exchange_updated(exchange, changes),
            subject=exchange,
            actor=actor,
            changes=changes,
            reason=reason,
            source=source,
            follow_ups=follow_ups,
        )
    )
    return exchange


@writes
def exchange_transition(
    *,
    actor: Actor,
    exchange: Exchange,
    status: str,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Exchange:
    """Move an exchange along ``planned -> agreed -> in_progress -> completed | cancelled``."""
    exchange = sink.lock(exchange)
    check_version(exchange, expected_version)
    if status not in ExchangeStatus.values:
        raise ValidationError(
            {"status": _("Unknown status %(status)s.") % {"status": repr(status)}}
        )
    if status not in EXCHANGE_TRANSITIONS[exchange.status]:
        allowed = sorted(EXCHANGE_TRANSITIONS[exchange.status]) or [_("none (it is over)")]
        raise ValidationError(
            {
                "status": _(
                    "An exchange cannot go from %(old)s to %(new)s. "
                    "Allowed from %(old)s: %(allowed)s."
                )
                % {"old": exchange.status, "new": status, "allowed": ", ".join(allowed)}
            }
        )
    old = exchange.status
    exchange.status = status
    exchange.version += 1
    sink.save(exchange)
    changes: dict[str, list] = {"status": [old, status]}
    tasks_changes, follow_ups = _sync_listed_consent(sink, exchange, actor)
    changes.update(tasks_changes)
    sink.append(
        EventDraft(
            kind=EventKind.EXCHANGE_STATUS_CHANGED,
            summary=vocabulary.exchange_status_changed(exchange, old, status),
            subject=exchange,
            actor=actor,
            changes=changes,
            reason=reason,
            source=source,
            follow_ups=follow_ups,
        )
    )
    return exchange


@writes
def exchange_entry_set(
    *,
    actor: Actor,
    exchange: Exchange,
    case: Case,
    state: str,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> ExchangeListEntry:
    """Put a case on an exchange's list, or change where he stands on it; append
    ``exchange.entry_set`` to the case's timeline.

    ``handed_over`` is reached only by a handover (:func:`handover_record`).
    """
    case = sink.lock(case)
    exchange = sink.lock(exchange)
    if state not in ListEntryState.values:
        raise ValidationError({"state": _("Unknown state %(state)s.") % {"state": repr(state)}})
    if state == ListEntryState.HANDED_OVER:
        raise ValidationError(
            {"state": _("A person is handed over only by recording the handover.")}
        )
    if exchange.status in (ExchangeStatus.COMPLETED, ExchangeStatus.CANCELLED):
        raise ValidationError(
            {
                "exchange": _("The exchange is %(status)s; its list is closed.")
                % {"status": exchange.status}
            }
        )
    entry = (
        ExchangeListEntry.objects.select_for_update().filter(exchange=exchange, case=case).first()
    )
    if entry is None:
        if state != ListEntryState.PROPOSED and state != ListEntryState.ACCEPTED:
            raise ValidationError({"state": _("A person joins a list as proposed or accepted.")})
        entry = sink.new(
            ExchangeListEntry,
            exchange=exchange,
            case=case,
            state=state,
            reason=reason,
            source=source,
        )
        sink.insert(entry)
        changes = {"case": [None, reference(case)], "state": [None, state]}
    else:
        if entry.state == state:
            return entry
        if state not in LIST_ENTRY_TRANSITIONS[entry.state]:
            raise ValidationError(
                {
                    "state": _("A list entry cannot go from %(old)s to %(new)s.")
                    % {"old": entry.state, "new": state}
                }
            )
        changes = {"state": [entry.state, state]}
        if reason != entry.reason:
            changes["reason"] = [entry.reason, reason]
        entry.state, entry.reason = state, reason
        if source is not None:
            entry.source = source
        entry.version += 1
        sink.save(entry)
    # A change of the list is a change of the exchange: its mirrors read the list from it.
    exchange.version += 1
    sink.save(exchange)
    # Where he stands on a dated list is the clock of his consent's reconfirmation.
    tasks = task_rules.sync_consent_of_case(sink, case, user=actor.user)
    changes.update(tasks.changes())
    sink.append(
        EventDraft(
            kind=EventKind.EXCHANGE_ENTRY_SET,
            summary=vocabulary.exchange_entry_set(entry),
            subject=exchange,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            follow_ups=tasks.drafts(actor=actor),
        )
    )
    return entry


# --------------------------------------------------------------------------------------------
# The handover
# --------------------------------------------------------------------------------------------


def _reconfirmation_destination(sink, case: Case, move: consent.Move) -> str:
    """Return the destination the reconfirmation names: the move's, else his own wish's.

    A repatriation request often names no country; the person's verified wish to go home
    names it, and a reconfirmation must name what the earlier verified statement named.
    """
    if move.destination:
        return move.destination
    current = sink.current_intention(case)
    if current is not None and current.option == move.option:
        return current.destination_country.code or ""
    return ""


def _taken_at(statement: StatedIntention, case: Case, move: consent.Move, day: dt.date):
    """Return ``statement`` if it can be the reconfirmation taken at this handover."""
    destination = statement.destination_country.code or ""
    if (
        statement.case_id != case.pk
        or statement.verification != choices.Verification.RECONFIRMED
        or statement.state != choices.IntentionState.ACTIVE
        or statement.archived_at is not None
        or statement.stated_on != day
        or statement.option != move.option
        or (move.destination and destination != move.destination)
    ):
        raise ValidationError(
            {
                "reconfirmation": _(
                    "The reconfirmation taken at a handover is a statement of this case at "
                    "level 'reconfirmed', made that day, naming the move, and still standing "
                    "(not withdrawn, contested, invalidated, superseded or archived)."
                )
            }
        )
    return statement


#: Kinds of party that receive a person only on a state's behalf, never as the state.
INTERMEDIARY_KINDS = consent.INDEPENDENT_KINDS


def state_country(party: Party | None) -> str:
    """Return the country of the state ``party`` belongs to: its own, else its nearest
    parent's (a ministry under its state), else ""."""
    seen: set[int] = set()
    while party is not None and party.pk not in seen:
        if party.country:
            return party.country.code
        seen.add(party.pk)
        party = party.parent
    return ""


def _is_intermediary(party: Party, exchange: Exchange | None, destinations: set[str]) -> bool:
    """Return whether ``party`` receives a person on a state's behalf rather than as one.

    The ICRC and other neutral bodies, international organisations and NGOs are
    intermediaries; so is the exchange's mediator, unless it is itself the state he goes to.
    """
    if party.is_neutral or party.kind in INTERMEDIARY_KINDS:
        return True
    return (
        exchange is not None
        and exchange.mediator_id == party.pk
        and state_country(party) not in destinations
    )


def handover_destinations(sink, case: Case, move: consent.Move) -> set[str]:
    """Return the ISO codes of the states this move may hand him to.

    The move's destination; for a return that names none, the country his wish to go home
    names, else every state he is a national of or depends on.
    """
    if move.destination:
        return {move.destination}
    named = _reconfirmation_destination(sink, case, move)
    if named:
        return {named}
    if move.option == choices.IntentionOption.RETURN_HOME:
        return consent.own_states(case.person)
    return set()


def _receiving_state(
    *,
    move: consent.Move,
    destinations: set[str],
    receiving_authority: Party,
    receiving_state: Party | None,
    exchange: Exchange | None,
) -> Party:
    """Return the state the person is handed to, refusing one the move does not go to.

    A state's authority receives him for its own state; an intermediary (the ICRC, an
    NGO, the exchange's mediator) only on behalf of a state named as ``receiving_state``.
    Either way that state must be the move's destination: consent to go to South Korea is
    no consent to be handed to the DPRK's authority.
    """
    if not destinations:
        raise ValidationError(
            {
                "request": _(
                    "The state he goes to is not known: the request names no destination and "
                    "neither his wish, his nationality nor the power he depends on names one. "
                    "Record one before the handover."
                )
            }
        )
    wanted = ", ".join(sorted(destinations))
    if _is_intermediary(receiving_authority, exchange, destinations):
        if receiving_state is None:
            raise ValidationError(
                {
                    "receiving_state": _(
                        "%(authority)s receives him on a state's behalf: name the state he "
                        "is handed over to (%(destination)s)."
                    )
                    % {"authority": receiving_authority.name, "destination": wanted}
                }
            )
        state, field_name = receiving_state, "receiving_state"
    elif receiving_state is not None:
        authority_country = state_country(receiving_authority)
        if authority_country and authority_country != state_country(receiving_state):
            raise ValidationError(
                {
                    "receiving_state": _(
                        "%(authority)s is an authority of %(country)s; it does not receive "
                        "him for %(state)s."
                    )
                    % {
                        "authority": receiving_authority.name,
                        "country": authority_country,
                        "state": receiving_state.name,
                    }
                }
            )
        state, field_name = receiving_state, "receiving_state"
    else:
        state, field_name = receiving_authority, "receiving_authority"
    if _is_intermediary(state, exchange, destinations):
        raise ValidationError(
            {
                field_name: _(
                    "%(party)s is not a state: name the state he is handed over to "
                    "(%(destination)s)."
                )
                % {"party": state.name, "destination": wanted}
            }
        )
    country = state_country(state)
    if not country:
        raise ValidationError(
            {
                field_name: _(
                    "%(party)s names no country: record the state it belongs to (its country "
                    "or its parent) before handing him over to it."
                )
                % {"party": state.name}
            }
        )
    if country not in destinations:
        raise ValidationError(
            {
                field_name: _(
                    "%(party)s is an authority of %(country)s, but the %(move)s takes him to "
                    "%(destination)s: he is handed over to that state's authority, or to the "
                    "ICRC or a mediator on its behalf."
                )
                % {
                    "party": state.name,
                    "country": country,
                    "move": move.label,
                    "destination": wanted,
                }
            }
        )
    if receiving_state is None:
        # Recorded as the state itself (South Korea), not its ministry, when it is on file.
        root = Party.objects.get(pk=state.root_id())
        if state_country(root) == country and not _is_intermediary(root, exchange, destinations):
            return root
    return state


@writes
def handover_record(
    *,
    actor: Actor,
    request: Request,
    occurred_on: dt.date,
    receiving_authority: Party,
    receiving_state: Party | None = None,
    occurred_on_precision: str = choices.DatePrecision.DAY,
    exchange: Exchange | None = None,
    place_text: str = "",
    place=None,
    present_parties: Iterable[Party] = (),
    reconfirmation: Mapping[str, Any] | StatedIntention | None = None,
    notes: str = "",
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Handover:
    """Hand the person over, executing ``request``; move his case to its closed status.

    Records the reconfirmation taken there (when given: what was said and how, as
    ``RECONFIRMATION_FIELDS``; or the statement already recorded there that day), executes
    the request through the consent gate, closes the case as ``repatriated`` or
    ``transferred_third_state`` and marks his exchange list entry handed over, all in one
    transaction with one event per subject (module docstring). The receiving authority (or,
    for an intermediary such as the ICRC, ``receiving_state``) must be of the state the move
    goes to (:func:`_receiving_state`). A refusal
    (``ValidationError``, or ``consent.ConsentRefused`` naming what is missing) writes
    nothing.
    """
    if occurred_on > sink.today():
        raise ValidationError(
            {
                "occurred_on": _(
                    "%(date)s is in the future; a handover is recorded once it happened, on "
                    "the day it did."
                )
                % {"date": occurred_on.isoformat()}
            }
        )
    case = sink.lock(request.case)
    request = sink.lock(request)
    if request.status != choices.RequestStatus.SCHEDULED:
        raise ValidationError(
            {
                "request": _("A handover executes a scheduled request; this one is %(status)s.")
                % {"status": request.status}
            }
        )
    move = consent.move_for_request(request)
    if move is None:
        raise ValidationError(
            {
                "request": _(
                    "A request of kind “%(kind)s” moves no one across a border; a handover "
                    "executes a repatriation, an exchange, a direct medical repatriation, a "
                    "transfer to a third state or treatment abroad."
                )
                % {"kind": request.get_kind_display()}
            }
        )
    if case.status != choices.CaseStatus.RELEASE_APPROVED:
        raise ValidationError(
            {
                "case": _(
                    "Case %(reference)s is %(status)s: approve his release (release_approved) "
                    "before the handover."
                )
                % {"reference": case.reference, "status": case.status}
            }
        )
    entry = None
    if exchange is not None:
        exchange = sink.lock(exchange)
        if exchange.status not in HANDOVER_STATUSES:
            raise ValidationError(
                {
                    "exchange": _(
                        "The exchange is %(status)s; people are handed over in an agreed "
                        "exchange or one in progress."
                    )
                    % {"status": exchange.status}
                }
            )
        entry = (
            ExchangeListEntry.objects.select_for_update()
            .filter(exchange=exchange, case=case)
            .first()
        )
        if entry is None or entry.state != ListEntryState.ACCEPTED:
            state = entry.state if entry is not None else _("not on its list")
            raise ValidationError(
                {
                    "exchange": _(
                        "%(reference)s is %(state)s in %(exchange)s; only an accepted person is "
                        "handed over in it."
                    )
                    % {"reference": case.reference, "state": state, "exchange": exchange}
                }
            )
    present_parties = list(present_parties or ())
    destinations = handover_destinations(sink, case, move)
    receiving_state = _receiving_state(
        move=move,
        destinations=destinations,
        receiving_authority=receiving_authority,
        receiving_state=receiving_state,
        exchange=exchange,
    )

    reconfirmed = None
    if isinstance(reconfirmation, StatedIntention):
        reconfirmed = _taken_at(reconfirmation, case, move, occurred_on)
    elif reconfirmation is not None:
        said = dict(reconfirmation)
        refuse_unknown(said, RECONFIRMATION_FIELDS, "reconfirmation")
        heard_present = list(said.pop("present_parties", ()) or ())
        try:
            reconfirmed = intention_record(
                sink=sink,
                actor=actor,
                case=case,
                source=source,
                present_parties=heard_present,
                option=move.option,
                destination_country=_reconfirmation_destination(sink, case, move),
                stated_on=occurred_on,
                stated_on_precision=occurred_on_precision,
                setting=choices.StatementSetting.PRIVATE_NEUTRAL_INTERVIEW,
                verification=choices.Verification.RECONFIRMED,
                at_handover=True,
                reason=reason,
                **said,
            )
        except ValidationError as error:
            raise ValidationError({"reconfirmation": error.messages}) from error

    when = {"occurred_on": occurred_on, "occurred_precision": occurred_on_precision}
    request = request_status_apply(
        sink=sink,
        actor=actor,
        request=request,
        status=choices.RequestStatus.EXECUTED,
        reason=reason,
        source=source,
        **when,
    )
    # The statement the gate passed on: the case's current intention, now.
    opened_by = sink.current_intention(case)
    case = case_status_apply(
        sink=sink,
        actor=actor,
        case=case,
        status=CLOSED_BY_OPTION[move.option],
        destination_country=move.destination,
        reason=reason,
        source=source,
        **when,
    )

    handover = sink.new(
        Handover,
        case=case,
        request=request,
        exchange=exchange,
        occurred_on=occurred_on,
        occurred_on_precision=occurred_on_precision,
        place_text=place_text,
        place=place,
        receiving_authority=receiving_authority,
        receiving_state=receiving_state,
        reconfirmation=reconfirmed,
        consent_statement=opened_by,
        destination_country=move.destination or state_country(receiving_state),
        notes=notes,
        source=source,
    )
    sink.validate(handover, exclude=["case", "request", "consent_statement", "reconfirmation"])
    sink.insert(handover)
    sink.set_related(handover, "present_parties", present_parties)
    changes = created_changes(
        handover,
        (
            "request",
            "exchange",
            "occurred_on",
            "occurred_on_precision",
            "place_text",
            "place",
            "receiving_authority",
            "receiving_state",
            "reconfirmation",
            "consent_statement",
            "destination_country",
            "notes",
        ),
    )
    if present_parties:
        changes["present_parties"] = [None, _party_refs(present_parties)]
    if entry is not None:
        changes["list_entry_state"] = [entry.state, ListEntryState.HANDED_OVER]
        entry.state = ListEntryState.HANDED_OVER
        entry.version += 1
        sink.save(entry)
    case = sink.lock(case)
    sink.append(
        EventDraft(
            kind=EventKind.HANDOVER_RECORDED,
            summary=vocabulary.handover_recorded(handover),
            subject=handover,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(occurred_on),
            occurred_precision=occurred_on_precision,
        )
    )
    return handover


__all__ = [
    "EXCHANGE_FIELDS",
    "HANDOVER_FIELDS",
    "RECONFIRMATION_FIELDS",
    "exchange_create",
    "exchange_entry_set",
    "exchange_transition",
    "exchange_update",
    "handover_destinations",
    "state_country",
    "handover_record",
]
