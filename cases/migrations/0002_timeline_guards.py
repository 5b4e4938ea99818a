"""Make the timeline append-only in the database and stamp PostgreSQL transaction ids."""

from django.db import migrations

from cases.dbguards import install_timeline_guards, remove_timeline_guards


def forwards(apps, schema_editor):
    install_timeline_guards(schema_editor.connection)


def backwards(apps, schema_editor):
    remove_timeline_guards(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
