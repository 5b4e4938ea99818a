"""Generate a large, realistic and reproducible demo data set, written in bulk.

The data describes a large conflict: Russian soldiers held by Ukraine, Ukrainian soldiers and
civilians held by Russia, and North Korean soldiers captured in the Kursk region, with their
name variants across scripts and romanisations, custody episodes moving through the case state
machine, stated intentions that change and get verified, requests moving through the request
state machine, parties' positions, things that happened in the world, and notes.

This module is the one place that writes case data past ``cases/services.py``. It does so
only to reproduce the services' output in bulk: ``BulkWriter`` offers one method per service,
with the same arguments, and builds in memory exactly the rows that service would write and
the one TimelineEvent it would append (kind, summary, changes, actor, channel, occurred_at and
precision, subject, gapless ``case_seq``, the case's ``last_event_seq`` and denormalised
current intention, versions, ``closed_at``). It calls the services' own helpers for the
changes and labels, and ``consent.decide`` for the consent gate, then inserts
everything in bulk, a few thousand cases per transaction: ``bulk_create``, or on PostgreSQL
COPY with the values ``bulk_create`` would send. The test suite replays the same calls
through the real services and compares the rows and events.

Everything is reproducible: each case draws from its own ``random.Random`` seeded from the run
seed and the case's index, every UUID comes from that generator, and every date is derived
from fixed dates of the conflict, never from the clock. Only the bookkeeping timestamps that
the database stamps itself (``recorded_at``, ``opened_at``, ``updated_at``, ``created_at``)
record when the data set was loaded.

Outlets, legislators, non-governmental organisations and every person are fictional; sources
point at reserved ``example`` domains. States, armed forces, agencies and the ICRC are named
as they are.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models.base import ModelState
from django.utils import timezone
from django_countries.fields import CountryField
from psycopg.types.json import Jsonb

from cases import choices, consent, services
from cases.choices import (
    CaseStatus,
    Channel,
    DatePrecision,
    EventKind,
    IntentionOption,
    IntentionState,
    OccurrenceKind,
    PartyKind,
    RequestKind,
    RequestStatus,
    Stance,
    StatementSetting,
    Verification,
)
from cases.models import (
    Case,
    Note,
    Occurrence,
    Party,
    Person,
    PersonName,
    Position,
    Request,
    Source,
    StatedIntention,
    TimelineEvent,
)
from cases.names import normalise_name
from cases.selectors import intention_order_key
from cases.services import Actor, NameSpec
from cases.timeline import chain as timeline_chain
from cases.transitions import CASE_CLOSED_STATUSES, CASE_TRANSITIONS, REQUEST_TRANSITIONS

#: The actor stamped on every generated event.
ACTOR = Actor(user=None, channel=Channel.COMMAND, label="seed_demo")

#: The conflict's first day; nothing generated happens earlier.
WAR_START = dt.date(2022, 2, 24)
#: The last possible capture date.
LAST_CAPTURE = dt.date(2026, 8, 31)
#: The data set's "today": nothing generated happens later.
AS_OF = dt.date(2026, 9, 30)
#: When the reference data (parties) was entered.
REFERENCE_DATA_AT = dt.datetime(2022, 2, 24, 9, 0, tzinfo=dt.UTC)

#: Demo references have a serial of six or more digits starting with 9 (UA-2025-900001), so
#: they never collide with hand-entered or seed cases (UA-2025-0001).
DEMO_REFERENCE_REGEX = r"^[A-Z]{2}-[0-9]{4}-9[0-9]{5,}$"
_DEMO_REFERENCE = re.compile(DEMO_REFERENCE_REGEX)

#: Number of sources in the shared pool; fixed so that the first N cases of a seed do not
#: depend on how many cases are generated.
SOURCE_POOL_SIZE = 400

#: Rows per INSERT statement.
INSERT_BATCH = 2000


_NEW_EVENT = object.__new__

# Labels looked up once: Model.get_FOO_display() rebuilds its mapping on every call.
_LABELS = {
    name: dict(enum.choices)
    for name, enum in (
        ("party_kind", PartyKind),
        ("request_kind", RequestKind),
        ("request_status", RequestStatus),
        ("case_status", CaseStatus),
        ("setting", StatementSetting),
        ("stance", Stance),
        ("occurrence", choices.OccurrenceKind),
    )
}
_INTENTION_LABELS: dict[tuple, str] = {}


def _intention_label(intention: StatedIntention | None) -> str | None:
    """Return ``services._intention_label(intention)``, memoised on what it depends on."""
    if intention is None:
        return None
    key = (
        intention.option,
        intention.__dict__["destination_country"],
        intention.verification,
        intention.stated_on,
    )
    label = _INTENTION_LABELS.get(key)
    if label is None:
        label = _INTENTION_LABELS[key] = services._intention_label(intention)
    return label


_FIELD_VALUES: dict[tuple, Any] = {}


def _field_value(obj, name: str) -> Any:
    """Return ``_field_value(obj, name)``, memoised on the field's stored value."""
    raw = obj.__dict__.get(obj._meta.get_field(name).attname)
    key = (obj.__class__, name, tuple(raw) if isinstance(raw, list) else raw)
    try:
        value = _FIELD_VALUES[key]
    except KeyError:
        value = _FIELD_VALUES[key] = services._field_value(obj, name)
    return list(value) if isinstance(value, list) else value


_DEFAULTS: dict[type, dict[str, Any]] = {}


_RELATIONS: dict[type, dict[str, str]] = {}


def _build(model: type, **values: Any):
    """Return an unsaved ``model`` row, as ``model(**values)`` would, at a fraction of its cost.

    Values are stored as the field descriptors store them; related rows given by field name
    (``case=case``) are cached on the row like ``Model.__init__`` caches them. Fields not
    given take their defaults (callable defaults, such as ``uuid4``, must be given).
    """
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = _DEFAULTS[model] = {
            f.attname: None
            if f.primary_key or (f.has_default() and callable(f.default))
            else f.get_default()
            for f in model._meta.concrete_fields
        }
        _RELATIONS[model] = {
            f.name: f.attname for f in model._meta.concrete_fields if f.is_relation
        }
    relations = _RELATIONS[model]
    row = object.__new__(model)
    row._state = ModelState()
    attributes = row.__dict__
    attributes.update(defaults)
    cache = {}
    for name, value in values.items():
        attname = relations.get(name)
        if attname is None:
            attributes[name] = value
        else:
            attributes[attname] = value.pk if value is not None else None
            cache[name] = value
    row._state.fields_cache = cache
    return row


_REQUEST_LABELS: dict[tuple, str] = {}


def _request_label(request: Request, *, capital: bool = False) -> str:
    """Return ``services._request_label(request, capital=...)``, memoised."""
    key = (request.kind, request.__dict__["destination_country"], capital)
    label = _REQUEST_LABELS.get(key)
    if label is None:
        label = _REQUEST_LABELS[key] = services._request_label(request, capital=capital)
    return label


class DemoDataExists(Exception):
    """Demo cases are already present and appending was not asked for."""


# --------------------------------------------------------------------------------------------
# Identifiers
# --------------------------------------------------------------------------------------------


def seeded_uuid(rng: random.Random) -> uuid.UUID:
    """Return a version 4 UUID drawn from ``rng``."""
    return uuid.UUID(int=rng.getrandbits(128), version=4)


class IdAllocator:
    """Hand out primary keys before insertion, so rows can point at each other in memory.

    On PostgreSQL the keys come from the table's own sequence (safe beside other writers);
    on SQLite, which has one writer at a time, they follow the highest key present.
    """

    BLOCK = 1000

    def __init__(self):
        self._pools: dict[type, list[int]] = defaultdict(list)
        self._next: dict[type, int] = {}

    def reset(self) -> None:
        """Forget SQLite's counters; call at the start of every transaction."""
        self._next.clear()

    def next(self, model: type) -> int:
        """Return a fresh primary key for ``model``."""
        if connection.vendor == "postgresql":
            pool = self._pools[model]
            if not pool:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                        "FROM generate_series(1, %s)",
                        [model._meta.db_table, self.BLOCK],
                    )
                    pool.extend(sorted((row[0] for row in cursor.fetchall()), reverse=True))
            return pool.pop()
        if model not in self._next:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
                self._next[model] = cursor.fetchone()[0] + 1
        value = self._next[model]
        self._next[model] = value + 1
        return value


# --------------------------------------------------------------------------------------------
# The bulk writer: one method per service, rows and events built in memory
# --------------------------------------------------------------------------------------------


@dataclass
class Call:
    """One service call as the generator made it: which service, when, with what."""

    service: str
    at: dt.datetime
    kwargs: dict[str, Any]
    result: Any = None


