"""Reads prepared on the server (``cases.statements``): where they are, what is prepared,
and that a prepared read answers what an unprepared one does.

The suite runs with ``DJANGO_DB_PREPARED_STATEMENTS=always`` (``tracker.settings_test``), so
on PostgreSQL every test of a case's detail and of the case list reads them prepared; the
tests here check the preparing itself.
"""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction

from cases import services, statements
from cases.services import NameSpec
from cases.statements import prepares
from tests import factories as f
from tests.support.clients import token_client
from tests.support.connections import psycopg_connection
from tests.support.roles import CASE_OFFICER, INTEGRATION, user_in_role

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)

CASES = "/api/v1/cases/"


@pytest.mark.parametrize(
    ("mode", "max_age", "prepared"),
    [
        ("kept", 0, False),
        ("kept", 60, True),
        ("kept", None, True),
        ("always", 0, True),
        ("off", 60, False),
        ("off", 0, False),
    ],
)
def test_prepares_follows_the_setting_and_whether_connections_are_kept(
    settings, monkeypatch, mode, max_age, prepared
):
    """Prepared by default only where a connection outlives its request; never on SQLite."""
    settings.PREPARED_STATEMENTS = mode
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", max_age)
    assert prepares(connection) is (prepared and connection.vendor == "postgresql")


def _forget_prepared() -> None:
    """Deallocate this connection's prepared statements (psycopg forgets its own too)."""
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")


def _prepared() -> dict[str, tuple[str, int]]:
    """Return this connection's prepared statements: {text: (parameter types, runs)}.

    Each run is planned for any value: a run planned for its own values would count as a
    custom plan, and none does.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT statement, parameter_types::text, generic_plans, custom_plans "
            "FROM pg_prepared_statements WHERE NOT from_sql"
        )
        found = {}
        for text, types, generic, custom in cursor.fetchall():
            assert custom == 0, text
            found[text] = (types, generic)
        return found


def _fresh(raw) -> None:
    """Forget what this process knows of the psycopg connection ``raw`` (as for a new one)."""
    statements._PLANNED_ONCE.discard(raw)
    statements._SEEN.pop(raw, None)
    with connection.cursor() as cursor:
        cursor.execute("RESET plan_cache_mode")
    _forget_prepared()


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_detail_and_a_list_page_are_prepared_once_per_connection(settings):
    """A case's detail is prepared on its first read, a list page on its second; each is
    planned once and then only run. The detail's statements send their one value apart
    (one plan serves every case); a list page's statement has its values written in (a
    plan is never reused for others)."""
    settings.PREPARED_STATEMENTS = "always"
    cases = [f.case() for _ in range(3)]
    client, _token = token_client(user_in_role(INTEGRATION))
    _fresh(connection.connection)
    paths = [f"{CASES}{cases[0].uuid}/", f"{CASES}?status=interned", CASES]
    for path in paths:
        assert client.get(path).status_code == 200
    once = _prepared()
    assert not [text for text in once if "LIMIT 50" in text], "a page read once is not prepared"
    assert connection.connection.prepared_max == statements.PREPARED_PER_CONNECTION
    for path in paths:
        assert client.get(path).status_code == 200
    first = _prepared()
    for path in paths:
        assert client.get(path).status_code == 200
    second = _prepared()
    assert set(second) == set(first), "nothing is prepared a second time"
    detail = {text: value for text, value in second.items() if value[0] != "{}"}
    for table in ("cases_case", "cases_statedintention", "cases_request"):
        assert [text for text in detail if f'FROM "{table}"' in text], (table, second)
    for text, (_types, runs) in detail.items():
        assert runs == 3, text
    pages = {
        text: value
        for text, value in second.items()
        if value[0] == "{}" and "LIMIT 50" in text and "open_request_count" in text
    }
    assert len(pages) == 2, second  # the list, and the list of interned cases
    for text, (_types, runs) in pages.items():
        assert runs == 2, text
    assert any("'interned'" in text for text in pages)
    # Another case's detail reuses the detail's statements; another status is its own.
    assert client.get(f"{CASES}{cases[1].uuid}/").status_code == 200
    for _ in range(2):
        assert client.get(f"{CASES}?status=released").status_code == 200
    third = _prepared()
    assert len(third) == len(second) + 1
    assert all(third[text][1] == 4 for text in detail)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_planning_once_is_set_where_no_rollback_undoes_it(settings):
    """A connection's first kept statement inside a transaction that rolls back leaves the
    session as it was; the next one outside a transaction sets it for good."""
    settings.PREPARED_STATEMENTS = "always"
    case = f.case()
    client, _token = token_client(user_in_role(INTEGRATION))
    _fresh(connection.connection)

    def mode() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            return cursor.fetchone()[0]

    with transaction.atomic():
        assert client.get(f"{CASES}{case.uuid}/").status_code == 200
        transaction.set_rollback(True)
    assert mode() == "auto"
    assert client.get(f"{CASES}{case.uuid}/").status_code == 200
    assert mode() == "force_generic_plan"
    with transaction.atomic():
        assert client.get(f"{CASES}{case.uuid}/").status_code == 200
        transaction.set_rollback(True)
    assert mode() == "force_generic_plan"


@on_postgresql
@pytest.mark.parametrize("role", [CASE_OFFICER, INTEGRATION])
def test_a_prepared_read_answers_as_an_unprepared_one_and_sees_every_write(settings, role):
    """The same bodies and tags prepared and not; a write between two prepared reads shows
    in the second (a prepared statement keeps its plan, never its rows)."""
    case = f.case(person_obj=f.person("Kim", names=[NameSpec("김철수", "hangul")]))
    f.case(person_obj=f.person("Lee", names=[]))
    client, _token = token_client(user_in_role(role))
    paths = [f"{CASES}{case.uuid}/", CASES, f"{CASES}?status=interned", f"{CASES}?q=Kim"]

    def answers() -> list[tuple[dict, str]]:
        found = []
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, response.content
            found.append((json.loads(response.content), response["ETag"]))
        return found

    settings.PREPARED_STATEMENTS = "off"
    unprepared = answers()
    settings.PREPARED_STATEMENTS = "always"
    assert answers() == unprepared
    assert answers() == unprepared  # now from the prepared statements
    services.case_archive(actor=f.SYSTEM, case=case, reason="duplicate")
    archived = answers()
    assert archived[0][0]["archived_at"] is not None
    assert archived[1][0]["count"] == unprepared[1][0]["count"] - 1
    settings.PREPARED_STATEMENTS = "off"
    assert answers() == archived


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_statement_whose_columns_a_migration_changed_is_prepared_again(settings):
    """A column's type changed under a prepared statement (a migration run while a worker
    keeps its connection): the next read prepares it anew and answers, instead of failing
    until the connection is closed."""
    settings.PREPARED_STATEMENTS = "always"
    case = f.case()
    client, _token = token_client(user_in_role(INTEGRATION))
    path = f"{CASES}{case.uuid}/"
    before = client.get(path)
    assert before.status_code == 200
    # The statements' sources' titles (the detail's statements, their positions' too),
    # changed from another connection, as a migration would.
    alter = 'ALTER TABLE "cases_source" ALTER COLUMN "title" TYPE varchar({})'
    other = psycopg_connection(autocommit=True)
    try:
        other.execute(alter.format(600))
        after = client.get(path)
        assert after.status_code == 200, after.content
        assert json.loads(after.content) == json.loads(before.content)
    finally:
        other.execute(alter.format(500))
        other.close()
