"""Merged duplicates: the tombstone fields, the merge record, the merge events, and indexes.

The indexes serve the duplicate check's blocking lookups on PostgreSQL (plain SQL behind a
vendor check, as in ``0007`` and ``0009``-``0012``): working names compared lower-cased,
birth dates, and service numbers. Name variants' ``search_key`` is indexed already.
"""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from cases.migrations._postgres import postgres_indexes

#: (name, definition) of the duplicate check's indexes.
INDEXES = [
    ("person_working_name_lower", "cases_person (lower(working_name))"),
    ("person_birth_date", "cases_person (birth_date)"),
    ("person_service_number", "cases_person (service_number)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0024_notifications"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="merged_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="person",
            name="merged_into",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="merged_from",
                to="cases.person",
            ),
        ),
        migrations.AlterField(
            model_name="timelineevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("case.opened", "Case opened"),
                    ("case.updated", "Case updated"),
                    ("case.status_changed", "Case status changed"),
                    ("person.created", "Person created"),
                    ("person.updated", "Person updated"),
                    ("intention.recorded", "Intention recorded"),
                    ("intention.superseded", "Intention superseded"),
                    ("intention.withdrawn", "Intention withdrawn"),
                    ("intention.contested", "Intention contested"),
                    ("intention.invalidated", "Intention invalidated"),
                    ("request.drafted", "Request drafted"),
                    ("request.filed", "Request filed"),
                    ("request.updated", "Request updated"),
                    ("request.status_changed", "Request status changed"),
                    ("position.recorded", "Position recorded"),
                    ("note.added", "Note added"),
                    ("occurrence.recorded", "Occurrence recorded"),
                    ("party.created", "Party created"),
                    ("party.updated", "Party updated"),
                    ("source.created", "Source created"),
                    ("source.updated", "Source updated"),
                    ("risk.assessed", "Risk on return assessed"),
                    ("case.archived", "Case archived"),
                    ("case.unarchived", "Case unarchived"),
                    ("case.purged", "Case purged"),
                    ("person.archived", "Person archived"),
                    ("person.unarchived", "Person unarchived"),
                    ("person.merged", "Person merged into another"),
                    ("person.unmerged", "Person merge undone"),
                    ("intention.archived", "Intention archived"),
                    ("intention.unarchived", "Intention unarchived"),
                    ("request.archived", "Request archived"),
                    ("request.unarchived", "Request unarchived"),
                    ("identity_document.recorded", "Identity document recorded"),
                    ("identity_document.updated", "Identity document updated"),
                    ("external_identifier.recorded", "External identifier recorded"),
                    ("external_identifier.updated", "External identifier updated"),
                    ("nationality_claim.recorded", "Nationality claim recorded"),
                    ("nationality_claim.updated", "Nationality claim updated"),
                    ("place.created", "Place of detention created"),
                    ("place.updated", "Place of detention updated"),
                    ("movement.recorded", "Movement recorded"),
                    ("capture_card.recorded", "Capture card recorded"),
                    ("capture_card.updated", "Capture card updated"),
                    ("notification.opened", "Notifications opened"),
                    ("notification.sent", "Notification sent"),
                    ("notification.withheld", "Notification withheld"),
                    ("notification.acknowledged", "Notification acknowledged"),
                    ("notification.recipients_set", "Notification recipients set"),
                ],
                max_length=40,
            ),
        ),
        migrations.CreateModel(
            name="PersonMerge",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("uuid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                ("merged_at", models.DateTimeField()),
                ("merged_by_label", models.CharField(blank=True, max_length=200)),
                ("reason", models.TextField()),
                ("moved", models.JSONField(blank=True, default=dict)),
                ("dropped_names", models.JSONField(blank=True, default=list)),
                ("undone_at", models.DateTimeField(blank=True, null=True)),
                ("undone_by_label", models.CharField(blank=True, max_length=200)),
                ("undo_reason", models.TextField(blank=True)),
                ("version", models.PositiveIntegerField(default=1)),
                (
                    "merged",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="merges_as_duplicate",
                        to="cases.person",
                    ),
                ),
                (
                    "merged_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "survivor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="merges_received",
                        to="cases.person",
                    ),
                ),
            ],
            options={
                "ordering": ["-merged_at", "-id"],
                "indexes": [models.Index(fields=["merged", "undone_at"], name="personmerge_open")],
            },
        ),
        postgres_indexes(INDEXES),
    ]