class BulkWriter:
    """Build, in memory, the rows and events that the services would write, then insert them.

    Each public method takes the service's keyword arguments plus ``at``, the moment the call
    is made (what ``timezone.now()`` would return), and returns the in-memory row the service
    would return. Refused calls raise ``ValidationError`` as the services do.
    """

    def __init__(self, ids: IdAllocator, *, record: bool = False):
        self.ids = ids
        self.rng: random.Random = random.Random(0)
        self.calls: list[Call] | None = [] if record else None
        self._intentions: dict[int, list[StatedIntention]] = defaultdict(list)
        self._requests: dict[int, list[Request]] = defaultdict(list)
        self._present: dict[int, list[Party]] = {}
        self._names: dict[int, list[PersonName]] = {}
        self._latest_case: dict[int, Case] = {}
        self._clear()

    def _clear(self) -> None:
        self.parties: list[Party] = []
        self.sources: list[Source] = []
        self.persons: list[Person] = []
        self.cases: list[Case] = []
        self.intentions: list[StatedIntention] = []
        self.present_links: list[Any] = []
        self.requests: list[Request] = []
        self.positions: list[Position] = []
        self.occurrences: list[Occurrence] = []
        self.notes: list[Note] = []
        self.events: list[TimelineEvent] = []
        self._chain_refs: list[tuple] = []

    # -- bookkeeping ---------------------------------------------------------------------

    def _uuid(self) -> uuid.UUID:
        return seeded_uuid(self.rng)

    def _record(self, service: str, at: dt.datetime, kwargs: dict[str, Any], result: Any):
        if self.calls is not None:
            self.calls.append(Call(service, at, kwargs, result))
        return result

    def _append_event(
        self,
        *,
        at: dt.datetime,
        kind: str,
        summary: str,
        subject,
        case: Case | None = None,
        person: Person | None = None,
        changes: dict[str, Any] | None = None,
        reason: str = "",
        source: Source | None = None,
        occurred_at: dt.datetime | None = None,
        occurred_precision: str = DatePrecision.EXACT,
    ) -> TimelineEvent:
        # Mirrors services._append_event, minus the per-event UPDATE of last_event_seq: the
        # case row is inserted once, after all its events, with the final value.
        case_seq = None
        if case is not None:
            case.last_event_seq += 1
            case_seq = case.last_event_seq
            if person is None:
                person = case.person
        # Events are the bulk of the rows: built straight from their attribute values, which
        # is what Model.__init__ would leave behind, at a fraction of its cost.
        event = _NEW_EVENT(TimelineEvent)
        event._state = ModelState()
        event.__dict__.update(
            id=None,
            uuid=self._uuid(),
            case_id=case.pk if case is not None else None,
            case_seq=case_seq,
            person_id=person.pk if person is not None else None,
            xact_id=None,
            kind=kind,
            occurred_at=occurred_at or at,
            occurred_precision=occurred_precision,
            recorded_at=None,
            actor_id=ACTOR.user.pk if ACTOR.user is not None else None,
            actor_label=ACTOR.display[:200],
            channel=ACTOR.channel,
            summary=summary[:500],
            changes=dict(changes or {}),
            reason=reason or "",
            source_id=source.pk if source is not None else None,
            subject_type=subject._meta.model_name,
            subject_uuid=subject.uuid,
            prev_hash="",
            hash_salt="",
            hash="",
        )
        # What the hash covers of the rows it points at; chained at flush (_chain_events).
        self._chain_refs.append(
            (
                case.uuid if case is not None else None,
                person.uuid if person is not None else None,
                source.uuid if source is not None else None,
            )
        )
        self.events.append(event)
        return event

    def _chain_events(self, recorded_at: dt.datetime) -> None:
        """Stamp ``recorded_at`` on the new events and chain them as ``_append_event`` would.

        Cases and persons built in this flush start new chains; any other chain (the global
        one of parties and sources, or a case or person already stored) continues from its
        stored head, read under the chain's lock as the services read it.
        """
        new = {("case", case.pk) for case in self.cases}
        new |= {("person", person.pk) for person in self.persons}
        heads: dict[tuple, str] = {}
        for event, (case_uuid, person_uuid, source_uuid) in zip(
            self.events, self._chain_refs, strict=True
        ):
            row = event.__dict__
            key = timeline_chain.chain_key(row)
            prev = heads.get(key)
            if prev is None:
                if key in new:
                    prev = timeline_chain.GENESIS
                else:
                    if key[0] != "case":
                        timeline_chain.lock_chain(connection, person_id=row["person_id"])
                    prev = timeline_chain.chain_head(
                        TimelineEvent.objects,
                        case_id=row["case_id"],
                        case_seq=row["case_seq"],
                        person_id=row["person_id"],
                    )
            row["recorded_at"] = recorded_at
            row["prev_hash"] = prev
            # Not from the seeded generator: a salt is no part of the reproducible data.
            row["hash_salt"] = salt = timeline_chain.new_salt()
            row["hash"] = heads[key] = timeline_chain.event_hash(
                prev_hash=prev,
                salt=salt,
                uuid=row["uuid"],
                case_uuid=case_uuid,
                case_seq=row["case_seq"],
                person_uuid=person_uuid,
                kind=row["kind"],
                occurred_at=row["occurred_at"],
                occurred_precision=row["occurred_precision"],
                actor_label=row["actor_label"],
                channel=row["channel"],
                summary=row["summary"],
                changes=row["changes"],
                reason=row["reason"],
                source_uuid=source_uuid,
                subject_type=row["subject_type"],
                subject_uuid=row["subject_uuid"],
                recorded_at=recorded_at,
            )

    # -- reference data ------------------------------------------------------------------

    def party_create(
        self,
        *,
        at: dt.datetime,
        name: str,
        kind: str,
        country: str = "",
        parent: Party | None = None,
        short_name: str = "",
        is_neutral: bool = False,
    ) -> Party:
        """Do what ``services.party_create`` does."""
        kwargs = {
            "name": name,
            "kind": kind,
            "country": country,
            "parent": parent,
            "short_name": short_name,
            "is_neutral": is_neutral,
        }
        party = _build(Party, id=self.ids.next(Party), uuid=self._uuid(), **kwargs)
        self.parties.append(party)
        changes = {"name": [None, party.name], "kind": [None, party.kind]}
        if is_neutral:
            changes["is_neutral"] = [None, True]
        self._append_event(
            at=at,
            kind=EventKind.PARTY_CREATED,
            summary=f"Party {party.name} ({_LABELS['party_kind'][party.kind].lower()}) created",
            subject=party,
            changes=changes,
        )
        return self._record("party_create", at, kwargs, party)

    def source_create(self, *, at: dt.datetime, **kwargs: Any) -> Source:
        """Do what ``services.source_create`` does."""
        source = _build(Source, id=self.ids.next(Source), uuid=self._uuid(), **kwargs)
        self.sources.append(source)
        self._append_event(
            at=at,
            kind=EventKind.SOURCE_CREATED,
            summary=f"Source added: {source}",
            subject=source,
            changes={"title": [None, source.title]},
        )
        return self._record("source_create", at, kwargs, source)

    # -- persons -------------------------------------------------------------------------

    def _name_rows(self, person: Person, names: list[NameSpec]) -> list[PersonName]:
        return [
            _build(
                PersonName,
                person_id=person.pk,
                search_key=normalise_name(spec.value),
                **spec.as_dict(),
            )
            for spec in names
        ]

    def person_create(
        self,
        *,
        at: dt.datetime,
        working_name: str,
        names: list[NameSpec],
        reason: str = "",
        source: Source | None = None,
        **fields: Any,
    ) -> Person:
        """Do what ``services.person_create`` does."""
        kwargs = {"working_name": working_name, "names": names, "reason": reason, "source": source}
        kwargs.update(fields)
        person = _build(
            Person, id=self.ids.next(Person), uuid=self._uuid(), working_name=working_name, **fields
        )
        self.persons.append(person)
        self._names[person.pk] = self._name_rows(person, names)
        changes = {}
        for name in ("working_name", *fields):
            value = _field_value(person, name)
            if value not in (None, "", [], False):
                changes[name] = [None, value]
        names_list = [spec.as_dict() for spec in names]
        if names_list:
            changes["names"] = [[], names_list]
        self._append_event(
            at=at,
            kind=EventKind.PERSON_CREATED,
            summary=f"Person {person.working_name} created",
            subject=person,
            person=person,
            changes=changes,
            reason=reason,
            source=source,
        )
        return self._record("person_create", at, kwargs, person)

    def person_update(
        self,
        *,
        at: dt.datetime,
        person: Person,
        names: list[NameSpec] | None = None,
        reason: str = "",
        source: Source | None = None,
        **fields: Any,
    ) -> Person:
        """Do what ``services.person_update`` does."""
        kwargs = dict(person=person, names=names, reason=reason, source=source, **fields)
        changes = services._apply_fields(person, fields, services.PERSON_FIELDS)
        if names is not None:
            old = [
                NameSpec(n.value, n.script, n.romanisation, n.is_pseudonym).as_dict()
                for n in self._names[person.pk]
            ]
            new = [spec.as_dict() for spec in names]
            if old != new:
                self._names[person.pk] = self._name_rows(person, names)
                changes["names"] = [old, new]
        if not changes:
            return self._record("person_update", at, kwargs, person)
        person.version += 1
        self._append_event(
            at=at,
            kind=EventKind.PERSON_UPDATED,
            summary=f"{person.working_name}: {services._describe_changes(changes, person)} changed",
            subject=person,
            case=self._latest_case.get(person.pk),
            person=person,
            changes=changes,
            reason=reason,
            source=source,
        )
        return self._record("person_update", at, kwargs, person)

    # -- cases ---------------------------------------------------------------------------

    def case_open(
        self,
        *,
        at: dt.datetime,
        reference: str,
        person: Person,
        detaining_party: Party,
        reason: str = "",
        source: Source | None = None,
        **fields: Any,
    ) -> Case:
        """Do what ``services.case_open`` does (always opening as captured)."""
        kwargs = dict(
            reference=reference,
            person=person,
            detaining_party=detaining_party,
            reason=reason,
            source=source,
            **fields,
        )
        case = _build(
            Case,
            id=self.ids.next(Case),
            uuid=self._uuid(),
            reference=reference,
            person=person,
            detaining_party=detaining_party,
            status=CaseStatus.CAPTURED,
            **fields,
        )
        self.cases.append(case)
        self._latest_case[person.pk] = case
        changes = {}
        for name in ("reference", "status", "detaining_party", *fields):
            value = _field_value(case, name)
            if value not in (None, ""):
                changes[name] = [None, value]
        self._append_event(
            at=at,
            kind=EventKind.CASE_OPENED,
            summary=f"Case {case.reference} opened for {person.working_name}, "
            f"held by {detaining_party.name}",
            subject=case,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
        )
        return self._record("case_open", at, kwargs, case)

    def case_update(
        self,
        *,
        at: dt.datetime,
        case: Case,
        reason: str = "",
        source: Source | None = None,
        **fields: Any,
    ) -> Case:
        """Do what ``services.case_update`` does."""
        kwargs = dict(case=case, reason=reason, source=source, **fields)
        changes = services._apply_fields(case, fields, services.CASE_FIELDS)
        if changes:
            case.version += 1
            self._append_event(
                at=at,
                kind=EventKind.CASE_UPDATED,
                summary=f"{case.reference}: {services._describe_changes(changes, case)} changed",
                subject=case,
                case=case,
                changes=changes,
                reason=reason,
                source=source,
            )
        return self._record("case_update", at, kwargs, case)

    def case_change_status(
        self,
        *,
        at: dt.datetime,
        case: Case,
        status: str,
        reason: str = "",
        source: Source | None = None,
        occurred_on: dt.date | None = None,
        occurred_precision: str = DatePrecision.DAY,
        destination_country: str = "",
    ) -> Case:
        """Do what ``services.case_change_status`` does, consent gate included.

        A transfer names its destination: the writer has no database to look it up in.
        """
        kwargs = {
            "case": case,
            "status": status,
            "reason": reason,
            "source": source,
            "occurred_on": occurred_on,
            "occurred_precision": occurred_precision,
        }
        if destination_country:
            kwargs["destination_country"] = destination_country
        if status not in CASE_TRANSITIONS[case.status]:
            raise ValidationError({"status": f"A case cannot go from {case.status} to {status}."})
        option = consent.GATED_CASE_STATUSES.get(status)
        move = consent.Move(option, destination_country) if option else None
        passed = self._gate(case, move, on=occurred_on or at.date())
        old_status = case.status
        changes: dict[str, list[Any]] = {"status": [old_status, status]}
        if move is not None and move.destination:
            changes["destination_country"] = [None, move.destination]
        if passed is not None:
            changes.update(passed.changes())
        case.status = status
        if status in CASE_CLOSED_STATUSES:
            case.closed_at = at
            changes["closed_at"] = [None, at.isoformat()]
        case.version += 1
        self._append_event(
            at=at,
            kind=EventKind.CASE_STATUS_CHANGED,
            summary=f"{case.reference}: status {_LABELS['case_status'][old_status]} → "
            f"{_LABELS['case_status'][status]}",
            subject=case,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=services._date_to_datetime(occurred_on) if occurred_on else None,
            occurred_precision=occurred_precision if occurred_on else DatePrecision.EXACT,
        )
        return self._record("case_change_status", at, kwargs, case)

    # -- intentions ----------------------------------------------------------------------

    def current_intention(self, case: Case) -> StatedIntention | None:
        """Return the case's current intention by ``selectors.current_intention_for``'s rule."""
        active = [i for i in self._intentions[case.pk] if i.state == IntentionState.ACTIVE]
        return max(active, key=intention_order_key, default=None)

    def has_earlier_verified(self, intention: StatedIntention) -> bool:
        """Return whether an earlier verified statement of the same wish exists in memory."""
        return any(
            other is not intention
            and other.verification in choices.VERIFIED_LEVELS
            and other.state in (IntentionState.ACTIVE, IntentionState.SUPERSEDED)
            and other.option == intention.option
            and other.__dict__["destination_country"] == intention.__dict__["destination_country"]
            and other.stated_on <= intention.stated_on
            for other in self._intentions[intention.case_id]
        )

    def gate(self, case: Case, move: consent.Move | None, *, on: dt.date) -> consent.Decision:
        """Return ``consent.check``'s answer from the rows held in memory."""
        current = self.current_intention(case)
        return consent.decide(
            case=case,
            move=move,
            on=on,
            current=current,
            present_parties=self._present.get(current.pk, []) if current else [],
            asylum_statuses={
                r.status for r in self._requests[case.pk] if r.kind == RequestKind.ASYLUM
            },
            risks=[],
        )

    def _gate(self, case: Case, move: consent.Move | None, *, on: dt.date):
        if move is None:
            return None
        decision = self.gate(case, move, on=on)
        if not decision.passed:
            raise consent.ConsentRefused(decision)
        # The rows are inserted later in this transaction; the pass lets them be.
        consent.grant(case, move)
        return decision

    def _refresh_current_intention(self, case: Case) -> dict[str, list[Any]]:
        old = case.current_intention
        new = self.current_intention(case)
        case.current_intention = new
        case.current_intention_option = new.option if new else ""
        case.current_intention_destination = new.destination_country if new else ""
        case.current_intention_verification = new.verification if new else ""
        case.current_intention_verified = bool(new and new.is_verified)
        if (old.pk if old else None) == (new.pk if new else None):
            return {}
        return {"current_intention": [_intention_label(old), _intention_label(new)]}

    def _new_intention(
        self,
        case: Case,
        fields: dict[str, Any],
        source: Source | None,
        present_parties: list[Party],
    ):
        intention = _build(
            StatedIntention,
            id=self.ids.next(StatedIntention),
            uuid=self._uuid(),
            case=case,
            source=source,
            **fields,
        )
        consent.check_level(
            intention, present_parties, has_earlier_verified=self.has_earlier_verified(intention)
        )
        self.intentions.append(intention)
        self._intentions[case.pk].append(intention)
        self._present[intention.pk] = present_parties
        through = StatedIntention.present_parties.through
        self.present_links.extend(
            through(statedintention_id=intention.pk, party_id=party.pk) for party in present_parties
        )
        return intention

    def intention_record(
        self,
        *,
        at: dt.datetime,
        case: Case,
        reason: str = "",
        source: Source | None = None,
        present_parties: list[Party] = (),
        **fields: Any,
    ) -> StatedIntention:
        """Do what ``services.intention_record`` does."""
        kwargs = dict(case=case, reason=reason, source=source, **fields)
        if present_parties:
            kwargs["present_parties"] = present_parties
        present_parties = list(present_parties)
        intention = self._new_intention(case, fields, source, present_parties)
        changes = services._intention_created_changes(intention, present_parties)
        changes.update(self._refresh_current_intention(case))
        self._append_event(
            at=at,
            kind=EventKind.INTENTION_RECORDED,
            summary=f"Statement by {case.person.working_name} recorded: "
            f"{_intention_label(intention)} ({_LABELS['setting'][intention.setting].lower()})",
            subject=intention,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=services._date_to_datetime(intention.stated_on),
            occurred_precision=intention.stated_on_precision,
        )
        return self._record("intention_record", at, kwargs, intention)

    def intention_supersede(
        self,
        *,
        at: dt.datetime,
        intention: StatedIntention,
        reason: str = "",
        source: Source | None = None,
        present_parties: list[Party] = (),
        **fields: Any,
    ) -> StatedIntention:
        """Do what ``services.intention_supersede`` does."""
        kwargs = dict(intention=intention, reason=reason, source=source, **fields)
        if present_parties:
            kwargs["present_parties"] = present_parties
        present_parties = list(present_parties)
        if intention.state != IntentionState.ACTIVE:
            raise ValidationError("Only an active statement can be superseded.")
        case = intention.case
        old = intention
        new = self._new_intention(case, fields, source, present_parties)
        new.supersedes = old
        old.state = IntentionState.SUPERSEDED
        old.version += 1
        changes = services._intention_created_changes(new, present_parties)
        changes["superseded"] = [_intention_label(old), None]
        changes.update(self._refresh_current_intention(case))
        self._append_event(
            at=at,
            kind=EventKind.INTENTION_SUPERSEDED,
            summary=f"Statement by {case.person.working_name} superseded: "
            f"{_intention_label(old)} replaced by {_intention_label(new)}",
            subject=new,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=services._date_to_datetime(new.stated_on),
            occurred_precision=new.stated_on_precision,
        )
        return self._record("intention_supersede", at, kwargs, new)

    def intention_set_state(
        self,
        *,
        at: dt.datetime,
        intention: StatedIntention,
        state: str,
        reason: str = "",
        source: Source | None = None,
        occurred_on: dt.date | None = None,
        occurred_precision: str = DatePrecision.DAY,
    ) -> StatedIntention:
        """Do what ``services.intention_set_state`` does."""
        kwargs = {
            "intention": intention,
            "state": state,
            "reason": reason,
            "source": source,
            "occurred_on": occurred_on,
            "occurred_precision": occurred_precision,
        }
        if state not in services._STATE_EVENTS or intention.state in (
            state,
            IntentionState.SUPERSEDED,
        ):
            raise ValidationError({"state": f"A {intention.state} statement cannot be {state}."})
        if not reason.strip() and state != IntentionState.ACTIVE:
            raise ValidationError({"reason": f"Say why the statement is {state}."})
        case = intention.case
        old_state = intention.state
        intention.state = state
        intention.version += 1
        changes: dict[str, list[Any]] = {"state": [old_state, state]}
        changes.update(self._refresh_current_intention(case))
        verb = "reinstated" if state == IntentionState.ACTIVE else state
        self._append_event(
            at=at,
            kind=services._STATE_EVENTS[state],
            summary=f"Statement by {case.person.working_name} {verb}: "
            f"{_intention_label(intention)}",
            subject=intention,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=services._date_to_datetime(occurred_on) if occurred_on else None,
            occurred_precision=occurred_precision if occurred_on else DatePrecision.EXACT,
        )
        return self._record("intention_set_state", at, kwargs, intention)

    # -- requests and positions ----------------------------------------------------------

    def request_file(
        self,
        *,
        at: dt.datetime,
        case: Case,
        kind: str,
        addressed_to: Party,
        draft: bool = False,
        reason: str = "",
        source: Source | None = None,
        **fields: Any,
    ) -> Request:
        """Do what ``services.request_file`` does."""
        kwargs = dict(
            case=case,
            kind=kind,
            addressed_to=addressed_to,
            draft=draft,
            reason=reason,
            source=source,
            **fields,
        )
        status = RequestStatus.DRAFT if draft else RequestStatus.FILED
        consent.check_return_destination(case, kind, str(fields.get("destination_country", "")))
        request = _build(
            Request,
            id=self.ids.next(Request),
            uuid=self._uuid(),
            case=case,
            kind=kind,
            addressed_to=addressed_to,
            status=status,
            source=source,
            **fields,
        )
        if not draft and request.filed_on is None:
            request.filed_on = at.date()
        self.requests.append(request)
        self._requests[case.pk].append(request)
        changes = {}
        for name in ("kind", "status", "addressed_to", *fields):
            value = _field_value(request, name)
            if value not in (None, ""):
                changes[name] = [None, value]
        verb = "drafted" if draft else "filed"
        self._append_event(
            at=at,
            kind=EventKind.REQUEST_DRAFTED if draft else EventKind.REQUEST_FILED,
            summary=f"{_request_label(request, capital=True)} {verb}, "
            f"addressed to {addressed_to.name}",
            subject=request,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=None if draft else services._date_to_datetime(request.filed_on),
            occurred_precision=DatePrecision.EXACT if draft else DatePrecision.DAY,
        )
        return self._record("request_file", at, kwargs, request)

    def request_transition(
        self,
        *,
        at: dt.datetime,
        request: Request,
        status: str,
        decided_on: dt.date | None = None,
        decision_reason: str = "",
        reason: str = "",
        source: Source | None = None,
        occurred_on: dt.date | None = None,
        occurred_precision: str = DatePrecision.DAY,
    ) -> Request:
        """Do what ``services.request_transition`` does, consent gate included."""
        kwargs = {
            "request": request,
            "status": status,
            "decided_on": decided_on,
            "decision_reason": decision_reason,
            "reason": reason,
            "source": source,
            "occurred_on": occurred_on,
            "occurred_precision": occurred_precision,
        }
        case = request.case
        if status not in REQUEST_TRANSITIONS[request.status]:
            raise ValidationError(
                {"status": f"A request cannot go from {request.status} to {status}."}
            )
        passed = None
        if status == RequestStatus.EXECUTED:
            passed = self._gate(
                case, consent.move_for_request(request), on=occurred_on or at.date()
            )
        old_status = request.status
        changes: dict[str, list[Any]] = {"status": [old_status, status]}
        if passed is not None:
            changes.update(passed.changes())
        request.status = status
        if old_status == RequestStatus.DRAFT and status == RequestStatus.FILED:
            if request.filed_on is None:
                request.filed_on = occurred_on or at.date()
                changes["filed_on"] = [None, request.filed_on.isoformat()]
        if status in {RequestStatus.ACCEPTED, RequestStatus.REFUSED}:
            new_decided = decided_on or occurred_on or at.date()
            changes["decided_on"] = [services._plain(request.decided_on), new_decided.isoformat()]
            request.decided_on = new_decided
        if decision_reason and decision_reason != request.decision_reason:
            changes["decision_reason"] = [request.decision_reason, decision_reason]
            request.decision_reason = decision_reason
        request.version += 1
        self._append_event(
            at=at,
            kind=EventKind.REQUEST_STATUS_CHANGED,
            summary=f"{_request_label(request, capital=True)}: "
            f"{_LABELS['request_status'][old_status]} → {_LABELS['request_status'][status]}",
            subject=request,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=services._date_to_datetime(occurred_on) if occurred_on else None,
            occurred_precision=occurred_precision if occurred_on else DatePrecision.EXACT,
        )
        return self._record("request_transition", at, kwargs, request)

    def position_record(
        self,
        *,
        at: dt.datetime,
        request: Request,
        party: Party,
        stance: str,
        stated_on: dt.date,
        conditions: str = "",
        reason: str = "",
        source: Source | None = None,
    ) -> Position:
        """Do what ``services.position_record`` does."""
        kwargs = {
            "request": request,
            "party": party,
            "stance": stance,
            "stated_on": stated_on,
            "conditions": conditions,
            "reason": reason,
            "source": source,
        }
        position = _build(
            Position,
            uuid=self._uuid(),
            request_id=request.pk,
            party_id=party.pk,
            stance=stance,
            stated_on=stated_on,
            conditions=conditions,
            source_id=source.pk if source else None,
        )
        self.positions.append(position)
        changes = {
            "party": [None, party.name],
            "stance": [None, stance],
            "stated_on": [None, stated_on.isoformat()],
        }
        if conditions:
            changes["conditions"] = [None, conditions]
        self._append_event(
            at=at,
            kind=EventKind.POSITION_RECORDED,
            summary=f"{party.name} on the {_request_label(request)}: "
            f"{_LABELS['stance'][stance].lower()}",
            subject=position,
            case=request.case,
            changes=changes,
            reason=reason,
            source=source,
            occurred_at=services._date_to_datetime(stated_on),
            occurred_precision=DatePrecision.DAY,
        )
        return self._record("position_record", at, kwargs, position)

    # -- occurrences and notes -----------------------------------------------------------

    def occurrence_record(
        self,
        *,
        at: dt.datetime,
        case: Case,
        kind: str,
        occurred_on: dt.date,
        description: str,
        occurred_on_precision: str = DatePrecision.DAY,
        place: str = "",
        reason: str = "",
        source: Source | None = None,
    ) -> Occurrence:
        """Do what ``services.occurrence_record`` does."""
        kwargs = {
            "case": case,
            "kind": kind,
            "occurred_on": occurred_on,
            "description": description,
            "occurred_on_precision": occurred_on_precision,
            "place": place,
            "reason": reason,
            "source": source,
        }
        occurrence = _build(
            Occurrence,
            uuid=self._uuid(),
            case_id=case.pk,
            kind=kind,
            occurred_on=occurred_on,
            occurred_on_precision=occurred_on_precision,
            description=description,
            place=place,
            source_id=source.pk if source else None,
        )
        self.occurrences.append(occurrence)
        self._append_event(
            at=at,
            kind=EventKind.OCCURRENCE_RECORDED,
            summary=f"{_LABELS['occurrence'][kind]}: {description}",
            subject=occurrence,
            case=case,
            changes={
                name: [None, value]
                for name in ("kind", "occurred_on", "occurred_on_precision", "description", "place")
                if (value := _field_value(occurrence, name)) not in (None, "")
            },
            reason=reason,
            source=source,
            occurred_at=services._date_to_datetime(occurred_on),
            occurred_precision=occurred_on_precision,
        )
        return self._record("occurrence_record", at, kwargs, occurrence)

    def note_add(
        self,
        *,
        at: dt.datetime,
        case: Case,
        body: str,
        reason: str = "",
        source: Source | None = None,
    ) -> Note:
        """Do what ``services.note_add`` does."""
        kwargs = {"case": case, "body": body, "reason": reason, "source": source}
        if not body.strip():
            raise ValidationError({"body": "Write something in the note."})
        note = _build(
            Note,
            uuid=self._uuid(),
            case_id=case.pk,
            body=body,
            author_id=ACTOR.user.pk if ACTOR.user else None,
            source_id=source.pk if source else None,
        )
        self.notes.append(note)
        first_line = body.strip().splitlines()[0]
        self._append_event(
            at=at,
            kind=EventKind.NOTE_ADDED,
            summary=f"Note: {first_line[:200]}",
            subject=note,
            case=case,
            changes={"body": [None, body]},
            reason=reason,
            source=source,
        )
        return self._record("note_add", at, kwargs, note)

    # -- insertion -----------------------------------------------------------------------

    def flush(self) -> int:
        """Insert everything built since the last flush; return the number of events.

        Call inside a transaction: rows point at each other (a case at its current intention,
        an intention at its case), and the foreign keys are checked at commit.
        """
        self._chain_events(timezone.now())
        names = [row for person in self.persons for row in self._names.pop(person.pk)]
        for model, rows in (
            (Party, self.parties),
            (Source, self.sources),
            (Person, self.persons),
            (PersonName, names),
            (Case, self.cases),
            (StatedIntention, self.intentions),
            (StatedIntention.present_parties.through, self.present_links),
            (Request, self.requests),
            (Position, self.positions),
            (Occurrence, self.occurrences),
            (Note, self.notes),
            (TimelineEvent, self.events),
        ):
            if rows:
                _insert(model, rows)
        count = len(self.events)
        _FIELD_VALUES.clear()
        for case in self.cases:
            for intention in self._intentions.pop(case.pk, ()):
                self._present.pop(intention.pk, None)
            self._requests.pop(case.pk, None)
            self._latest_case.pop(case.person_id, None)
        self._clear()
        return count


