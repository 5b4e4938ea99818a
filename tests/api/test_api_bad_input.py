"""Bad input gets a clear 4xx, never a 500; a lost database a 503; answers are no-store; no
log line holds a searched name. API and pages alike."""

from __future__ import annotations

import base64
import json
import logging

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from cases.names import search_variants
from tests.support.clients import session_client, token_client
from tests.support.roles import CASE_OFFICER, user_in_role
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    ri, baek = ri_and_baek()
    officer = user_in_role(CASE_OFFICER, "officer")
    api, _token = token_client(officer)
    api.raise_request_exception = False
    pages = session_client(officer, raise_request_exception=False)
    return type("World", (), {"ri": ri, "api": api, "pages": pages, "officer": officer})


def forged_cursor(**payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_READS = [
    "/api/v1/cases/?page=10000000000000000000",
    "/api/v1/persons/?page=10000000000000000000",
    "/api/v1/parties/?page=10000000000000000000",
    "/api/v1/cases/?updated_after=9999-12-31T23:59:59-23:59",
    "/api/v1/cases/?updated_after=0001-01-01T00:00:00%2B23:59",
    "/api/v1/events/?occurred_after=9999-12-31T23:59:59-23:59",
    "/api/v1/events/?recorded_before=9999-12-31T23:59:59-23:59",
    "/api/v1/events/?after=" + forged_cursor(v=1, b=["postgresql"], db="x", x=0, i=1),
    "/api/v1/events/?after=" + forged_cursor(v=1, b={"a": 1}, db="x", x=0, i=1),
    "/api/v1/cases/?q=Ri%00",
    "/api/v1/persons/?q=%00",
    "/api/v1/parties/?q=a%00b",
    "/api/v1/sources/?q=a%00b",
    "/api/v1/cases/?status=interned%00",
    "/api/v1/cases/?nationality=K%00",
    "/api/v1/cases/?ordering=reference%00",
    "/api/v1/cases/?detaining_party=%00",
    "/api/v1/events/?kind=case.opened%00",
    "/api/v1/events/?case=%00",
    "/api/v1/events/?after=%00",
]
BAD_PAGES = [
    "/cases/?updated_after=9999-12-31T23:59:59-23:59",
    "/cases/export.csv?updated_after=9999-12-31T23:59:59-23:59",
    "/cases/export.xlsx?updated_after=9999-12-31T23:59:59-23:59",
    "/cases/?q=Ri%00",
    "/cases/?status=interned%00",
    "/cases/export.csv?q=%00",
    "/cases/?captured_after=%00",
]


@pytest.mark.parametrize("path", BAD_READS)
def test_bad_api_reads_are_a_clear_4xx(world, path):
    response = world.api.get(path)
    assert 400 <= response.status_code < 500, (path, response.status_code)
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"]  # a message a person can act on


@pytest.mark.parametrize("path", BAD_PAGES)
def test_bad_page_filters_are_a_400(world, path):
    assert world.pages.get(path).status_code == 400


def test_a_page_number_past_any_end_on_the_pages_shows_the_last_page(world):
    response = world.pages.get("/cases/?page=10000000000000000000")
    assert response.status_code == 200
    assert "UA-2025-0001" in response.content.decode()


@pytest.mark.parametrize(
    "body, headers",
    [
        ("[" * 100_000 + "]" * 100_000, {}),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, {}),
        ('{"version": "²", "priority": "high"}', {}),
        ('{"version": "١", "priority": "high"}', {}),
        ('{"version": "99999999999999999999999", "priority": "high"}', {}),
        ('{"priority": "high"}', {"HTTP_IF_MATCH": '"²"'}),
        ('{"priority": "high"}', {"HTTP_IF_MATCH": '"99999999999999999999999"'}),
        ('{"reason": "a\\u0000b", "priority": "high", "version": 1}', {}),
    ],
    ids=[
        "deep-array",
        "deep-object",
        "superscript-version",
        "arabic-digit-version",
        "huge-version",
        "superscript-if-match",
        "huge-if-match",
        "nul-in-text",
    ],
)
def test_bad_write_bodies_are_a_400_and_change_nothing(world, body, headers):
    before = type(world.ri).objects.get(pk=world.ri.pk)
    response = world.api.generic(
        "PATCH",
        f"/api/v1/cases/{world.ri.uuid}/",
        body.encode(),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400, response.content[:200]
    after = type(world.ri).objects.get(pk=world.ri.pk)
    assert (after.version, after.priority) == (before.version, before.priority)


# ------------------------------------------------------------------------------------------
# Cache-Control: no-store on everything that carries case data
# ------------------------------------------------------------------------------------------


def test_every_answer_with_case_data_is_no_store(world):
    ri = world.ri
    for path in [
        "/api/v1/cases/",
        f"/api/v1/cases/{ri.uuid}/",
        f"/api/v1/persons/{ri.person.uuid}/",
        "/api/v1/events/",
        f"/api/v1/cases/{ri.uuid}/timeline/",
        "/api/v1/cases/?status=nonsense",
    ]:
        response = world.api.get(path)
        assert "no-store" in response["Cache-Control"], path
    for path in ["/cases/", f"/cases/{ri.uuid}/", "/cases/export.csv", "/cases/export.xlsx"]:
        response = world.pages.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], path
    assert "no-store" in Client().get("/accounts/login/")["Cache-Control"]


