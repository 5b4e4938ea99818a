"""A psycopg connection of its own to the test database's server, beside Django's."""

from __future__ import annotations

from django.db import connection


def psycopg_connection(dbname: str | None = None, *, autocommit: bool = False):
    """Return an open psycopg connection as the tests' database settings name it, to
    ``dbname`` (the test database itself by default): another session, as another process
    would hold."""
    import psycopg

    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname=dbname or db["NAME"],
        autocommit=autocommit,
    )
