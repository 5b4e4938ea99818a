"""A mirror built only from the change feed, in a database of its own, equals a full read.

Writer threads create and change cases, persons, statements, requests, positions,
occurrences, notes, places, movements, capture cards, identity documents and nationality
claims, through the services and through the API, while a follower drains
``/api/v1/events/`` with small pages and writes a mirror into a second database (a SQLite
file, through Python's own sqlite3: one table per subject type, keyed by uuid, holding the
subject's JSON and version) from nothing but the events' own content: each event's
``object`` (the subject as its endpoint serves it) and ``subject_version``, applied as
docs/feed.md says (a case's events by ``case_seq``; a newer version replaces an older one;
``intention.superseded`` marks the statement it replaced). Each page is written in one
transaction of the mirror's database, with the cursor to resume from and the case events
still waiting for a predecessor. Once the writers have stopped, the follower stops on the
feed's own signal, a page with ``has_more: false`` and ``held_back: null`` ("caught up",
docs/feed.md), within a time limit. The mirror, read back from its database, then equals
every resource read through the API by the same reader (less what events leave out), and
the follower asked for nothing but the feed. It runs as a case officer and as an analyst,
who gets sensitive values withheld in both.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from cases import services
from cases.models import Case, Request, StatedIntention, TimelineEvent
from cases.services import NameSpec
from tests import factories
from tests.support import roles
from tests.support.subjects import ENDPOINTS, as_event_object

FEED = "/api/v1/events/"
PAGE = 7
WRITERS = 3
STEPS = 18
#: How long the follower may take, once the writers have stopped, to be caught up.
CATCH_UP_SECONDS = 120

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="concurrent writers and the feed's watermark need PostgreSQL",
)


class RecordingClient(APIClient):
    """An API client that remembers every path it asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.paths: list[str] = []

    def get(self, path, *args, **kwargs):
        self.paths.append(path)
        return super().get(path, *args, **kwargs)


class Mirror:
    """Subjects by type and uuid, built from events alone, in a SQLite database of its own.

    One table per subject type (uuid, version, the subject's JSON); beside them, the cursor
    to resume from and the case events waiting for a predecessor (``waiting``,
    ``next_seq``). Each page of the feed is written in one transaction with its cursor.
    """

    def __init__(self, path: Path):
        self.path = path
        # Opened in the follower's thread, which alone writes; read back afterwards.
        self.db: sqlite3.Connection | None = None

    def open(self) -> None:
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS follower (
                key TEXT PRIMARY KEY, value TEXT);
            CREATE TABLE IF NOT EXISTS waiting (
                case_uuid TEXT, case_seq INTEGER, event TEXT NOT NULL,
                PRIMARY KEY (case_uuid, case_seq));
            CREATE TABLE IF NOT EXISTS next_seq (
                case_uuid TEXT PRIMARY KEY, seq INTEGER NOT NULL);
            """
        )

    def close(self) -> None:
        if self.db is not None:
            self.db.close()
            self.db = None

    @staticmethod
    def _table(subject_type: str) -> str:
        assert subject_type.isidentifier(), subject_type
        return f"subject_{subject_type}"

    def cursor(self) -> str | None:
        row = self.db.execute("SELECT value FROM follower WHERE key = 'cursor'").fetchone()
        return row[0] if row else None

    def take_page(self, events: list[dict], cursor: str) -> None:
        """Take one page of the feed and the cursor after it, in one transaction."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for event in events:
                self.take(event)
            self.db.execute(
                "INSERT INTO follower (key, value) VALUES ('cursor', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (cursor,),
            )
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def take(self, event: dict) -> None:
        """Take one event from the feed: a case's events wait for their predecessors."""
        if event["case"] is None:
            self.apply(event)
            return
        case = event["case"]["uuid"]
        self.db.execute(
            "INSERT INTO waiting (case_uuid, case_seq, event) VALUES (?, ?, ?)",
            (case, event["case_seq"], json.dumps(event)),
        )
        row = self.db.execute("SELECT seq FROM next_seq WHERE case_uuid = ?", (case,)).fetchone()
        seq = row[0] if row else 1
        while True:
            ready = self.db.execute(
                "SELECT event FROM waiting WHERE case_uuid = ? AND case_seq = ?", (case, seq)
            ).fetchone()
            if ready is None:
                break
            self.apply(json.loads(ready[0]))
            self.db.execute("DELETE FROM waiting WHERE case_uuid = ? AND case_seq = ?", (case, seq))
            seq += 1
        self.db.execute(
            "INSERT INTO next_seq (case_uuid, seq) VALUES (?, ?) "
            "ON CONFLICT (case_uuid) DO UPDATE SET seq = excluded.seq",
            (case, seq),
        )

    def _held(self, subject_type: str, uuid: str) -> tuple[int | None, dict] | None:
        table = self._table(subject_type)
        self.db.execute(
            f"CREATE TABLE IF NOT EXISTS {table} "
            "(uuid TEXT PRIMARY KEY, version INTEGER, object TEXT NOT NULL)"
        )
        row = self.db.execute(
            f"SELECT version, object FROM {table} WHERE uuid = ?", (uuid,)
        ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def _write(self, subject_type: str, uuid: str, obj: dict) -> None:
        self.db.execute(
            f"INSERT INTO {self._table(subject_type)} (uuid, version, object) VALUES (?, ?, ?) "
            "ON CONFLICT (uuid) DO UPDATE SET version = excluded.version, object = excluded.object",
            (uuid, obj.get("version"), json.dumps(obj)),
        )

    def apply(self, event: dict) -> None:
        """Apply one event's own content to the mirror."""
        obj, version = event["object"], event["subject_version"]
        held = self._held(event["subject_type"], event["subject_uuid"])
        if obj is not None and (held is None or version is None or held[0] <= version):
            self._write(event["subject_type"], event["subject_uuid"], obj)
        if event["kind"] == "intention.superseded":
            uuid = event["changes"]["superseded"][0]["uuid"]
            _version, replaced = self._held("statedintention", uuid)
            replaced["state"] = "superseded"
            replaced["version"] += 1
            self._write("statedintention", uuid, replaced)

    @staticmethod
    def read(path: Path) -> tuple[dict[str, dict[str, dict]], int]:
        """Return the mirrored subjects read back from the database, and how many case
        events still wait for a predecessor."""
        with sqlite3.connect(path) as db:
            rows: dict[str, dict[str, dict]] = {}
            tables = db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'subject_%'"
            ).fetchall()
            for (table,) in tables:
                rows[table.removeprefix("subject_")] = {
                    uuid: json.loads(obj)
                    for uuid, obj in db.execute(f"SELECT uuid, object FROM {table}")
                }
            (pending,) = db.execute("SELECT count(*) FROM waiting").fetchone()
        db.close()
        return rows, pending


