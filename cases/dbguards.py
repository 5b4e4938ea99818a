"""Database-level guards: the timeline and the access log are append-only; PostgreSQL stamps
transaction ids.

The SQL lives here so that migrations and the test suite's SQLite flush helper share it.
Names carry a version suffix; a change of behaviour gets a new name and a new migration.
"""

from contextlib import contextmanager

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.signals import connection_created

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
    raise ImproperlyConfigured(f"No timeline guard for the {vendor} database backend.")


def _access_log_statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return ACCESS_LOG_POSTGRES_INSTALL if install else ACCESS_LOG_POSTGRES_REMOVE
    if vendor == "sqlite":
        return ACCESS_LOG_SQLITE_INSTALL if install else ACCESS_LOG_SQLITE_REMOVE
    raise ImproperlyConfigured(f"No access-log guard for the {vendor} database backend.")


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


# --------------------------------------------------------------------------------------------
# Version 2 of the timeline guard: one deliberate exception, a superuser's purge of a case
# --------------------------------------------------------------------------------------------

#: The PostgreSQL setting a purge turns on for its own transaction only (``SET LOCAL``).
PURGE_SETTING = "tracker.allow_timeline_purge"
#: The SQLite function the delete trigger asks; registered on every connection.
SQLITE_PURGE_FUNCTION = "cases_timeline_purge_allowed"

TIMELINE_V2_POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION cases_timeline_append_only_v2() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'DELETE' AND current_setting('{PURGE_SETTING}', true) = 'on' THEN
            RETURN OLD;
        END IF;
        RAISE EXCEPTION 'timeline events are append-only: % refused on {TIMELINE_TABLE}', TG_OP
            USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"DROP TRIGGER IF EXISTS cases_timeline_append_only ON {TIMELINE_TABLE};",
    f"DROP TRIGGER IF EXISTS cases_timeline_append_only_v2 ON {TIMELINE_TABLE};",
    f"""
    CREATE TRIGGER cases_timeline_append_only_v2
        BEFORE UPDATE OR DELETE ON {TIMELINE_TABLE}
        FOR EACH ROW EXECUTE FUNCTION cases_timeline_append_only_v2();
    """,
]

TIMELINE_V2_POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS cases_timeline_append_only_v2 ON {TIMELINE_TABLE};",
    "DROP FUNCTION IF EXISTS cases_timeline_append_only_v2();",
    # Back to version 1, which refuses every delete.
    f"DROP TRIGGER IF EXISTS cases_timeline_append_only ON {TIMELINE_TABLE};",
    f"""
    CREATE TRIGGER cases_timeline_append_only
        BEFORE UPDATE OR DELETE ON {TIMELINE_TABLE}
        FOR EACH ROW EXECUTE FUNCTION cases_timeline_append_only_v1();
    """,
]

# A trigger on a main-database table may not reference a TEMP table in SQLite ("cannot
# reference objects in database temp"), so the per-connection flag is an application-defined
# function instead. A connection that never registered it fails the DELETE with "no such
# function": the guard fails closed, as it must for the sqlite3 shell or any other program.
TIMELINE_V2_SQLITE_INSTALL = [
    "DROP TRIGGER IF EXISTS cases_timeline_no_delete;",
    f"""
    CREATE TRIGGER IF NOT EXISTS cases_timeline_no_delete_v2
    BEFORE DELETE ON {TIMELINE_TABLE}
    WHEN NOT {SQLITE_PURGE_FUNCTION}()
    BEGIN
        SELECT RAISE(ABORT, 'timeline events are append-only: DELETE refused on {TIMELINE_TABLE}');
    END;
    """,
]

TIMELINE_V2_SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS cases_timeline_no_delete_v2;",
    *SQLITE_INSTALL[1:],
]


def _timeline_v2_statements(vendor: str, install: bool) -> list[str]:
    if vendor == "postgresql":
        return TIMELINE_V2_POSTGRES_INSTALL if install else TIMELINE_V2_POSTGRES_REMOVE
    if vendor == "sqlite":
        return TIMELINE_V2_SQLITE_INSTALL if install else TIMELINE_V2_SQLITE_REMOVE
    raise ImproperlyConfigured(f"No timeline guard for the {vendor} database backend.")


def install_timeline_purge_guard(connection) -> None:
    """Replace the timeline's delete guard with version 2, which lets a purge through."""
    with connection.cursor() as cursor:
        for sql in _timeline_v2_statements(connection.vendor, install=True):
            cursor.execute(sql)


def remove_timeline_purge_guard(connection) -> None:
    """Put version 1 of the delete guard back (migration rollback only)."""
    with connection.cursor() as cursor:
        for sql in _timeline_v2_statements(connection.vendor, install=False):
            cursor.execute(sql)


