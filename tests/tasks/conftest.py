"""A fixed "today", an officer with a case, and helpers for the tasks tests."""

from __future__ import annotations

import datetime as dt

import pytest

from cases import clocks
from cases.tasks.models import Task
from tests import factories as f
from tests.support import roles

#: The day the tests' clock reads.
TODAY = dt.date(2025, 3, 10)


@pytest.fixture
def today(monkeypatch):
    """Fix the day deadlines are measured against (the clocks and the services' sink)."""
    from django.utils import timezone

    monkeypatch.setattr(clocks, "today", lambda: TODAY)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    return TODAY


@pytest.fixture
def colleague(db):
    """Another case officer."""
    return roles.user_in_role(roles.CASE_OFFICER, "colleague")


@pytest.fixture
def case(officer):
    """A case assigned to the officer, with nobody to notify (no Power, no agency)."""
    return f.case(assigned_officer=officer)


def open_tasks(case=None, **filters) -> list[Task]:
    """Return the open tasks (of ``case``), by due day."""
    rows = Task.objects.filter(state="open", **filters)
    if case is not None:
        rows = rows.filter(case=case)
    return list(rows.order_by("due_on", "id"))


def snapshot() -> list[tuple]:
    """Return every task's identity and state, for comparing two runs."""
    return list(
        Task.objects.order_by("id").values_list(
            "id", "kind", "subject_uuid", "state", "due_on", "version"
        )
    )
