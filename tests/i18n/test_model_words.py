"""The words the models give the admin, the forms and the exports are translated.

Every model of ``cases`` and ``tracker`` names itself, each of its concrete fields, their
help texts and their choices through gettext, and each of those words has a Ukrainian and a
Korean text: a field added with an English-only label fails here. The user's and the group's
admin pages name the permissions in the reader's language, though the stored names stay
English.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import polib
import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.test.utils import isolate_apps
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django_countries.fields import CountryField

from cases.admin.accounts import permission_label
from cases.documents.models import Document
from cases.exchanges.models import Exchange, ExchangeListEntry, Handover
from cases.models import Case, IdempotencyKey, RateLimitCounter
from cases.preferences import account_language_set
from cases.tasks.models import Task
from tests.support.clients import session_client
from tests.support.roles import superuser

TRANSLATED = ("uk", "ko")
#: The modules whose models are the project's own.
PROJECT_MODULES = ("cases", "tracker")


def project_models() -> list[type[models.Model]]:
    """Return the installed models defined in the project's own modules."""
    return [model for model in apps.get_models() if model.__module__.startswith(PROJECT_MODULES)]


def model_words(model: type[models.Model]) -> Iterator[tuple[str, object]]:
    """Yield ``(where, word)`` for each word ``model`` shows a reader: its names, and each
    concrete field's label, help text and choice labels.

    The automatic ``id`` has no label of its own to show; the country names of a
    django-countries field are translated by django-countries.
    """
    opts = model._meta
    yield f"{opts.label} name", opts.verbose_name
    yield f"{opts.label} plural name", opts.verbose_name_plural
    for field in opts.get_fields():
        if not field.concrete or (field.auto_created and field.name == "id"):
            continue
        where = f"{opts.label}.{field.name}"
        yield f"{where} label", field.verbose_name
        if field.help_text:
            yield f"{where} help text", field.help_text
        if isinstance(field, CountryField):
            continue
        for value, label in field.flatchoices:
            yield f"{where} choice {value!r}", label


def catalog_translations(language: str) -> dict[str, set[str]]:
    """Return the committed catalog of ``language`` as English message -> its texts."""
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.po"
    found: dict[str, set[str]] = {}
    for entry in polib.pofile(str(path)):
        if entry.msgstr and not entry.obsolete and "fuzzy" not in entry.flags:
            found.setdefault(entry.msgid, set()).add(entry.msgstr)
    return found


def untranslated(models_: Iterable[type[models.Model]]) -> list[str]:
    """Return where each word of ``models_`` is plain English, or has no Ukrainian or Korean.

    A word is translated when it is a lazy translation and, in each language, either reads
    differently from the English or is in that language's catalog with a text (a word such
    as "API" is written the same). A model's plural name must be its own: Django's derived
    one adds an English "s" in every language.
    """
    catalogs = {language: catalog_translations(language) for language in TRANSLATED}
    problems = []
    for model in models_:
        if "verbose_name_plural" not in model._meta.original_attrs:
            problems.append(f"{model._meta.label} plural name: derived, not declared")
        for where, word in model_words(model):
            if not isinstance(word, Promise):
                problems.append(f"{where}: plain {word!r}")
                continue
            with translation.override("en"):
                english = str(word)
            for language in TRANSLATED:
                with translation.override(language):
                    text = str(word)
                if text == english and text not in catalogs[language].get(english, set()):
                    problems.append(f"{where}: no {language} text for {english!r}")
    return problems


def test_the_walk_sees_the_models_of_every_capability():
    walked = set(project_models())
    expected = {Case, Document, Exchange, ExchangeListEntry, Handover, Task, IdempotencyKey}
    assert expected | {RateLimitCounter} <= walked
    assert set(apps.get_app_config("cases").get_models()) <= walked


def test_every_model_word_is_a_lazy_translation_with_ukrainian_and_korean():
    """A label, help text, choice label or model name left in English fails here."""
    assert untranslated(project_models()) == []


