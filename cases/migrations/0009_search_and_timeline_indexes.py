"""Add PostgreSQL trigram indexes for the name search's other columns.

Like ``0007``, these are plain SQL behind a vendor check and stay out of the model state:
trigram operator classes are PostgreSQL's, and SQLite's small databases need none of them.

- ``case_reference_trgm`` and ``person_working_name_trgm`` let ``ILIKE '%...%'`` on a case's
  reference and a person's working name use an index, so each branch of the name search is
  an index read instead of a scan of every case.

The timeline's date index is ``event_occurred_case`` in ``0010``.
"""

from django.db import migrations

from cases.migrations._postgres import postgres_indexes

#: (name, definition) of every index; names are short enough for PostgreSQL's 63 bytes.
INDEXES = [
    ("case_reference_trgm", "cases_case USING gin (reference gin_trgm_ops)"),
    ("person_working_name_trgm", "cases_person USING gin (working_name gin_trgm_ops)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0008_archive_purge"),
    ]

    operations = [
        postgres_indexes(INDEXES, extension="pg_trgm"),
    ]
