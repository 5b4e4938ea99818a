"""Webhook subscriptions, the attempt log and the queue of single redeliveries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AttemptOutcome(models.TextChoices):
    """How one delivery attempt ended."""

    DELIVERED = "delivered", _("Delivered (2xx)")
    FAILED = "failed", _("Failed (status, timeout or network)")
    REFUSED = "refused", _("Refused before sending (target not allowed)")


class WebhookSubscription(models.Model):
    """A target that receives the change feed, as one account may read it, signed."""

    uuid = models.UUIDField(verbose_name=_("uuid"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(
        verbose_name=_("name"), max_length=100, help_text=_("What receives it, e.g. the system.")
    )
    target_url = models.URLField(verbose_name=_("target url"), max_length=1000)
    # Fernet tokens (cases/webhooks/crypto.py): a database read alone does not reveal them.
    secret_sealed = models.TextField(verbose_name=_("secret sealed"), editable=False)
    previous_secret_sealed = models.TextField(
        verbose_name=_("previous secret sealed"), blank=True, default="", editable=False
    )
    previous_secret_expires_at = models.DateTimeField(
        verbose_name=_("previous secret expires at"), null=True, blank=True, editable=False
    )
    event_kinds = models.JSONField(
        verbose_name=_("event kinds"),
        default=list,
        blank=True,
        help_text=_("Event kinds to send; empty: every kind."),
    )
    subject_types = models.JSONField(
        verbose_name=_("subject types"),
        default=list,
        blank=True,
        help_text=_("Subject types to send; empty: every type."),
    )
    case_filter = models.CharField(
        verbose_name=_("case filter"),
        max_length=1000,
        blank=True,
        help_text=_(
            "A query string of the case list's filters (e.g. status=interned); "
            "empty: events of every case and those of no case."
        ),
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        help_text=_("Deliveries hold what this account may read, redacted for it."),
    )
    active = models.BooleanField(verbose_name=_("active"), default=True)
    paused_reason = models.TextField(verbose_name=_("paused reason"), blank=True, default="")
    paused_at = models.DateTimeField(verbose_name=_("paused at"), null=True, blank=True)
    # The subscription's own place in feed order (cases/feed/cursor.py's Position).
    position_xact_id = models.BigIntegerField(
        verbose_name=_("position xact id"), default=0, editable=False
    )
    position_event_id = models.BigIntegerField(
        verbose_name=_("position event id"), default=0, editable=False
    )
    # Retries of the event at the head of the queue.
    failures = models.PositiveIntegerField(verbose_name=_("failures"), default=0, editable=False)
    failing_since = models.DateTimeField(
        verbose_name=_("failing since"), null=True, blank=True, editable=False
    )
    next_attempt_at = models.DateTimeField(
        verbose_name=_("next attempt at"), null=True, blank=True, editable=False
    )
    # Which worker delivers it, until when (renewed before every delivery).
    lease_owner = models.CharField(
        verbose_name=_("lease owner"), max_length=100, blank=True, default="", editable=False
    )
    lease_expires_at = models.DateTimeField(
        verbose_name=_("lease expires at"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(
        verbose_name=_("created at"), default=timezone.now, editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Of the settings an editor changes (URL, filters, account, name); the workers' writes
    # (position, retries, lease) leave it alone.
    version = models.PositiveIntegerField(verbose_name=_("version"), default=1, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["active", "lease_expires_at"], name="webhook_due")]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self):
        return f"{self.name} ({self.target_url})"


class WebhookAttempt(models.Model):
    """One delivery attempt: when, to where, how it ended. Never the payload."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="attempts",
    )
    event_uuid = models.UUIDField(
        verbose_name=_("event uuid"), help_text=_("The event, and the webhook-id header sent.")
    )
    event_kind = models.CharField(verbose_name=_("event kind"), max_length=40, blank=True)
    attempted_at = models.DateTimeField(verbose_name=_("attempted at"), default=timezone.now)
    attempt = models.PositiveIntegerField(
        verbose_name=_("attempt"), help_text=_("1 for the first try of this event.")
    )
    redelivery = models.BooleanField(verbose_name=_("redelivery"), default=False)
    outcome = models.CharField(
        verbose_name=_("outcome"), max_length=16, choices=AttemptOutcome.choices
    )
    status_code = models.PositiveSmallIntegerField(
        verbose_name=_("status code"), null=True, blank=True
    )
    latency_ms = models.PositiveIntegerField(verbose_name=_("latency ms"), null=True, blank=True)
    error = models.CharField(verbose_name=_("error"), max_length=300, blank=True)
    worker = models.CharField(verbose_name=_("worker"), max_length=100, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [
            models.Index(fields=["subscription", "attempted_at"], name="webhook_attempt_sub_at")
        ]
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")

    def __str__(self):
        return f"{self.event_uuid} -> {self.outcome} {self.status_code or ''}".strip()


class WebhookChangeAction(models.TextChoices):
    """What was done to a subscription."""

    EDITED = "edited", _("Edited")
    REPLAYED = "replayed", _("Replayed")


class WebhookSubscriptionChange(models.Model):
    """Who changed a subscription's settings or moved its position, when, and how."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="changes",
    )
    changed_at = models.DateTimeField(verbose_name=_("changed at"), default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(
        verbose_name=_("action"), max_length=16, choices=WebhookChangeAction.choices
    )
    #: ``{field: [old, new]}``; a replay lists ``position`` (feed cursors) and what it was
    #: asked for (``since`` or ``after``).
    changes = models.JSONField(verbose_name=_("changes"), default=dict)
    summary = models.CharField(verbose_name=_("summary"), max_length=300)

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("webhook subscription change")
        verbose_name_plural = _("webhook subscription changes")

    def __str__(self):
        return self.summary


class WebhookRedelivery(models.Model):
    """A request to send one event again to one subscription, outside its cursor."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="redeliveries",
    )
    # No foreign key: a purge may delete the event; the redelivery is then dropped.
    event_id = models.BigIntegerField(verbose_name=_("event id"))
    event_uuid = models.UUIDField(verbose_name=_("event uuid"))
    requested_at = models.DateTimeField(verbose_name=_("requested at"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    failures = models.PositiveIntegerField(verbose_name=_("failures"), default=0)
    next_attempt_at = models.DateTimeField(verbose_name=_("next attempt at"), null=True, blank=True)
    done_at = models.DateTimeField(verbose_name=_("done at"), null=True, blank=True)
    outcome = models.CharField(
        verbose_name=_("outcome"), max_length=16, blank=True, choices=AttemptOutcome.choices
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook redelivery")
        verbose_name_plural = _("webhook redeliveries")

    def __str__(self):
        return f"redeliver {self.event_uuid}"
