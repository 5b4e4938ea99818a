"""Add PostgreSQL indexes for the case filters and the name search; nothing on SQLite.

The indexes are created with plain SQL and kept out of the model state on purpose: they are
specific to PostgreSQL (trigram operator classes, partial conditions written for its
planner), and SQLite's small embedded databases need none of them. Each composite index
ends with ``reference``, the lists' default order, so a filtered first page is read in
order from the index and stops after 50 rows instead of sorting every match.
"""

from django.db import migrations

from cases.migrations._postgres import postgres_indexes

#: (name, definition) of every index; names are short enough for PostgreSQL's 63 bytes.
INDEXES = [
    # Name search: ``search_key LIKE '%...%'`` for every spelling variant.
    (
        "personname_search_trgm",
        "cases_personname USING gin (search_key gin_trgm_ops)",
    ),
    # Equality filters of the case list, in the list's default order.
    ("case_status_ref", "cases_case (status, reference)"),
    ("case_legal_status_ref", "cases_case (legal_status, reference)"),
    ("case_party_ref", "cases_case (detaining_party_id, reference)"),
    ("case_intention_ref", "cases_case (current_intention_option, reference)"),
    (
        "case_destination_ref",
        "cases_case (current_intention_destination, reference) "
        "WHERE current_intention_destination <> ''",
    ),
    # Verified intentions are the minority; unverified ones are read from the reference order.
    ("case_verified_ref", "cases_case (reference) WHERE current_intention_verified"),
    # The request filters (one request of that kind and status) and the open-request count.
    ("request_case_kind_status", "cases_request (case_id, kind, status)"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_roles"),
    ]

    operations = [
        postgres_indexes(INDEXES, extension="pg_trgm"),
    ]