def _insert(model: type, rows: list) -> None:
    """Insert ``rows`` of ``model``: COPY on PostgreSQL, ``bulk_create`` elsewhere.

    Django's ``bulk_create`` on PostgreSQL spends most of its time quoting arrays in Python;
    COPY sends the same values (the ones ``bulk_create`` would send: attribute values, the
    database form of country fields, JSON, and the load time for ``auto_now`` fields) for a
    fraction of the cost. Both fire the timeline's insert trigger.
    """
    if connection.vendor != "postgresql":
        model.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        return
    if model in (Case, Request):
        # COPY skips the ORM, so ask what bulk_create would have asked: every row stored in
        # a status that moved him across a border carries the consent gate's pass.
        consent.guard_rows(model, rows, using=connection.alias, new=True, how="COPY")
    with_pk = rows[0].pk is not None
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    loaded_at = timezone.now()
    getters = [_copy_value(f, loaded_at) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([get(row) for get in getters])


def _copy_value(field, loaded_at: dt.datetime) -> Callable[[Any], Any]:
    """Return a function giving ``field``'s value of a row as COPY should receive it."""
    name = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return lambda row: loaded_at
    if isinstance(field, models.JSONField):
        return lambda row: Jsonb(row.__dict__[name])
    if isinstance(field, CountryField):
        return lambda row: field.get_prep_value(row.__dict__[name])
    return lambda row: row.__dict__[name]


# --------------------------------------------------------------------------------------------
# The world: parties, places, names
# --------------------------------------------------------------------------------------------

_PARTIES = [
    # key, name, short name, kind, country, parent key
    ("ua", "Ukraine", "Ukraine", PartyKind.STATE, "UA", None),
    ("ua_sbu", "Security Service of Ukraine", "SBU", PartyKind.AGENCY, "UA", "ua"),
    (
        "ua_hq",
        "Coordination Headquarters for the Treatment of Prisoners of War",
        "Coordination HQ",
        PartyKind.AGENCY,
        "UA",
        "ua",
    ),
    ("ua_afu", "Armed Forces of Ukraine", "AFU", PartyKind.ARMED_FORCE, "UA", "ua"),
    ("ua_ngu", "National Guard of Ukraine", "NGU", PartyKind.ARMED_FORCE, "UA", "ua"),
    ("ua_migration", "State Migration Service of Ukraine", "SMS", PartyKind.AGENCY, "UA", "ua"),
    ("ru", "Russian Federation", "Russia", PartyKind.STATE, "RU", None),
    (
        "ru_fsb",
        "Federal Security Service of the Russian Federation",
        "FSB",
        PartyKind.AGENCY,
        "RU",
        "ru",
    ),
    (
        "ru_mod",
        "Ministry of Defence of the Russian Federation",
        "Russian MoD",
        PartyKind.AGENCY,
        "RU",
        "ru",
    ),
    (
        "ru_af",
        "Armed Forces of the Russian Federation",
        "RF Armed Forces",
        PartyKind.ARMED_FORCE,
        "RU",
        "ru",
    ),
    ("kp", "Democratic People's Republic of Korea", "DPRK", PartyKind.STATE, "KP", None),
    ("kp_kpa", "Korean People's Army", "KPA", PartyKind.ARMED_FORCE, "KP", "kp"),
    ("kr", "Republic of Korea", "South Korea", PartyKind.STATE, "KR", None),
    (
        "kr_mofa",
        "Ministry of Foreign Affairs of the Republic of Korea",
        "MOFA",
        PartyKind.AGENCY,
        "KR",
        "kr",
    ),
    (
        "kr_nis",
        "National Intelligence Service of the Republic of Korea",
        "NIS",
        PartyKind.AGENCY,
        "KR",
        "kr",
    ),
    ("ae", "United Arab Emirates", "UAE", PartyKind.STATE, "AE", None),
    ("kz", "Republic of Kazakhstan", "Kazakhstan", PartyKind.STATE, "KZ", None),
    ("ge", "Georgia", "Georgia", PartyKind.STATE, "GE", None),
    ("de", "Federal Republic of Germany", "Germany", PartyKind.STATE, "DE", None),
    (
        "icrc",
        "International Committee of the Red Cross",
        "ICRC",
        PartyKind.INTERNATIONAL_ORGANISATION,
        "CH",
        None,
    ),
    (
        "hrmmu",
        "UN Human Rights Monitoring Mission in Ukraine",
        "HRMMU",
        PartyKind.INTERNATIONAL_ORGANISATION,
        "",
        None,
    ),
    ("ngo_kr", "Bridge to Freedom Legal Aid Centre", "Bridge", PartyKind.NGO, "KR", None),
    ("ngo_ua", "Home Without Fear Foundation", "HWF", PartyKind.NGO, "UA", None),
    ("media_kr", "Hangang Daily", "Hangang Daily", PartyKind.MEDIA, "KR", None),
    ("media_ua", "Dnipro Evening Courier", "Courier", PartyKind.MEDIA, "UA", None),
    ("media_ua2", "Frontline Reports Kyiv", "Frontline Reports", PartyKind.MEDIA, "UA", None),
    ("media_intl", "Northern Wire Service", "NWS", PartyKind.MEDIA, "GB", None),
    ("media_ru", "Baltic Independent Radio", "BIR", PartyKind.MEDIA, "LV", None),
    (
        "leg_kr",
        "Kang Min-seo, member of the National Assembly",
        "Kang Min-seo",
        PartyKind.LEGISLATOR,
        "KR",
        None,
    ),
    (
        "leg_ua",
        "Oksana Hrytsenko, member of the Verkhovna Rada",
        "Hrytsenko",
        PartyKind.LEGISLATOR,
        "UA",
        None,
    ),
]

_PUBLISHERS = {
    # party key: (publisher label, domain, language, reliability, category)
    "media_kr": ("Hangang Daily", "hangang-daily.example", "ko", "B", "media"),
    "media_ua": ("Dnipro Evening Courier", "courier.example.org", "uk", "C", "media"),
    "media_ua2": ("Frontline Reports Kyiv", "frontline.example.org", "en", "B", "media"),
    "media_intl": ("Northern Wire Service", "nws.example.com", "en", "B", "media"),
    "media_ru": ("Baltic Independent Radio", "bir.example.net", "ru", "C", "media"),
    "ua_sbu": ("Security Service of Ukraine", "sbu.example.org", "uk", "C", "official_ua"),
    "ua_hq": ("Coordination Headquarters", "koordynatsiinyi.example.org", "uk", "B", "exchange"),
    "ru_mod": ("Russian Ministry of Defence", "mil.example.ru", "ru", "D", "official_ru"),
    "kr_mofa": ("Ministry of Foreign Affairs (ROK)", "mofa.example.kr", "ko", "B", "official_kr"),
    "icrc": ("International Committee of the Red Cross", "icrc.example.org", "en", "A", "icrc"),
}

_SOURCE_TITLES = {
    "media": [
        "Captured soldiers describe their first weeks in custody",
        "Prisoners of war speak about the front line",
        "Interviews with prisoners held near {region}",
        "What captured soldiers say about going home",
        "Families search for soldiers missing near {region}",
        "Captured North Korean soldiers say they want to go to South Korea",
        "Prisoners who do not want to go back",
    ],
    "official_ua": [
        "Interrogation videos of captured servicemen, {region} direction",
        "Statement on servicemen captured near {region}",
    ],
    "official_ru": [
        "Statement on Ukrainian servicemen who laid down arms near {region}",
        "Briefing on the situation in the {region} direction",
    ],
    "official_kr": [
        "Position on North Korean soldiers held in Ukraine",
        "Briefing on the protection of North Korean prisoners of war",
    ],
    "exchange": [
        "Prisoner exchange: defenders return home",
        "Exchange of prisoners mediated by the United Arab Emirates",
        "Bodies and prisoners exchanged; lists for the next round",
    ],
    "icrc": [
        "ICRC visits prisoners of war held in connection with the armed conflict",
        "ICRC acts as neutral intermediary in the release of prisoners",
    ],
}

_REGIONS = ["Kursk", "Donetsk", "Kharkiv", "Zaporizhzhia", "Kherson", "Luhansk", "Belgorod"]


@dataclass(frozen=True)
class Place:
    """A place of capture, its ISO 3166-2 code, and when fighting made captures plausible."""

    name: str
    code: str
    start: dt.date
    end: dt.date
    cohorts: frozenset[str]


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


_BOTH = frozenset({"ru_in_ua", "ua_in_ru"})
_ALL = frozenset({"ru_in_ua", "ua_in_ru", "kp_in_ua"})
_PLACES = [
    Place("Hostomel, Kyiv oblast", "UA-32", _d("2022-02-24"), _d("2022-04-02"), _BOTH),
    Place("Bucha district, Kyiv oblast", "UA-32", _d("2022-02-27"), _d("2022-03-31"), _BOTH),
    Place("Chernihiv oblast", "UA-74", _d("2022-02-24"), _d("2022-04-04"), _BOTH),
    Place("Mariupol (Azovstal)", "UA-14", _d("2022-03-01"), _d("2022-05-20"), _BOTH),
    Place("Izium, Kharkiv oblast", "UA-63", _d("2022-04-01"), _d("2022-09-15"), _BOTH),
    Place("Kupiansk, Kharkiv oblast", "UA-63", _d("2022-09-01"), _d("2026-08-31"), _BOTH),
    Place("Vovchansk, Kharkiv oblast", "UA-63", _d("2024-05-10"), _d("2026-08-31"), _BOTH),
    Place("Sievierodonetsk, Luhansk oblast", "UA-09", _d("2022-05-01"), _d("2022-06-25"), _BOTH),
    Place("Kreminna, Luhansk oblast", "UA-09", _d("2022-10-01"), _d("2025-12-31"), _BOTH),
    Place("Kherson", "UA-65", _d("2022-03-01"), _d("2022-11-11"), _BOTH),
    Place("Krynky, Kherson oblast", "UA-65", _d("2023-10-15"), _d("2024-07-31"), _BOTH),
    Place("Dnipro islands, Kherson oblast", "UA-65", _d("2022-11-12"), _d("2026-08-31"), _BOTH),
    Place("Kinburn Spit, Mykolaiv oblast", "UA-48", _d("2022-03-01"), _d("2023-12-31"), _BOTH),
    Place("Bakhmut, Donetsk oblast", "UA-14", _d("2022-08-01"), _d("2023-05-31"), _BOTH),
    Place("Vuhledar, Donetsk oblast", "UA-14", _d("2022-11-01"), _d("2024-10-01"), _BOTH),
    Place("Avdiivka, Donetsk oblast", "UA-14", _d("2023-10-01"), _d("2024-02-20"), _BOTH),
    Place("Chasiv Yar, Donetsk oblast", "UA-14", _d("2023-06-01"), _d("2026-08-31"), _BOTH),
    Place("Toretsk, Donetsk oblast", "UA-14", _d("2024-06-01"), _d("2026-03-31"), _BOTH),
    Place("Pokrovsk, Donetsk oblast", "UA-14", _d("2024-07-01"), _d("2026-08-31"), _BOTH),
    Place("Robotyne, Zaporizhzhia oblast", "UA-23", _d("2023-06-04"), _d("2024-12-31"), _BOTH),
    Place("Huliaipole, Zaporizhzhia oblast", "UA-23", _d("2022-03-01"), _d("2026-08-31"), _BOTH),
    Place("Sumy border area", "UA-59", _d("2025-05-01"), _d("2026-08-31"), _BOTH),
    Place("Sudzha, Kursk region", "RU-KRS", _d("2024-08-06"), _d("2025-03-15"), _BOTH),
    Place("Korenevo district, Kursk region", "RU-KRS", _d("2024-08-10"), _d("2025-04-26"), _ALL),
    Place("Malaya Loknya, Kursk region", "RU-KRS", _d("2024-08-15"), _d("2025-03-12"), _ALL),
    Place("Glushkovo district, Kursk region", "RU-KRS", _d("2024-09-01"), _d("2025-04-26"), _ALL),
    Place(
        "Shebekino district, Belgorod region", "RU-BEL", _d("2023-05-20"), _d("2024-06-30"), _BOTH
    ),
    Place(
        "Grayvoron district, Belgorod region", "RU-BEL", _d("2023-05-22"), _d("2025-06-30"), _BOTH
    ),
]
_NK_WINDOW = (_d("2024-12-10"), _d("2025-04-26"))

_DETENTION = {
    "UA": [
        "Prisoner-of-war camp, Lviv oblast",
        "SBU pre-trial detention centre, Kyiv",
        "Pre-trial detention centre, Dnipro",
        "Pre-trial detention centre, Zaporizhzhia",
        "Pre-trial detention centre, Kharkiv",
    ],
    "RU": [
        "Pre-trial detention centre No. 2, Taganrog",
        "Penal colony No. 10, Mordovia",
        "Pre-trial detention centre No. 1, Kursk",
        "Pre-trial detention centre No. 1, Bryansk",
        "Pre-trial detention centre No. 1, Rostov-on-Don",
        "Penal colony, Olenivka",
    ],
}
_HOSPITALS = {"UA": "Military hospital, Kyiv", "RU": "Military hospital, Rostov-on-Don"}

# Korean names: (North Korean Hangul, South Korean Hangul, Revised, McCune-Reischauer,
# North Korean official, press spellings).
_KO_SURNAMES = [
    ("김", "김", "Gim", "Kim", "Kim", ["Kim"]),
    ("리", "이", "Ri", "Ri", "Ri", ["Lee", "Yi", "Rhee"]),
    ("박", "박", "Bak", "Pak", "Pak", ["Park"]),
    ("최", "최", "Choe", "Ch'oe", "Choe", ["Choi"]),
    ("백", "백", "Baek", "Paek", "Paek", ["Paik", "Baek"]),
    ("정", "정", "Jeong", "Chŏng", "Jong", ["Jung", "Chung"]),
    ("조", "조", "Jo", "Cho", "Jo", ["Cho"]),
    ("강", "강", "Gang", "Kang", "Kang", ["Kang"]),
    ("윤", "윤", "Yun", "Yun", "Yun", ["Yoon"]),
    ("한", "한", "Han", "Han", "Han", ["Han"]),
    ("림", "임", "Rim", "Rim", "Rim", ["Lim", "Im"]),
    ("류", "유", "Ryu", "Ryu", "Ryu", ["Yoo", "Yu"]),
    ("장", "장", "Jang", "Chang", "Jang", ["Chang"]),
    ("오", "오", "O", "O", "O", ["Oh"]),
    ("신", "신", "Sin", "Sin", "Sin", ["Shin"]),
    ("황", "황", "Hwang", "Hwang", "Hwang", ["Hwang"]),
    ("안", "안", "An", "An", "An", ["Ahn"]),
    ("전", "전", "Jeon", "Chŏn", "Jon", ["Jun", "Chun"]),
    ("홍", "홍", "Hong", "Hong", "Hong", ["Hong"]),
    ("로", "노", "Ro", "Ro", "Ro", ["Roh", "Noh"]),
]
# (Hangul, Revised, McCune-Reischauer, North Korean official, press)
_KO_GIVEN = [
    ("영호", "Yeong-ho", "Yŏng-ho", "Yong Ho", "Young-ho"),
    ("철수", "Cheol-su", "Ch'ŏl-su", "Chol Su", "Chul-soo"),
    ("성민", "Seong-min", "Sŏng-min", "Song Min", "Sung-min"),
    ("광철", "Gwang-cheol", "Kwang-ch'ŏl", "Kwang Chol", "Kwang-chul"),
    ("명철", "Myeong-cheol", "Myŏng-ch'ŏl", "Myong Chol", "Myung-chul"),
    ("혁", "Hyeok", "Hyŏk", "Hyok", "Hyuk"),
    ("정남", "Jeong-nam", "Chŏng-nam", "Jong Nam", "Jung-nam"),
    ("국진", "Guk-jin", "Kuk-chin", "Kuk Jin", "Kook-jin"),
    ("용수", "Yong-su", "Yong-su", "Yong Su", "Yong-soo"),
    ("진혁", "Jin-hyeok", "Chin-hyŏk", "Jin Hyok", "Jin-hyuk"),
    ("현철", "Hyeon-cheol", "Hyŏn-ch'ŏl", "Hyon Chol", "Hyun-chul"),
    ("동현", "Dong-hyeon", "Tong-hyŏn", "Tong Hyon", "Dong-hyun"),
    ("준호", "Jun-ho", "Chun-ho", "Jun Ho", "Joon-ho"),
    ("경일", "Gyeong-il", "Kyŏng-il", "Kyong Il", "Kyung-il"),
    ("남철", "Nam-cheol", "Nam-ch'ŏl", "Nam Chol", "Nam-chul"),
    ("주혁", "Ju-hyeok", "Chu-hyŏk", "Ju Hyok", "Joo-hyuk"),
    ("충성", "Chung-seong", "Ch'ung-sŏng", "Chung Song", "Chung-sung"),
    ("학철", "Hak-cheol", "Hak-ch'ŏl", "Hak Chol", "Hak-chul"),
    ("원준", "Won-jun", "Wŏn-jun", "Won Jun", "Won-joon"),
    ("태성", "Tae-seong", "T'ae-sŏng", "Thae Song", "Tae-sung"),
    ("금철", "Geum-cheol", "Kŭm-ch'ŏl", "Kum Chol", "Keum-chul"),
    ("은철", "Eun-cheol", "Ŭn-ch'ŏl", "Un Chol", "Eun-chul"),
    ("일남", "Il-nam", "Il-nam", "Il Nam", "Il-nam"),
    ("송철", "Song-cheol", "Song-ch'ŏl", "Song Chol", "Song-chul"),
    ("명호", "Myeong-ho", "Myŏng-ho", "Myong Ho", "Myung-ho"),
]
# Names from the forged Russian military IDs some Korean soldiers carried (Tuvan names).
_TUVAN_SURNAMES = ["Монгуш", "Ооржак", "Кужугет", "Ондар", "Донгак", "Салчак", "Куулар", "Сат"]
_TUVAN_GIVEN = ["Буян", "Аяс", "Чойган", "Алдар", "Начын", "Эрес", "Айдын", "Маадыр"]

_RU_SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
]
_RU_GIVEN = [
    ("Александр", "Александрович"),
    ("Сергей", "Сергеевич"),
    ("Дмитрий", "Дмитриевич"),
    ("Андрей", "Андреевич"),
    ("Алексей", "Алексеевич"),
    ("Максим", "Максимович"),
    ("Евгений", "Евгеньевич"),
    ("Иван", "Иванович"),
    ("Михаил", "Михайлович"),
    ("Артём", "Артёмович"),
    ("Николай", "Николаевич"),
    ("Владимир", "Владимирович"),
    ("Денис", "Денисович"),
    ("Павел", "Павлович"),
    ("Роман", "Романович"),
    ("Игорь", "Игоревич"),
    ("Олег", "Олегович"),
    ("Виктор", "Викторович"),
    ("Юрий", "Юрьевич"),
    ("Кирилл", "Кириллович"),
    ("Антон", "Антонович"),
    ("Вадим", "Вадимович"),
    ("Константин", "Константинович"),
    ("Виталий", "Витальевич"),
    ("Руслан", "Русланович"),
    ("Григорий", "Григорьевич"),
    ("Егор", "Егорович"),
]
_UK_SURNAMES = [
    "Шевченко",
    "Коваленко",
    "Бондаренко",
    "Ткаченко",
    "Кравченко",
    "Олійник",
    "Шевчук",
    "Поліщук",
    "Коваль",
    "Бондар",
    "Ткачук",
    "Мельник",
    "Бойко",
    "Савченко",
    "Руденко",
    "Петренко",
    "Марченко",
    "Лисенко",
    "Клименко",
    "Павленко",
    "Кузьменко",
    "Мороз",
    "Левченко",
    "Гончаренко",
    "Харченко",
    "Мартинюк",
    "Білик",
    "Приходько",
    "Кравчук",
    "Романенко",
    "Панченко",
    "Мазур",
    "Литвиненко",
    "Карпенко",
    "Гуменюк",
    "Зінченко",
    "Ковальчук",
    "Сидоренко",
    "Федоренко",
    "Яковенко",
    "Гребенюк",
    "Остапчук",
    "Тарасенко",
    "Гаврилюк",
    "Кушнір",
    "Демченко",
    "Яремчук",
    "Ярошенко",
    "Вовк",
    "Згурський",
]
_UK_GIVEN = [
    ("Олександр", "Олександрович"),
    ("Андрій", "Андрійович"),
    ("Сергій", "Сергійович"),
    ("Дмитро", "Дмитрович"),
    ("Віталій", "Віталійович"),
    ("Юрій", "Юрійович"),
    ("Олег", "Олегович"),
    ("Максим", "Максимович"),
    ("Іван", "Іванович"),
    ("Василь", "Васильович"),
    ("Михайло", "Михайлович"),
    ("Богдан", "Богданович"),
    ("Володимир", "Володимирович"),
    ("Тарас", "Тарасович"),
    ("Ярослав", "Ярославович"),
    ("Микола", "Миколайович"),
    ("Петро", "Петрович"),
    ("Роман", "Романович"),
    ("Віктор", "Вікторович"),
    ("Артем", "Артемович"),
    ("Євген", "Євгенович"),
    ("Ігор", "Ігорович"),
    ("Павло", "Павлович"),
    ("Остап", "Остапович"),
    ("Назар", "Назарович"),
    ("Степан", "Степанович"),
]
_UK_GIVEN_FEMALE = ["Олена", "Юлія", "Марія", "Анна", "Ірина", "Оксана", "Тетяна", "Вікторія"]
_CALL_SIGNS = {
    "ru": ["Гром", "Ветер", "Тайга", "Кедр", "Шторм", "Сокол", "Малой", "Док", "Север", "Шаман"],
    "uk": ["Сокіл", "Грім", "Козак", "Лелека", "Мольфар", "Тихий", "Ранок", "Чорний", "Вовк"],
}