def _follow(
    client: RecordingClient,
    mirror: Mirror,
    writers_done: threading.Event,
    taken: list,
    errors: list,
) -> None:
    """Drain the feed into ``mirror`` until, the writers having stopped, it is caught up.

    While writers run, an empty page only means "nothing more yet". Once they have stopped
    (told before the page is asked for), the drain ends on the feed's own signal: a page
    with ``has_more: false`` and ``held_back: null``. The watermark is cluster-wide, so a
    transaction open anywhere on the server may hold events back; the follower keeps polling
    with the same cursor until it is released, up to :data:`CATCH_UP_SECONDS`.
    """
    deadline = None
    try:
        mirror.open()
        while True:
            stopped = writers_done.is_set()
            if stopped:
                deadline = deadline or time.monotonic() + CATCH_UP_SECONDS
            cursor = mirror.cursor()
            query = {"limit": PAGE, **({"after": cursor} if cursor else {})}
            response = client.get(FEED, query)
            assert response.status_code == 200, response.content
            page = response.json()
            mirror.take_page(page["results"], page["next_cursor"])
            taken.extend(event["uuid"] for event in page["results"])
            if page["has_more"]:
                continue
            if stopped and page["held_back"] is None:
                return
            if stopped:
                assert time.monotonic() < deadline, f"still held back: {page['held_back']}"
            time.sleep(0.01)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        mirror.close()
        connection.close()


