"""Task services: each writes its rows and appends its one event; a refusal writes neither."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cases.services import Actor, StaleObjectError
from cases.tasks import services as task_services
from cases.tasks.models import Task
from tests import factories as f
from tests.support import timeline

pytestmark = pytest.mark.django_db

D = dt.date


def _open(case, **fields) -> Task:
    return task_services.task_open(
        actor=f.SYSTEM, case=case, title="Ask the ICRC for a visit", due_on=D(2025, 3, 20), **fields
    )


def test_task_open_goes_to_the_case_s_officer_and_appends_task_opened(case, officer):
    """Without an assignee the task is the case's officer's; the event lists what was set."""
    with timeline.assert_one_event(
        kind="task.opened",
        case=case,
        changes={
            "kind": [None, "manual"],
            "state": [None, "open"],
            "title": [None, "Ask the ICRC for a visit"],
            "details": [None, "Before the list closes"],
            "assignee": [None, officer.username],
            "due_on": [None, "2025-03-20"],
        },
    ) as new:
        task = _open(case, details="Before the list closes")
    row = Task.objects.get(pk=task.pk)
    assert (row.case, row.assignee, row.state, row.kind, row.version) == (
        case,
        officer,
        "open",
        "manual",
        1,
    )
    assert new.event.subject_uuid == row.uuid and new.event.subject_type == "task"


def test_task_open_with_nobody_assigned_is_the_case_queue(case):
    """``assignee=None`` leaves it in the case's queue."""
    task = _open(case, assignee=None)
    assert Task.objects.get(pk=task.pk).assignee is None


def test_task_update_changes_fields_and_bumps_the_version(case, colleague):
    """Reassigning and moving the due day is one ``task.updated`` with both changes."""
    task = _open(case)
    with timeline.assert_one_event(
        kind="task.updated",
        changes={
            "assignee": ["officer", colleague.username],
            "due_on": ["2025-03-20", "2025-03-25"],
        },
    ):
        task_services.task_update(
            actor=f.SYSTEM, task=task, expected_version=1, assignee=colleague, due_on=D(2025, 3, 25)
        )
    row = Task.objects.get(pk=task.pk)
    assert (row.assignee, row.due_on, row.version) == (colleague, D(2025, 3, 25), 2)
    with timeline.assert_no_event():
        task_services.task_update(actor=f.SYSTEM, task=row, due_on=D(2025, 3, 25))


def test_task_done_and_cancel_record_who_and_when(case, officer):
    """Done by the actor now; a cancelled one too; each one event; a closed task stays closed."""
    actor = Actor(user=officer, channel="api")
    task = _open(case)
    with timeline.assert_one_event(kind="task.done", actor=officer) as new:
        task_services.task_done(actor=actor, task=task, expected_version=1)
    row = Task.objects.get(pk=task.pk)
    assert (row.state, row.done_by, row.version) == ("done", officer, 2)
    assert row.done_at is not None
    assert new.event.changes["state"] == ["open", "done"]
    assert new.event.changes["done_by"] == [None, officer.username]
    with timeline.assert_no_event(), pytest.raises(ValidationError):
        task_services.task_cancel(actor=actor, task=row)
    other = _open(case)
    with timeline.assert_one_event(kind="task.cancelled"):
        task_services.task_cancel(actor=actor, task=other, reason="Asked already")
    assert Task.objects.get(pk=other.pk).state == "cancelled"


def test_a_refused_write_leaves_no_row_and_no_event(case):
    """A stale version, a closed case or an unknown field write nothing at all."""
    task = _open(case)
    before = list(Task.objects.values_list("pk", "version"))
    with timeline.assert_no_event():
        with pytest.raises(StaleObjectError):
            task_services.task_update(actor=f.SYSTEM, task=task, expected_version=7, title="X")
        with pytest.raises(ValidationError):
            task_services.task_open(
                actor=f.SYSTEM, case=case, title="X", due_on=D(2025, 3, 1), colour="red"
            )
        with pytest.raises(ValidationError):
            task_services.task_open(actor=f.SYSTEM, case=case, title="", due_on=D(2025, 3, 1))
    assert list(Task.objects.values_list("pk", "version")) == before
