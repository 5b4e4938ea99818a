"""Every write of tasks; each appends its one timeline event (docs/tasks.md).

``task_open`` writes a task by hand (``task.opened``); ``task_update`` changes its title,
details, assignee or due day (``task.updated``); ``task_done`` and ``task_cancel`` close it
(``task.done``, ``task.cancelled``). Tasks the rules open and close (``cases.tasks.rules``)
are listed in the event of the write that started or stopped their clock, and each has its
own ``task.opened`` / ``task.done`` / ``task.cancelled`` event right after it, in the same
transaction; ``tasks_reconcile`` runs every rule for one case and appends
``task.rules_applied`` (then those events) when something changed (the command
``open_due_tasks``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from cases.models import Case, Source
from cases.services.base import (
    Actor,
    check_version,
    created_changes,
    plain,
    refuse_unknown,
    save_new_version,
    versioned_change,
    writes,
)
from cases.tasks import rules
from cases.tasks.models import TASK_FIELDS, Task, TaskKind, TaskState
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind


def _check_assignee(assignee) -> None:
    if assignee is not None and not assignee.is_active:
        raise ValidationError({"assignee": _("This account is inactive: assign someone else.")})


@writes
def task_open(
    *,
    actor: Actor,
    case: Case,
    title: str,
    due_on: dt.date,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Task:
    """Write a task by hand and append ``task.opened``.

    Without ``assignee`` it goes to the case's assigned officer (nobody, if it has none).
    """
    refuse_unknown(fields, TASK_FIELDS, "task")
    case = sink.lock(case)
    if case.closed_at is not None:
        raise ValidationError({"case": _("The case is closed: nothing more is due on it.")})
    if "assignee" not in fields:
        fields["assignee"] = case.assigned_officer
    _check_assignee(fields.get("assignee"))
    task = sink.new(Task, case=case, kind=TaskKind.MANUAL, title=title, due_on=due_on, **fields)
    sink.validate(task, exclude=["case"])
    sink.insert(task)
    sink.append(
        EventDraft(
            kind=EventKind.TASK_OPENED,
            summary=vocabulary.task_opened(task),
            subject=task,
            actor=actor,
            case=case,
            changes=created_changes(task, ("kind", "state", *TASK_FIELDS)),
            reason=reason,
            source=source,
        )
    )
    return task


@writes
def task_update(
    *,
    actor: Actor,
    task: Task,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> Task:
    """Change a task's title, details, assignee or due day; append ``task.updated``.

    Nothing is written, and no event appended, when nothing changed. A closed task is not
    changed.
    """
    case = sink.lock(task.case)
    task = sink.lock(task)
    if task.state != TaskState.OPEN:
        check_version(task, expected_version)
        raise ValidationError({"state": _("A closed task is not changed.")})
    changes = versioned_change(
        task, expected_version=expected_version, fields=fields, allowed=TASK_FIELDS
    )
    if not changes:
        return task
    if "assignee" in changes:
        _check_assignee(task.assignee)
    save_new_version(sink, task, exclude=["case"])
    sink.append(
        EventDraft(
            kind=EventKind.TASK_UPDATED,
            summary=vocabulary.task_updated(task, changes),
            subject=task,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return task


def _close(
    *, sink, actor: Actor, task: Task, expected_version, state: str, kind: str, reason, source
) -> Task:
    case = sink.lock(task.case)
    task = sink.lock(task)
    check_version(task, expected_version)
    if task.state != TaskState.OPEN:
        raise ValidationError(
            {
                "state": _("The task is %(state)s already.")
                % {"state": task.get_state_display().lower()}
            }
        )
    old = {name: plain(getattr(task, name)) for name in ("state", "done_at", "done_by")}
    rules.close_task(sink, task, state=state, user=actor.user)
    changes = {
        name: [old[name], plain(getattr(task, name))]
        for name in old
        if old[name] != plain(getattr(task, name))
    }
    sink.append(
        EventDraft(
            kind=kind,
            summary=vocabulary.task_closed(task),
            subject=task,
            actor=actor,
            case=case,
            changes=changes,
            reason=reason,
            source=source,
        )
    )
    return task


@writes
def task_done(
    *,
    actor: Actor,
    task: Task,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Task:
    """Mark an open task done (by the actor, now); append ``task.done``.

    A rule's task may be marked done by hand (the card was sent but not yet recorded); the
    rule does not open it again for the same row while the clock is the same.
    """
    return _close(
        sink=sink,
        actor=actor,
        task=task,
        expected_version=expected_version,
        state=TaskState.DONE,
        kind=EventKind.TASK_DONE,
        reason=reason,
        source=source,
    )


@writes
def task_cancel(
    *,
    actor: Actor,
    task: Task,
    expected_version: int | None = None,
    reason: str = "",
    source: Source | None = None,
    sink,
) -> Task:
    """Cancel an open task (nothing is to be done after all); append ``task.cancelled``."""
    return _close(
        sink=sink,
        actor=actor,
        task=task,
        expected_version=expected_version,
        state=TaskState.CANCELLED,
        kind=EventKind.TASK_CANCELLED,
        reason=reason,
        source=source,
    )


@writes
def tasks_reconcile(
    *, actor: Actor, case: Case, today: dt.date | None = None, sink
) -> rules.Applied:
    """Run every task rule for ``case`` (``cases.tasks.rules.reconcile``); append
    ``task.rules_applied`` listing what it opened and closed, or nothing when nothing changed.
    """
    case = sink.lock(case)
    applied = rules.reconcile(sink, case, today=today or sink.today())
    if applied:
        sink.append(
            EventDraft(
                kind=EventKind.TASK_RULES_APPLIED,
                summary=vocabulary.task_rules_applied(
                    case, len(applied.opened), len(applied.closed)
                ),
                subject=case,
                actor=actor,
                case=case,
                changes=applied.changes(),
                follow_ups=applied.drafts(actor=actor),
            )
        )
    return applied


def active_users():
    """Return the accounts a task may be assigned to."""
    return get_user_model().objects.filter(is_active=True)
