"""The API's rate-limit counters: one row per scope and credential, UNLOGGED on PostgreSQL."""

from django.db import migrations, models


def unlogged(apps, schema_editor):
    """Make the counters' table UNLOGGED on PostgreSQL: counting then waits for no disk flush.

    A transaction that wrote only unlogged tables commits without flushing the write-ahead
    log, and the counters' writes are not replicated (the router sends them to the primary
    only). A crash empties the table, which only restarts the current windows.
    """
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("cases", "RateLimitCounter")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET UNLOGGED")


def logged(apps, schema_editor):
    """Make the table an ordinary one again before it is dropped."""
    if schema_editor.connection.vendor == "postgresql":
        table = schema_editor.quote_name(apps.get_model("cases", "RateLimitCounter")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET LOGGED")


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0031_account_preferences"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateLimitCounter",
            fields=[
                ("key", models.CharField(max_length=255, primary_key=True, serialize=False)),
                ("window_end", models.BigIntegerField()),
                ("count", models.IntegerField()),
            ],
            options={
                "verbose_name": "rate-limit counter",
            },
        ),
        migrations.RunPython(unlogged, logged),
    ]
