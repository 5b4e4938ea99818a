"""``Idempotency-Key``: a retried write is answered from the first answer and changes nothing.

The write routes are read from the URL resolver (as tests/contracts/test_api_writes.py reads
them), so a new POST, PUT or PATCH route fails ``test_every_write_route_has_a_call`` until it
has a body here and is shown to replay.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.urls import resolve, reverse
from django.utils import timezone

from cases import services
from cases.api import idempotency
from cases.api.views import SourceViewSet
from cases.feed import cursor as feed
from cases.models import IdempotencyKey, Party, Source, TimelineEvent
from cases.webhooks import services as webhooks
from tests.contracts.test_api_writes import (
    CONTRACTS,
    NO_CASE_DATA,
    Call,
    World,
    api_write_routes,
    world,  # noqa: F401 - the fixture the contracts' calls act on
)
from tests.support.clients import token_client
from tests.support.roles import CASE_OFFICER, superuser, user_in_role

pytestmark = pytest.mark.django_db

KEY = "HTTP_IDEMPOTENCY_KEY"


@pytest.fixture(autouse=True)
def _webhook_settings(settings, monkeypatch):
    """Let subscriptions point at a local address and see this test's own events."""
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    if not connection.in_atomic_block:
        return  # a transactional test: the real watermark sees committed events
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


def _subscription(w: World):
    subscription, _secret = webhooks.webhook_subscription_create(
        created_by=w.officer,
        name="mirror",
        target_url="http://127.0.0.1:9/hook",
        account=w.officer,
        event_kinds=[],
        subject_types=[],
        case_filter="",
        start="now",
    )
    return subscription


def _on_subscription(body):
    def call(w: World) -> Call:
        subscription = _subscription(w)
        return Call(body(w) if callable(body) else body, subscription, {"uuid": subscription.uuid})

    return call


def _uploaded(w: World) -> Call:
    from cases.imports import services as imports

    run = imports.import_upload(user=w.officer, file_name="l.csv", content=b"working_name\nKim\n")
    return Call({}, run, {"uuid": run.uuid})


#: Bodies of the write routes that change no case data (the contracts hold the others').
WEBHOOK_CALLS = {
    ("webhook-list", "post"): lambda w: Call(
        {"name": "mirror", "target_url": "http://127.0.0.1:9/hook"}
    ),
    ("webhook-detail", "patch"): _on_subscription({"name": "renamed", "version": 1}),
    ("webhook-pause", "post"): _on_subscription({"reason": "receiver upgrade"}),
    ("webhook-resume", "post"): _on_subscription({}),
    ("webhook-rotate", "post"): _on_subscription({"grace_seconds": 60}),
    ("webhook-replay", "post"): _on_subscription({"after": ""}),
    ("webhook-redeliver", "post"): _on_subscription(
        lambda w: {"event": str(TimelineEvent.objects.filter(case=w.ri).first().uuid)}
    ),
    # Imports: the upload (as JSON, the file in base64), the dry run and a saved mapping.
    ("import-run-list", "post"): lambda w: Call(
        {
            "file_name": "list.csv",
            "content_base64": base64.b64encode(b"Name\nKim\n").decode(),
            "columns": {"Name": "working_name"},
        }
    ),
    ("import-run-dry-run", "post"): _uploaded,
    ("import-mapping-list", "post"): lambda w: Call(
        {
            "name": "ICRC list",
            "kind": "icrc",
            "columns": {"ICRC": "icrc_number", "Name": "working_name", "No.": ""},
        }
    ),
    # Not a webhook route, but it writes no case data either: the duplicate check.
    ("person-duplicates", "post"): lambda w: Call({"working_name": "Lee", "names": ["리"]}),
}


def calls() -> dict:
    """Return every write route's call: the contracts' and the webhooks'."""
    return {**{key: contract.call for key, contract in CONTRACTS.items()}, **WEBHOOK_CALLS}


def test_every_write_route_has_a_call():
    """A new write route fails here until it has a body and is shown to replay below."""
    routes = {(name, method) for name, method in api_write_routes() if method != "delete"}
    assert routes == set(calls())
    assert {name for name, _method in WEBHOOK_CALLS} == set(NO_CASE_DATA)


