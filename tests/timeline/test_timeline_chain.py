"""The timeline's hash chains: every write links its event, and ``verify_timeline`` finds edits.

The tampering tests act as the tables' owner would: they lift the database's append-only
guard (``ALTER TABLE ... DISABLE TRIGGER USER`` on PostgreSQL, dropping the trigger on
SQLite), change history, and put the guard back. The chain is what is left to notice.
"""

from __future__ import annotations

import io
import re
import threading
from contextlib import contextmanager

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from rest_framework.test import APIClient

from cases import demo, services
from cases.dbguards import install_current_timeline_guards
from cases.feed import cursor as feed
from cases.models import Case, TimelineEvent
from cases.timeline import chain as timeline_chain
from tests import factories

pytestmark = pytest.mark.django_db

HEX64 = re.compile(r"[0-9a-f]{64}")


@pytest.fixture(autouse=True)
def _see_own_transaction(request, monkeypatch):
    """Serve the test's own uncommitted events from the feed (see tests/feed/test_api_feed.py)."""
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")):
        monkeypatch.setattr(
            feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1"
        )


def verify() -> str:
    """Run ``verify_timeline``; return its output (raise CommandError when broken)."""
    out = io.StringIO()
    call_command("verify_timeline", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def broken() -> str:
    """Run ``verify_timeline`` expecting a break; return the error's message."""
    with pytest.raises(CommandError) as failure:
        call_command("verify_timeline", stdout=io.StringIO(), stderr=io.StringIO())
    return str(failure.value)


@contextmanager
def as_owner_without_guards():
    """Lift the timeline's append-only triggers, as the tables' owner can, then restore them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Deferred foreign-key checks of this test's inserts must run first: a table
            # with pending trigger events cannot be altered.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE cases_timelineevent DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER cases_timeline_no_update")
            cursor.execute("DROP TRIGGER cases_timeline_no_delete_v2")
    try:
        yield connection.cursor()
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ALTER TABLE cases_timelineevent ENABLE TRIGGER USER")
            else:
                install_current_timeline_guards(connection)


def case_with_notes(reference: str, notes: int = 3) -> Case:
    case = factories.case(reference=reference)
    for number in range(notes):
        services.note_add(actor=factories.SYSTEM, case=case, body=f"Note {number} on {reference}")
    case.refresh_from_db()
    return case


def event(case: Case, seq: int) -> TimelineEvent:
    return TimelineEvent.objects.get(case=case, case_seq=seq)


# --------------------------------------------------------------------------------------------
# Every write links its event
# --------------------------------------------------------------------------------------------


def test_case_events_chain_in_case_seq_order():
    """Each case event stores a SHA-256 over its content and its predecessor's hash."""
    case = case_with_notes("UA-2025-0101")
    events = list(case.events.order_by("case_seq"))
    assert [e.case_seq for e in events] == [1, 2, 3, 4]
    assert events[0].prev_hash == ""
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    for e in events:
        assert HEX64.fullmatch(e.hash) and len(e.hash_salt) == 32
        assert e.hash == timeline_chain.hash_of_event(
            e, prev_hash=e.prev_hash, case=e.case, person=e.person, source=e.source
        )
    assert len({e.hash for e in events}) == 4


def test_events_without_a_case_chain_per_person_and_globally():
    """A person's case-less events form his chain; parties and sources form the global one."""
    first = factories.source("One")
    second = factories.source("Two")
    person = factories.person("Baek")
    services.person_archive(actor=factories.SYSTEM, person=person, reason="entered twice")
    glob = list(TimelineEvent.objects.filter(case=None, person=None).order_by("id"))
    assert [e.subject_uuid for e in glob] == [first.uuid, second.uuid]
    assert glob[0].prev_hash == "" and glob[1].prev_hash == glob[0].hash
    own = list(TimelineEvent.objects.filter(case=None, person=person).order_by("id"))
    assert [e.kind for e in own] == ["person.created", "person.archived"]
    assert own[0].prev_hash == "" and own[1].prev_hash == own[0].hash
    assert "4 events in 2 chains" in verify()


def test_a_clean_timeline_verifies():
    """``verify_timeline`` passes and counts the events and chains."""
    case_with_notes("UA-2025-0102")
    case_with_notes("UA-2025-0103", notes=1)
    output = verify()
    total = TimelineEvent.objects.count()
    assert f"{total} events" in output


def test_the_feed_and_the_case_timeline_show_the_hash_but_never_the_salt():
    """Both representations carry ``prev_hash`` and ``hash``; ``hash_salt`` stays inside."""
    case = case_with_notes("UA-2025-0104", notes=1)
    client = APIClient()
    client.force_authenticate(factories.user("root", is_superuser=True, is_staff=True))
    stored = {str(e.uuid): (e.prev_hash, e.hash, e.hash_salt) for e in TimelineEvent.objects.all()}
    for url in ("/api/v1/events/", f"/api/v1/cases/{case.uuid}/timeline/"):
        response = client.get(url)
        assert response.status_code == 200
        results = response.json()["results"]
        assert results
        for item in results:
            prev_hash, digest, salt = stored[item["uuid"]]
            assert (item["prev_hash"], item["hash"]) == (prev_hash, digest)
            assert "hash_salt" not in item and salt not in response.content.decode()


def test_demo_data_is_chained_like_the_services_write_it():
    """The bulk sink chains the demo's events, across flushes too, and the result verifies."""
    before = TimelineEvent.objects.count()
    demo.generate(cases=12, seed=3, batch=5)
    assert TimelineEvent.objects.count() > before
    assert not TimelineEvent.objects.filter(hash="").exists()
    assert "events" in verify()
    # A later service write continues the demo's chains.
    case = Case.objects.filter(reference__contains="-9").order_by("reference").first()
    services.note_add(actor=factories.SYSTEM, case=case, body="After the demo")
    case.refresh_from_db()
    newest = event(case, case.last_event_seq)
    assert newest.prev_hash == event(case, case.last_event_seq - 1).hash
    verify()


# --------------------------------------------------------------------------------------------
# Tampering as the owner, past the triggers: the check names the first broken link
# --------------------------------------------------------------------------------------------


def test_an_edited_event_is_found_and_named():
    """Editing one event's summary breaks its hash; the check names case, case_seq and uuid."""
    target = case_with_notes("UA-2025-0201")
    other = case_with_notes("UA-2025-0202")
    edited = event(target, 3)
    with as_owner_without_guards() as cursor:
        cursor.execute(
            "UPDATE cases_timelineevent SET summary = %s WHERE id = %s",
            ["Note: nothing was said", edited.pk],
        )
    message = broken()
    assert f"case UA-2025-0201 case_seq 3, event {edited.uuid}" in message
    assert "hash does not match the event's content" in message
    assert other.reference not in message


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link():
    """An editor who also rewrites the event's own hash is caught at the following event."""
    target = case_with_notes("UA-2025-0203")
    edited = event(target, 2)
    edited.changes = {"body": [None, "Rewritten"]}
    forged = timeline_chain.hash_of_event(
        edited, prev_hash=edited.prev_hash, case=target, person=target.person
    )
    with as_owner_without_guards() as cursor:
        cursor.execute(
            "UPDATE cases_timelineevent SET changes = %s, hash = %s WHERE id = %s",
            ['{"body": [null, "Rewritten"]}', forged, edited.pk],
        )
    message = broken()
    assert f"case UA-2025-0203 case_seq 3, event {event(target, 3).uuid}" in message
    assert "prev_hash does not match" in message


def test_a_removed_event_and_a_cut_tail_are_found():
    """A deleted event leaves a gap in case_seq; deleted last events leave the count short."""
    gap = case_with_notes("UA-2025-0204")
    tail = case_with_notes("UA-2025-0205")
    with as_owner_without_guards() as cursor:
        cursor.execute("DELETE FROM cases_timelineevent WHERE id = %s", [event(gap, 2).pk])
        cursor.execute(
            "DELETE FROM cases_timelineevent WHERE case_id = %s AND case_seq >= 3", [tail.pk]
        )
    message = broken()
    assert f"case UA-2025-0204 case_seq 3, event {event(gap, 3).uuid}" in message
    assert "case_seq 2 is missing" in message
    with pytest.raises(CommandError):
        call_command("verify_timeline", stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert "case UA-2025-0205: its timeline ends at case_seq 2 but the case counts 4" in (
        err.getvalue()
    )


def test_an_edited_global_event_is_found():
    """The global chain (parties, sources) is checked too."""
    factories.source("First")
    second = factories.source("Second")
    row = TimelineEvent.objects.get(subject_uuid=second.uuid)
    with as_owner_without_guards() as cursor:
        cursor.execute("UPDATE cases_timelineevent SET reason = 'x' WHERE id = %s", [row.pk])
    assert f"global chain, event {row.uuid}" in broken()


def test_the_command_exits_non_zero_when_broken(capsys):
    """Run from the command line, a broken chain exits with status 1 and names the link."""
    target = case_with_notes("UA-2025-0206", notes=1)
    with as_owner_without_guards() as cursor:
        cursor.execute(
            "UPDATE cases_timelineevent SET actor_label = 'someone else' WHERE id = %s",
            [event(target, 2).pk],
        )
    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", "verify_timeline"]).execute()
    assert exit_.value.code == 1
    assert "case UA-2025-0206 case_seq 2" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# A purge removes whole chains; other chains keep every link
# --------------------------------------------------------------------------------------------


def test_purge_leaves_every_other_chain_whole():
    """After a purge the timeline still verifies, and the tombstone joins the global chain."""
    root = factories.user("root", is_superuser=True, is_staff=True)
    gone = case_with_notes("UA-2025-0301")
    kept = case_with_notes("UA-2025-0302")
    kept_hashes = list(kept.events.order_by("case_seq").values_list("hash", flat=True))
    tombstone = services.case_purge(
        actor=services.Actor(user=root, channel="admin"), case=gone, reason="entered in error"
    )
    assert not TimelineEvent.objects.filter(case_id=gone.pk).exists()
    assert list(kept.events.order_by("case_seq").values_list("hash", flat=True)) == kept_hashes
    previous = (
        TimelineEvent.objects.filter(case=None, person=None, id__lt=tombstone.pk)
        .order_by("-id")
        .first()
    )
    assert tombstone.prev_hash == previous.hash
    verify()


# --------------------------------------------------------------------------------------------
# Concurrent writers of one case-less chain are serialised
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_of_the_global_chain_keep_it_linear():
    """Sources created from several connections at once still form one unbroken chain.

    Without the chain's lock two writers would read the same head and link to it, and the
    check would report the second as not following its predecessor.
    """
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(number: int) -> None:
        try:
            start.wait()
            for item in range(6):
                with transaction.atomic():
                    factories.source(f"Concurrent {number}-{item}")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert TimelineEvent.objects.filter(case=None, person=None).count() == 24
    verify()
