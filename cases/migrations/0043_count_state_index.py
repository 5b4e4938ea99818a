"""Add a PostgreSQL index for the state a list's count is kept under.

A count whose query cannot see the writes of some event kinds (``cases.api.selectors``:
``NARROW_FOOTPRINTS``, a note) is kept under the state of the other events, read as the
newest of their transactions and those beyond the snapshot's oldest running one. Without
this index the newest would be found by walking back over every note written since, which
grows with the notes. PostgreSQL only, like ``0007`` and ``0009``-``0013``; the condition
must list exactly ``cases.api.selectors.NARROW_KINDS``.
"""

from django.db import migrations

from cases.migrations._postgres import postgres_indexes

#: (name, definition) of every index.
INDEXES = [
    ("event_xact_not_narrow", "cases_timelineevent (xact_id) WHERE kind NOT IN ('note.added')"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0042_write_positions"),
    ]

    operations = [
        postgres_indexes(INDEXES),
    ]
