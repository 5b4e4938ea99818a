"""The benchmark's references answer what the tracker answers: same keys, same cases, same order.

``bench/compare_bench.py`` times the tracker against a peer (``bench/peer/``) and a floor
(``bench/floor.py``) served from the same URL conf (``bench/urls.py``). A ratio means
something only if the three answer the same page, so this checks the keys of every answer
and the cases and their order on the first page; it times nothing.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client, override_settings

from cases import services
from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import INTEGRATION, user_in_role

pytestmark = [
    pytest.mark.schema_exempt("the peer and the floor are not part of the API's schema"),
    pytest.mark.usefixtures("bench_urls"),
]

OURS, PEER, FLOOR = "/api/v1/", "/api/peer/v1/", "/api/floor/v1/"


@pytest.fixture
def bench_urls():
    """Serve the tracker, the peer and the floor from the benchmark's URL conf."""
    with override_settings(ROOT_URLCONF="bench.urls"):
        yield
    from bench import floor

    # The floor keeps its own psycopg connection: close it, or the test database cannot go.
    if floor._connection is not None:
        floor._connection.close()
        floor._connection = None


#: A watermark above the test's own transaction: the feeds serve what the test wrote.
WIDE_WATERMARK = "pg_current_xact_id()::text::bigint + 1"


@pytest.fixture
def see_own_events(monkeypatch):
    """Let the tracker's feed and the floor's serve events of transactions still open."""
    from bench import floor
    from cases.feed import cursor

    monkeypatch.setattr(cursor, "POSTGRES_WATERMARK_SQL", WIDE_WATERMARK)
    monkeypatch.setattr(floor, "WATERMARK_SQL", WIDE_WATERMARK)


def world():
    """Cases that differ in what a list shows; one with intentions, requests and a position."""
    ukraine = f.party("Ukraine", country="UA")
    korea = f.party("South Korea", country="KR")
    ri = f.person(
        "Ri",
        names=[NameSpec("리", "hangul"), NameSpec("K-7", "latin", is_pseudonym=True)],
        nationalities=["KP"],
    )
    baek = f.person("Baek", names=[NameSpec("B-2", "latin", is_pseudonym=True)])
    first = f.case(person_obj=ri, detaining_party=ukraine, assigned_officer=f.user("assigned"))
    f.intention(first, stated_on=dt.date(2025, 3, 1), source=f.source("Report"))
    request = f.request(first, kind="third_state_transfer", addressed_to=korea)
    services.position_record(
        actor=f.SYSTEM,
        request=request,
        party=korea,
        stance="accepts",
        stated_on=dt.date(2025, 3, 2),
        source=f.source("Statement"),
    )
    f.case(person_obj=baek, detaining_party=ukraine, capture_date=None)
    f.case(person_obj=f.person("Kim", names=[]))
    return first


def keys(value) -> object:
    """Return the nested key structure of a JSON value (lists by their first item)."""
    if isinstance(value, dict):
        return {key: keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value and isinstance(value[0], dict) else []
    return None


def same_keys(ours: dict, theirs: dict) -> None:
    """Assert both answers have the same keys at every depth where both hold an object."""
    assert set(ours) == set(theirs)
    for key, value in ours.items():
        other = theirs[key]
        if isinstance(value, dict) and isinstance(other, dict):
            same_keys(value, other)
        elif isinstance(value, list) and isinstance(other, list) and value and other:
            if isinstance(value[0], dict):
                same_keys(value[0], other[0])


def integration_client():
    client, _token = token_client(user_in_role(INTEGRATION), read_only=True)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{}, {"status": "captured"}, {"nationality": "KP"}])
def test_peer_case_list_answers_the_same_page(query):
    """The peer's case list has the tracker's keys and the same cases in the same order."""
    world()
    client = integration_client()
    ours = client.get(f"{OURS}cases/", query)
    peer = client.get(f"{PEER}cases/", query)
    assert ours.status_code == peer.status_code == 200
    ours, peer = ours.json(), peer.json()
    assert set(ours) == set(peer) == {"count", "next", "previous", "results"}
    assert [row["uuid"] for row in peer["results"]] == [row["uuid"] for row in ours["results"]]
    assert ours["results"], "the page holds cases"
    for mine, theirs in zip(ours["results"], peer["results"], strict=True):
        same_keys(mine, theirs)
        assert theirs["person"]["names"] == mine["person"]["names"]  # pseudonyms only


