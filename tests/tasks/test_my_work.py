"""The "My work" page: the reader's open tasks, grouped and ordered by due day, nobody
else's; a flat query count; and overdue tasks counted on the analysts' page."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from cases.models import Case
from cases.tasks import services as task_services
from tests import factories as f
from tests.support import clients, roles

pytestmark = pytest.mark.django_db

URL = "/cases/my-work/"
D = dt.date


def _task(case, title, due, **fields):
    return task_services.task_open(actor=f.SYSTEM, case=case, title=title, due_on=due, **fields)


def _sections(html: str) -> dict[str, list[str]]:
    """Return each group's task titles in the order shown."""
    found = {}
    for key in ("overdue", "soon", "later"):
        part = html.split(f'id="tasks-{key}"', 1)[1].split("</section>", 1)[0]
        found[key] = re.findall(r'<td class="task-title">(?:<a [^>]*>)?([^<]+)', part)
    return found


def test_my_open_tasks_grouped_by_due_day_and_nobody_else_s(case, officer, colleague, today):
    """Overdue, due within 7 days and later, each by due day; closed tasks and a colleague's
    are left out; the case's unassigned tasks are in its officer's list."""
    _task(case, "Later one", D(2025, 4, 1))
    _task(case, "Soon two", D(2025, 3, 15))
    _task(case, "Late two", D(2025, 3, 5))
    _task(case, "Soon one", D(2025, 3, 10))
    _task(case, "Late one", D(2025, 2, 1), assignee=None)
    _task(case, "Theirs", D(2025, 3, 1), assignee=colleague)
    done = _task(case, "Done", D(2025, 3, 2))
    task_services.task_done(actor=f.SYSTEM, task=done)
    response = clients.session_client(officer).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert _sections(html) == {
        "overdue": ["Late one", "Late two"],
        "soon": ["Soon one", "Soon two"],
        "later": ["Later one"],
    }
    assert "Theirs" not in html and ">Done<" not in html
    assert 'href="/cases/my-work/" aria-current="page"' in html
    theirs = clients.session_client(colleague).get(URL).content.decode()
    assert "Theirs" in theirs and "Late one" not in theirs


def test_another_officer_s_work_needs_the_permission(case, officer, colleague):
    """An officer asking for a colleague's list gets 403 and nothing of it; an account with
    ``view_others_tasks`` (a supervisor; a superuser holds it) sees it."""
    _task(case, "Secret errand", D(2025, 3, 1), assignee=colleague)
    refused = clients.session_client(officer).get(URL, {"assignee": "colleague"})
    assert refused.status_code == 403 and b"Secret errand" not in refused.content
    supervisor = roles.user_in_role(
        roles.CASE_OFFICER,
        "supervisor",
        # No role holds it by default: a supervisor is granted it.
        extra_permissions=["view_others_tasks"],
    )
    shown = clients.session_client(supervisor).get(URL, {"assignee": "colleague"})
    assert shown.status_code == 200 and b"Secret errand" in shown.content
    assert clients.session_client(supervisor).get(URL, {"assignee": "nobody"}).status_code == 404


def test_anonymous_readers_sign_in_first(client):
    """The page is behind the sign-in, as every analysts' page."""
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("n", [1, 50])
def test_my_work_query_count_is_flat(officer, django_assert_num_queries, today, n):
    """Session, user, his own and his groups' permissions, and the tasks with their cases:
    the same for 1 task and 50, across several cases."""
    cases = [f.case(assigned_officer=officer) for _ in range(3)]
    for i in range(n):
        _task(cases[i % 3], f"Task {i}", D(2025, 3, 1) + dt.timedelta(days=i))
    client = clients.session_client(officer)
    with django_assert_num_queries(5):
        response = client.get(URL)
    assert response.content.decode().count("<tr data-task=") == n


def test_overdue_tasks_are_counted_and_filtered_on_the_analysts_page(case, officer, analyst, today):
    """``?overdue=task`` lists the cases with an open task past its day; the list page
    counts them with the other deadlines."""
    other = f.case(assigned_officer=officer)
    _task(case, "Late", D(2025, 3, 1))
    _task(other, "In time", D(2025, 3, 20))
    late = Case.objects.filter(pk=case.pk)
    from cases.clocks import OVERDUE

    assert list(Case.objects.filter(OVERDUE["task"](D(2025, 3, 10)))) == list(late)
    client = clients.session_client(analyst)
    page = client.get("/cases/", {"overdue": "task"}).content.decode()
    assert case.reference in page and other.reference not in page
    listing = client.get("/cases/").content.decode()
    assert "an overdue task" in listing
    api = clients.api_client(analyst).get("/api/v1/cases/", {"overdue": "task"}).json()
    assert [row["reference"] for row in api["results"]] == [case.reference]
