"""Webhook subscriptions, the attempt log and the queue of single redeliveries."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AttemptOutcome(models.TextChoices):
    """How one delivery attempt ended."""

    DELIVERED = "delivered", "Delivered (2xx)"
    FAILED = "failed", "Failed (status, timeout or network)"
    REFUSED = "refused", "Refused before sending (target not allowed)"


class WebhookSubscription(models.Model):
    """A target that receives the change feed, as one account may read it, signed."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100, help_text="What receives it, e.g. the system.")
    target_url = models.URLField(max_length=1000)
    # Fernet tokens (cases/webhooks/crypto.py): a database read alone does not reveal them.
    secret_sealed = models.TextField(editable=False)
    previous_secret_sealed = models.TextField(blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    event_kinds = models.JSONField(
        default=list, blank=True, help_text="Event kinds to send; empty: every kind."
    )
    subject_types = models.JSONField(
        default=list, blank=True, help_text="Subject types to send; empty: every type."
    )
    case_filter = models.CharField(
        max_length=1000,
        blank=True,
        help_text="A query string of the case list's filters (e.g. status=interned); "
        "empty: events of every case and those of no case.",
    )
    account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="webhook_subscriptions",
        help_text="Deliveries hold what this account may read, redacted for it.",
    )
    active = models.BooleanField(default=True)
    paused_reason = models.TextField(blank=True, default="")
    paused_at = models.DateTimeField(null=True, blank=True)
    # The subscription's own place in feed order (cases/feed/cursor.py's Position).
    position_xact_id = models.BigIntegerField(default=0, editable=False)
    position_event_id = models.BigIntegerField(default=0, editable=False)
    # Retries of the event at the head of the queue.
    failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Which worker delivers it, until when (renewed before every delivery).
    lease_owner = models.CharField(max_length=100, blank=True, default="", editable=False)
    lease_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Of the settings an editor changes (URL, filters, account, name); the workers' writes
    # (position, retries, lease) leave it alone.
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["active", "lease_expires_at"], name="webhook_due")]

    def __str__(self):
        return f"{self.name} ({self.target_url})"


class WebhookAttempt(models.Model):
    """One delivery attempt: when, to where, how it ended. Never the payload."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="attempts"
    )
    event_uuid = models.UUIDField(help_text="The event, and the webhook-id header sent.")
    event_kind = models.CharField(max_length=40, blank=True)
    attempted_at = models.DateTimeField(default=timezone.now)
    attempt = models.PositiveIntegerField(help_text="1 for the first try of this event.")
    redelivery = models.BooleanField(default=False)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [
            models.Index(fields=["subscription", "attempted_at"], name="webhook_attempt_sub_at")
        ]

    def __str__(self):
        return f"{self.event_uuid} -> {self.outcome} {self.status_code or ''}".strip()


class WebhookChangeAction(models.TextChoices):
    """What was done to a subscription."""

    EDITED = "edited", "Edited"
    REPLAYED = "replayed", "Replayed"


class WebhookSubscriptionChange(models.Model):
    """Who changed a subscription's settings or moved its position, when, and how."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="changes"
    )
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=16, choices=WebhookChangeAction.choices)
    #: ``{field: [old, new]}``; a replay lists ``position`` (feed cursors) and what it was
    #: asked for (``since`` or ``after``).
    changes = models.JSONField(default=dict)
    summary = models.CharField(max_length=300)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return self.summary


class WebhookRedelivery(models.Model):
    """A request to send one event again to one subscription, outside its cursor."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="redeliveries"
    )
    # No foreign key: a purge may delete the event; the redelivery is then dropped.
    event_id = models.BigIntegerField()
    event_uuid = models.UUIDField()
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, blank=True, choices=AttemptOutcome.choices)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"redeliver {self.event_uuid}"
