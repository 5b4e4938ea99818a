"""Add PostgreSQL indexes for name-search spellings too short for a trigram index.

Like ``0007`` and ``0009``, these are plain SQL behind a vendor check and stay out of the
model state; SQLite evaluates the same conditions row by row (see ``cases.names``).

- ``personname_words`` and ``person_working_name_words``: GIN indexes on the lower-cased
  words of a name variant and of a working name, split at ``cases.names.WORD_SEPARATORS``.
  A spelling shorter than three characters (Ri, Li, Yi, Ли) matches a whole word
  (``words && ARRAY[...]``), which these indexes find directly.
- ``personname_search_reversed``: a btree on ``reverse(search_key)`` with pattern operators,
  so a one- or two-syllable Hangul spelling can match the end of a name (정은 in 김정은) by
  a prefix scan, as the existing ``search_key`` pattern index serves the start.

The expressions must stay identical to the SQL that ``cases.names.HasWord`` and
``NameSearch.condition`` write, or the planner will not use them. ``lower()`` folds non-ASCII
letters (Cyrillic) only under a UTF-8 ``LC_CTYPE``, the default of current clusters.
"""

from django.db import migrations

from cases.migrations._postgres import postgres_indexes

#: The separators of ``cases.names.WORD_SEPARATORS``, frozen here as the migration built them.
WORD_SEPARATORS = r"[\s‐‑‒–—_.,'’-]+"
_SEPARATORS_SQL = "'" + WORD_SEPARATORS.replace("'", "''") + "'"

#: (name, definition) of every index; names are short enough for PostgreSQL's 63 bytes.
INDEXES = [
    (
        "personname_words",
        f"cases_personname USING gin (regexp_split_to_array(lower(value), {_SEPARATORS_SQL}))",
    ),
    (
        "person_working_name_words",
        f"cases_person USING gin (regexp_split_to_array(lower(working_name), {_SEPARATORS_SQL}))",
    ),
    ("personname_search_reversed", "cases_personname (reverse(search_key) text_pattern_ops)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0010_pages_indexes"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
