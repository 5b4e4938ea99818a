"""API request rates: per token for reads, stricter for writes, per address without one."""

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from tests.support.clients import token_client
from tests.support.roles import CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"
PARTIES = "/api/v1/parties/"


def rates(**scopes):
    """Return settings that replace the API's throttle rates with ``scopes``."""
    return override_settings(
        REST_FRAMEWORK={
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"anon": None, "read": None, "write": None, **scopes},
        }
    )


@pytest.fixture(autouse=True)
def _empty_cache():
    """Start every test with no counted requests: the counters live in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def officer():
    """A case officer."""
    return user_in_role(CASE_OFFICER, "rate-officer")


def assert_throttled(response, *, within: int):
    """Assert a 429 with a whole-second Retry-After of at most ``within`` and a JSON message."""
    assert response.status_code == 429
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= within
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "throttled"
    assert "throttled" in response.json()["detail"]


def test_configured_rates_come_from_the_environment_defaults():
    """Without overrides the settings carry a rate for each scope."""
    configured = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(configured) == {"anon", "read", "write"}
    assert all("/" in rate for rate in configured.values())


@rates(read="3/minute")
def test_reads_over_the_rate_get_429_with_retry_after(officer):
    """Three reads a minute pass; the fourth gets 429, Retry-After and a JSON message."""
    client, _ = token_client(officer)
    for _ in range(3):
        assert client.get(CASES).status_code == 200
    assert_throttled(client.get(CASES), within=60)


@rates(read="2/minute")
def test_each_token_has_its_own_allowance(officer):
    """A throttled token leaves another token of the same user untouched."""
    first, _ = token_client(officer, name="busy sync")
    second, _ = token_client(officer, name="quiet sync")
    for _ in range(2):
        assert first.get(CASES).status_code == 200
    assert first.get(CASES).status_code == 429
    assert second.get(CASES).status_code == 200


@rates(read="2/minute")
def test_session_users_are_limited_per_user(officer):
    """A browser session (no token) is counted per user."""
    client = APIClient()
    client.force_authenticate(officer)
    for _ in range(2):
        assert client.get(CASES).status_code == 200
    assert client.get(CASES).status_code == 429


@rates(read="100/minute", write="2/minute")
def test_writes_have_their_own_stricter_rate(officer):
    """Two writes a minute pass (here refused as invalid); the third is 429; reads go on."""
    client, _ = token_client(officer)
    for _ in range(2):
        assert client.post(PARTIES, {}, format="json").status_code == 400
    assert_throttled(client.post(PARTIES, {}, format="json"), within=60)
    assert client.get(CASES).status_code == 200


@rates(read="2/minute", write="100/minute")
def test_reads_do_not_use_up_the_write_allowance(officer):
    """A token over its read rate may still write."""
    client, _ = token_client(officer)
    for _ in range(3):
        client.get(CASES)
    assert client.get(CASES).status_code == 429
    assert client.post(PARTIES, {}, format="json").status_code == 400


@rates(anon="2/minute", read="100/minute")
def test_anonymous_callers_are_limited_by_address():
    """Callers without credentials get 401 up to the anon rate, then 429 from that address."""
    client = APIClient()
    for _ in range(2):
        assert client.get(CASES, REMOTE_ADDR="192.0.2.10").status_code == 401
    assert_throttled(client.get(CASES, REMOTE_ADDR="192.0.2.10"), within=60)
    assert client.get(CASES, REMOTE_ADDR="192.0.2.11").status_code == 401


@rates(anon="1/minute")
def test_a_forged_forwarded_for_header_does_not_escape_the_anon_rate():
    """Without a trusted proxy, X-Forwarded-For is ignored: the address is REMOTE_ADDR."""
    client = APIClient()
    assert client.get(CASES, REMOTE_ADDR="192.0.2.10").status_code == 401
    forged = client.get(CASES, REMOTE_ADDR="192.0.2.10", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert forged.status_code == 429


@rates(anon="1/minute", read="1/minute")
def test_the_schema_needs_credentials_and_is_throttled_too(officer):
    """The OpenAPI schema needs a token; anonymous callers are counted there as well."""
    anonymous = APIClient()
    assert anonymous.get("/api/v1/schema/").status_code == 401
    assert anonymous.get("/api/v1/schema/").status_code == 429
    client, _ = token_client(officer)
    assert client.get("/api/v1/schema/").status_code == 200


@rates()
def test_a_scope_without_a_rate_is_not_throttled(officer):
    """With no rate configured, many reads all pass."""
    client, _ = token_client(officer)
    assert {client.get(CASES).status_code for _ in range(20)} == {200}


def test_the_schema_documents_429_on_every_operation():
    """Every operation of the OpenAPI schema lists 429 with its Retry-After header."""
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    operations = [
        operation for path_item in document["paths"].values() for operation in path_item.values()
    ]
    assert operations
    for operation in operations:
        assert "Retry-After" in operation["responses"]["429"]["headers"]


@rates(anon="2/minute")
def test_a_bad_token_counts_against_the_anonymous_rate(officer):
    """Wrong, revoked or expired keys are callers without credentials: 401 up to the anon
    rate, then 429, so keys cannot be guessed at full speed; a good token is unaffected."""
    client = APIClient()
    bad = {"REMOTE_ADDR": "192.0.2.20", "HTTP_AUTHORIZATION": "Token not-a-real-key-at-all"}
    for _ in range(2):
        assert client.get(CASES, **bad).status_code == 401
    assert_throttled(client.get(CASES, **bad), within=60)
    # The same address without a header is over the same (anonymous) rate.
    assert client.get(CASES, REMOTE_ADDR="192.0.2.20").status_code == 429
    good, _token = token_client(officer)
    assert good.get(CASES, REMOTE_ADDR="192.0.2.20").status_code == 200
