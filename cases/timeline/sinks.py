"""Sinks: where services put the rows they build and the one event draft they word.

A service builds its rows and its draft the same way whoever stores them; the sink decides how:

* ``RowSink``, the normal one, saves each row as it comes and appends the event in the
  caller's transaction, numbered on the case's row lock and chained to its predecessor;
* ``BulkSink``, for ``seed_demo``, keeps the rows in memory (keys drawn ahead from the
  tables' sequences, UUIDs from a seeded generator, "now" given by the caller) and inserts
  them at ``flush``: ``bulk_create``, or COPY on PostgreSQL, with the events numbered and
  chained exactly as ``RowSink`` would have.

What a service needs to read about rows it may not find in the database yet (the case's
current statement, the person's latest case, the consent gate's answer) it asks its sink.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, models
from django.db.models.base import ModelState
from django.utils import timezone
from django_countries.fields import CountryField

from cases import choices, consent
from cases.models import (
    CaptureCard,
    Case,
    ExternalIdentifier,
    Handover,
    IdentityDocument,
    Interview,
    Movement,
    NationalityClaim,
    Note,
    Notification,
    Occurrence,
    Party,
    Person,
    PersonName,
    Place,
    Position,
    Request,
    RiskAssessment,
    Source,
    StatedIntention,
    Task,
    TimelineEvent,
    Visit,
)
from cases.selectors import current_intention_for, intention_order_key
from cases.timeline import chain as timeline_chain
from cases.timeline import representations
from cases.timeline.drafts import EventDraft

#: Rows per INSERT statement.
INSERT_BATCH = 2000


def _event_fields(draft: EventDraft, *, case, case_seq, person) -> dict[str, Any]:
    """Return a draft's stored columns that do not depend on the sink."""
    actor = draft.actor
    return {
        "case_seq": case_seq,
        "kind": draft.kind,
        "occurred_precision": draft.occurred_precision,
        "actor_label": actor.display[:200],
        "channel": actor.channel,
        "summary": draft.summary[:500],
        "changes": dict(draft.changes or {}),
        "reason": draft.reason or "",
        "subject_type": draft.subject._meta.model_name,
        "subject_uuid": draft.subject.uuid,
        "subject_version": (
            representations.subject_version(draft.subject) if draft.represented else None
        ),
        "chain_format": timeline_chain.FORMAT_VERSION,
    }


