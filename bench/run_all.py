"""Run every benchmark against a PostgreSQL database seeded with ``--cases`` demo cases.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/run_all.py --cases 100000

The database is created when missing, migrated, and topped up with ``manage.py seed_demo``
until it holds ``--cases`` cases (an existing larger database is used as it is). Then each
script runs in a process of its own and prints its table: the API case list next to its
floor, the API next to its peer and its floor over HTTP (without and with a background
writer), the change feed, the analysts' pages and the admin, the CSV export's time and memory,
writes, the import of a 5,000-row list, the feed from a streaming standby, and the load test
against the production server. The exit status is non-zero when a script breaks (an
exception, a wrong HTTP status), never because a target is missed: the numbers are for
reading.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def prepare(cases: int, seed: int, env: dict[str, str]) -> None:
    """Create, migrate and seed the database in a child process (Django set up there)."""
    code = f"""
import os, sys
sys.path.insert(0, {str(HERE)!r})
import _common
import psycopg
from django.conf import settings
from django.core.management import call_command
from cases.models import Case
_common.require_postgresql()
db = settings.DATABASES["default"]
with psycopg.connect(host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"] or None,
                     password=db["PASSWORD"] or None, dbname="postgres", autocommit=True) as c:
    if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone() is None:
        c.execute('CREATE DATABASE "' + db["NAME"] + '"')
call_command("migrate", verbosity=0)
have = Case.objects.count()
if have < {cases}:
    call_command("seed_demo", cases={cases} - have, seed={seed}, append=have > 0,
                 progress=max(1000, {cases} // 10))
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
print(_common.database_label())
"""
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)


def run_script(command: list[str], env: dict[str, str], timeout: int | None) -> int | None:
    """Run one benchmark script; return its exit status, or None when it ran out of time.

    A script out of time gets SIGTERM first, so the load test can stop the server it
    started, then SIGKILL.
    """
    script = subprocess.Popen([sys.executable, *command], cwd=HERE, env=env)
    try:
        return script.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        script.terminate()
        try:
            script.wait(timeout=60)
        except subprocess.TimeoutExpired:
            script.kill()
            script.wait()
        return None


def main() -> int:
    """Prepare the database, run each benchmark, and report which ones broke."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000, help="demo cases to seed up to")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=30, help="timed runs per scenario")
    parser.add_argument("--load-seconds", type=int, default=60, help="load test duration")
    parser.add_argument("--clients", type=int, default=50, help="load test connections")
    parser.add_argument(
        "--poll-seconds", type=int, default=5, help="seconds of wrk per poll rate (compare)"
    )
    parser.add_argument(
        "--skip", action="append", default=[], help="skip a script by name (e.g. load)"
    )
    parser.add_argument(
        "--script-timeout",
        type=int,
        default=None,
        help="seconds after which a script counts as broken and is stopped (default: none)",
    )
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print("Set DATABASE_URL to a throwaway PostgreSQL database (postgres://...).")
        return 2

    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")
    # The benchmarks sign in with force_login; the second factor is not what they measure.
    env["DJANGO_REQUIRE_2FA_FOR_STAFF"] = "0"
    env["DJANGO_LOG_LEVEL"] = env.get("DJANGO_LOG_LEVEL", "WARNING")
    # No request log line per timed request (the load test turns it on for its server).
    env.setdefault("DJANGO_REQUEST_LOG", "0")
    started = time.perf_counter()
    prepare(args.cases, args.seed, env)

    runs = str(args.runs)
    scripts = [
        ("api", ["api_bench.py", "--runs", runs]),
        ("feed", ["feed_bench.py", "--events", "0", "--limit", "1000", "--polls", "200"]),
        (
            "compare",
            ["compare_bench.py", "--rounds", runs, "--poll-seconds", str(args.poll_seconds)],
        ),
        (
            "compare-writer",
            ["compare_bench.py", "--rounds", runs, "--writer", "--poll-seconds", "0"],
        ),
        ("pages", ["pages_bench.py", "--runs", runs, "--export-runs", "1"]),
        ("admin", ["admin_bench.py", "--runs", runs]),
        ("export", ["export_bench.py"]),
        ("export-xlsx", ["export_bench.py", "--format", "xlsx", "--no-trace"]),
        ("writes", ["writes_bench.py", "--runs", runs]),
        ("webhooks", ["webhooks_bench.py", "--events", "300", "--workers", "2"]),
        ("duplicates", ["duplicates_bench.py", "--runs", runs]),
        ("imports", ["imports_bench.py", "--rows", "5000"]),
        # Builds its own primary and standby; small, so that it keeps working.
        (
            "replica",
            ["replica_bench.py", "--events", "20000", "--polls", "50", "--cases", "100"]
            + ["--api-runs", "5"],
        ),
        (
            "load",
            [
                "load_bench.py",
                "--seconds",
                str(args.load_seconds),
                "--clients",
                str(args.clients),
            ],
        ),
    ]
    broken = []
    for name, command in scripts:
        if name in args.skip:
            continue
        print(f"\n## {name}: {' '.join(command)}", flush=True)
        returncode = run_script(command, env, args.script_timeout)
        if returncode is None:
            broken.append(f"{name} (stopped after {args.script_timeout} s)")
        elif returncode != 0:
            broken.append(f"{name} (exit {returncode})")
    print(f"\nAll benchmarks took {time.perf_counter() - started:.0f} s.")
    if broken:
        print("Broken: " + ", ".join(broken))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
