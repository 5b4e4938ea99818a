"""Add a PostgreSQL index for the nationality filter.

Nationalities are stored as comma-separated two-letter codes. ``person_nationalities`` is a
GIN index on ``string_to_array(nationalities, ',')``, the expression the filter compares
with ``&&`` (``cases.filters.HoldsAnyCode``), so ``nationality=KP`` reads the index instead
of matching a substring in every person. PostgreSQL only, like ``0007`` and ``0009``-``0012``.
"""

from django.db import migrations

from cases.migrations._postgres import postgres_indexes

#: (name, definition) of every index; the expression must stay the filter's.
INDEXES = [
    ("person_nationalities", "cases_person USING gin (string_to_array(nationalities, ','))"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0012_list_indexes"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
