"""A list's validator, decided before its page is read: ``ETag`` and the early ``304``.

A list of case data changes only when case data does, and every write to case data appends
timeline events in its own transaction. So a list's page is fixed by:

* the **state of the case data** the request sees: on PostgreSQL the count cache's state
  (``cases.api.selectors._DATA_STATE``: which event-writing transactions the statement
  sees) and the newest event id (an open transaction's own writes share one transaction
  id; each appends an event with a higher id); on SQLite, where writers take turns and
  event ids are never reused, the newest event id alone;
* the **reader's access**: active or not, superuser or not, every permission he holds
  (``cases.view_sensitive`` decides what is redacted; a change of groups changes the set);
* the **request**: scheme, host and path (the page's links hold them), the query string
  normalised (parameters sorted by name, repeated values kept in their order, as the
  page's links write them), the media type of the renderer, the active language;
* the **representation**: :data:`REPRESENTATION_VERSION`, raised with any change of what a
  list shows, and the day deadlines are measured against (``capture_card_overdue`` and
  ``overdue=`` change at midnight without a write).

The tag is a hash of all that. With ``If-None-Match`` the state is read in one small query
after authentication and the permission checks and before any list query, and a match is a
``304``. Without it, the case list reads the state in its page's own statement (each row
carries it), so its ``200`` costs no query more; other lists read it first.

The tag is **weak** (``W/"..."``): two answers with the same tag hold the same rows,
values and count, but nothing promises the same bytes (rows that tie on the list's
ordering may come back in another order after the planner's statistics change; a user's
renamed username, shown as a case's officer, writes no event), and a weak tag is all
``If-None-Match`` needs.

Lists whose rows are not case data (webhook subscriptions) write no events; they keep the
tag of their rendered body (``PageNumberPages.conditional``).
"""

from __future__ import annotations

import hashlib
import json

from django.db import connections, router
from django.utils import translation

from cases import clocks
from cases.api.selectors import LIST_STATE
from cases.models import TimelineEvent
from cases.security.access import CASE_DATA_MODELS

#: Raise with any change of what a list shows (a field, a format, the page's envelope), so
#: that no tag given out before the change answers 304 after it.
REPRESENTATION_VERSION = 1


def is_case_data(model) -> bool:
    """Return whether rows of ``model`` are case data, whose every write appends events."""
    return model._meta.app_label == "cases" and model._meta.model_name in CASE_DATA_MODELS


def data_state() -> str:
    """Return the state of the case data the next statement sees, as a short text."""
    connection = connections[router.db_for_read(TimelineEvent)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {LIST_STATE[connection.vendor]}")
        (state,) = cursor.fetchone()
    return str(state)


def reader_access(user) -> list:
    """Return what decides what ``user`` is shown: active, superuser, his permissions.

    The permissions are those the permission checks already loaded (and, for a token, the
    credentials cache keeps), so this reads nothing more.
    """
    if not getattr(user, "is_authenticated", False):
        return ["anonymous"]
    if not user.is_active:
        return ["inactive"]
    if user.is_superuser:
        return ["superuser"]
    return ["user", sorted(user.get_all_permissions())]


def normalised_query(request) -> list[list]:
    """Return the query string as the page's links write it: by name, values in order."""
    return [[name, values] for name, values in sorted(request.query_params.lists())]


def list_etag(request, state: str) -> str:
    """Return the weak ETag of the list ``request`` asks for while the data is at ``state``."""
    renderer = getattr(request, "accepted_renderer", None)
    material = json.dumps(
        [
            REPRESENTATION_VERSION,
            state,
            clocks.today().isoformat(),
            reader_access(request.user),
            request.build_absolute_uri(request.path),
            normalised_query(request),
            getattr(renderer, "media_type", ""),
            translation.get_language() or "",
        ],
        separators=(",", ":"),
        default=str,
    )
    return 'W/"' + hashlib.sha256(material.encode()).hexdigest()[:40] + '"'