_RU_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "ë", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "ʺ", "ы": "y", "ь": "ʹ", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
_UK_TRANSLIT = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
    "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
    "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "",
}  # fmt: skip
_UK_INITIAL = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_RU_VOWELS = set("аеёиоуыэюяъь")


def _case_like(source: str, text: str) -> str:
    return text[:1].upper() + text[1:] if source[:1].isupper() else text


def translit_ru_bgn(word: str) -> str:
    """Return ``word`` (Russian Cyrillic) in BGN/PCGN romanisation."""
    out = []
    for i, char in enumerate(word):
        low = char.lower()
        if low in "её" and (i == 0 or word[i - 1].lower() in _RU_VOWELS | {"й"}):
            latin = "y" + _RU_TRANSLIT[low]
        else:
            latin = _RU_TRANSLIT.get(low, low)
        out.append(_case_like(char, latin))
    return "".join(out)


def translit_ru_press(word: str) -> str:
    """Return ``word`` (Russian Cyrillic) as the English-language press tends to spell it."""
    text = translit_ru_bgn(word).replace("ʹ", "").replace("ʺ", "")
    text = text.replace("Yë", "Yo").replace("yë", "yo").replace("ë", "yo")
    for ending, simple in (("iy", "y"), ("ey", "ei"), ("ay", "ai")):
        if text.endswith(ending):
            text = text[: -len(ending)] + simple
    return text


