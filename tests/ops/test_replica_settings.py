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
