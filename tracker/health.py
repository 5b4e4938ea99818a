"""Health endpoint for load balancers and orchestrators."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from cases.feed import cursor


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
    return JsonResponse(
        {"status": "ok", "database": "ok", "feed_held_back_seconds": feed_held_back_seconds()}
    )


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
