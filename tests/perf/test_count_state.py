"""The state a list's count is kept under leaves out the writes the count cannot see.

``cases.api.selectors.NARROW_FOOTPRINTS`` says what each narrow event kind's writes change.
Here each such kind's every producer is run and every statement it writes is held to its
footprint; a count that reads none of a footprint then survives those writes, and one that
reads it does not.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases import services
from cases.api import selectors
from cases.choices import EventKind
from cases.models import Case, Note
from cases.security.access import CASE_DATA_MODELS, READ_ONLY_MODELS
from tests import factories as f
from tests.perf.test_perf_api import (
    empty_cache,  # noqa: F401 - a fixture
    in_another_connection,
    settled,
)
from tests.support.clients import token_client
from tests.support.roles import INTEGRATION, user_in_role

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the count is kept on PostgreSQL only"
)

CASES = "/api/v1/cases/"
NOTES = "/api/v1/notes/"

#: The tables of case data: a narrow kind may write only what its footprint names there.
CASE_TABLES = {f"cases_{name}" for name in (*CASE_DATA_MODELS, *READ_ONLY_MODELS)}

_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"(\w+)"', re.IGNORECASE)
_SET = re.compile(r'"(\w+)"\s*=')


def writes(queries) -> dict[str, set[str] | None]:
    """Return ``{table: columns set}`` of the statements that wrote (None: whole rows)."""
    found: dict[str, set[str] | None] = {}
    for query in queries:
        match = _WRITE.match(query["sql"])
        if not match:
            continue
        verb, table = match.group(1).upper(), match.group(2)
        if verb == "UPDATE":
            assignments = query["sql"].split(" SET ", 1)[1].split(" WHERE ", 1)[0]
            if found.get(table, set()) is not None:
                found[table] = found.get(table, set()) | set(_SET.findall(assignments))
        else:
            found[table] = None
    return found


def within(written: dict[str, set[str] | None], footprint: dict) -> list[str]:
    """Return what ``written`` changed in case data beyond the events and ``footprint``."""
    beyond = []
    for table, columns in written.items():
        if table == "cases_timelineevent" or table not in CASE_TABLES:
            continue
        allowed = footprint.get(table, frozenset())
        if allowed is None:
            continue
        if columns is None or not columns <= allowed:
            beyond.append(f"{table}: {'whole rows' if columns is None else sorted(columns)}")
    return beyond


def _note(case, **extra):
    return services.note_add(actor=f.SYSTEM, case=case, body="a word", **extra)


#: Every way each narrow kind is written, given a case and a source made beforehand.
PRODUCERS = {
    "note.added": [
        ("a note", lambda case, _source: _note(case)),
        (
            "a note with its source and reason",
            lambda case, source: _note(case, source=source, reason="why"),
        ),
    ],
}


def test_every_narrow_kind_has_its_producers_here():
    assert set(PRODUCERS) == set(selectors.NARROW_FOOTPRINTS)


@pytest.mark.parametrize("kind", sorted(selectors.NARROW_FOOTPRINTS))
def test_only_the_listed_producers_write_a_narrow_kind(kind):
    """A new service writing a narrow kind fails here until its writes are held above."""
    member = EventKind(kind).name
    root = Path(settings.BASE_DIR) / "cases"
    writers = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if f"EventKind.{member}" in path.read_text() and path.name != "choices.py"
    )
    assert writers == ["services/records.py"], writers


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kind", "label"),
    [(kind, label) for kind, producers in PRODUCERS.items() for label, _ in producers],
)
def test_a_narrow_kind_writes_nothing_beyond_its_footprint(kind, label):
    produce = dict(PRODUCERS[kind])[label]
    case, source = f.case(), f.source()
    with CaptureQueriesContext(connection) as captured:
        produce(case, source)
    written = writes(captured.captured_queries)
    assert "cases_timelineevent" in written, "the producer appended its event"
    assert within(written, selectors.NARROW_FOOTPRINTS[kind]) == []


def test_the_footprint_check_sees_a_write_beyond_it():
    """The check above would see a producer that changed more than its footprint."""
    queries = [
        {"sql": 'INSERT INTO "cases_note" ("body") VALUES (%s)'},
        {"sql": 'UPDATE "cases_case" SET "last_event_seq" = 3 WHERE "cases_case"."id" = 1'},
        {"sql": 'UPDATE "cases_case" SET "status" = %s, "updated_at" = %s WHERE "id" = 1'},
    ]
    footprint = selectors.NARROW_FOOTPRINTS["note.added"]
    assert within(writes(queries[:2]), footprint) == []
    assert within(writes(queries), footprint) == [
        "cases_case: ['last_event_seq', 'status', 'updated_at']"
    ]


def test_a_count_leaves_out_only_the_kinds_whose_footprint_it_cannot_read():
    cases_sql = str(Case.objects.filter(status="interned").values("pk").query)
    notes_sql = str(Note.objects.values("pk").query)
    assert "note.added" in selectors.count_state_sql(cases_sql)
    assert selectors.count_state_sql(notes_sql) == selectors._DATA_STATE
    # A count that reads the case's event sequence cannot leave the notes out either.
    seq_sql = str(Case.objects.filter(last_event_seq__gt=3).values("pk").query)
    assert selectors.count_state_sql(seq_sql) == selectors._DATA_STATE


def test_the_partial_index_lists_exactly_the_narrow_kinds():
    from importlib import import_module

    migration = import_module("cases.migrations.0043_count_state_index")
    ((_name, definition),) = migration.INDEXES
    listed = tuple(sorted(re.findall(r"'([\w.]+)'", definition)))
    assert listed == selectors.NARROW_KINDS


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_case_list_keeps_its_count_through_notes_and_not_through_other_writes(
    empty_cache,  # noqa: F811
):
    client, _token = token_client(user_in_role(INTEGRATION, "integration"))
    first, _second = f.case(), f.case()
    settled()
    assert client.get(CASES).json()["count"] == 2
    in_another_connection(lambda: _note(Case.objects.get(pk=first.pk)))
    settled()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CASES).json()["count"] == 2
    assert len(captured) == 1, "a note: the page alone, the count read back"
    # The notes' own list reads the notes: its count is taken again after one.
    assert client.get(NOTES).json()["count"] == 1
    in_another_connection(lambda: _note(Case.objects.get(pk=first.pk)))
    settled()
    assert client.get(NOTES).json()["count"] == 2
    # Any other write to case data counts again.
    in_another_connection(f.case)
    settled()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CASES).json()["count"] == 3
    assert len(captured) == 2, "the page, then the count taken afresh"


@on_postgresql
@pytest.mark.django_db
def test_the_state_leaving_out_notes_reads_the_partial_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        state = selectors.count_state_sql(str(Case.objects.values("pk").query))
        cursor.execute(f"EXPLAIN SELECT {state}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "event_xact_not_narrow" in plan, plan
