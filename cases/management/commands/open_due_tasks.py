"""Open the tasks whose clocks have started and close those whose clocks have stopped."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from cases import choices, clocks
from cases.models import Case
from cases.services.base import Actor
from cases.tasks import rules
from cases.tasks import services as task_services
from cases.tasks.models import Task, TaskState


def cases_to_check() -> list[int]:
    """Return the ids of the cases a rule may have something to do on: an open case with a
    capture card owed, a pending notification or a request in a waiting status, or any case
    with an open rule task."""
    from cases.notifications.models import NotificationState

    waiting = {*rules.AWAITING_ANSWER, choices.RequestStatus.SCHEDULED}
    condition = (
        Q(capture_card_due_on__isnull=False, closed_at__isnull=True)
        | Q(notifications__state=NotificationState.PENDING)
        | Q(requests__status__in=waiting)
    )
    ids = set(Case.objects.filter(condition).values_list("pk", flat=True))
    ids |= set(
        Task.objects.filter(state=TaskState.OPEN)
        .exclude(kind="manual")
        .values_list("case_id", flat=True)
    )
    return sorted(ids)


class Command(BaseCommand):
    """``manage.py open_due_tasks [--today YYYY-MM-DD]``: run every task rule on every case
    that may need it (docs/tasks.md). Safe to run from cron any number of times: a second
    run at once changes nothing."""

    help = (
        "Open the tasks whose clocks have started (consent going stale before a scheduled "
        "handover, and anything written before the rules) and close those whose clocks have "
        "stopped. One transaction and at most one task.rules_applied event per case."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--today", help="The day to measure against (ISO 8601; default: today)."
        )

    def handle(self, *args, **options):
        today = clocks.today()
        if options.get("today"):
            try:
                today = dt.date.fromisoformat(options["today"])
            except ValueError as exc:
                raise CommandError("--today takes a date such as 2025-03-01.") from exc
        actor = Actor(channel=choices.Channel.COMMAND, label="open_due_tasks")
        opened = closed = changed = 0
        for case in Case.objects.filter(pk__in=cases_to_check()).order_by("pk"):
            applied = task_services.tasks_reconcile(actor=actor, case=case, today=today)
            opened += len(applied.opened)
            closed += len(applied.closed)
            changed += bool(applied)
        self.stdout.write(f"{opened} task(s) opened, {closed} closed on {changed} case(s).")
