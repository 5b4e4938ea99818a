"""Assertions on the timeline: what a block of code appended to it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from cases.models import TimelineEvent

_ANY = object()


@dataclass
class Appended:
    """The events a block appended, filled in when the block ends."""

    events: list[TimelineEvent] = field(default_factory=list)
    #: The events of the tasks a rule opened or closed in the same write.
    follow_ups: list[TimelineEvent] = field(default_factory=list)

    @property
    def event(self) -> TimelineEvent:
        """Return the one event appended (the assertion made sure there is exactly one)."""
        assert len(self.events) == 1, self.events
        return self.events[0]


def _last_id() -> int:
    return TimelineEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_after(last_id: int) -> list[TimelineEvent]:
    """Return the events appended after the event ``last_id``, in the order appended."""
    return list(TimelineEvent.objects.filter(id__gt=last_id).order_by("id"))


def check_event(
    event: TimelineEvent,
    *,
    kind: str,
    actor: Any = _ANY,
    channel: str | None = None,
    changes: Mapping[str, Any] | None = None,
    changed_fields: set[str] | None = None,
    case: Any = _ANY,
) -> None:
    """Assert ``event`` is of ``kind``, by ``actor`` (a user or None) through ``channel``.

    ``changes`` compares the event's changes exactly (``{field: [old, new]}``);
    ``changed_fields`` compares only the fields named.
    """
    assert event.kind == kind, f"expected a {kind} event, got {event.kind}: {event.summary}"
    if actor is not _ANY:
        assert event.actor_id == (actor.pk if actor is not None else None), (
            f"{event.kind} event by user {event.actor_id}, expected {actor}"
        )
    if channel is not None:
        assert event.channel == channel, f"{event.kind} event via {event.channel}, not {channel}"
    if changes is not None:
        assert event.changes == dict(changes), event.changes
    if changed_fields is not None:
        assert set(event.changes) == set(changed_fields), (
            f"{event.kind} event claims changes to {sorted(event.changes)}, "
            f"expected {sorted(changed_fields)}"
        )
    if case is not _ANY:
        assert event.case_id == (case.pk if case is not None else None), event.case_id


def task_follow_ups(event: TimelineEvent) -> list[tuple[str, str]]:
    """Return the (kind, task uuid) of the events that must follow ``event``: one per task a
    rule opened or closed in the same write, as its ``changes`` list them."""
    opened = (event.changes or {}).get("tasks_opened", [None, []])[1]
    closed = (event.changes or {}).get("tasks_closed", [None, []])[1]
    return [("task.opened", row["uuid"]) for row in opened] + [
        ("task.done" if row["state"] == "done" else "task.cancelled", row["uuid"]) for row in closed
    ]


def check_task_follow_ups(event: TimelineEvent, follow_ups: list[TimelineEvent]) -> None:
    """Assert ``follow_ups`` are exactly the rule tasks' events ``event`` lists, in the tasks'
    cases (right after ``event`` in its own), by its actor, each carrying the task as the API
    shows it."""
    assert sorted((e.kind, str(e.subject_uuid)) for e in follow_ups) == sorted(
        task_follow_ups(event)
    ), [(e.kind, e.summary) for e in follow_ups]
    from cases.tasks.models import Task

    seq = event.case_seq or 0
    for follow_up in follow_ups:
        assert follow_up.subject_type == "task", follow_up.subject_type
        assert follow_up.actor_id == event.actor_id
        assert follow_up.xact_id == event.xact_id
        # In the task's case: the causing event's, right after it, or (an exchange's event,
        # which has no case) the case of each task it moved.
        task_case = Task.objects.get(uuid=follow_up.subject_uuid).case_id
        assert follow_up.case_id == task_case, (follow_up.case_id, task_case)
        if follow_up.case_id == event.case_id:
            seq += 1
            assert follow_up.case_seq == seq, (follow_up.case_seq, seq)
        assert follow_up.object is not None and follow_up.object["uuid"] == str(
            follow_up.subject_uuid
        )
        if follow_up.kind != "task.opened":
            assert follow_up.object["state"] == follow_up.kind.removeprefix("task.")


def causing_events(events: list[TimelineEvent]) -> list[TimelineEvent]:
    """Return ``events`` without the rule tasks' events, after checking that each causing
    event is followed by exactly the task events its changes list
    (:func:`check_task_follow_ups`)."""
    causing, index = [], 0
    while index < len(events):
        event = events[index]
        expected = len(task_follow_ups(event))
        check_task_follow_ups(event, events[index + 1 : index + 1 + expected])
        causing.append(event)
        index += 1 + expected
    return causing


@contextmanager
def assert_one_event(**expected: Any) -> Iterator[Appended]:
    """Assert the block appends exactly one event, as :func:`check_event` describes it.

    The one exception, checked here too: the events of the tasks a rule opened or closed in
    the same write (``cases.tasks.rules``) follow it, exactly those its ``changes`` list
    (:func:`check_task_follow_ups`). Events are compared before and after the block (by id),
    so events written before it do not count. Use as
    ``with assert_one_event(kind=..., actor=..., changes=...) as new:``; ``new.event`` is the
    event afterwards (``new.follow_ups``, the task events).
    """
    appended = Appended()
    last = _last_id()
    yield appended
    events = events_after(last)
    assert events, f"expected one {expected.get('kind', '')} event, got none"
    appended.events, appended.follow_ups = events[:1], events[1:]
    assert len(events) == 1 + len(task_follow_ups(events[0])), (
        f"expected one {expected.get('kind', '')} event, got {len(events)}: "
        f"{[(e.kind, e.summary) for e in events]}"
    )
    check_event(events[0], **expected)
    check_task_follow_ups(events[0], appended.follow_ups)


@contextmanager
def assert_no_event() -> Iterator[None]:
    """Assert the block appends nothing to the timeline."""
    last = _last_id()
    yield
    new = events_after(last)
    assert not new, [(e.kind, e.summary) for e in new]


#: Fields a write keeps up to date without claiming them as changes: bookkeeping, and
#: the case's copy of its current intention (its own event says what the person said).
BOOKKEEPING_FIELDS = frozenset(
    {
        "id",
        "uuid",
        "version",
        "created_at",
        "updated_at",
        "opened_at",
        "recorded_at",
        "last_event_seq",
        "search_key",
        "current_intention",
        "current_intention_option",
        "current_intention_destination",
        "current_intention_verification",
        "current_intention_verified",
    }
)


def ref(row: models.Model | None) -> dict[str, str] | str | None:
    """Return a row as the timeline's changes name it: ``{"uuid", "label"}`` (a user: his
    username)."""
    if row is None:
        return None
    if not hasattr(row, "uuid"):
        return str(row)
    from cases.timeline import vocabulary

    if row._meta.model_name == "statedintention":
        label = vocabulary.intention_label(row)
    elif row._meta.model_name == "request":
        label = vocabulary.request_label(row)
    else:
        label = str(row)
    return {"uuid": str(row.uuid), "label": label}


def plain(value: Any) -> Any:
    """Return ``value`` as the timeline's changes hold it: references for rows, ISO for dates."""
    if value is None:
        return None
    if isinstance(value, models.Model):
        return ref(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "code") and hasattr(value, "name"):  # a django_countries Country
        return value.code or ""
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def field_values(obj: models.Model) -> dict[str, Any]:
    """Return ``{field: plain value}`` for every concrete field of ``obj``."""
    return {field.name: plain(getattr(obj, field.name)) for field in obj._meta.concrete_fields}


def assert_changes_between(
    event: TimelineEvent, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> None:
    """Assert the event's changes to model fields are the row's changes, values included.

    ``before`` is None for a row the write created, ``after`` None for one it deleted. For a
    changed row every field that changed (but :data:`BOOKKEEPING_FIELDS`) must be claimed,
    and nothing else; for a created or deleted row every claim must match its values.
    Claims that are not model fields (``names``: the person's name variants) are left to
    the tests of their writes.
    """
    row = after if after is not None else before
    assert row is not None
    claimed = {name: change for name, change in event.changes.items() if name in row}
    for name, change in claimed.items():
        old = None if before is None else before[name]
        new = None if after is None else after[name]
        assert list(change) == [old, new], (
            f"{event.kind} claims {name}: {change}, the row went from {old!r} to {new!r}"
        )
    if before is not None and after is not None:
        changed = {
            name for name in after if name not in BOOKKEEPING_FIELDS and before[name] != after[name]
        }
        assert set(claimed) == changed, (
            f"{event.kind} claims {sorted(claimed)}, the write changed {sorted(changed)}"
        )
