"""Add PostgreSQL indexes for the analysts' list page's charts.

Like ``0007`` and ``0009``, these are plain SQL behind a vendor check and stay out of the
model state, so ``makemigrations --check`` stays clean and SQLite gets none of them.

- ``event_occurred_case`` on ``(occurred_at, case_id)``: the events-per-month chart counts
  the events of any case month by month as range reads of this index alone (no visit to
  the table to see ``case_id``), and a
  filtered list's events are joined to its cases from the same index.
- ``case_archived`` on ``id`` where ``archived_at`` is set: finds the archived cases (few)
  without reading every case, for the chart's "less the events of archived cases" and the
  ``archived=only`` lists.
"""

from django.db import migrations

from cases.migrations._postgres import postgres_indexes

#: (name, definition) of every index; names are short enough for PostgreSQL's 63 bytes.
INDEXES = [
    ("event_occurred_case", "cases_timelineevent (occurred_at, case_id)"),
    ("case_archived", "cases_case (id) WHERE archived_at IS NOT NULL"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0009_search_and_timeline_indexes"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
