"""A resolved token is kept for a few seconds; every change that narrows it is seen at once."""

import time

import pytest
from django.contrib.admin.sites import site
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from cases.security import credentials
from cases.security.tokens import ApiToken
from tests.support.clients import token_client
from tests.support.roles import ANALYST, superuser, user_in_role

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/"
#: The tables a token's resolution reads: the token with its user, the user's permissions.
AUTH_TABLES = ("cases_apitoken", "auth_permission", "auth_user_groups", "auth_group")


@pytest.fixture(autouse=True)
def _kept_long_enough(settings):
    """Keep tokens for minutes here: the first answer's schema validation may take seconds."""
    settings.API_CREDENTIALS_CACHE_SECONDS = 300


def auth_queries(client) -> list[str]:
    """Return the queries of one list request that read the token or permissions."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CASES).status_code == 200
    return [q["sql"] for q in captured if any(t in q["sql"] for t in AUTH_TABLES)]


def test_a_kept_token_is_not_read_again():
    """The first request reads the token and permissions; the next ones read neither."""
    client, _token = token_client(user_in_role(ANALYST, "analyst"))
    assert auth_queries(client), "the first request resolves the token"
    assert auth_queries(client) == []
    assert auth_queries(client) == []


def test_nothing_is_kept_when_the_cache_time_is_zero(settings):
    """``DJANGO_API_CREDENTIALS_CACHE_SECONDS=0`` resolves the token on every request."""
    settings.API_CREDENTIALS_CACHE_SECONDS = 0
    client, _token = token_client(user_in_role(ANALYST, "analyst"))
    assert auth_queries(client)
    assert auth_queries(client)


def test_the_key_itself_is_never_a_cache_key():
    """Entries are keyed by the key's digest, so the cache holds no usable key."""
    client, _token = token_client(user_in_role(ANALYST, "analyst"))
    key = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    client.get(CASES)
    stored = list(getattr(cache, "_cache", {}))
    assert stored, "the default cache is the per-process memory cache in tests"
    assert not [name for name in stored if key in name]


def _revoke(user, token):
    token.revoke()


def _revoke_in_admin(user, token):
    request = RequestFactory().post("/admin/cases/apitoken/")
    request.user = superuser("admin")
    request._messages = type("M", (), {"add": lambda *a, **k: None})()
    site._registry[ApiToken].revoke(request, ApiToken.objects.filter(pk=token.pk))


def _revoke_by_saving(user, token):
    token.revoked_at = timezone.now()
    token.save()


def _delete_token(user, token):
    token.delete()


def _deactivate(user, token):
    user.is_active = False
    user.save()


def _delete_user(user, token):
    user.delete()


def _leave_role(user, token):
    user.groups.clear()


def _role_loses_permission(user, token):
    user.groups.get().permissions.remove(Permission.objects.get(codename="view_case"))


def _delete_role(user, token):
    user.groups.get().delete()


# Each change that narrows what the token may do, and the answer that must follow at once.
CHANGES = [
    (_revoke, 401),
    (_revoke_in_admin, 401),
    (_revoke_by_saving, 401),
    (_delete_token, 401),
    (_deactivate, 401),
    (_delete_user, 401),
    (_leave_role, 403),
    (_role_loses_permission, 403),
    (_delete_role, 403),
]


@pytest.mark.parametrize(("change", "status"), CHANGES, ids=[c.__name__ for c, _ in CHANGES])
def test_a_change_is_seen_at_the_next_request(change, status):
    """A kept token is forgotten by every change that could narrow it."""
    user = user_in_role(ANALYST, "analyst")
    client, token = token_client(user)
    assert client.get(CASES).status_code == 200
    assert auth_queries(client) == [], "the token is kept"
    change(user, token)
    assert client.get(CASES).status_code == status


def test_a_direct_permission_removed_is_seen_at_the_next_request():
    """A permission granted to the user himself, then taken away, is gone at once."""
    user = user_in_role(ANALYST, "analyst")
    client, _token = token_client(user)
    for group in user.groups.all():
        for permission in group.permissions.all():
            user.user_permissions.add(permission)
    user.groups.clear()
    assert client.get(CASES).status_code == 200
    assert auth_queries(client) == []
    user.user_permissions.remove(Permission.objects.get(codename="view_case"))
    assert client.get(CASES).status_code == 403


def test_a_kept_token_still_expires_on_time():
    """Expiry is checked on every request, kept or not."""
    user = user_in_role(ANALYST, "analyst")
    client, _token = token_client(user, expires_at=timezone.now() + timezone.timedelta(seconds=1.5))
    assert client.get(CASES).status_code == 200
    time.sleep(1.6)
    response = client.get(CASES)
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_group_granted_later_widens_the_token_at_once():
    """Forgetting also applies to widening: a new role works at the next request."""
    user = user_in_role(ANALYST, "analyst")
    roles = list(user.groups.all())
    user.groups.clear()
    client, _token = token_client(user)
    assert client.get(CASES).status_code == 403
    user.groups.add(*roles)
    assert client.get(CASES).status_code == 200


def test_an_evicted_generation_does_not_revive_old_entries():
    """A lost generation counter restarts at a random number, not at an earlier count."""
    first = credentials._generation()
    cache.delete(credentials.GENERATION_KEY)
    assert credentials._generation() != first
