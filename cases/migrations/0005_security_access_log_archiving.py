"""Add the access log (append-only in the database), archive stamps and version columns.

Parties and sources get a version column; until now the API derived their version from the
number of timeline events about the row, so existing rows start at that count and clients'
versions stay valid.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import Count

from cases.dbguards import install_access_log_guards, remove_access_log_guards


def install_guards(apps, schema_editor):
    install_access_log_guards(schema_editor.connection)


def remove_guards(apps, schema_editor):
    remove_access_log_guards(schema_editor.connection)


def versions_from_events(apps, schema_editor):
    TimelineEvent = apps.get_model("cases", "TimelineEvent")
    for subject_type, model_name in (("party", "Party"), ("source", "Source")):
        model = apps.get_model("cases", model_name)
        counts = (
            TimelineEvent.objects.filter(subject_type=subject_type)
            .order_by()
            .values("subject_uuid")
            .annotate(n=Count("pk"))
        )
        for row in counts:
            model.objects.filter(uuid=row["subject_uuid"]).update(version=max(row["n"], 1))


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_api_tokens"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="case",
            options={
                "ordering": ["reference"],
                "permissions": [
                    ("view_sensitive", "Can view sensitive fields"),
                    ("export_cases", "Can export cases"),
                ],
            },
        ),
        migrations.AddField(
            model_name="case",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="party",
            name="version",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="person",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="request",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="source",
            name="version",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="statedintention",
            name="archived_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="AccessLogEntry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("response_id", models.UUIDField(db_index=True, editable=False)),
                ("at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("username", models.CharField(blank=True, editable=False, max_length=150)),
                ("token_label", models.CharField(blank=True, editable=False, max_length=100)),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("api", "API"),
                            ("page", "Page"),
                            ("export", "Export"),
                            ("admin", "Admin"),
                        ],
                        editable=False,
                        max_length=8,
                    ),
                ),
                (
                    "path",
                    models.CharField(
                        blank=True,
                        editable=False,
                        help_text="Request path, no query string.",
                        max_length=500,
                    ),
                ),
                ("object_type", models.CharField(editable=False, max_length=32)),
                ("object_uuid", models.UUIDField(blank=True, editable=False, null=True)),
                (
                    "fields",
                    models.JSONField(
                        blank=True,
                        default=list,
                        editable=False,
                        help_text="Sensitive fields shown.",
                    ),
                ),
                (
                    "extra",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        editable=False,
                        help_text="Exports: filter and row count.",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "access-log entry",
                "verbose_name_plural": "access log",
                "ordering": ["-at", "-id"],
                "indexes": [
                    models.Index(fields=["object_uuid", "at"], name="accesslog_object_at"),
                    models.Index(fields=["user", "at"], name="accesslog_user_at"),
                    models.Index(fields=["channel", "at"], name="accesslog_channel_at"),
                    models.Index(fields=["at"], name="accesslog_at"),
                ],
            },
        ),
        migrations.RunPython(versions_from_events, migrations.RunPython.noop),
        migrations.RunPython(install_guards, remove_guards),
    ]
