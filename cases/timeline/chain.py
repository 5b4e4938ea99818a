"""The timeline's hash chains: tamper evidence beyond the database's own rules.

Every event stores ``hash``, the SHA-256 (hex) of a canonical JSON document holding its
content and ``prev_hash``, the hash of its predecessor in the same chain. Editing, removing or
reordering an event (even as the database's owner, with the triggers disabled) breaks the
link to it or from it, and ``manage.py verify_timeline`` names the first broken link.

The chains:

* a case's events form one chain, in ``case_seq`` order; the case's row lock, which every
  service holds while it appends, makes the predecessor well defined;
* events with no case but a person (``person.created``, ``person.updated``, ...) form the
  person's chain, in insertion order;
* events with neither (parties, sources, the tombstones of purged cases) form one global
  chain, in insertion order.

Person and global chains are serialised by a transaction-level advisory lock on PostgreSQL
(SQLite has one writer at a time). A purge deletes a case's chain whole, and its person's
chain when the person goes too, so no other chain loses a link; the tombstone joins the
global chain.

The document also holds ``hash_salt``, 16 random bytes per event that no reader is shown:
without it the published hash of an event whose changes are withheld from a reader would let
him test guesses of the withheld value (a true name, a destination) offline.

The document's format is versioned (``"v"``) and each event stores the version its hash was
taken with (``chain_format``): version 1 holds the content above; version 2, written since
events became self-contained, adds the subject's version after the change and its
representation (``subject_version``, ``object``). An old event keeps verifying under its own
format, and stripping a new event's representation breaks its hash. Migrations import this
module, so keep every version's behaviour.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

#: The hash of "no predecessor": the first event of every chain stores this as prev_hash.
GENESIS = ""
#: The format new events are hashed with.
FORMAT_VERSION = 2

#: Advisory-lock namespaces (the first key of ``pg_advisory_xact_lock(int, int)``).
_LOCK_PERSON_CHAIN = 0x7472_0001
_LOCK_GLOBAL_CHAIN = 0x7472_0002

_encode = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
).encode


def new_salt() -> str:
    """Return a fresh ``hash_salt`` (32 hex digits)."""
    return secrets.token_hex(16)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _instant(value: dt.datetime | None) -> str | None:
    """Return a timestamp as the database keeps it: UTC, to the microsecond."""
    if value is None:
        return None
    if timezone.is_naive(value):
        # What Django does when saving a naive value under USE_TZ.
        value = timezone.make_aware(value, timezone.get_default_timezone())
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_document(
    *,
    prev_hash: str,
    salt: str,
    uuid: Any,
    case_uuid: Any,
    case_seq: int | None,
    person_uuid: Any,
    kind: str,
    occurred_at: dt.datetime,
    occurred_precision: str,
    actor_label: str,
    channel: str,
    summary: str,
    changes: Any,
    reason: str,
    source_uuid: Any,
    subject_type: str,
    subject_uuid: Any,
    recorded_at: dt.datetime,
    chain_format: int = 1,
    subject_version: int | None = None,
    object: Any = None,  # noqa: A002 - the stored column's name
) -> str:
    """Return the canonical JSON text that an event's hash is taken over.

    ``chain_format`` 1 leaves out ``subject_version`` and ``object``; 2 covers them.
    """
    document = {
        "v": chain_format,
        "prev": prev_hash,
        "salt": salt,
        "uuid": _text(uuid),
        "case": _text(case_uuid),
        "case_seq": case_seq,
        "person": _text(person_uuid),
        "kind": kind,
        "occurred_at": _instant(occurred_at),
        "occurred_precision": occurred_precision,
        "actor_label": actor_label,
        "channel": channel,
        "summary": summary,
        "changes": changes,
        "reason": reason,
        "source": _text(source_uuid),
        "subject_type": subject_type,
        "subject_uuid": _text(subject_uuid),
        "recorded_at": _instant(recorded_at),
    }
    if chain_format >= 2:
        document["subject_version"] = subject_version
        document["object"] = object
    return _encode(document)


def event_hash(**content: Any) -> str:
    """Return the SHA-256 (hex) of :func:`event_document` for ``content``."""
    return hashlib.sha256(event_document(**content).encode("utf-8")).hexdigest()


def hash_of_event(event, *, prev_hash: str, case=None, person=None, source=None) -> str:
    """Return the hash of an unsaved TimelineEvent, given its predecessor's hash.

    ``case``, ``person`` and ``source`` are the rows the event points at (their uuids are
    hashed, not the internal keys, so the hash survives a dump and restore).
    """
    return event_hash(
        prev_hash=prev_hash,
        salt=event.hash_salt,
        uuid=event.uuid,
        case_uuid=case.uuid if case is not None else None,
        case_seq=event.case_seq,
        person_uuid=person.uuid if person is not None else None,
        kind=event.kind,
        occurred_at=event.occurred_at,
        occurred_precision=event.occurred_precision,
        actor_label=event.actor_label,
        channel=event.channel,
        summary=event.summary,
        changes=event.changes,
        reason=event.reason,
        source_uuid=source.uuid if source is not None else None,
        subject_type=event.subject_type,
        subject_uuid=event.subject_uuid,
        recorded_at=event.recorded_at,
        chain_format=event.chain_format,
        subject_version=event.subject_version,
        object=event.object,
    )


# --------------------------------------------------------------------------------------------
# Finding a new event's predecessor
# --------------------------------------------------------------------------------------------


def lock_chain(connection, *, person_id: int | None) -> None:
    """Serialise writers of a person's chain (or the global one, ``person_id`` None).

    A case's chain needs no lock of its own: the writer holds the case's row lock.
    """
    if connection.vendor != "postgresql":
        return  # SQLite: one writer at a time.
    if person_id is None:
        key = (_LOCK_GLOBAL_CHAIN, 0)
    else:
        key = (_LOCK_PERSON_CHAIN, person_id % 2_147_483_647)  # a collision only waits
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)


def chain_head(events, *, case_id: int | None, case_seq: int | None, person_id: int | None) -> str:
    """Return the hash the next event of a chain links to (``GENESIS`` for a new chain).

    ``events`` is the TimelineEvent manager (or a historical model's). For a case, the
    predecessor of ``case_seq`` is ``case_seq - 1``; a missing predecessor links to
    ``GENESIS``, and ``verify_timeline`` reports the gap.
    """
    if case_id is not None:
        if not case_seq or case_seq <= 1:
            return GENESIS
        rows = events.filter(case_id=case_id, case_seq=case_seq - 1)
    elif person_id is not None:
        rows = events.filter(case__isnull=True, person_id=person_id).order_by("-id")
    else:
        rows = events.filter(case__isnull=True, person__isnull=True).order_by("-id")
    head = rows.values_list("hash", flat=True).first()
    return head or GENESIS


# --------------------------------------------------------------------------------------------
# Checking every chain
# --------------------------------------------------------------------------------------------

#: The columns :func:`verify` reads, joined rows included.
VERIFY_FIELDS = (
    "id",
    "uuid",
    "case_id",
    "case__uuid",
    "case__reference",
    "case_seq",
    "person_id",
    "person__uuid",
    "kind",
    "occurred_at",
    "occurred_precision",
    "actor_label",
    "channel",
    "summary",
    "changes",
    "reason",
    "source__uuid",
    "subject_type",
    "subject_uuid",
    "recorded_at",
    "prev_hash",
    "hash_salt",
    "hash",
)
#: What a version 2 document covers besides; read when the table has these columns (a
#: migration written before them reads the version 1 columns only).
FORMAT_2_FIELDS = ("chain_format", "subject_version", "object")


def chain_key(row: Mapping[str, Any]) -> tuple:
    """Return the chain a row belongs to: ("case", id), ("person", id) or ("global",)."""
    if row["case_id"] is not None:
        return ("case", row["case_id"])
    if row["person_id"] is not None:
        return ("person", row["person_id"])
    return ("global",)


def row_hash(row: Mapping[str, Any], *, prev_hash: str) -> str:
    """Return the hash a stored row (read with ``VERIFY_FIELDS``) should have."""
    return event_hash(
        prev_hash=prev_hash,
        salt=row["hash_salt"],
        uuid=row["uuid"],
        case_uuid=row["case__uuid"],
        case_seq=row["case_seq"],
        person_uuid=row["person__uuid"],
        kind=row["kind"],
        occurred_at=row["occurred_at"],
        occurred_precision=row["occurred_precision"],
        actor_label=row["actor_label"],
        channel=row["channel"],
        summary=row["summary"],
        changes=row["changes"],
        reason=row["reason"],
        source_uuid=row["source__uuid"],
        subject_type=row["subject_type"],
        subject_uuid=row["subject_uuid"],
        recorded_at=row["recorded_at"],
        chain_format=row.get("chain_format", 1),
        subject_version=row.get("subject_version"),
        object=row.get("object"),
    )


@dataclass(frozen=True)
class BrokenLink:
    """The first event of a chain that does not verify, and why."""

    chain: tuple
    case_reference: str | None
    case_seq: int | None
    event_uuid: str
    event_id: int
    problem: str

    def describe(self) -> str:
        """Return one line naming the chain and the event."""
        if self.chain[0] == "case":
            where = f"case {self.case_reference} case_seq {self.case_seq}"
        elif self.chain[0] == "person":
            where = f"person chain {self.chain[1]}"
        else:
            where = "global chain"
        return f"{where}, event {self.event_uuid}: {self.problem}"


def ordered_rows(events) -> Iterator[Mapping[str, Any]]:
    """Yield every event, chain by chain, each chain in its order.

    Cases in ``case_seq`` order first, then the case-less chains in insertion order. Read
    with an iterator so memory stays flat on a large timeline.
    """
    with_case = events.filter(case__isnull=False).order_by("case_id", "case_seq")
    without = events.filter(case__isnull=True).order_by("person_id", "id")
    columns = {field.name for field in events.model._meta.get_fields()}
    fields = VERIFY_FIELDS + tuple(name for name in FORMAT_2_FIELDS if name in columns)
    for queryset in (with_case, without):
        yield from queryset.values(*fields).iterator(chunk_size=5000)


def verify(rows: Iterable[Mapping[str, Any]]) -> tuple[int, int, list[BrokenLink]]:
    """Check chains read by :func:`ordered_rows`; return (events, chains, first break of each).

    An event breaks its chain when its stored ``hash`` is not the hash of its content (it
    was edited), when its ``prev_hash`` is not the stored hash of the event before it (one
    was removed, inserted or reordered), or when a case's ``case_seq`` skips a number.
    """
    broken: dict[tuple, BrokenLink] = {}
    chain = None
    expected_prev = GENESIS
    expected_seq = 1
    events = chains = 0
    for row in rows:
        events += 1
        key = chain_key(row)
        if key != chain:
            chain, expected_prev, expected_seq = key, GENESIS, 1
            chains += 1
        if key in broken:
            continue
        problem = None
        if key[0] == "case" and row["case_seq"] != expected_seq:
            problem = f"case_seq {expected_seq} is missing"
        elif row["prev_hash"] != expected_prev:
            problem = "prev_hash does not match the hash of the event before it"
        elif row["hash"] != row_hash(row, prev_hash=row["prev_hash"]):
            problem = "hash does not match the event's content"
        if problem:
            broken[key] = BrokenLink(
                chain=key,
                case_reference=row["case__reference"],
                case_seq=row["case_seq"],
                event_uuid=str(row["uuid"]),
                event_id=row["id"],
                problem=problem,
            )
            continue
        expected_prev = row["hash"]
        expected_seq = (row["case_seq"] or 0) + 1
    return events, chains, list(broken.values())
