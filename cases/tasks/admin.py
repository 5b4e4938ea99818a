"""Tasks in the case officers' admin: an inline on the case page and a list of their own.

A task is written by hand on the case page (the inline; without an assignee it goes to the
case's assigned officer); its own page changes it against its version, or marks it done or
cancelled. Tasks the clocks open and close (docs/tasks.md) are listed with the others.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cases.admin.forms import InlineAddForm, VersionedAdminForm
from cases.admin.mixins import (
    AddOnlyInline,
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    SensitiveInlineMixin,
    ServiceModelAdmin,
    TimelineChangeLogMixin,
    admin_actor,
    adopt,
    refuse,
)
from cases.models import TimelineEvent
from cases.security import sensitive
from cases.services.base import StaleObjectError
from cases.tasks import services
from cases.tasks.filters import TaskFilterSet
from cases.tasks.models import Task, TaskState


class NoLoginShortcutsMixin:
    """No links beside ``assignee`` to add, change, view or delete a login (logins are
    managed elsewhere), as beside the case's assigned officer."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "assignee" and formfield is not None:
            for flag in (
                "can_add_related",
                "can_change_related",
                "can_delete_related",
                "can_view_related",
            ):
                setattr(formfield.widget, flag, False)
        return formfield


class TaskInline(NoLoginShortcutsMixin, SensitiveInlineMixin, AddOnlyInline, admin.TabularInline):
    """The case's tasks: add one here; open one's page to change it or mark it done."""

    model = Task
    fk_name = "case"
    form = InlineAddForm
    verbose_name = _("task")
    verbose_name_plural = _("tasks (open one to mark it done)")
    sensitive_form_fields = sensitive.TASK_FIELDS
    fields = ("title", "details", "assignee", "due_on", "state", "kind", "task_page")
    readonly_fields = ("state", "kind", "task_page")
    autocomplete_fields = ()

    def has_change_permission(self, request, obj=None):
        # Rows are read-only here; the change link goes to the task's own page.
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("assignee").order_by("state", "due_on")

    @admin.display(description=_("its page"))
    def task_page(self, obj):
        """Link a recorded task's own page by words that say what is there, not "View"."""
        if obj is None or obj.pk is None:
            return ""
        url = reverse("admin:cases_task_change", args=[obj.pk])
        return format_html(
            '<a href="{}">{}</a>', url, _("Open the task: change it or mark it done")
        )


class CaseTasksAdminMixin:
    """What the case page adds for tasks: the inline's saver (``add_task``)."""

    tasks_inlines = (TaskInline,)

    def add_task(self, request, form, data):
        """Write a task by hand on the case."""
        fields = {"details": data.get("details") or ""}
        if data.get("assignee") is not None:
            fields["assignee"] = data["assignee"]
        return services.task_open(
            actor=admin_actor(request),
            case=form.instance,
            title=data["title"],
            due_on=data["due_on"],
            **fields,
        )


class TaskForm(VersionedAdminForm):
    """A task's change form: its fields, or closing it (done, cancelled), against its version."""

    ACTS = (
        ("", _("Keep it open")),
        ("done", _("Mark it done")),
        ("cancel", _("Cancel it")),
    )
    act = forms.ChoiceField(choices=ACTS, required=False, label=_("Close"))

    class Meta:
        model = Task
        fields = ("title", "details", "assignee", "due_on", "version")

    def clean(self):
        cleaned = super().clean()
        edited = [name for name in services.TASK_FIELDS if name in self.changed_data]
        if cleaned.get("act") and edited:
            raise ValidationError(
                _("Save your changes first, or close the task without changing it.")
            )
        return cleaned


class OverdueTaskFilter(admin.SimpleListFilter):
    """Open tasks past their due day (``TaskFilterSet.overdue``)."""

    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return (("true", _("Overdue")), ("false", _("Not overdue")))

    def queryset(self, request, queryset):
        value = self.value()
        if value not in ("true", "false"):
            return queryset
        return TaskFilterSet({"overdue": value}, queryset=queryset, request=request).qs


@admin.register(Task)
class TaskAdmin(
    NoLoginShortcutsMixin,
    DeclaredLookupsMixin,
    TimelineChangeLogMixin,
    SensitiveAdminMixin,
    ServiceModelAdmin,
):
    """Tasks across cases; each change lands on the case's timeline."""

    form = TaskForm
    sensitive_form_fields = sensitive.TASK_FIELDS
    list_display = ("title", "case", "kind", "assignee", "due_on", "state", "is_overdue")
    list_filter = (OverdueTaskFilter, "state", "kind")
    list_select_related = ("case", "assignee")
    search_fields = ("case__reference", "title")
    ordering = ("due_on", "id")
    readonly_fields = (
        "case",
        "kind",
        "state",
        "done_at",
        "done_by",
        "subject_type",
        "subject_uuid",
    )
    fieldsets = (
        (None, {"fields": (("case", "kind"), ("state", "done_at", "done_by"))}),
        (_("The task"), {"fields": ("title", "details", ("assignee", "due_on"))}),
        (_("About (a rule's task)"), {"fields": (("subject_type", "subject_uuid"),)}),
        (_("This change"), {"fields": ("act", "reason", "version")}),
    )

    def has_add_permission(self, request):
        # Written on the case page, beside the case's other tasks.
        return False

    def history_events(self, obj):
        return TimelineEvent.objects.filter(subject_uuid=obj.uuid)

    @admin.display(boolean=True, description=_("overdue"))
    def is_overdue(self, obj):
        return obj.state == TaskState.OPEN and obj.due_on < timezone.localdate()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        common = {
            "actor": admin_actor(request),
            "task": obj,
            "expected_version": data.get("version"),
            "reason": data.get("reason", ""),
        }
        try:
            if data.get("act") == "done":
                saved = services.task_done(**common)
            elif data.get("act") == "cancel":
                saved = services.task_cancel(**common)
            else:
                changed = {n: data[n] for n in services.TASK_FIELDS if n in form.changed_data}
                saved = services.task_update(**common, **changed)
        except (ValidationError, StaleObjectError) as exc:
            raise refuse(exc, form) from exc
        adopt(obj, saved)
