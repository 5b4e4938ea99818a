"""Database-level guards: the timeline and the access log are append-only; PostgreSQL stamps
transaction ids.

The SQL lives here so that migrations and the test suite's SQLite flush helper share it.
Names carry a version suffix; a change of behaviour gets a new name and a new migration.
"""

TIMELINE_TABLE = "cases_timelineevent"

POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION cases_timeline_append_only_v1() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'timeline events are append-only: % refused on {TIMELINE_TABLE}', TG_OP
            USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE TRIGGER cases_timeline_append_only
        BEFORE UPDATE OR DELETE ON {TIMELINE_TABLE}
        FOR EACH ROW EXECUTE FUNCTION cases_timeline_append_only_v1();
    """,
    # The change feed orders by the writing transaction's id; a trigger sets it so no
    # writer (bulk insert or raw SQL) can leave it out or forge it.
    """
    CREATE OR REPLACE FUNCTION cases_timeline_stamp_xact_v1() RETURNS trigger AS $$
    BEGIN
        NEW.xact_id := pg_current_xact_id()::text::bigint;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE TRIGGER cases_timeline_stamp_xact
        BEFORE INSERT ON {TIMELINE_TABLE}
        FOR EACH ROW EXECUTE FUNCTION cases_timeline_stamp_xact_v1();
    """,
]

POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS cases_timeline_append_only ON {TIMELINE_TABLE};",
    f"DROP TRIGGER IF EXISTS cases_timeline_stamp_xact ON {TIMELINE_TABLE};",
    "DROP FUNCTION IF EXISTS cases_timeline_append_only_v1();",
    "DROP FUNCTION IF EXISTS cases_timeline_stamp_xact_v1();",
]

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS cases_timeline_no_update
    BEFORE UPDATE ON {TIMELINE_TABLE}
    BEGIN
        SELECT RAISE(ABORT, 'timeline events are append-only: UPDATE refused on {TIMELINE_TABLE}');
    END;
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS cases_timeline_no_delete
    BEFORE DELETE ON {TIMELINE_TABLE}
    BEGIN
        SELECT RAISE(ABORT, 'timeline events are append-only: DELETE refused on {TIMELINE_TABLE}');
    END;
    """,
]

SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS cases_timeline_no_update;",
    "DROP TRIGGER IF EXISTS cases_timeline_no_delete;",
]


ACCESS_LOG_TABLE = "cases_accesslogentry"

ACCESS_LOG_POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION cases_access_log_append_only_v1() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'the access log is append-only: % refused on {ACCESS_LOG_TABLE}', TG_OP
            USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"""
    CREATE TRIGGER cases_access_log_append_only
        BEFORE UPDATE OR DELETE ON {ACCESS_LOG_TABLE}
        FOR EACH ROW EXECUTE FUNCTION cases_access_log_append_only_v1();
    """,
]

ACCESS_LOG_POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS cases_access_log_append_only ON {ACCESS_LOG_TABLE};",
    "DROP FUNCTION IF EXISTS cases_access_log_append_only_v1();",
]

ACCESS_LOG_SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER IF NOT EXISTS cases_access_log_no_update_v1
    BEFORE UPDATE ON {ACCESS_LOG_TABLE}
    BEGIN
        SELECT RAISE(ABORT, 'the access log is append-only: UPDATE refused on {ACCESS_LOG_TABLE}');
    END;
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS cases_access_log_no_delete_v1
    BEFORE DELETE ON {ACCESS_LOG_TABLE}
    BEGIN
        SELECT RAISE(ABORT, 'the access log is append-only: DELETE refused on {ACCESS_LOG_TABLE}');
    END;
    """,
]

ACCESS_LOG_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS cases_access_log_no_update_v1;",
    "DROP TRIGGER IF EXISTS cases_access_log_no_delete_v1;",
]


def _statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRES_INSTALL if install else POSTGRES_REMOVE
    if vendor == "sqlite":
        return SQLITE_INSTALL if install else SQLITE_REMOVE
    raise NotImplementedError(f"No timeline guard for the {vendor} database backend.")


def _access_log_statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return ACCESS_LOG_POSTGRES_INSTALL if install else ACCESS_LOG_POSTGRES_REMOVE
    if vendor == "sqlite":
        return ACCESS_LOG_SQLITE_INSTALL if install else ACCESS_LOG_SQLITE_REMOVE
    raise NotImplementedError(f"No access-log guard for the {vendor} database backend.")


def _access_log_table_exists(connection) -> bool:
    with connection.cursor() as cursor:
        return ACCESS_LOG_TABLE in connection.introspection.table_names(cursor)


def install_timeline_guards(connection) -> None:
    """Create the timeline triggers on ``connection``'s database.

    On SQLite, also put back the access log's triggers once its table exists: a test flush
    empties tables with DELETE, so it lifts every append-only guard through
    ``remove_timeline_guards`` and restores them all through this function.
    """
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=True):
            cursor.execute(sql)
    if connection.vendor == "sqlite" and _access_log_table_exists(connection):
        install_access_log_guards(connection)


def remove_timeline_guards(connection) -> None:
    """Drop the timeline triggers (migration rollback and SQLite test flushes only)."""
    with connection.cursor() as cursor:
        for sql in _statements(connection.vendor, install=False):
            cursor.execute(sql)
        if connection.vendor == "sqlite":
            # Dropping a trigger that does not exist is a no-op, so this is safe before
            # the access log's migration too.
            for sql in ACCESS_LOG_SQLITE_REMOVE:
                cursor.execute(sql)


def install_access_log_guards(connection) -> None:
    """Create the access log's append-only triggers on ``connection``'s database."""
    with connection.cursor() as cursor:
        for sql in _access_log_statements(connection.vendor, install=True):
            cursor.execute(sql)


def remove_access_log_guards(connection) -> None:
    """Drop the access log's triggers (migration rollback only)."""
    with connection.cursor() as cursor:
        for sql in _access_log_statements(connection.vendor, install=False):
            cursor.execute(sql)
