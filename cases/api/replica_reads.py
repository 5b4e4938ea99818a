"""API reads served by the streaming replica, and each account's own writes read back.

With ``DATABASE_REPLICA_URL`` the API's reads of case data (lists and rows, their counts
and ETags) go to the replica (``tracker.db_routers.reads_from``), unless the account that
asks has written something the replica has not replayed yet: then the primary serves it,
so an account always reads its own writes.

The primary records, after each write request of an account (any method but GET, HEAD,
OPTIONS and TRACE, answered below 400, in the API, the admin or the pages), where its
write-ahead log stood once the request's transactions had committed
(:class:`WritePosition`, one row per account). A read compares that position with what the
replica has replayed (``pg_last_wal_replay_lsn()``), asked in the same query as the
replica's lag. So a read from the replica costs two small queries more, one on each server:
the account's position (by its key) and the replica's. Everything else a request reads
(the token, the account and its permissions, idempotency keys, rate-limit counters) stays
on the primary, where a revoked token stops working at once.

Other accounts' writes reach a reader as soon as the replica replays them: the
``Replica-Lag`` header of each answer the replica served says how far behind it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tracker.db_routers import replica_alias, replica_configured, replica_failed

#: Seconds the replica that served an answer was behind the primary; absent when the primary
#: served it. The change feed's pages and the API's reads carry it.
REPLICA_LAG_HEADER = "Replica-Lag"

#: Read methods: every other method may write, and its account's position is recorded.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class WritePosition(models.Model):
    """Where the primary's write-ahead log stood after an account's latest write request."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    wal_position = models.BigIntegerField(
        verbose_name=_("write-ahead log position"),
        help_text=_(
            "Bytes into the primary's write-ahead log after the account's latest write; a "
            "replica serves the account's reads once it has replayed that far."
        ),
    )
    recorded_at = models.DateTimeField(verbose_name=_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("write position")
        verbose_name_plural = _("write positions")

    def __str__(self) -> str:
        return f"{self.account_id}: {self.wal_position}"


# The position is raised, never lowered: two requests of one account may finish in any order.
_RECORD_SQL = """
    INSERT INTO cases_writeposition (account_id, wal_position, recorded_at)
    VALUES (%s, (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint, now())
    ON CONFLICT (account_id) DO UPDATE
    SET wal_position = greatest(cases_writeposition.wal_position, EXCLUDED.wal_position),
        recorded_at = EXCLUDED.recorded_at
"""

# What the replica has replayed, in bytes into the log (NULL on a primary), and its lag
# (cases.feed.cursor.REPLICA_LAG_SQL, added at the first read: the feed imports the models).
_REPLAYED_SQL = "SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint, ({lag})"


def record_write(request, status_code: int) -> None:
    """Record the primary's log position for the account of a write request that succeeded.

    Nothing without a replica, for reads, for answers of 400 and above, for anonymous
    callers, or inside a transaction (its writes are not committed yet).
    """
    if (
        not replica_configured()
        or request.method in READ_METHODS
        or status_code >= 400
        or connections[DEFAULT_DB_ALIAS].in_atomic_block
    ):
        return
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_RECORD_SQL, [user.pk])


@dataclass(frozen=True)
class ReplicaRead:
    """A read the replica serves: its alias and its lag in seconds."""

    alias: str
    lag: float | None


def replica_read_for(user) -> ReplicaRead | None:
    """Return the replica when it may serve ``user``'s reads now, else None (the primary).

    None without a replica, inside a transaction, after the replica failed lately, when it
    does not answer, when it is no standby, and while it has not replayed ``user``'s latest
    write.
    """
    from cases.feed.cursor import REPLICA_LAG_SQL

    alias = replica_alias()
    if alias is None or not getattr(user, "is_authenticated", False):
        return None
    position = (
        WritePosition.objects.using(DEFAULT_DB_ALIAS)
        .filter(account_id=user.pk)
        .values_list("wal_position", flat=True)
        .first()
    )
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(_REPLAYED_SQL.format(lag=REPLICA_LAG_SQL))
            replayed, lag = cursor.fetchone()
    except OperationalError:
        replica_failed()
        return None
    if replayed is None or (position is not None and replayed < position):
        return None
    return ReplicaRead(alias, lag)