class RowSink:
    """Store rows one by one and append each event in the caller's transaction."""

    def now(self) -> dt.datetime:
        """Return the moment of the write."""
        return timezone.now()

    def today(self) -> dt.date:
        """Return the day of the write."""
        return timezone.localdate()

    # -- rows ----------------------------------------------------------------------------

    def new(self, model: type, **values: Any):
        """Return an unsaved ``model`` row."""
        return model(**values)

    def validate(self, row, *, exclude: Iterable[str] | None = None) -> None:
        """Run the model's validation (``full_clean``)."""
        row.full_clean(exclude=list(exclude) if exclude else None)

    def insert(self, row) -> None:
        """Store a new row."""
        row.save()

    def save(self, row, *, fields: list[str] | None = None) -> None:
        """Store a changed row (only ``fields`` when given)."""
        if fields is None:
            row.save()
        else:
            row.save(update_fields=fields)

    def update(self, row, fields: Iterable[str]) -> None:
        """Store ``fields`` of a row with one UPDATE, bypassing ``save``."""
        type(row).objects.filter(pk=row.pk).update(**{name: getattr(row, name) for name in fields})

    def lock(self, row):
        """Return ``row`` re-read under a row lock, serialising writes to it."""
        return type(row).objects.select_for_update().get(pk=row.pk)

    # -- what services ask ---------------------------------------------------------------

    def latest_case(self, person: Person) -> Case | None:
        """Return the person's most recent case, locked, or None."""
        case = person.cases.order_by("-opened_at", "-id").first()
        return self.lock(case) if case is not None else None

    def names_of(self, person: Person) -> list[PersonName]:
        """Return the person's name variants."""
        return list(person.names.all())

    def delete_names(self, person: Person) -> None:
        """Delete the person's name variants."""
        person.names.all().delete()

    def set_present_parties(self, intention: StatedIntention, parties: list[Party]) -> None:
        """Store who was present when a statement was heard."""
        if parties:
            intention.present_parties.set(parties)

    def set_related(self, row, name: str, parties: list[Party]) -> None:
        """Store a many-to-many list of ``row`` (who was present at a handover)."""
        if parties:
            getattr(row, name).set(parties)

    def current_intention(self, case: Case) -> StatedIntention | None:
        """Return the statement that counts as the case's current intention."""
        return current_intention_for(case)

    def movements_of(self, case: Case) -> list[Movement]:
        """Return the case's movements with their destinations, in the order recorded."""
        return list(Movement.objects.filter(case=case).select_related("to_place").order_by("id"))

    def capture_cards_of(self, case: Case) -> list[CaptureCard]:
        """Return the case's capture cards, in the order recorded."""
        return list(CaptureCard.objects.filter(case=case).order_by("id"))

    def rule_tasks_of(self, case: Case) -> list[Task]:
        """Return the tasks rules opened on the case, open or closed (cases/tasks/rules.py)."""
        return list(Task.objects.filter(case_id=case.pk).exclude(kind="manual").order_by("id"))

    def planned_exchange(self, case: Case):
        """Return the open exchange with a date that lists the case, the earliest first."""
        from cases.exchanges.selectors import planned_exchange_of

        return planned_exchange_of(case)

    def interview_exists(self, visit: Visit, case: Case) -> bool:
        """Return whether ``case``'s person is already recorded as seen during ``visit``."""
        return Interview.objects.filter(visit_id=visit.pk, case_id=case.pk).exists()

    def has_earlier_verified(self, intention: StatedIntention) -> bool | None:
        """Return None: the consent rules ask the database themselves."""
        return None

    def require_consent(self, case: Case, move, *, on: dt.date | None):
        """Return the consent gate's pass for ``move`` or raise ``ConsentRefused``."""
        return consent.require(case, move, on=on)

    # -- the event -----------------------------------------------------------------------

    def represent(self, draft: EventDraft) -> dict | None:
        """Return the draft's subject as the API shows it now, re-read with the API's joins.

        None for a subject that is gone (a purge) or whose type has no representer.
        """
        representer = representations.representer_for(draft.subject._meta.model_name)
        if not draft.represented or representer is None:
            return None
        return representer.represent(representer.queryset().get(pk=draft.subject.pk))

    def append(self, draft: EventDraft) -> TimelineEvent:
        """Append one event, chained to its predecessor; its case must already be locked.

        The case's row lock (or, for an event with no case, the chain's advisory lock) makes
        the predecessor well defined: no other writer can append to the same chain until
        commit.
        """
        case, person = draft.case, draft.person
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
            person=person,
            occurred_at=draft.occurred_at or self.now(),
            actor=draft.actor.user,
            source=draft.source,
            prev_hash=prev_hash,
            hash_salt=timeline_chain.new_salt(),
            object=self.represent(draft),
            **_event_fields(draft, case=case, case_seq=case_seq, person=person),
        )
        event.hash = timeline_chain.hash_of_event(
            event, prev_hash=prev_hash, case=case, person=person, source=draft.source
        )
        event.save(force_insert=True)
        for follow_up in draft.follow_ups:
            # In the causing event's chain, through its (locked) case instance, unless the
            # follow-up names its own case (locked by the write).
            if follow_up.case is None:
                follow_up = dataclasses.replace(follow_up, case=case, person=draft.person)
            self.append(follow_up)
        return event


#: The sink every service uses unless given another.
ROWS = RowSink()


# --------------------------------------------------------------------------------------------
# In bulk
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


_DEFAULTS: dict[type, dict[str, Any]] = {}
_RELATIONS: dict[type, dict[str, str]] = {}


def build_row(model: type, **values: Any):
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


