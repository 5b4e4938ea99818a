"""Every write to the tracker.

Each service validates its input, changes the rows and appends exactly one TimelineEvent in
the same transaction, so there is never a change without its event nor an event without its
change. The admin, the API, management commands and the seed loader all call these; nothing
else writes case data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from cases import choices, consent
from cases.choices import Channel, EventKind
from cases.dbguards import timeline_purge
from cases.models import (
    Case,
    Note,
    Occurrence,
    Party,
    Person,
    PersonName,
    Position,
    Request,
    RiskAssessment,
    Source,
    StatedIntention,
    TimelineEvent,
)
from cases.selectors import current_intention_for
from cases.timeline import chain as timeline_chain
from cases.transitions import (
    CASE_CLOSED_STATUSES,
    allowed_case_statuses,
    allowed_request_statuses,
)

# --------------------------------------------------------------------------------------------
# Who acts, and version conflicts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who makes a change and through which channel; stamped on every event."""

    user: AbstractBaseUser | None = None
    channel: str = Channel.SYSTEM
    label: str = ""

    @property
    def display(self) -> str:
        """Return the name shown on the timeline."""
        if self.label:
            return self.label
        if self.user is not None:
            return self.user.get_username()
        return self.channel

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """Return the actor for changes made by the tracker itself."""
        return cls(user=None, channel=Channel.SYSTEM, label=label)


class StaleObjectError(Exception):
    """The row changed since the caller read it; nothing was written."""

    def __init__(self, obj: models.Model, expected_version: int):
        self.obj = obj
        self.expected_version = expected_version
        self.current_version = obj.version
        super().__init__(
            f"{obj._meta.verbose_name.capitalize()} {obj} was changed by someone else "
            f"(you had version {expected_version}, it is now version {obj.version}). "
            "Reload it, reapply your change and save again."
        )


def _check_version(obj: models.Model, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != obj.version:
        raise StaleObjectError(obj, int(expected_version))


# --------------------------------------------------------------------------------------------
# Helpers: values for the changes diff, the event writer
# --------------------------------------------------------------------------------------------


@dataclass
class NameSpec:
    """One name variant as a service takes it."""

    value: str
    script: str
    romanisation: str = ""
    is_pseudonym: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Return the variant as the fields of a ``PersonName`` row."""
        return {
            "value": self.value,
            "script": self.script,
            "romanisation": self.romanisation,
            "is_pseudonym": self.is_pseudonym,
        }


def _plain(value: Any) -> Any:
    """Return ``value`` as JSON for the changes diff: labels for rows, ISO for dates."""
    if value is None:
        return None
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "code") and hasattr(value, "name"):  # django_countries Country
        return value.code or ""
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _field_value(obj: models.Model, name: str) -> Any:
    value = getattr(obj, name)
    if getattr(obj._meta.get_field(name), "multiple", False):  # CountryField(multiple=True)
        return [_plain(item) for item in value]
    return _plain(value)


def _date_to_datetime(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def _lock_case(case: Case) -> Case:
    """Return ``case`` re-read under a row lock, serialising writes to one case."""
    return Case.objects.select_for_update().get(pk=case.pk)


def _append_event(
    *,
    actor: Actor,
    kind: str,
    summary: str,
    subject: models.Model,
    case: Case | None = None,
    person: Person | None = None,
    changes: Mapping[str, Any] | None = None,
    reason: str = "",
    source: Source | None = None,
    occurred_at: dt.datetime | None = None,
    occurred_precision: str = choices.DatePrecision.EXACT,
) -> TimelineEvent:
    """Append one event, chained to its predecessor; ``case`` must already be locked when given.

    The case's row lock (or, for an event with no case, the chain's advisory lock) makes the
    predecessor well defined: no other writer can append to the same chain until commit.
    """
    case_seq = None
    if case is not None:
        case.last_event_seq += 1
        Case.objects.filter(pk=case.pk).update(last_event_seq=case.last_event_seq)
        case_seq = case.last_event_seq
        if person is None:
            person = case.person
    else:
        timeline_chain.lock_chain(connection, person_id=person.pk if person else None)
    prev_hash = timeline_chain.chain_head(
        TimelineEvent.objects,
        case_id=case.pk if case is not None else None,
        case_seq=case_seq,
        person_id=person.pk if person is not None else None,
    )
    event = TimelineEvent(
        case=case,
        case_seq=case_seq,
        person=person,
        kind=kind,
        occurred_at=occurred_at or timezone.now(),
        occurred_precision=occurred_precision,
        actor=actor.user,
        actor_label=actor.display[:200],
        channel=actor.channel,
        summary=summary[:500],
        changes=dict(changes or {}),
        reason=reason or "",
        source=source,
        subject_type=subject._meta.model_name,
        subject_uuid=subject.uuid,
        prev_hash=prev_hash,
        hash_salt=timeline_chain.new_salt(),
    )
    event.hash = timeline_chain.hash_of_event(
        event, prev_hash=prev_hash, case=case, person=person, source=source
    )
    event.save(force_insert=True)
    return event


def _apply_fields(
    obj: models.Model, fields: Mapping[str, Any], allowed: Iterable[str]
) -> dict[str, list[Any]]:
    """Set ``fields`` on ``obj`` and return ``{field: [old, new]}`` for those that changed."""
    allowed = set(allowed)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ValidationError(
            {
                name: f"This field cannot be changed here. Allowed: {', '.join(sorted(allowed))}."
                for name in unknown
            }
        )
    changes: dict[str, list[Any]] = {}
    for name, new in fields.items():
        old_plain = _field_value(obj, name)
        setattr(obj, name, new)
        new_plain = _field_value(obj, name)
        if old_plain != new_plain:
            changes[name] = [old_plain, new_plain]
    return changes


#: Labels for change keys that are not model fields.
_CHANGE_LABELS = {"names": "name variants"}


def _describe_changes(changes: Mapping[str, Any], obj: models.Model) -> str:
    """Return the changed fields as a readable list, e.g. "rank, unit"."""
    labels = []
    for name in changes:
        if name in _CHANGE_LABELS:
            labels.append(_CHANGE_LABELS[name])
            continue
        try:
            labels.append(str(obj._meta.get_field(name).verbose_name))
        except Exception:  # noqa: BLE001 - not a model field, e.g. "names"
            labels.append(name.replace("_", " "))
    return ", ".join(labels)


# --------------------------------------------------------------------------------------------
# Reference data: parties and sources
# --------------------------------------------------------------------------------------------


@transaction.atomic
def party_create(
    *,
    actor: Actor,
    name: str,
    kind: str,
    country: str = "",
    parent: Party | None = None,
    short_name: str = "",
    is_neutral: bool = False,
) -> Party:
    """Create a party and append ``party.created``."""
    party = Party(
        name=name,
        kind=kind,
        country=country,
        parent=parent,
        short_name=short_name,
        is_neutral=is_neutral,
    )
    party.full_clean()
    party.save()
    changes = {"name": [None, party.name], "kind": [None, party.kind]}
    if is_neutral:
        changes["is_neutral"] = [None, True]
    _append_event(
        actor=actor,
        kind=EventKind.PARTY_CREATED,
        summary=f"Party {party.name} ({party.get_kind_display().lower()}) created",
        subject=party,
        changes=changes,
    )
    return party


@transaction.atomic
def source_create(
    *,
    actor: Actor,
    title: str,
    publisher: str = "",
    url: str = "",
    published_on: dt.date | None = None,
    language: str = "",
    reliability: str = choices.Reliability.F,
    notes: str = "",
) -> Source:
    """Create a source and append ``source.created``."""
    source = Source(
        title=title,
        publisher=publisher,
        url=url,
        published_on=published_on,
        language=language,
        reliability=reliability,
        notes=notes,
    )
    source.full_clean()
    source.save()
    _append_event(
        actor=actor,
        kind=EventKind.SOURCE_CREATED,
        summary=f"Source added: {source}",
        subject=source,
        changes={"title": [None, source.title]},
    )
    return source


PARTY_FIELDS = ("name", "short_name", "kind", "country", "parent", "is_neutral")


@transaction.atomic
def party_update(
    *,
    actor: Actor,
    party: Party,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> Party:
    """Change a party's details and append ``party.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    party = Party.objects.select_for_update().get(pk=party.pk)
    _check_version(party, expected_version)
    changes = _apply_fields(party, fields, PARTY_FIELDS)
    if not changes:
        return party
    ancestor = party.parent
    while ancestor is not None:
        # A cycle would make the hierarchy endless for every reader that walks it.
        if ancestor.pk == party.pk:
            raise ValidationError({"parent": "A party cannot be its own parent or ancestor."})
        ancestor = ancestor.parent
    party.full_clean()
    party.version += 1
    party.save()
    _append_event(
        actor=actor,
        kind=EventKind.PARTY_UPDATED,
        summary=f"Party {party.name}: {_describe_changes(changes, party)} changed",
        subject=party,
        changes=changes,
        reason=reason,
        source=source,
    )
    return party


