"""Load-test the production server on loopback: 50 clients mixing reads and writes.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/load_bench.py [--seconds 60] [--clients 50] [--port 8765]

Starts ``make serve`` (gunicorn with WhiteNoise, production settings) bound to 127.0.0.1 on
a port of its own, waits for ``/healthz``, then runs ``wrk`` (the Debian package) with
``bench/load_mix.lua`` for a fixed time: about nine reads (case lists with filters, a case,
the change feed, a static file) to one write (recording an intention through the API). It
reports requests per second, latency and every error (socket errors, timeouts and non-2xx
answers), then stops the server it started. Traffic goes to 127.0.0.1 only and the run is
bounded by ``--seconds``.

The API's per-token rate limits are raised for the server it starts (one token drives all
clients here), and the HTTPS redirect is off (no proxy in front on loopback).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import _common  # noqa: F401  (sets up Django)
from _common import ROOT, print_table
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from cases.models import Case  # noqa: E402
from cases.tokens import ApiToken  # noqa: E402

LUA = Path(__file__).with_name("load_mix.lua")


def wait_healthy(port: int, timeout_s: float, server: subprocess.Popen) -> None:
    """Wait until the server answers /healthz with 200, or exit."""
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if server.poll() is not None:
            sys.exit(f"The server exited with {server.returncode} before it was healthy.")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    sys.exit("The server did not become healthy in time.")


def server_environment(port: int) -> dict[str, str]:
    """Return the environment of the production server the test starts."""
    env = dict(os.environ)
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
        }
    )
    return env


def parse_wrk(output: str) -> dict[str, float]:
    """Return requests/s, total requests, errors and latency figures from wrk's summary."""
    figures: dict[str, float] = {"errors": 0, "non_2xx": 0}
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        figures["rps"] = float(match.group(1))
    if match := re.search(r"(\d+) requests in ([\d.]+)(m?s)", output):
        figures["requests"] = int(match.group(1))
    if match := re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    ):
        figures["errors"] += sum(int(g) for g in match.groups())
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        figures["non_2xx"] = int(match.group(1))
    for name in ("50", "90", "99"):
        if match := re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)", output, re.M):
            value, unit = float(match.group(1)), match.group(2)
            figures[f"p{name}"] = value * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    if match := re.search(r"^LOADMIX (.*)$", output, re.M):
        figures.update(json.loads(match.group(1)))
    return figures


def main() -> int:
    """Start the server, run wrk against it, stop the server and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY")
    args = parser.parse_args()
    _common.require_postgresql()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk")
        return 1

    user, _ = get_user_model().objects.get_or_create(
        username="perf-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    _token, key = ApiToken.issue(user=user, name=f"load test {secrets.token_hex(4)}")
    uuids = [str(u) for u in Case.objects.order_by("-pk").values_list("uuid", flat=True)[:200]]
    if not uuids:
        print("No cases: seed the database first (manage.py seed_demo).")
        return 1
    static = f"{settings.STATIC_URL.rstrip('/')}/admin/css/base.css"
    if not static.startswith("/"):
        static = "/" + static

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
    try:
        wait_healthy(args.port, 120, server)
        wrk_env = dict(os.environ)
        wrk_env.update({"LOAD_TOKEN": key, "LOAD_CASES": ",".join(uuids), "LOAD_STATIC": static})
        threads = min(args.clients, max(1, os.cpu_count() or 1))
        started = time.perf_counter()
        run = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{args.clients}",
                f"-d{args.seconds}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                str(LUA),
                f"http://127.0.0.1:{args.port}",
            ],
            env=wrk_env,
            capture_output=True,
            text=True,
            timeout=args.seconds + 60,
        )
        elapsed = time.perf_counter() - started
    finally:
        # Stop the whole process group the test started (make, gunicorn and its workers).
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
    if run.returncode != 0:
        print(run.stdout, run.stderr)
        return 1
    figures = parse_wrk(run.stdout)
    workers = env.get("WEB_CONCURRENCY", f"{(os.cpu_count() or 1) * 2 + 1} (default)")
    print(f"server: gunicorn, {workers} workers, 127.0.0.1:{args.port}; log {log.name}")
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
                int(figures["non_2xx"]),
                int(figures.get("writes", 0)),
            ]
        ],
    )
    if figures.get("statuses"):
        print(f"statuses seen: {figures['statuses']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