def state(subject_url: str | None, uuid_value) -> dict:
    """Return the row counts of every model (but the keys) and the subject row's values."""
    counts = {
        model._meta.label: model._base_manager.count()
        for model in apps.get_app_config("cases").get_models()
        if model is not IdempotencyKey
    }
    row = None
    if subject_url is not None:
        model = resolve(subject_url).func.cls.queryset.model
        row = model._base_manager.filter(uuid=uuid_value).values().first()
    return {"counts": counts, "row": row}


@pytest.mark.parametrize(("route", "method"), sorted(calls()))
def test_a_retry_replays_the_first_answer_and_writes_nothing(world, route, method):  # noqa: F811
    """The same key and body again: the same status, body and headers, marked as a replay;
    no row, event, webhook delivery or version is added or changed by the retry."""
    client = world.client
    if CONTRACTS.get((route, method)) and CONTRACTS[(route, method)].superuser:
        client, _token = token_client(superuser("idem-root"), name="root")
    call = calls()[(route, method)](world)
    url = reverse(f"api:{route}", kwargs=call.url_kwargs or {})
    key = str(uuid.uuid4())
    send = getattr(client, method)

    first = send(url, call.body, format=call.format, **{KEY: key})
    assert first.status_code in (200, 201, 202), first.content
    assert idempotency.REPLAYED_HEADER not in first
    uuid_value = (call.url_kwargs or {}).get("uuid")
    before = state(url if uuid_value else None, uuid_value)

    for value in call.body.values() if isinstance(call.body, dict) else ():
        if hasattr(value, "seek"):
            value.seek(0)  # a file sent again is sent whole
    again = send(url, call.body, format=call.format, **{KEY: key})

    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again[idempotency.REPLAYED_HEADER] == "true"
    for header in ("Content-Type", "ETag", "Location"):
        assert again.get(header) == first.get(header), header
    assert state(url if uuid_value else None, uuid_value) == before
    assert IdempotencyKey.objects.count() == 1
    assert bytes(IdempotencyKey.objects.get().body) != first.content  # kept sealed


def test_a_kept_answer_is_sealed_at_rest(world):  # noqa: F811
    """A webhook secret or a person's name in a kept answer is not readable in the database."""
    created = world.client.post(
        "/api/v1/webhooks/",
        {"name": "mirror", "target_url": "http://127.0.0.1:9/hook"},
        format="json",
        **{KEY: "w"},
    )
    secret = created.json()["secret"]
    person = world.client.post(
        "/api/v1/persons/", {"working_name": "Paek Sang-ho"}, format="json", **{KEY: "p"}
    )
    assert person.status_code == 201
    stored = b"".join(bytes(body) for body in IdempotencyKey.objects.values_list("body", flat=True))
    assert secret.encode() not in stored and b"Paek" not in stored
    replayed = world.client.post(
        "/api/v1/webhooks/",
        {"name": "mirror", "target_url": "http://127.0.0.1:9/hook"},
        format="json",
        **{KEY: "w"},
    )
    assert replayed.json()["secret"] == secret


def test_an_answer_sealed_under_another_secret_key_is_dropped(client, settings):
    """After SECRET_KEY changes a kept answer cannot be opened: the retry runs again."""
    assert client.post(SOURCES, {"title": "a"}, format="json", **{KEY: "k"}).status_code == 201
    settings.SECRET_KEY = "another-" + settings.SECRET_KEY
    again = client.post(SOURCES, {"title": "a"}, format="json", **{KEY: "k"})
    assert again.status_code == 201 and idempotency.REPLAYED_HEADER not in again
    assert Source.objects.count() == 2


# --------------------------------------------------------------------------------------------
# Same key, another request; keys per account; malformed keys
# --------------------------------------------------------------------------------------------

PARTIES = "/api/v1/parties/"
SOURCES = "/api/v1/sources/"


@pytest.fixture
def client(officer):
    """The case officer's token client."""
    client, _token = token_client(officer, name="idem")
    return client


