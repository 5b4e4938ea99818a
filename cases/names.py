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

How each spelling is compared (``NameSearch``): a spelling of three characters or more must
occur anywhere in the key, as before. A shorter one (Ri, Li, Yi, Ли, the syllable 리) would
match inside unrelated names as a substring (``ri`` is in Dmitriy, ``yi`` in Chornyi) and no
trigram index can find it, so it must be a whole word of the name as written (Ri Hyon Chol,
Hyon Chol Ri), or, in Hangul, where names are written without spaces, the start or the end of
the name (리현철, 김정은 for 정은). On PostgreSQL every comparison reads an index (migration
``0011_name_search``); SQLite evaluates the same conditions row by row.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import cyrtranslit
from django.db.models import BooleanField, F, Func, Lookup, Q, Subquery
from django.db.models.functions import Reverse
from django.db.models.lookups import StartsWith
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

#: Spellings shorter than this are compared as whole words (or Hangul name ends), not as
#: substrings: a trigram index needs three characters, and a shorter substring matches inside
#: unrelated names.
MIN_SUBSTRING_LENGTH = 3

#: What separates the words of a name: spaces, hyphens and dashes, underscores, dots, commas
#: and apostrophes. One regular expression, valid in Python and in PostgreSQL, used to split
#: queries, to match whole words on SQLite and in PostgreSQL's word indexes (migration 0011);
#: changing it needs a migration that rebuilds those indexes.
WORD_SEPARATORS = r"[\s‐‑‒–—_.,'’-]+"

_HANGUL_SYLLABLES = (0xAC00, 0xD7A3)
_SPLIT = re.compile(WORD_SEPARATORS)


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


def name_words(value: str) -> list[str]:
    """Return the lower-cased words of ``value`` as the whole-word comparison sees them."""
    return [word for word in _SPLIT.split(value.lower()) if word]


@dataclass(frozen=True)
class NameSearch:
    """The spellings of one name search, grouped by how each is compared with a name.

    ``substrings`` (three characters or more) must occur in ``PersonName.search_key``;
    ``words`` (shorter, not Hangul) must be a whole word of ``PersonName.value``;
    ``hangul_ends`` (one or two Hangul syllables) must begin or end ``search_key``.
    """

    substrings: tuple[str, ...]
    words: tuple[str, ...]
    hangul_ends: tuple[str, ...]

    @classmethod
    def of(cls, query: str) -> NameSearch | None:
        """Return the search for ``query``, or None when it has no spelling to look for."""
        variants = sorted(search_variants(query))
        if not variants:
            return None
        short = [v for v in variants if len(v) < MIN_SUBSTRING_LENGTH]
        return cls(
            substrings=tuple(v for v in variants if len(v) >= MIN_SUBSTRING_LENGTH),
            words=tuple(v for v in short if not _is_hangul(v)),
            hangul_ends=tuple(v for v in short if _is_hangul(v)),
        )

    def condition(self) -> Q:
        """Return the condition on ``PersonName`` rows that match one of the spellings."""
        condition = Q()
        for spelling in self.substrings:
            condition |= Q(search_key__contains=spelling)
        if self.words:
            condition |= Q(HasWord("value", self.words))
        for spelling in self.hangul_ends:
            condition |= Q(search_key__startswith=spelling)
            condition |= Q(StartsWith(Reverse("search_key"), spelling[::-1]))
        return condition

    def matches(self, value: str) -> bool:
        """Return whether a name written ``value`` matches (the Python form of ``condition``)."""
        key = normalise_name(value)
        words = set(name_words(value))
        return (
            any(spelling in key for spelling in self.substrings)
            or any(word in words for word in self.words)
            or any(key.startswith(s) or key.endswith(s) for s in self.hangul_ends)
        )


def short_query_words(query: str) -> list[str]:
    """Return the words of a query too short for a substring search, lower-cased."""
    return name_words(query.strip())