SOURCE_FIELDS = (
    "title",
    "publisher",
    "url",
    "published_on",
    "language",
    "reliability",
    "notes",
)


@transaction.atomic
def source_update(
    *,
    actor: Actor,
    source: Source,
    expected_version: int | None = None,
    reason: str = "",
    **fields: Any,
) -> Source:
    """Change a source's details and append ``source.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    source = Source.objects.select_for_update().get(pk=source.pk)
    _check_version(source, expected_version)
    changes = _apply_fields(source, fields, SOURCE_FIELDS)
    if not changes:
        return source
    source.full_clean()
    source.version += 1
    source.save()
    _append_event(
        actor=actor,
        kind=EventKind.SOURCE_UPDATED,
        summary=f"Source {source.title}: {_describe_changes(changes, source)} changed",
        subject=source,
        changes=changes,
        reason=reason,
    )
    return source


# --------------------------------------------------------------------------------------------
# Persons
# --------------------------------------------------------------------------------------------

PERSON_FIELDS = (
    "working_name",
    "sex",
    "birth_date",
    "birth_date_precision",
    "birth_place",
    "nationalities",
    "identity_confidence",
    "armed_force",
    "power_depends_on",
    "rank",
    "unit",
    "service_number",
    "is_deceased",
    "date_of_death",
    "family_links",
    "medical_notes",
)


def _set_names(person: Person, names: Iterable[NameSpec]) -> list[Any] | None:
    """Replace the person's name variants; return ``[old, new]`` lists, or None if unchanged."""
    names = list(names)
    old = [
        NameSpec(n.value, n.script, n.romanisation, n.is_pseudonym).as_dict()
        for n in person.names.all()
    ]
    new = [spec.as_dict() for spec in names]
    if old == new:
        return None
    values = [spec.value for spec in names]
    if len(set(values)) != len(values):
        raise ValidationError({"names": "The same name variant is listed twice."})
    person.names.all().delete()
    for spec in names:
        row = PersonName(person=person, **spec.as_dict())
        row.full_clean(exclude=["person", "search_key"])
        row.save()
    return [old, new]