#: Models whose rows get their key before insertion: other rows point at them in memory.
_KEYED = frozenset(
    {
        Party,
        Source,
        Place,
        Person,
        Case,
        StatedIntention,
        Request,
        Movement,
        Handover,
        Visit,
        Interview,
    }
)
_UUID_MODELS: dict[type, bool] = {}
_PRESENT = StatedIntention.present_parties.through
_HANDOVER_PRESENT = Handover.present_parties.through

#: The order rows are inserted in at a flush (each table after those it points at).
_INSERT_ORDER = (
    Party,
    Source,
    Place,
    Person,
    PersonName,
    IdentityDocument,
    ExternalIdentifier,
    NationalityClaim,
    Case,
    Visit,
    Interview,
    StatedIntention,
    _PRESENT,
    Request,
    Position,
    Occurrence,
    RiskAssessment,
    Note,
    Movement,
    CaptureCard,
    Notification,
    Task,
    Handover,
    _HANDOVER_PRESENT,
    TimelineEvent,
)


class BulkSink(RowSink):
    """Keep rows and events in memory and insert them at ``flush``, a batch at a time.

    ``at`` is "now" for the next service call and ``rng`` draws the UUIDs, so the same
    calls give the same rows. The services' lock and validation steps are no-ops here: the
    rows exist only in memory until the flush, and nothing else can see them. A row stored
    by an earlier flush must not be changed through this sink.
    """

    def __init__(self, ids: IdAllocator):
        self.ids = ids
        self.rng: random.Random = random.Random(0)
        self.at: dt.datetime = timezone.now()
        self._intentions: dict[int, list[StatedIntention]] = defaultdict(list)
        self._requests: dict[int, list[Request]] = defaultdict(list)
        self._present: dict[int, list[Party]] = {}
        self._handover_present: dict[int, list[Party]] = {}
        self._names: dict[int, list[PersonName]] = {}
        self._latest_case: dict[int, Case] = {}
        self._movements: dict[int, list[Movement]] = defaultdict(list)
        self._cards: dict[int, list[CaptureCard]] = defaultdict(list)
        self._tasks: dict[int, list[Task]] = defaultdict(list)
        self._interviews: set[tuple[int, int]] = set()
        self._clear()

    def _clear(self) -> None:
        self.rows: dict[type, list] = {model: [] for model in _INSERT_ORDER}
        self.events: list[TimelineEvent] = []
        self._chain_refs: list[tuple] = []

    def now(self) -> dt.datetime:
        """Return the moment the caller set for this call."""
        return self.at

    def today(self) -> dt.date:
        """Return the day of ``at``."""
        return self.at.date()

    # -- rows ----------------------------------------------------------------------------

    def new(self, model: type, **values: Any):
        """Return an in-memory row with its key (when others point at it) and seeded UUID.

        Its record times (``auto_now`` and ``auto_now_add`` fields) are ``at``, the moment of
        the call, as the services would stamp them then; :func:`insert_rows` keeps them.
        """
        for name in _stamped_fields(model):
            values.setdefault(name, self.at)
        if model in _KEYED:
            values["id"] = self.ids.next(model)
        has_uuid = _UUID_MODELS.get(model)
        if has_uuid is None:
            has_uuid = _UUID_MODELS[model] = any(
                f.name == "uuid" for f in model._meta.concrete_fields
            )
        if has_uuid and "uuid" not in values:
            values["uuid"] = seeded_uuid(self.rng)
        return build_row(model, **values)

    def validate(self, row, *, exclude: Iterable[str] | None = None) -> None:
        """Do nothing: generated rows are held to the models' validation by the tests."""

    def insert(self, row) -> None:
        """Queue a new row for the next flush."""
        model = type(row)
        if model is PersonName:
            # Inserted at the flush from the person's final list: a later call may replace it.
            self._names.setdefault(row.person_id, []).append(row)
            return
        self.rows[model].append(row)
        if model is StatedIntention:
            self._intentions[row.case_id].append(row)
        elif model is Request:
            self._requests[row.case_id].append(row)
        elif model is Case:
            self._latest_case[row.person_id] = row
        elif model is Movement:
            self._movements[row.case_id].append(row)
        elif model is CaptureCard:
            self._cards[row.case_id].append(row)
        elif model is Task:
            self._tasks[row.case_id].append(row)
        elif model is Interview:
            self._interviews.add((row.visit_id, row.case_id))

    def save(self, row, *, fields: list[str] | None = None) -> None:
        """Stamp the row's ``auto_now`` fields as a save would; it is inserted at the flush."""
        for name in _stamped_fields(type(row), added=False):
            if fields is None or name in fields:
                row.__dict__[name] = self.at

    def update(self, row, fields: Iterable[str]) -> None:
        """Do nothing: a queued row is inserted with its final values."""

    def lock(self, row):
        """Return ``row``: nothing else can see it before the flush."""
        return row

    # -- what services ask, answered from memory -----------------------------------------

    def interview_exists(self, visit: Visit, case: Case) -> bool:
        """Return whether an interview of ``case`` during ``visit`` is queued in this sink.

        A visit written through this sink is seen only in it (see the class's docstring).
        """
        return (visit.pk, case.pk) in self._interviews

    def latest_case(self, person: Person) -> Case | None:
        """Return the person's latest case queued in this sink."""
        return self._latest_case.get(person.pk)

    def names_of(self, person: Person) -> list[PersonName]:
        """Return the person's queued name variants."""
        return self._names.setdefault(person.pk, [])

    def delete_names(self, person: Person) -> None:
        """Drop the person's queued name variants."""
        self._names[person.pk] = []

    def set_present_parties(self, intention: StatedIntention, parties: list[Party]) -> None:
        """Queue who was present when a statement was heard."""
        self._present[intention.pk] = parties
        self.rows[_PRESENT].extend(
            _PRESENT(statedintention_id=intention.pk, party_id=party.pk) for party in parties
        )

    def set_related(self, row, name: str, parties: list[Party]) -> None:
        """Queue who was present at a handover."""
        assert type(row) is Handover and name == "present_parties", (type(row), name)
        self._handover_present[row.pk] = parties
        self.rows[_HANDOVER_PRESENT].extend(
            _HANDOVER_PRESENT(handover_id=row.pk, party_id=party.pk) for party in parties
        )

    def movements_of(self, case: Case) -> list[Movement]:
        """Return the case's queued movements, in the order recorded."""
        return list(self._movements[case.pk])

    def capture_cards_of(self, case: Case) -> list[CaptureCard]:
        """Return the case's queued capture cards, in the order recorded."""
        return list(self._cards[case.pk])

    def rule_tasks_of(self, case: Case) -> list[Task]:
        """Return the queued tasks rules opened on the case."""
        return [t for t in self._tasks[case.pk] if t.kind != "manual"]

    def planned_exchange(self, case: Case):
        """Return None: the demo generator writes no exchanges, so none lists its cases."""
        return None

    def intentions_of(self, case: Case) -> list[StatedIntention]:
        """Return the case's queued statements, in the order they were made."""
        return self._intentions[case.pk]

    def current_intention(self, case: Case) -> StatedIntention | None:
        """Return the current intention by ``selectors.current_intention_for``'s rule."""
        active = [i for i in self._intentions[case.pk] if i.state == choices.IntentionState.ACTIVE]
        return max(active, key=intention_order_key, default=None)

    def has_earlier_verified(self, intention: StatedIntention) -> bool:
        """Return whether an earlier verified statement of the same wish is queued."""
        return any(
            other is not intention
            and other.verification in choices.VERIFIED_LEVELS
            and other.state in (choices.IntentionState.ACTIVE, choices.IntentionState.SUPERSEDED)
            and other.option == intention.option
            and other.__dict__["destination_country"] == intention.__dict__["destination_country"]
            and other.stated_on <= intention.stated_on
            for other in self._intentions[intention.case_id]
        )

    def gate(self, case: Case, move, *, on: dt.date) -> consent.Decision:
        """Return ``consent.check``'s answer from the rows held in memory."""
        current = self.current_intention(case)
        return consent.decide(
            case=case,
            move=move,
            on=on,
            current=current,
            present_parties=self._present.get(current.pk, []) if current else [],
            asylum_statuses={
                r.status for r in self._requests[case.pk] if r.kind == choices.RequestKind.ASYLUM
            },
            risks=[],
        )

    def require_consent(self, case: Case, move, *, on: dt.date | None):
        """Return the in-memory gate's pass for ``move`` or raise ``ConsentRefused``."""
        if move is None:
            return None
        decision = self.gate(case, move, on=on or self.today())
        if not decision.passed:
            raise consent.ConsentRefused(decision)
        # The rows are inserted later in this transaction; the pass lets them be.
        consent.grant(case, move)
        return decision

    # -- the event -----------------------------------------------------------------------

    def represent(self, draft: EventDraft) -> dict | None:
        """Return the draft's subject as the API will show it, from the rows held in memory.

        The serializer reads the in-memory row; the reverse relations it reads (a person's
        name variants, who was present at a statement) are given from what this sink holds,
        in the order the API lists them.
        """
        representer = representations.representer_for(draft.subject._meta.model_name)
        if not draft.represented or representer is None:
            return None
        row = draft.subject
        held = {}
        for relation in representer.prefetched:
            if relation == "names":
                held[relation] = list(self._names.get(row.pk, ()))
            elif relation == "present_parties":
                present = self._handover_present if type(row) is Handover else self._present
                held[relation] = sorted(present.get(row.pk, ()), key=_party_order)
            else:
                held[relation] = []
        row._prefetched_objects_cache = held
        return representer.represent(row)

    def append(self, draft: EventDraft) -> TimelineEvent:
        """Queue one event, numbered in its case; it is chained at the flush."""
        case, person, source = draft.case, draft.person, draft.source
        case_seq = None
        if case is not None:
            # No UPDATE of last_event_seq per event: the case row is inserted once, after
            # all its events, with the final value.
            case.last_event_seq += 1
            case_seq = case.last_event_seq
            if person is None:
                person = case.person
        # Events are the bulk of the rows: built straight from their attribute values, which
        # is what Model.__init__ would leave behind, at a fraction of its cost.
        event = object.__new__(TimelineEvent)
        event._state = ModelState()
        user = draft.actor.user
        event.__dict__.update(
            id=None,
            uuid=seeded_uuid(self.rng),
            case_id=case.pk if case is not None else None,
            person_id=person.pk if person is not None else None,
            xact_id=None,
            occurred_at=draft.occurred_at or self.at,
            recorded_at=None,
            actor_id=user.pk if user is not None else None,
            source_id=source.pk if source is not None else None,
            prev_hash="",
            hash_salt="",
            hash="",
            object=self.represent(draft),
            **_event_fields(draft, case=case, case_seq=case_seq, person=person),
        )
        # What the hash covers of the rows it points at; chained at flush.
        self._chain_refs.append(
            (
                case.uuid if case is not None else None,
                person.uuid if person is not None else None,
                source.uuid if source is not None else None,
            )
        )
        self.events.append(event)
        for follow_up in draft.follow_ups:
            # In the causing event's chain, through its (locked) case instance, unless the
            # follow-up names its own case (locked by the write).
            if follow_up.case is None:
                follow_up = dataclasses.replace(follow_up, case=case, person=draft.person)
            self.append(follow_up)
        return event

    def _chain_events(self, recorded_at: dt.datetime) -> None:
        """Stamp ``recorded_at`` on the queued events and chain them as ``RowSink`` would.

        Cases and persons queued in this flush start new chains; any other chain (the global
        one of parties and sources, or a case or person already stored) continues from its
        stored head, read under the chain's lock as ``RowSink`` reads it.
        """
        new = {("case", case.pk) for case in self.rows[Case]}
        new |= {("person", person.pk) for person in self.rows[Person]}
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
                chain_format=row["chain_format"],
                subject_version=row["subject_version"],
                object=row["object"],
            )

    def flush(self) -> int:
        """Insert everything queued since the last flush; return the number of events.

        Call inside a transaction: rows point at each other (a case at its current intention,
        an intention at its case), and the foreign keys are checked at commit.
        """
        self._chain_events(timezone.now())
        self.rows[PersonName] = [
            row for person in self.rows[Person] for row in self._names.pop(person.pk, ())
        ]
        self.rows[TimelineEvent] = self.events
        for model in _INSERT_ORDER:
            rows = self.rows[model]
            if rows:
                insert_rows(model, rows)
        count = len(self.events)
        for case in self.rows[Case]:
            for intention in self._intentions.pop(case.pk, ()):
                self._present.pop(intention.pk, None)
            self._requests.pop(case.pk, None)
            self._latest_case.pop(case.person_id, None)
        for handover in self.rows[Handover]:
            self._handover_present.pop(handover.pk, None)
        self._interviews.clear()
        self._clear()
        return count


