"""The feed under concurrent writers: every committed event exactly once, none rolled back.

Writer threads (each with its own connection) add notes through the services in
transactions that write 1-5 events, then wait a random while before committing (a few hold
on much longer, some roll back), so transactions commit in a different order from the one
in which they took their event ids. A poller follows the feed with small pages meanwhile.
The same harness with a plain ``id > last_id`` cursor shows that it does miss events, so
the harness is able to catch the failure the watermark prevents.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from cases import services
from cases.models import TimelineEvent
from tests import factories

FEED = "/api/v1/events/"
PAGE = 7  # smaller than a transaction's events, so transactions split across pages
CASES = 8
WRITERS = 4

#: One served event: (uuid, subject uuid, case uuid or None, case_seq or None).
Served = tuple[str, str, str | None, int | None]
#: Take a cursor (None at the start), return a page and the next cursor.
Poll = Callable[[object], tuple[list[Served], object]]


class _RollBack(Exception):
    """Raised inside a writer's transaction to roll it back."""


@dataclass
class Outcome:
    """What the writers did and what the poller saw."""

    committed_notes: set[str] = field(default_factory=set)
    rolled_back_notes: set[str] = field(default_factory=set)
    served: list[Served] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def _writer(index: int, cases, events_each: int, seed: int, outcome: Outcome, lock) -> None:
    rng = random.Random(seed * 100 + index)
    written = 0
    try:
        if connection.vendor == "postgresql":
            # Commits need not reach the disk for this test; what they make visible, and
            # when, is the same.
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
        while written < events_each:
            case = rng.choice(cases)
            notes = []
            try:
                with transaction.atomic():
                    for _ in range(rng.randint(1, 5)):
                        note = services.note_add(
                            actor=factories.SYSTEM, case=case, body=f"w{index} n{written}"
                        )
                        notes.append(str(note.uuid))
                    # Commit after a random wait; a few hold on much longer while others
                    # commit, so commit order differs from the order ids were taken in.
                    if rng.random() < 0.08:
                        time.sleep(rng.uniform(0.08, 0.25))
                    else:
                        time.sleep(rng.uniform(0, 0.020))
                    if rng.random() < 0.12:
                        raise _RollBack
            except _RollBack:
                with lock:
                    outcome.rolled_back_notes.update(notes)
                continue
            written += len(notes)
            with lock:
                outcome.committed_notes.update(notes)
    except BaseException as exc:  # noqa: BLE001 - reported to the test's thread
        outcome.errors.append(exc)
    finally:
        connection.close()


def _poller(poll: Poll, writers_done, expected, outcome: Outcome, deadline_s: float) -> None:
    cursor = None
    give_up = None
    try:
        while True:
            page, cursor = poll(cursor)
            outcome.served.extend(page)
            if page:
                continue
            if writers_done.is_set():
                # Drained when everything committed was served (the watermark may lag while
                # other sessions of the cluster hold transactions open), or when a cursor
                # without a watermark finds nothing more.
                give_up = give_up or time.monotonic() + deadline_s
                if expected[0] is None or len(outcome.served) >= expected[0]:
                    return
                if time.monotonic() > give_up:
                    return
            time.sleep(0.02)
    except BaseException as exc:  # noqa: BLE001 - reported to the test's thread
        outcome.errors.append(exc)
    finally:
        connection.close()


