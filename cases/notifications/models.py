"""Who must be notified of a case's events, and each notification owed (GC III Art. 122-123)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models


class NotificationReason(models.TextChoices):
    """What a notification reports (GC III Art. 122-123)."""

    CAPTURE = "capture", "Capture"
    TRANSFER = "transfer", "Transfer"
    HOSPITAL_ADMISSION = "hospital_admission", "Admission to hospital"
    RELEASE = "release", "Release"
    REPATRIATION = "repatriation", "Repatriation"
    ESCAPE = "escape", "Escape"
    DEATH = "death", "Death"


class NotificationState(models.TextChoices):
    """Where a notification stands."""

    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    WITHHELD = "withheld", "Withheld"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"


class NotificationChannel(models.TextChoices):
    """How a notification was transmitted."""

    PROTECTING_POWER = "protecting_power", "Through the Protecting Power"
    ICRC_CTA = "icrc_cta", "Through the ICRC Central Tracing Agency"
    DIRECT = "direct", "Direct"
    DIPLOMATIC_NOTE = "diplomatic_note", "Diplomatic note"
    OTHER = "other", "Other"


class NotificationSettings(models.Model):
    """A case's own list of who must be notified, replacing the defaults.

    A case without a row is notified to the defaults (``services.default_recipients``):
    the Power the person depends on and the tracing agencies the settings name.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="notification_settings"
    )
    recipients = models.ManyToManyField("cases.Party", blank=True, related_name="+")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "notification recipients"
        verbose_name_plural = "notification recipients"
        ordering = ["case_id"]

    def __str__(self):
        return f"Notification recipients of {self.case}"


class Notification(models.Model):
    """One notification owed to one recipient about one event of a case, and what became of it."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey("cases.Party", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=32, choices=NotificationReason.choices)
    # Not a foreign key: the event is appended in the same transaction, and a bulk load
    # numbers events only when it flushes them.
    event_uuid = models.UUIDField(help_text="The timeline event that made it due.")
    occurred_on = models.DateField(help_text="When what it reports happened.")
    due_on = models.DateField(help_text="When it must have been sent.")
    state = models.CharField(
        max_length=16, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    sent_on = models.DateField(null=True, blank=True)
    channel = models.CharField(max_length=32, choices=NotificationChannel.choices, blank=True)
    sent_reference = models.CharField(max_length=200, blank=True)
    withheld_reason = models.TextField(
        blank=True, help_text="Why it was not transmitted. Sensitive: it may name a danger."
    )
    acknowledged_on = models.DateField(null=True, blank=True)
    acknowledgement_reference = models.CharField(max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["case_id", "due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_uuid", "recipient", "reason"], name="notification_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["state", "due_on"], name="notification_state_due")]

    def __str__(self):
        return f"{self.get_reason_display()} of {self.case} to {self.recipient}"

    def clean(self):
        if self.state == NotificationState.WITHHELD and not (self.withheld_reason or "").strip():
            raise ValidationError(
                {"withheld_reason": "Say why it is withheld (e.g. it would endanger the family)."}
            )
