"""The change feed: feed order, the visibility watermark and the opaque cursor.

A client that keeps passing back the cursor it was given sees every committed timeline event
exactly once, even when writers commit out of order. An event id alone cannot promise that:
a transaction that took id 100 and commits after the one that took id 101 would be skipped by
a client that has already read 101.

On PostgreSQL each event carries the id of the transaction that wrote it (``xact_id``, set
by a trigger). The feed serves only events whose transaction is older than the oldest
transaction still running anywhere in the cluster (``pg_snapshot_xmin``): every such
transaction has finished, so the set of visible events below that watermark can no longer
change. Feed order is ``(xact_id, id)`` on the numeric columns, and the cursor is the pair of
the last event served. On SQLite writers take turns, so the event id alone is safe.

The cursor also names the database it belongs to. A cursor from another database, or one
whose position lies beyond anything this database has handed out (transaction ids restarted
after a dump and restore), raises :class:`CursorGone`: the client must sync from the start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import connection as default_connection
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan

from cases.models import TimelineEvent

#: Version of the cursor's encoding; a change of layout gets a new number.
CURSOR_VERSION = 1
#: Longest cursor accepted; real ones are about 100 characters.
MAX_CURSOR_LENGTH = 512

DEFAULT_LIMIT = 100
#: Largest page. A client syncing from the start takes pages this large: each request
#: carries a fixed cost (authentication, permissions, the state query) and counts once
#: against the read rate (600 a minute by default, which caps pages of 1,000 at 10,000
#: events a second).
MAX_LIMIT = 10_000

POSTGRESQL = "pg"
SQLITE = "sqlite"

#: The visibility watermark on PostgreSQL: every transaction below it has finished.
#: Module-level so that tests running inside one never-committed transaction can widen it.
POSTGRES_WATERMARK_SQL = "pg_snapshot_xmin(pg_current_snapshot())"

# One statement, one snapshot: the cluster's identity, the watermark, the horizon and the
# position of the newest visible event (a backward scan of the feed-order index), the
# replica's lag (``REPLICA_LAG_SQL``), and the open transaction holding the watermark, if any
# (``_HELD_BACK_SQL``). The horizon is one past the newest finished transaction (never below
# the watermark): a served event's transaction is always below it, so a cursor at or above it
# comes from this cluster's future.
#
# On a hot standby the same statement holds: its snapshot is the primary's as of the WAL
# replayed so far (the transactions the standby knows to be running, every id the primary
# assigned included), so the watermark bounds exactly the rows the standby shows, and the
# standby has the primary's ``system_identifier`` and database oid. A standby's page is the
# primary's page of a moment ago.
_POSTGRES_STATE_SQL = """
    WITH snap AS (
        SELECT ({watermark})::text::bigint AS watermark,
               pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax
    )
    SELECT (SELECT system_identifier FROM pg_control_system())::text
               || ':' || (SELECT oid FROM pg_database WHERE datname = current_database())::text,
           snap.watermark,
           greatest(snap.watermark, snap.xmax),
           head.xact_id,
           head.id,
           ({replica_lag}),
           held.*
    FROM snap
    LEFT JOIN LATERAL (
        SELECT e.xact_id, e.id
        FROM cases_timelineevent e
        WHERE e.xact_id < snap.watermark
        ORDER BY e.xact_id DESC, e.id DESC
        LIMIT 1
    ) head ON true
    LEFT JOIN LATERAL ({held_back}) held ON true
"""

# SQLite: the database is named by the uuid of its first timeline event, written once and
# kept for ever (events are append-only, a trigger refuses deletes); the largest event id
# is both the head of the feed and the furthest position this database has handed out.
_SQLITE_STATE_SQL = """
    SELECT (SELECT uuid FROM cases_timelineevent ORDER BY id LIMIT 1),
           (SELECT max(id) FROM cases_timelineevent)
