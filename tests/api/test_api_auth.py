"""API authentication: hashed tokens, read-only scope, expiry, revocation, the command."""

import datetime as dt
import io

import pytest
from django.contrib.admin.sites import site
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from cases.models import Case
from cases.security.tokens import ApiToken, hash_key
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import CASE_OFFICER, superuser, user_in_role
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"


def test_token_is_stored_hashed_and_works(officer):
    """Only the key's hash is stored; the key authenticates and records its use."""
    client, token = token_client(officer)
    key = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    token.refresh_from_db()
    assert token.digest == hash_key(key)
    stored = [str(value) for value in ApiToken.objects.values_list().get(pk=token.pk)]
    assert key not in stored
    assert token.last_used_at is None
    assert client.get(CASES).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize(
    "header",
    ["Token wrong-key-0123456789", "Token", "Token a b", "Token short", "Token ünïcode"],
)
def test_bad_tokens_are_401(officer, header):
    """A wrong, missing or malformed key is refused with 401."""
    token_client(officer)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(CASES)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_expired_token_is_401(officer):
    """A token past its expiry no longer works."""
    client, token = token_client(officer, expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(CASES)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_revoked_token_is_401(officer):
    """A revoked token stops working at once."""
    client, token = token_client(officer)
    assert client.get(CASES).status_code == 200
    token.revoke()
    response = client.get(CASES)
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_token_of_inactive_user_is_401(officer):
    """Deactivating the user disables his tokens."""
    client, _ = token_client(officer)
    officer.is_active = False
    officer.save()
    assert client.get(CASES).status_code == 401


def test_read_only_token_reads_but_cannot_write(officer):
    """A read-only token gets 403 on every write, even for an officer."""
    ri_case, _ = ri_and_baek()
    client, _ = token_client(officer, read_only=True)
    assert client.get(f"{CASES}{ri_case.uuid}/").status_code == 200
    writes = [
        client.patch(
            f"{CASES}{ri_case.uuid}/", {"priority": "low"}, format="json", HTTP_IF_MATCH='"1"'
        ),
        client.post(f"{CASES}{ri_case.uuid}/transition/", {"status": "registered"}, format="json"),
        client.post("/api/v1/parties/", {"name": "X", "kind": "state"}, format="json"),
    ]
    for response in writes:
        assert response.status_code == 403
        assert "read-only" in response.json()["detail"]
    assert Case.objects.get(pk=ri_case.pk).version == 1


def test_read_only_token_can_read_the_feed(officer):
    """The defaults apply to the change feed too: a read-only token reads it."""
    client, _ = token_client(officer, read_only=True)
    assert client.get("/api/v1/events/").status_code == 200
    assert APIClient().get("/api/v1/events/").status_code == 401


def test_session_authentication_serves_the_browsable_api(officer):
    """A signed-in browser gets the browsable API as HTML."""
    client = APIClient()
    client.force_login(officer)
    response = client.get(CASES, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_issue_token_prints_the_key_once():
    """The command prints a working key; the database keeps only its hash."""
    user = user_in_role(CASE_OFFICER, "integrator")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "issue_token",
        "integrator",
        "--read-only",
        "--expires-days",
        "30",
        "--name",
        "ministry sync",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip()
    token = ApiToken.objects.get(user=user)
    assert token.name == "ministry sync"
    assert token.read_only is True
    assert token.digest == hash_key(key) and key[:8] == token.prefix
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)
    assert "cannot be shown again" in err.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(CASES).status_code == 200


def test_issue_token_defaults_to_read_write_without_expiry():
    """Without options the token may write and does not expire."""
    user_in_role(CASE_OFFICER, "integrator")
    call_command("issue_token", "integrator", stdout=io.StringIO(), stderr=io.StringIO())
    token = ApiToken.objects.get()
    assert token.read_only is False and token.expires_at is None


def test_issue_token_refuses_unknown_user():
    """An unknown username is an error, and no token is made."""
    with pytest.raises(CommandError, match="No user named"):
        call_command("issue_token", "nobody", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiToken.objects.exists()


def test_admin_revokes_tokens(officer):
    """The admin's action revokes the selected tokens."""
    _, token = token_client(officer)
    model_admin = site._registry[ApiToken]
    request = RequestFactory().post("/admin/cases/apitoken/")
    request.user = superuser("admin")
    request._messages = type("M", (), {"add": lambda *a, **k: None})()
    model_admin.revoke(request, ApiToken.objects.filter(pk=token.pk))
    token.refresh_from_db()
    assert token.is_revoked
    assert not model_admin.has_add_permission(request)


def test_sensitive_fields_are_withheld_from_readers_without_view_sensitive(
    officer_client, analyst_client
):
    """Medical notes, family links and verbatim quotes are null for analysts, named as such."""
    person = f.person("Ri", medical_notes="jaw wound", family_links="parents in Pyongyang")
    case = f.case(person_obj=person)
    f.intention(case, quote="I want to go to South Korea")
    url = f"/api/v1/persons/{person.uuid}/"
    assert officer_client.get(url).json()["medical_notes"] == "jaw wound"
    analyst_view = analyst_client.get(url).json()
    assert analyst_view["medical_notes"] is None and analyst_view["family_links"] is None
    assert {"medical_notes", "family_links"} <= set(analyst_view["redacted"])
    intention = analyst_client.get("/api/v1/intentions/").json()["results"][0]
    assert intention["quote"] is None
    assert intention["redacted"] == ["quote", "conditions", "duress_signs"]
    assert (
        officer_client.get("/api/v1/intentions/").json()["results"][0]["quote"]
        == "I want to go to South Korea"
    )


def test_schema_and_docs_are_served_without_a_cdn(analyst_client):
    """The OpenAPI schema and Swagger UI are served, the UI from local static files."""
    schema = analyst_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/cases/",
        "/api/v1/cases/{uuid}/transition/",
        "/api/v1/persons/",
        "/api/v1/parties/",
        "/api/v1/intentions/{uuid}/state/",
        "/api/v1/requests/{uuid}/positions/",
        "/api/v1/sources/",
    ]:
        assert path in paths
    docs = analyst_client.get("/api/v1/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn" not in html.lower() and "//unpkg" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "cases/",
        "persons/",
        "parties/",
        "sources/",
        "intentions/",
        "requests/",
        "events/",
        "cases/{case}/timeline/",
    ],
)
def test_an_account_without_a_role_reads_nothing(path):
    """Reads are denied by default: a valid token of a user holding no role gets 403."""
    case = f.case()
    client, _token = token_client(user_in_role(None, "no-role"))
    response = client.get(f"/api/v1/{path.format(case=case.uuid)}")
    assert response.status_code == 403
    assert "results" not in response.json()
