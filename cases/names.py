"""Name normalisation and search across scripts and spellings.

A name search compares normalised strings: every ``PersonName`` stores
``search_key = normalise_name(value)``, and a query is expanded by ``search_variants`` into
the normalised spellings that should match it, each compared as a substring of the key.

Three sources of spellings feed the expansion:

* Korean surnames: the press spells one Hangul surname many ways (이 is Lee, Yi, Rhee in the
  South and Ri in the North; 백 is Baek, Paek, Paik). No romanisation library knows these
  conventions, because they are habits of passports and newspapers rather than rules, so
  ``KOREAN_SURNAMES`` lists them for the common surnames, with the Cyrillic spellings used by
  the Russian and Ukrainian press.
* Hangul given names: romanised syllable by syllable with ``korean-romanizer`` (Revised
  Romanisation, the South's system), plus a simplified McCune-Reischauer form (eo -> o,
  eu -> u) that is close to the North's official spelling and to most press spellings
  (김정은 -> gimjeongeun, kimjongun).
* Cyrillic: transliterated to Latin, and Latin to Cyrillic, with ``cyrtranslit`` (Russian and
  Ukrainian tables).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import cyrtranslit
from korean_romanizer.romanizer import Romanizer

#: Common Korean surnames and the spellings they appear under in the press: Hangul (South and
#: North forms), Latin (Revised, McCune-Reischauer, passport and North Korean spellings) and
#: Cyrillic (Kontsevich and press spellings). A query matching any member matches them all.
KOREAN_SURNAMES: tuple[tuple[str, ...], ...] = (
    ("이", "리", "Lee", "Yi", "Rhee", "Ri", "Li", "Rhie", "Ree", "Yee", "Ли", "Ри"),
    ("백", "Baek", "Paek", "Paik", "Baik", "Back", "Пэк", "Пек", "Бэк"),
    ("김", "Kim", "Gim", "Ким"),
    ("박", "Park", "Pak", "Bak", "Bahk", "Pack", "Пак"),
    ("최", "Choe", "Choi", "Chwe", "Choy", "Чхве", "Цой", "Чой"),
    ("정", "Jeong", "Jung", "Chung", "Chong", "Joung", "Jong", "Чон", "Чен"),
    ("강", "Kang", "Gang", "Канг", "Кан"),
    ("조", "Cho", "Jo", "Joe", "Чо"),
    ("윤", "Yoon", "Yun", "Юн"),
    ("장", "Jang", "Chang", "Чан", "Чжан"),
    ("임", "림", "Lim", "Im", "Rim", "Yim", "Лим", "Рим", "Им"),
    ("한", "Han", "Хан"),
    ("오", "Oh", "Ох"),
    ("서", "Seo", "Suh", "So", "Со"),
    ("신", "Shin", "Sin", "Син", "Шин"),
    ("권", "Kwon", "Gwon", "Квон"),
    ("황", "Hwang", "Хван"),
    ("안", "Ahn", "An", "Ан"),
    ("송", "Song", "Сон"),
    ("유", "류", "Yoo", "Yu", "Ryu", "Ryoo", "Rhyu", "Ю", "Рю"),
    ("전", "Jeon", "Jun", "Chon", "Chun", "Чон"),
    ("홍", "Hong", "Хон", "Хонг"),
    ("고", "Ko", "Go", "Koh", "Ко"),
    ("문", "Moon", "Mun", "Мун"),
    ("양", "량", "Yang", "Ryang", "Ян", "Рян"),
    ("손", "Son", "Sohn", "Сон"),
    ("노", "로", "Noh", "Roh", "No", "Ro", "Но", "Ро"),
    ("하", "Ha", "Ха"),
    ("주", "Joo", "Ju", "Chu", "Choo", "Чу", "Чжу"),
    ("구", "Koo", "Ku", "Gu", "Ку"),
    ("남", "Nam", "Нам"),
    ("차", "Cha", "Ча"),
    ("방", "Bang", "Pang", "Пан"),
    ("현", "Hyun", "Hyeon", "Hyon", "Хён", "Хен"),
)

#: Upper bound on the spellings one query expands to, so a search stays a short OR.
MAX_VARIANTS = 40

_HANGUL_SYLLABLES = (0xAC00, 0xD7A3)
_SPLIT = re.compile(r"[\s\-‐‑‒–—_.,'’]+")


def normalise_name(value: str) -> str:
    """Return ``value`` folded for matching: NFKC, case-folded, accents and separators removed.

    Hangul syllables are kept whole (NFKC composes them), so "리" stays "리"; Latin letters
    lose their diacritics so "Rhée" matches "rhee".
    """
    composed = unicodedata.normalize("NFKC", value).casefold()
    decomposed = unicodedata.normalize("NFD", composed)
    kept = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Mn" and not _is_hangul_jamo(char):
            continue  # combining accent on a Latin or Cyrillic letter
        if category.startswith(("Z", "P")):
            continue  # spaces, hyphens, apostrophes: "Yong-weon" == "Yongweon"
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def _is_hangul_jamo(char: str) -> bool:
    return 0x1100 <= ord(char) <= 0x11FF


def _is_hangul(text: str) -> bool:
    return bool(text) and all(
        _HANGUL_SYLLABLES[0] <= ord(char) <= _HANGUL_SYLLABLES[1] for char in text
    )


def _has_cyrillic(text: str) -> bool:
    return any(0x0400 <= ord(char) <= 0x04FF for char in text)


def _is_latin(text: str) -> bool:
    return bool(text) and all("a" <= char <= "z" for char in text)


@lru_cache(maxsize=1)
def _surname_index() -> dict[str, frozenset[str]]:
    """Return each normalised surname spelling mapped to its whole group of spellings."""
    index: dict[str, set[str]] = {}
    for group in KOREAN_SURNAMES:
        keys = {normalise_name(spelling) for spelling in group}
        for key in keys:
            index.setdefault(key, set()).update(keys)
    return {key: frozenset(spellings) for key, spellings in index.items()}


def surname_spellings(token: str) -> frozenset[str]:
    """Return the normalised spellings of the surname ``token`` is one of, or an empty set."""
    return _surname_index().get(normalise_name(token), frozenset())


def romanise_hangul(text: str) -> set[str]:
    """Return Latin spellings of Hangul ``text``, romanised syllable by syllable.

    Names are romanised without sound changes across syllables (정은 is jeongeun, not
    jeongeun with assimilation), as passports and the press do. Two forms are returned:
    Revised Romanisation and a simplified McCune-Reischauer form without breves.
    """
    if not _is_hangul(text):
        return set()
    revised = "".join(Romanizer(syllable).romanize() for syllable in text)
    simplified = revised.replace("eo", "o").replace("eu", "u")
    return {normalise_name(revised), normalise_name(simplified)}


def _single_script(text: str) -> bool:
    """Return whether ``text`` is written in one script only (Hangul, Latin or Cyrillic)."""
    return _is_hangul(text) or _is_latin(text) or all(_has_cyrillic(char) for char in text)


def _hangul_variants(key: str) -> set[str]:
    """Return spellings for a Hangul query: the surname's group and the romanised name."""
    variants = set(romanise_hangul(key))
    surnames = surname_spellings(key[0])
    if len(key) == 1:
        return variants | set(surnames)
    given = key[1:]
    given_latin = romanise_hangul(given)
    for spelling in surnames:
        if _is_hangul(spelling):
            variants.add(spelling + given)
        elif _is_latin(spelling):
            variants.update(spelling + rest for rest in given_latin)
        # Given name first, as some Western outlets write it: "Yong Ri".
        if _is_latin(spelling):
            variants.update(rest + spelling for rest in given_latin)
    return variants


