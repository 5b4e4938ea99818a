"""The translations are complete: every message of the code has a Ukrainian and a Korean text.

A message is complete when its ``.po`` entry is translated, not fuzzy, and its placeholders
match the English (GNU ``msgfmt --check``); the catalogs hold exactly the messages that
``makemessages`` finds in the code, so an English string added without translations fails
here, and so does a translation left behind for a string that is gone.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

BASE_DIR = Path(settings.BASE_DIR)
LOCALE = BASE_DIR / "locale"
#: The languages translated in the repository; English is the source language.
TRANSLATED = ["uk", "ko"]
#: What ``makemessages`` reads: Python, templates and text files.
SOURCE_SUFFIXES = {".py", ".html", ".txt"}
#: Folders that hold no source of the project's messages.
NOT_SOURCE = {"staticfiles", "test-artifacts", "locale", "node_modules"}

pytestmark = pytest.mark.skipif(
    shutil.which("msgfmt") is None, reason="GNU gettext is absent (apt-get install gettext)"
)


def catalog(language: str) -> polib.POFile:
    """Return the committed catalog of ``language``."""
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def keys(po: polib.POFile) -> set[tuple[str | None, str]]:
    """Return the (context, message) pairs of the live entries of ``po``."""
    return {(entry.msgctxt, entry.msgid) for entry in po if not entry.obsolete}


def test_the_site_languages_have_catalogs():
    """Every language the site offers but English has a catalog in locale/."""
    offered = {code for code, _name in settings.LANGUAGES} - {"en"}
    assert offered == set(TRANSLATED)
    for language in TRANSLATED:
        assert (LOCALE / language / "LC_MESSAGES" / "django.po").is_file(), language


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    """No entry is untranslated (a plural in any of its forms), fuzzy or obsolete."""
    po = catalog(language)
    assert len(po) > 100, "the catalog holds the site's messages"
    assert po.metadata["Language"] == language
    assert not po.metadata_is_fuzzy, "the header is marked fuzzy: msgfmt would skip it"
    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]
    obsolete = [entry.msgid for entry in po.obsolete_entries()]
    blank_plurals = [
        entry.msgid
        for entry in po
        if entry.msgid_plural and not all(entry.msgstr_plural.get(i) for i in range(nplurals(po)))
    ]
    assert untranslated == [], f"untranslated in {language}"
    assert fuzzy == [], f"fuzzy in {language}"
    assert obsolete == [], f"obsolete in {language}: remove them"
    assert blank_plurals == [], f"plural forms missing in {language}"


def nplurals(po: polib.POFile) -> int:
    """Return the number of plural forms the catalog's header declares."""
    forms = po.metadata["Plural-Forms"]
    return int(forms.split("nplurals=")[1].split(";")[0])


@pytest.mark.parametrize("language", TRANSLATED)
def test_placeholders_and_markup_match_the_english(language, tmp_path):
    """GNU msgfmt --check accepts the catalog: the same %(name)s placeholders as the English."""
    po_path = LOCALE / language / "LC_MESSAGES" / "django.po"
    result = subprocess.run(
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(po_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for entry in catalog(language):
        texts = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        for text in texts:
            # A link or an emphasis in the English keeps its tags in the translation.
            for tag in ("<a ", "</a>", "<strong>", "</strong>"):
                assert entry.msgid.count(tag) == text.count(tag), (language, entry.msgid)


def _copy_sources(destination: Path) -> None:
    """Copy what makemessages reads from the repository to ``destination``."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        hidden = {name for name in names if name.startswith(".")}
        folders = {name for name in names if name in NOT_SOURCE or name == "__pycache__"}
        other_files = {
            name
            for name in names
            if (Path(directory) / name).is_file() and Path(name).suffix not in SOURCE_SUFFIXES
        }
        return hidden | folders | other_files

    shutil.copytree(BASE_DIR, destination, ignore=ignore, symlinks=True)


def test_makemessages_finds_no_message_the_catalogs_lack(tmp_path, monkeypatch):
    """makemessages, run over a copy of the code into a copy of the catalogs, adds nothing.

    The copy is compared with the committed catalogs by (context, message): a message in the
    code without an entry fails, and so does an entry the code no longer uses.
    """
    source = tmp_path / "source"
    _copy_sources(source)
    shutil.copytree(LOCALE, source / "locale", ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.chdir(source)
    with override_settings(LOCALE_PATHS=[str(source / "locale")]):
        call_command(
            "makemessages",
            locale=TRANSLATED,
            add_location="file",
            ignore_patterns=["staticfiles", "test-artifacts"],
            verbosity=0,
        )
    for language in TRANSLATED:
        fresh = polib.pofile(str(source / "locale" / language / "LC_MESSAGES" / "django.po"))
        committed = keys(catalog(language))
        found = keys(fresh)
        assert len(found) > 100, "makemessages read the code"
        assert found - committed == set(), f"messages of the code missing from {language}"
        assert committed - found == set(), f"entries of {language} the code no longer uses"
