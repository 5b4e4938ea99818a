"""Webhook subscriptions, their attempt log and redeliveries; case officers manage them.

On PostgreSQL an event insert notifies the channel ``tracker_events`` (delivered when the
inserting transaction commits), which wakes the webhook workers (cases/webhooks/engine.py).
"""

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

from cases.security.access import ensure_roles

NOTIFY_CHANNEL = "tracker_events"


def roles_forwards(apps, schema_editor):
    # As 0006: create the new models' permissions now so the groups get the real rows.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    ensure_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def notify_forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # One notification per inserting statement, sent at commit; the payload is empty
    # because a worker reads the feed anyway.
    schema_editor.execute(
        f"""
        CREATE OR REPLACE FUNCTION cases_timelineevent_notify() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
            RETURN NULL;
        END;
        $$;
        DROP TRIGGER IF EXISTS cases_timelineevent_notify ON cases_timelineevent;
        CREATE TRIGGER cases_timelineevent_notify
            AFTER INSERT ON cases_timelineevent
            FOR EACH STATEMENT EXECUTE FUNCTION cases_timelineevent_notify();
        """
    )


def notify_backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "DROP TRIGGER IF EXISTS cases_timelineevent_notify ON cases_timelineevent; "
        "DROP FUNCTION IF EXISTS cases_timelineevent_notify();"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0017_gated_status_base_manager"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterField(
            model_name="accesslogentry",
            name="channel",
            field=models.CharField(
                choices=[
                    ("api", "API"),
                    ("page", "Page"),
                    ("export", "Export"),
                    ("admin", "Admin"),
                    ("webhook", "Webhook"),
                ],
                editable=False,
                max_length=8,
            ),
        ),
        migrations.CreateModel(
            name="WebhookSubscription",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                (
                    "name",
                    models.CharField(
                        help_text="What receives it, e.g. the system.", max_length=100
                    ),
                ),
                ("target_url", models.URLField(max_length=1000)),
                ("secret_sealed", models.TextField(editable=False)),
                (
                    "previous_secret_sealed",
                    models.TextField(blank=True, default="", editable=False),
                ),
                (
                    "previous_secret_expires_at",
                    models.DateTimeField(blank=True, editable=False, null=True),
                ),
                (
                    "event_kinds",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Event kinds to send; empty: every kind.",
                    ),
                ),
                (
                    "subject_types",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="Subject types to send; empty: every type.",
                    ),
                ),
                (
                    "case_filter",
                    models.CharField(
                        blank=True,
                        help_text="A query string of the case list's filters (e.g. status=interned); empty: events of every case and those of no case.",
                        max_length=1000,
                    ),
                ),
                ("active", models.BooleanField(default=True)),
                ("paused_reason", models.TextField(blank=True, default="")),
                ("paused_at", models.DateTimeField(blank=True, null=True)),
                ("position_xact_id", models.BigIntegerField(default=0, editable=False)),
                ("position_event_id", models.BigIntegerField(default=0, editable=False)),
                ("failures", models.PositiveIntegerField(default=0, editable=False)),
                ("failing_since", models.DateTimeField(blank=True, editable=False, null=True)),
                ("next_attempt_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "lease_owner",
                    models.CharField(blank=True, default="", editable=False, max_length=100),
                ),
                ("lease_expires_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
                (
                    "account",
                    models.ForeignKey(
                        help_text="Deliveries hold what this account may read, redacted for it.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="webhook_subscriptions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="WebhookRedelivery",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("event_id", models.BigIntegerField()),
                ("event_uuid", models.UUIDField()),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("failures", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("done_at", models.DateTimeField(blank=True, null=True)),
                (
                    "outcome",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("delivered", "Delivered (2xx)"),
                            ("failed", "Failed (status, timeout or network)"),
                            ("refused", "Refused before sending (target not allowed)"),
                        ],
                        max_length=16,
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "subscription",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="redeliveries",
                        to="cases.webhooksubscription",
                    ),
                ),
            ],
            options={
                "ordering": ["id"],
            },
        ),
        migrations.CreateModel(
            name="WebhookAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "event_uuid",
                    models.UUIDField(help_text="The event, and the webhook-id header sent."),
                ),
                ("event_kind", models.CharField(blank=True, max_length=40)),
                ("attempted_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "attempt",
                    models.PositiveIntegerField(help_text="1 for the first try of this event."),
                ),
                ("redelivery", models.BooleanField(default=False)),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("delivered", "Delivered (2xx)"),
                            ("failed", "Failed (status, timeout or network)"),
                            ("refused", "Refused before sending (target not allowed)"),
                        ],
                        max_length=16,
                    ),
                ),
                ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("latency_ms", models.PositiveIntegerField(blank=True, null=True)),
                ("error", models.CharField(blank=True, max_length=300)),
                ("worker", models.CharField(blank=True, max_length=100)),
                (
                    "subscription",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attempts",
                        to="cases.webhooksubscription",
                    ),
                ),
            ],
            options={
                "ordering": ["-attempted_at", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="webhooksubscription",
            index=models.Index(fields=["active", "lease_expires_at"], name="webhook_due"),
        ),
        migrations.AddIndex(
            model_name="webhookattempt",
            index=models.Index(
                fields=["subscription", "attempted_at"], name="webhook_attempt_sub_at"
            ),
        ),
        migrations.RunPython(roles_forwards, migrations.RunPython.noop),
        migrations.RunPython(notify_forwards, notify_backwards),
    ]
