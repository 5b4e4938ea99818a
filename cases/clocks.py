"""Clocks on a case: what is owed by a date, and which cases are late with it.

``OVERDUE`` maps the name of each kind of owed item to a function of "today" that returns a
condition on ``Case`` selecting the cases with such an item overdue. The case list's
``overdue`` filter (``?overdue=notification``) offers its keys, and the analysts' page counts
each; a new clock is one entry here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import Q


def overdue_notifications(today: dt.date) -> Q:
    """Return the cases with a notification still pending after its due day (GC III Art. 122)."""
    from cases.notifications.models import Notification, NotificationState

    late = Notification.objects.filter(state=NotificationState.PENDING, due_on__lt=today)
    return Q(pk__in=late.values("case_id"))


#: Name -> function of today -> condition on Case selecting cases with that item overdue.
OVERDUE: dict[str, Callable[[dt.date], Q]] = {
    "notification": overdue_notifications,
}
