"""Every error under /api/ is an RFC 9457 problem with a stable code and the request id.

The tests walk the ways an error is made: DRF's exceptions, the services' validation errors,
the filters, the consent gate, stale and missing versions, Django's 404/500/503 handlers,
CSRF failures, content negotiation, parse errors, the feed, and answers made by middleware.
"""

from __future__ import annotations

import logging

import pytest
from django.db import OperationalError
from django.test import override_settings
from rest_framework.test import APIClient

from cases import services
from cases.api import views
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import CASE_OFFICER, INTEGRATION, user_in_role
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"
PARTIES = "/api/v1/parties/"
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code", "request_id"}


def assert_problem(response, status: int, code: str) -> dict:
    """Assert ``response`` is the problem ``code`` with ``status``; return its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json", response["Content-Type"]
    body = response.json()
    assert set(body) >= PROBLEM_MEMBERS, body
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["type"] == f"urn:tracker:problem:{code}"
    assert body["title"] and body["detail"]
    assert body["request_id"] == response["X-Request-ID"]
    return body


@pytest.fixture
def officer():
    """A case officer."""
    return user_in_role(CASE_OFFICER, "problem-officer")


@pytest.fixture
def api(officer):
    """A token client of the case officer that returns 500s instead of raising."""
    client, _ = token_client(officer)
    client.raise_request_exception = False
    return client


def test_serializer_errors_list_each_field_with_its_code(api):
    """A body missing required fields is a 400 whose errors name each field and its code."""
    body = assert_problem(api.post(PARTIES, {}, format="json"), 400, "validation_error")
    fields = {error["field"]: error for error in body["errors"]}
    assert "name" in fields
    assert fields["name"]["code"] == "required"
    assert fields["name"]["detail"]
    assert "name" in body["detail"]


def test_nested_errors_are_dotted_paths(api):
    """An error inside a list of objects names its path: names.0.script."""
    response = api.post(
        "/api/v1/persons/",
        {"working_name": "X", "names": [{"value": "X", "script": "klingon"}]},
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    assert "names.0.script" in {error["field"] for error in body["errors"]}


def test_service_validation_errors_have_the_same_shape(api):
    """A move the state machine refuses (a Django ValidationError in a service) is the same 400."""
    case, _ = ri_and_baek()
    response = api.post(f"{CASES}{case.uuid}/transition/", {"status": "repatriated"}, format="json")
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"] and all(set(e) == {"field", "code", "detail"} for e in body["errors"])


def test_filter_errors_have_the_same_shape(api):
    """An unknown filter value is a 400 naming the filter."""
    body = assert_problem(api.get(f"{CASES}?status=nonsense"), 400, "validation_error")
    assert [error["field"] for error in body["errors"]] == ["status"]


def test_unknown_query_parameters_are_named_with_the_accepted_ones(api):
    """A misspelt filter is refused, not ignored: the answer lists what the address takes."""
    body = assert_problem(api.get(f"{CASES}?stauts=interned&colour=red"), 400, "unknown_parameter")
    assert [error["field"] for error in body["errors"]] == ["colour", "stauts"]
    assert {"status", "q", "page", "page_size", "ordering", "format"} <= set(
        body["accepted_parameters"]
    )
    assert "stauts" in body["detail"]


@pytest.mark.parametrize("body", [b"{not json", b"15020", b'"text"', b"[1, 2]", b"null"])
def test_parse_errors(api, body):
    """A body that is not a JSON object is a parse_error (views read fields from objects)."""
    response = api.generic("POST", PARTIES, body, content_type="application/json")
    assert_problem(response, 400, "parse_error")


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/x-www-form-urlencoded", b"name=Ukraine&kind=state"),
        (
            "multipart/form-data; boundary=xx",
            b'--xx\r\nContent-Disposition: form-data; name="name"\r\n\r\nU\r\n--xx--\r\n',
        ),
        ("text/plain", b"Ukraine"),
    ],
)
def test_bodies_other_than_json_are_415(api, content_type, body):
    """The API parses JSON only; a form or multipart body is unsupported_media_type."""
    response = api.generic("POST", PARTIES, body, content_type=content_type)
    assert_problem(response, 415, "unsupported_media_type")


def test_no_credentials_is_401_with_the_challenge():
    """No credentials: not_authenticated, with WWW-Authenticate naming the token scheme."""
    response = APIClient().get(CASES)
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_a_wrong_token_is_401_authentication_failed():
    """A token that does not exist: authentication_failed."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-key-at-all-0123456789")
    assert_problem(client.get(CASES), 401, "authentication_failed")


