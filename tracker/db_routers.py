"""Which database a query goes to: the primary ("default") or its streaming replica ("replica").

Every write goes to the primary, and so does every read, unless the code that reads names
the replica itself (``.using(replica_alias())``, ``connections[replica_alias()]``). Only the
change feed and a case's timeline do (cases/feed/views.py): their watermark and bounds are
read in the same snapshot as the rows they serve, so a replica's page is as exact as the
primary's, only later, and a request the replica cannot serve yet goes to the primary.
Explicit, because most reads are not safe there: the answer to a write, a read inside a
transaction, the accounts, tokens and permissions (a revoked token must stop working at
once), idempotency keys, the rate-limit counters, the access log, webhook leases. A global
read router would send them to a server that has not seen the latest writes yet.

Without ``DATABASE_REPLICA_URL`` there is no "replica" alias and everything uses the primary.
"""

from __future__ import annotations

from time import monotonic

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

#: Seconds a process leaves the replica alone after it failed to answer, so that requests do
#: not each wait out its connection timeout while it is down (the primary serves them).
REPLICA_RETRY_SECONDS = 30.0

# When this process may try the replica again (on the monotonic clock).
_replica_retry_at = 0.0


def replica_configured() -> bool:
    """Return True when a replica is configured (``DATABASE_REPLICA_URL``)."""
    return REPLICA in settings.DATABASES


def replica_alias() -> str | None:
    """Return "replica" when a read may go to the replica now, else None.

    None without a replica; inside a transaction on the primary (the transaction may hold
    the caller's own writes, which the replica has not seen); and for
    :data:`REPLICA_RETRY_SECONDS` after :func:`replica_failed`.
    """
    if (
        replica_configured()
        and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        and monotonic() >= _replica_retry_at
    ):
        return REPLICA
    return None


def replica_failed() -> None:
    """Leave the replica alone for a while: it did not answer."""
    global _replica_retry_at
    _replica_retry_at = monotonic() + REPLICA_RETRY_SECONDS


class PrimaryReplicaRouter:
    """Send every write to the primary; read from the primary unless a query names the replica.

    A row read from the replica is saved to the primary, as any other write (Django would
    otherwise save it where it was read from).
    """

    def db_for_read(self, model, **hints):
        """Return the primary: the replica serves only the queries that name it."""
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        """Return the primary: a replica is read-only."""
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        """Allow any relation: the replica holds the primary's rows."""
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        """Migrate the primary only; the replica replays what the primary did."""
        return db == DEFAULT_DB_ALIAS
