"""Tasks on a case: what must be done, by whom, by when, and whether it was."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy


class TaskKind(models.TextChoices):
    """Who made a task: an officer by hand, or the rule (the clock) that opened it."""

    MANUAL = "manual", _("Written by hand")
    CAPTURE_CARD = "capture_card", _("Capture card due (GC III Art. 70)")
    NOTIFICATION = "notification", _("Notification pending (GC III Art. 122-123)")
    CONSENT_STALE = "consent_stale", _("Consent goes stale before a scheduled handover")
    REQUEST_UNANSWERED = "request_unanswered", _("Request without an answer")


#: Task kinds a rule opens and closes (all but ``manual``).
RULE_KINDS = frozenset(TaskKind.values) - {TaskKind.MANUAL}
#: What an officer writes on a task, by hand or later; what a task's opening event lists.
TASK_FIELDS = ("title", "details", "assignee", "due_on")


class TaskState(models.TextChoices):
    """Where a task stands."""

    OPEN = "open", _("Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Task(models.Model):
    """Something to do on a case by a day; a rule's task names the row its clock is about."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="tasks"
    )
    title = models.CharField(verbose_name=_("title"), max_length=200)
    details = models.TextField(verbose_name=_("details"), blank=True)
    kind = models.CharField(
        verbose_name=_("kind"), max_length=24, choices=TaskKind.choices, default=TaskKind.MANUAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
        help_text=_("Empty: the case's assigned officer's queue (nobody, if the case has none)."),
    )
    due_on = models.DateField(verbose_name=_("due on"))
    state = models.CharField(
        verbose_name=pgettext_lazy("where it stands", "state"),
        max_length=16,
        choices=TaskState.choices,
        default=TaskState.OPEN,
    )
    done_at = models.DateTimeField(verbose_name=_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Not foreign keys: a rule's task is built in the same service call as the row it is
    # about (a notification gets its key only when stored, after the event that lists both).
    subject_type = models.CharField(
        verbose_name=_("subject type"),
        max_length=32,
        blank=True,
        help_text=_("What a rule's task is about: movement, notification or request."),
    )
    subject_uuid = models.UUIDField(verbose_name=_("subject uuid"), null=True, blank=True)
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        app_label = "cases"
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "id"]
        # Stored English; translated where shown (cases/admin/accounts.py).
        permissions = [
            ("view_others_tasks", gettext_noop("Can see other officers' open tasks (My work)"))
        ]
        constraints = [
            # A rule opens at most one open task per object: running it again finds that one.
            models.UniqueConstraint(
                fields=["kind", "subject_uuid"],
                condition=Q(state="open") & ~Q(kind="manual"),
                name="task_one_open_per_rule_subject",
            ),
            models.CheckConstraint(
                condition=Q(kind="manual") | Q(subject_uuid__isnull=False),
                name="task_rule_names_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_on"], name="task_state_due"),
            models.Index(fields=["assignee", "state", "due_on"], name="task_assignee_state_due"),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        if self.kind != TaskKind.MANUAL and self.subject_uuid is None:
            raise ValidationError({"kind": _("A rule's task names the row it is about.")})