@pytest.mark.django_db
def test_peer_case_detail_has_the_trackers_keys():
    """A case of the peer has the tracker's keys, nested ones included, and its sources."""
    case = world()
    client = integration_client()
    ours = client.get(f"{OURS}cases/{case.uuid}/").json()
    peer = client.get(f"{PEER}cases/{case.uuid}/").json()
    same_keys(ours, peer)
    assert ours["intentions"] and ours["requests"] and ours["requests"][0]["positions"]
    assert {s["uuid"] for s in peer["sources"]} == {s["uuid"] for s in ours["sources"]}


@pytest.mark.django_db
def test_peer_feed_page_has_the_trackers_keys_and_events(see_own_events):
    """A feed page of the peer has the tracker's keys and the same events in the same order."""
    world()
    client = integration_client()
    ours = client.get(f"{OURS}events/", {"limit": 1000}).json()
    peer = client.get(f"{PEER}events/", {"limit": 1000}).json()
    same_keys(ours, peer)
    assert ours["results"]
    assert [e["uuid"] for e in peer["results"]] == [e["uuid"] for e in ours["results"]]


@pytest.mark.django_db
def test_peer_feed_answers_a_repeated_poll_with_304():
    """An empty poll of the peer's feed gets an ETag, and sending it back gets 304."""
    world()
    client = integration_client()
    cursor = client.get(f"{PEER}events/", {"limit": 1000}).json()["next_cursor"]
    empty = client.get(f"{PEER}events/", {"after": cursor})
    assert empty.status_code == 200 and empty.json()["results"] == []
    again = client.get(f"{PEER}events/", {"after": cursor}, HTTP_IF_NONE_MATCH=empty["ETag"])
    assert again.status_code == 304


def test_peer_refuses_a_call_without_a_token(client):
    """The peer uses the tracker's authentication: no token, no answer."""
    assert client.get(f"{PEER}cases/").status_code == 401


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the floor is PostgreSQL's SQL")
@pytest.mark.django_db(transaction=True)
def test_floor_answers_the_same_pages(see_own_events):
    """The floor's list, case and feed pages have the tracker's keys; the list its order.

    The floor reads through its own connection, so the data is committed (transaction=True).
    """
    case = world()
    client = integration_client()
    ours = client.get(f"{OURS}cases/").json()
    floor = client.get(f"{FLOOR}cases/")
    assert floor.status_code == 200
    floor = floor.json()
    assert [row["uuid"] for row in floor["results"]] == [row["uuid"] for row in ours["results"]]
    for mine, theirs in zip(ours["results"], floor["results"], strict=True):
        same_keys(mine, theirs)
        assert theirs["person"]["names"] == mine["person"]["names"]
    same_keys(
        client.get(f"{OURS}cases/{case.uuid}/").json(),
        client.get(f"{FLOOR}cases/{case.uuid}/").json(),
    )
    ours_feed = client.get(f"{OURS}events/", {"limit": 1000}).json()
    floor_feed = client.get(f"{FLOOR}events/", {"limit": 1000}).json()
    same_keys(ours_feed, floor_feed)
    assert ours_feed["results"]
    assert [e["uuid"] for e in floor_feed["results"]] == [e["uuid"] for e in ours_feed["results"]]
    empty = client.get(f"{FLOOR}events/", {"after": floor_feed["next_cursor"]})
    assert empty.json()["results"] == []
    again = client.get(
        f"{FLOOR}events/", {"after": floor_feed["next_cursor"]}, HTTP_IF_NONE_MATCH=empty["ETag"]
    )
    assert again.status_code == 304
    stranger = Client(HTTP_AUTHORIZATION="Token wrong")
    assert stranger.get(f"{FLOOR}cases/").status_code == 401
