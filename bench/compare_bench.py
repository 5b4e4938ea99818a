"""Time the API side by side with its peer and its floor, over HTTP, through one gunicorn.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/compare_bench.py [--rounds 30] [--writer] [--poll-seconds 5]

Starts gunicorn as ``make serve`` runs it (``gunicorn.conf.py``, production settings from
the environment, ``WEB_CONCURRENCY`` 2 workers) on a free port of 127.0.0.1, with the
benchmark's URL conf (``bench/settings_bench.py``), which adds beside the tracker's API:

- the **peer** under ``/api/peer/v1/`` (``bench/peer/``): DRF ``ModelViewSet`` +
  ``ModelSerializer`` + django-filter + page numbers, ``select_related`` and
  ``prefetch_related`` done properly, the same keys;
- the **floor** under ``/api/floor/v1/`` (``bench/floor.py``): one SQL query for the token,
  the page's SQL through psycopg, ``json.dumps``.

All three are called with one API token of a user in the ``integration`` role. For each
endpoint (the case list, filters with a common and a rare value, a name search with a common
and a rare name, a case, a feed page of 1,000 events, an empty feed poll and a poll answered
304) it makes ``--warmup`` untimed rounds, then ``--rounds`` rounds of one request to each
in turn (tracker, peer, floor), each over a client connection of its own (gunicorn's sync
workers close it after every answer, the same for the three). It prints the median
milliseconds of each, the median of the per-round ratios tracker/floor and tracker/peer,
and the verdict against the targets (reported, never asserted): every endpoint at most
0.8x the peer; lists, filters and a case at most 2x the floor; empty polls and 304s at most
2x the floor. The polls behave as a client's: each passes the cursor (and the ETag) of its
previous answer.

Then ``wrk`` (2 threads, 8 connections, ``--poll-seconds`` each) measures empty polls and
304s per second against the tracker, the peer and the floor (target: at least 400/s with two
workers); the writer, if any, is stopped first, so the polls are empty.

``--writer`` starts ``bench/background_writer.py`` for the timed rounds: a case note
committed through the services every 10 ms (each changes case data and appends a feed
event), and reports how many it committed. The exit status is non-zero when the benchmark
itself breaks (the server does not start, an answer has an unexpected status); a missed
target never fails it.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import _common  # noqa: F401  (sets up Django)
from _common import ROOT, database_label, print_table
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.db import connection  # noqa: E402
from load_bench import free_port, server_environment, wait_healthy  # noqa: E402

from cases.feed import cursor as feed_cursor  # noqa: E402
from cases.security import access  # noqa: E402
from cases.security.tokens import ApiToken  # noqa: E402

HERE = Path(__file__).resolve().parent
PREFIXES = {"ours": "/api/v1/", "peer": "/api/peer/v1/", "floor": "/api/floor/v1/"}
IMPLEMENTATIONS = tuple(PREFIXES)
#: Targets: the largest ratio to the peer and to the floor (None: no floor target).
PEER_TARGET = 0.8
FLOOR_TARGET = 2.0
POLLS_TARGET = 400


def integration_key() -> str:
    """Return a new read-only API token's key for a benchmark user in the integration role."""
    user, _ = get_user_model().objects.get_or_create(username="compare-bench-integration")
    access.ensure_roles()
    user.groups.set([Group.objects.get(name="integration")])
    ApiToken.objects.filter(user=user, name="compare_bench").delete()
    _token, key = ApiToken.issue(user=user, name="compare_bench", read_only=True)
    return key


def _value(sql: str, default=None):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else default


def head_cursors() -> dict[str, str]:
    """Return each feed's cursor at its head: the next poll of each finds nothing new."""
    state = feed_cursor.read_state()
    ours = feed_cursor.encode_cursor(state, state.head)
    newest = _value("SELECT max(id) FROM cases_timelineevent", 0)
    peer = base64.urlsafe_b64encode(str(newest).encode()).decode()
    head = state.head
    floor = base64.urlsafe_b64encode(f"{head.xact_id}:{head.event_id}".encode()).decode()
    return {"ours": ours, "peer": peer, "floor": floor}