def _writer(index: int, officer, parties: dict, errors: list) -> None:
    rng = random.Random(index)
    api = APIClient()
    api.force_authenticate(officer)
    system = factories.SYSTEM
    try:
        cases = []
        for number in range(2):
            person = services.person_create(
                actor=system,
                working_name=f"W{index}-{number}",
                names=[NameSpec("리", "hangul"), NameSpec(f"Lee{index}", "latin", "", True)],
                birth_place="Kyongsong",
            )
            cases.append(
                services.case_open(
                    actor=system,
                    reference=f"MR-2025-{index}{number:03d}",
                    person=person,
                    detaining_party=parties["ukraine"],
                )
            )
        _record_places_and_identity(api, index, cases, parties)
        for step in range(STEPS):
            case = Case.objects.get(pk=rng.choice(cases).pk)
            action = step % 9 if step < 9 else rng.randrange(9)
            if action == 0:
                response = api.patch(
                    f"/api/v1/cases/{case.uuid}/",
                    {"detention_place": f"Camp {step}"},
                    format="json",
                    HTTP_IF_MATCH=f'"{case.version}"',
                )
                assert response.status_code == 200, response.content
            elif action == 1:
                status = {"captured": "registered", "registered": "interned"}.get(
                    case.status, "hospitalised" if case.status == "interned" else "interned"
                )
                response = api.post(
                    f"/api/v1/cases/{case.uuid}/transition/", {"status": status}, format="json"
                )
                assert response.status_code == 200, response.content
            elif action == 2:
                services.intention_record(
                    actor=system,
                    case=case,
                    option="third_state",
                    destination_country="KR",
                    quote=f"Seoul {step}",
                    stated_on=dt.date(2025, 2, 1) + dt.timedelta(days=step),
                    setting="legislator_interview",
                    verification="stated",
                )
            elif action == 3:
                active = StatedIntention.objects.filter(case__in=cases, state="active").first()
                if active is None:
                    continue
                response = api.post(
                    "/api/v1/intentions/",
                    {
                        "supersedes": str(active.uuid),
                        "option": "undecided",
                        "stated_on": str(dt.date(2025, 3, 1) + dt.timedelta(days=step)),
                        "setting": "media_interview",
                        "verification": "stated",
                        "conditions": "if his family is safe",
                    },
                    format="json",
                )
                assert response.status_code == 201, response.content
            elif action == 4:
                response = api.post(
                    "/api/v1/requests/",
                    {
                        "case": str(case.uuid),
                        "kind": "medical_treatment",
                        "addressed_to": str(parties["korea"].uuid),
                    },
                    format="json",
                )
                assert response.status_code == 201, response.content
            elif action == 5:
                request = Request.objects.filter(case=case, status="filed").first()
                if request is None:
                    continue
                services.request_transition(actor=system, request=request, status="acknowledged")
                response = api.post(
                    f"/api/v1/requests/{request.uuid}/positions/",
                    {
                        "party": str(parties["korea"].uuid),
                        "stance": "accepts",
                        "stated_on": "2025-03-19",
                    },
                    format="json",
                )
                assert response.status_code == 201, response.content
            elif action == 6:
                services.occurrence_record(
                    actor=system,
                    case=case,
                    kind="icrc_visit",
                    occurred_on=dt.date(2025, 2, 1),
                    description=f"Visit {step}",
                )
            elif action == 7:
                services.note_add(actor=system, case=case, body=f"Note {index}/{step}")
            else:
                person = case.person
                response = api.patch(
                    f"/api/v1/persons/{person.uuid}/",
                    {"rank": f"Rank {step}"},
                    format="json",
                    HTTP_IF_MATCH=f'"{person.version}"',
                )
                assert response.status_code == 200, response.content
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        connection.close()


def _last_writer(holding: threading.Event, errors: list) -> None:
    """Write one more event in a transaction held open a while after it wrote (so the feed
    says ``held_back`` meanwhile), then commit it."""
    try:
        with transaction.atomic():
            case = Case.objects.order_by("id").first()
            services.note_add(actor=factories.SYSTEM, case=case, body="Written last")
            holding.set()
            time.sleep(1.5)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
        holding.set()
        connection.close()


