"""Operations: the health endpoint and the one-line JSON request log."""

import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tracker.logs import JsonFormatter


@pytest.mark.django_db
def test_health_reports_ok_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_reports_503_when_database_is_unreachable():
    """A database that cannot be reached makes the endpoint unhealthy (503), not a 500."""
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/healthz');"
        "print(r.status_code, r.json()['status'])"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tracker.settings_test",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        # Nothing listens on port 1: a real connection attempt that fails.
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/unreachable",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["503", "unavailable"], result.stderr


@pytest.mark.django_db
def test_each_request_is_logged_once_as_json(client, caplog):
    """One record per request with method, path, status and duration; no query string."""
    with caplog.at_level(logging.INFO, logger="tracker.request"):
        client.get("/healthz?q=%EB%A6%AC")
    records = [r for r in caplog.records if r.name == "tracker.request"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    payload = json.loads(line)
    assert payload["method"] == "GET"
    assert payload["path"] == "/healthz"
    assert payload["status"] == 200
    assert payload["duration_ms"] >= 0
    assert payload["user_id"] is None
    assert "q=" not in line and "리" not in line
