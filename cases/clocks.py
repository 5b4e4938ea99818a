"""Deadlines the Convention sets on a case, and which cases have missed one.

:data:`OVERDUE` maps a deadline's name to a function of "today" that returns a ``Q`` on
``Case`` selecting the cases that have missed it; ``CaseFilterSet``'s ``overdue`` filter, the
admin's change-list filter and the analysts' page count read it, so a new deadline is one new
entry here.

The capture card (GC III Art. 70): within one week of capture or of arrival at a camp (a
transit camp too), and again after each transfer to hospital or to another camp, the
prisoner is enabled to write a card to his family and to the Central Agency. The clock is
started by the case's newest movement (by date, then by the order recorded) whose kind is
in :data:`CLOCK_REASONS`, and is stopped by a card for that movement that was sent to the
Central Agency or that he declined to write (with the date). A movement known only to the
month (or year) starts the clock on the last day it can have been, so that "overdue" means
surely late. What is due is kept on the case
(``Case.capture_card_due_on``) by the services that record movements and cards, so that it
is filtered and counted in SQL; a closed case owes no card.

Notifications (GC III Art. 122-123): a notification still pending after its due day
(``cases.notifications``) makes its case overdue.

Tasks (``cases.tasks``): an open task past its due day, written by hand or opened by one of
the clocks above (docs/tasks.md), makes its case overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from cases.choices import DatePrecision
from cases.places.models import CaptureCard, Movement, MovementKind

#: How long the detaining power has to enable a card after the movement that starts the clock.
CAPTURE_CARD_WEEK = dt.timedelta(days=7)

#: Movements that start (or restart) the clock: a capture, an arrival at a camp after a
#: transfer, an admission to hospital and the return from it ("likewise in case of sickness
#: or transfer to hospital or to another camp"). ``other`` (a move within one site, say)
#: does not.
CLOCK_REASONS = frozenset(
    {
        MovementKind.CAPTURE,
        MovementKind.TRANSFER,
        MovementKind.HOSPITAL_ADMISSION,
        MovementKind.DISCHARGE,
    }
)


def today() -> dt.date:
    """Return the day deadlines are measured against (tests replace it with a fixed day)."""
    return timezone.localdate()


def latest_day(day: dt.date, precision: str) -> dt.date:
    """Return the last day a date known to ``precision`` can be: a movement "in January 2025"
    may have been on the 31st, so its card is surely late only a week after that."""
    if precision == DatePrecision.MONTH:
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return following - dt.timedelta(days=1)
    if precision == DatePrecision.YEAR:
        return day.replace(month=12, day=31)
    return day


def capture_card_due_on(case) -> dt.date | None:
    """Return the day the case's next capture card is due, or None when none is owed."""
    return capture_card_due_from(
        Movement.objects.filter(case=case, kind__in=CLOCK_REASONS),
        CaptureCard.objects.filter(case=case),
    )


def capture_card_due_from(movements, cards) -> dt.date | None:
    """Return the day the next capture card is due, given a case's movements and cards.

    The same rule as :func:`capture_card_due_on`, for a caller that holds the rows (the
    services read them through their sink, which may hold them in memory).
    """
    started = [m for m in movements if m.kind in CLOCK_REASONS]
    if not started:
        return None
    movement = max(started, key=lambda m: (m.moved_on, m.pk))
    if any(card.movement_id == movement.pk and card.discharges_duty for card in cards):
        return None
    return latest_day(movement.moved_on, movement.moved_on_precision) + CAPTURE_CARD_WEEK


def capture_card_overdue(case_or_row, on: dt.date | None = None) -> bool:
    """Return whether a case (or a case-list row) has missed its capture card's deadline."""
    if isinstance(case_or_row, dict):
        due_on, closed_at = case_or_row["capture_card_due_on"], case_or_row["closed_at"]
    else:
        due_on, closed_at = case_or_row.capture_card_due_on, case_or_row.closed_at
    return due_on is not None and closed_at is None and due_on < (on or today())


def capture_card_overdue_q(on: dt.date) -> Q:
    """Return the cases whose capture card was due before ``on`` and not yet sent."""
    return Q(capture_card_due_on__lt=on, closed_at__isnull=True)


def overdue_notifications(on: dt.date) -> Q:
    """Return the cases with a notification still pending after its due day (GC III Art. 122)."""
    from cases.notifications.models import Notification, NotificationState

    # EXISTS on the case's own rows, not ``pk IN (...)``: inside an aggregate's FILTER
    # (the analysts' overdue counts) PostgreSQL runs an IN subquery again for every case,
    # which took minutes at 100,000 cases; EXISTS is one index probe per case there and a
    # semi-join in a WHERE.
    late = Notification.objects.filter(
        case_id=OuterRef("pk"), state=NotificationState.PENDING, due_on__lt=on
    )
    return Q(Exists(late))


def overdue_tasks(on: dt.date) -> Q:
    """Return the cases with an open task past its due day (docs/tasks.md)."""
    from cases.tasks.models import Task, TaskState

    # EXISTS, as for notifications: the analysts' counts run it inside an aggregate's FILTER.
    late = Task.objects.filter(case_id=OuterRef("pk"), state=TaskState.OPEN, due_on__lt=on)
    return Q(Exists(late))


#: Name of a deadline -> a function of today returning a ``Q`` on ``Case`` selecting the cases
#: that have missed it.
OVERDUE: dict[str, Callable[[dt.date], Q]] = {
    "capture_card": capture_card_overdue_q,
    "notification": overdue_notifications,
    "task": overdue_tasks,
}
