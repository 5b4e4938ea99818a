"""Structured logs: one JSON object per line, and one line per HTTP request."""

import contextvars
import json
import logging
import time

from django.db import DatabaseError

#: The id of the request being served (tracker.middleware.RequestIdMiddleware), or None.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


class JsonFormatter(logging.Formatter):
    """Format a log record as one line of JSON, with the id of the request it belongs to."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            payload["request_id"] = request_id
        payload.update(getattr(record, "fields", {}))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


class NoSqlValues(logging.Filter):
    """Keep a logged SQL statement's timing and database, never its text or parameters.

    Django logs each statement at DEBUG (with debug on, or while a test captures queries)
    as its text with the parameters filled in: a name search would write the searched name
    and each spelling it was expanded to (리, Lee, Yi, ...) into the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        duration = getattr(record, "duration", None)
        alias = getattr(record, "alias", "")
        if hasattr(record, "sql") or hasattr(record, "params"):
            record.msg = "(%.3f) statement on %s (text and parameters not logged)"
            record.args = (duration or 0.0, alias or "?")
            record.sql = record.params = None
        return True


request_logger = logging.getLogger("tracker.request")


class RequestLogMiddleware:
    """Log each request once: method, path, status, duration, user id and request id.

    Never the query string: it can carry names being searched.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        try:
            user = getattr(request, "user", None)
            user_id = user.pk if user is not None and user.is_authenticated else None
        except DatabaseError:
            # The session could not be read (the database is down): still log the line.
            user_id = None
        request_id = getattr(request, "request_id", None)
        request_logger.info(
            "%s %s %s %s",
            request.method,
            request.path,
            response.status_code,
            request_id,
            extra={
                "fields": {
                    "method": request.method,
                    # The path only: query strings can carry names being searched.
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": user_id,
                    "request_id": request_id,
                }
            },
        )
        return response