@transaction.atomic
def person_create(
    *,
    actor: Actor,
    working_name: str,
    names: Iterable[NameSpec] = (),
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> Person:
    """Create a person with name variants and append ``person.created``."""
    # Read once: ``names`` may be a generator, and it is used twice below.
    names = list(names)
    unknown = sorted(set(fields) - set(PERSON_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown person field."))
    person = Person(working_name=working_name, **fields)
    person.full_clean()
    person.save()
    _set_names(person, names)
    changes = {
        name: [None, _field_value(person, name)]
        for name in ("working_name", *fields)
        if _field_value(person, name) not in (None, "", [], False)
    }
    names_list = [spec.as_dict() for spec in names]
    if names_list:
        changes["names"] = [[], names_list]
    _append_event(
        actor=actor,
        kind=EventKind.PERSON_CREATED,
        summary=f"Person {person.working_name} created",
        subject=person,
        person=person,
        changes=changes,
        reason=reason,
        source=source,
    )
    return person


@transaction.atomic
def person_update(
    *,
    actor: Actor,
    person: Person,
    expected_version: int | None = None,
    names: Iterable[NameSpec] | None = None,
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> Person:
    """Change a person's details or name variants and append ``person.updated``.

    The event goes on the person's most recent case, so it shows on the case timeline.
    Nothing is written, and no event appended, when nothing changed.
    """
    # Lock the case before the person, the order every case service uses (the admin saves a
    # case and its person in one transaction), so two writers cannot deadlock.
    case = person.cases.order_by("-opened_at", "-id").first()
    if case is not None:
        case = _lock_case(case)
    person = Person.objects.select_for_update().get(pk=person.pk)
    _check_version(person, expected_version)
    changes = _apply_fields(person, fields, PERSON_FIELDS)
    if names is not None:
        name_change = _set_names(person, names)
        if name_change:
            changes["names"] = name_change
    if not changes:
        return person
    person.full_clean()
    person.version += 1
    person.save()
    _append_event(
        actor=actor,
        kind=EventKind.PERSON_UPDATED,
        summary=f"{person.working_name}: {_describe_changes(changes, person)} changed",
        subject=person,
        case=case,
        person=person,
        changes=changes,
        reason=reason,
        source=source,
    )
    return person


# --------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------

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


@transaction.atomic
def case_open(
    *,
    actor: Actor,
    reference: str,
    person: Person,
    detaining_party: Party,
    status: str = choices.CaseStatus.CAPTURED,
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> Case:
    """Open a custody episode for ``person`` and append ``case.opened``."""
    unknown = sorted(set(fields) - set(CASE_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown case field."))
    if status in CASE_CLOSED_STATUSES:
        raise ValidationError({"status": "A case cannot be opened in a closed status."})
    case = Case(
        reference=reference,
        person=person,
        detaining_party=detaining_party,
        status=status,
        **fields,
    )
    case.full_clean()
    case.save()
    changes = {
        name: [None, _field_value(case, name)]
        for name in ("reference", "status", "detaining_party", *fields)
        if _field_value(case, name) not in (None, "")
    }
    _append_event(
        actor=actor,
        kind=EventKind.CASE_OPENED,
        summary=f"Case {case.reference} opened for {person.working_name}, "
        f"held by {detaining_party.name}",
        subject=case,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
    )
    return case


@transaction.atomic
def case_update(
    *,
    actor: Actor,
    case: Case,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> Case:
    """Change a case's details (not its status) and append ``case.updated``.

    Nothing is written, and no event appended, when nothing changed.
    """
    case = _lock_case(case)
    _check_version(case, expected_version)
    changes = _apply_fields(case, fields, CASE_FIELDS)
    if not changes:
        return case
    case.full_clean()
    case.version += 1
    case.save()
    _append_event(
        actor=actor,
        kind=EventKind.CASE_UPDATED,
        summary=f"{case.reference}: {_describe_changes(changes, case)} changed",
        subject=case,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
    )
    return case


@transaction.atomic
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
) -> Case:
    """Move a case to ``status`` if the state machine allows it; append ``case.status_changed``.

    A status that means the person left custody for another state (``repatriated``,
    ``transferred_third_state``, to ``destination_country`` or the destination of the case's
    scheduled transfer) passes the consent gate for the day it happened (``occurred_on``,
    else today); the event names the statement that opened it.
    """
    case = _lock_case(case)
    _check_version(case, expected_version)
    if status not in choices.CaseStatus.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    allowed = allowed_case_statuses(case.status)
    if status not in allowed:
        allowed_text = ", ".join(allowed) if allowed else "none (the case is closed)"
        raise ValidationError(
            {
                "status": f"A case cannot go from {case.status} to {status}. "
                f"Allowed from {case.status}: {allowed_text}."
            }
        )
    move = consent.move_for_case_status(case, status, str(destination_country or ""))
    passed = consent.require(case, move, on=occurred_on)
    old_status = case.status
    changes: dict[str, list[Any]] = {"status": [old_status, status]}
    if move is not None and move.destination:
        changes["destination_country"] = [None, move.destination]
    if passed is not None:
        changes.update(passed.changes())
    case.status = status
    if status in CASE_CLOSED_STATUSES:
        case.closed_at = timezone.now()
        changes["closed_at"] = [None, case.closed_at.isoformat()]
    case.version += 1
    case.save()
    _append_event(
        actor=actor,
        kind=EventKind.CASE_STATUS_CHANGED,
        summary=f"{case.reference}: status {choices.CaseStatus(old_status).label} → "
        f"{choices.CaseStatus(status).label}",
        subject=case,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(occurred_on) if occurred_on else None,
        occurred_precision=occurred_precision if occurred_on else choices.DatePrecision.EXACT,
    )
    return case


# --------------------------------------------------------------------------------------------
# Stated intentions and the case's current intention
# --------------------------------------------------------------------------------------------

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
)


def _intention_label(intention: StatedIntention | None) -> str | None:
    if intention is None:
        return None
    label = intention.get_option_display()
    if intention.destination_country:
        label += f" ({intention.destination_country.code})"
    return (
        f"{label}, {intention.get_verification_display().split(' (')[0].lower()}, "
        f"{intention.stated_on.isoformat()}"
    )


def _refresh_current_intention(case: Case) -> dict[str, list[Any]]:
    """Recompute the case's denormalised current intention; return the change, if any."""
    old = case.current_intention
    new = current_intention_for(case)
    case.current_intention = new
    case.current_intention_option = new.option if new else ""
    case.current_intention_destination = new.destination_country if new else ""
    case.current_intention_verification = new.verification if new else ""
    case.current_intention_verified = bool(new and new.is_verified)
    Case.objects.filter(pk=case.pk).update(
        current_intention=new,
        current_intention_option=case.current_intention_option,
        current_intention_destination=case.current_intention_destination,
        current_intention_verification=case.current_intention_verification,
        current_intention_verified=case.current_intention_verified,
        updated_at=timezone.now(),
    )
    if (old.pk if old else None) == (new.pk if new else None):
        return {}
    return {"current_intention": [_intention_label(old), _intention_label(new)]}


def _new_intention(
    case: Case,
    fields: Mapping[str, Any],
    source: Source | None,
    present_parties: Iterable[Party] = (),
) -> StatedIntention:
    """Return an unsaved, validated statement whose verification level is earned."""
    unknown = sorted(set(fields) - set(INTENTION_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown intention field."))
    intention = StatedIntention(case=case, source=source, **fields)
    intention.full_clean(exclude=["case", "supersedes"])
    consent.check_level(intention, present_parties)
    return intention


def _save_intention(intention: StatedIntention, present_parties: Iterable[Party]) -> None:
    intention.save()
    if present_parties:
        intention.present_parties.set(present_parties)


def _intention_created_changes(
    intention: StatedIntention, present_parties: Iterable[Party] = ()
) -> dict[str, list[Any]]:
    changes = {
        name: [None, _field_value(intention, name)]
        for name in INTENTION_FIELDS
        if _field_value(intention, name) not in (None, "", False)
        and not (
            name == "detaining_power_present" and intention.detaining_power_present == "unknown"
        )
    }
    names = sorted(party.name for party in present_parties)
    if names:
        changes["present_parties"] = [None, names]
    return changes


@transaction.atomic
def intention_record(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    source: Source | None = None,
    present_parties: Iterable[Party] = (),
    **fields: Any,
) -> StatedIntention:
    """Record a new statement of what the person wants; append ``intention.recorded``.

    Its verification level must be earned by how it was heard (``consent.level_problems``).
    Earlier statements stay active: a statement that replaces one goes through
    ``intention_supersede`` instead.
    """
    case = _lock_case(case)
    present_parties = list(present_parties or ())
    intention = _new_intention(case, fields, source, present_parties)
    _save_intention(intention, present_parties)
    changes = _intention_created_changes(intention, present_parties)
    changes.update(_refresh_current_intention(case))
    _append_event(
        actor=actor,
        kind=EventKind.INTENTION_RECORDED,
        summary=f"Statement by {case.person.working_name} recorded: "
        f"{_intention_label(intention)} ({intention.get_setting_display().lower()})",
        subject=intention,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(intention.stated_on),
        occurred_precision=intention.stated_on_precision,
    )
    return intention


@transaction.atomic
def intention_supersede(
    *,
    actor: Actor,
    intention: StatedIntention,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    present_parties: Iterable[Party] = (),
    **fields: Any,
) -> StatedIntention:
    """Record a new statement that replaces ``intention`` (a change of mind).

    The old statement is kept, marked superseded and linked from the new one; one
    ``intention.superseded`` event covers both.
    """
    case = _lock_case(intention.case)
    old = StatedIntention.objects.select_for_update().get(pk=intention.pk)
    _check_version(old, expected_version)
    if old.state != choices.IntentionState.ACTIVE:
        raise ValidationError(
            f"Only an active statement can be superseded; this one is {old.state}."
        )
    present_parties = list(present_parties or ())
    new = _new_intention(case, fields, source, present_parties)
    new.supersedes = old
    _save_intention(new, present_parties)
    old.state = choices.IntentionState.SUPERSEDED
    old.version += 1
    old.save(update_fields=["state", "version"])
    changes = _intention_created_changes(new, present_parties)
    changes["superseded"] = [_intention_label(old), None]
    changes.update(_refresh_current_intention(case))
    _append_event(
        actor=actor,
        kind=EventKind.INTENTION_SUPERSEDED,
        summary=f"Statement by {case.person.working_name} superseded: "
        f"{_intention_label(old)} replaced by {_intention_label(new)}",
        subject=new,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(new.stated_on),
        occurred_precision=new.stated_on_precision,
    )
    return new


_STATE_EVENTS = {
    choices.IntentionState.WITHDRAWN: EventKind.INTENTION_WITHDRAWN,
    choices.IntentionState.CONTESTED: EventKind.INTENTION_CONTESTED,
    choices.IntentionState.INVALIDATED: EventKind.INTENTION_INVALIDATED,
    choices.IntentionState.ACTIVE: EventKind.INTENTION_RECORDED,
}


@transaction.atomic
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
) -> StatedIntention:
    """Withdraw, contest, invalidate or reinstate a statement; recompute the current one.

    Superseding goes through ``intention_supersede``. A withdrawal, contest or invalidation
    without a reason is refused: the timeline must say why a statement stopped counting.
    ``occurred_on`` is when it happened in the world (e.g. the day the person withdrew the
    statement); without it the event is dated now.
    """
    case = _lock_case(intention.case)
    intention = StatedIntention.objects.select_for_update().get(pk=intention.pk)
    _check_version(intention, expected_version)
    if state not in _STATE_EVENTS:
        allowed = ", ".join(_STATE_EVENTS)
        raise ValidationError({"state": f"Use one of: {allowed} (to supersede, record anew)."})
    if intention.state == state:
        raise ValidationError({"state": f"The statement is already {state}."})
    if intention.state == choices.IntentionState.SUPERSEDED:
        raise ValidationError({"state": "A superseded statement stays superseded."})
    if not reason.strip() and state != choices.IntentionState.ACTIVE:
        raise ValidationError({"reason": f"Say why the statement is {state}."})
    old_state = intention.state
    intention.state = state
    intention.version += 1
    intention.save(update_fields=["state", "version"])
    changes: dict[str, list[Any]] = {"state": [old_state, state]}
    changes.update(_refresh_current_intention(case))
    verb = "reinstated" if state == choices.IntentionState.ACTIVE else state
    _append_event(
        actor=actor,
        kind=_STATE_EVENTS[state],
        summary=f"Statement by {case.person.working_name} {verb}: {_intention_label(intention)}",
        subject=intention,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(occurred_on) if occurred_on else None,
        occurred_precision=occurred_precision if occurred_on else choices.DatePrecision.EXACT,
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


# --------------------------------------------------------------------------------------------
# Requests, the consent gate, parties' positions
# --------------------------------------------------------------------------------------------


def _request_label(request: Request, *, capital: bool = False) -> str:
    """Return e.g. "request for transfer to a third state (South Korea)"."""
    label = f"{'R' if capital else 'r'}equest for {request.get_kind_display().lower()}"
    if request.destination_country:
        label += f" ({request.destination_country.name})"
    return label


REQUEST_FIELDS = (
    "requested_by",
    "addressed_to",
    "destination_country",
    "legal_basis",
    "filed_on",
    "intention",
)


@transaction.atomic
def request_file(
    *,
    actor: Actor,
    case: Case,
    kind: str,
    addressed_to: Party,
    draft: bool = False,
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> Request:
    """Create a request (filed, or a draft) and append ``request.filed`` or ``request.drafted``."""
    case = _lock_case(case)
    unknown = sorted(set(fields) - set(REQUEST_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown request field."))
    status = choices.RequestStatus.DRAFT if draft else choices.RequestStatus.FILED
    request = Request(
        case=case, kind=kind, addressed_to=addressed_to, status=status, source=source, **fields
    )
    if not draft and request.filed_on is None:
        request.filed_on = timezone.localdate()
    if request.intention is not None and request.intention.case_id != case.pk:
        raise ValidationError({"intention": "The intention belongs to another case."})
    request.full_clean(exclude=["case"])
    consent.check_return_destination(case, request.kind, request.destination_country.code or "")
    request.save()
    changes = {
        name: [None, _field_value(request, name)]
        for name in ("kind", "status", "addressed_to", *fields)
        if _field_value(request, name) not in (None, "")
    }
    verb = "drafted" if draft else "filed"
    _append_event(
        actor=actor,
        kind=EventKind.REQUEST_DRAFTED if draft else EventKind.REQUEST_FILED,
        summary=f"{_request_label(request, capital=True)} {verb}, addressed to {addressed_to.name}",
        subject=request,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=None if draft else _date_to_datetime(request.filed_on),
        occurred_precision=choices.DatePrecision.EXACT if draft else choices.DatePrecision.DAY,
    )
    return request


@transaction.atomic
def request_update(
    *,
    actor: Actor,
    request: Request,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> Request:
    """Change a request's details (not its status) and append ``request.updated``."""
    case = _lock_case(request.case)
    request = Request.objects.select_for_update().get(pk=request.pk)
    _check_version(request, expected_version)
    changes = _apply_fields(request, fields, REQUEST_FIELDS)
    if not changes:
        return request
    if request.intention is not None and request.intention.case_id != case.pk:
        raise ValidationError({"intention": "The intention belongs to another case."})
    request.full_clean(exclude=["case"])
    consent.check_return_destination(case, request.kind, request.destination_country.code or "")
    request.version += 1
    request.save()
    _append_event(
        actor=actor,
        kind=EventKind.REQUEST_UPDATED,
        summary=f"{_request_label(request, capital=True)}: "
        f"{_describe_changes(changes, request)} changed",
        subject=request,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
    )
    return request


@transaction.atomic
def request_transition(
    *,
    actor: Actor,
    request: Request,
    status: str,
    expected_version: int | None = None,
    decided_on: dt.date | None = None,
    decision_reason: str = "",
    reason: str = "",
    source: Source | None = None,
    occurred_on: dt.date | None = None,
    occurred_precision: str = choices.DatePrecision.DAY,
) -> Request:
    """Move a request to ``status`` if allowed and, for execution, if consent is verified.

    ``occurred_on`` is when it happened in the world; without it the event is dated now.
    """
    case = _lock_case(request.case)
    request = Request.objects.select_for_update().get(pk=request.pk)
    _check_version(request, expected_version)
    if status not in choices.RequestStatus.values:
        raise ValidationError({"status": f"Unknown status {status!r}."})
    allowed = allowed_request_statuses(request.status)
    if status not in allowed:
        allowed_text = ", ".join(allowed) if allowed else "none (the request is closed)"
        raise ValidationError(
            {
                "status": f"A request cannot go from {request.status} to {status}. "
                f"Allowed from {request.status}: {allowed_text}."
            }
        )
    passed = None
    if status == choices.RequestStatus.EXECUTED:
        passed = consent.require(case, consent.move_for_request(request), on=occurred_on)
    old_status = request.status
    changes: dict[str, list[Any]] = {"status": [old_status, status]}
    if passed is not None:
        changes.update(passed.changes())
    request.status = status
    if old_status == choices.RequestStatus.DRAFT and status == choices.RequestStatus.FILED:
        if request.filed_on is None:
            request.filed_on = occurred_on or timezone.localdate()
            changes["filed_on"] = [None, request.filed_on.isoformat()]
    if status in {
        choices.RequestStatus.ACCEPTED,
        choices.RequestStatus.REFUSED,
    }:
        new_decided = decided_on or occurred_on or timezone.localdate()
        changes["decided_on"] = [_plain(request.decided_on), new_decided.isoformat()]
        request.decided_on = new_decided
    if decision_reason and decision_reason != request.decision_reason:
        changes["decision_reason"] = [request.decision_reason, decision_reason]
        request.decision_reason = decision_reason
    request.version += 1
    request.save()
    _append_event(
        actor=actor,
        kind=EventKind.REQUEST_STATUS_CHANGED,
        summary=f"{_request_label(request, capital=True)}: "
        f"{choices.RequestStatus(old_status).label} → {choices.RequestStatus(status).label}",
        subject=request,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(occurred_on) if occurred_on else None,
        occurred_precision=occurred_precision if occurred_on else choices.DatePrecision.EXACT,
    )
    return request


@transaction.atomic
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
) -> Position:
    """Record a party's stance on a request; append ``position.recorded``.

    Earlier positions of the same party are kept: a position is what was said on a date.
    """
    case = _lock_case(request.case)
    position = Position(
        request=request,
        party=party,
        stance=stance,
        stated_on=stated_on,
        conditions=conditions,
        source=source,
    )
    position.full_clean(exclude=["request"])
    position.save()
    changes = {
        "party": [None, party.name],
        "stance": [None, stance],
        "stated_on": [None, stated_on.isoformat()],
    }
    if conditions:
        changes["conditions"] = [None, conditions]
    _append_event(
        actor=actor,
        kind=EventKind.POSITION_RECORDED,
        summary=f"{party.name} on the {_request_label(request)}: "
        f"{position.get_stance_display().lower()}",
        subject=position,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(stated_on),
        occurred_precision=choices.DatePrecision.DAY,
    )
    return position


# --------------------------------------------------------------------------------------------
# Risk on return
# --------------------------------------------------------------------------------------------

RISK_FIELDS = (
    "destination_country",
    "level",
    "persecution",
    "torture",
    "reprisal",
    "family_at_risk",
    "basis",
    "assessed_by",
    "assessor",
    "assessed_on",
)


@transaction.atomic
def risk_assessment_record(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    source: Source | None = None,
    **fields: Any,
) -> RiskAssessment:
    """Record an assessment of the risk of harm on return; append ``risk.assessed``.

    Assessments are kept side by side: the newest for a state is the one the consent gate
    reads, and a ``high`` one refuses a return there.
    """
    case = _lock_case(case)
    unknown = sorted(set(fields) - set(RISK_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown risk assessment field."))
    risk = RiskAssessment(case=case, source=source, **fields)
    risk.full_clean(exclude=["case"])
    risk.save()
    changes = {
        name: [None, _field_value(risk, name)]
        for name in RISK_FIELDS
        if _field_value(risk, name) not in (None, "", False)
    }
    where = risk.destination_country.name if risk.destination_country else "his own state"
    _append_event(
        actor=actor,
        kind=EventKind.RISK_ASSESSED,
        summary=f"Risk on return to {where} assessed: {risk.get_level_display().lower()}",
        subject=risk,
        case=case,
        changes=changes,
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(risk.assessed_on),
        occurred_precision=choices.DatePrecision.DAY,
    )
    return risk


# --------------------------------------------------------------------------------------------
# Occurrences and notes
# --------------------------------------------------------------------------------------------


@transaction.atomic
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
) -> Occurrence:
    """Record something that happened in the world; append ``occurrence.recorded``."""
    case = _lock_case(case)
    occurrence = Occurrence(
        case=case,
        kind=kind,
        occurred_on=occurred_on,
        occurred_on_precision=occurred_on_precision,
        description=description,
        place=place,
        source=source,
    )
    occurrence.full_clean(exclude=["case"])
    occurrence.save()
    _append_event(
        actor=actor,
        kind=EventKind.OCCURRENCE_RECORDED,
        summary=f"{occurrence.get_kind_display()}: {description}",
        subject=occurrence,
        case=case,
        changes={
            name: [None, _field_value(occurrence, name)]
            for name in ("kind", "occurred_on", "occurred_on_precision", "description", "place")
            if _field_value(occurrence, name) not in (None, "")
        },
        reason=reason,
        source=source,
        occurred_at=_date_to_datetime(occurred_on),
        occurred_precision=occurred_on_precision,
    )
    return occurrence


@transaction.atomic
def note_add(
    *,
    actor: Actor,
    case: Case,
    body: str,
    reason: str = "",
    source: Source | None = None,
) -> Note:
    """Add a case officer's note; append ``note.added``."""
    case = _lock_case(case)
    # Django's "required" lets whitespace through; a blank note says nothing on the timeline.
    if not body.strip():
        raise ValidationError({"body": "Write something in the note."})
    note = Note(case=case, body=body, author=actor.user, source=source)
    note.full_clean(exclude=["case", "author"])
    note.save()
    first_line = body.strip().splitlines()[0]
    _append_event(
        actor=actor,
        kind=EventKind.NOTE_ADDED,
        summary=f"Note: {first_line[:200]}",
        subject=note,
        case=case,
        changes={"body": [None, body]},
        reason=reason,
        source=source,
    )
    return note


# --------------------------------------------------------------------------------------------
# Archiving: nothing is deleted, rows drop out of the lists and can come back
# --------------------------------------------------------------------------------------------


def _archive_reason(reason: str) -> str:
    if not (reason or "").strip():
        raise ValidationError({"reason": "Say why the record is archived."})
    return reason


def _stamp_archived(obj: models.Model, archive: bool) -> dict[str, list[Any]]:
    """Set or clear ``archived_at`` and bump the version; return the change."""
    label = obj._meta.verbose_name
    if archive and obj.archived_at is not None:
        raise ValidationError(f"This {label} is already archived.")
    if not archive and obj.archived_at is None:
        raise ValidationError(f"This {label} is not archived.")
    old = obj.archived_at
    obj.archived_at = timezone.now() if archive else None
    obj.version += 1
    update_fields = ["archived_at", "version"]
    if any(f.name == "updated_at" for f in obj._meta.concrete_fields):
        update_fields.append("updated_at")
    obj.save(update_fields=update_fields)
    return {"archived_at": [_plain(old), _plain(obj.archived_at)]}


@transaction.atomic
def _case_set_archived(
    *, actor: Actor, case: Case, archive: bool, reason: str, expected_version: int | None
) -> Case:
    case = _lock_case(case)
    _check_version(case, expected_version)
    changes = _stamp_archived(case, archive)
    verb = "archived" if archive else "unarchived"
    _append_event(
        actor=actor,
        kind=EventKind.CASE_ARCHIVED if archive else EventKind.CASE_UNARCHIVED,
        summary=f"Case {case.reference} {verb}",
        subject=case,
        case=case,
        changes=changes,
        reason=reason,
    )
    return case


def case_archive(
    *, actor: Actor, case: Case, reason: str, expected_version: int | None = None
) -> Case:
    """Archive a case: it leaves the default lists but stays readable; ``case.archived``."""
    return _case_set_archived(
        actor=actor,
        case=case,
        archive=True,
        reason=_archive_reason(reason),
        expected_version=expected_version,
    )


def case_unarchive(
    *, actor: Actor, case: Case, reason: str = "", expected_version: int | None = None
) -> Case:
    """Bring an archived case back into the lists; append ``case.unarchived``."""
    return _case_set_archived(
        actor=actor, case=case, archive=False, reason=reason, expected_version=expected_version
    )


@transaction.atomic
def _person_set_archived(
    *, actor: Actor, person: Person, archive: bool, reason: str, expected_version: int | None
) -> Person:
    # The event goes on the person's most recent case, as person_update's does; that case
    # is locked first, the order every case service uses.
    case = person.cases.order_by("-opened_at", "-id").first()
    if case is not None:
        case = _lock_case(case)
    person = Person.objects.select_for_update().get(pk=person.pk)
    _check_version(person, expected_version)
    changes = _stamp_archived(person, archive)
    verb = "archived" if archive else "unarchived"
    _append_event(
        actor=actor,
        kind=EventKind.PERSON_ARCHIVED if archive else EventKind.PERSON_UNARCHIVED,
        summary=f"Person {person.working_name} {verb}",
        subject=person,
        case=case,
        person=person,
        changes=changes,
        reason=reason,
    )
    return person


def person_archive(
    *, actor: Actor, person: Person, reason: str, expected_version: int | None = None
) -> Person:
    """Archive a person; append ``person.archived``."""
    return _person_set_archived(
        actor=actor,
        person=person,
        archive=True,
        reason=_archive_reason(reason),
        expected_version=expected_version,
    )


def person_unarchive(
    *, actor: Actor, person: Person, reason: str = "", expected_version: int | None = None
) -> Person:
    """Bring an archived person back; append ``person.unarchived``."""
    return _person_set_archived(
        actor=actor, person=person, archive=False, reason=reason, expected_version=expected_version
    )


@transaction.atomic
def _intention_set_archived(
    *,
    actor: Actor,
    intention: StatedIntention,
    archive: bool,
    reason: str,
    expected_version: int | None,
) -> StatedIntention:
    case = _lock_case(intention.case)
    intention = StatedIntention.objects.select_for_update().get(pk=intention.pk)
    _check_version(intention, expected_version)
    changes = _stamp_archived(intention, archive)
    # An archived statement no longer counts towards the current intention.
    changes.update(_refresh_current_intention(case))
    verb = "archived" if archive else "unarchived"
    _append_event(
        actor=actor,
        kind=EventKind.INTENTION_ARCHIVED if archive else EventKind.INTENTION_UNARCHIVED,
        summary=f"Statement by {case.person.working_name} {verb}: {_intention_label(intention)}",
        subject=intention,
        case=case,
        changes=changes,
        reason=reason,
    )
    return intention


def intention_archive(
    *,
    actor: Actor,
    intention: StatedIntention,
    reason: str,
    expected_version: int | None = None,
) -> StatedIntention:
    """Archive a statement (e.g. entered twice), recompute the current one; ``intention.archived``.

    An archived statement never counts as the current intention.
    """
    return _intention_set_archived(
        actor=actor,
        intention=intention,
        archive=True,
        reason=_archive_reason(reason),
        expected_version=expected_version,
    )


def intention_unarchive(
    *,
    actor: Actor,
    intention: StatedIntention,
    reason: str = "",
    expected_version: int | None = None,
) -> StatedIntention:
    """Bring an archived statement back; recompute the current one; ``intention.unarchived``."""
    return _intention_set_archived(
        actor=actor,
        intention=intention,
        archive=False,
        reason=reason,
        expected_version=expected_version,
    )


@transaction.atomic
def _request_set_archived(
    *, actor: Actor, request: Request, archive: bool, reason: str, expected_version: int | None
) -> Request:
    case = _lock_case(request.case)
    request = Request.objects.select_for_update().get(pk=request.pk)
    _check_version(request, expected_version)
    changes = _stamp_archived(request, archive)
    verb = "archived" if archive else "unarchived"
    _append_event(
        actor=actor,
        kind=EventKind.REQUEST_ARCHIVED if archive else EventKind.REQUEST_UNARCHIVED,
        summary=f"{_request_label(request, capital=True)} {verb}",
        subject=request,
        case=case,
        changes=changes,
        reason=reason,
    )
    return request


def request_archive(
    *, actor: Actor, request: Request, reason: str, expected_version: int | None = None
) -> Request:
    """Archive a request; append ``request.archived``."""
    return _request_set_archived(
        actor=actor,
        request=request,
        archive=True,
        reason=_archive_reason(reason),
        expected_version=expected_version,
    )


def request_unarchive(
    *, actor: Actor, request: Request, reason: str = "", expected_version: int | None = None
) -> Request:
    """Bring an archived request back; append ``request.unarchived``."""
    return _request_set_archived(
        actor=actor,
        request=request,
        archive=False,
        reason=reason,
        expected_version=expected_version,
    )


# --------------------------------------------------------------------------------------------
# Purge: the one deliberate deletion, by a superuser, leaving a tombstone in the feed
# --------------------------------------------------------------------------------------------


class PurgeRefused(PermissionError):
    """Only a superuser may purge a case."""


def _purge_admin_log(case: Case, person: Person | None) -> None:
    """Delete Django admin's change-log rows of a case being purged and of what it holds.

    Those rows name the objects and what changed; they are the admin's copy, not history.
    """
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    purged = {
        Case: [case.pk],
        StatedIntention: StatedIntention.objects.filter(case=case).values_list("pk", flat=True),
        Request: Request.objects.filter(case=case).values_list("pk", flat=True),
        Position: Position.objects.filter(request__case=case).values_list("pk", flat=True),
        Occurrence: Occurrence.objects.filter(case=case).values_list("pk", flat=True),
        RiskAssessment: RiskAssessment.objects.filter(case=case).values_list("pk", flat=True),
        Note: Note.objects.filter(case=case).values_list("pk", flat=True),
    }
    if person is not None:
        purged[Person] = [person.pk]
        purged[PersonName] = person.names.values_list("pk", flat=True)
    condition = models.Q()
    for model, pks in purged.items():
        content_type = ContentType.objects.get_for_model(model)
        condition |= models.Q(content_type=content_type, object_id__in=[str(pk) for pk in pks])
    LogEntry.objects.filter(condition).delete()


@transaction.atomic
def case_purge(*, actor: Actor, case: Case, reason: str) -> TimelineEvent:
    """Delete a case and everything that belongs to it; return the ``case.purged`` tombstone.

    Gone are its intentions, requests and their positions, occurrences, notes, its timeline
    events, its person with their name variants and events when no other case refers to
    them, and the rows of Django admin's change log about any of these. The tombstone has no
    case and no person, names the case's uuid as its subject and carries only the reference,
    so systems that copied the case from the feed can drop their copy without learning
    anything sensitive. The access log is kept: it records who read
    what, and a purge does not undo a read.
    """
    user = actor.user
    if user is None or not (user.is_active and user.is_superuser):
        raise PurgeRefused("Only a superuser may purge a case.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the case is purged."})
    case = _lock_case(case)
    person = case.person
    reference = case.reference
    purge_person = not Case.objects.filter(person=person).exclude(pk=case.pk).exists()
    # The case's chain goes whole (and the person's, when he goes), so no other chain
    # loses a link; on PostgreSQL through the one function the application role may call.
    timeline_purge(connection, case_id=case.pk, person_id=person.pk if purge_person else None)
    _purge_admin_log(case, person if purge_person else None)
    Case.objects.filter(pk=case.pk).update(current_intention=None)
    Position.objects.filter(request__case=case).delete()
    Request.objects.filter(case=case).delete()
    intentions = StatedIntention.objects.filter(case=case)
    intentions.update(supersedes=None)
    intentions.delete()
    Occurrence.objects.filter(case=case).delete()
    RiskAssessment.objects.filter(case=case).delete()
    Note.objects.filter(case=case).delete()
    Case.objects.filter(pk=case.pk).delete()
    if purge_person:
        Person.objects.filter(pk=person.pk).delete()
    return _append_event(
        actor=actor,
        kind=EventKind.CASE_PURGED,
        summary=f"Case {reference} purged",
        subject=case,
        changes={"reference": [reference, None]},
        reason=reason,
    )
