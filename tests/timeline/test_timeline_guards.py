"""The timeline is append-only in the model and in the database itself."""

import pytest
from django.db import DatabaseError, connection, transaction

from cases.models import TimelineEvent
from tests import factories


@pytest.fixture
def event(db):
    factories.case()
    return TimelineEvent.objects.filter(kind="case.opened").get()


def test_raw_sql_update_is_refused(event):
    """An UPDATE through raw SQL fails at the database."""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cases_timelineevent SET summary = 'rewritten'")
    event.refresh_from_db()
    assert event.summary != "rewritten"


def test_raw_sql_delete_is_refused(event):
    """A DELETE through raw SQL fails at the database."""
    count = TimelineEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM cases_timelineevent")
    assert TimelineEvent.objects.count() == count


def test_model_refuses_save_of_existing_event(event):
    event.summary = "rewritten"
    with pytest.raises(TypeError, match="append-only"):
        event.save()


def test_model_refuses_delete(event):
    with pytest.raises(TypeError, match="append-only"):
        event.delete()


def test_queryset_refuses_bulk_update_and_delete(event):
    with pytest.raises(TypeError, match="append-only"):
        TimelineEvent.objects.all().update(summary="x")
    with pytest.raises(TypeError, match="append-only"):
        TimelineEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_guard_holds_in_committed_transactions():
    """The trigger is in force outside a test transaction too (and survives test flushes)."""
    factories.case()
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM cases_timelineevent")
    assert TimelineEvent.objects.exists()


def test_postgresql_stamps_transaction_id(event):
    """On PostgreSQL each event carries its writing transaction's id; SQLite leaves it empty."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text::bigint")
            (current,) = cursor.fetchone()
        assert event.xact_id == current  # same test transaction wrote it
    else:
        assert event.xact_id is None
