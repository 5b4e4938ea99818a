"""Harden the history: no TRUNCATE, a purge function, and a hash chain over every event.

* PostgreSQL: ``BEFORE TRUNCATE`` triggers on the timeline and the access log, and the
  SECURITY DEFINER purge function (``cases.dbguards``).
* Every event gets ``prev_hash`` and ``hash`` (``cases.timeline.chain``); existing events are
  chained here, in the order the chain check reads them.
* ``recorded_at`` is set before the insert (a default, not ``auto_now_add``) because the
  hash covers it; the column is unchanged, so that part touches only Django's state.

On SQLite adding a column rebuilds the table, which drops its triggers: they are put back at
the end. On PostgreSQL the update guard is disabled for the fill only, inside this
migration's transaction.
"""

import django.utils.timezone
from django.db import migrations, models

from cases.dbguards import (
    TIMELINE_TABLE,
    install_current_timeline_guards,
    install_history_truncate_guards,
    remove_history_truncate_guards,
)
from cases.timeline import chain as timeline_chain


def chain_existing_events(apps, schema_editor):
    TimelineEvent = apps.get_model("cases", "TimelineEvent")
    connection = schema_editor.connection
    on_postgresql = connection.vendor == "postgresql"
    if on_postgresql:
        schema_editor.execute(
            f"ALTER TABLE {TIMELINE_TABLE} DISABLE TRIGGER cases_timeline_append_only_v2"
        )
    pending = []
    chain, prev = None, timeline_chain.GENESIS
    for row in timeline_chain.ordered_rows(TimelineEvent.objects.all()):
        key = timeline_chain.chain_key(row)
        if key != chain:
            chain, prev = key, timeline_chain.GENESIS
        salt = timeline_chain.new_salt()
        digest = timeline_chain.row_hash({**row, "hash_salt": salt}, prev_hash=prev)
        pending.append((row["id"], prev, salt, digest))
        prev = digest
        if len(pending) >= 1000:
            _store(connection, pending)
            pending = []
    if pending:
        _store(connection, pending)
    if on_postgresql:
        schema_editor.execute(
            f"ALTER TABLE {TIMELINE_TABLE} ENABLE TRIGGER cases_timeline_append_only_v2"
        )


def _store(connection, rows):
    """Write (id, prev_hash, hash_salt, hash) rows in one statement (bulk_update is slower)."""
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {TIMELINE_TABLE} SET prev_hash = v.column2, hash_salt = v.column3, "
            "hash = v.column4 "
            f"FROM (VALUES {values}) AS v WHERE {TIMELINE_TABLE}.id = v.column1",
            [value for row in rows for value in row],
        )


def install_guards(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "sqlite":
        install_current_timeline_guards(connection)
    install_history_truncate_guards(connection)


def remove_guards(apps, schema_editor):
    remove_history_truncate_guards(schema_editor.connection)


def reinstall_sqlite_guards(apps, schema_editor):
    # Going back also rebuilds the table on SQLite (the columns are dropped).
    if schema_editor.connection.vendor == "sqlite":
        install_current_timeline_guards(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0014_consent_earned_verification_risk"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, reinstall_sqlite_guards),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="timelineevent",
                    name="recorded_at",
                    field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
        ),
        migrations.AddField(
            model_name="timelineevent",
            name="hash",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="timelineevent",
            name="hash_salt",
            field=models.CharField(blank=True, default="", editable=False, max_length=32),
        ),
        migrations.AddField(
            model_name="timelineevent",
            name="prev_hash",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddIndex(
            model_name="timelineevent",
            index=models.Index(
                condition=models.Q(("case__isnull", True), ("person__isnull", True)),
                fields=["id"],
                name="event_global_chain",
            ),
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.RunPython(install_guards, remove_guards),
    ]
