"""Build the Korean catalog of Django REST framework's own messages for the site's ``ko``.

DRF ships its Korean translations under the name ``ko_KR``, and the site's language code is
``ko``: Django looks for ``ko`` only, so a Korean reader would get DRF's own messages
("Authentication credentials were not provided.") in English. ``make messages`` (and so
``make install``, ``make run``, ``make test``) runs this module: it writes DRF's catalog as
``build/locale/ko/LC_MESSAGES/django.mo``, a ``LOCALE_PATHS`` entry that is built, never
committed, and kept out of ``locale/`` (whose catalogs hold exactly the project's messages).

The messages Django itself translates into Korean are left out: a ``LOCALE_PATHS`` catalog
outranks Django's own, and the admin's "This field is required." should keep Django's
wording rather than DRF's.

Run as ``python -m tracker.vendored_locale [target folder]``.
"""

from __future__ import annotations

import gettext
import struct
import sys
from pathlib import Path

import django
import rest_framework

#: Where ``tracker.settings`` looks for the built catalogs (after ``locale/``).
BUILD_LOCALE = Path(__file__).resolve().parent.parent / "build" / "locale"
#: The site's language code, and the name DRF gives its catalog for that language.
LANGUAGES = {"ko": "ko_KR"}


def read_catalog(path: Path) -> dict[str, str]:
    """Return the messages of the compiled catalog at ``path`` (the header under ``""``)."""
    with path.open("rb") as handle:
        return dict(gettext.GNUTranslations(handle)._catalog)  # type: ignore[attr-defined]


def django_catalogs(language: str) -> dict[str, str]:
    """Return what Django and its contributed apps translate into ``language``."""
    root = Path(django.__file__).resolve().parent
    found: dict[str, str] = {}
    for path in sorted(root.glob(f"**/locale/{language}/LC_MESSAGES/django.mo")):
        found.update(read_catalog(path))
    return found


def write_catalog(path: Path, messages: dict[str, str]) -> None:
    """Write ``messages`` as a GNU ``.mo`` file at ``path`` (the format ``msgfmt`` writes)."""
    keys = sorted(messages)
    ids = b""
    strs = b""
    offsets = []
    for key in keys:
        original, translated = key.encode(), messages[key].encode()
        offsets.append((len(ids), len(original), len(strs), len(translated)))
        ids += original + b"\0"
        strs += translated + b"\0"
    header_size = 7 * 4
    ids_start = header_size + 16 * len(keys)
    strs_start = ids_start + len(ids)
    originals = b"".join(struct.pack("<2I", length, ids_start + o) for o, length, _s, _t in offsets)
    translations = b"".join(
        struct.pack("<2I", length, strs_start + s) for _o, _l, s, length in offsets
    )
    header = struct.pack(
        "<7I", 0x950412DE, 0, len(keys), header_size, header_size + 8 * len(keys), 0, 0
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + originals + translations + ids + strs)


def build(target: Path = BUILD_LOCALE) -> list[Path]:
    """Write DRF's catalog of each language in ``LANGUAGES`` under ``target``; return them."""
    drf_locale = Path(rest_framework.__file__).resolve().parent / "locale"
    written = []
    for language, drf_name in LANGUAGES.items():
        drf = read_catalog(drf_locale / drf_name / "LC_MESSAGES" / "django.mo")
        django_words = django_catalogs(language)
        messages = {
            key: text
            for key, text in drf.items()
            if key == "" or (text and key not in django_words)
        }
        path = target / language / "LC_MESSAGES" / "django.mo"
        write_catalog(path, messages)
        written.append(path)
    return written


if __name__ == "__main__":
    for built in build(Path(sys.argv[1]) if len(sys.argv) > 1 else BUILD_LOCALE):
        print(f"Built {built}")