def translit_uk_national(word: str) -> str:
    """Return ``word`` (Ukrainian Cyrillic) in Ukraine's national romanisation (2010)."""
    out = []
    for i, char in enumerate(word):
        low = char.lower()
        if i == 0 and low in _UK_INITIAL:
            latin = _UK_INITIAL[low]
        elif low == "г" and i > 0 and word[i - 1].lower() == "з":
            latin = "gh"  # зг is written zgh, to tell it from ж (zh)
        else:
            latin = _UK_TRANSLIT.get(low, low)
        out.append(_case_like(char, latin))
    return "".join(out)


def translit_uk_bgn(word: str) -> str:
    """Return ``word`` (Ukrainian Cyrillic) in BGN/PCGN romanisation."""
    out = []
    for char in word:
        low = char.lower()
        latin = {"й": "y", "ї": "yi", "є": "ye", "ю": "yu", "я": "ya", "ь": "ʹ"}.get(low)
        if latin is None:
            latin = _UK_TRANSLIT.get(low, low)
        out.append(_case_like(char, latin))
    return "".join(out)


def _dedupe(names: list[NameSpec]) -> list[NameSpec]:
    seen: set[str] = set()
    kept = []
    for spec in names:
        if spec.value not in seen:
            seen.add(spec.value)
            kept.append(spec)
    return kept


# --------------------------------------------------------------------------------------------
# The world's reference data, loaded or created once per run
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    """Parties by key and the source pool, by category, in date order."""

    parties: dict[str, Party]
    sources: dict[str, list[Source]] = field(default_factory=dict)
    source_dates: dict[str, list[dt.date]] = field(default_factory=dict)

    def source_near(self, rng: random.Random, category: str, day: dt.date) -> Source | None:
        """Return a source of ``category`` published on or soon after ``day``, if any."""
        pool = self.sources.get(category)
        if not pool:
            return None
        start = bisect.bisect_left(self.source_dates[category], day)
        if start >= len(pool):
            return None
        return pool[rng.randrange(start, min(start + 3, len(pool)))]


#: Parties whose private interviews can verify a statement.
_NEUTRAL_PARTIES = frozenset({"icrc"})


def build_world(writer: BulkWriter, seed: int) -> World:
    """Return the parties and sources, creating (through ``writer``) those that are missing."""
    rng = random.Random(f"seed_demo:{seed}:reference")
    # UUIDs come from a stream of their own, so reusing existing rows (an appending run)
    # does not shift what the content stream draws next.
    writer.rng = random.Random(f"seed_demo:{seed}:reference-ids")
    existing = {party.name: party for party in Party.objects.all()}
    parties: dict[str, Party] = {}
    for key, name, short_name, kind, country, parent_key in _PARTIES:
        if name in existing:
            parties[key] = existing[name]
            continue
        parties[key] = writer.party_create(
            at=REFERENCE_DATA_AT,
            name=name,
            kind=kind,
            country=country,
            parent=parties[parent_key] if parent_key else None,
            short_name=short_name,
            is_neutral=key in _NEUTRAL_PARTIES,
        )
    world = World(parties=parties)
    existing_sources = {
        (s.title, s.publisher, s.published_on): s
        for s in Source.objects.filter(publisher__in=[p[0] for p in _PUBLISHERS.values()])
    }
    span = (AS_OF - dt.date(2022, 3, 1)).days
    publisher_keys = list(_PUBLISHERS)
    weights = [5, 3, 3, 4, 2, 3, 3, 2, 1, 2]
    by_category: dict[str, list[Source]] = defaultdict(list)
    seen: set[tuple[str, str, dt.date]] = set()
    while len(seen) < SOURCE_POOL_SIZE:
        key = rng.choices(publisher_keys, weights)[0]
        publisher, domain, language, reliability, category = _PUBLISHERS[key]
        published_on = dt.date(2022, 3, 1) + dt.timedelta(days=rng.randrange(span))
        title = rng.choice(_SOURCE_TITLES[category]).format(region=rng.choice(_REGIONS))
        identity = (title, publisher, published_on)
        if identity in seen:
            continue
        seen.add(identity)
        at = _at(rng, published_on)
        source = existing_sources.get(identity)
        if source is None:
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
            source = writer.source_create(
                at=at,
                title=title,
                publisher=publisher,
                url=f"https://{domain}/{published_on:%Y/%m/%d}/{slug}",
                published_on=published_on,
                language=language,
                reliability=reliability,
            )
        by_category[category].append(source)
    for category, pool in by_category.items():
        pool.sort(key=lambda s: (s.published_on, s.title))
        world.sources[category] = pool
        world.source_dates[category] = [s.published_on for s in pool]
    return world


def _at(rng: random.Random, day: dt.date) -> dt.datetime:
    """Return a moment in office hours on ``day``: when a call is made."""
    return dt.datetime.combine(
        day, dt.time(rng.randint(7, 18), rng.randint(0, 59), rng.randint(0, 59)), tzinfo=dt.UTC
    )


# --------------------------------------------------------------------------------------------
# One case's story
# --------------------------------------------------------------------------------------------

_COHORT_FACTS = {
    # cohort: (detaining party key, home state key, armed force key, home country,
    #          detaining country, language of quotes)
    "ru_in_ua": ("ua", "ru", "ru_af", "RU", "UA", "ru"),
    "ua_in_ru": ("ru", "ua", "ua_afu", "UA", "RU", "uk"),
    "kp_in_ua": ("ua", "kp", "kp_kpa", "KP", "UA", "ko"),
}

_QUOTES = {
    ("ko", IntentionOption.THIRD_STATE): "한국에 가고 싶습니다.",
    ("ko", IntentionOption.RETURN_HOME): "고향에 돌아가고 싶습니다.",
    ("ko", IntentionOption.UNDECIDED): "아직 결정하지 못했습니다.",
    ("ru", IntentionOption.RETURN_HOME): "Хочу домой, к семье.",
    ("ru", IntentionOption.REMAIN): "Я не хочу возвращаться в Россию.",
    ("ru", IntentionOption.THIRD_STATE): "Хочу уехать в другую страну.",
    ("ru", IntentionOption.UNDECIDED): "Пока не знаю, мне нужно подумать.",
    ("uk", IntentionOption.RETURN_HOME): "Хочу додому.",
    ("uk", IntentionOption.REMAIN): "Я залишуся тут.",
    ("uk", IntentionOption.UNDECIDED): "Ще не вирішив.",
}

_WOUNDS = [
    "Gunshot wound to the jaw",
    "Shrapnel wounds to both legs",
    "Fractured left forearm",
    "Concussion from an artillery blast",
    "Gunshot wound to the shoulder",
    "Burns to the hands and face",
]

_NOTES = [
    "Family contacted through the ICRC Central Tracing Agency.\nMother confirmed identity.",
    "Asked for a Korean-speaking interpreter for the next interview.",
    "Complains of untreated pain; medical check requested.",
    "Name appears on the other side's exchange list with a different spelling.",
    "Interview postponed: the detaining authority did not allow a private meeting.",
    "Wants his statement kept from the press; his family is still at home.",
    "Service number checked against the capture card; it matches.",
    "Lawyer appointed by the Bridge to Freedom Legal Aid Centre.",
]


