"""Add each case's nationalities as (code, reference) rows, kept by triggers (PostgreSQL).

``nationality=RU`` on the case list matched half the cases and cost what the matches cost:
the persons' GIN index (0013) finds the persons, but the page's order is the cases'
reference, so every match was read and sorted for a page of 50 (or the reference index was
walked through the thousands of cases of other nationalities before the first match).
``cases_casenationality`` holds one row per case and nationality code of its person, with
the case's reference; its primary key ``(code, reference, case_id)`` gives the cases of one
code in reference order, so a page reads 50 index entries and 50 cases
(``cases.filters.CaseFilterSet.filter_nationality``).

The rows are kept by triggers in the writing transaction itself, whatever path writes (the
services, the demo generator's sinks, a merge, a purge, plain SQL): a case inserted, a
case's person or reference changed, a person's nationalities changed, a case deleted, the
case table truncated (a test database flushed). PostgreSQL only, like the indexes of 0007
and 0009-0013, and outside the model state; SQLite keeps the substring match.
"""

from django.db import migrations

TABLE = "cases_casenationality"

CREATE = [
    f"""
    CREATE TABLE IF NOT EXISTS {TABLE} (
        code varchar(2) NOT NULL,
        reference varchar(32) NOT NULL,
        case_id bigint NOT NULL,
        PRIMARY KEY (code, reference, case_id)
    )
    """,
    f"CREATE INDEX IF NOT EXISTS casenationality_case ON {TABLE} (case_id)",
    # The rows of some cases, written again from their persons' nationalities.
    f"""
    CREATE OR REPLACE FUNCTION cases_casenationality_refresh(case_ids bigint[])
    RETURNS void LANGUAGE sql AS $$
        DELETE FROM {TABLE} WHERE case_id = ANY(case_ids);
        INSERT INTO {TABLE} (code, reference, case_id)
        SELECT DISTINCT code, c.reference, c.id
        FROM cases_case c
        JOIN cases_person p ON p.id = c.person_id
        CROSS JOIN LATERAL unnest(string_to_array(p.nationalities, ',')) AS code
        WHERE c.id = ANY(case_ids) AND code <> '';
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION cases_casenationality_of_case() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            DELETE FROM {TABLE} WHERE case_id = OLD.id;
            RETURN OLD;
        END IF;
        PERFORM cases_casenationality_refresh(ARRAY[NEW.id]);
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION cases_casenationality_of_person() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM cases_casenationality_refresh(
            ARRAY(SELECT id FROM cases_case WHERE person_id = NEW.id)
        );
        RETURN NEW;
    END
    $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION cases_casenationality_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        TRUNCATE {TABLE};
        RETURN NULL;
    END
    $$
    """,
    "DROP TRIGGER IF EXISTS casenationality_case_inserted ON cases_case",
    """
    CREATE TRIGGER casenationality_case_inserted AFTER INSERT ON cases_case
    FOR EACH ROW EXECUTE FUNCTION cases_casenationality_of_case()
    """,
    "DROP TRIGGER IF EXISTS casenationality_case_changed ON cases_case",
    """
    CREATE TRIGGER casenationality_case_changed AFTER UPDATE OF person_id, reference
    ON cases_case FOR EACH ROW
    WHEN (OLD.person_id IS DISTINCT FROM NEW.person_id
          OR OLD.reference IS DISTINCT FROM NEW.reference)
    EXECUTE FUNCTION cases_casenationality_of_case()
    """,
    "DROP TRIGGER IF EXISTS casenationality_case_deleted ON cases_case",
    """
    CREATE TRIGGER casenationality_case_deleted AFTER DELETE ON cases_case
    FOR EACH ROW EXECUTE FUNCTION cases_casenationality_of_case()
    """,
    "DROP TRIGGER IF EXISTS casenationality_case_truncated ON cases_case",
    """
    CREATE TRIGGER casenationality_case_truncated AFTER TRUNCATE ON cases_case
    FOR EACH STATEMENT EXECUTE FUNCTION cases_casenationality_truncate()
    """,
    "DROP TRIGGER IF EXISTS casenationality_person_changed ON cases_person",
    """
    CREATE TRIGGER casenationality_person_changed AFTER UPDATE OF nationalities
    ON cases_person FOR EACH ROW
    WHEN (OLD.nationalities IS DISTINCT FROM NEW.nationalities)
    EXECUTE FUNCTION cases_casenationality_of_person()
    """,
    # The cases already there.
    "SELECT cases_casenationality_refresh(ARRAY(SELECT id FROM cases_case))",
    f"ANALYZE {TABLE}",
]

DROP = [
    "DROP TRIGGER IF EXISTS casenationality_person_changed ON cases_person",
    "DROP TRIGGER IF EXISTS casenationality_case_truncated ON cases_case",
    "DROP TRIGGER IF EXISTS casenationality_case_deleted ON cases_case",
    "DROP TRIGGER IF EXISTS casenationality_case_changed ON cases_case",
    "DROP TRIGGER IF EXISTS casenationality_case_inserted ON cases_case",
    "DROP FUNCTION IF EXISTS cases_casenationality_truncate()",
    "DROP FUNCTION IF EXISTS cases_casenationality_of_person()",
    "DROP FUNCTION IF EXISTS cases_casenationality_of_case()",
    "DROP FUNCTION IF EXISTS cases_casenationality_refresh(bigint[])",
    f"DROP TABLE IF EXISTS {TABLE}",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in CREATE:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in DROP:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0026_imports"),
    ]

    operations = [
        migrations.RunPython(create, drop, elidable=False),
    ]
