"""Health endpoint for load balancers and orchestrators."""

from django.db import connection, connections
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from cases.feed import cursor
from cases.feed.cursor import REPLICA_STATUS_SQL
from tracker.db_routers import REPLICA, replica_configured


@never_cache
@require_safe
def health(request):
    """Return 200 when the database answers a query, 503 otherwise.

    The answer also says how long the change feed has been held back
    (``feed_held_back_seconds``), without failing the check.

    GET and HEAD both work: some load balancers check with HEAD. A failed query marks the
    connection as broken, so Django closes it at the end of the request and the next check
    connects afresh (a restarted database is healthy again at the next check).
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse(
            {"status": "unavailable", "database": f"error: {exc.__class__.__name__}"},
            status=503,
        )
    body = {"status": "ok", "database": "ok", "feed_held_back_seconds": feed_held_back_seconds()}
    if replica_configured():
        body["replica"] = replica_status()
    return JsonResponse(body)


def replica_status() -> dict:
    """Return how far the read replica is behind the primary, or why it cannot say.

    ``lag_seconds`` as the feed's ``Replica-Lag`` header gives it, and ``lag_bytes``, the WAL
    received but not yet replayed. A replica that does not answer leaves the node healthy:
    the feed then reads from the primary (docs/deploy.md, "Larger deployments").
    """
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(REPLICA_STATUS_SQL)
            in_recovery, seconds, lag_bytes = cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure: report it, stay healthy
        return {"status": f"error: {exc.__class__.__name__}"}
    if not in_recovery:
        # DATABASE_REPLICA_URL names a primary: a promoted standby, or a mistake.
        return {"status": "error: not a standby"}
    lag_seconds = None if seconds is None else round(seconds, 3)
    return {"status": "ok", "lag_seconds": lag_seconds, "lag_bytes": lag_bytes}


def feed_held_back_seconds() -> float | None:
    """Return how long the change feed's watermark has been held by an open transaction.

    0 when nothing holds it (and always on SQLite); None when a transaction holds it but the
    database role may not see since when, or the question cannot be asked. A held-back feed
    is a warning for operators (docs/feed.md, Lag), not a reason to take the node out of
    service, so it never fails the check.
    """
    try:
        held = cursor.held_back()
    except Exception:  # noqa: BLE001 - the lag is informative; health is the database's
        return None
    if held is None:
        return 0.0
    return None if held.seconds is None else round(held.seconds, 3)
