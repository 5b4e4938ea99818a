"""Tasks in the admin: added on the case page, marked done on their own page (one event)."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.tasks import services as task_services
from cases.tasks.models import Task
from tests import factories as f
from tests.support import clients, timeline
from tests.support.admin import change_url, errors_text, form_data, new_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(officer):
    officer.is_staff = True
    officer.save()
    return clients.session_client(officer)


def test_add_on_the_case_page_then_mark_done(case, officer, staff):
    """The inline's new row goes to ``task_open`` (assigned to the case's officer); the task's
    page marks it done against its version."""
    page = staff.get(change_url(case))
    data = form_data(page)
    new_row(page, Task, data, title="Ask the ICRC for a visit", due_on="2025-03-20")
    with timeline.assert_one_event(kind="task.opened", channel="admin"):
        saved = staff.post(change_url(case), data)
    assert saved.status_code == 302, errors_text(saved)
    task = Task.objects.get(case=case)
    assert (task.assignee, task.due_on) == (officer, dt.date(2025, 3, 20))

    page = staff.get(change_url(task))
    data = form_data(page)
    data.update(act="done", title="Changed too")
    refused = staff.post(change_url(task), data)
    assert refused.status_code == 200 and "Save your changes first" in errors_text(refused)
    data = form_data(page)
    data.update(act="done")
    with timeline.assert_one_event(kind="task.done", actor=officer):
        done = staff.post(change_url(task), data)
    assert done.status_code == 302, errors_text(done)
    task.refresh_from_db()
    assert (task.state, task.done_by) == ("done", officer)


def test_a_stale_admin_save_is_refused(case, staff):
    """A colleague's change in between: the form says so and nothing is written."""
    task = task_services.task_open(
        actor=f.SYSTEM, case=case, title="Chase", due_on=dt.date(2025, 3, 20)
    )
    page = staff.get(change_url(task))
    task_services.task_update(actor=f.SYSTEM, task=task, title="Chase harder")
    data = form_data(page)
    data.update(act="cancel")
    with timeline.assert_no_event():
        refused = staff.post(change_url(task), data)
    assert refused.status_code == 200
    assert Task.objects.get(pk=task.pk).state == "open"
