"""DJANGO_DB_PREPARED_STATEMENTS: kept (the default), always or off, and nothing else."""

from __future__ import annotations

import json

import pytest

from tests.ops.test_replica_settings import _settings_with

POSTGRES = {"DATABASE_URL": "postgres://app@db.internal:5432/tracker"}


@pytest.mark.parametrize(
    ("value", "threshold"),
    [
        ("", 2**31 - 1),
        ("kept", 2**31 - 1),
        ("true", 2**31 - 1),
        ("always", 2**31 - 1),
        ("off", None),
        ("0", None),
        ("no", None),
    ],
)
def test_psycopg_prepares_only_what_is_asked_unless_off(value, threshold):
    """Allowed, psycopg's own threshold is one no query reaches (only the statements asked to
    be are prepared); off, it is left as Django sets it (psycopg prepares nothing)."""
    done = _settings_with(DJANGO_DB_PREPARED_STATEMENTS=value, **POSTGRES)
    assert done.returncode == 0, done.stderr
    options = json.loads(done.stdout.strip().splitlines()[-1])["default"]["OPTIONS"]
    assert options.get("prepare_threshold") == threshold


def test_an_unknown_value_stops_the_settings_with_what_to_use():
    done = _settings_with(DJANGO_DB_PREPARED_STATEMENTS="sometimes", **POSTGRES)
    assert done.returncode != 0
    assert "DJANGO_DB_PREPARED_STATEMENTS is 'sometimes': use kept" in done.stderr


def test_sqlite_has_no_threshold():
    done = _settings_with(DJANGO_DB_PREPARED_STATEMENTS="always")
    assert done.returncode == 0, done.stderr
    options = json.loads(done.stdout.strip().splitlines()[-1])["default"]["OPTIONS"]
    assert "prepare_threshold" not in options
