"""Add the archive and purge event kinds, and let a purge through the timeline's delete guard.

The guard's version 2 still refuses every update, and refuses a delete unless the
transaction turned the purge on (``cases.dbguards.timeline_purge_allowed``).
"""

from django.db import migrations, models

from cases.dbguards import install_timeline_purge_guard, remove_timeline_purge_guard


def install_guard(apps, schema_editor):
    if schema_editor.connection.vendor in ("postgresql", "sqlite"):
        install_timeline_purge_guard(schema_editor.connection)


def remove_guard(apps, schema_editor):
    if schema_editor.connection.vendor in ("postgresql", "sqlite"):
        remove_timeline_purge_guard(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0007_performance_indexes"),
    ]

    operations = [
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
                    ("case.archived", "Case archived"),
                    ("case.unarchived", "Case unarchived"),
                    ("case.purged", "Case purged"),
                    ("person.archived", "Person archived"),
                    ("person.unarchived", "Person unarchived"),
                    ("intention.archived", "Intention archived"),
                    ("intention.unarchived", "Intention unarchived"),
                    ("request.archived", "Request archived"),
                    ("request.unarchived", "Request unarchived"),
                ],
                max_length=40,
            ),
        ),
        migrations.RunPython(install_guard, remove_guard),
    ]
