"""Load-test the production server on loopback: 50 clients mixing reads and writes.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/load_bench.py [--seconds 60] [--clients 50] [--timeout 30]

Starts ``make serve`` (gunicorn with WhiteNoise, production settings) bound to 127.0.0.1 on
a free port of its own, waits for ``/healthz``, then runs ``wrk`` (the Debian package) with
``bench/load_mix.lua`` for a fixed time: about nine reads (case lists with filters, a case,
the change feed, a static file) to one write (an intention recorded, or a request filed or
moved one status on with ``If-Match``, all through the API). Meanwhile it asks ``/healthz``
once a second. It reports requests per second, latency and every error (socket errors,
timeouts and non-2xx answers), the health checks, and whether the server's JSON request log
holds one line per request; then it stops the server it started. Traffic goes to 127.0.0.1
only and the run is bounded by ``--seconds``.

wrk counts an answer slower than ``--timeout`` as an error. The default, 30 s, is gunicorn's
worker timeout (``GUNICORN_TIMEOUT``): the server itself kills a request that runs longer,
so the client waits exactly as long as the server lets a request run, and the latency
percentiles show how slow the answers were.

The API's per-token rate limits are raised for the server it starts (one token drives all
clients here), and the HTTPS redirect is off (no proxy in front on loopback).

The exit status is non-zero when the test itself is broken: the server does not start, wrk
fails, no write succeeds, /healthz never answers 200, the request log is not one JSON line per
request, or an answer is a 4xx (the script sends only valid requests, with
current versions, so a 400, 412 or 428 is a bug in it). Timeouts and 5xx answers under load
are results, printed, not failures of the script.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import _common  # noqa: F401  (sets up Django)
from _common import ROOT, database_label, percentile, print_table
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from cases.models import Case, Party  # noqa: E402
from cases.security.tokens import ApiToken  # noqa: E402

LUA = Path(__file__).with_name("load_mix.lua")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_health(port: int, timeout_s: float) -> tuple[int, float]:
    """Ask /healthz once; return the HTTP status (0 when unreachable) and the seconds taken."""
    started = time.perf_counter()
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            status = reply.status
    except urllib.error.HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return status, time.perf_counter() - started


def wait_healthy(port: int, timeout_s: float, server: subprocess.Popen) -> tuple[int, int]:
    """Wait until the server answers /healthz with 200.

    Return how many checks got an answer and how many got none (refused or timed out; a
    timed-out one may still be logged). Exit when the server stops or does not become
    healthy in ``timeout_s``.
    """
    give_up = time.monotonic() + timeout_s
    answered = unanswered = 0
    while time.monotonic() < give_up:
        if server.poll() is not None:
            sys.exit(f"The server exited with {server.returncode} before it was healthy.")
        status, _ = get_health(port, 2)
        if status:
            answered += 1
        else:
            unanswered += 1
        if status == 200:
            return answered, unanswered
        time.sleep(0.5)
    sys.exit("The server did not become healthy in time.")


class HealthPoller(threading.Thread):
    """Ask /healthz once a second until stopped; keep each answer's status and duration."""

    def __init__(self, port: int, timeout_s: float):
        super().__init__(daemon=True)
        self.port = port
        self.timeout_s = timeout_s
        self.answers: list[tuple[int, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            self.answers.append(get_health(self.port, self.timeout_s))
            self.stopping.wait(max(0.0, 1.0 - (time.monotonic() - started)))


def server_environment(port: int) -> dict[str, str]:
    """Return the environment of the production server the test starts.

    It starts from the environment as the caller set it (``_common.ENVIRON``): this process
    runs the test settings, which fill ``os.environ`` with their own defaults (a per-process
    cache, credentials kept 300 s, high rate limits) that a server must not inherit as if
    the caller had set them, so the server runs with what ``make serve`` would.
    """
    env = dict(_common.ENVIRON)
    env.pop("DJANGO_SETTINGS_MODULE", None)  # production settings, not the test ones
    env.pop("DJANGO_DEBUG", None)
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    env.update(
        {
            "DATABASE_URL": os.environ["DATABASE_URL"],
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SECURE_COOKIES": "0",
            "DJANGO_API_RATE_READ": "1000000/minute",
            "DJANGO_API_RATE_WRITE": "1000000/minute",
            "DJANGO_CONN_MAX_AGE": env.get("DJANGO_CONN_MAX_AGE", "60"),
            "DJANGO_LOG_LEVEL": "WARNING",
            # The request log is what the test checks; keep it on whatever the caller set.
            "DJANGO_REQUEST_LOG": "1",
            "DJANGO_LOG_FORMAT": "json",
        }
    )
    return env


def parse_wrk(output: str) -> dict:
    """Return requests/s, total requests, errors and latency figures from wrk's summary."""
    figures: dict = {"errors": 0, "timeouts": 0, "non_2xx": 0}
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        figures["rps"] = float(match.group(1))
    if match := re.search(r"(\d+) requests in ([\d.]+)([a-z]+)", output):
        figures["requests"] = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        figures["errors"] += sum(int(g) for g in match.groups())
        figures["timeouts"] = int(match.group(4))
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        figures["non_2xx"] = int(match.group(1))
    for name in ("50", "90", "99"):
        if match := re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s|m)\b", output, re.M):
            value, unit = float(match.group(1)), match.group(2)
            figures[f"p{name}"] = value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]
    if match := re.search(r"^LOADMIX (.*)$", output, re.M):
        figures.update(json.loads(match.group(1)))
    return figures