class CaseStory:
    """Plan and write one person's custody episode, call by call, through a ``BulkWriter``."""

    def __init__(self, writer: BulkWriter, world: World, rng: random.Random, reference: Callable):
        self.w = writer
        self.world = world
        self.rng = rng
        self.reference = reference
        self.day = WAR_START

    # -- time ----------------------------------------------------------------------------

    def at(self) -> dt.datetime:
        """Return the moment of the next call: office hours on the story's current day."""
        return _at(self.rng, self.day)

    def step(self, low: int, high: int) -> bool:
        """Move the story on by ``low``..``high`` days; False once past the data set's end."""
        self.day += dt.timedelta(days=self.rng.randint(low, high))
        return self.day <= AS_OF

    def party(self, key: str) -> Party:
        """Return the party known by ``key`` in ``_PARTIES``."""
        return self.world.parties[key]

    # -- the story -----------------------------------------------------------------------

    def run(self) -> Case:
        """Write the whole story; return the case."""
        r = self.rng
        roll = r.random()
        self.cohort = "kp_in_ua" if roll < 0.03 else "ru_in_ua" if roll < 0.55 else "ua_in_ru"
        detaining_key, home_key, force_key, home, held_in, language = _COHORT_FACTS[self.cohort]
        self.home, self.held_in, self.language = home, held_in, language
        self.detainer = self.party(detaining_key)
        self.home_state = self.party(home_key)

        place, captured_on = self._capture()
        precision = r.choices(
            [DatePrecision.DAY, DatePrecision.MONTH, DatePrecision.APPROXIMATE, DatePrecision.YEAR],
            [75, 14, 8, 3],
        )[0]
        stored_capture = _truncate(captured_on, precision)
        self.day = min(captured_on + dt.timedelta(days=r.randint(0, 6)), AS_OF)
        self.wounded = r.random() < (0.35 if self.cohort == "kp_in_ua" else 0.2)
        self.civilian = self.cohort == "ua_in_ru" and r.random() < 0.06
        self.person = self._person(force_key)

        legal_status = (
            choices.LegalStatus.CIVILIAN_INTERNEE
            if self.civilian
            else r.choices(
                [
                    choices.LegalStatus.POW,
                    choices.LegalStatus.PRESUMED_POW,
                    choices.LegalStatus.UNKNOWN,
                ],
                [80, 15, 5] if self.cohort != "kp_in_ua" else [40, 55, 5],
            )[0]
        )
        fields: dict[str, Any] = {
            "legal_status": legal_status,
            "capture_date": stored_capture,
            "capture_date_precision": precision,
            "capture_place": place.name,
            "capture_place_code": place.code,
        }
        if r.random() < 0.7:
            fields["detention_place"] = r.choice(_DETENTION[held_in])
        fields["priority"] = (
            choices.Priority.URGENT
            if self.wounded and r.random() < 0.3
            else r.choices(
                [choices.Priority.NORMAL, choices.Priority.HIGH, choices.Priority.LOW],
                [75, 15, 10],
            )[0]
        )
        self.case = self.w.case_open(
            at=self.at(),
            reference=self.reference(held_in, self.day.year),
            person=self.person,
            detaining_party=self.detainer,
            **fields,
        )
        verb = "Surrendered" if r.random() < 0.3 else "Captured"
        self.w.occurrence_record(
            at=self.at(),
            case=self.case,
            kind=OccurrenceKind.CAPTURE,
            occurred_on=stored_capture,
            occurred_on_precision=precision,
            description=f"{verb} near {place.name}",
            place=place.name,
        )
        self._custody()
        return self.case

    def _capture(self) -> tuple[Place, dt.date]:
        r = self.rng
        if self.cohort == "kp_in_ua":
            places = [p for p in _PLACES if "kp_in_ua" in p.cohorts]
            start, end = _NK_WINDOW
        else:
            places = [p for p in _PLACES if self.cohort in p.cohorts]
            start = end = None
        weights = [((p.end - p.start).days + 30) for p in places]
        place = r.choices(places, weights)[0]
        start = max(start or place.start, place.start, WAR_START)
        end = min(end or place.end, place.end, LAST_CAPTURE)
        if end < start:
            start, end = place.start, min(place.end, LAST_CAPTURE)
        return place, start + dt.timedelta(days=r.randint(0, (end - start).days))

    # -- the person ----------------------------------------------------------------------

    def _person(self, force_key: str) -> Person:
        r = self.rng
        female = self.cohort == "ua_in_ru" and r.random() < 0.04
        if self.cohort == "kp_in_ua":
            working_name, names = self._korean_names()
            birth_year = r.randint(1996, 2006)
            birth_places = ["Pyongyang", "Hamhung", "Chongjin", "Sinuiju", "Wonsan", "Hyesan"]
            ranks = ["Private", "Junior Sergeant", "Sergeant", "Senior Sergeant", "Lieutenant"]
            unit = f"{r.choice([11, 11, 11, 94])}th Corps, {r.randint(1, 9)}th Brigade"
        else:
            working_name, names = self._slavic_names(female)
            birth_year = r.randint(1965, 2005)
            if self.cohort == "ru_in_ua":
                birth_places = [
                    "Novosibirsk",
                    "Ulan-Ude",
                    "Rostov-on-Don",
                    "Krasnodar",
                    "Omsk",
                    "Kyzyl",
                    "Ufa",
                    "Perm",
                    "Chelyabinsk",
                    "Irkutsk",
                ]
                ranks = ["Private", "Corporal", "Junior Sergeant", "Sergeant", "Lieutenant"]
                unit = r.choice(
                    [
                        f"{r.randint(1, 200)}th Motor Rifle Regiment",
                        f"{r.randint(1, 150)}th Separate Motor Rifle Brigade",
                        f"Storm-Z detachment, {r.randint(1, 60)}th Army",
                        f"{r.randint(80, 240)}th Guards Airborne Assault Regiment",
                    ]
                )
            else:
                birth_places = [
                    "Kyiv",
                    "Kharkiv",
                    "Dnipro",
                    "Zaporizhzhia",
                    "Lviv",
                    "Odesa",
                    "Poltava",
                    "Mariupol",
                    "Chernihiv",
                    "Sumy",
                ]
                ranks = ["Soldier", "Senior Soldier", "Junior Sergeant", "Sergeant", "Lieutenant"]
                unit = r.choice(
                    [
                        f"{r.randint(10, 160)}th Separate Mechanised Brigade",
                        f"{r.randint(1, 50)}th Separate Assault Brigade",
                        f"{r.randint(100, 130)}th Territorial Defence Brigade",
                        f"{r.randint(35, 38)}th Separate Marine Brigade",
                    ]
                )
        birth_precision = r.choices(
            [DatePrecision.DAY, DatePrecision.YEAR, DatePrecision.APPROXIMATE, DatePrecision.MONTH],
            [60, 25, 10, 5],
        )[0]
        birth = _truncate(
            dt.date(birth_year, 1, 1) + dt.timedelta(days=r.randrange(365)), birth_precision
        )
        fields: dict[str, Any] = {
            "sex": choices.Sex.FEMALE if female else choices.Sex.MALE,
            "birth_date": birth,
            "birth_date_precision": birth_precision,
        }
        if r.random() < 0.7:
            fields["birth_place"] = r.choice(birth_places)
        fields["nationalities"] = [self.home]
        fields["identity_confidence"] = r.choices(
            ["confirmed", "claimed", "disputed", "unknown"],
            [50, 35, 5, 10] if self.cohort != "kp_in_ua" else [10, 45, 35, 10],
        )[0]
        if not self.civilian:
            fields["armed_force"] = self.party(force_key)
            fields["rank"] = r.choice(ranks)
            fields["unit"] = unit
            if self.cohort != "kp_in_ua" and r.random() < 0.6:
                letters = "".join(r.choice("АБВГДЕКМНОПРСТ") for _ in range(2))
                fields["service_number"] = f"{letters}-{r.randrange(10**6):06d}"
        fields["power_depends_on"] = self.home_state
        if self.wounded:
            fields["medical_notes"] = r.choice(_WOUNDS)
        if r.random() < 0.3:
            fields["family_links"] = r.choice(
                [
                    "Mother and father alive; contact through the ICRC only.",
                    "Wife and two children; address withheld.",
                    "Parents unaware of capture.",
                ]
            )
        return self.w.person_create(at=self.at(), working_name=working_name, names=names, **fields)

    def _korean_names(self) -> tuple[str, list[NameSpec]]:
        r = self.rng
        nk, sk, rr, mr, nko, press = r.choice(_KO_SURNAMES)
        g_hangul, g_rr, g_mr, g_nk, g_press = r.choice(_KO_GIVEN)
        press_surname = r.choice(press)
        names = [
            NameSpec(nk + g_hangul, "hangul"),
            NameSpec(sk + g_hangul, "hangul"),
            NameSpec(f"{nko} {g_nk}", "latin", "north_korean"),
            NameSpec(f"{rr} {g_rr}", "latin", "revised"),
            NameSpec(f"{mr} {g_mr}", "latin", "mccune_reischauer"),
            NameSpec(f"{press_surname} {g_press}", "latin", "press"),
        ]
        working_name = nko
        if r.random() < 0.4:
            surname, given = r.choice(_TUVAN_SURNAMES), r.choice(_TUVAN_GIVEN)
            names.append(NameSpec(f"{surname} {given}", "cyrillic", "", True))
            names.append(
                NameSpec(
                    f"{translit_ru_bgn(surname)} {translit_ru_bgn(given)}",
                    "latin",
                    "bgn_pcgn",
                    True,
                )
            )
        if r.random() < 0.25:
            alias = r.choice(_KO_SURNAMES)
            names.append(NameSpec(f"{alias[4]}", "latin", "press", True))
            working_name = alias[4]
        return working_name, _dedupe(names)

    def _slavic_names(self, female: bool) -> tuple[str, list[NameSpec]]:
        r = self.rng
        if self.cohort == "ru_in_ua":
            surname, (given, _) = r.choice(_RU_SURNAMES), r.choice(_RU_GIVEN)
            patronymic = r.choice(_RU_GIVEN)[1]
            full = f"{surname} {given} {patronymic}"
            bgn = " ".join(translit_ru_bgn(part) for part in (surname, given, patronymic))
            press = f"{translit_ru_press(given)} {translit_ru_press(surname)}"
            names = [
                NameSpec(full, "cyrillic"),
                NameSpec(bgn, "latin", "bgn_pcgn"),
                NameSpec(press, "latin", "press"),
            ]
            call_signs = _CALL_SIGNS["ru"]
            translit = translit_ru_bgn
        else:
            surname = r.choice(_UK_SURNAMES)
            patronymic = r.choice(_UK_GIVEN)[1]
            if female:
                given = r.choice(_UK_GIVEN_FEMALE)
                patronymic = re.sub(r"ович$", "івна", re.sub(r"йович$", "ївна", patronymic))
            else:
                given = r.choice(_UK_GIVEN)[0]
            full = f"{surname} {given} {patronymic}"
            national = f"{translit_uk_national(given)} {translit_uk_national(surname)}"
            bgn = " ".join(translit_uk_bgn(part) for part in (surname, given, patronymic))
            names = [
                NameSpec(full, "cyrillic"),
                NameSpec(national, "latin", "conventional"),
                NameSpec(bgn, "latin", "bgn_pcgn"),
            ]
            press = national
            call_signs = _CALL_SIGNS["uk"]
            translit = translit_uk_national
        working_name = press
        if r.random() < 0.12:
            call_sign = r.choice(call_signs)
            names.append(NameSpec(call_sign, "cyrillic", "", True))
            names.append(NameSpec(translit(call_sign), "latin", "", True))
            working_name = translit(call_sign)
        return working_name, _dedupe(names)

    # -- custody -------------------------------------------------------------------------

    def move(
        self, status: str, reason: str = "", on: dt.date | None = None, destination: str = ""
    ) -> None:
        """Change the case's status, dated ``on`` when the day in the world is known."""
        extra = {"destination_country": destination} if destination else {}
        self.w.case_change_status(
            at=self.at(), case=self.case, status=status, reason=reason, occurred_on=on, **extra
        )

    def consent_refused(self, request: Request) -> bool:
        """Return whether the consent gate is shut today for executing ``request``."""
        move = consent.move_for_request(request)
        return move is not None and not self.w.gate(self.case, move, on=self.day).passed

    def occur(self, kind: str, description: str, source: Source | None = None, **extra) -> None:
        """Record something that happened today in the story."""
        self.w.occurrence_record(
            at=self.at(),
            case=self.case,
            kind=kind,
            occurred_on=self.day,
            description=description,
            source=source,
            **extra,
        )

    def _custody(self) -> None:
        r = self.rng
        if self.wounded:
            self.move(CaseStatus.HOSPITALISED, "Evacuated wounded from the battlefield", self.day)
            self.occur(OccurrenceKind.MEDICAL, f"Admitted to hospital: {self.person.medical_notes}")
        else:
            if not self.step(1, 10):
                return
            self.move(CaseStatus.REGISTERED, on=self.day)
        if r.random() < 0.35 and self.step(1, 6):
            self.occur(
                OccurrenceKind.CAPTURE_CARD,
                "Capture card sent to the ICRC Central Tracing Agency (GC III Art. 70)",
            )
        if not self.step(3, 40):
            return
        self.move(CaseStatus.INTERNED, on=self.day)

        # The fate decides which requests are made and how the episode ends.
        held_days = (AS_OF - self.day).days
        roll = r.random()
        if roll < 0.012:
            fate = "died"
        elif roll < 0.015:
            fate = "escaped"
        elif self.cohort == "kp_in_ua":
            fate = r.choices(["third_state", "held", "home"], [45, 45, 10])[0]
        elif self.civilian:
            fate = r.choices(["released", "exchange", "held"], [40, 30, 30])[0]
        elif self.cohort == "ru_in_ua":
            fate = r.choices(["exchange", "remain", "third_state", "held"], [55, 9, 3, 33])[0]
        else:
            fate = r.choices(["exchange", "medical", "held"], [55, 5, 40])[0]
        if fate == "medical" and not self.wounded:
            fate = "exchange"
        self.fate = fate
        # Exchanges come in rounds; a long wait is common.
        self.release_after = int(r.expovariate(1 / 420)) + 45
        if fate == "exchange" and self.release_after > held_days:
            fate = self.fate = "held"

        if self.wounded and r.random() < 0.5 and self.step(5, 40):
            # A second stay in hospital, for surgery, with a request for treatment.
            self.move(CaseStatus.HOSPITALISED, "Admitted for surgery", self.day)
            self._medical_request()
            if r.random() < 0.3 or not self.step(10, 60):
                return  # still in hospital
            self.move(CaseStatus.INTERNED, "Discharged from hospital", self.day)

        if r.random() < (0.9 if self.cohort == "kp_in_ua" else 0.2) and self.step(3, 40):
            self._publication()
        if r.random() < (0.1 if self.held_in == "RU" else 0.35) and self.step(10, 90):
            self.occur(
                OccurrenceKind.ICRC_VISIT,
                "ICRC delegates visited the place of detention",
                place=self.case.detention_place,
            )
        if r.random() < 0.2 and self.step(5, 120):
            self._transfer_of_place()
        if self.case.legal_status == choices.LegalStatus.PRESUMED_POW and r.random() < 0.6:
            if self.step(20, 120):
                self.w.case_update(
                    at=self.at(),
                    case=self.case,
                    legal_status=choices.LegalStatus.POW,
                    reason="Art. 5 tribunal confirmed prisoner-of-war status",
                )
        if r.random() < 0.15 and self.step(5, 60):
            self._person_update()
        for _ in range(r.choices([0, 1, 2, 3], [66, 27, 5, 2])[0]):
            if self.step(1, 90):
                self.w.note_add(at=self.at(), case=self.case, body=r.choice(_NOTES))
        if self.day > AS_OF:
            return
        getattr(self, f"_fate_{fate}")()

    def _medical_request(self) -> None:
        request = self._file(
            RequestKind.MEDICAL_TREATMENT,
            "ua_hq" if self.held_in == "UA" else "ru_mod",
            requested_by=self.party("icrc") if self.rng.random() < 0.6 else None,
            legal_basis="GC III Art. 30",
        )
        self._request_through(
            request,
            [
                RequestStatus.ACKNOWLEDGED,
                RequestStatus.UNDER_REVIEW,
                RequestStatus.ACCEPTED,
                RequestStatus.SCHEDULED,
                RequestStatus.EXECUTED,
            ][: self.rng.randint(2, 5)],
            decision_reason="Surgery approved",
        )

    def _publication(self) -> None:
        r = self.rng
        outlet = r.choice(["media_kr"] if self.cohort == "kp_in_ua" else ["media_ua", "media_ua2"])
        if self.held_in == "RU":
            outlet = r.choice(["media_ru", "media_intl"])
        source = self.world.source_near(r, "media", self.day)
        self.occur(
            OccurrenceKind.PUBLICATION,
            f"Interview video published by {self.party(outlet).name}",
            source=source,
        )
        self._first_intention(outlet, source)

    def _transfer_of_place(self) -> None:
        new_place = self.rng.choice(_DETENTION[self.held_in])
        if new_place == self.case.detention_place:
            return
        self.occur(OccurrenceKind.TRANSFER_OF_PLACE, f"Moved to {new_place}", place=new_place)
        self.w.case_update(at=self.at(), case=self.case, detention_place=new_place)

    def _person_update(self) -> None:
        r = self.rng
        fields: dict[str, Any] = {}
        if self.person.identity_confidence != "confirmed":
            fields["identity_confidence"] = "confirmed"
        if not self.person.service_number and self.cohort != "kp_in_ua":
            fields["service_number"] = (
                f"{r.choice('АБВГДЕК')}{r.choice('МНОП')}-{r.randrange(10**6):06d}"
            )
        if fields:
            self.w.person_update(
                at=self.at(),
                person=self.person,
                reason="Checked against the capture card and the family's statement",
                **fields,
            )

    # -- intentions ----------------------------------------------------------------------

    def _option(self) -> tuple[str, str]:
        r = self.rng
        if self.cohort == "kp_in_ua":
            option = r.choices(
                [
                    IntentionOption.THIRD_STATE,
                    IntentionOption.UNDECIDED,
                    IntentionOption.RETURN_HOME,
                    IntentionOption.DECLINED,
                ],
                [55, 30, 10, 5],
            )[0]
            if self.fate == "third_state":
                option = IntentionOption.THIRD_STATE
        elif self.cohort == "ru_in_ua":
            option = {
                "remain": IntentionOption.REMAIN,
                "third_state": IntentionOption.THIRD_STATE,
            }.get(
                self.fate,
                r.choices(
                    [
                        IntentionOption.RETURN_HOME,
                        IntentionOption.UNDECIDED,
                        IntentionOption.DECLINED,
                    ],
                    [88, 8, 4],
                )[0],
            )
        else:
            option = r.choices(
                [
                    IntentionOption.RETURN_HOME,
                    IntentionOption.REMAIN,
                    IntentionOption.UNDECIDED,
                    IntentionOption.DECLINED,
                ],
                [88, 5, 5, 2],
            )[0]
        return option, self._destination(option)

    def _destination(self, option: str) -> str:
        if option == IntentionOption.RETURN_HOME:
            return self.home
        if option == IntentionOption.REMAIN:
            return self.held_in
        if option == IntentionOption.THIRD_STATE:
            return "KR" if self.cohort == "kp_in_ua" else self.rng.choice(["KZ", "GE", "DE"])
        return ""

    def _statement(
        self, option: str, destination: str, setting: str, verification: str, heard_by: Party
    ) -> dict[str, Any]:
        r = self.rng
        fields: dict[str, Any] = {"option": option}
        if destination:
            fields["destination_country"] = destination
        if r.random() < 0.3:
            fields["certainty"] = r.choice(["80% decided", "firm", "still thinking", "certain"])
        if self.cohort == "kp_in_ua" and option == IntentionOption.THIRD_STATE and self.wounded:
            fields["conditions"] = "If the surgery he needs is possible there"
        elif r.random() < 0.1:
            fields["conditions"] = "If his family will not be punished"
        quote = _QUOTES.get((self.language, option))
        if quote and r.random() < 0.6:
            fields["quote"] = quote
            fields["quote_language"] = self.language
        fields["stated_on"] = self.day
        if verification in choices.VERIFIED_LEVELS:
            # A private interview by a neutral body: dated, without the detaining power's
            # staff, after the person was told his options.
            fields["detaining_power_present"] = choices.Presence.NO
            fields["options_explained"] = True
        elif r.random() < 0.1:
            fields["stated_on_precision"] = DatePrecision.MONTH
            fields["stated_on"] = self.day.replace(day=1)
        if verification == Verification.WITNESSED:
            fields["present_parties"] = [self.party("ngo_kr")]
        fields["heard_by"] = heard_by
        fields["heard_by_role"] = {
            PartyKind.MEDIA: "journalist",
            PartyKind.LEGISLATOR: "member of parliament",
            PartyKind.INTERNATIONAL_ORGANISATION: "delegate",
            PartyKind.AGENCY: "interviewing officer",
        }.get(heard_by.kind, "")
        fields["setting"] = setting
        if self.cohort == "kp_in_ua" and setting != StatementSetting.PRIVATE_NEUTRAL_INTERVIEW:
            fields["interpreter_supplied_by"] = self.party(r.choice(["ua_sbu", "kr_nis"]))
        fields["verification"] = verification
        return fields

    def _first_intention(self, outlet: str | None = None, source: Source | None = None) -> None:
        r = self.rng
        if self.w.current_intention(self.case) is not None or self.day > AS_OF:
            return
        option, destination = self._option()
        if outlet is not None:
            setting, heard_by = StatementSetting.MEDIA_INTERVIEW, self.party(outlet)
            verification = r.choice([Verification.REPORTED, Verification.STATED])
        elif self.cohort == "kp_in_ua" and r.random() < 0.5:
            setting, heard_by = StatementSetting.LEGISLATOR_INTERVIEW, self.party("leg_kr")
            verification = r.choice([Verification.STATED, Verification.WITNESSED])
        else:
            setting = StatementSetting.OFFICIAL_INTERVIEW
            heard_by = self.party("ua_sbu" if self.held_in == "UA" else "ru_fsb")
            verification = Verification.STATED
            if source is None:
                category = "official_ua" if self.held_in == "UA" else "official_ru"
                source = self.world.source_near(r, category, self.day)
        intention = self.w.intention_record(
            at=self.at(),
            case=self.case,
            source=source,
            **self._statement(option, destination, setting, verification, heard_by),
        )
        # Statements filmed by the detaining power can be disputed later.
        if self.held_in == "RU" and option == IntentionOption.REMAIN and self.step(10, 60):
            self.w.intention_set_state(
                at=self.at(),
                intention=intention,
                state=IntentionState.CONTESTED,
                reason="Recorded on camera by the detaining power; possibly under duress",
                occurred_on=self.day,
            )
        elif r.random() < 0.04 and self.step(10, 60):
            self.w.intention_set_state(
                at=self.at(),
                intention=intention,
                state=IntentionState.WITHDRAWN,
                reason="The person withdrew this statement in a later conversation",
                occurred_on=self.day,
            )

    def _change_of_mind(self, option: str | None = None) -> None:
        """Record a new statement that replaces the current one (a change of mind)."""
        current = self.w.current_intention(self.case)
        if current is None or self.day > AS_OF:
            return
        if option is None:
            option, destination = self._option()
        else:
            destination = self._destination(option)
        verification = current.verification
        if verification == Verification.RECONFIRMED:
            verification = Verification.VERIFIED  # a new wish has nothing to reconfirm
        self.w.intention_supersede(
            at=self.at(),
            intention=current,
            reason="New statement in a later interview",
            **self._statement(option, destination, current.setting, verification, current.heard_by),
        )

    def _verified_interview(self, option: str, level: str = Verification.VERIFIED) -> None:
        """Record what the person told the ICRC in private (GC III Art. 126)."""
        if self.day > AS_OF:
            return
        current = self.w.current_intention(self.case)
        if current is not None and current.option == option:
            destination = current.destination_country.code
        else:
            destination = self._destination(option)
        if level == Verification.RECONFIRMED and not any(
            i.verification in choices.VERIFIED_LEVELS
            and i.option == option
            and (i.destination_country.code or "") == destination
            and i.state in (IntentionState.ACTIVE, IntentionState.SUPERSEDED)
            for i in self.w._intentions[self.case.pk]
        ):
            level = Verification.VERIFIED  # nothing verified before: this is the first word
        self.w.intention_record(
            at=self.at(),
            case=self.case,
            source=self.world.source_near(self.rng, "icrc", self.day),
            **self._statement(
                option,
                destination,
                StatementSetting.PRIVATE_NEUTRAL_INTERVIEW,
                level,
                self.party("icrc"),
            ),
        )

    # -- requests ------------------------------------------------------------------------

    def _request_through(
        self,
        request: Request,
        statuses: list[str],
        positions: list[tuple[str, str, str]] = (),
        decision_reason: str = "",
    ) -> bool:
        """Move ``request`` along ``statuses``; record positions while it is under review."""
        for status in statuses:
            if not self.step(3, 45):
                return False
            if status == RequestStatus.UNDER_REVIEW:
                self.w.request_transition(
                    at=self.at(), request=request, status=status, occurred_on=self.day
                )
                for party_key, stance, conditions in positions:
                    if not self.step(1, 20):
                        return False
                    self.w.position_record(
                        at=self.at(),
                        request=request,
                        party=self.party(party_key),
                        stance=stance,
                        stated_on=self.day,
                        conditions=conditions,
                        source=self.world.source_near(self.rng, "media", self.day),
                    )
                continue
            self.w.request_transition(
                at=self.at(),
                request=request,
                status=status,
                occurred_on=self.day,
                decision_reason=decision_reason
                if status in (RequestStatus.ACCEPTED, RequestStatus.REFUSED)
                else "",
            )
        return True

    def _file(self, kind: str, addressed_to: str, **fields: Any) -> Request:
        draft = self.rng.random() < 0.06
        if not draft:
            fields["filed_on"] = self.day
        request = self.w.request_file(
            at=self.at(),
            case=self.case,
            kind=kind,
            addressed_to=self.party(addressed_to),
            draft=draft,
            **fields,
        )
        if draft and self.step(1, 14):
            self.w.request_transition(
                at=self.at(), request=request, status=RequestStatus.FILED, occurred_on=self.day
            )
        return request

    # -- fates ---------------------------------------------------------------------------

    def _fate_held(self) -> None:
        r = self.rng
        self._first_intention()
        if r.random() < 0.25 and self.step(30, 200):
            self._change_of_mind()
        if r.random() < (0.5 if self.held_in == "UA" else 0.15) and self.step(20, 150):
            current = self.w.current_intention(self.case)
            self._verified_interview(current.option if current else self._option()[0])
        if r.random() < 0.2 and self.step(10, 60):
            request = self._file(
                RequestKind.FAMILY_CONTACT,
                "ua_hq" if self.held_in == "UA" else "ru_mod",
                requested_by=self.party("icrc"),
                legal_basis="GC III Art. 70-71",
            )
            self._request_through(
                request,
                [
                    RequestStatus.ACKNOWLEDGED,
                    RequestStatus.UNDER_REVIEW,
                    RequestStatus.ACCEPTED,
                    RequestStatus.SCHEDULED,
                    RequestStatus.EXECUTED,
                ][: r.randint(1, 5)],
                decision_reason="Red Cross messages allowed",
            )
        if r.random() < 0.25 and self.step(5, 60):
            self.move(CaseStatus.ON_HOLD, "Awaiting the outcome of a criminal investigation")
            if r.random() < 0.5 and self.step(30, 200):
                self.move(CaseStatus.INTERNED, "Investigation closed", self.day)
        if self.cohort == "kp_in_ua" and r.random() < 0.5 and self.step(10, 60):
            # Still deciding, or waiting for a private interview: the request stays open.
            request = self._file(
                RequestKind.THIRD_STATE_TRANSFER,
                "ua",
                requested_by=self.party("ngo_kr"),
                destination_country="KR",
                legal_basis="1951 Refugee Convention Art. 33; CAT Art. 3",
            )
            self._request_through(
                request,
                [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW],
                [("kr", Stance.ACCEPTS, "If he chooses to come"), ("ru", Stance.OPPOSES, "")],
            )

    def _fate_died(self) -> None:
        self._first_intention()
        if not self.step(10, 400):
            return
        cause = self.rng.choice(["Died of wounds", "Died of illness", "Killed in a shelling"])
        self.occur(OccurrenceKind.OTHER, f"{cause} in custody")
        self.move(CaseStatus.DIED, cause, self.day)
        self.w.person_update(
            at=self.at(),
            person=self.person,
            is_deceased=True,
            date_of_death=self.day,
            reason="Death notified to the ICRC (GC III Art. 120)",
        )

    def _fate_escaped(self) -> None:
        if not self.step(10, 300):
            return
        self.occur(OccurrenceKind.OTHER, "Escaped during a transfer between places of detention")
        self.move(CaseStatus.ESCAPED, "Escaped during transfer", self.day)

    def _fate_released(self) -> None:
        self._first_intention()
        if not self.step(30, 400):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Civilian internee; no reason to hold", self.day)
        if self.step(1, 30):
            self.move(CaseStatus.RELEASED, "Released to the civilian authorities", self.day)

    def _fate_exchange(self) -> None:
        r = self.rng
        self._first_intention()
        requested_by = "ru_mod" if self.held_in == "UA" else "ua_hq"
        addressed_to = "ua_hq" if self.held_in == "UA" else "ru_mod"
        self.day = max(self.day, self.case.capture_date + dt.timedelta(days=self.release_after))
        if self.day > AS_OF:
            return
        request = self._file(
            RequestKind.EXCHANGE_INCLUSION,
            addressed_to,
            requested_by=self.party(requested_by),
            legal_basis="GC III Art. 109; exchange agreement",
        )
        if r.random() < 0.08:
            self._request_through(
                request,
                [RequestStatus.ACKNOWLEDGED, RequestStatus.REFUSED],
                decision_reason="Not on the agreed list for this round",
            )
            return
        steps = [RequestStatus.UNDER_REVIEW, RequestStatus.ACCEPTED]
        if r.random() < 0.2:
            steps.insert(0, RequestStatus.ACKNOWLEDGED)
        if not self._request_through(
            request,
            steps,
            [("ae", Stance.SUPPORTS, "")] if r.random() < 0.25 else [],
            decision_reason="Included in the next exchange round",
        ):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Included in an exchange", self.day)
        if not self._request_through(request, [RequestStatus.SCHEDULED]):
            return
        if r.random() < 0.05 or not self.step(1, 20):
            return  # scheduled for a round that has not happened yet
        if r.random() < 0.04:
            self.w.request_transition(
                at=self.at(), request=request, status=RequestStatus.FAILED, occurred_on=self.day
            )
            self.move(CaseStatus.INTERNED, "Exchange postponed", self.day)
            return
        current = self.w.current_intention(self.case)
        if current is not None and current.option == IntentionOption.RETURN_HOME:
            # The ICRC asks each man in private at the handover point.
            self._verified_interview(IntentionOption.RETURN_HOME, Verification.RECONFIRMED)
        if self.consent_refused(request):
            return  # he has not said in private that he wants to go home: he stays
        self.w.request_transition(
            at=self.at(), request=request, status=RequestStatus.EXECUTED, occurred_on=self.day
        )
        if r.random() < 0.25:
            self.occur(
                OccurrenceKind.EXCHANGE_INCLUSION,
                "Returned home in a prisoner exchange",
                source=self.world.source_near(r, "exchange", self.day),
            )
        self.move(CaseStatus.REPATRIATED, "Exchanged", self.day)

    def _fate_medical(self) -> None:
        """Direct repatriation of the seriously wounded (GC III Art. 110), consent-gated."""
        r = self.rng
        self._first_intention()
        if not self.step(20, 120):
            return
        request = self._file(
            RequestKind.DIRECT_MEDICAL_REPATRIATION,
            "ru_mod" if self.held_in == "RU" else "ua_hq",
            requested_by=self.party("icrc"),
            destination_country=self.home,
            legal_basis="GC III Art. 110",
        )
        if not self._request_through(
            request,
            [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW, RequestStatus.ACCEPTED],
            [("icrc", Stance.SUPPORTS, "")],
            decision_reason="Mixed Medical Commission found him eligible",
        ):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Eligible for direct repatriation", self.day)
        if not self._request_through(request, [RequestStatus.SCHEDULED]):
            return
        if not self.step(1, 10):
            return
        if r.random() < 0.8:
            self._verified_interview(IntentionOption.RETURN_HOME, Verification.RECONFIRMED)
        if self.consent_refused(request):
            return  # nobody verified his consent: the request waits, scheduled
        self.w.request_transition(
            at=self.at(), request=request, status=RequestStatus.EXECUTED, occurred_on=self.day
        )
        self.move(CaseStatus.REPATRIATED, "Repatriated on medical grounds", self.day)

    def _fate_remain(self) -> None:
        r = self.rng
        self._first_intention()
        if self.step(20, 150):
            self._verified_interview(IntentionOption.REMAIN)
        if not self.step(5, 60):
            return
        request = self._file(
            RequestKind.EXCHANGE_EXCLUSION,
            "ua_hq",
            requested_by=self.party("ngo_ua"),
            legal_basis="GC III Art. 109(3); non-refoulement",
        )
        if not self._request_through(
            request,
            [RequestStatus.UNDER_REVIEW, RequestStatus.ACCEPTED],
            [("ru", Stance.OPPOSES, "")],
            decision_reason="He will not be returned against his will",
        ):
            return
        if self.step(1, 10):
            self.occur(OccurrenceKind.EXCHANGE_EXCLUSION, "Removed from the exchange list")
            self.move(CaseStatus.ON_HOLD, "Excluded from exchanges at his request", self.day)
        if not self.step(5, 60):
            return
        asylum = self._file(
            RequestKind.ASYLUM,
            "ua_migration",
            requested_by=self.party("ngo_ua"),
            destination_country="UA",
            legal_basis="1951 Refugee Convention",
        )
        outcome = r.choices([RequestStatus.ACCEPTED, RequestStatus.REFUSED, None], [45, 10, 45])[0]
        steps = [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW]
        if outcome:
            steps.append(outcome)
        if not self._request_through(
            asylum,
            steps,
            decision_reason="Protection granted" if outcome == "accepted" else "Not eligible",
        ):
            return
        if outcome == RequestStatus.ACCEPTED and self.step(10, 60):
            self.move(CaseStatus.RELEASE_APPROVED, "Asylum granted", self.day)
            if self.step(1, 20):
                self.move(CaseStatus.RELEASED, "Released under protection in Ukraine", self.day)

    def _fate_third_state(self) -> None:
        r = self.rng
        self._first_intention()
        if r.random() < 0.3 and self.step(20, 120):
            self._change_of_mind(IntentionOption.UNDECIDED)
            if self.step(20, 120):
                self._change_of_mind(IntentionOption.THIRD_STATE)
        verified = r.random() < 0.6
        if verified and self.step(20, 150):
            current = self.w.current_intention(self.case)
            self._verified_interview(current.option if current else IntentionOption.THIRD_STATE)
        if not self.step(5, 60):
            return
        destination = self._destination(IntentionOption.THIRD_STATE)
        current = self.w.current_intention(self.case)
        if current is not None and current.option == IntentionOption.THIRD_STATE:
            destination = current.destination_country.code
        destination_key = {"KR": "kr", "KZ": "kz", "GE": "ge", "DE": "de"}[destination]
        request = self._file(
            RequestKind.THIRD_STATE_TRANSFER,
            "ua",
            requested_by=self.party("kr_mofa" if destination == "KR" else "ngo_ua"),
            destination_country=destination,
            legal_basis="1951 Refugee Convention Art. 33; CAT Art. 3",
        )
        positions = [
            (destination_key, Stance.ACCEPTS, "If he chooses to come"),
            ("ua", Stance.CONDITIONAL, "No one will be returned to persecution against his will"),
            ("ru", Stance.OPPOSES, ""),
        ]
        if not self._request_through(
            request,
            [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW],
            positions[: r.randint(1, 3)],
        ):
            return
        current = self.w.current_intention(self.case)
        if not (
            current is not None
            and current.verification in choices.VERIFIED_LEVELS
            and current.option == IntentionOption.THIRD_STATE
            and current.destination_country.code == destination
        ):
            return  # the request waits until a private interview confirms the wish
        if not self._request_through(
            request,
            [RequestStatus.ACCEPTED, RequestStatus.SCHEDULED],
            decision_reason="Consent verified in a private interview",
        ):
            return
        self.move(CaseStatus.RELEASE_APPROVED, "Transfer agreed", self.day)
        if not self.step(2, 30):
            return
        # Reconfirmed in private at the handover, so that the consent is fresh.
        self._verified_interview(IntentionOption.THIRD_STATE, Verification.RECONFIRMED)
        if self.consent_refused(request):
            return
        self.w.request_transition(
            at=self.at(), request=request, status=RequestStatus.EXECUTED, occurred_on=self.day
        )
        self.move(
            CaseStatus.TRANSFERRED_THIRD_STATE, "Handed over", self.day, destination=destination
        )

    def _fate_home(self) -> None:
        """A Korean soldier who asks to go back: the request stays under review."""
        self._first_intention()
        if not self.step(20, 150):
            return
        request = self._file(
            RequestKind.REPATRIATION,
            "ua",
            requested_by=None,
            destination_country="KP",
            legal_basis="GC III Art. 118",
        )
        self._request_through(
            request,
            [RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW],
            [("kp", Stance.NO_POSITION, ""), ("kr", Stance.OPPOSES, "Risk of persecution")],
        )