_STAMPED: dict[tuple[type, bool], tuple[str, ...]] = {}


def _stamped_fields(model: type, *, added: bool = True) -> tuple[str, ...]:
    """Return the fields a save stamps with the time: ``auto_now`` ones, and with ``added``
    the ``auto_now_add`` ones too."""
    key = (model, added)
    names = _STAMPED.get(key)
    if names is None:
        names = _STAMPED[key] = tuple(
            f.attname
            for f in model._meta.concrete_fields
            if getattr(f, "auto_now", False) or (added and getattr(f, "auto_now_add", False))
        )
    return names


@contextlib.contextmanager
def _times_as_given(model: type, rows: list):
    """Let ``bulk_create`` keep the record times the rows hold instead of stamping its own.

    The fields' flags are switched off for the insert and back on after it: the bulk load is
    one command in one thread, and the rows' times were stamped by :class:`BulkSink`.
    """
    fields = [
        f
        for f in model._meta.concrete_fields
        if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False))
        and all(row.__dict__.get(f.attname) is not None for row in rows)
    ]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _party_order(party: Party) -> tuple:
    """Return the key of ``Party``'s default ordering (by name), ties by key."""
    return (party.name, party.pk)


def insert_rows(model: type, rows: list) -> None:
    """Insert ``rows`` of ``model``: COPY on PostgreSQL, ``bulk_create`` elsewhere.

    Django's ``bulk_create`` on PostgreSQL spends most of its time quoting arrays in Python;
    COPY sends the same values (the ones ``bulk_create`` would send: attribute values, the
    database form of country fields, JSON, and the record times the rows hold, the load
    time where they hold none) for a fraction of the cost. Both fire the timeline's insert trigger.
    """
    if connection.vendor != "postgresql":
        with _times_as_given(model, rows):
            model.objects.bulk_create(rows, batch_size=INSERT_BATCH)
        return
    from psycopg.types.json import Jsonb

    if model in (Case, Request):
        # COPY skips the ORM, so ask what bulk_create would have asked: every row stored in
        # a status that moved him across a border carries the consent gate's pass.
        consent.guard_rows(model, rows, using=connection.alias, new=True, how="COPY")
    with_pk = rows[0].pk is not None
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    loaded_at = timezone.now()
    getters = [_copy_value(f, loaded_at, Jsonb) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([get(row) for get in getters])


def _copy_value(field, loaded_at: dt.datetime, jsonb: type) -> Callable[[Any], Any]:
    """Return a function giving ``field``'s value of a row as COPY should receive it."""
    name = field.attname
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        # Stamped by BulkSink with the moment of the call; the load time otherwise.
        return lambda row: row.__dict__.get(name) or loaded_at
    if isinstance(field, models.JSONField):
        return lambda row: jsonb(row.__dict__[name])
    if isinstance(field, CountryField):
        return lambda row: field.get_prep_value(row.__dict__[name])
    return lambda row: row.__dict__[name]


__all__ = [
    "ROWS",
    "BulkSink",
    "EventDraft",
    "IdAllocator",
    "RowSink",
    "build_row",
    "insert_rows",
    "seeded_uuid",
]
