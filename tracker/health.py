"""Health endpoint for load balancers and orchestrators."""

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


@never_cache
@require_safe
def health(request):
    """Return 200 when the database answers a query, 503 otherwise.

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
    return JsonResponse({"status": "ok", "database": "ok"})
