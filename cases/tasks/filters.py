"""The FilterSet of tasks, shared by the API, the admin and the "My work" page."""

from __future__ import annotations

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from cases.filters import (
    BooleanFilter,
    ChoiceListFilter,
    PublicIdFilter,
    UtcDateTimeFilter,
    _date,
    _ordering,
)
from cases.models import Case
from cases.tasks.models import Task, TaskKind, TaskState

#: ``assignee`` values that are not usernames.
ME, NOBODY = "me", "none"


def mine(user) -> Q:
    """Return the tasks that are ``user``'s: assigned to him, or to nobody on a case he is the
    assigned officer of (that officer's queue)."""
    return Q(assignee_id=user.pk) | Q(assignee__isnull=True, case__assigned_officer_id=user.pk)


class UsernameListField(forms.CharField):
    """A comma-separated list of usernames (or ``me``, ``none``)."""

    def to_python(self, value):
        value = super().to_python(value)
        return [part.strip() for part in value.split(",") if part.strip()] if value else []


@extend_schema_field(OpenApiTypes.STR)
class AssigneeFilter(django_filters.Filter):
    """Match tasks of any of several assignees, by username; ``me`` is the reader's own
    (his, and his cases' unassigned ones), ``none`` the unassigned."""

    field_class = UsernameListField

    def filter(self, qs, value):
        if not value:
            return qs
        condition = Q()
        user = getattr(getattr(self.parent, "request", None), "user", None)
        names = []
        for name in value:
            if name == ME:
                if user is None or not user.is_authenticated:
                    return qs.none()
                condition |= mine(user)
            elif name == NOBODY:
                condition |= Q(assignee__isnull=True)
            else:
                names.append(name)
        if names:
            field = get_user_model().USERNAME_FIELD
            condition |= Q(**{f"assignee__{field}__in": names})
        return qs.filter(condition)


class TaskFilterSet(django_filters.FilterSet):
    """Filters for tasks: case, kind, state, assignee (``me``), due dates, overdue."""

    case = PublicIdFilter(queryset=Case.objects.all(), help_text="Case id; several allowed.")
    kind = ChoiceListFilter(choices=TaskKind.choices)
    state = ChoiceListFilter(choices=TaskState.choices)
    assignee = AssigneeFilter(
        help_text="Usernames, comma-separated; me: your own tasks and your cases' unassigned "
        "ones; none: unassigned."
    )
    overdue = BooleanFilter(
        method="filter_overdue",
        help_text="true: open past the due day (today); false: all others.",
    )
    due_after = _date("due_on", "gte")
    due_before = _date("due_on", "lte")
    done_after = UtcDateTimeFilter(field_name="done_at", lookup_expr="gte")
    done_before = UtcDateTimeFilter(field_name="done_at", lookup_expr="lte")
    subject = django_filters.UUIDFilter(
        field_name="subject_uuid", help_text="Id of the row a rule's task is about."
    )
    subject_type = django_filters.CharFilter(
        help_text="What a rule's task is about: movement, notification or request."
    )
    q = django_filters.CharFilter(
        field_name="title", lookup_expr="icontains", label="Search", help_text="Part of the title."
    )
    ordering = _ordering("due_on", "updated_at", "created_at")

    class Meta:
        model = Task
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        """Match tasks open past their due day as of today (or all the others)."""
        if value is None:
            return queryset
        late = Q(state=TaskState.OPEN, due_on__lt=timezone.localdate())
        return queryset.filter(late if value else ~late)
