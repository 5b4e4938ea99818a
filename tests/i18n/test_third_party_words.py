"""Other apps' words reach Ukrainian and Korean readers: DRF's messages and the admin's apps.

DRF's own messages ("Authentication credentials were not provided.") come from its catalog,
which it names ``ko_KR`` while the site's Korean is ``ko``: ``tracker/vendored_locale.py``
rebuilds it as ``ko`` at install time. django-axes and django-otp ship no Ukrainian or Korean:
``tracker/apps.py`` names their applications and models through the project's catalogs.
"""

from __future__ import annotations

import gettext
import re
from html import unescape
from pathlib import Path

import pytest
import rest_framework
from django.urls import reverse

from cases.preferences import account_language_set
from tests.support.clients import session_client
from tests.support.roles import superuser
from tracker import vendored_locale

pytestmark = pytest.mark.django_db

DRF_LOCALE = Path(rest_framework.__file__).parent / "locale"
DRF_KOREAN = DRF_LOCALE / "ko_KR" / "LC_MESSAGES" / "django.mo"
#: Latin words an admin index may keep in every language: acronyms of standards.
NAMES_OF_STANDARDS = {"API", "TOTP"}


def drf_words(catalog: str, message: str) -> str:
    """Return DRF's own translation of ``message`` in its catalog named ``catalog``."""
    with (DRF_LOCALE / catalog / "LC_MESSAGES" / "django.mo").open("rb") as handle:
        return gettext.GNUTranslations(handle).gettext(message)


def drf_korean(message: str) -> str:
    """Return DRF's own Korean for ``message`` (from its ``ko_KR`` catalog)."""
    return drf_words("ko_KR", message)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", "Authentication credentials were not provided."),
        ("uk", drf_words("uk", "Authentication credentials were not provided.")),
        ("ko", drf_korean("Authentication credentials were not provided.")),
    ],
)
def test_a_401_speaks_the_readers_language(client, language, expected):
    """DRF's 401 message is English, Ukrainian or Korean as Accept-Language asks."""
    assert vendored_locale.BUILD_LOCALE.joinpath("ko", "LC_MESSAGES", "django.mo").is_file(), (
        "DRF's Korean catalog is not built: run `make messages`"
    )
    response = client.get("/api/v1/cases/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert body["detail"] == expected
    if language == "ko":
        assert re.search("[가-힣]", body["detail"]), "DRF's Korean catalog was not used"


def test_the_built_catalog_leaves_djangos_own_korean_alone(tmp_path):
    """DRF's messages are built as ``ko``; those Django translates itself keep Django's words."""
    (built,) = vendored_locale.build(tmp_path)
    assert built == tmp_path / "ko" / "LC_MESSAGES" / "django.mo"
    messages = vendored_locale.read_catalog(built)
    drf = vendored_locale.read_catalog(DRF_KOREAN)
    django_words = vendored_locale.django_catalogs("ko")
    assert messages["Authentication credentials were not provided."] == drf_korean(
        "Authentication credentials were not provided."
    )
    assert "This field is required." in drf and "This field is required." not in messages
    assert set(messages) == {k for k in drf if k == "" or k not in django_words}
    assert len(messages) > 100


def test_the_built_catalog_stays_out_of_the_committed_catalogs():
    """``locale/`` holds only the project's catalogs; the build writes outside it."""
    locale = Path(vendored_locale.__file__).resolve().parent.parent / "locale"
    assert locale not in vendored_locale.BUILD_LOCALE.parents
    assert sorted(p.name for p in locale.iterdir() if p.is_dir()) == ["ko", "uk"]


def index_names(html: str) -> list[str]:
    """Return the application and model names of an admin index page."""
    apps = re.findall(r'<a href="[^"]*" class="section"[^>]*>([^<]+)</a>', html)
    models = re.findall(r'<th scope="row" id="[^"]*">\s*(?:<a [^>]*>)?([^<]+)', html)
    return [unescape(name).strip() for name in apps + models]


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_the_admin_index_names_no_application_or_model_in_english(language):
    """Every application and model of the admin's index (axes and otp too) is translated."""
    root = superuser(f"index-{language}")
    account_language_set(user=root, language=language)
    response = session_client(root).get(reverse("admin:index"))
    assert response.status_code == 200
    names = index_names(response.content.decode())
    expected = {"Спроби входу", "Одноразові паролі"} if language == "uk" else {"로그인 시도"}
    assert expected <= set(names), names
    english = [
        name for name in names if set(re.findall(r"[A-Za-z]{2,}", name)) - NAMES_OF_STANDARDS
    ]
    assert english == []
    assert len(names) > 20, "the walk reads the index's names"
