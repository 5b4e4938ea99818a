"""Measure the change feed read from a hot standby against the primary, and the standby's lag.

Usage::

    .venv/bin/python bench/replica_bench.py --events 100000 --limit 1000 --cases 300

It builds a throwaway primary and a streaming standby on free ports in a temporary folder
(tests/support/replication.py: ``initdb``, ``pg_basebackup -R``; both removed at the end),
migrates the primary, then:

1. runs ``bench/feed_bench.py`` against the primary alone (it tops the feed up to
   ``--events`` events), then again with ``DATABASE_REPLICA_URL`` naming the standby, so the
   feed reads from there: sync rate, empty polls, and the CPU per event of the PostgreSQL
   backend that served the feed;
2. writes through the services on the primary (``manage.py seed_demo --cases N --batch B``,
   B cases a transaction) while sampling the standby's lag every 50 ms (the ``Replica-Lag``
   header's measure, and the WAL received but not yet replayed), and prints its
   distribution. The measure is the age of the last commit the standby replayed whenever
   WAL waits to be replayed: a bound that a long transaction stretches (``--batch 300``
   shows it), since no commit arrives while it writes.
3. runs ``bench/api_bench.py`` (the API's case lists and their floor, ``--api-runs`` runs
   each) against the primary, then with ``DATABASE_REPLICA_URL``, which serves the API's
   reads of case data (it prints which served them: a read from a replica carries
   ``Replica-Lag``).

Both servers run on this machine, so they share its cores: the numbers say what a replica
costs and how far behind it runs, not how much a second machine would add.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support import replication  # noqa: E402

# The standby's lag as the feed reports it, and the WAL it has yet to replay (bytes).
# (cases/feed/cursor.py, REPLICA_STATUS_SQL, without importing Django here.)
LAG_SQL = """
    SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn()
                THEN 0
                ELSE greatest(0, extract(epoch FROM
                         clock_timestamp() - pg_last_xact_replay_timestamp()))
           END::float8,
           pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
"""


def run(command: list[str], env: dict[str, str]) -> str:
    """Run ``command`` from the checkout; return its output, or exit with its error."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def wait_for_replay(standby_url: str, timeout: float = 120) -> None:
    """Wait until the standby has replayed all the WAL it received."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(standby_url, autocommit=True) as conn:
        while conn.execute(LAG_SQL).fetchone()[1] and time.monotonic() < deadline:
            time.sleep(0.1)


def sample_lag(standby_url: str, stop: threading.Event, samples: list) -> None:
    """Append (seconds, bytes) of the standby's lag every 50 ms until ``stop`` is set."""
    with psycopg.connect(standby_url, autocommit=True) as conn:
        while not stop.is_set():
            samples.append(conn.execute(LAG_SQL).fetchone())
            time.sleep(0.05)


def quantile(values: list[float], q: float) -> float:
    """Return the ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Build the pair, run both measurements, print the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="feed size for the sync")
    parser.add_argument("--limit", type=int, default=1000, help="events per page")
    parser.add_argument("--polls", type=int, default=200, help="empty polls timed")
    parser.add_argument("--cases", type=int, default=300, help="cases seed_demo writes")
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="cases per transaction (1: short transactions, as the services write)",
    )
    parser.add_argument("--api-runs", type=int, default=10, help="runs per API case list")
    args = parser.parse_args()
    reason = replication.missing_reason()
    if reason:
        sys.exit(reason)

    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_"))}
    base |= {
        "DJANGO_SETTINGS_MODULE": "tracker.settings_test",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_REQUEST_LOG": "0",
        "DJANGO_REQUIRE_2FA_FOR_STAFF": "0",
    }
    python = sys.executable
    with replication.primary_and_standby() as pair:
        with psycopg.connect(pair.primary_url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE tracker_bench")
        primary = base | {"DATABASE_URL": pair.primary_url("tracker_bench")}
        with_replica = primary | {"DATABASE_REPLICA_URL": pair.standby_url("tracker_bench")}
        run([python, "manage.py", "migrate", "--no-input", "-v0"], primary)

        # Fill the feed, then vacuum it: the first read of fresh rows sets their hint bits,
        # which would make whichever server is read first look slower.
        run(
            [python, "bench/feed_bench.py", "--events", str(args.events), "--max-events", "1"]
            + ["--polls", "2"],
            primary,
        )
        with psycopg.connect(pair.primary_url("tracker_bench"), autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE) cases_timelineevent")
        wait_for_replay(pair.standby_url("tracker_bench"))
        feed = ["bench/feed_bench.py", "--limit", str(args.limit), "--polls", str(args.polls)]
        print(f"## feed from the primary ({args.events:,} events)", flush=True)
        print(run([python, *feed, "--events", "0"], primary), flush=True)
        print("## feed from the standby", flush=True)
        print(run([python, *feed, "--events", "0"], with_replica), flush=True)

        wait_for_replay(pair.standby_url("tracker_bench"))
        samples: list[tuple[float, int]] = []
        stop = threading.Event()
        sampler = threading.Thread(
            target=sample_lag, args=(pair.standby_url("tracker_bench"), stop, samples)
        )
        sampler.start()
        started = time.perf_counter()
        seed = ["manage.py", "seed_demo", "--cases", str(args.cases), "--seed", "7"]
        run([python, *seed, "--batch", str(args.batch)], primary)
        seconds = time.perf_counter() - started
        stop.set()
        sampler.join()
        with psycopg.connect(pair.primary_url("tracker_bench"), autocommit=True) as conn:
            written = conn.execute(
                "SELECT count(*) FROM cases_timelineevent WHERE kind <> 'source.created'"
            ).fetchone()[0]

        # 3. The API's case lists, read from the primary, then from the standby.
        wait_for_replay(pair.standby_url("tracker_bench"))
        api = ["bench/api_bench.py", "--runs", str(args.api_runs)]
        api_primary = run([python, *api], primary)
        api_standby = run([python, *api], with_replica)

    lags = [row[0] for row in samples if row[0] is not None]
    backlog = [row[1] for row in samples if row[1] is not None]
    print(
        f"## standby lag while seed_demo --cases {args.cases} --batch {args.batch} writes "
        "on the primary (sampled from before it starts to after it ends)"
    )
    print(f"writes: {written:,} events in {seconds:.1f} s ({written / seconds:,.0f} events/s)")
    print(
        f"lag seconds ({len(lags)} samples every 50 ms): median {statistics.median(lags):.3f}, "
        f"p95 {quantile(lags, 0.95):.3f}, max {max(lags):.3f}"
    )
    print(
        f"WAL not yet replayed: median {statistics.median(backlog):,.0f} bytes, "
        f"p95 {quantile(backlog, 0.95):,.0f}, max {max(backlog):,.0f}"
    )
    print(f"## API case lists from the primary ({args.api_runs} runs)")
    print(api_primary)
    print("## API case lists from the standby")
    print(api_standby)


if __name__ == "__main__":
    main()
