"""Clients acting as a user: through an API token or a signed-in session."""

from __future__ import annotations

from django.test import Client
from rest_framework.test import APIClient

from cases.security.tokens import ApiToken


def token_client(user, *, name: str = "test", **token_fields):
    """Return an API client sending a fresh token of ``user``, and the token.

    The token is issued as the API issues it (``ApiToken.issue``); ``read_only`` and
    ``expires_at`` go to it.
    """
    token, key = ApiToken.issue(user=user, name=name, **token_fields)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    client.token = token
    return client, token


def api_client(user) -> APIClient:
    """Return an API client authenticated as ``user`` without a token (a browser's session)."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def session_client(user, **client_fields) -> Client:
    """Return a Django test client signed in as ``user``, for the pages and the admin."""
    client = Client(**client_fields)
    client.force_login(user)
    return client


def results(response):
    """Return the rows of a paginated list response, asserting it succeeded."""
    assert response.status_code == 200, response.content
    return response.json()["results"]


def references(response):
    """Return the case references of a list response, in order."""
    return [row["reference"] for row in results(response)]


def field_errors(response) -> dict[str | None, list[str]]:
    """Return a 400 problem's ``errors`` as messages by field (None: not one field's)."""
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    found: dict[str | None, list[str]] = {}
    for error in response.json()["errors"]:
        found.setdefault(error["field"], []).append(error["detail"])
    return found
