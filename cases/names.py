"""Name normalisation for search across scripts and spellings."""

import unicodedata


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


def search_variants(query: str) -> set[str]:
    """Return the normalised spellings that a name search for ``query`` should match.

    Each returned string is compared against ``PersonName.search_key`` (a substring match).
    For now this is the query itself, normalised; cross-script and cross-romanisation
    expansion (리 -> ri, lee, yi, rhee ...) extends this set.
    """
    key = normalise_name(query)
    return {key} if key else set()
