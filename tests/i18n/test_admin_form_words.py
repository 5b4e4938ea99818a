"""Every admin page speaks the reader's language: a walk over the list, add and change
pages of every registered model, in English, Ukrainian and Korean.

A form's labels and help texts come from the models' verbose names and help texts, from
the admin's forms and from Django's own catalogs. The walk reads each page three times and
compares, field by field, what the English page writes with what the Ukrainian and the
Korean pages write: a word left in English is the same on all three. Values are not
compared (they are data, not words), and a few labels are the same in every language
because they are codes or names (``UUID``, ``BCP 47``).
"""

from __future__ import annotations

import html
import re

import pytest
from django.contrib import admin
from django.urls import reverse

from cases.preferences import account_language_set
from cases.seed import load_seed
from tests import factories
from tests.support.clients import session_client

pytestmark = pytest.mark.django_db

LANGUAGES = ("uk", "ko")
#: Labels written the same in every language: codes and proper names.
SAME_IN_EVERY_LANGUAGE = {"ID", "UUID", "URL", "API", "SHA-256", "BCP 47", "T0"}


def same_in_every_language(text: str) -> bool:
    """A code, a symbol or a number, written alike in every language."""
    return text in SAME_IN_EVERY_LANGUAGE or text.isdigit()


LABEL = re.compile(r'<label[^>]*\bfor="(id_[^"]+)"[^>]*>(.*?)</label>', re.S)
HELP = re.compile(r'<div class="help"[^>]*\bid="(id_[^"]+)_helptext"[^>]*>(.*?)</div>', re.S)
FILTER = re.compile(r"<summary>(.*?)</summary>", re.S)
COLUMN = re.compile(
    r'<th scope="col"[^>]*\bclass="[^"]*\b(column-[^" ]+)[^"]*"[^>]*>(.*?)</th>', re.S
)
HEADING = re.compile(r'<h2[^>]*\bid="(fieldset-[^"]+)"[^>]*>(.*?)</h2>', re.S)
TAG = re.compile(r"<[^>]+>")


def words(page: str) -> dict[str, str]:
    """Return each form field's label and help text, each section's heading, each list
    column's heading and each list filter's title on ``page``, keyed by where it stands."""
    found = {}
    for kind, pattern in (
        ("label", LABEL),
        ("help", HELP),
        ("section", HEADING),
        ("column", COLUMN),
    ):
        for field, text in pattern.findall(page):
            text = _text(text)
            if text:
                found[f"{kind}:{field}"] = text
    for number, text in enumerate(FILTER.findall(page)):
        found[f"filter:{number}"] = _text(text)
    return found


def _text(markup: str) -> str:
    return " ".join(html.unescape(TAG.sub(" ", markup)).split()).rstrip(":")


def pages() -> list[str]:
    """The list and the add page of every model the admin registers, and the change page
    of its first row in the seed data."""
    urls = []
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        row = model._default_manager.order_by("pk").first()
        if row is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
    return urls


@pytest.fixture
def readers():
    """A superuser per language, over the seed data."""
    load_seed()
    clients = {}
    for language in ("en", *LANGUAGES):
        user = factories.user(f"words-{language}", is_staff=True, is_superuser=True)
        account_language_set(user=user, language=language)
        clients[language] = session_client(user)
    return clients


def test_every_admin_page_writes_its_labels_and_headings_in_the_readers_language(readers):
    leftovers = []
    compared = 0
    for url in pages():
        english = readers["en"].get(url)
        if english.status_code != 200:
            continue
        english_words = words(english.content.decode())
        for language in LANGUAGES:
            translated = words(readers[language].get(url).content.decode())
            for key, text in english_words.items():
                if key not in translated:
                    continue
                compared += 1
                if translated[key] == text and not same_in_every_language(text):
                    leftovers.append(f"{language} {url} {key}: {text!r}")
    assert compared > 500, f"the walk compared only {compared} labels"
    assert not leftovers, "words left in English:\n" + "\n".join(leftovers)
