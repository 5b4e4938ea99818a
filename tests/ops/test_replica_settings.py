"""DATABASE_REPLICA_URL: the "replica" alias, and a router that reads from it only when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from cases.models import Case, TimelineEvent
from tracker import db_routers
from tracker.db_routers import PrimaryReplicaRouter

BASE_DIR = Path(__file__).resolve().parents[2]

PRINT_DATABASES = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({alias: {key: db.get(key) for key in ("HOST", "PORT", "NAME", "OPTIONS", "TEST")}
                  for alias, db in settings.DATABASES.items()}))
"""


def _settings_with(**variables: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if not key.startswith("DATABASE_")}
    env |= {"DJANGO_SETTINGS_MODULE": "tracker.settings_test", **variables}
    return subprocess.run(
        [sys.executable, "-c", PRINT_DATABASES],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_replica_url_adds_a_replica_alias_that_tests_mirror_from_the_primary():
    """The replica gets the primary's connection options; test runs read it from default."""
    done = _settings_with(
        DATABASE_URL="postgres://app@db.internal:5432/tracker",
        DATABASE_REPLICA_URL="postgres://app@replica.internal:5433/tracker",
    )
    assert done.returncode == 0, done.stderr
    databases = json.loads(done.stdout.strip().splitlines()[-1])
    replica = databases["replica"]
    assert (replica["HOST"], replica["PORT"], replica["NAME"]) == (
        "replica.internal",
        5433,
        "tracker",
    )
    timeout = databases["default"]["OPTIONS"]["connect_timeout"]
    assert replica["OPTIONS"]["connect_timeout"] == timeout
    assert replica["TEST"]["MIRROR"] == "default"


def test_without_replica_url_there_is_no_replica_alias():
    done = _settings_with(DATABASE_URL="postgres://app@db.internal:5432/tracker")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout.strip().splitlines()[-1])) == {"default"}


def test_replica_url_beside_sqlite_is_refused_with_the_reason():
    """A replica is a PostgreSQL standby: beside the SQLite default it cannot be one."""
    done = _settings_with(DATABASE_REPLICA_URL="postgres://app@replica.internal:5433/tracker")
    assert done.returncode != 0
    assert "DATABASE_REPLICA_URL needs DATABASE_URL to name PostgreSQL" in done.stderr


@pytest.mark.parametrize("model", [Case, TimelineEvent])
def test_router_sends_reads_and_writes_to_the_primary_unless_a_query_names_the_replica(model):
    router = PrimaryReplicaRouter()
    assert router.db_for_read(model) == DEFAULT_DB_ALIAS
    assert router.db_for_write(model) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "cases")
    assert not router.allow_migrate(db_routers.REPLICA, "cases")


def test_replica_alias_is_none_without_a_replica():
    assert not db_routers.replica_configured()
    assert db_routers.replica_alias() is None


def test_replica_alias_is_none_inside_a_transaction_on_the_primary(monkeypatch):
    """A transaction may hold the caller's own writes, which the replica has not seen."""
    monkeypatch.setattr(db_routers, "replica_configured", lambda: True)
    monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", False)
    assert db_routers.replica_alias() == db_routers.REPLICA
    monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", True)
    assert db_routers.replica_alias() is None


def test_a_replica_that_failed_is_left_alone_for_a_while(monkeypatch):
    """Requests do not each wait for an unreachable replica's connection timeout."""
    monkeypatch.setattr(db_routers, "replica_configured", lambda: True)
    monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", False)
    monkeypatch.setattr(db_routers, "_replica_retry_at", 0.0)
    clock = [1000.0]
    monkeypatch.setattr(db_routers, "monotonic", lambda: clock[0])
    db_routers.replica_failed()
    assert db_routers.replica_alias() is None
    clock[0] += db_routers.REPLICA_RETRY_SECONDS - 1
    assert db_routers.replica_alias() is None
    clock[0] += 1
    assert db_routers.replica_alias() == db_routers.REPLICA


def _every_model():
    from django.apps import apps

    return apps.get_models(include_auto_created=True)


def test_reads_from_sends_case_data_and_events_there_and_nothing_else(monkeypatch):
    """Case data and its events may be read from the replica; accounts, tokens, permissions,
    idempotency keys, rate-limit counters, the access log, webhooks and write positions never
    are, since each must be current (a revoked token stops at once)."""
    from cases.security.access import CASE_DATA_MODELS, READ_ONLY_MODELS

    monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", False)
    router = PrimaryReplicaRouter()
    readable = {f"cases.{name}" for name in (*CASE_DATA_MODELS, *READ_ONLY_MODELS)}
    with db_routers.reads_from("elsewhere"):
        routed = {model._meta.label_lower: router.db_for_read(model) for model in _every_model()}
        assert router.db_for_write(Case) == DEFAULT_DB_ALIAS
    assert {label for label, alias in routed.items() if alias == "elsewhere"} == readable
    for label in ("auth.user", "auth.permission", "cases.apitoken", "cases.idempotencykey",
                  "cases.ratelimitcounter", "cases.accesslogentry", "cases.webhooksubscription",
                  "cases.writeposition", "sessions.session"):  # fmt: skip
        assert routed[label] == DEFAULT_DB_ALIAS, label
    # The block over, everything is read from the primary again.
    assert router.db_for_read(Case) == DEFAULT_DB_ALIAS


def test_reads_from_stays_on_the_primary_inside_a_transaction(monkeypatch):
    """A transaction may hold its own writes: its reads stay where they are."""
    router = PrimaryReplicaRouter()
    monkeypatch.setattr(connections[DEFAULT_DB_ALIAS], "in_atomic_block", True)
    with db_routers.reads_from("elsewhere"):
        assert router.db_for_read(Case) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_without_a_replica_a_write_records_nothing_and_a_read_goes_to_the_primary(
    django_assert_num_queries,
):
    """No replica: no write position is written, and deciding a read costs no query."""
    from django.test import RequestFactory

    from cases.api import replica_reads
    from tests.support.roles import CASE_OFFICER, user_in_role

    user = user_in_role(CASE_OFFICER, "officer")
    request = RequestFactory().post("/api/v1/cases/")
    request.user = user
    with django_assert_num_queries(0):
        replica_reads.record_write(request, 200)
        assert replica_reads.replica_read_for(user) is None
    assert not replica_reads.WritePosition.objects.exists()