@dataclass
class Endpoint:
    """One thing timed on the three: a path under each prefix and how a poll carries on."""

    label: str
    kind: str  # list, detail, feed, poll, conditional
    path: str
    params: dict = field(default_factory=dict)
    #: Per implementation: the cursor and ETag a poll passes on (updated from each answer).
    cursors: dict[str, str] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    matches: dict[str, object] = field(default_factory=dict)

    def target(self, who: str) -> str:
        """Return the path and query of the next request to ``who``."""
        params = dict(self.params)
        if self.kind in {"poll", "conditional"}:
            params["after"] = self.cursors[who]
        query = f"?{urlencode(params)}" if params else ""
        return f"{PREFIXES[who]}{self.path}{query}"

    def headers(self, who: str) -> dict[str, str]:
        """Return the request's own headers (If-None-Match for a conditional poll)."""
        if self.kind == "conditional" and who in self.etags:
            return {"If-None-Match": self.etags[who]}
        return {}

    def took(self, who: str, status: int, body: bytes, etag: str | None) -> None:
        """Note an answer: its status, and for polls the cursor and ETag to pass on."""
        counts = self.statuses.setdefault(who, {})
        counts[status] = counts.get(status, 0) + 1
        if status == 200 and self.kind in {"poll", "conditional"}:
            page = json.loads(body)
            self.cursors[who] = page["next_cursor"]
            if etag:
                self.etags[who] = etag
        if status == 200 and self.kind == "list" and who not in self.matches:
            self.matches[who] = json.loads(body).get("count", "-")