# --------------------------------------------------------------------------------------------
# SQL: comparisons that PostgreSQL serves from an index and SQLite evaluates the same way
# --------------------------------------------------------------------------------------------


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class HasWord(Func):
    """True when one of ``words`` (lower-case) is a whole word of the text ``expression``.

    On PostgreSQL the name's words are ``regexp_split_to_array(lower(column), separators)``,
    the expression of a GIN index (migration 0011), compared with ``&&``; the separator
    pattern is written into the SQL as a literal so that the planner recognises the indexed
    expression. SQLite runs the equivalent case-insensitive regular expression through
    Django's ``REGEXP`` function (Python's ``re``).
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, expression, words):
        self.words = tuple(words)
        super().__init__(expression)

    def as_sql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        alternatives = "|".join(re.escape(word) for word in self.words)
        pattern = f"(?i)(?:^|{WORD_SEPARATORS})(?:{alternatives})(?:{WORD_SEPARATORS}|$)"
        return f"{column} REGEXP %s", [*params, pattern]

    def as_postgresql(self, compiler, connection, **extra_context):
        column, params = compiler.compile(self.source_expressions[0])
        words = f"regexp_split_to_array(lower({column}), {_sql_literal(WORD_SEPARATORS)})"
        return f"{words} && %s::text[]", [*params, list(self.words)]


class InSubquery(Func):
    """True when ``column`` is one of the values a subquery returns.

    PostgreSQL gets ``column = ANY(ARRAY(subquery))``: the subquery runs once and the
    condition becomes an index read on ``column`` that a ``BitmapOr`` can combine with the
    other branches of a search (an ``IN`` inside an ``OR`` is checked row by row over the
    whole table instead). Elsewhere it is a plain ``column IN (subquery)``.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, queryset):
        # Membership has no order: a model's default ordering would sort every match inside
        # the subquery (and on PostgreSQL the array) before the page takes its few rows.
        super().__init__(F(column), Subquery(queryset.order_by()))

    def _parts(self, compiler):
        column, column_params = compiler.compile(self.source_expressions[0])
        subquery, subquery_params = compiler.compile(self.source_expressions[1])
        return column, subquery, [*column_params, *subquery_params]

    def as_sql(self, compiler, connection, **extra_context):
        column, subquery, params = self._parts(compiler)
        return f"{column} IN {subquery}", params

    def as_postgresql(self, compiler, connection, **extra_context):
        column, subquery, params = self._parts(compiler)
        return f"{column} = ANY(ARRAY{subquery})", params


class ILike(Lookup):
    """Case-insensitive ``LIKE`` that PostgreSQL's trigram indexes can serve.

    Django's ``icontains`` compares ``UPPER(column)``, which an index on the column itself
    does not serve; ``ILIKE`` does. SQLite's ``LIKE`` is already case-insensitive, as it is
    for ``icontains``. The right-hand side is a ``LIKE`` pattern: escape it with
    :func:`like_escape`.
    """

    lookup_name = "ilike"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]


def like_escape(text: str) -> str:
    """Return ``text`` with the ``LIKE`` wildcards and the escape character escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# --------------------------------------------------------------------------------------------
# Which name a reader sees first
# --------------------------------------------------------------------------------------------

#: The script each language's readers read names in: Latin for English, Cyrillic for
#: Ukrainian, Hangul for Korean.
READER_SCRIPTS = {"en": "latin", "uk": "cyrillic", "ko": "hangul"}


def script_of(text: str) -> str:
    """Return the script ``text`` is written in: "hangul", "cyrillic", "latin" or ""."""
    letters = [char for char in text if char.isalpha()]
    if not letters:
        return ""
    if all(_HANGUL_SYLLABLES[0] <= ord(char) <= _HANGUL_SYLLABLES[1] for char in letters):
        return "hangul"
    if all(0x0400 <= ord(char) <= 0x04FF for char in letters):
        return "cyrillic"
    if all(unicodedata.name(char, "").startswith("LATIN") for char in letters):
        return "latin"
    return ""


@dataclass(frozen=True)
class ShownName:
    """A name as a page shows it: its text, and the variant it is (None: the working name)."""

    value: str
    variant: object | None = None


def names_for_reader(working_name: str, variants, language: str | None) -> list[ShownName]:
    """Return the names to show a reader of ``language``, the one in his script first.

    ``variants`` are the name variants the reader may see (``sensitive.visible_names``:
    without the permission, pseudonyms only), in their order; nothing else is shown. The
    first name is the working name when it is written in the reader's script, else the
    first of those variants recorded in that script, else the working name. The others
    follow in their order: the working name (when it is not first), then the variants, each
    text once.
    """
    script = READER_SCRIPTS.get((language or "").split("-")[0], "")
    variants = list(variants)
    first = ShownName(working_name)
    if script and script_of(working_name) != script:
        in_script = next((v for v in variants if v.script == script), None)
        if in_script is not None:
            first = ShownName(in_script.value, in_script)
    shown = [first]
    seen = {first.value}
    for name in [ShownName(working_name), *(ShownName(v.value, v) for v in variants)]:
        if name.value not in seen:
            seen.add(name.value)
            shown.append(name)
    return shown