# ------------------------------------------------------------------------------------------
# A lost database answers 503
# ------------------------------------------------------------------------------------------


def test_a_lost_database_answers_503_json_under_the_api_and_a_page_elsewhere(transactional_db):
    """The default connection is pointed at a database that cannot be reached, after closing
    it, so the request opens a fresh connection that really fails: a missing directory for
    SQLite, a closed port for PostgreSQL."""
    ri_and_baek()
    officer = user_in_role(CASE_OFFICER, "officer")
    api, _token = token_client(officer)
    pages = session_client(officer, raise_request_exception=False)
    api.raise_request_exception = False
    connection.close()
    saved = dict(connection.settings_dict)
    saved_options = dict(saved.get("OPTIONS", {}))
    try:
        if connection.vendor == "sqlite":
            connection.settings_dict["NAME"] = "/nonexistent-directory/tracker.sqlite3"
        else:
            connection.settings_dict.update(HOST="127.0.0.1", PORT="1")
            connection.settings_dict["OPTIONS"] = {**saved_options, "connect_timeout": 2}
        response = api.get("/api/v1/cases/")
        assert response.status_code == 503
        assert response["Content-Type"] == "application/problem+json"
        assert "unavailable" in response.json()["detail"]
        assert response["Retry-After"]
        page = pages.get("/cases/")
        assert page.status_code == 503
        assert page["Content-Type"].startswith("text/html")
        assert "Service unavailable" in page.content.decode()
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        connection.settings_dict["OPTIONS"] = saved_options
    # And back: the next request connects again.
    assert api.get("/api/v1/cases/").status_code == 200


# ------------------------------------------------------------------------------------------
# No log line holds a searched name or its spellings
# ------------------------------------------------------------------------------------------


def test_no_log_line_holds_a_searched_name_or_its_spellings(world, caplog):
    """Even with every statement logged (DEBUG, as with debug on), the name and each spelling
    the search expands it to stay out of the log: SQL is logged without text or values."""
    # Spellings of two Latin letters ("li", "yi") occur in any text; the rest must not.
    spellings = {s.lower() for s in search_variants("Lee") if len(s) >= 3 or not s.isascii()} | {
        "lee",
        "리",
    }
    assert {"rhee", "이"} <= spellings
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    with CaptureQueriesContext(connection):  # makes Django log every statement
        for path in ["/api/v1/cases/?q=Lee", "/api/v1/persons/?q=Lee", "/api/v1/cases/?q=리"]:
            assert world.api.get(path).status_code == 200
        assert world.pages.get("/cases/?q=Lee").status_code == 200
        assert world.pages.get("/cases/export.csv?q=Lee").status_code == 200
    logged = [record for record in caplog.records if record.name == "django.db.backends"]
    assert logged, "the statements were logged (the test would otherwise prove nothing)"
    for record in caplog.records:
        text = (
            record.getMessage().lower()
            + " "
            + json.dumps({k: str(v) for k, v in vars(record).items()}, ensure_ascii=False).lower()
        )
        found = [s for s in spellings if s in text]
        assert not found, (record.name, found, record.getMessage()[:200])


def _date_time_parameters():
    """Every (path, name) of a date-and-time query parameter of a GET in the schema."""
    from tests.support.openapi import schema_document

    for path, operations in schema_document()["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter["in"] == "query" and schema.get("format") == "date-time":
                yield path, parameter["name"]


@pytest.mark.parametrize(("path", "name"), list(_date_time_parameters()))
def test_every_date_time_filter_takes_any_iso_offset(world, path, name):
    """ISO 8601 offsets run to 23:59, PostgreSQL's to 15:59: the value is compared in UTC."""
    if "{" in path:
        path = path.replace("{case_uuid}", str(world.ri.uuid))
    response = world.api.get(path, {name: "2025-03-01T10:00:00+23:09"})
    assert response.status_code == 200, (path, name, response.content[:300])
