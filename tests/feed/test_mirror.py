"""A mirror built only from the change feed equals a full read of the API.

Writer threads create and change cases, persons, statements, requests, positions,
occurrences, notes, places, movements, capture cards, identity documents and nationality
claims, through the services and through the API, while a follower drains
``/api/v1/events/`` with small pages and builds a mirror from nothing but the events' own
content: each event's ``object`` (the subject as its endpoint serves it) and
``subject_version``, applied as docs/feed.md says (a case's events by ``case_seq``; a newer
version replaces an older one; ``intention.superseded`` marks the statement it replaced).
When the writers stop and the feed is drained, the mirror equals every resource read
through the API by the same reader (less what events leave out), and the follower asked for
nothing but the feed. It runs as a case officer and as an analyst, who gets sensitive values
withheld in both.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections import defaultdict
from typing import Any

import pytest
from django.db import connection
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
    """Subjects by type and uuid, built from events alone."""

    def __init__(self):
        self.rows: dict[str, dict[str, dict]] = defaultdict(dict)
        self.waiting: dict[str, dict[int, dict]] = defaultdict(dict)
        self.next_seq: dict[str, int] = defaultdict(lambda: 1)

    def take(self, event: dict) -> None:
        """Take one event from the feed: a case's events wait for their predecessors."""
        if event["case"] is None:
            self.apply(event)
            return
        case = event["case"]["uuid"]
        self.waiting[case][event["case_seq"]] = event
        while self.next_seq[case] in self.waiting[case]:
            self.apply(self.waiting[case].pop(self.next_seq[case]))
            self.next_seq[case] += 1

    def apply(self, event: dict) -> None:
        """Apply one event's own content to the mirror."""
        rows = self.rows[event["subject_type"]]
        obj, version = event["object"], event["subject_version"]
        held = rows.get(event["subject_uuid"])
        if obj is not None and (held is None or version is None or held["version"] <= version):
            rows[event["subject_uuid"]] = obj
        if event["kind"] == "intention.superseded":
            replaced = self.rows["statedintention"][event["changes"]["superseded"][0]["uuid"]]
            replaced["state"] = "superseded"
            replaced["version"] += 1

    def pending(self) -> int:
        """Return how many case events still wait for a predecessor."""
        return sum(len(waiting) for waiting in self.waiting.values())


def _follow(client: RecordingClient, mirror: Mirror, expected: list, errors: list) -> None:
    """Drain the feed into ``mirror`` until it has taken ``expected[0]`` events.

    The watermark is cluster-wide: a transaction open in any database of the server holds
    events back, and an empty page does not say "caught up". The harness, which knows how
    many events were committed once the writers stopped, says when the drain is complete.
    """
    cursor, taken, deadline = None, 0, None
    try:
        while True:
            query = {"limit": PAGE, **({"after": cursor} if cursor else {})}
            response = client.get(FEED, query)
            assert response.status_code == 200, response.content
            page = response.json()
            for event in page["results"]:
                mirror.take(event)
            taken += len(page["results"])
            cursor = page["next_cursor"]
            if page["has_more"]:
                continue
            if expected:
                if taken >= expected[0]:
                    return
                deadline = deadline or time.monotonic() + 120
                assert time.monotonic() < deadline, f"took {taken} of {expected[0]} events"
            time.sleep(0.01)
    except BaseException as exc:  # noqa: BLE001 - reported by the test
        errors.append(exc)
    finally:
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
def test_a_mirror_built_from_events_alone_equals_a_full_read(role):
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
    mirror, expected, errors = Mirror(), [], []
    following = threading.Thread(target=_follow, args=(follower, mirror, expected, errors))
    following.start()
    writers = [
        threading.Thread(target=_writer, args=(index, officer, parties, errors))
        for index in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    expected.append(TimelineEvent.objects.count())
    following.join()
    assert not errors, errors
    assert mirror.pending() == 0
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
    problems = _diff(mirror.rows, read)
    assert problems == []
    if role == roles.ANALYST:
        notes = list(mirror.rows["note"].values())
        assert notes and all(note["body"] is None for note in notes)
