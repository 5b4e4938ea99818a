"""Which language a reader gets: his account's setting, then Accept-Language, then the default.

The switcher (Django's ``set_language``) sets the language cookie and, for a signed-in user,
his account's setting; the setting is read from the session, so choosing the language costs
no query. English keeps the British date formats the site had before it had languages.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, translation

from cases.preferences import LANGUAGE_SESSION_KEY, AccountPreferences, account_language_set
from tests import factories as f
from tests.support.clients import session_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

#: A word of the pages' chrome in each language: the list page's heading "Cases".
CASES_HEADING = {"en": "<h1>Cases</h1>", "uk": "<h1>Справи</h1>", "ko": "<h1>사건</h1>"}


def page_language(response) -> str:
    """Return the language the page says it is in (``<html lang>``), checking its header."""
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "the page names its language"
    assert response["Content-Language"] == match.group(1)
    return match.group(1)


def list_page(client, **headers):
    response = client.get("/cases/", headers=headers)
    assert response.status_code == 200
    return response


@pytest.fixture
def analyst():
    return user_in_role(ANALYST, "i18n-analyst")


def test_without_a_setting_or_a_header_the_site_default_is_english(analyst):
    response = list_page(session_client(analyst))
    assert page_language(response) == "en"
    assert CASES_HEADING["en"] in response.content.decode()


@override_settings(LANGUAGE_CODE="uk")
def test_the_site_default_is_djangos_language_code(analyst):
    """DJANGO_LANGUAGE_CODE sets LANGUAGE_CODE: the language of a reader who names none."""
    response = list_page(session_client(analyst))
    assert page_language(response) == "uk"
    assert CASES_HEADING["uk"] in response.content.decode()


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("uk", "uk"),
        ("ko-KR,ko;q=0.9,en;q=0.5", "ko"),
        ("uk-UA,uk;q=0.9", "uk"),
        ("en-GB,en;q=0.8", "en"),
        ("de-DE,de;q=0.9", "en"),  # not offered: the site default
        ("fr;q=0.9,ko;q=0.8,uk;q=0.7", "ko"),  # the first offered, by weight
    ],
)
def test_accept_language_chooses_among_the_offered_languages(analyst, accept, expected):
    response = list_page(session_client(analyst), **{"Accept-Language": accept})
    assert page_language(response) == expected
    assert CASES_HEADING[expected] in response.content.decode()


@pytest.mark.parametrize(("setting", "accept"), [("ko", "uk"), ("uk", "ko"), ("en", "uk")])
def test_the_accounts_setting_comes_before_accept_language(analyst, setting, accept):
    """The setting is read at sign-in into the session and wins over the browser's header."""
    account_language_set(user=analyst, language=setting)
    client = session_client(analyst)  # signs in: user_logged_in copies the setting
    assert client.session[LANGUAGE_SESSION_KEY] == setting
    response = list_page(client, **{"Accept-Language": accept})
    assert page_language(response) == setting
    assert CASES_HEADING[setting] in response.content.decode()


def test_an_empty_setting_leaves_the_choice_to_the_browser(analyst):
    account_language_set(user=analyst, language="")
    client = session_client(analyst)
    assert LANGUAGE_SESSION_KEY not in client.session
    assert page_language(list_page(client, **{"Accept-Language": "ko"})) == "ko"


def test_a_setting_no_longer_offered_is_ignored(analyst):
    """A stored code the site does not offer (LANGUAGES changed) falls back to the header."""
    AccountPreferences.objects.create(user=analyst, language="de")
    client = session_client(analyst)
    assert page_language(list_page(client, **{"Accept-Language": "uk"})) == "uk"
    session = client.session
    session[LANGUAGE_SESSION_KEY] = "de"  # as if copied before the change
    session.save()
    assert page_language(list_page(client, **{"Accept-Language": "uk"})) == "uk"