def _posted(api: APIClient, path: str, body: dict) -> dict:
    response = api.post(path, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def _record_places_and_identity(api: APIClient, index: int, cases: list, parties: dict) -> None:
    """Through the API: a place, each case's arrival there and its capture card (then sent),
    and each person's identity document (then changed) and nationality claim."""
    place = _posted(
        api,
        "/api/v1/places/",
        {"name": f"Camp W{index}", "kind": "camp", "detaining_party": str(parties["ukraine"].uuid)},
    )
    for case in cases:
        movement = _posted(
            api,
            "/api/v1/movements/",
            {
                "case": str(case.uuid),
                "to_place": place["uuid"],
                "moved_on": "2025-01-10",
                "kind": "capture",
            },
        )
        card = _posted(
            api,
            "/api/v1/capture-cards/",
            {"movement": movement["uuid"], "filled_in_on": "2025-01-12", "address_given": True},
        )
        response = api.patch(
            f"/api/v1/capture-cards/{card['uuid']}/",
            {"sent_to_agency_on": "2025-01-13"},
            format="json",
            HTTP_IF_MATCH=f'"{card["version"]}"',
        )
        assert response.status_code == 200, response.content
        person = str(case.person.uuid)
        document = _posted(
            api,
            "/api/v1/identity-documents/",
            {"person": person, "kind": "military_id", "issuer_country": "KP"},
        )
        response = api.patch(
            f"/api/v1/identity-documents/{document['uuid']}/",
            {"notes": "Seen at the camp"},
            format="json",
            HTTP_IF_MATCH=f'"{document["version"]}"',
        )
        assert response.status_code == 200, response.content
        _posted(
            api,
            "/api/v1/nationality-claims/",
            {"person": person, "country": "KP", "claimed_by": str(parties["korea"].uuid)},
        )


def _full_read(client: APIClient) -> dict[str, dict[str, dict]]:
    """Return every resource of every subject type as the reader gets it from the API."""
    read: dict[str, dict[str, dict]] = {}
    for subject_type, endpoint in ENDPOINTS.items():
        rows, url = {}, f"{endpoint}?page_size=500"
        while url:
            response = client.get(url)
            assert response.status_code == 200, response.content
            for row in response.json()["results"]:
                rows[row["uuid"]] = as_event_object(subject_type, row)
            url = response.json()["next"]
        read[subject_type] = rows
    return read


def _diff(mirror: dict, read: dict) -> list[Any]:
    problems = []
    for subject_type in ENDPOINTS:
        ours, theirs = mirror.get(subject_type, {}), read[subject_type]
        if set(ours) != set(theirs):
            problems.append((subject_type, "rows", set(ours) ^ set(theirs)))
        for key in set(ours) & set(theirs):
            if ours[key] != theirs[key]:
                problems.append((subject_type, key, ours[key], theirs[key]))
    return problems


#: The subject types the writers below write, each of which the full read must return.
WRITTEN = {
    "case",
    "person",
    "party",
    "source",
    "statedintention",
    "request",
    "position",
    "occurrence",
    "note",
    "place",
    "movement",
    "capturecard",
    "identitydocument",
    "nationalityclaim",
    # Opened and closed by the clocks inside the writes above (cases/tasks/rules.py).
    "task",
}


@on_postgresql
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", [roles.CASE_OFFICER, roles.ANALYST])
def test_a_mirror_built_from_events_alone_equals_a_full_read(role, tmp_path):
    """Writers change every subject type; the feed alone rebuilds what the API serves."""
    officer = roles.user_in_role(roles.CASE_OFFICER, "mirror-officer")
    reader = officer if role == roles.CASE_OFFICER else roles.user_in_role(role, "mirror-reader")
    parties = {
        "ukraine": factories.party("Ukraine", country="UA"),
        "korea": factories.party("South Korea", country="KR"),
    }
    services.source_create(actor=factories.SYSTEM, title="Press release")
    follower = RecordingClient()
    follower.force_authenticate(reader)
    mirror = Mirror(tmp_path / "mirror.sqlite3")
    writers_done, taken, errors = threading.Event(), [], []
    following = threading.Thread(
        target=_follow, args=(follower, mirror, writers_done, taken, errors)
    )
    following.start()
    writers = [
        threading.Thread(target=_writer, args=(index, officer, parties, errors))
        for index in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    # The last writer's transaction is still open when the follower is told the writers
    # stopped: "caught up" is the feed's to say, not an empty page's.
    holding = threading.Event()
    last = threading.Thread(target=_last_writer, args=(holding, errors))
    last.start()
    holding.wait(30)
    writers_done.set()
    last.join()
    following.join(CATCH_UP_SECONDS + 60)
    assert not following.is_alive(), "the follower never finished"
    assert not errors, errors
    # Caught up meant caught up: every event exactly once, the last writer's included
    # (checked here, not told to the follower).
    assert sorted(taken) == sorted(
        str(u) for u in TimelineEvent.objects.values_list("uuid", flat=True)
    )
    mirrored, pending = Mirror.read(mirror.path)
    assert pending == 0
    assert set(follower.paths) == {FEED}, "the follower read rows"
    reader_client = APIClient()
    reader_client.force_authenticate(reader)
    read = _full_read(reader_client)
    # Every kind of row the writers write is read back (and compared below); the subject types
    # they do not write (external identifiers, notifications...) are read empty alike.
    written = set(TimelineEvent.objects.values_list("subject_type", flat=True).distinct())
    assert written >= WRITTEN
    assert all(read[subject_type] for subject_type in written)
    states = {row["state"] for row in read["statedintention"].values()}
    assert {"active", "superseded"} <= states
    # The tasks compared below are the ones the clocks opened (a capture's card, a filed
    # request's answer), and some the clocks closed again.
    tasks = read["task"].values()
    assert {"capture_card", "request_unanswered"} <= {task["kind"] for task in tasks}
    assert {"open", "done"} <= {task["state"] for task in tasks}
    problems = _diff(mirrored, read)
    assert problems == []
    if role == roles.ANALYST:
        notes = list(mirrored["note"].values())
        assert notes and all(note["body"] is None for note in notes)