def _token_variants(tokens: list[str]) -> set[str]:
    """Return spellings for a Latin or Cyrillic query, varying a surname at either end."""
    keys = [normalise_name(token) for token in tokens]
    keys = [key for key in keys if key]
    if not keys:
        return set()
    variants: set[str] = set()
    if len(keys) == 1:
        variants.update(surname_spellings(keys[0]))
        return variants
    first, rest = surname_spellings(keys[0]), "".join(keys[1:])
    variants.update(spelling + rest for spelling in first if not _is_hangul(spelling))
    last, head = surname_spellings(keys[-1]), "".join(keys[:-1])
    variants.update(head + spelling for spelling in last if not _is_hangul(spelling))
    return variants


def search_variants(query: str) -> set[str]:
    """Return the normalised spellings that a name search for ``query`` should match.

    Each returned string is compared against ``PersonName.search_key`` as a substring. The
    set always holds the query itself, normalised; it adds the query's other spellings:
    Hangul to Latin and back for Korean surnames (리 finds Lee, Ri, Yi; Paek finds 백),
    romanised Hangul given names, and Cyrillic to Latin and back. Single Latin letters
    (the surname 이 romanised as "I", 오 as "O") are left out: as substrings they would
    match almost every name.
    """
    key = normalise_name(query)
    if not key:
        return set()
    variants = {key}
    if _is_hangul(key):
        variants |= _hangul_variants(key)
    else:
        tokens = [token for token in _SPLIT.split(query) if token]
        variants |= _token_variants(tokens)
        if _has_cyrillic(key):
            for lang in ("ru", "ua"):
                latin_tokens = [cyrtranslit.to_latin(token, lang) for token in tokens]
                variants.add(normalise_name("".join(latin_tokens)))
                variants |= _token_variants(latin_tokens)
        elif _is_latin(key):
            variants |= {
                normalise_name(cyrtranslit.to_cyrillic(key, lang)) for lang in ("ru", "ua")
            }
    # Mixed-script strings ("kimжонгун") are no one's spelling; single Latin letters would
    # match almost every name as substrings.
    variants = {v for v in variants if _single_script(v) and (len(v) > 1 or not _is_latin(v))}
    if len(variants) > MAX_VARIANTS:
        # Keep the query itself and the shortest spellings, which match the most names.
        ordered = sorted(variants - {key}, key=lambda v: (len(v), v))
        variants = {key, *ordered[: MAX_VARIANTS - 1]}
    return variants
