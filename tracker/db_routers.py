"""Which database a query goes to: the primary ("default") or its streaming replica ("replica").

Every write goes to the primary, and so does every read, but for two kinds:

* the change feed and a case's timeline (cases/feed/views.py) name the replica themselves
  (``.using(replica_alias())``, ``connections[replica_alias()]``): their watermark and bounds
  are read in the same snapshot as the rows they serve, so a replica's page is as exact as
  the primary's, only later, and a request the replica cannot serve yet goes to the primary;
* the API's reads of case data (cases/api/views.py), once the caller is authenticated and
  allowed: the view marks the rest of the request with :func:`reads_from`, and the router
  then sends reads of case data (``cases.security.access``: the models whose every write
  appends timeline events, and the events) there, unless the account has written something
  the replica has not replayed yet (``cases.api.replica_reads``).

Every other read stays on the primary: the answer to a write, a read inside a transaction,
the accounts, tokens and permissions (a revoked token must stop working at once),
idempotency keys, the rate-limit counters, the access log, webhook leases.

Without ``DATABASE_REPLICA_URL`` there is no "replica" alias and everything uses the primary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from time import monotonic

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

#: Seconds a process leaves the replica alone after it failed to answer, so that requests do
#: not each wait out its connection timeout while it is down (the primary serves them).
REPLICA_RETRY_SECONDS = 30.0

# When this process may try the replica again (on the monotonic clock).
_replica_retry_at = 0.0

#: Where reads of case data go for the rest of the request (None: the primary), set by
#: :func:`reads_from` or, for a view's whole dispatch, by the view (cases/api/views.py).
CASE_DATA_READS: ContextVar[str | None] = ContextVar("case_data_reads", default=None)


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


@contextmanager
def reads_from(alias: str | None) -> Iterator[None]:
    """Send reads of case data to ``alias`` (None: the primary) until the block ends."""
    token = CASE_DATA_READS.set(alias)
    try:
        yield
    finally:
        CASE_DATA_READS.reset(token)


def case_data_reads() -> str | None:
    """Return where reads of case data go now: the alias :func:`reads_from` set, or None."""
    return CASE_DATA_READS.get()


def _readable_on_replica(model) -> bool:
    from cases.security.access import CASE_DATA_MODELS, READ_ONLY_MODELS

    name = model._meta.model_name
    return model._meta.app_label == "cases" and (
        name in CASE_DATA_MODELS or name in READ_ONLY_MODELS
    )


class PrimaryReplicaRouter:
    """Send every write to the primary; read from the primary unless a query names the replica
    or the request reads case data from it (:func:`reads_from`).

    A row read from the replica is saved to the primary, as any other write (Django would
    otherwise save it where it was read from).
    """

    def db_for_read(self, model, **hints):
        """Return the primary, or where :func:`reads_from` sends reads of case data."""
        alias = CASE_DATA_READS.get()
        if (
            alias is not None
            and _readable_on_replica(model)
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return alias
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