def test_the_switcher_saves_the_signed_in_accounts_setting(analyst):
    """Switching sets the cookie, the session and the account; a new sign-in keeps it."""
    client = session_client(analyst)
    response = client.post(
        reverse("set_language"), {"language": "ko", "next": "/cases/?status=interned"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/cases/?status=interned"
    assert response.cookies["django_language"].value == "ko"
    assert AccountPreferences.objects.get(user=analyst).language == "ko"
    assert page_language(list_page(client, **{"Accept-Language": "uk"})) == "ko"

    # Another browser, another day: no cookie, an English browser, the account's language.
    elsewhere = session_client(analyst)
    assert "django_language" not in elsewhere.cookies
    assert page_language(list_page(elsewhere, **{"Accept-Language": "en"})) == "ko"

    # Switching again replaces the setting rather than adding a row.
    client.post(reverse("set_language"), {"language": "uk", "next": "/cases/"})
    assert list(AccountPreferences.objects.filter(user=analyst).values_list("language")) == [
        ("uk",)
    ]


def test_the_switcher_refuses_what_the_site_does_not_offer(analyst):
    client = session_client(analyst)
    response = client.post(reverse("set_language"), {"language": "de", "next": "/cases/"})
    assert response.status_code == 302
    assert "django_language" not in response.cookies
    assert not AccountPreferences.objects.filter(user=analyst).exists()
    assert page_language(list_page(client)) == "en"


def test_the_switcher_does_not_redirect_off_the_site(analyst):
    client = session_client(analyst)
    response = client.post(
        reverse("set_language"), {"language": "uk", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert AccountPreferences.objects.get(user=analyst).language == "uk"


def test_an_anonymous_reader_switches_with_the_cookie_only():
    """Signed out, the choice is the cookie's: it beats Accept-Language on the login page."""
    client = Client()
    response = client.post(reverse("set_language"), {"language": "uk", "next": "/accounts/login/"})
    assert response.status_code == 302
    assert AccountPreferences.objects.count() == 0
    page = client.get("/accounts/login/", headers={"Accept-Language": "ko"})
    assert page_language(page) == "uk"
    assert '<h1 id="sign-in-heading">Увійти</h1>' in page.content.decode()


def test_a_get_of_the_switcher_changes_nothing(analyst):
    client = session_client(analyst)
    response = client.get(reverse("set_language"), {"language": "ko", "next": "/cases/"})
    assert response.status_code in {204, 302}
    assert "django_language" not in response.cookies
    assert not AccountPreferences.objects.filter(user=analyst).exists()


def test_the_switcher_needs_the_csrf_token(analyst):
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    response = client.post(reverse("set_language"), {"language": "ko", "next": "/cases/"})
    assert response.status_code == 403
    assert not AccountPreferences.objects.filter(user=analyst).exists()


def test_the_accounts_language_costs_no_query(analyst):
    """The list page makes as many queries with a stored language as without one."""
    f.case(reference="UA-2025-0001")
    plain = session_client(analyst)
    list_page(plain)  # warm the per-process caches
    with CaptureQueriesContext(connection) as without:
        list_page(plain)
    account_language_set(user=analyst, language="uk")
    chosen = session_client(analyst)
    list_page(chosen)
    with CaptureQueriesContext(connection) as with_setting:
        response = list_page(chosen)
    assert page_language(response) == "uk"
    assert len(with_setting) == len(without)


#: Every surface a person reads, with the language it must come in.
SURFACES = [
    "/cases/",
    "case",
    "/accounts/login/",
    "/admin/",
    "/admin/cases/case/",
    "/no-such-page/",
]


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_every_surface_follows_the_accounts_language(language):
    """The pages, the login, the admin and the error pages all answer in the setting."""
    officer = user_in_role(CASE_OFFICER, f"i18n-officer-{language}", is_staff=True)
    account_language_set(user=officer, language=language)
    case = f.case(reference="UA-2025-0002")
    client = session_client(officer)
    for surface in SURFACES:
        path = f"/cases/{case.uuid}/" if surface == "case" else surface
        response = client.get(path, headers={"Accept-Language": "en"})
        assert response.status_code in {200, 302, 404}, path
        if response.status_code == 302:
            response = client.get(response["Location"], headers={"Accept-Language": "en"})
        assert page_language(response) == language, path


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_the_admin_shows_the_switcher_and_djangos_own_translations(language):
    officer = user_in_role(CASE_OFFICER, f"i18n-admin-{language}", is_staff=True)
    client = session_client(officer)
    response = client.get("/admin/", headers={"Accept-Language": language})
    body = response.content.decode()
    assert 'data-testid="language-switcher"' in body
    assert f'<option value="{language}" lang="{language}" selected>' in body
    # Django's admin strings come from Django's catalogs; the site's name from ours.
    with translation.override(language):
        assert translation.gettext("Log out") in body
        assert translation.gettext("POW case tracker") in body
    assert "Log out" not in body
    assert "POW case tracker" not in body


def test_english_keeps_the_british_formats():
    """Dates read and shown day first, as when LANGUAGE_CODE was en-gb."""
    with translation.override("en"):
        assert formats.date_format(dt.date(2006, 10, 25)) == "25 Oct 2006"
        assert formats.date_format(dt.date(2006, 10, 25), "SHORT_DATE_FORMAT") == "25/10/2006"
        assert formats.get_format("DATE_INPUT_FORMATS")[0] == "%d/%m/%Y"
        assert formats.get_format("FIRST_DAY_OF_WEEK") == 1


def test_the_admin_reads_an_english_date_day_first():
    """01/02/2025 typed in an English admin form is the first of February."""
    from django import forms

    with translation.override("en"):
        field = forms.DateField()
        assert field.clean("01/02/2025") == dt.date(2025, 2, 1)
