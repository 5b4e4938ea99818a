"""The API's reads from a hot standby: case data there, the rest and an account's own writes
on the primary.

A primary and its streaming standby are built for the test (tests/support/replication.py),
the primary is migrated, and ``tests/api/replica_reads_harness.py`` runs in a process whose
settings name the primary (``DATABASE_URL``) and the standby (``DATABASE_REPLICA_URL``).
"""

from __future__ import annotations

import json

import pytest
from django.db import connection

from tests.support import replication

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a streaming replica is PostgreSQL's; this runs in the PostgreSQL run",
    ),
]

#: Tables of case data: a read served by the standby reads none of them on the primary.
CASE_TABLES = {"cases_case", "cases_person", "cases_personname", "cases_timelineevent"}


@pytest.fixture(scope="module")
def answers() -> dict:
    reason = replication.missing_reason()
    if reason:
        pytest.skip(reason)
    with replication.primary_and_standby() as pair:
        env = replication.tracker_on(pair)
        harness = replication.run_python(
            ["-m", "tests.api.replica_reads_harness"], env, timeout=180
        )
        assert harness.returncode == 0, harness.stderr[-4000:]
    return json.loads(harness.stdout.strip().splitlines()[-1])


def _from_standby(answer: dict) -> None:
    assert answer["status"] == 200, answer
    assert answer["lag"] is not None and 0 <= float(answer["lag"]) < 60, answer
    assert "cases_case" in answer["replica_tables"], answer
    assert not CASE_TABLES & set(answer["primary_tables"]), answer


def _from_primary(answer: dict) -> None:
    assert answer["status"] == 200, answer
    assert answer["lag"] is None, answer
    assert "cases_case" in answer["primary_tables"], answer


def test_the_setting_names_a_standby(answers):
    assert answers["replica_in_recovery"] is True


def test_lists_and_rows_are_read_from_the_standby(answers):
    """Case data comes from the standby; the primary is asked only who the caller is."""
    _from_standby(answers["reader_list"])
    assert answers["reader_list"]["count"] == 2
    _from_standby(answers["reader_detail"])
    _from_standby(answers["officer_detail_before"])
    assert answers["reader_detail"]["priority"] == "normal"


def test_an_account_reads_its_own_write_while_the_standby_is_behind(answers):
    assert answers["officer_patch"]["status"] == 200
    _from_primary(answers["officer_detail_after_write"])
    assert answers["officer_detail_after_write"]["priority"] == "urgent"
    _from_primary(answers["officer_list_after_write"])
    assert answers["officer_list_after_write"]["count"] == 1


def test_another_account_reads_the_standby_as_it_stands(answers):
    """The standby, paused before the write, serves the other account: the write not yet in."""
    _from_standby(answers["reader_detail_while_paused"])
    assert answers["reader_detail_while_paused"]["priority"] == "normal"
    _from_standby(answers["reader_list_while_paused"])
    assert answers["reader_list_while_paused"]["count"] == 0


def test_a_revoked_token_stops_at_once_whatever_the_standby_holds(answers):
    assert answers["revoked_token_while_paused"]["status"] == 401


def test_once_replayed_the_writer_reads_from_the_standby_again(answers):
    _from_standby(answers["officer_detail_replayed"])
    assert answers["officer_detail_replayed"]["priority"] == "urgent"


def test_a_standby_lost_mid_read_or_down_leaves_the_answer_to_the_primary(answers):
    lost = answers["replica_lost_mid_read"]
    assert lost["status"] == 200 and lost["lag"] is None and lost["priority"] == "urgent"
    assert "cases_case" in lost["primary_tables"]
    assert 0 < answers["retry_after_loss_seconds"] <= 30  # left alone for a while
    down = answers["replica_down"]
    assert down["status"] == 200 and down["lag"] is None and down["priority"] == "urgent"
    assert "cases_case" in down["primary_tables"]