def install_current_timeline_guards(connection) -> None:
    """Create every current timeline guard (after a SQLite test flush)."""
    install_timeline_guards(connection)
    install_timeline_purge_guard(connection)


def remove_current_timeline_guards(connection) -> None:
    """Drop every timeline guard, of every version (before a SQLite test flush)."""
    remove_timeline_guards(connection)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER IF EXISTS cases_timeline_no_delete_v2;")


def register_sqlite_purge_function(sender=None, connection=None, **kwargs) -> None:
    """Give a SQLite connection the function its delete guard asks (``connection_created``).

    The function answers from a flag on the connection, which only
    :func:`timeline_purge_allowed` sets, for the length of one purge.
    """
    if connection is None or connection.vendor != "sqlite":
        return
    wrapper = connection
    connection.connection.create_function(
        SQLITE_PURGE_FUNCTION,
        0,
        lambda: 1 if getattr(wrapper, "_timeline_purge_allowed", False) else 0,
    )


connection_created.connect(register_sqlite_purge_function, dispatch_uid="cases_sqlite_purge_fn")


@contextmanager
def timeline_purge_allowed(connection):
    """Let this transaction delete timeline events while the block runs.

    Only for ``cases.services.case_purge``. It must run inside ``transaction.atomic``: on
    PostgreSQL the setting is transaction-local, and is turned off again when the block ends
    (a rollback reverts it too); on SQLite a flag on the connection is set and cleared.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("A timeline purge must run inside a transaction.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL {PURGE_SETTING} = 'on'")
        yield
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL {PURGE_SETTING} = 'off'")
        return
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        register_sqlite_purge_function(connection=connection)
        connection._timeline_purge_allowed = True
        try:
            yield
        finally:
            connection._timeline_purge_allowed = False
        return
    raise ImproperlyConfigured(f"No timeline purge for the {connection.vendor} database backend.")


# --------------------------------------------------------------------------------------------
# No TRUNCATE of the history; a purge through one function the application role may call
# --------------------------------------------------------------------------------------------

#: The session setting that lets the tables' owner (or a superuser) TRUNCATE the history:
#: Django's test flush and a deliberate reset. A role without the TRUNCATE privilege (the
#: application role) is refused before any trigger runs, whatever it sets; a role that owns
#: the tables could drop the trigger anyway, so the setting gives it nothing new.
TRUNCATE_SETTING = "tracker.allow_history_truncate"
#: The PostgreSQL function a purge calls to delete one case's timeline (SECURITY DEFINER).
PURGE_FUNCTION = "cases_timeline_purge_v1"

NO_TRUNCATE_POSTGRES_INSTALL = [
    f"""
    CREATE OR REPLACE FUNCTION cases_history_no_truncate_v1() RETURNS trigger AS $$
    BEGIN
        IF current_setting('{TRUNCATE_SETTING}', true) = 'on' AND pg_has_role(
            current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER'
        ) THEN
            RETURN NULL;
        END IF;
        RAISE EXCEPTION '% is append-only: TRUNCATE refused', TG_TABLE_NAME
            USING ERRCODE = 'restrict_violation';
    END;
    $$ LANGUAGE plpgsql;
    """,
    f"DROP TRIGGER IF EXISTS cases_timeline_no_truncate_v1 ON {TIMELINE_TABLE};",
    f"""
    CREATE TRIGGER cases_timeline_no_truncate_v1
        BEFORE TRUNCATE ON {TIMELINE_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION cases_history_no_truncate_v1();
    """,
    f"DROP TRIGGER IF EXISTS cases_access_log_no_truncate_v1 ON {ACCESS_LOG_TABLE};",
    f"""
    CREATE TRIGGER cases_access_log_no_truncate_v1
        BEFORE TRUNCATE ON {ACCESS_LOG_TABLE}
        FOR EACH STATEMENT EXECUTE FUNCTION cases_history_no_truncate_v1();
    """,
    # The purge: the events of one case, and of its person when no other case refers to
    # him. SECURITY DEFINER runs it as the owner, so the application role needs no DELETE
    # privilege on the timeline; the delete guard's purge setting is on for the DELETE only
    # (a SET clause on the function would need a superuser for a custom setting). It takes
    # a whole case or nothing: no single event can be removed through it.
    f"""
    CREATE OR REPLACE FUNCTION {PURGE_FUNCTION}(p_case bigint, p_person bigint)
    RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, public
    AS $$
    DECLARE
        deleted bigint;
        previous text := coalesce(current_setting('{PURGE_SETTING}', true), '');
    BEGIN
        PERFORM set_config('{PURGE_SETTING}', 'on', true);
        DELETE FROM {TIMELINE_TABLE}
        WHERE case_id = p_case
           OR (p_person IS NOT NULL AND case_id IS NULL AND person_id = p_person
               AND NOT EXISTS (
                   SELECT 1 FROM cases_case WHERE person_id = p_person AND id <> p_case
               ));
        GET DIAGNOSTICS deleted = ROW_COUNT;
        PERFORM set_config('{PURGE_SETTING}', previous, true);
        RETURN deleted;
    END;
    $$;
    """,
    f"REVOKE ALL ON FUNCTION {PURGE_FUNCTION}(bigint, bigint) FROM PUBLIC;",
]

NO_TRUNCATE_POSTGRES_REMOVE = [
    f"DROP TRIGGER IF EXISTS cases_timeline_no_truncate_v1 ON {TIMELINE_TABLE};",
    f"DROP TRIGGER IF EXISTS cases_access_log_no_truncate_v1 ON {ACCESS_LOG_TABLE};",
    "DROP FUNCTION IF EXISTS cases_history_no_truncate_v1();",
    f"DROP FUNCTION IF EXISTS {PURGE_FUNCTION}(bigint, bigint);",
]


def install_history_truncate_guards(connection) -> None:
    """Create the TRUNCATE triggers and the purge function (PostgreSQL; SQLite has no TRUNCATE)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in NO_TRUNCATE_POSTGRES_INSTALL:
            cursor.execute(sql)


def remove_history_truncate_guards(connection) -> None:
    """Drop the TRUNCATE triggers and the purge function (migration rollback only)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for sql in NO_TRUNCATE_POSTGRES_REMOVE:
            cursor.execute(sql)


def timeline_purge(connection, *, case_id: int, person_id: int | None) -> int:
    """Delete the timeline of case ``case_id`` (and of person ``person_id``); return the count.

    Only for ``cases.services.case_purge``, inside its transaction. ``person_id`` is given
    when the person goes too; his case-less events go then, unless another case refers to
    him. On PostgreSQL this calls :data:`PURGE_FUNCTION`, which runs as the tables' owner, so
    the application role, which may not delete history rows, can still purge; elsewhere the
    delete runs under :func:`timeline_purge_allowed`.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("A timeline purge must run inside a transaction.")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {PURGE_FUNCTION}(%s, %s)", [case_id, person_id])
            return cursor.fetchone()[0]
    from django.db.models import Q, QuerySet

    from cases.models import Case, TimelineEvent

    events = Q(case_id=case_id)
    if (
        person_id is not None
        and not Case.objects.filter(person_id=person_id).exclude(pk=case_id).exists()
    ):
        events |= Q(case__isnull=True, person_id=person_id)
    with timeline_purge_allowed(connection):
        # The timeline's manager refuses deletes; the plain QuerySet method is the one path.
        deleted, _ = QuerySet.delete(TimelineEvent.objects.filter(events))
    return deleted


# --------------------------------------------------------------------------------------------
# The application role (PostgreSQL): what it may do, granted by the tables' owner
# --------------------------------------------------------------------------------------------

#: Tables whose rows the application may add and read but never change or remove.
HISTORY_TABLES = (TIMELINE_TABLE, ACCESS_LOG_TABLE)
#: Tables the application reads only.
READ_ONLY_TABLES = ("django_migrations",)


def app_role_grants(app_role: str, *, owner: str, database: str) -> list[str]:
    """Return the SQL giving ``app_role`` what the application needs, and nothing more.

    Idempotent: everything is revoked first, then granted. The role gets SELECT, INSERT,
    UPDATE and DELETE on the tables in the schema, except SELECT and INSERT only on the
    history tables and SELECT only on ``django_migrations``; it never gets TRUNCATE,
    REFERENCES or TRIGGER, nor CREATE on the schema, and it owns nothing, so it cannot
    ALTER a table or disable a trigger. Default privileges give tables and sequences that
    ``owner`` creates later (by a migration) the same ordinary grants; run this again after
    every migration so that a new history table is narrowed too.
    """
    quote = quote_ident
    app, own, db = quote(app_role), quote(owner), quote(database)
    history = ", ".join(HISTORY_TABLES)
    read_only = ", ".join(READ_ONLY_TABLES)
    return [
        f"GRANT CONNECT ON DATABASE {db} TO {app}",
        f"REVOKE CREATE ON SCHEMA public FROM {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
        f"REVOKE UPDATE, DELETE ON {history} FROM {app}",
        f"REVOKE INSERT, UPDATE, DELETE ON {read_only} FROM {app}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app}",
        f"GRANT EXECUTE ON FUNCTION {PURGE_FUNCTION}(bigint, bigint) TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {own} IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {app}",
    ]


def quote_ident(name: str) -> str:
    """Return ``name`` quoted as a PostgreSQL identifier."""
    return '"' + name.replace('"', '""') + '"'
