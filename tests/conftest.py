"""Shared fixtures for the test suite."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate
from django.test import Client
from django.utils import translation

from cases import filters
from cases.dbguards import (
    TRUNCATE_SETTING,
    install_current_timeline_guards,
    remove_current_timeline_guards,
)
from tests.support import clients, openapi, roles


def _allow_flush_on_postgresql(sender, connection, **kwargs):
    # Django's flush (after every transactional test) empties tables with TRUNCATE on
    # PostgreSQL, which the history's TRUNCATE trigger refuses unless the tables' owner
    # (here the superuser running the suite) turns this setting on for its session.
    if connection.vendor == "postgresql":
        with connection.connection.cursor() as cursor:
            cursor.execute(f"SET {TRUNCATE_SETTING} = 'on'")


connection_created.connect(_allow_flush_on_postgresql, dispatch_uid="tests_allow_pg_flush")


def _reinstall_sqlite_guards(sender, **kwargs):
    # Django's flush (run after every transactional test) empties tables with DELETE on
    # SQLite, which the append-only trigger refuses; the guard is lifted just before the
    # flush (below) and put back by this handler, which the flush triggers via post_migrate.
    if sender.label == "cases" and connection.vendor == "sqlite":
        install_current_timeline_guards(connection)


post_migrate.connect(_reinstall_sqlite_guards, dispatch_uid="tests_reinstall_sqlite_guards")


def _transactional(request) -> bool:
    """Whether the test runs outside a rolled-back transaction (and ends with a flush)."""
    marker = request.node.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )


@pytest.fixture(autouse=True)
def _site_language():
    """Start every test in the site's default language.

    The active language belongs to the thread: a test that activates Ukrainian or Korean
    without putting it back would leave the tests after it in its worker reading messages
    in that language (a refusal checked for English words then fails, or passes, by the
    order the tests ran in).
    """
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _nationality_statistics_read_afresh():
    """Start every test with no nationality statistics kept in this process.

    The nationality filter reads the table's statistics once a process in 10 minutes
    (``cases.filters._estimated_rows``): kept from an earlier test, they would make a test's
    query count, and which way the filter reads, depend on the tests run before it.
    """
    filters._statistics.clear()


@pytest.fixture(autouse=True)
def _content_types_read_afresh(request):
    """Start a transactional test with no content type cached in this process.

    Django caches each model's content type (and its id) for the life of the process, and
    the admin writes that id into every change-log row. The tests that ran before in this
    worker cached the ids of the database as they found it; a transactional test's database
    may hold other ids since (a flush empties the table and the content types come back
    with new ids), and a change-log row naming a cached id that is gone fails its foreign
    key, which the admin answers with a server error. Seen in CI as browser tests whose
    saves failed on PostgreSQL only, after the rest of the suite ran in the same worker.
    """
    if _transactional(request):
        ContentType.objects.clear_cache()


@pytest.fixture(autouse=True)
def _lift_sqlite_guard_before_flush(request):
    """Let a transactional test's closing flush empty the timeline table on SQLite."""
    transactional = _transactional(request)
    if transactional and connection.vendor == "sqlite":
        # A flush does not always send post_migrate (e.g. when it is inhibited), so a
        # transactional test also puts the guards back itself before it starts.
        install_current_timeline_guards(connection)
    yield
    if transactional and connection.vendor == "sqlite":
        remove_current_timeline_guards(connection)


@pytest.fixture(autouse=True)
def _api_answers_match_the_schema(request, monkeypatch):
    """Validate every answer a test receives from /api/v1/ against the OpenAPI schema.

    A test that checks an answer the schema cannot describe on purpose (a raw server
    failure, say) opts out with ``@pytest.mark.schema_exempt(reason)``.
    """
    if request.node.get_closest_marker("schema_exempt"):
        yield
        return
    original = Client.request

    def request_and_validate(self, **environ):
        response = original(self, **environ)
        openapi.validate(response)
        return response

    monkeypatch.setattr(Client, "request", request_and_validate)
    yield


# --------------------------------------------------------------------------------------------
# Users in the project's roles (tests/support/roles.py) and clients acting as them
# --------------------------------------------------------------------------------------------


@pytest.fixture
def officer(db):
    """A case officer: the role table's "case officer"."""
    return roles.user_in_role(roles.CASE_OFFICER, "officer")


@pytest.fixture
def analyst(db):
    """An analyst: the role table's "analyst" (reads and exports, no sensitive values)."""
    return roles.user_in_role(roles.ANALYST, "analyst")


@pytest.fixture
def integration(db):
    """An integrating system's account: the role table's "integration" (reads only)."""
    return roles.user_in_role(roles.INTEGRATION, "integration")


@pytest.fixture
def superuser(db):
    """A superuser, as the data-protection officer is."""
    return roles.superuser("root")


@pytest.fixture
def officer_client(officer):
    """An API client sending a read-write token of the case officer (``.token`` is it)."""
    client, _token = clients.token_client(officer, name="integration")
    return client


@pytest.fixture
def analyst_client(analyst):
    """An API client acting as the analyst without a token, as a browser session does."""
    return clients.api_client(analyst)
