"""Who must be notified of a case's events, and each notification owed (GC III Art. 122-123)."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationReason(models.TextChoices):
    """What a notification reports (GC III Art. 122-123)."""

    CAPTURE = "capture", _("Capture")
    TRANSFER = "transfer", _("Transfer")
    HOSPITAL_ADMISSION = "hospital_admission", _("Admission to hospital")
    RELEASE = "release", _("Release")
    REPATRIATION = "repatriation", _("Repatriation")
    ESCAPE = "escape", _("Escape")
    DEATH = "death", _("Death")


class NotificationState(models.TextChoices):
    """Where a notification stands."""

    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    WITHHELD = "withheld", _("Withheld")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")


class NotificationChannel(models.TextChoices):
    """How a notification was transmitted."""

    PROTECTING_POWER = "protecting_power", _("Through the Protecting Power")
    ICRC_CTA = "icrc_cta", _("Through the ICRC Central Tracing Agency")
    DIRECT = "direct", _("Direct")
    DIPLOMATIC_NOTE = "diplomatic_note", _("Diplomatic note")
    OTHER = "other", _("Other")


class NotificationSettings(models.Model):
    """A case's own list of who must be notified, replacing the defaults.

    A case without a row is notified to the defaults (``services.default_recipients``):
    the Power the person depends on and the tracing agencies the settings name.
    """

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.OneToOneField(
        "cases.Case",
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="notification_settings",
    )
    recipients = models.ManyToManyField(
        "cases.Party", verbose_name=_("recipients"), blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notification recipients")
        verbose_name_plural = _("notification recipients")
        ordering = ["case_id"]

    def __str__(self):
        return f"Notification recipients of {self.case}"


class Notification(models.Model):
    """One notification owed to one recipient about one event of a case, and what became of it."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("case"), on_delete=models.PROTECT, related_name="notifications"
    )
    recipient = models.ForeignKey(
        "cases.Party", verbose_name=_("recipient"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(
        verbose_name=_("reason"), max_length=32, choices=NotificationReason.choices
    )
    # Not a foreign key: the event is appended in the same transaction, and a bulk load
    # numbers events only when it flushes them.
    event_uuid = models.UUIDField(
        verbose_name=_("event uuid"), help_text=_("The timeline event that made it due.")
    )
    occurred_on = models.DateField(
        verbose_name=_("occurred on"), help_text=_("When what it reports happened.")
    )
    due_on = models.DateField(verbose_name=_("due on"), help_text=_("When it must have been sent."))
    state = models.CharField(
        verbose_name=_("state"),
        max_length=16,
        choices=NotificationState.choices,
        default=NotificationState.PENDING,
    )
    sent_on = models.DateField(verbose_name=_("sent on"), null=True, blank=True)
    channel = models.CharField(
        verbose_name=_("channel"), max_length=32, choices=NotificationChannel.choices, blank=True
    )
    sent_reference = models.CharField(verbose_name=_("sent reference"), max_length=200, blank=True)
    withheld_reason = models.TextField(
        verbose_name=_("withheld reason"),
        blank=True,
        help_text=_("Why it was not transmitted. Sensitive: it may name a danger."),
    )
    acknowledged_on = models.DateField(verbose_name=_("acknowledged on"), null=True, blank=True)
    acknowledgement_reference = models.CharField(
        verbose_name=_("acknowledgement reference"), max_length=200, blank=True
    )
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    class Meta:
        ordering = ["case_id", "due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event_uuid", "recipient", "reason"], name="notification_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["state", "due_on"], name="notification_state_due")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self):
        return f"{self.get_reason_display()} of {self.case} to {self.recipient}"

    def clean(self):
        if self.state == NotificationState.WITHHELD and not (self.withheld_reason or "").strip():
            raise ValidationError(
                {
                    "withheld_reason": _(
                        "Say why it is withheld (e.g. it would endanger the family)."
                    )
                }
            )