def run_harness(poll_factory: Callable[[], Poll], *, events: int, seed: int, wait_all: bool):
    """Run writers and a poller; return the outcome and the committed events by uuid."""
    cases = [factories.case() for _ in range(CASES)]
    outcome, lock = Outcome(), threading.Lock()
    writers_done = threading.Event()
    expected: list[int | None] = [None]
    writers = [
        threading.Thread(
            target=_writer, args=(i, cases, -(-events // WRITERS), seed, outcome, lock)
        )
        for i in range(WRITERS)
    ]
    poller = threading.Thread(
        target=lambda: _poller(poll_factory(), writers_done, expected, outcome, 30.0)
    )
    poller.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    committed = {
        str(uuid): (str(subject), case_id, seq)
        for uuid, subject, case_id, seq in TimelineEvent.objects.values_list(
            "uuid", "subject_uuid", "case__uuid", "case_seq"
        )
    }
    if wait_all:
        expected[0] = len(committed)
    writers_done.set()
    poller.join()
    assert not outcome.errors, outcome.errors
    return outcome, committed


def feed_poll_factory() -> Poll:
    """Return a poll function that follows the real feed view."""
    client = APIClient()
    # A superuser reads the feed without permission rows, which a flush by an earlier
    # transactional test can leave pointing at stale content types.
    client.force_authenticate(factories.user(f"poller{random.randrange(10**9)}", is_superuser=True))

    def poll(cursor):
        params = {"limit": PAGE} | ({"after": cursor} if cursor else {})
        response = client.get(FEED, params)
        assert response.status_code == 200, response.content
        page = [
            (
                event["uuid"],
                event["subject_uuid"],
                event["case"]["uuid"] if event["case"] else None,
                event["case_seq"],
            )
            for event in response.data["results"]
        ]
        return page, response.data["next_cursor"]

    return poll


def plain_id_poll_factory() -> Poll:
    """Return a poll function with a plain ``id > last_id`` cursor and no watermark."""

    def poll(last_id):
        rows = list(
            TimelineEvent.objects.filter(id__gt=last_id or 0)
            .order_by("id")
            .values_list("id", "uuid", "subject_uuid", "case__uuid", "case_seq")[:PAGE]
        )
        page = [
            (str(uuid), str(subject), str(case) if case else None, seq)
            for _id, uuid, subject, case, seq in rows
        ]
        return page, (rows[-1][0] if rows else last_id)

    return poll


def assert_exactly_once(outcome: Outcome, committed: dict) -> None:
    """Assert the poller saw every committed event once, nothing rolled back, no seq gaps."""
    served_ids = [uuid for uuid, _subject, _case, _seq in outcome.served]
    assert len(served_ids) == len(set(served_ids)), "an event was served twice"
    assert set(served_ids) == set(committed), (
        f"missed {len(set(committed) - set(served_ids))}, "
        f"extra {len(set(served_ids) - set(committed))}"
    )
    served_subjects = {subject for _uuid, subject, _case, _seq in outcome.served}
    assert outcome.committed_notes <= served_subjects
    assert not outcome.rolled_back_notes & served_subjects
    assert not outcome.rolled_back_notes & {subject for subject, _c, _s in committed.values()}
    by_case = defaultdict(list)
    for _uuid, _subject, case, seq in outcome.served:
        if case is not None:
            by_case[case].append(seq)
    assert len(by_case) == CASES
    for seqs in by_case.values():
        assert sorted(seqs) == list(range(1, len(seqs) + 1))


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_feed_serves_each_committed_event_once_under_concurrent_writers():
    """4 writers, 2,000+ events committed out of order, some rolled back: none missed."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip(
            "an in-memory SQLite test database shares one cache between connections and "
            "refuses concurrent ones ('table is locked'); this needs a file test database"
        )
    events = 2000 if connection.vendor == "postgresql" else 400
    outcome, committed = run_harness(feed_poll_factory, events=events, seed=1, wait_all=True)
    assert len(outcome.committed_notes) >= events
    assert outcome.rolled_back_notes, "the harness should have rolled some transactions back"
    assert_exactly_once(outcome, committed)


@pytest.mark.slow
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's single writer keeps id order"
)
@pytest.mark.django_db(transaction=True)
def test_plain_id_cursor_misses_events_under_the_same_harness():
    """Without the watermark, a reader that has passed an id never sees it commit later."""
    for attempt in range(3):
        # A retry adds its own cases and events; the poller starts again from the start.
        outcome, committed = run_harness(
            plain_id_poll_factory, events=600, seed=10 + attempt, wait_all=False
        )
        served = {uuid for uuid, _subject, _case, _seq in outcome.served}
        missed = set(committed) - served
        if missed:
            break
    assert missed, "a plain id cursor should miss events committed out of order"
    assert served < set(committed)