"""


# --------------------------------------------------------------------------------------------
# The lag signal
# --------------------------------------------------------------------------------------------

# How far a hot standby's data may be behind its primary, in seconds; NULL on a primary. 0
# when it has replayed all the WAL it received (an idle primary sends none, so the age of the
# last replayed commit would grow without any lag); else the age of the last commit it
# replayed. A bound: every commit older than that is replayed, and a long transaction on the
# primary, which sends WAL but no commit, stretches it.
REPLICA_LAG_SQL = """
    SELECT CASE WHEN pg_is_in_recovery() THEN
        CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
             THEN 0::float8
             ELSE greatest(0, extract(epoch FROM
                      clock_timestamp() - pg_last_xact_replay_timestamp()))::float8
        END
    END
"""

# Whether the server is a standby, its lag, and the WAL it received but has not replayed
# yet, in bytes (NULL on a primary).
REPLICA_STATUS_SQL = f"""
    SELECT pg_is_in_recovery(),
           ({REPLICA_LAG_SQL}),
           CASE WHEN pg_is_in_recovery() THEN
               pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
           END
"""

# The transaction that holds the watermark: the one with the oldest transaction id still
# running anywhere in the cluster (any database), a prepared transaction included. Only a
# transaction that has an id holds it: one that has only read (``backend_xmin`` without
# ``backend_xid``, a replica's ``hot_standby_feedback``) holds back VACUUM, not the feed.
# ``xact_start`` of another role's session is visible only to members of
# ``pg_read_all_stats``; without it the holder is known but not since when.
_HELD_BACK_SQL = """
    SELECT holder.xid::text AS xid, holder.since,
           extract(epoch FROM clock_timestamp() - holder.since)::float8 AS seconds
    FROM (
        SELECT backend_xid AS xid, xact_start AS since FROM pg_stat_activity
        WHERE backend_xid IS NOT NULL
        UNION ALL
        SELECT transaction, prepared FROM pg_prepared_xacts
    ) holder
    ORDER BY age(holder.xid) DESC
    LIMIT 1
"""


@dataclass(frozen=True)
class HeldBack:
    """The open transaction that holds the feed's watermark, and since when."""

    #: Its transaction id (32-bit, as ``pg_stat_activity`` shows it).
    xid: str
    #: When it started; None when the database role may not see other roles' sessions.
    since: datetime | None
    seconds: float | None

    def as_dict(self) -> dict:
        """Return the signal as a feed page shows it: since when, not for how long.

        A page's strong ETag must name one body; an age would change the body with every
        request while the ETag stays. The answer's ``Date`` minus ``since`` is the age.
        """
        return {"since": self.since.isoformat() if self.since else None}


class CursorError(ValueError):
    """The cursor cannot be read; the client sent something that is not a feed cursor."""


class CursorGone(Exception):
    """The cursor belongs to another database or to positions this one never handed out."""


@dataclass(frozen=True, order=True)
class Position:
    """A place in feed order: the writing transaction's id (0 on SQLite) and the event id."""

    xact_id: int
    event_id: int

    @property
    def is_start(self) -> bool:
        """Return True for the position before every event."""
        return self.event_id == 0 and self.xact_id == 0


START = Position(0, 0)


@dataclass(frozen=True)
class FeedState:
    """What the database says right now about the feed, read in a single query."""

    backend: str
    #: Identifier of the database positions belong to (see the module docstring).
    database: str
    #: PostgreSQL: events whose transaction id is below this are final. None on SQLite.
    watermark: int | None
    #: PostgreSQL: cursors' transaction ids must be below this. SQLite: the largest event id.
    horizon: int
    #: Position of the newest event the feed may serve; START when there is none.
    head: Position
    #: PostgreSQL: the open transaction holding the watermark (:func:`held_back`), if any.
    held_back: HeldBack | None = None
    #: Read from a hot standby: how many seconds its data is behind the primary (0 when it
    #: has replayed everything it received). None when read from a primary or SQLite.
    replica_lag: float | None = None