def _commonest(column: str, table: str = "cases_case c") -> str | None:
    """Return the commonest non-empty value of ``column`` among live cases (or ``table``)."""
    return _value(
        f"SELECT {column} FROM {table} WHERE c.archived_at IS NULL AND {column} IS NOT NULL "
        f"AND {column}::text <> '' GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )


def other_filters() -> list[Endpoint]:
    """Return the case list's other documented filters, each with its commonest value."""
    requests = "cases_request r JOIN cases_case c ON c.id = r.case_id"
    values = {
        "legal_status": _commonest("c.legal_status"),
        "detaining_party": _commonest(
            "p.uuid", "cases_case c JOIN cases_party p ON p.id = c.detaining_party_id"
        ),
        "current_intention": _commonest("c.current_intention_option"),
        "destination_country": _commonest("c.current_intention_destination"),
        "request_kind": _commonest("r.kind", requests),
        "request_status": _commonest("r.status", requests),
    }
    items = [
        Endpoint(
            f"{name} (commonest)" if name == "detaining_party" else f"{name}={value}",
            "list",
            "cases/",
            {name: str(value)},
        )
        for name, value in values.items()
        if value is not None
    ]
    items += [
        Endpoint("intention_verified=true", "list", "cases/", {"intention_verified": "true"}),
        Endpoint(
            "captured in 2023",
            "list",
            "cases/",
            {"captured_after": "2023-01-01", "captured_before": "2023-12-31"},
        ),
        Endpoint("updated_after", "list", "cases/", {"updated_after": "2000-01-01T00:00:00Z"}),
        Endpoint("ordering=-updated_at", "list", "cases/", {"ordering": "-updated_at"}),
    ]
    return items


def endpoints(cursors: dict[str, str]) -> list[Endpoint]:
    """Return the endpoints to time, with filter values taken from the data."""
    status = _value(
        "SELECT status FROM cases_case GROUP BY 1 ORDER BY count(*) DESC LIMIT 1", "interned"
    )
    common_code = _value(
        "SELECT code FROM cases_person, unnest(string_to_array(nationalities, ',')) AS code "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        "RU",
    )
    common_name = _value(
        "SELECT working_name FROM cases_person GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1", "Ri"
    )
    rare_name = _value(
        "SELECT working_name FROM cases_person WHERE working_name ~ '^[A-Za-z ]+$' "
        "GROUP BY 1 HAVING count(*) = 1 ORDER BY 1 LIMIT 1",
        "Baek",
    )
    case_uuid = _value(
        "SELECT c.uuid FROM cases_case c WHERE c.archived_at IS NULL ORDER BY "
        "(SELECT count(*) FROM cases_statedintention i WHERE i.case_id = c.id) + "
        "(SELECT count(*) FROM cases_request r WHERE r.case_id = c.id) DESC, c.id LIMIT 1"
    )
    items = [
        Endpoint("case list, page 1", "list", "cases/"),
        Endpoint(f"status={status}", "list", "cases/", {"status": status}),
        Endpoint(
            f"nationality={common_code} (common)", "list", "cases/", {"nationality": common_code}
        ),
        Endpoint("nationality=KP (rare)", "list", "cases/", {"nationality": "KP"}),
        Endpoint(f"q={common_name} (common)", "list", "cases/", {"q": common_name}),
        Endpoint(f"q={rare_name} (rare)", "list", "cases/", {"q": rare_name}),
    ]
    items += other_filters()
    if case_uuid:
        items.append(Endpoint("case detail", "detail", f"cases/{case_uuid}/"))
    items += [
        Endpoint("feed page of 1,000", "feed", "events/", {"limit": 1000}),
        Endpoint("empty feed poll", "poll", "events/", cursors=dict(cursors)),
        Endpoint("poll answered 304", "conditional", "events/", cursors=dict(cursors)),
    ]
    return items


class Client:
    """One keep-alive HTTP/1.1 connection per implementation (reopened when closed)."""

    def __init__(self, port: int, key: str):
        self.port = port
        self.auth = {"Authorization": f"Token {key}", "Host": "127.0.0.1"}
        self.connections = {
            who: http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for who in IMPLEMENTATIONS
        }

    def get(self, who: str, target: str, headers: dict) -> tuple[int, bytes, str | None, float]:
        """Return the status, body, ETag and milliseconds of one GET."""
        conn = self.connections[who]
        started = time.perf_counter()
        try:
            conn.request("GET", target, headers={**self.auth, **headers})
            response = conn.getresponse()
        except (http.client.HTTPException, ConnectionError):
            conn.close()
            started = time.perf_counter()
            conn.request("GET", target, headers={**self.auth, **headers})
            response = conn.getresponse()
        body = response.read()
        took = (time.perf_counter() - started) * 1000
        if response.getheader("Connection", "").lower() == "close":
            conn.close()
        return response.status, body, response.getheader("ETag"), took


def run_rounds(client: Client, items: list[Endpoint], rounds: int, warmup: int) -> list[str]:
    """Request every endpoint from the three in turn, ``warmup`` + ``rounds`` times.

    A round in which one of the three answers with an unexpected status is not counted for
    that endpoint (the ratios compare the same rounds) and is reported as broken.
    """
    broken = []
    for round_number in range(warmup + rounds):
        for item in items:
            took_ms, failed = {}, False
            for who in IMPLEMENTATIONS:
                target = item.target(who)
                status, body, etag, took = client.get(who, target, item.headers(who))
                allowed = {200, 304} if item.kind == "conditional" else {200}
                if status not in allowed:
                    broken.append(f"{who} {target}: HTTP {status} {body[:300]!r}")
                    print(f"BROKEN: {broken[-1]}", flush=True)
                    failed = True
                    continue
                item.took(who, status, body, etag)
                took_ms[who] = took
            if round_number >= warmup and not failed:
                for who, took in took_ms.items():
                    item.times.setdefault(who, []).append(took)
    return broken


def verdict(item: Endpoint, to_floor: float, to_peer: float) -> str:
    """Return which targets the endpoint meets."""
    parts = [f"peer {'met' if to_peer <= PEER_TARGET else 'missed'}"]
    if item.kind != "feed":
        parts.append(f"floor {'met' if to_floor <= FLOOR_TARGET else 'missed'}")
    return ", ".join(parts)


def report(items: list[Endpoint]) -> None:
    """Print the table: medians, medians of per-round ratios, verdicts."""
    rows = []
    for item in items:
        if not all(item.times.get(who) for who in IMPLEMENTATIONS):
            continue
        ours, peer, floor = (item.times[who] for who in IMPLEMENTATIONS)
        to_floor = statistics.median(o / f for o, f in zip(ours, floor, strict=True))
        to_peer = statistics.median(o / p for o, p in zip(ours, peer, strict=True))
        note = ""
        if item.kind == "conditional":
            seen = [item.statuses.get(who, {}) for who in IMPLEMENTATIONS]
            shares = [f"{counts.get(304, 0)}/{sum(counts.values())}" for counts in seen]
            note = "304s " + " ".join(shares)
        elif item.kind == "list":
            note = f"count {item.matches.get('ours', '-')} / {item.matches.get('peer', '-')}"
        rows.append(
            [
                item.label,
                statistics.median(ours),
                statistics.median(peer),
                statistics.median(floor),
                f"{to_floor:.2f}x",
                f"{to_peer:.2f}x",
                verdict(item, to_floor, to_peer),
                note,
                len(ours),
            ]
        )
    print_table(
        [
            "endpoint",
            "ours ms",
            "peer ms",
            "floor ms",
            "ours/floor",
            "ours/peer",
            "targets",
            "matches ours / peer; 304s ours peer floor",
            "rounds",
        ],
        rows,
    )


def wrk_rate(port: int, target: str, key: str, seconds: int, etag: str | None) -> tuple[float, int]:
    """Return requests/s and the number of answers that were not 2xx or 3xx, from wrk."""
    command = ["wrk", "-t2", "-c8", f"-d{seconds}s", "-H", f"Authorization: Token {key}"]
    if etag:
        command += ["-H", f"If-None-Match: {etag}"]
    run = subprocess.run(
        [*command, f"http://127.0.0.1:{port}{target}"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stdout + run.stderr)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", run.stdout)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
    return (float(rate.group(1)) if rate else 0.0), (int(bad.group(1)) if bad else 0)


def poll_rates(client: Client, port: int, key: str, seconds: int) -> tuple[list[list], list[str]]:
    """Measure empty polls and 304s per second with wrk, for each implementation."""
    cursors = head_cursors()
    rows, broken = [], []
    for who in IMPLEMENTATIONS:
        target = f"{PREFIXES[who]}events/?{urlencode({'after': cursors[who]})}"
        status, body, etag, _took = client.get(who, target, {})
        if status != 200 or json.loads(body)["results"]:
            broken.append(f"{who}: the poll at the head is not empty (HTTP {status})")
            continue
        empty, empty_bad = wrk_rate(port, target, key, seconds, None)
        not_modified, not_modified_bad = wrk_rate(port, target, key, seconds, etag)
        rows.append(
            [
                who,
                empty,
                not_modified,
                empty_bad + not_modified_bad,
                "met" if min(empty, not_modified) >= POLLS_TARGET else "missed",
            ]
        )
    return rows, broken


def start_server(port: int) -> tuple[subprocess.Popen, str]:
    """Start gunicorn as ``make serve`` runs it, with the benchmark's URL conf.

    The database is migrated already (the rate limits' counters table included).
    """
    env = server_environment(port)
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
    env["WEB_CONCURRENCY"] = "2"
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115
        prefix="compare-serve-", suffix=".log", delete=False
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "--config", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    return server, log.name


def stop(process: subprocess.Popen | None) -> None:
    """Stop a process group this script started (SIGTERM, then SIGKILL)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=40)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main() -> int:
    """Start the server (and the writer), time the three, print the tables, stop them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds per endpoint")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument(
        "--writer", action="store_true", help="commit a case note every 10 ms meanwhile"
    )
    parser.add_argument(
        "--poll-seconds", type=int, default=5, help="seconds of wrk per poll rate (0: none)"
    )
    args = parser.parse_args()
    _common.require_postgresql()
    if args.poll_seconds and shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk), or pass --poll-seconds 0")
        return 1
    print(database_label())
    key = integration_key()
    items = endpoints(head_cursors())
    port = free_port()
    server, log_name = start_server(port)
    writer = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("Stopped by SIGTERM."))
    broken: list[str] = []
    try:
        wait_healthy(port, 120, server)
        client = Client(port, key)
        if args.writer:
            writer = subprocess.Popen(
                [sys.executable, "background_writer.py", "--interval-ms", "10"],
                cwd=HERE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            if writer.stdout.readline().strip() != "writer: started":
                broken.append("the background writer did not start")
        load = os.getloadavg()[0]
        started = time.perf_counter()
        broken += run_rounds(client, items, args.rounds, args.warmup)
        elapsed = time.perf_counter() - started
        writes = ""
        if writer is not None:
            stop_writer = writer
            writer = None
            stop_writer.send_signal(signal.SIGTERM)
            writes = stop_writer.communicate(timeout=60)[0].strip()
        cache_url = server_environment(port).get("DJANGO_CACHE_URL", "(unset: db://)")
        print(
            f"server: gunicorn, 2 sync workers, bench.settings_bench, 127.0.0.1:{port}, "
            f"DJANGO_CACHE_URL={cache_url} "
            f"(log {log_name}); {args.rounds} rounds after {args.warmup} warm-up, "
            f"{elapsed:.0f} s; load average {load:.1f} -> {os.getloadavg()[0]:.1f}; "
            f"writer: {writes or 'none'}"
        )
        report(items)
        if args.poll_seconds:
            rows, poll_broken = poll_rates(client, port, key, args.poll_seconds)
            broken += poll_broken
            print()
            print_table(
                [
                    f"wrk, 2 threads, 8 connections, {args.poll_seconds} s",
                    "empty polls/s",
                    "304s/s",
                    "not 2xx/3xx",
                    f">= {POLLS_TARGET}/s",
                ],
                rows,
            )
    finally:
        stop(writer)
        stop(server)
    if broken:
        print("BROKEN: " + "; ".join(broken[:10]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