def test_the_same_key_with_another_body_is_422(client):
    """Reusing a key for another body is refused and writes nothing."""
    assert client.post(PARTIES, {"name": "ICRC", "kind": "state"}, format="json", **{KEY: "k"})
    refused = client.post(PARTIES, {"name": "UNHCR", "kind": "state"}, format="json", **{KEY: "k"})
    assert refused.status_code == 422, refused.content
    assert "Idempotency-Key" in refused.json()["detail"]
    assert list(Party.objects.values_list("name", flat=True)) == ["ICRC"]


def test_the_same_key_on_another_address_is_422(client):
    """The path is part of the request: the key cannot be reused on another route."""
    body = {"name": "ICRC", "kind": "state"}
    assert client.post(PARTIES, body, format="json", **{KEY: "k"}).status_code == 201
    body = {"title": "ICRC"}
    assert client.post(SOURCES, body, format="json", **{KEY: "k"}).status_code == 422
    assert not Source.objects.exists()


def test_key_order_and_whitespace_of_the_body_do_not_matter(client):
    """The fingerprint hashes canonical JSON, so a re-serialised retry is still a retry."""
    first = client.post(
        PARTIES, '{"name": "ICRC", "kind": "state"}', content_type="application/json", **{KEY: "k"}
    )
    again = client.post(
        PARTIES,
        '{\n  "kind":"state",\n  "name":   "ICRC"\n}',
        content_type="application/json",
        **{KEY: "k"},
    )
    assert first.status_code == 201
    assert again.status_code == 201 and again[idempotency.REPLAYED_HEADER] == "true"
    assert Party.objects.count() == 1


def test_if_match_is_part_of_the_request(client):
    """The same change against another version is another request: 422, not a replay."""
    created = client.post(PARTIES, {"name": "ICRC", "kind": "state"}, format="json").json()
    url = f"{PARTIES}{created['uuid']}/"
    changed = client.patch(
        url, {"short_name": "R"}, format="json", HTTP_IF_MATCH='"1"', **{KEY: "p"}
    )
    assert changed.status_code == 200 and changed["ETag"] == '"2"'
    replayed = client.patch(
        url, {"short_name": "R"}, format="json", HTTP_IF_MATCH='"1"', **{KEY: "p"}
    )
    assert replayed.status_code == 200 and replayed[idempotency.REPLAYED_HEADER] == "true"
    other = client.patch(url, {"short_name": "R"}, format="json", HTTP_IF_MATCH='"2"', **{KEY: "p"})
    assert other.status_code == 422
    assert Party.objects.get().version == 2


def test_keys_are_per_account(client):
    """Another account's request with the same key and body is its own write."""
    colleague, _token = token_client(user_in_role(CASE_OFFICER, "colleague"), name="idem")
    body = {"title": "Interview"}
    assert client.post(SOURCES, body, format="json", **{KEY: "k"}).status_code == 201
    theirs = colleague.post(SOURCES, body, format="json", **{KEY: "k"})
    assert theirs.status_code == 201 and idempotency.REPLAYED_HEADER not in theirs
    assert Source.objects.count() == 2
    assert IdempotencyKey.objects.count() == 2


def test_an_accounts_tokens_share_its_keys(client, officer):
    """The key belongs to the account, not the token: a retry through another of its
    tokens (a rotated one) is still a retry."""
    rotated, _token = token_client(officer, name="rotated")
    body = {"title": "Interview"}
    assert client.post(SOURCES, body, format="json", **{KEY: "k"}).status_code == 201
    again = rotated.post(SOURCES, body, format="json", **{KEY: "k"})
    assert again[idempotency.REPLAYED_HEADER] == "true" and Source.objects.count() == 1


@pytest.mark.parametrize(
    "value",
    ["", " ", "x" * 256, "caf\u00e9", "tab\there", "new\x01line", '"unterminated', '"bad\\q"'],
)
def test_a_malformed_key_is_400_and_writes_nothing(client, value):
    """Keys are 1 to 255 printable ASCII characters, bare or as a quoted string."""
    response = client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: value})
    assert response.status_code == 400, response.content
    assert not Source.objects.exists() and not IdempotencyKey.objects.exists()


