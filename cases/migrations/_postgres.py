"""The operation shared by the migrations that add PostgreSQL-only indexes (0007, 0009-0012).

The indexes are plain SQL behind a vendor check and stay out of the model state: they are
specific to PostgreSQL (trigram operator classes, expressions, partial conditions), and
SQLite's small embedded databases need none of them, so ``makemigrations --check`` stays
clean. The module's name starts with an underscore, so Django's migration loader does not
take it for a migration; migrations that have run import it, so keep its behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import migrations


def postgres_indexes(
    indexes: Sequence[tuple[str, str]], *, extension: str | None = None
) -> migrations.RunPython:
    """Return an operation creating ``indexes`` ((name, "table (columns) ...")) on PostgreSQL.

    ``IF NOT EXISTS`` lets an index built beforehand with ``CREATE INDEX CONCURRENTLY`` (same
    name) on a large live table stand. Reversing drops the indexes; an extension stays, as
    other objects may use it. Nothing happens on other databases.
    """

    def create(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        if extension:
            schema_editor.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
        for name, definition in indexes:
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _definition in indexes:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop, elidable=False)
