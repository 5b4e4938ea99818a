"""An integrator's first steps: one command makes an API-only account in a role and its token."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from cases.security.access import ROLES
from cases.security.tokens import ApiToken
from tests import factories as f

pytestmark = pytest.mark.django_db


def issue(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("issue_token", *args, stdout=out, stderr=err)
    return out.getvalue().strip(), err.getvalue()


def account(username, *roles, **fields):
    user = f.user(username, **fields)
    user.groups.set(Group.objects.filter(name__in=roles))
    return user


def client_for(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.parametrize("role", sorted(ROLES))
def test_create_makes_an_api_only_account_in_the_role_and_prints_only_the_key(role):
    key, err = issue("sync-bot", "--create", role, "--read-only")
    user = get_user_model().objects.get(username="sync-bot")
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert not user.has_usable_password()
    assert not user.is_staff and not user.is_superuser and user.is_active
    token = ApiToken.objects.get(user=user)
    assert token.read_only and key[:8] == token.prefix
    assert "\n" not in key and " " not in key  # stdout holds the key alone: KEY=$(...) works
    assert f"in the role {role!r}" in err
    client = client_for(key)
    assert client.get("/api/v1/cases/").status_code == 200
    assert client.get("/api/v1/events/").status_code == 200
    assert client.post("/api/v1/parties/", {"name": "x"}, format="json").status_code == 403


@pytest.mark.parametrize("password", ["", "!", "integration-bot"])
def test_create_an_integration_account_that_cannot_sign_in_to_pages(client, password):
    key, _ = issue("integration-bot", "--create", "integration")
    client.post(
        "/accounts/login/",
        {"username": "integration-bot", "password": password},
        REMOTE_ADDR="203.0.113.7",
    )
    assert "_auth_user_id" not in client.session
    assert client.get("/cases/").status_code == 302  # still sent to sign in
    assert client_for(key).get("/api/v1/cases/").status_code == 200


def test_create_reuses_an_account_already_in_exactly_that_role():
    first, _ = issue("sync-bot", "--create", "integration")
    second, _ = issue("sync-bot", "--create", "integration", "--name", "second")
    assert first != second
    assert ApiToken.objects.filter(user__username="sync-bot").count() == 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: account("sync-bot"),
        lambda: account("sync-bot", "analyst"),
        lambda: account("sync-bot", "integration", "analyst"),
        lambda: account("sync-bot", "integration", is_staff=True),
    ],
    ids=["no-role", "other-role", "two-roles", "staff"],
)
def test_create_never_changes_an_existing_account(make):
    user = make()
    before = sorted(user.groups.values_list("name", flat=True)), user.is_staff
    with pytest.raises(CommandError, match="already exists"):
        issue("sync-bot", "--create", "integration")
    user.refresh_from_db()
    assert (sorted(user.groups.values_list("name", flat=True)), user.is_staff) == before
    assert not ApiToken.objects.exists()


def test_create_refuses_an_unknown_role_and_creates_nothing():
    with pytest.raises(CommandError, match="invalid choice"):
        issue("sync-bot", "--create", "superhero")
    assert not get_user_model().objects.filter(username="sync-bot").exists()


def test_a_bad_option_with_create_leaves_no_account_behind():
    with pytest.raises(CommandError, match="--expires-days"):
        issue("sync-bot", "--create", "integration", "--expires-days", "0")
    assert not get_user_model().objects.filter(username="sync-bot").exists()


def test_unknown_user_without_create_says_how_to_create_one():
    with pytest.raises(CommandError, match="--create ROLE"):
        issue("nobody")
    assert Group.objects.filter(name="integration").exists()
