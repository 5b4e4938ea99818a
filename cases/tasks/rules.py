"""The clocks that open and close tasks on their own (docs/tasks.md).

A rule's task names the row its clock is about (``subject_type``, ``subject_uuid``); at most
one task per rule and row is open at a time (a partial unique constraint), so running a rule
again finds the task it opened. The services that start or stop a clock call the rule in
their own transaction and list what it did in their own event, under
``changes["tasks_opened"]`` and ``changes["tasks_closed"]``; each task opened or closed also
has its own ``task.opened``, ``task.done`` or ``task.cancelled`` event, with the task as it
now is, appended right after the causing one (``Applied.drafts``), so that a reader of the
feed holds rule tasks as it holds tasks written by hand:

* ``capture_card``: a movement that starts the Art. 70 clock opens a task due on the case's
  ``capture_card_due_on``; the card that discharges the duty closes it as done; a newer
  movement that restarts the clock cancels the older one's task (``sync_capture_card``);
* ``notification``: a pending notification opens a task due on its due day
  (``for_notifications``); sent, withheld or acknowledged closes it as done;
* ``request_unanswered``: a request filed opens a task due ``TRACKER_REQUEST_ANSWER_DAYS``
  after it was filed; a move past filed / acknowledged closes it (done when answered,
  cancelled when withdrawn or lapsed);
* ``consent_stale``: a request in ``scheduled`` whose case's current statement is not
  verified opens a task due today. Otherwise the clock is the planned handover: when the
  case is on the list of an open exchange with a planned date (proposed or accepted), a
  statement that will be older than the consent gate's maximum age on that date opens a
  task due on it; without a planned date, one that will be older within
  ``TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS`` opens a task due on its last fresh day. Leaving
  ``scheduled`` closes it; a planned date that moves moves the task (the old one is
  cancelled). Time alone starts this clock, so ``manage.py open_due_tasks`` runs it every
  day; the exchange services run it when a date or a list changes.

``reconcile`` runs every rule for one case from what is stored; ``manage.py open_due_tasks``
calls it for each case that may need it, which also catches rows written before the rules.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from cases import choices, clocks, consent
from cases.services.base import created_changes, plain, reference
from cases.tasks.models import RULE_KINDS, TASK_FIELDS, Task, TaskKind, TaskState
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind, label

#: The namespace of rule tasks' uuids (a uuid5 of the rule, the row and the due day).
TASK_NAMESPACE = uuid.UUID("6f1d3c52-54a4-4d1e-9a51-0c3f3f7b9a10")
#: Request statuses in which a filed request still waits for its answer.
AWAITING_ANSWER = frozenset({choices.RequestStatus.FILED, choices.RequestStatus.ACKNOWLEDGED})
#: Statuses that end a request without an answer: its task is cancelled, not done.
ENDED_UNANSWERED = frozenset({choices.RequestStatus.WITHDRAWN, choices.RequestStatus.LAPSED})


def answer_days() -> int:
    """Return the days a filed request may wait for an answer (``TRACKER_REQUEST_ANSWER_DAYS``)."""
    return int(getattr(settings, "TRACKER_REQUEST_ANSWER_DAYS", 30))


def consent_lookahead_days() -> int:
    """Return how many days ahead a statement going stale opens its task
    (``TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS``)."""
    return int(getattr(settings, "TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS", 14))


@dataclass
class Applied:
    """What the rules did in one write: tasks opened and tasks closed."""

    opened: list[Task] = field(default_factory=list)
    closed: list[Task] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.opened or self.closed)

    def extend(self, other: Applied) -> Applied:
        """Add what ``other`` did to this; return self."""
        self.opened.extend(other.opened)
        self.closed.extend(other.closed)
        return self

    def changes(self) -> dict[str, list[Any]]:
        """Return the entries the causing event lists the tasks under (none when none)."""
        out: dict[str, list[Any]] = {}
        if self.opened:
            out["tasks_opened"] = [None, [reference(task) for task in self.opened]]
        if self.closed:
            out["tasks_closed"] = [
                None,
                [{**reference(task), "state": task.state} for task in self.closed],
            ]
        return out

    def drafts(self, *, actor, case=None) -> list[EventDraft]:
        """Return one event per task opened or closed, each with the task as it now is.

        The causing write hands them to its own event as ``follow_ups``: the sink appends
        them right after it, in the same transaction and in its chain (through the causing
        event's locked case, not ``task.case``, which may be another instance of the row).
        A write whose event is not the tasks' case's (an exchange's new date, say) gives the
        case, locked, as ``case``.
        """
        drafts = [
            EventDraft(
                kind=EventKind.TASK_OPENED,
                summary=vocabulary.task_opened(task),
                subject=task,
                actor=actor,
                case=case,
                changes=created_changes(task, ("kind", "state", *TASK_FIELDS)),
            )
            for task in self.opened
        ]
        for task in self.closed:
            closed_changes = {"state": [TaskState.OPEN.value, task.state]}
            for name in ("done_at", "done_by"):
                value = plain(getattr(task, name))
                if value is not None:
                    closed_changes[name] = [None, value]
            drafts.append(
                EventDraft(
                    kind=EventKind.TASK_DONE
                    if task.state == TaskState.DONE
                    else EventKind.TASK_CANCELLED,
                    summary=vocabulary.task_closed(task),
                    subject=task,
                    actor=actor,
                    case=case,
                    changes=closed_changes,
                )
            )
        return drafts


# --------------------------------------------------------------------------------------------
# Opening and closing one task
# --------------------------------------------------------------------------------------------


def open_tasks_of(sink, case) -> list[Task]:
    """Return the case's open tasks that rules opened."""
    return [task for task in sink.rule_tasks_of(case) if task.state == TaskState.OPEN]


def _find(sink, case, kind: str, subject_uuid) -> Task | None:
    for task in open_tasks_of(sink, case):
        if task.kind == kind and task.subject_uuid == subject_uuid:
            return task
    return None


def _same_clock(sink, case, kind: str, subject_uuid, due_on: dt.date) -> list[Task]:
    """Return the tasks of this clock (rule, row and due day), open or closed."""
    return [
        task
        for task in sink.rule_tasks_of(case)
        if task.kind == kind and task.subject_uuid == subject_uuid and task.due_on == due_on
    ]


def _stopped_by_rule(task: Task) -> bool:
    """Return whether a rule cancelled ``task`` because its clock moved (no one closed it)."""
    return task.state == TaskState.CANCELLED and task.done_by_id is None


def _answered(sink, case, kind: str, subject_uuid, due_on: dt.date) -> bool:
    """Return whether a task of this clock is open or was closed: one closed by hand (or
    done) is not opened again while the clock is the same. One a rule cancelled when the
    clock moved away is opened again when it moves back (an exchange's date, his place on
    its list)."""
    return any(
        not _stopped_by_rule(task) for task in _same_clock(sink, case, kind, subject_uuid, due_on)
    )


def _open(
    sink, case, *, kind: str, subject_type: str, subject_uuid, title: str, due_on: dt.date
) -> Task | None:
    """Open the rule's task about ``subject_uuid`` unless one is open (or this clock's was
    closed); return the new one."""
    if _find(sink, case, kind, subject_uuid) is not None:
        return None
    if _answered(sink, case, kind, subject_uuid, due_on):
        return None
    clock = f"{kind}:{subject_uuid}:{due_on.isoformat()}"
    again = len(_same_clock(sink, case, kind, subject_uuid, due_on))
    task = sink.new(
        Task,
        # Named by its clock (rule, row, due day), never drawn: the demo generator's seeded
        # draws stay those of the rows it writes itself. A clock that moved back to a day it
        # had counts its earlier tasks in the name.
        uuid=uuid.uuid5(TASK_NAMESPACE, f"{clock}:{again}" if again else clock),
        case=case,
        kind=kind,
        subject_type=subject_type,
        subject_uuid=subject_uuid,
        title=title[:200],
        due_on=due_on,
        assignee_id=case.assigned_officer_id,
        state=TaskState.OPEN,
    )
    sink.insert(task)
    return task


def close_task(sink, task: Task, *, state: str, user=None) -> Task:
    """Mark ``task`` done or cancelled (by ``user``, or by a rule) and store it."""
    task.state = state
    task.done_at = sink.now()
    task.done_by_id = getattr(user, "pk", None)
    task.version += 1
    sink.save(task)
    return task


def _close(sink, case, kind: str, subject_uuid, state: str, user=None) -> Task | None:
    task = _find(sink, case, kind, subject_uuid)
    if task is None:
        return None
    return close_task(sink, task, state=state, user=user)


def _applied(opened: Iterable[Task | None] = (), closed: Iterable[Task | None] = ()) -> Applied:
    return Applied(
        [task for task in opened if task is not None], [task for task in closed if task is not None]
    )


# --------------------------------------------------------------------------------------------
# The rules, as the services call them
# --------------------------------------------------------------------------------------------


def _clock_movement(sink, case):
    """Return the movement that started the case's capture-card clock, or None."""
    if case.capture_card_due_on is None or case.closed_at is not None:
        return None
    started = [m for m in sink.movements_of(case) if m.kind in clocks.CLOCK_REASONS]
    return max(started, key=lambda m: (m.moved_on, m.pk), default=None)


def sync_capture_card(sink, case, *, user=None) -> Applied:
    """Keep the one open capture-card task on the movement whose card is owed.

    Call after the case's ``capture_card_due_on`` was brought up to date. A task whose card
    discharged the duty is done; one whose clock a newer movement restarted (or a closed
    case) is cancelled.
    """
    owed = _clock_movement(sink, case)
    applied = Applied()
    open_tasks = [t for t in open_tasks_of(sink, case) if t.kind == TaskKind.CAPTURE_CARD]
    if any(t.subject_uuid != (owed.uuid if owed else None) for t in open_tasks):
        discharged = {
            card.movement_id for card in sink.capture_cards_of(case) if card.discharges_duty
        }
        by_uuid = {m.uuid: m for m in sink.movements_of(case)}
        for task in open_tasks:
            if owed is not None and task.subject_uuid == owed.uuid:
                continue
            movement = by_uuid.get(task.subject_uuid)
            done = movement is not None and movement.pk in discharged
            state = TaskState.DONE if done else TaskState.CANCELLED
            applied.closed.append(close_task(sink, task, state=state, user=user if done else None))
    if owed is not None:
        task = _open(
            sink,
            case,
            kind=TaskKind.CAPTURE_CARD,
            subject_type="movement",
            subject_uuid=owed.uuid,
            title=f"Capture card for the {owed.get_kind_display().lower()} of "
            f"{owed.moved_on.isoformat()}",
            due_on=case.capture_card_due_on,
        )
        if task is not None:
            applied.opened.append(task)
    return applied


def for_notifications(sink, case, notifications: Iterable[Any]) -> Applied:
    """Open one task per pending notification, due on its due day (call with the rows built
    for one event: they hold their uuids before they are stored)."""
    return _applied(
        opened=[
            _open(
                sink,
                case,
                kind=TaskKind.NOTIFICATION,
                subject_type="notification",
                subject_uuid=row.uuid,
                title=f"Send the notification of {row.get_reason_display().lower()} to "
                f"{row.recipient}",
                due_on=row.due_on,
            )
            for row in notifications
        ]
    )


def notification_acted(sink, case, notification, *, user=None) -> Applied:
    """Close a notification's task: it is no longer pending (sent, withheld, acknowledged)."""
    return _applied(
        closed=[
            _close(sink, case, TaskKind.NOTIFICATION, notification.uuid, TaskState.DONE, user=user)
        ]
    )


def _request_title(request) -> str:
    # A task's title is stored and read by everyone: in English, whoever files the request.
    kind = label(choices.RequestKind, request.kind).lower()
    return f"Chase an answer to the {kind} request to " + str(request.addressed_to)


def request_filed(sink, case, request) -> Applied:
    """Open the "no answer" task of a request just filed."""
    due = request.filed_on + dt.timedelta(days=answer_days())
    return _applied(
        opened=[
            _open(
                sink,
                case,
                kind=TaskKind.REQUEST_UNANSWERED,
                subject_type="request",
                subject_uuid=request.uuid,
                title=_request_title(request),
                due_on=due,
            )
        ]
    )


def request_moved(
    sink, case, request, old_status: str, *, user=None, today: dt.date | None = None
) -> Applied:
    """Open or close a request's tasks after its move from ``old_status`` to its status."""
    status = request.status
    applied = Applied()
    if status in AWAITING_ANSWER and old_status not in AWAITING_ANSWER:
        applied.extend(request_filed(sink, case, request))
    elif status not in AWAITING_ANSWER:
        state = TaskState.CANCELLED if status in ENDED_UNANSWERED else TaskState.DONE
        applied.extend(
            _applied(
                closed=[
                    _close(
                        sink,
                        case,
                        TaskKind.REQUEST_UNANSWERED,
                        request.uuid,
                        state,
                        user=user if state == TaskState.DONE else None,
                    )
                ]
            )
        )
    applied.extend(sync_consent(sink, case, request, user=user, today=today))
    return applied


def consent_due(sink, case, request, today: dt.date) -> dt.date | None:
    """Return when the consent for a scheduled request must be reconfirmed by, or None.

    None when the request is not scheduled, or when the case's current statement is verified
    and stays fresh long enough. The last day a verified statement is fresh is ``stated_on``
    plus the gate's maximum age (``cases.consent.max_age_days``); without a verified
    statement dated to the day, it is due today.

    Long enough is until the planned handover when one is known (the date of the open
    exchange that lists him, ``sink.planned_exchange``; today if that date has passed and
    the exchange is still open): a statement stale by then makes the task due that day.
    Without a planned date, the fallback is a rolling window: a statement going stale within
    ``TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS`` makes it due on its last fresh day.
    """
    if request.status != choices.RequestStatus.SCHEDULED:
        return None
    current = sink.current_intention(case)
    if (
        current is None
        or current.verification not in choices.VERIFIED_LEVELS
        or current.stated_on_precision not in consent.DAY_PRECISIONS
    ):
        return today
    last_fresh = current.stated_on + dt.timedelta(days=consent.max_age_days())
    planned = planned_handover_on(sink, case, request)
    if planned is not None:
        handover_day = max(planned, today)
        return None if last_fresh >= handover_day else handover_day
    if (last_fresh - today).days >= consent_lookahead_days():
        return None
    return last_fresh


def planned_handover_on(sink, case, request) -> dt.date | None:
    """Return the planned date of the exchange that will hand him over by ``request``, or None.

    A request that moves no one across a border is never handed over, so has none.
    """
    if consent.move_for_request(request) is None:
        return None
    exchange = sink.planned_exchange(case)
    return exchange.planned_on if exchange is not None else None


def sync_consent(sink, case, request, *, user=None, today: dt.date | None = None) -> Applied:
    """Open or close the consent-reconfirmation task of a (scheduled) request.

    A task open for another due day than the clock's now (the exchange's date moved) is
    cancelled and one due on the new day opened; a task due today (no verified statement)
    stays as it is from one day to the next.
    """
    today = today or sink.today()
    due = consent_due(sink, case, request, today)
    if due is not None:
        applied = Applied()
        standing = _find(sink, case, TaskKind.CONSENT_STALE, request.uuid)
        if standing is not None and standing.due_on != due and due != today:
            applied.closed.append(close_task(sink, standing, state=TaskState.CANCELLED))
        return applied.extend(
            _applied(
                opened=[
                    _open(
                        sink,
                        case,
                        kind=TaskKind.CONSENT_STALE,
                        subject_type="request",
                        subject_uuid=request.uuid,
                        title="Reconfirm his consent before the scheduled "
                        f"{request.get_kind_display().lower()}",
                        due_on=due,
                    )
                ]
            )
        )
    # Done when the handover happened or a fresh statement came; cancelled otherwise.
    done = request.status in (choices.RequestStatus.EXECUTED, choices.RequestStatus.SCHEDULED)
    return _applied(
        closed=[
            _close(
                sink,
                case,
                TaskKind.CONSENT_STALE,
                request.uuid,
                TaskState.DONE if done else TaskState.CANCELLED,
                user=user if done else None,
            )
        ]
    )


def sync_consent_of_case(sink, case, *, user=None) -> Applied:
    """Run the consent rule for each of the case's scheduled requests (an exchange that lists
    him changed its date, its status or where he stands on its list)."""
    applied = Applied()
    scheduled = [choices.RequestStatus.SCHEDULED]
    for request in case.requests.filter(status__in=scheduled).order_by("id"):
        applied.extend(sync_consent(sink, case, request, user=user))
    return applied


# --------------------------------------------------------------------------------------------
# Every rule of one case, from what is stored (manage.py open_due_tasks)
# --------------------------------------------------------------------------------------------


def reconcile(sink, case, *, today: dt.date) -> Applied:
    """Run every rule for ``case`` from its stored rows; return what changed.

    Running it again at once changes nothing: each rule finds the task it opened.
    """
    from cases.notifications.models import Notification, NotificationState

    applied = sync_capture_card(sink, case)
    notifications = list(Notification.objects.filter(case_id=case.pk).select_related("recipient"))
    pending = [n for n in notifications if n.state == NotificationState.PENDING]
    applied.extend(for_notifications(sink, case, pending))
    for row in notifications:
        if row.state != NotificationState.PENDING:
            applied.extend(notification_acted(sink, case, row))
    requests = list(case.requests.select_related("addressed_to"))
    for request in requests:
        if request.status in AWAITING_ANSWER and request.filed_on is not None:
            applied.extend(request_filed(sink, case, request))
        elif request.status not in AWAITING_ANSWER:
            applied.extend(request_moved(sink, case, request, request.status, today=today))
            continue
        applied.extend(sync_consent(sink, case, request, today=today))
    # A task whose row is gone (a purge) or of another case is cancelled.
    known = {m.uuid for m in sink.movements_of(case)} | {n.uuid for n in notifications}
    known |= {r.uuid for r in requests}
    for task in open_tasks_of(sink, case):
        if task.kind in RULE_KINDS and task.subject_uuid not in known:
            applied.closed.append(close_task(sink, task, state=TaskState.CANCELLED))
    return applied