@isolate_apps("cases")
def test_the_walk_finds_a_plain_label_a_plain_help_text_and_an_untranslated_word():
    """The check cannot pass silently: plain English and a message no catalog holds fail."""
    # Not ``_``: makemessages reads the tests too, and these words are not the site's.
    lazy_word = translation.gettext_lazy

    class Plain(models.Model):
        occurred_on = models.DateField()
        title = models.CharField(
            verbose_name=lazy_word("title"), max_length=10, help_text="Written in English only."
        )
        kind = models.CharField(
            verbose_name=lazy_word("kind"), max_length=8, choices=[("x", "A plain choice")]
        )
        missing = models.TextField(verbose_name=lazy_word("a label no catalog holds"))

        class Meta:
            app_label = "cases"
            verbose_name = lazy_word("case")

        def __str__(self):
            return self.title

    problems = untranslated([Plain])

    assert problems == [
        "cases.Plain plural name: derived, not declared",
        "cases.Plain.occurred_on label: plain 'occurred on'",
        "cases.Plain.title help text: plain 'Written in English only.'",
        "cases.Plain.kind choice 'x': plain 'A plain choice'",
        "cases.Plain.missing label: no uk text for 'a label no catalog holds'",
        "cases.Plain.missing label: no ko text for 'a label no catalog holds'",
    ]


def test_a_label_the_same_in_every_language_passes_when_the_catalog_holds_it():
    """ "API" is "API" in Ukrainian and Korean too: the catalog's text says so."""
    for language in TRANSLATED:
        assert "API" in catalog_translations(language)["API"]


# --------------------------------------------------------------------------------------------
# The user's and the group's admin pages: permissions in the reader's language
# --------------------------------------------------------------------------------------------

#: For each language: a default permission (view_case) and a custom one (view_sensitive), as
#: the user's and the group's pages list them, then the words of the stored English.
PERMISSION_WORDS = {
    "uk": (
        "Справи | справа | Може переглядати: справа",
        "Справи | справа | Може переглядати чутливі дані",
        "Аутентифікація та авторизація | користувач | Може змінювати: користувач",
    ),
    "ko": (
        "사건 | 사건 | 사건 조회 권한",
        "사건 | 사건 | 민감 정보 열람 권한",
        "인증 및 권한 | 사용자 | 사용자 변경 권한",
    ),
}
ENGLISH_WORDS = ("Can view", "Can add", "Can change", "Can delete", "Can export")


def root_in(language: str):
    root = superuser(f"words-root-{language}")
    account_language_set(user=root, language=language)
    return root, session_client(root)


@pytest.mark.django_db
@pytest.mark.parametrize("language", TRANSLATED)
def test_the_users_page_lists_the_permissions_in_the_readers_language(language):
    root, client = root_in(language)
    response = client.get(reverse("admin:auth_user_change", args=[root.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    for label in PERMISSION_WORDS[language]:
        assert f">{label}</option>" in body
    for english in ENGLISH_WORDS:
        assert english not in body


@pytest.mark.django_db
@pytest.mark.parametrize("language", TRANSLATED)
def test_the_groups_page_lists_the_permissions_in_the_readers_language(language):
    _root, client = root_in(language)
    group = Group.objects.create(name=f"readers-{language}")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="cases", codename__in=["view_case", "view_sensitive"]
        )
    )
    response = client.get(reverse("admin:auth_group_change", args=[group.pk]))

    assert response.status_code == 200
    body = response.content.decode()
    default, custom, other = PERMISSION_WORDS[language]
    # The group's own permissions are the selected options; the others are offered.
    assert f"selected>{default}</option>" in body
    assert f"selected>{custom}</option>" in body
    assert f">{other}</option>" in body
    for english in ENGLISH_WORDS:
        assert english not in body


@pytest.mark.django_db
def test_the_stored_permission_names_stay_english():
    """Only the label is translated: the rows keep the names Django and the models wrote."""
    sensitive = Permission.objects.get(content_type__app_label="cases", codename="view_sensitive")
    view_case = Permission.objects.get(content_type__app_label="cases", codename="view_case")
    with translation.override("uk"):
        assert permission_label(sensitive) == "Справи | справа | Може переглядати чутливі дані"
        assert permission_label(view_case) == "Справи | справа | Може переглядати: справа"
    assert sensitive.name == "Can view sensitive fields"
    assert view_case.name == "Can view case"
    with translation.override("en"):
        assert permission_label(sensitive) == str(sensitive)
        assert permission_label(view_case) == str(view_case)


@pytest.mark.django_db
def test_every_custom_permission_of_the_models_has_its_translations():
    """Each name a model declares in ``Meta.permissions`` reads differently in uk and ko."""
    declared = [
        (model, codename, name)
        for model in project_models()
        for codename, name in model._meta.permissions
    ]
    assert {codename for _model, codename, _name in declared} >= {
        "view_sensitive",
        "export_cases",
        "view_others_tasks",
        "import_lists",
    }
    for model, codename, name in declared:
        permission = Permission.objects.get(
            content_type__app_label=model._meta.app_label, codename=codename
        )
        for language in TRANSLATED:
            with translation.override(language):
                assert name not in permission_label(permission), (language, codename)
