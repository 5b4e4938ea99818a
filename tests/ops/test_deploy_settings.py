"""Production settings: Django's deployment checks pass, and responses carry the headers."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings
from django.urls import path

BASE_DIR = Path(__file__).resolve().parents[2]
HOST = "tracker.example.org"

# Print the status and headers of a few requests made with the settings of the environment.
PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client(HTTP_HOST="tracker.example.org")
seen = {}
for name, url, secure in [
    ("login", "/admin/login/", True),
    ("plain_http", "/admin/login/", False),
    ("missing", "/no/such/page/", True),
    ("health", "/healthz", True),
]:
    response = client.get(url, secure=secure)
    seen[name] = {
        "status": response.status_code,
        "headers": dict(response.headers),
        "cookies": {key: dict(morsel) for key, morsel in response.cookies.items()},
        "body": response.content.decode(errors="replace"),
    }
print(json.dumps(seen))
"""


def clean_environment(**variables) -> dict:
    """Return this process's environment without Django's variables, plus ``variables``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("DJANGO_") and key != "DATABASE_URL"
    }
    env.update(variables)
    return env


@pytest.fixture
def production_env(tmp_path) -> dict:
    """Return the environment of a production deployment (debug off, https only)."""
    return clean_environment(
        DJANGO_SETTINGS_MODULE="tracker.settings",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(60),
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{HOST}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        DJANGO_LOG_LEVEL="WARNING",
    )


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    """Run ``python args...`` in the project directory and return the finished process."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def probe(env: dict) -> dict:
    """Return what PROBE saw with the settings of ``env``."""
    finished = run(["-c", PROBE], env)
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_check_deploy_reports_nothing_with_production_variables(production_env):
    """`manage.py check --deploy --fail-level WARNING` exits 0 with no warning."""
    finished = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNINGS" not in output


@pytest.mark.slow
def test_check_deploy_fails_on_a_weak_secret_key(production_env):
    """A short secret key is a deployment warning, and the check fails on it."""
    production_env["DJANGO_SECRET_KEY"] = "too-short"
    finished = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    assert finished.returncode != 0
    assert "security.W009" in finished.stdout + finished.stderr


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off(production_env):
    """Debug off and no secret key: the settings refuse to load."""
    del production_env["DJANGO_SECRET_KEY"]
    finished = run(["manage.py", "check"], production_env)
    assert finished.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in finished.stderr


@pytest.mark.slow
def test_production_responses_carry_the_security_headers(production_env):
    """CSP, HSTS with subdomains and preload, nosniff, DENY framing, same-origin referrer."""
    seen = probe(production_env)
    login = seen["login"]
    assert login["status"] == 200
    headers = login["headers"]
    csp = headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert headers["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    csrf_cookie = login["cookies"]["csrftoken"]
    assert csrf_cookie["secure"] is True
    assert csrf_cookie["samesite"] == "Lax"


@pytest.mark.slow
def test_production_redirects_plain_http_and_hides_debug_pages(production_env):
    """Plain http is sent to https; an unknown page is the plain 404 page, no debug detail."""
    seen = probe(production_env)
    redirect = seen["plain_http"]
    assert redirect["status"] == 301
    assert redirect["headers"]["Location"] == f"https://{HOST}/admin/login/"

    missing = seen["missing"]
    assert missing["status"] == 404
    assert "<h1>Not found</h1>" in missing["body"]
    for leak in ("URLconf", "tracker.urls", "DEBUG = True", "Traceback", "api/v1/"):
        assert leak not in missing["body"]
    assert seen["health"]["status"] == 200


@pytest.mark.slow
def test_development_serves_plain_http_on_localhost():
    """DJANGO_DEBUG=1 (what `make run` uses) needs no secret, redirects nothing, sends no HSTS."""
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="tracker.settings",
        DJANGO_DEBUG="1",
        DATABASE_URL="sqlite:////tmp/harden-dev-probe.sqlite3",
        DJANGO_ALLOWED_HOSTS=HOST,
        DJANGO_LOG_LEVEL="WARNING",
    )
    seen = probe(env)
    plain = seen["plain_http"]
    assert plain["status"] == 200
    assert "Strict-Transport-Security" not in plain["headers"]
    assert plain["cookies"]["csrftoken"]["secure"] == ""
    # The policy holds in development too, so a page that breaks under it shows at once.
    assert "Content-Security-Policy" in plain["headers"]


def boom(request):
    """Fail, as a bug in a view would."""
    raise RuntimeError("secret detail: connection string postgres://user:pw@db/tracker")


urlpatterns = [path("boom/", boom)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_server_error_page_leaks_nothing(client):
    """A failing view answers 500 with the plain page: no traceback, no exception text."""
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "<h1>Server error</h1>" in body
    assert "secret detail" not in body and "Traceback" not in body and "RuntimeError" not in body


@pytest.mark.django_db
def test_test_settings_send_the_same_headers_over_https(client):
    """The headers come from the settings every environment shares, tests included."""
    response = client.get("/admin/login/", secure=True)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
def test_api_404_is_json_and_page_404_is_html(client):
    """An unknown address under /api/ answers a problem; elsewhere the plain HTML page."""
    api = client.get("/api/v1/no-such-resource/")
    assert api.status_code == 404
    assert api["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "not_found"
    page = client.get("/no/such/page/")
    assert page.status_code == 404
    assert page["Content-Type"].startswith("text/html")
    assert "<h1>Not found</h1>" in page.content.decode()