def read_state(connection=None) -> FeedState:
    """Return the feed's state: database identity, watermark and head, in one query."""
    connection = connection or default_connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                _POSTGRES_STATE_SQL.format(
                    watermark=POSTGRES_WATERMARK_SQL,
                    held_back=_HELD_BACK_SQL,
                    replica_lag=REPLICA_LAG_SQL,
                )
            )
            database, watermark, horizon, head_xact, head_id, lag, *holder = cursor.fetchone()
            head = START if head_id is None else Position(int(head_xact), int(head_id))
            held = None if holder[0] is None else HeldBack(*holder)
            if lag is not None and held is None and int(watermark) < int(horizon):
                # A standby sees none of the primary's sessions, only that a transaction the
                # primary started is still running below the newest finished one: it holds
                # the watermark, since a time the standby cannot know.
                held = HeldBack(str(watermark), None, None)
            return FeedState(POSTGRESQL, database, int(watermark), int(horizon), head, held, lag)
        if connection.vendor == "sqlite":
            cursor.execute(_SQLITE_STATE_SQL)
            first_uuid, max_id = cursor.fetchone()
            head = START if max_id is None else Position(0, int(max_id))
            database = _sqlite_identifier(first_uuid)
            return FeedState(SQLITE, database, None, head.event_id, head)
    raise ImproperlyConfigured(f"The change feed does not support {connection.vendor}.")


def _sqlite_identifier(first_uuid) -> str:
    """Return the SQLite database's identifier: its first event's uuid as 32 hex digits."""
    if first_uuid is None:
        return ""
    # Django stores UUIDs on SQLite as 32 hex digits without dashes.
    return str(first_uuid).replace("-", "").lower()


def encode_cursor(state: FeedState, position: Position) -> str:
    """Return the opaque cursor for ``position`` in ``state``'s database."""
    payload = {
        "v": CURSOR_VERSION,
        "b": state.backend,
        "db": state.database,
        "x": position.xact_id,
        "i": position.event_id,
    }
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_MALFORMED = (
    "The 'after' cursor is not one this feed issued. Pass back 'next_cursor' from the "
    "previous response exactly as received, or leave 'after' out to start from the beginning."
)

_GONE = (
    "The 'after' cursor belongs to {what}. Positions do not carry over between databases: "
    "sync again from the start (leave 'after' out) and skip events whose uuid is already known."
)


def decode_cursor(token: str, state: FeedState) -> Position:
    """Return the position ``token`` names, checked against ``state``.

    Raise :class:`CursorError` for anything that is not a cursor of this format, and
    :class:`CursorGone` for a cursor from another database or from this database's future.
    """
    if not token or len(token) > MAX_CURSOR_LENGTH:
        raise CursorError(_MALFORMED)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError(_MALFORMED) from None
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
        raise CursorError(_MALFORMED)
    backend, database = payload.get("b"), payload.get("db")
    xact_id, event_id = payload.get("x"), payload.get("i")
    if (
        # A forged cursor can hold any JSON here, lists and objects included.
        not isinstance(backend, str)
        or backend not in {POSTGRESQL, SQLITE}
        or not isinstance(database, str)
        or not _is_count(xact_id)
        or not _is_count(event_id)
        or (backend == SQLITE and xact_id != 0)
    ):
        raise CursorError(_MALFORMED)
    position = Position(xact_id, event_id)
    if position.is_start:
        # The start is the same place in every database.
        return START
    if backend != state.backend or database != state.database:
        raise CursorGone(_GONE.format(what="another database (a restore or a different server)"))
    if state.backend == POSTGRESQL and position.xact_id >= state.horizon:
        raise CursorGone(
            _GONE.format(what="transaction ids this database has not reached (ids restarted)")
        )
    if state.backend == SQLITE and position.event_id > state.horizon:
        raise CursorGone(_GONE.format(what="events this database does not hold (a restore)"))
    return position


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def position_of(event: TimelineEvent | dict, state: FeedState) -> Position:
    """Return the place in feed order of ``event``, an instance or a row of ``values()``.

    A row must hold ``id`` and ``xact_id``.
    """
    if isinstance(event, dict):
        xact_id, event_id = event["xact_id"], event["id"]
    else:
        xact_id, event_id = event.xact_id, event.pk
    if state.backend == POSTGRESQL:
        return Position(xact_id, event_id)
    return Position(0, event_id)