def test_a_read_only_token_writing_is_403(officer):
    """A read-only token's write: permission_denied."""
    client, _ = token_client(officer, read_only=True)
    assert_problem(client.post(PARTIES, {"name": "X"}, format="json"), 403, "permission_denied")


def test_an_unknown_row_and_an_unknown_address_are_404(api):
    """A row that does not exist, and an address no route serves, are not_found problems."""
    assert_problem(api.get(f"{CASES}00000000-0000-0000-0000-000000000000/"), 404, "not_found")
    assert_problem(api.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_problem(api.get("/api/v2/"), 404, "not_found")


@override_settings(DEBUG=True)
def test_the_debug_404_page_is_a_problem_under_the_api_too(api):
    """With debug on Django answers its HTML 404 page; under /api/ it is still a problem."""
    assert_problem(api.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_delete_is_405_with_allow(api):
    """Nothing is deleted: method_not_allowed, with the methods the address takes."""
    case, _ = ri_and_baek()
    response = api.delete(f"{CASES}{case.uuid}/")
    body = assert_problem(response, 405, "method_not_allowed")
    assert "never deleted" in body["detail"]
    assert "GET" in response["Allow"]


def test_an_unanswerable_accept_is_406(api):
    """Accept naming only a media type the API cannot write: not_acceptable."""
    assert_problem(api.get(CASES, HTTP_ACCEPT="application/xml"), 406, "not_acceptable")


def test_missing_and_stale_versions_are_428_and_412(api):
    """No version: precondition_required; a stale one: precondition_failed with the current."""
    case, _ = ri_and_baek()
    url = f"{CASES}{case.uuid}/"
    assert_problem(
        api.patch(url, {"priority": "high"}, format="json"), 428, "precondition_required"
    )
    services.case_update(actor=f.SYSTEM, case=case, priority="high")
    response = api.patch(url, {"priority": "low"}, format="json", HTTP_IF_MATCH='"1"')
    body = assert_problem(response, 412, "precondition_failed")
    assert body["current_version"] == 2
    assert response["ETag"] == '"2"'


def test_the_consent_gate_refusal_keeps_its_problems(api):
    """A move the consent gate refuses: consent_refused, with one entry per unmet condition."""
    case, _ = ri_and_baek()
    for status in ("registered", "interned", "release_approved"):
        if case.status != status:
            services.case_change_status(actor=f.SYSTEM, case=case, status=status)
            case.refresh_from_db()
    request = f.advance_request(f.request(case, kind="repatriation"), "scheduled")
    response = api.post(
        "/api/v1/handovers/",
        {
            "request": str(request.uuid),
            "occurred_on": "2026-01-05",
            "receiving_authority": str(f.receiving_authority_for(request).uuid),
        },
        format="json",
    )
    body = assert_problem(response, 409, "consent_refused")
    assert body["problems"] and {"code", "message"} <= set(body["problems"][0])


def test_a_csrf_failure_is_a_problem(officer):
    """A signed-in browser's write without its CSRF token: a 403 problem, csrf_failed."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(officer)
    response = client.post(PARTIES, {"name": "X"}, format="json")
    assert_problem(response, 403, "csrf_failed")


def test_an_unexpected_error_is_a_500_problem_without_detail(api, monkeypatch):
    """A bug is a 500 problem that says nothing of the error; the log has it, with the id."""

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(views.PartyViewSet, "list", broken)
    response = api.get(PARTIES)
    body = assert_problem(response, 500, "server_error")
    assert "secret" not in response.content.decode()
    assert body["detail"]


def test_a_lost_database_is_a_503_problem_with_retry_after(api, monkeypatch):
    """The database unreachable: service_unavailable and Retry-After."""

    def lost(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views.PartyViewSet, "list", lost)
    response = api.get(PARTIES)
    assert_problem(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) >= 1


def test_feed_errors_are_problems(officer):
    """The feed's malformed cursor (400), limit (400) and a foreign cursor (410)."""
    client, _ = token_client(officer)
    body = assert_problem(client.get("/api/v1/events/?after=garbage"), 400, "validation_error")
    assert body["errors"][0]["field"] == "after"
    body = assert_problem(client.get("/api/v1/events/?limit=0"), 400, "validation_error")
    assert body["errors"][0]["field"] == "limit"
    case, _ = ri_and_baek()
    response = client.get(f"{CASES}{case.uuid}/timeline/?after_seq=999")
    assert_problem(response, 410, "cursor_gone")


def test_an_account_without_a_role_reading_the_feed_gets_a_403_problem():
    """The feed's read permission is refused as a problem; the integration role reads it."""
    nobody, _ = token_client(user_in_role(None, "nobody"))
    assert_problem(nobody.get("/api/v1/events/"), 403, "permission_denied")
    reader, _ = token_client(user_in_role(INTEGRATION, "reader"))
    assert reader.get("/api/v1/events/").status_code == 200


# --------------------------------------------------------------------------------------------
# The request id
# --------------------------------------------------------------------------------------------


def test_a_sane_incoming_request_id_is_kept_everywhere(api, caplog):
    """A caller's X-Request-ID comes back in the header, the problem and the log line."""
    with caplog.at_level(logging.INFO, logger="tracker.request"):
        response = api.get(f"{CASES}?status=nonsense", HTTP_X_REQUEST_ID="client-42.retry_1")
    assert response["X-Request-ID"] == "client-42.retry_1"
    assert response.json()["request_id"] == "client-42.retry_1"
    logged = [r for r in caplog.records if r.name == "tracker.request"]
    assert logged[-1].fields["request_id"] == "client-42.retry_1"


@pytest.mark.parametrize(
    "incoming", ["has space", 'quote"d', "x" * 201, "line\nbreak", "", "ü-umlaut"]
)
def test_an_unsafe_incoming_request_id_is_replaced(api, incoming):
    """Anything but a token of at most 200 safe characters gets a fresh uuid4 hex id."""
    response = api.get(CASES, HTTP_X_REQUEST_ID=incoming)
    assert response.status_code == 200
    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 32
    int(response["X-Request-ID"], 16)


def test_every_answer_has_a_request_id(api, client):
    """Pages, redirects and API answers alike carry X-Request-ID, each request its own."""
    ids = {
        api.get(CASES)["X-Request-ID"],
        api.get(CASES)["X-Request-ID"],
        client.get("/")["X-Request-ID"],
        client.get("/healthz")["X-Request-ID"],
    }
    assert len(ids) == 4


# --------------------------------------------------------------------------------------------
# 414
# --------------------------------------------------------------------------------------------


@override_settings(MAX_URL_LENGTH=200)
def test_a_too_long_address_is_a_414_problem(api):
    """An address over DJANGO_MAX_URL_LENGTH is uri_too_long, before any view runs."""
    response = api.get(f"{CASES}?q={'a' * 300}")
    body = assert_problem(response, 414, "uri_too_long")
    assert "200" in body["detail"]
    assert api.get(f"{CASES}?q={'a' * 100}").status_code == 200


def test_the_default_url_limit_is_4096(api):
    """The default limit lets a 4,000-character address through and refuses a 5,000 one."""
    assert api.get(f"{CASES}?q={'a' * 3900}").status_code == 200
    assert_problem(api.get(f"{CASES}?q={'a' * 5000}"), 414, "uri_too_long")


def test_the_browsable_api_still_renders(officer):
    """A browser's GET gets the HTML browsable API; JSON-only parsing does not break it."""
    client = APIClient()
    client.force_login(officer)
    response = client.get(CASES, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
