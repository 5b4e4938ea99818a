"""Add PostgreSQL indexes for the person list's order and the count of live cases.

Like ``0007`` and ``0009``-``0011``, these are plain SQL behind a vendor check and stay out
of the model state; SQLite gets none of them.

- ``person_name_order`` on ``(working_name, id)``: the person list's order, so a page is read
  from the index instead of sorting every person.
- ``case_live`` on ``id`` where ``archived_at`` is null: every case list leaves archived
  cases out by default, so the unfiltered count is an index-only read of this index instead
  of a visit to every row of the case table.
"""

from django.db import migrations

from cases.migrations._postgres import postgres_indexes

#: (name, definition) of every index; names are short enough for PostgreSQL's 63 bytes.
INDEXES = [
    ("person_name_order", "cases_person (working_name, id)"),
    ("case_live", "cases_case (id) WHERE archived_at IS NULL"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0011_name_search"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