def visible_after(queryset: QuerySet, state: FeedState, after: Position) -> QuerySet:
    """Return ``queryset`` limited to visible events after ``after``, in feed order."""
    if state.backend == POSTGRESQL:
        queryset = queryset.filter(xact_id__lt=state.watermark)
        if not after.is_start:
            # A row comparison on the numeric columns: it matches the (xact_id, id) index
            # and never sorts "1000" before "999" as a text cast would.
            queryset = queryset.filter(
                TupleGreaterThan(Tuple(F("xact_id"), F("id")), (after.xact_id, after.event_id))
            )
        return queryset.order_by("xact_id", "id")
    # Bounded by the head read with the state: an event committed since then waits for the
    # next request, so the page and its next cursor describe the same stretch of the feed.
    queryset = queryset.filter(id__lte=state.head.event_id)
    if not after.is_start:
        queryset = queryset.filter(id__gt=after.event_id)
    return queryset.order_by("id")


@dataclass(frozen=True)
class FeedPage:
    """One page of the feed and where the next one starts."""

    #: Instances, or dictionaries when ``queryset`` was a ``values()`` queryset.
    events: list[TimelineEvent] | list[dict]
    next_position: Position
    has_more: bool


def feed_page(
    queryset: QuerySet,
    *,
    state: FeedState,
    after: Position,
    limit: int,
    rows: Callable[[QuerySet], QuerySet] | None = None,
) -> FeedPage:
    """Return up to ``limit`` visible events of ``queryset`` after ``after``.

    ``queryset`` may be filtered, and may be a ``values()`` queryset that includes ``id``
    and ``xact_id``; ``rows``, if given, turns it into one (it is not called when the page
    is empty for certain). When the page is the last one, the next position is the
    feed's head even if the last events were filtered out, so the cursor still advances over
    the whole feed order and a filtered client does not read the same stretch again.
    """
    if after >= state.head:
        # Nothing is visible beyond the head: an empty poll needs no page query.
        events = []
    else:
        queryset = queryset if rows is None else rows(queryset)
        events = list(visible_after(queryset, state, after)[: limit + 1])
    has_more = len(events) > limit
    events = events[:limit]
    next_position = position_of(events[-1], state) if has_more else max(after, state.head)
    return FeedPage(events, next_position, has_more)


def page_etag(
    *, scope: str, head: Iterable[int], params: Iterable[tuple[str, str]], media_type: str
) -> str:
    """Return the strong ETag of a page of events.

    Below the watermark the set of events cannot change, so a page is fixed by what it is
    of (``scope``: a database, a case), the request (cursor, filters, limit, format) and the
    newest position it may reach (``head``): the tag changes exactly when something new
    becomes visible.
    """
    material = json.dumps([scope, list(head), sorted(params), media_type], separators=(",", ":"))
    return '"' + hashlib.sha256(material.encode()).hexdigest()[:32] + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Return True when an ``If-None-Match`` header names ``etag`` (or is ``*``)."""
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


def held_back(connection=None) -> HeldBack | None:
    """Return the transaction that may be holding events back from the feed, or None.

    On PostgreSQL an event is served once every transaction older than its own has ended,
    so while any transaction with an id is open in the cluster, events committed after it
    began may be pending. None when none is open, and always on SQLite (one writer at a
    time: a committed event is visible at once).
    """
    connection = connection or default_connection
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(_HELD_BACK_SQL)
        row = cursor.fetchone()
    if row is None:
        return None
    xid, since, seconds = row
    return HeldBack(xid, since, seconds)
