"""Operations: the health endpoint and the one-line JSON request log."""

import importlib
import json
import logging
import multiprocessing
import os
import runpy
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import path

from tracker.logs import JsonFormatter


@pytest.mark.django_db
def test_health_reports_ok_when_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    held_back = body.pop("feed_held_back_seconds")  # tests/feed/test_lag_signal.py
    assert body == {"status": "ok", "database": "ok"}
    assert held_back is None or held_back >= 0
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


@pytest.mark.django_db
def test_health_answers_head_for_load_balancers(client):
    """HEAD checks the database like GET; other methods are refused with 405."""
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


def failing_view(request):
    """Raise, as a bug in a view would."""
    raise RuntimeError("boom")


urlpatterns = [path("fails", failing_view)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__)
def test_a_request_that_fails_is_logged_once_with_500(caplog):
    """An exception in a view still gives its one request line, with status 500."""
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO, logger="tracker.request"):
        response = client.get("/fails")
    assert response.status_code == 500
    records = [r for r in caplog.records if r.name == "tracker.request"]
    assert [(r.fields["path"], r.fields["status"]) for r in records] == [("/fails", 500)]


def load_gunicorn_config(monkeypatch, **environment):
    """Return the settings gunicorn.conf.py makes in ``environment``."""
    for name in (
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "GUNICORN_BIND",
        "GUNICORN_TIMEOUT",
        "GUNICORN_CONTROL_SOCKET",
        "DJANGO_CONN_MAX_AGE",
    ):
        # Set, then delete: the undo then removes whatever the file sets by default.
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))


def test_gunicorn_defaults_are_synchronous_workers_on_loopback(monkeypatch):
    """By default: 2 x cores + 1 sync workers on 127.0.0.1:8000, no control socket."""
    config = load_gunicorn_config(monkeypatch)
    assert config["workers"] == multiprocessing.cpu_count() * 2 + 1
    assert (config["worker_class"], config["threads"]) == ("sync", 1)
    assert config["bind"] == "127.0.0.1:8000"
    assert config["timeout"] == 30
    assert config["accesslog"] is None
    assert config["control_socket_disable"] is True
    assert os.environ["DJANGO_CONN_MAX_AGE"] == "60"


def test_gunicorn_settings_come_from_the_environment(monkeypatch):
    """Workers, threads (then gthread workers), bind, timeout and control socket."""
    config = load_gunicorn_config(
        monkeypatch,
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="4",
        GUNICORN_BIND="0.0.0.0:9000",
        GUNICORN_TIMEOUT="60",
        GUNICORN_CONTROL_SOCKET="/run/tracker/gunicorn.ctl",
    )
    assert config["workers"] == 3
    assert (config["worker_class"], config["threads"]) == ("gthread", 4)
    assert config["bind"] == "0.0.0.0:9000"
    assert config["timeout"] == 60
    assert config["control_socket"] == "/run/tracker/gunicorn.ctl"
    assert "control_socket_disable" not in config


def test_gunicorn_keeps_a_database_connection_unless_told_not_to(monkeypatch):
    load_gunicorn_config(monkeypatch, DJANGO_CONN_MAX_AGE="0")
    assert os.environ["DJANGO_CONN_MAX_AGE"] == "0"


WRK_ONE_MINUTE = """Running 1m test @ http://127.0.0.1:51021
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.60s     2.80s   14.13s    70.00%
    Req/Sec     3.10      3.00    20.00     80.00%
  Latency Distribution
     50%  812.50ms
     75%    2.69s
     90%   10.55s
     99%    1.02m
  1368 requests in 1.00m, 1.20MB read
  Socket errors: connect 0, read 2, write 1, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:     22.80
Transfer/sec:     20.44KB
LOADMIX {"writes": 14, "filed": 5, "moved": 1, "statuses": {"201": 7, "200": 1357, "500": 4}}
"""


def test_bench_servers_get_the_callers_environment_not_the_test_settings(monkeypatch):
    """A benchmark's server runs as ``make serve`` would: the defaults the test settings put
    in this process's environment (a per-process cache, credentials kept 300 s) are not
    passed on as if the caller had set them; what the caller set is."""
    monkeypatch.setenv("DJANGO_REQUEST_LOG", os.environ.get("DJANGO_REQUEST_LOG", "1"))
    monkeypatch.syspath_prepend(str(settings.BASE_DIR / "bench"))
    load_bench = importlib.import_module("load_bench")
    common = importlib.import_module("_common")
    monkeypatch.setenv("DATABASE_URL", "postgres://bench@127.0.0.1:5432/bench")
    monkeypatch.setenv("DJANGO_CACHE_URL", "locmem://")
    monkeypatch.setenv("DJANGO_API_CREDENTIALS_CACHE_SECONDS", "300")
    caller = {"PATH": os.environ["PATH"], "DJANGO_CONN_MAX_AGE": "0"}
    monkeypatch.setattr(common, "ENVIRON", caller)

    env = load_bench.server_environment(8123)

    assert "DJANGO_CACHE_URL" not in env
    assert "DJANGO_API_CREDENTIALS_CACHE_SECONDS" not in env
    assert env["DJANGO_CONN_MAX_AGE"] == "0" and env["PATH"] == caller["PATH"]
    assert env["DATABASE_URL"] == "postgres://bench@127.0.0.1:5432/bench"
    assert env["GUNICORN_BIND"] == "127.0.0.1:8123"
    caller["DJANGO_CACHE_URL"] = "redis://127.0.0.1:6379/3"
    assert load_bench.server_environment(8123)["DJANGO_CACHE_URL"] == "redis://127.0.0.1:6379/3"


def test_load_bench_reads_wrk_summary(monkeypatch):
    """The load test's parser reads counts, errors and percentiles in every unit wrk prints."""
    # Importing the script sets up its defaults in the environment; keep them to this test.
    monkeypatch.setenv("DJANGO_REQUEST_LOG", os.environ.get("DJANGO_REQUEST_LOG", "1"))
    monkeypatch.syspath_prepend(str(settings.BASE_DIR / "bench"))
    load_bench = importlib.import_module("load_bench")

    figures = load_bench.parse_wrk(WRK_ONE_MINUTE)

    assert figures["requests"] == 1368
    assert figures["rps"] == 22.8
    assert (figures["errors"], figures["timeouts"], figures["non_2xx"]) == (6, 3, 4)
    assert figures["p50"] == pytest.approx(812.5)
    assert figures["p90"] == pytest.approx(10550)
    assert figures["p99"] == pytest.approx(61200)
    assert figures["statuses"] == {"201": 7, "200": 1357, "500": 4}


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True)
def test_the_https_redirect_gets_its_log_line(client, caplog):
    """The request log is outside every middleware that answers: such answers count too."""
    with caplog.at_level(logging.INFO, logger="tracker.request"):
        response = client.get("/cases/")
    assert response.status_code == 301
    records = [r for r in caplog.records if r.name == "tracker.request"]
    assert [json.loads(JsonFormatter().format(r))["status"] for r in records] == [301]


def test_kept_database_connections_are_checked_before_reuse():
    """A restarted database costs a reconnect, not a 500 per worker."""
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert settings.MIDDLEWARE[:2] == [
        "tracker.middleware.RequestIdMiddleware",
        "tracker.logs.RequestLogMiddleware",
    ]
