"""``/api/v1/tasks/``: filters (``assignee=me``, overdue, due dates), writes with their
versions and ``Idempotency-Key``, the sensitive details, and a flat query count."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.tasks import services as task_services
from cases.tasks.models import Task
from tests import factories as f
from tests.support import clients, timeline

pytestmark = pytest.mark.django_db

URL = "/api/v1/tasks/"
D = dt.date
DUE = D(2025, 3, 20)


def _task(case, title="Chase the ICRC", due=DUE, **fields) -> Task:
    return task_services.task_open(actor=f.SYSTEM, case=case, title=title, due_on=due, **fields)


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_filters_mine_overdue_and_due_dates(case, officer, colleague, today):
    """``assignee=me`` is the reader's own and his cases' unassigned ones; ``overdue`` the
    open ones past their day; ``due_before`` bounds the day."""
    _task(case, "Late", D(2025, 3, 1))
    _task(case, "Queue", D(2025, 3, 12), assignee=None)
    _task(case, "Theirs", D(2025, 3, 11), assignee=colleague)
    done = _task(case, "Done late", D(2025, 3, 2))
    task_services.task_done(actor=f.SYSTEM, task=done)
    client = clients.api_client(officer)
    assert _titles(client.get(URL, {"assignee": "me", "ordering": "due_on"})) == [
        "Late",
        "Done late",
        "Queue",
    ]
    assert _titles(client.get(URL, {"assignee": "me", "state": "open", "ordering": "due_on"})) == [
        "Late",
        "Queue",
    ]
    assert _titles(client.get(URL, {"overdue": "true"})) == ["Late"]
    assert _titles(client.get(URL, {"assignee": "colleague"})) == ["Theirs"]
    assert _titles(client.get(URL, {"assignee": "none"})) == ["Queue"]
    assert _titles(client.get(URL, {"due_before": "2025-03-02", "ordering": "due_on"})) == [
        "Late",
        "Done late",
    ]
    assert _titles(client.get(URL, {"kind": "manual", "case": str(case.uuid)})) != []
    assert client.get(URL, {"overdue": "maybe"}).status_code == 400


def test_write_change_and_close_through_the_api(case, officer, officer_client):
    """POST (idempotent), PATCH with If-Match (412 stale, 428 missing), then done."""
    body = {"case": str(case.uuid), "title": "Ask for a visit", "due_on": "2025-03-20"}
    with timeline.assert_one_event(kind="task.opened", actor=officer, channel="api"):
        created = officer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = officer_client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert created.status_code == 201, created.content
    assert again.status_code == 201 and again.json()["uuid"] == created.json()["uuid"]
    row = created.json()
    assert (row["assignee"], row["state"], row["kind"], row["version"]) == (
        officer.username,
        "open",
        "manual",
        1,
    )
    detail = f"{URL}{row['uuid']}/"
    assert officer_client.patch(detail, {"title": "X"}, format="json").status_code == 428
    stale = officer_client.patch(detail, {"title": "X"}, format="json", HTTP_IF_MATCH='"7"')
    assert stale.status_code == 412
    with timeline.assert_one_event(kind="task.updated"):
        changed = officer_client.patch(
            detail, {"due_on": "2025-03-25", "version": 1}, format="json"
        )
    assert changed.status_code == 200 and changed.json()["due_on"] == "2025-03-25"
    with timeline.assert_one_event(kind="task.done"):
        done = officer_client.post(
            f"{detail}done/", {"version": 2}, format="json", HTTP_IDEMPOTENCY_KEY="k-2"
        )
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["done_by"]) == ("done", officer.username)
    refused = officer_client.post(
        f"{detail}cancel/", {"version": 3}, format="json", HTTP_IDEMPOTENCY_KEY="k-3"
    )
    assert refused.status_code == 400


def test_an_analyst_reads_tasks_without_their_details_and_cannot_write(case, analyst):
    """The details are sensitive; an analyst gets null and ``redacted``; writes are 403."""
    task = _task(case, details="His family would be punished")
    client = clients.api_client(analyst)
    row = client.get(f"{URL}{task.uuid}/").json()
    assert row["details"] is None and row["redacted"] == ["details"]
    assert "punished" not in client.get(URL).content.decode()
    body = {"case": str(case.uuid), "title": "X", "due_on": "2025-03-20"}
    assert client.post(URL, body, format="json").status_code == 403
    assert client.post(f"{URL}{task.uuid}/done/", {"version": 1}, format="json").status_code == 403
    assert Task.objects.get(pk=task.pk).state == "open"


@pytest.mark.parametrize("n", [1, 50])
def test_task_list_query_count_is_flat(officer, analyst, django_assert_num_queries, n):
    """User, permissions, the ETag's state, count and page: the same for 1 row and 50."""
    case = f.case(assigned_officer=officer)
    for i in range(n):
        _task(case, f"Task {i}")
    client = clients.api_client(analyst)
    with django_assert_num_queries(5):
        response = client.get(URL)
    assert response.json()["count"] == n