def read_request_log(path: str, static_prefix: str) -> dict:
    """Count the server log's JSON request lines by kind, the 5xx ones and broken lines."""
    counts = {"healthz": 0, "static": 0, "other": 0, "5xx": 0, "not_json": 0}
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if '"tracker.request"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                counts["not_json"] += 1
                continue
            request_path = record.get("path", "")
            if request_path == "/healthz":
                counts["healthz"] += 1
            elif request_path.startswith(static_prefix):
                counts["static"] += 1
            else:
                counts["other"] += 1
            if int(record.get("status", 0)) >= 500:
                counts["5xx"] += 1
    return counts


def main() -> int:
    """Start the server, run wrk against it, stop the server and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--port", type=int, default=0, help="port for the server (default: a free one)"
    )
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY")
    parser.add_argument(
        "--timeout", type=int, default=30, help="seconds before wrk counts an answer as an error"
    )
    args = parser.parse_args()
    # A port of its own, so that the test never measures some other server on the host.
    args.port = args.port or free_port()
    _common.require_postgresql()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk")
        return 1
    print(database_label())

    user, _ = get_user_model().objects.get_or_create(
        username="perf-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    _token, key = ApiToken.issue(user=user, name=f"load test {secrets.token_hex(4)}")
    # Open cases only: a closed case takes no new statements or requests.
    uuids = [
        str(u)
        for u in Case.objects.filter(closed_at__isnull=True)
        .order_by("-pk")
        .values_list("uuid", flat=True)[:200]
    ]
    party = Party.objects.order_by("pk").values_list("uuid", flat=True).first()
    if not uuids or party is None:
        print("No open cases or parties: seed the database first (manage.py seed_demo).")
        return 1
    static_prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    static = static_prefix + "admin/css/base.css"

    env = server_environment(args.port)
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    # Kept open while the server runs and left on disk for reading after the test.
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115
        prefix="perf-serve-", suffix=".log", delete=False
    )
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    poller = HealthPoller(args.port, args.timeout)
    # Stopped from outside (run_all.py's timeout, CI cancelled): still stop the server below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("Stopped by SIGTERM."))
    try:
        health_asked, health_unanswered = wait_healthy(args.port, 120, server)
        wrk_env = dict(os.environ)
        wrk_env.update(
            {
                "LOAD_TOKEN": key,
                "LOAD_CASES": ",".join(uuids),
                "LOAD_STATIC": static,
                "LOAD_PARTY": str(party),
            }
        )
        threads = min(args.clients, max(1, os.cpu_count() or 1))
        poller.start()
        started = time.perf_counter()
        run = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{args.clients}",
                f"-d{args.seconds}s",
                "--timeout",
                f"{args.timeout}s",
                "--latency",
                "-s",
                str(LUA),
                f"http://127.0.0.1:{args.port}",
            ],
            env=wrk_env,
            capture_output=True,
            text=True,
            timeout=args.seconds + args.timeout + 60,
        )
        elapsed = time.perf_counter() - started
    finally:
        poller.stopping.set()
        if poller.is_alive():
            poller.join(args.timeout + 5)
        # Stop the whole process group the test started (make, gunicorn and its workers).
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=40)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
    Path(f"{log.name}.wrk").write_text(run.stdout + run.stderr, encoding="utf-8")
    if run.returncode != 0:
        print(run.stdout, run.stderr)
        return 1
    figures = parse_wrk(run.stdout)
    workers = env.get("WEB_CONCURRENCY", f"{(os.cpu_count() or 1) * 2 + 1} (default)")
    print(
        f"server: gunicorn, {workers} workers, 127.0.0.1:{args.port}; wrk {threads} threads, "
        f"--timeout {args.timeout}s; server log {log.name}, wrk's output {log.name}.wrk"
    )
    statuses = figures.get("statuses", {})
    intentions_ok = statuses.get("201", 0) - figures.get("filed", 0)
    print_table(
        [
            "load (wrk)",
            "clients",
            "seconds",
            "requests",
            "req/s",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "socket errors",
            "timeouts",
            "non-2xx",
            "writes",
        ],
        [
            [
                "mixed reads and writes",
                args.clients,
                round(elapsed),
                int(figures.get("requests", 0)),
                figures.get("rps", 0.0),
                figures.get("p50", 0.0),
                figures.get("p90", 0.0),
                figures.get("p99", 0.0),
                int(figures["errors"]),
                int(figures["timeouts"]),
                int(figures["non_2xx"]),
                int(figures.get("writes", 0)),
            ]
        ],
    )
    print(
        f"writes: {intentions_ok} intentions recorded, {figures.get('filed', 0)} requests "
        f"filed, {figures.get('moved', 0)} moved on of {figures.get('moves', 0)} sent "
        f"(If-Match); statuses seen: {statuses}"
    )

    health = [duration * 1000 for status, duration in poller.answers if status == 200]
    failed = [status for status, _ in poller.answers if status != 200]
    if health:
        print(
            f"/healthz during the test: {len(poller.answers)} asked, {len(health)} answered 200 "
            f"(median {statistics.median(health):.0f} ms, p95 {percentile(health, 0.95):.0f} "
            f"ms, max {max(health):.0f} ms), failures {failed or 'none'}"
        )
    else:
        print(f"/healthz during the test: no 200 answer of {len(poller.answers)}: {failed}")

    logged = read_request_log(log.name, static_prefix)
    # Static files are logged too (the request log is the outermost middleware), so every
    # answer wrk read has a line: API and static lines together are checked against them.
    expected_other = int(figures.get("requests", 0))
    expected_health = health_asked + sum(1 for status, _ in poller.answers if status)
    health_unanswered += sum(1 for status, _ in poller.answers if not status)
    # wrk counts the answers it read before it stopped; the server also logs the requests
    # still in flight then (at most one per connection), and those wrk gave up on
    # (timeouts, broken connections) may be logged too.
    slack = args.clients + int(figures["errors"])
    logged_other = logged["other"] + logged["static"]
    log_consistent = (
        expected_other <= logged_other <= expected_other + slack
        and expected_health <= logged["healthz"] <= expected_health + health_unanswered
    )
    print(
        f"request log: {logged_other} API and static lines for {expected_other} answers wrk "
        f"read (plus up to {slack} in flight when it stopped or given up); "
        f"{logged['healthz']} /healthz lines for {expected_health} health checks; "
        f"{logged['static']} static-file lines for {figures.get('statics', 0)} asked; "
        f"{logged['5xx']} lines with a 5xx status; {logged['not_json']} lines not JSON: "
        + ("one line per request" if log_consistent else "NOT one line per request")
    )

    broken = []
    client_errors = {code: n for code, n in statuses.items() if code.startswith("4")}
    if client_errors:
        broken.append(f"4xx answers {client_errors}: the script sent a request the API refuses")
    if statuses.get("201", 0) == 0:
        broken.append("no write succeeded: the writes do not work")
    elif figures.get("moved", 0) == 0:
        # Possible in a short run against a slow server (a move waits for its filing).
        print("note: no request was moved on in this run; run longer to measure moves")
    if not health:
        broken.append("/healthz never answered 200 during the test")
    if not log_consistent or logged["not_json"]:
        broken.append("the request log is not one JSON object per request")
    if figures.get("lost"):
        broken.append(f"{figures['lost']} answers to request writes matched no known request")
    if broken:
        print("BROKEN: " + "; ".join(broken))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
