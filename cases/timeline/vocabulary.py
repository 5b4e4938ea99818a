"""The timeline's vocabulary: every kind of event and the one wording of its summary.

Each service appends one event; its kind is an ``EventKind`` and its summary comes from the
function here named after it, whether the event is stored row by row or in bulk. Labels of
rows that summaries and change lists quote (a statement, a request) are worded here too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any

from django.utils import translation
from django_countries.fields import Country

from cases import choices
from cases.choices import EventKind

__all__ = ["EventKind", "INTENTION_STATE_EVENTS"]

#: The event a statement's change of state appends (superseding has its own service).
INTENTION_STATE_EVENTS = {
    choices.IntentionState.WITHDRAWN: EventKind.INTENTION_WITHDRAWN,
    choices.IntentionState.CONTESTED: EventKind.INTENTION_CONTESTED,
    choices.IntentionState.INVALIDATED: EventKind.INTENTION_INVALIDATED,
    choices.IntentionState.ACTIVE: EventKind.INTENTION_RECORDED,
}


# Labels looked up once, in English: ``Model.get_FOO_display()`` and ``Enum(value).label``
# rebuild their mapping on every call, and the bulk load words hundreds of thousands of
# summaries. The labels are translated for readers (``gettext_lazy``); a summary is not.
@functools.cache
def _english_labels(enum: type) -> dict[str, str]:
    with translation.override("en"):
        return {value: str(text) for value, text in enum.choices}


def label(enum: type, value: str) -> str:
    """Return the English label of ``value`` in the choices ``enum``."""
    return _english_labels(enum)[value]


#: Labels for change keys that are not model fields.
_CHANGE_LABELS = {"names": "name variants"}


def describe_changes(changes: Mapping[str, Any], obj) -> str:
    """Return the changed fields as a readable list, e.g. "rank, unit"."""
    labels = []
    for name in changes:
        if name in _CHANGE_LABELS:
            labels.append(_CHANGE_LABELS[name])
            continue
        try:
            labels.append(str(obj._meta.get_field(name).verbose_name))
        except Exception:  # noqa: BLE001 - not a model field
            labels.append(name.replace("_", " "))
    return ", ".join(labels)


# Labels worded once per value and language: the bulk load words hundreds of thousands.
@functools.lru_cache(maxsize=4096)
def _intention_text(option: str, code: str, verification: str, stated_on, language) -> str:
    text = label(choices.IntentionOption, option)
    if code:
        text += f" ({code})"
    level = label(choices.Verification, verification).split(" (")[0].lower()
    return f"{text}, {level}, {stated_on.isoformat()}"


def intention_label(intention) -> str | None:
    """Return e.g. "Third state (KR), verified, 2025-03-01" for a statement, or None."""
    if intention is None:
        return None
    return _intention_text(
        intention.option,
        intention.destination_country.code or "",
        intention.verification,
        intention.stated_on,
        translation.get_language(),
    )


@functools.lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """Return the English name of the country ``code``, whatever the writer's language.

    A summary is stored once and read by everyone, so it is worded in the site's source
    language; a country name in it must not follow the language of the officer who wrote it.
    """
    with translation.override("en"):
        return str(Country(code).name)


@functools.lru_cache(maxsize=1024)
def _request_text(kind: str, code: str, capital: bool) -> str:
    text = f"{'R' if capital else 'r'}equest for {label(choices.RequestKind, kind).lower()}"
    if code:
        text += f" ({country_name(code)})"
    return text


def request_label(request, *, capital: bool = False) -> str:
    """Return e.g. "request for transfer to a third state (South Korea)"."""
    return _request_text(request.kind, request.destination_country.code or "", capital)


# --------------------------------------------------------------------------------------------
# Summaries, one per kind of event
# --------------------------------------------------------------------------------------------


def party_created(party) -> str:
    """Summarise ``party.created``."""
    return f"Party {party.name} ({label(choices.PartyKind, party.kind).lower()}) created"


def party_updated(party, changes) -> str:
    """Summarise ``party.updated``."""
    return f"Party {party.name}: {describe_changes(changes, party)} changed"


def source_created(source) -> str:
    """Summarise ``source.created``."""
    return f"Source added: {source}"


def source_updated(source, changes) -> str:
    """Summarise ``source.updated``."""
    return f"Source {source.title}: {describe_changes(changes, source)} changed"


def person_created(person) -> str:
    """Summarise ``person.created``."""
    return f"Person {person.working_name} created"


def person_updated(person, changes) -> str:
    """Summarise ``person.updated``."""
    return f"{person.working_name}: {describe_changes(changes, person)} changed"


def identity_document_recorded(document) -> str:
    """Summarise ``identity_document.recorded`` (the number and name on it are sensitive)."""
    genuineness = document.get_genuineness_display().lower()
    return f"{document.person.working_name}: {document} recorded ({genuineness})"


def identity_document_updated(document, changes) -> str:
    """Summarise ``identity_document.updated``."""
    return (
        f"{document.person.working_name}: {document}: {describe_changes(changes, document)} changed"
    )


def external_identifier_recorded(identifier) -> str:
    """Summarise ``external_identifier.recorded``."""
    return f"{identifier.person.working_name}: {identifier} recorded"


def external_identifier_updated(identifier, changes) -> str:
    """Summarise ``external_identifier.updated``."""
    return (
        f"{identifier.person.working_name}: {identifier.get_scheme_display()} identifier: "
        f"{describe_changes(changes, identifier)} changed"
    )


def nationality_claim_recorded(claim) -> str:
    """Summarise ``nationality_claim.recorded``."""
    return f"{claim.person.working_name}: nationality {claim} recorded"


def nationality_claim_updated(claim, changes) -> str:
    """Summarise ``nationality_claim.updated``."""
    return (
        f"{claim.person.working_name}: nationality claim: "
        f"{describe_changes(changes, claim)} changed"
    )


def person_merged(merged, survivor) -> str:
    """Summarise ``person.merged``."""
    return f"Person {merged.working_name} merged into {survivor.working_name} (duplicate)"


def person_unmerged(restored, survivor) -> str:
    """Summarise ``person.unmerged``."""
    return f"Merge of {restored.working_name} into {survivor.working_name} undone"


def document_attached(document) -> str:
    """Summarise ``document.attached`` (its title; the name it was uploaded under is sensitive)."""
    kind = document.get_kind_display().lower()
    attached = document.attached_to
    where = ""
    if attached is not None:
        name, row = attached
        labels = {
            "statement": intention_label,
            "request": request_label,
            "handover": lambda handover: f"of {handover.occurred_on.isoformat()}",
        }
        label = labels.get(name, str)(row)
        where = f" to the {name} {label}"
    return f"Document attached{where}: {document.title} ({kind}, {document.content_type})"


def document_withdrawn(document) -> str:
    """Summarise ``document.withdrawn``."""
    return f"Document withdrawn: {document.title}"


def case_opened(case, person, detaining_party) -> str:
    """Summarise ``case.opened``."""
    return f"Case {case.reference} opened for {person.working_name}, held by {detaining_party.name}"


def case_updated(case, changes) -> str:
    """Summarise ``case.updated``."""
    return f"{case.reference}: {describe_changes(changes, case)} changed"


def case_status_changed(case, old_status: str, status: str) -> str:
    """Summarise ``case.status_changed``."""
    old, new = label(choices.CaseStatus, old_status), label(choices.CaseStatus, status)
    return f"{case.reference}: status {old} → {new}"


def intention_recorded(person, intention) -> str:
    """Summarise ``intention.recorded`` for a new statement."""
    setting = label(choices.StatementSetting, intention.setting).lower()
    return f"Statement by {person.working_name} recorded: {intention_label(intention)} ({setting})"


def intention_superseded(person, old, new) -> str:
    """Summarise ``intention.superseded``."""
    return (
        f"Statement by {person.working_name} superseded: "
        f"{intention_label(old)} replaced by {intention_label(new)}"
    )


def intention_state_changed(person, intention, state: str) -> str:
    """Summarise a statement withdrawn, contested, invalidated or reinstated."""
    verb = "reinstated" if state == choices.IntentionState.ACTIVE else state
    return f"Statement by {person.working_name} {verb}: {intention_label(intention)}"


def request_filed(request, addressed_to, *, draft: bool) -> str:
    """Summarise ``request.filed`` or ``request.drafted``."""
    verb = "drafted" if draft else "filed"
    return f"{request_label(request, capital=True)} {verb}, addressed to {addressed_to.name}"


def request_updated(request, changes) -> str:
    """Summarise ``request.updated``."""
    return f"{request_label(request, capital=True)}: {describe_changes(changes, request)} changed"


def request_status_changed(request, old_status: str, status: str) -> str:
    """Summarise ``request.status_changed``."""
    old, new = label(choices.RequestStatus, old_status), label(choices.RequestStatus, status)
    return f"{request_label(request, capital=True)}: {old} → {new}"


def position_recorded(position, party, request) -> str:
    """Summarise ``position.recorded``."""
    stance = label(choices.Stance, position.stance).lower()
    return f"{party.name} on the {request_label(request)}: {stance}"


def risk_assessed(risk) -> str:
    """Summarise ``risk.assessed``."""
    where = (
        country_name(risk.destination_country.code) if risk.destination_country else "his own state"
    )
    level = label(choices.RiskLevel, risk.level).lower()
    return f"Risk on return to {where} assessed: {level}"


def occurrence_recorded(occurrence) -> str:
    """Summarise ``occurrence.recorded``."""
    return f"{label(choices.OccurrenceKind, occurrence.kind)}: {occurrence.description}"


def note_added(note) -> str:
    """Summarise ``note.added``: its first line."""
    first_line = note.body.strip().splitlines()[0]
    return f"Note: {first_line[:200]}"


def notifications_opened(case, reason_label: str, recipients) -> str:
    """Summarise ``notification.opened`` (a notification owed without a status change)."""
    names = ", ".join(str(party) for party in recipients) or "nobody (no recipients set)"
    return f"{case.reference}: notification of {reason_label.lower()} due to {names}"


def notification_acted(notification, what: str) -> str:
    """Summarise ``notification.sent``, ``notification.withheld`` or ``.acknowledged``."""
    reason = notification.get_reason_display().lower()
    case, recipient = notification.case.reference, notification.recipient
    return f"{case}: notification of {reason} to {recipient} {what}"


def notification_recipients_set(case, recipients) -> str:
    """Summarise ``notification.recipients_set``."""
    names = ", ".join(str(party) for party in recipients) or "nobody"
    return f"{case.reference}: notifications go to {names}"


def archived(obj, *, archive: bool, case=None) -> str:
    """Summarise a case, person, statement or request archived or brought back."""
    verb = "archived" if archive else "unarchived"
    model = obj._meta.model_name
    if model == "case":
        return f"Case {obj.reference} {verb}"
    if model == "person":
        return f"Person {obj.working_name} {verb}"
    if model == "statedintention":
        return f"Statement by {case.person.working_name} {verb}: {intention_label(obj)}"
    return f"{request_label(obj, capital=True)} {verb}"


#: The kind each archivable model's archiving and bringing back appends.
ARCHIVE_EVENTS = {
    "case": (EventKind.CASE_ARCHIVED, EventKind.CASE_UNARCHIVED),
    "person": (EventKind.PERSON_ARCHIVED, EventKind.PERSON_UNARCHIVED),
    "statedintention": (EventKind.INTENTION_ARCHIVED, EventKind.INTENTION_UNARCHIVED),
    "request": (EventKind.REQUEST_ARCHIVED, EventKind.REQUEST_UNARCHIVED),
}


def case_purged(reference: str) -> str:
    """Summarise ``case.purged``: the tombstone names only the reference."""
    return f"Case {reference} purged"


def place_created(place) -> str:
    """Summarise ``place.created``."""
    return f"Place of detention {place.name} ({place.get_kind_display().lower()}) created"


def place_updated(place, changes) -> str:
    """Summarise ``place.updated``."""
    return f"Place of detention {place.name}: {describe_changes(changes, place)} changed"


def movement_recorded(movement) -> str:
    """Summarise ``movement.recorded``."""
    origin = f" from {movement.from_place.name}" if movement.from_place_id else ""
    return (
        f"{movement.get_kind_display()}: moved{origin} to {movement.to_place.name} "
        f"({movement.moved_on.isoformat()})"
    )


def capture_card_recorded(card) -> str:
    """Summarise ``capture_card.recorded``."""
    answered = card.movement
    what = f"for the {answered.get_kind_display().lower()} of {answered.moved_on.isoformat()}"
    if card.declined:
        return f"Capture card declined {what} (on {card.declined_on.isoformat()})"
    state = (
        f"sent to the Central Agency on {card.sent_to_agency_on.isoformat()}"
        if card.sent_to_agency_on
        else "not yet sent to the Central Agency"
    )
    return f"Capture card {what}: {state}"


def capture_card_updated(card, changes) -> str:
    """Summarise ``capture_card.updated``."""
    return f"{card}: {describe_changes(changes, card)} changed"


def task_opened(task) -> str:
    """Summarise ``task.opened``."""
    return f'{task.case.reference}: task "{task.title}" due {task.due_on.isoformat()}'


def task_updated(task, changes) -> str:
    """Summarise ``task.updated``."""
    return f'{task.case.reference}: task "{task.title}": {describe_changes(changes, task)} changed'


def task_closed(task) -> str:
    """Summarise ``task.done`` or ``task.cancelled``."""
    return f'{task.case.reference}: task "{task.title}" {task.get_state_display().lower()}'


def task_rules_applied(case, opened: int, closed: int) -> str:
    """Summarise ``task.rules_applied`` (``manage.py open_due_tasks``)."""
    return f"{case.reference}: {opened} task(s) opened, {closed} closed by their rules"


def exchange_created(exchange) -> str:
    """Summarise ``exchange.created``."""
    return f"Exchange {exchange.name} planned"


def exchange_updated(exchange, changes) -> str:
    """Summarise ``exchange.updated``."""
    return f"Exchange {exchange.name}: {describe_changes(changes, exchange)} changed"


def exchange_status_changed(exchange, old: str, new: str) -> str:
    """Summarise ``exchange.status_changed``."""
    return f"Exchange {exchange.name}: {old.replace('_', ' ')} -> {new.replace('_', ' ')}"


def exchange_entry_set(entry) -> str:
    """Summarise ``exchange.entry_set``."""
    return f"{entry.get_state_display()} for exchange {entry.exchange.name}"


def handover_recorded(handover) -> str:
    """Summarise ``handover.recorded``."""
    where = (
        f" at {handover.place_text or handover.place}"
        if (handover.place_text or handover.place_id)
        else ""
    )
    authority = handover.receiving_authority
    state = handover.receiving_state
    behalf = f" for {state.name}" if state is not None and state.pk != authority.pk else ""
    return f"Handed over to {authority.name}{behalf}{where} ({handover.occurred_on.isoformat()})"


def visit_recorded(visit) -> str:
    """Summarise ``visit.recorded``."""
    where = visit.place_text or (visit.place.name if visit.place_id else "")
    where = f" to {where}" if where else ""
    return f"Visit by {visit.visiting_body.name}{where} ({visit.visited_on.isoformat()})"


def visit_updated(visit, changes) -> str:
    """Summarise ``visit.updated``."""
    return (
        f"Visit by {visit.visiting_body.name} ({visit.visited_on.isoformat()}): "
        f"{describe_changes(changes, visit)} changed"
    )


def interview_recorded(interview) -> str:
    """Summarise ``interview.recorded``: whom the visitors saw, and whether in private."""
    visit = interview.visit
    how = "in private" if interview.in_private else "not in private"
    return (
        f"Seen {how} by {visit.visiting_body.name} during its visit of "
        f"{visit.visited_on.isoformat()}"
    )


def in_english(function):
    """Return ``function`` run with English active, whoever's language the request has.

    What the vocabulary words is stored (summaries, labels in change lists) and read by
    everyone, so it is worded in the source language: the field names and choice labels it
    quotes are translated for readers (``gettext_lazy``) and would otherwise take the
    writer's language.
    """

    @functools.wraps(function)
    def worded(*args, **kwargs):
        if translation.get_language() == "en":  # the bulk loads and most commands
            return function(*args, **kwargs)
        with translation.override("en"):
            return function(*args, **kwargs)

    return worded


# Every public wording function of this module, wrapped once here rather than one by one, so
# that a new summary cannot forget it.
for _name, _function in list(globals().items()):
    if (
        not _name.startswith("_")
        and _name not in {"in_english", "label", "country_name"}
        and inspect.isfunction(_function)
        and _function.__module__ == __name__
    ):
        globals()[_name] = in_english(_function)
del _name, _function