def _truncate(day: dt.date, precision: str) -> dt.date:
    """Return ``day`` as stored at ``precision``: the first of the month or of the year."""
    if precision == DatePrecision.MONTH:
        return day.replace(day=1)
    if precision == DatePrecision.YEAR:
        return day.replace(month=1, day=1)
    return day


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Counts reported while generating."""

    cases: int = 0
    events: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        """Return the counts and rates so far as one line."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"{self.cases} cases, {self.events} events in {elapsed:.1f} s "
            f"({self.cases / elapsed:.0f} cases/s, {self.events / elapsed:.0f} events/s)"
        )


def demo_references():
    """Return the queryset of cases whose reference lies in the demo block."""
    return Case.objects.filter(reference__regex=DEMO_REFERENCE_REGEX)


def generate(
    *,
    cases: int,
    seed: int = 1,
    append: bool = False,
    batch: int = 2000,
    progress_every: int = 10000,
    report: Callable[[str], None] | None = None,
    record: bool = False,
) -> tuple[Progress, list[Call] | None]:
    """Generate ``cases`` demo cases; return the counts and, with ``record``, every call made.

    Refuse (``DemoDataExists``) when demo cases exist, unless ``append`` is set; appended
    cases continue the demo numbering and draw from fresh random streams.
    """
    existing = list(demo_references().values_list("reference", flat=True))
    if existing and not append:
        raise DemoDataExists(
            f"{len(existing)} demo cases already exist (for example {min(existing)}). "
            "Use --append to add more with fresh references, or use an empty database."
        )
    counters: dict[tuple[str, int], int] = defaultdict(int)
    for reference in existing:
        country, year, serial = reference.split("-")
        key = (country, int(year))
        counters[key] = max(counters[key], int(serial[1:]))
    first_index = len(existing)

    def next_reference(country: str, year: int) -> str:
        counters[(country, year)] += 1
        return f"{country}-{year}-9{counters[(country, year)]:05d}"

    ids = IdAllocator()
    writer = BulkWriter(ids, record=record)
    progress = Progress()
    with transaction.atomic():
        ids.reset()
        world = build_world(writer, seed)
        writer.flush()
    done = 0
    next_report = progress_every
    while done < cases:
        size = min(batch, cases - done)
        with transaction.atomic():
            ids.reset()
            for offset in range(size):
                index = first_index + done + offset
                rng = random.Random(f"seed_demo:{seed}:{index}")
                writer.rng = rng
                CaseStory(writer, world, rng, next_reference).run()
            progress.events += writer.flush()
        done += size
        progress.cases = done
        if report and (done >= next_report or done == cases):
            report(progress.line())
            while next_report <= done:
                next_report += progress_every
    return progress, writer.calls
