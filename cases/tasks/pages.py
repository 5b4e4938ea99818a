"""The "My work" page: the signed-in officer's open tasks across cases (docs/tasks.md)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cases import clocks
from cases.pages.views import page_view
from cases.tasks.filters import mine
from cases.tasks.models import Task, TaskState

#: Days ahead that count as "due soon".
SOON_DAYS = 7
#: Permission to read another officer's tasks with ``?assignee=`` (a supervisor's).
OTHERS_PERMISSION = "cases.view_others_tasks"

GROUPS = (
    ("overdue", gettext_lazy("Overdue")),
    ("soon", gettext_lazy("Due within 7 days")),
    ("later", gettext_lazy("Later")),
)


def _whose(request: HttpRequest):
    """Return the account whose tasks are shown: the reader, or ``?assignee=`` for a reader
    who may see others' (403 for anyone else, 404 for an unknown name)."""
    name = request.GET.get("assignee", "").strip()
    if not name or name == request.user.get_username():
        return request.user
    if not request.user.has_perm(OTHERS_PERMISSION):
        raise PermissionDenied(_("You may see only your own tasks."))
    model = get_user_model()
    found = model.objects.filter(**{model.USERNAME_FIELD: name}).first()
    if found is None:
        raise Http404(_("No account has this name."))
    return found


def group_of(task: Task, today: dt.date) -> str:
    """Return the group a task is listed in: overdue, due soon, or later."""
    if task.due_on < today:
        return "overdue"
    if task.due_on <= today + dt.timedelta(days=SOON_DAYS):
        return "soon"
    return "later"


@page_view
def my_work(request: HttpRequest) -> HttpResponse:
    """List the reader's open tasks across cases, overdue first, each group by due day."""
    whose = _whose(request)
    today = clocks.today()
    rows = (
        Task.objects.filter(mine(whose), state=TaskState.OPEN)
        .select_related("case")
        .only("uuid", "title", "kind", "due_on", "assignee", "case__uuid", "case__reference")
        .order_by("due_on", "id")
    )
    grouped: dict[str, list[dict]] = {key: [] for key, _label in GROUPS}
    for task in rows:
        grouped[group_of(task, today)].append(
            {
                "task": task,
                "days_late": (today - task.due_on).days,
                "days_left": (task.due_on - today).days,
                "queue": task.assignee_id is None,
            }
        )
    context = {
        "whose": whose,
        "own": whose.pk == request.user.pk,
        "today": today,
        "groups": [{"key": key, "label": label, "rows": grouped[key]} for key, label in GROUPS],
        "total": sum(len(rows) for rows in grouped.values()),
        "can_edit": request.user.has_perm("cases.change_task"),
    }
    return render(request, "cases/my_work.html", context)