def test_a_quoted_key_is_the_same_key_as_the_bare_one(client):
    """The draft's structured-field string ("...") and the bare form name the same key."""
    body = {"title": "Interview"}
    assert client.post(SOURCES, body, format="json", **{KEY: '"a\\"b"'}).status_code == 201
    again = client.post(SOURCES, body, format="json", **{KEY: 'a"b'})
    assert again[idempotency.REPLAYED_HEADER] == "true"
    assert IdempotencyKey.objects.get().key == 'a"b'
    assert client.post(SOURCES, body, format="json", **{KEY: "x" * 255}).status_code == 201


def test_without_the_header_every_write_runs(client):
    """No key: two identical POSTs make two rows, and nothing is kept."""
    for _ in range(2):
        assert client.post(SOURCES, {"title": "Interview"}, format="json").status_code == 201
    assert Source.objects.count() == 2 and not IdempotencyKey.objects.exists()


def test_a_read_with_a_key_is_an_ordinary_read(client):
    """GET is safe: the key is ignored and nothing is kept."""
    assert client.get(SOURCES, **{KEY: "k"}).status_code == 200
    assert client.get(SOURCES, **{KEY: ""}).status_code == 200
    assert not IdempotencyKey.objects.exists()


def test_a_client_error_is_kept_and_replayed(client):
    """A 400 is the final answer to that request: the retry gets it again."""
    first = client.post(PARTIES, {"kind": "state"}, format="json", **{KEY: "k"})
    again = client.post(PARTIES, {"kind": "state"}, format="json", **{KEY: "k"})
    assert first.status_code == again.status_code == 400
    assert again.content == first.content and again[idempotency.REPLAYED_HEADER] == "true"


def test_a_refusal_that_may_change_is_not_kept(client, officer):
    """A 403 is not kept: once the account may write, the retry runs."""
    reader, _token = token_client(officer, name="read", read_only=True)
    assert reader.post(SOURCES, {"title": "x"}, format="json", **{KEY: "k"}).status_code == 403
    assert not IdempotencyKey.objects.exists()


# --------------------------------------------------------------------------------------------
# Time to live, purge, failures
# --------------------------------------------------------------------------------------------


def _later(monkeypatch, delta: timedelta) -> None:
    now = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: now)


def test_a_key_is_replayed_for_its_time_to_live_only(client, settings, monkeypatch):
    """Within DJANGO_IDEMPOTENCY_TTL_HOURS the retry replays; after it, the key is new."""
    settings.IDEMPOTENCY_TTL_HOURS = 24
    body = {"title": "Interview"}
    assert client.post(SOURCES, body, format="json", **{KEY: "k"}).status_code == 201
    record = IdempotencyKey.objects.get()
    assert record.expires_at - record.created_at == timedelta(hours=24)

    _later(monkeypatch, timedelta(hours=23, minutes=59))
    again = client.post(SOURCES, body, format="json", **{KEY: "k"})
    assert again[idempotency.REPLAYED_HEADER] == "true" and Source.objects.count() == 1

    _later(monkeypatch, timedelta(hours=24, seconds=1))
    fresh = client.post(SOURCES, body, format="json", **{KEY: "k"})
    assert fresh.status_code == 201 and idempotency.REPLAYED_HEADER not in fresh
    assert Source.objects.count() == 2
    assert IdempotencyKey.objects.get().pk != record.pk


def test_expired_keys_are_purged_by_the_next_keyed_write_and_the_command(client, monkeypatch):
    """A kept answer may name people: nothing outlives its time to live."""
    client.post(SOURCES, {"title": "a"}, format="json", **{KEY: "a"})
    client.post(SOURCES, {"title": "b"}, format="json", **{KEY: "b"})
    _later(monkeypatch, timedelta(hours=25))
    client.post(SOURCES, {"title": "c"}, format="json", **{KEY: "c"})
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["c"]

    _later(monkeypatch, timedelta(hours=50))
    out = io.StringIO()
    call_command("purge_idempotency_keys", stdout=out)
    assert "Deleted 1 expired" in out.getvalue()
    assert not IdempotencyKey.objects.exists()


def test_keys_are_not_in_the_admin():
    """The kept answers are personal data that nobody browses."""
    assert admin.site._registry, "the admin's models are registered"
    assert IdempotencyKey not in admin.site._registry


