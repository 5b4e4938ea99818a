"""Fixtures and builders shared by the API tests (this module holds no tests itself)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from cases.security import access
from cases.security.tokens import ApiToken
from cases.services import NameSpec
from tests import factories as f

#: The fixtures; test modules take them with ``from tests.test_api_support import *``.
__all__ = ["analyst", "analyst_client", "officer", "officer_client"]


def token_client(user, **token_kwargs):
    """Return an API client authenticated with a fresh token of ``user``, and the token."""
    token, key = ApiToken.issue(user=user, name=token_kwargs.pop("name", "test"), **token_kwargs)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, token


def make_officer(username="officer"):
    """Return a user holding every permission of the cases app, as a case officer does."""
    user = f.user(username)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="cases"))
    return user


@pytest.fixture
def officer():
    """A case officer."""
    return make_officer()


def make_analyst(username="analyst"):
    """Return a user in the analyst role: reads and exports, no writes, no sensitive values."""
    access.ensure_roles()
    user = f.user(username)
    user.groups.add(Group.objects.get(name="analyst"))
    return user


@pytest.fixture
def analyst():
    """A user who may read but holds no write permission."""
    return make_analyst()


@pytest.fixture
def officer_client(officer):
    """An API client with a read-write token of the officer."""
    client, token = token_client(officer, name="integration")
    client.token = token
    return client


@pytest.fixture
def analyst_client(analyst):
    """An API client signed in as the analyst (session)."""
    client = APIClient()
    client.force_authenticate(analyst)
    return client


def ri_and_baek():
    """Open the two public cases, with the name variants the press uses."""
    ukraine = f.party("Ukraine", country="UA")
    ri = f.person(
        "Ri",
        names=[
            NameSpec("리", "hangul"),
            NameSpec("Ri", "latin", "north_korean"),
            NameSpec("Lee", "latin", "conventional"),
            NameSpec("Yi", "latin", "mccune_reischauer"),
        ],
        nationalities=["KP"],
    )
    baek = f.person(
        "Baek",
        names=[
            NameSpec("백", "hangul"),
            NameSpec("Baek", "latin", "revised"),
            NameSpec("Paek", "latin", "mccune_reischauer"),
        ],
        nationalities=["KP"],
    )
    ri_case = f.case(
        reference="UA-2025-0001",
        person_obj=ri,
        detaining_party=ukraine,
        capture_date=dt.date(2025, 1, 9),
        legal_status="pow",
    )
    baek_case = f.case(
        reference="UA-2025-0002",
        person_obj=baek,
        detaining_party=ukraine,
        capture_date=dt.date(2025, 1, 10),
        legal_status="presumed_pow",
    )
    return ri_case, baek_case


def results(response):
    """Return the rows of a paginated list response, asserting it succeeded."""
    assert response.status_code == 200, response.content
    return response.json()["results"]


def references(response):
    """Return the case references of a list response, in order."""
    return [row["reference"] for row in results(response)]
