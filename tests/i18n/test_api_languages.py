"""The API answers in the Accept-Language language, and only its messages change.

Clients key on codes, fields and values; those are the same in every language. Only the
human messages (a problem's ``title`` and ``detail``, and each error's ``detail``) follow
``Accept-Language``.
"""

from __future__ import annotations

import copy
import uuid

import pytest

from cases.models import Case
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import ANALYST, user_in_role

pytestmark = pytest.mark.django_db

#: The members that are words for a person (a problem's title and detail, the consent gate's
#: reasons); everything else is for programs.
MESSAGE_MEMBERS = {"title", "detail", "message"}


def without_messages(body):
    """Return ``body`` with every message member removed, at any depth."""
    body = copy.deepcopy(body)
    if isinstance(body, dict):
        return {k: without_messages(v) for k, v in body.items() if k not in MESSAGE_MEMBERS}
    if isinstance(body, list):
        return [without_messages(item) for item in body]
    return body


def messages(body) -> list[str]:
    """Return every message member of ``body``, in order."""
    found: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key in MESSAGE_MEMBERS and isinstance(value, str):
                found.append(value)
            else:
                found.extend(messages(value))
    elif isinstance(body, list):
        for item in body:
            found.extend(messages(item))
    return found


@pytest.fixture
def client():
    f.case(reference="UA-2025-0001")
    api, _token = token_client(user_in_role(ANALYST, "i18n-api"))
    return api


def ask(client, path: str, language: str):
    # The same request id, so that the answers may be compared member by member.
    return client.get(path, headers={"Accept-Language": language, "X-Request-ID": "same-request"})


#: Requests whose answers carry messages: (path, status, language whose messages differ).
CASES = [
    ("/api/v1/cases/?captured_after=25.01.2025", 400, "uk"),
    ("/api/v1/cases/?captured_after=25.01.2025", 400, "ko"),
    ("/api/v1/cases/?updated_after=yesterday", 400, "uk"),
    (f"/api/v1/cases/{uuid.UUID(int=1)}/", 404, "uk"),
]


@pytest.mark.parametrize(("path", "status", "language"), CASES)
def test_the_same_request_in_another_language_differs_only_in_its_messages(
    client, path, status, language
):
    english = ask(client, path, "en")
    other = ask(client, path, language)
    assert english.status_code == other.status_code == status
    assert english["Content-Type"] == other["Content-Type"] == "application/problem+json"
    assert other["Content-Language"] == language
    assert "Accept-Language" in other["Vary"]
    assert without_messages(other.json()) == without_messages(english.json())
    # The messages are translated, not only allowed to be.
    assert messages(other.json()) != messages(english.json())


def test_a_list_is_the_same_in_every_language(client):
    """A 200 has no message: the whole body is the same whatever the language."""
    bodies = [ask(client, "/api/v1/cases/", language).json() for language in ("en", "uk", "ko")]
    assert bodies[0]["results"], "there is a case to list"
    assert bodies[0] == bodies[1] == bodies[2]


def test_the_filter_error_is_the_ukrainian_text_of_the_catalog(client):
    body = ask(client, "/api/v1/cases/?captured_after=25.01.2025", "uk").json()
    details = [error["detail"] for error in body["errors"]]
    assert "Введіть дату у форматі ISO 8601: РРРР-ММ-ДД." in details


def test_the_consent_gates_reasons_follow_the_language_and_its_codes_do_not(client):
    """The gate refuses a return with no statement: the same codes, the reasons translated."""
    case = Case.objects.get(reference="UA-2025-0001")
    path = f"/api/v1/cases/{case.uuid}/consent/?option=return_home"
    english, ukrainian, korean = (ask(client, path, language) for language in ("en", "uk", "ko"))
    assert english.status_code == ukrainian.status_code == korean.status_code == 200
    assert without_messages(ukrainian.json()) == without_messages(english.json())
    assert without_messages(korean.json()) == without_messages(english.json())
    codes = [p["code"] for p in english.json()["answers"][0]["problems"]]
    assert codes, "the gate refuses"
    assert messages(ukrainian.json()) != messages(english.json())
    assert messages(korean.json()) != messages(english.json())


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_the_schema_is_the_same_document_in_every_language(client, language):
    """Enum and field descriptions come from translated labels; the contract does not."""
    english = ask(client, "/api/v1/schema/?format=json", "en")
    other = ask(client, "/api/v1/schema/?format=json", language)
    asked_by_lang = ask(client, f"/api/v1/schema/?format=json&lang={language}", "en")
    assert english.status_code == other.status_code == 200
    assert english.content == other.content == asked_by_lang.content
    assert other["Content-Language"] == "en"
    assert "Transferred to a third state" in english.content.decode()