def _source_create(monkeypatch, service) -> None:
    """Make the source list's POST call ``service``."""
    monkeypatch.setattr(SourceViewSet, "create_service", staticmethod(service))


def test_a_failed_request_leaves_no_key_behind(client, monkeypatch):
    """A 500 is not kept and its marker is dropped: the retry runs the write."""

    def broken(**kwargs):
        raise RuntimeError("database went away")

    _source_create(monkeypatch, broken)
    with pytest.raises(RuntimeError):
        client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"})
    assert not IdempotencyKey.objects.exists()

    _source_create(monkeypatch, services.source_create)
    retried = client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"})
    assert retried.status_code == 201 and idempotency.REPLAYED_HEADER not in retried
    assert Source.objects.count() == 1


def test_a_marker_left_by_a_dead_process_expires_after_its_lease(client, monkeypatch, settings):
    """A process that died mid-request cannot drop its marker; the lease frees the key."""
    settings.IDEMPOTENCY_LEASE_SECONDS = 60

    def died(**kwargs):
        raise SystemExit  # what a killed worker looks like to the code after it: nothing

    _source_create(monkeypatch, died)
    monkeypatch.setattr(idempotency, "release", lambda claim: None)
    with pytest.raises(SystemExit):
        client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"})
    assert IdempotencyKey.objects.get().status_code is None

    _source_create(monkeypatch, services.source_create)
    busy = client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"})
    assert busy.status_code == 409 and busy["Retry-After"] == "1"

    _later(monkeypatch, timedelta(seconds=61))
    retried = client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"})
    assert retried.status_code == 201 and Source.objects.count() == 1
    assert IdempotencyKey.objects.get().status_code == 201


# --------------------------------------------------------------------------------------------
# A concurrent duplicate, on two real connections
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_duplicate_while_the_first_runs_is_409_then_replays(monkeypatch):
    """The marker is committed before the write: a second connection sees it at once and
    gets 409 with Retry-After; once the first has answered, the retry replays it."""
    officer = user_in_role(CASE_OFFICER, "racer")
    first_client, _token = token_client(officer, name="first")
    second_client, _token = token_client(officer, name="second")
    started, go_on = threading.Event(), threading.Event()
    original = services.source_create

    def slow(**kwargs):
        started.set()
        assert go_on.wait(10)
        return original(**kwargs)

    _source_create(monkeypatch, slow)
    answers = {}

    def first_request():
        try:
            answers["first"] = first_client.post(
                SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"}
            )
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert started.wait(10)
        duplicate = second_client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"})
        assert duplicate.status_code == 409, duplicate.content
        assert duplicate["Retry-After"] == "1"
        assert "still being processed" in duplicate.json()["detail"]
    finally:
        go_on.set()
        thread.join(20)
    assert answers["first"].status_code == 201
    replayed = second_client.post(SOURCES, {"title": "Interview"}, format="json", **{KEY: "k"})
    assert replayed.status_code == 201 and replayed[idempotency.REPLAYED_HEADER] == "true"
    assert replayed.content == answers["first"].content
    assert Source.objects.count() == 1
    assert TimelineEvent.objects.filter(kind="source.created").count() == 1


# --------------------------------------------------------------------------------------------
# The schema
# --------------------------------------------------------------------------------------------


def test_every_unsafe_operation_declares_the_key_and_its_answers(officer):
    """A generated client can send the key, and knows the 409 and 422 it may get back."""
    client, _token = token_client(officer, name="schema")
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    operations = [
        (path, method, operation)
        for path, item in json.loads(schema.content)["paths"].items()
        for method, operation in item.items()
        if method in ("post", "put", "patch")
    ]
    assert len(operations) >= len(calls())
    for path, method, operation in operations:
        names = [(p["in"], p["name"]) for p in operation["parameters"]]
        assert ("header", "Idempotency-Key") in names, (path, method)
        assert {"409", "422"} <= set(operation["responses"]), (path, method)
        assert "Retry-After" in operation["responses"]["409"]["headers"]
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                assert "Idempotent-Replayed" in response["headers"], (path, method, status)
