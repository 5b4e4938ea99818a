"""The API's reads served from a hot standby, and an account's own writes read back.

Run as ``python -m tests.api.replica_reads_harness`` with ``DATABASE_URL`` naming a migrated
primary and ``DATABASE_REPLICA_URL`` its standby (``tests/api/test_replica_reads.py`` does).
Two accounts read and write through the API with tokens, as integrators do, while the
standby's replay is paused and resumed. The last line printed is a JSON summary of what each
answer was, where it was read (``Replica-Lag`` is present only on answers the standby
served), and which tables each read queried on the primary.
"""

from __future__ import annotations

import json
import os
import re
import time

import django
import psycopg

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")
django.setup()

from django.db import connections  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

from cases.api import replica_reads  # noqa: E402
from cases.api.replica_reads import REPLICA_LAG_HEADER  # noqa: E402
from tests import factories  # noqa: E402
from tests.support.clients import token_client  # noqa: E402
from tests.support.roles import CASE_OFFICER, INTEGRATION, user_in_role  # noqa: E402
from tracker import db_routers  # noqa: E402

CASES = "/api/v1/cases/"
_TABLE = re.compile(r'(?:FROM|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


def _replica_sql(sql: str):
    with connections["replica"].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


def wait_until_replayed(timeout: float = 30) -> None:
    """Wait until the standby has replayed everything the primary had written so far."""
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    while True:
        with connections["replica"].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            (done,) = cursor.fetchone()
        if done:
            return
        assert time.monotonic() < deadline, "the standby did not replay in time"
        time.sleep(0.05)


def _tables(queries) -> list[str]:
    return sorted({name for q in queries for name in _TABLE.findall(q["sql"])})


def get(client, path: str, params: dict | None = None) -> dict:
    """GET ``path``; return its status, lag header, body's key facts, and where it read."""
    with (
        CaptureQueriesContext(connections["default"]) as primary,
        CaptureQueriesContext(connections["replica"]) as replica,
    ):
        response = client.get(path, params or {})
    body = response.json() if response.status_code == 200 else {}
    return {
        "status": response.status_code,
        "lag": response.headers.get(REPLICA_LAG_HEADER),
        "count": body.get("count"),
        "priority": body.get("priority"),
        "etag": response.headers.get("ETag"),
        "primary_tables": _tables(primary.captured_queries),
        "replica_tables": _tables(replica.captured_queries),
    }


def _terminate_replica_backend() -> None:
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    standby = connections["replica"].settings_dict
    url = f"postgres://postgres@{standby['HOST']}:{standby['PORT']}/postgres"
    with psycopg.connect(url, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])


def main() -> dict:
    setup_test_environment()
    answers: dict = {"replica_in_recovery": _replica_sql("SELECT pg_is_in_recovery()")[0]}
    officer_client, _ = token_client(user_in_role(CASE_OFFICER, "officer"))
    reader_client, reader_token = token_client(user_in_role(INTEGRATION, "reader"))
    case = factories.case(priority="normal", legal_status="pow")
    factories.case(priority="normal", legal_status="pow")
    detail = f"{CASES}{case.uuid}/"
    wait_until_replayed()

    # Nobody has written through the API: both accounts read from the standby.
    answers["reader_list"] = get(reader_client, CASES)
    answers["reader_detail"] = get(reader_client, detail)
    answers["officer_detail_before"] = get(officer_client, detail)

    _replica_sql("SELECT pg_wal_replay_pause()")
    try:
        time.sleep(0.3)
        patched = officer_client.patch(
            detail,
            {"priority": "urgent", "legal_status": "civilian_internee"},
            format="json",
            HTTP_IF_MATCH='"1"',
        )
        answers["officer_patch"] = {"status": patched.status_code, "lag": None}
        # The writer reads his write back: from the primary, the standby being behind it.
        answers["officer_detail_after_write"] = get(officer_client, detail)
        answers["officer_list_after_write"] = get(
            officer_client, CASES, {"legal_status": "civilian_internee"}
        )
        # Another account reads from the standby, which has not replayed the write yet.
        answers["reader_detail_while_paused"] = get(reader_client, detail)
        answers["reader_list_while_paused"] = get(
            reader_client, CASES, {"legal_status": "civilian_internee"}
        )
        # A token revoked on the primary stops at once, whatever the standby holds.
        reader_token.revoke()
        answers["revoked_token_while_paused"] = get(reader_client, CASES)
    finally:
        _replica_sql("SELECT pg_wal_replay_resume()")
    wait_until_replayed()
    # Replayed: the writer's reads go to the standby again, and show his write.
    answers["officer_detail_replayed"] = get(officer_client, detail)

    # The standby's connection lost after the read was given to it: the primary answers.
    real = replica_reads.replica_read_for

    def replica_read_then_lost(user):
        read = real(user)
        if read is not None:
            _terminate_replica_backend()
        return read

    replica_reads.replica_read_for = replica_read_then_lost
    try:
        answers["replica_lost_mid_read"] = get(officer_client, detail)
    finally:
        replica_reads.replica_read_for = real
        connections["replica"].close()
    answers["retry_after_loss_seconds"] = round(db_routers._replica_retry_at - time.monotonic())

    # The standby down: the primary serves, and the answer says nothing of a replica.
    db_routers._replica_retry_at = 0.0
    replica = connections["replica"]
    port = replica.settings_dict["PORT"]
    replica.settings_dict["PORT"] = 1  # Nothing listens there.
    try:
        with CaptureQueriesContext(connections["default"]) as primary:
            down = officer_client.get(detail)
        answers["replica_down"] = {
            "status": down.status_code,
            "lag": down.headers.get(REPLICA_LAG_HEADER),
            "priority": down.json().get("priority"),
            "primary_tables": _tables(primary.captured_queries),
        }
    finally:
        replica.close()
        replica.settings_dict["PORT"] = port
        db_routers._replica_retry_at = 0.0
    return answers


if __name__ == "__main__":
    print(json.dumps(main(), default=str))
