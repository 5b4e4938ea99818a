"""Webhook deliveries: deliveries per second and commit-to-receipt latency.

Starts a threaded receiver on 127.0.0.1 and ``--workers`` ``manage.py deliver_webhooks``
processes against DATABASE_URL, then, for 1 and for 10 subscriptions, commits ``--events``
notes (one per transaction) and waits until every subscription received every event.
Prints, per round: deliveries per second and, while the notes are committed live, the p50 /
p95 latency from an event's commit to its receipt; then, for a backlog of as many notes
committed while the subscriptions were paused, deliveries per second from their resume to
the last receipt (what the workers can deliver, not bounded by the writer).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench \
      .venv/bin/python bench/webhooks_bench.py --events 300 --workers 2
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings_test")
os.environ["DJANGO_WEBHOOK_ALLOW_HOSTS"] = "127.0.0.1"
os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from cases import services  # noqa: E402
from cases.security import access  # noqa: E402
from cases.services import Actor  # noqa: E402
from cases.webhooks import services as hooks  # noqa: E402
from cases.webhooks.models import WebhookSubscription  # noqa: E402

RECEIVED: dict[tuple[str, str], float] = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    """Record when each (subscription path, webhook-id) first arrived; answer 204.

    HTTP/1.1, so connections are kept alive as by any production web server.
    """

    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 - the http.server name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        key = (self.path, self.headers["webhook-id"])
        with LOCK:
            RECEIVED.setdefault(key, time.time())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run_round(args, account, actor, case, port: int, count: int, mode: str) -> bool:
    """Deliver ``args.events`` notes to ``count`` subscriptions; print the numbers.

    ``live``: the subscriptions follow the feed while the notes are committed; the rate is
    from the first commit to the last receipt, so it is bounded by how fast one writer
    commits. ``backlog``: the notes are committed while the subscriptions are paused, then
    all are resumed at once; the rate is from the resume to the last receipt, what the
    workers can deliver.
    """
    from cases.models import TimelineEvent

    subscriptions = [
        hooks.webhook_subscription_create(
            created_by=account,
            name=f"bench {mode} {count}/{i}",
            target_url=f"http://127.0.0.1:{port}/{mode}{count}-{i}",
            account=account,
            event_kinds=["note.added"],
        )[0]
        for i in range(count)
    ]
    paths = [f"/{mode}{count}-{i}" for i in range(count)]
    pks = [s.pk for s in subscriptions]
    if mode == "backlog":
        WebhookSubscription.objects.filter(pk__in=pks).update(active=False)
    committed: dict[str, float] = {}
    for n in range(args.events):
        note = services.note_add(actor=actor, case=case, body=f"bench {mode} {count} {n}")
        committed[str(note.uuid)] = time.time()
    started = min(committed.values())
    if mode == "backlog":
        started = time.time()
        WebhookSubscription.objects.filter(pk__in=pks).update(active=True)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("NOTIFY tracker_events")  # wake the workers as a commit would
    # The note's event uuid is the webhook-id: map notes to their events.
    events = dict(
        TimelineEvent.objects.filter(
            kind="note.added", subject_uuid__in=list(committed)
        ).values_list("subject_uuid", "uuid")
    )
    wanted = {(path, str(events[note_uuid])) for path in paths for note_uuid in events}
    commit_of = {str(events[note_uuid]): committed[str(note_uuid)] for note_uuid in events}
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        with LOCK:
            done = wanted <= RECEIVED.keys()
        if done:
            break
        time.sleep(0.05)
    with LOCK:
        got = {key: RECEIVED[key] for key in wanted if key in RECEIVED}
    ok = len(got) == len(wanted)
    if not ok:
        print(f"{count} subscription(s), {mode}: only {len(got)} of {len(wanted)} arrived")
    if got:
        last = max(got.values())
        line = (
            f"{count:>2} subscription(s), {args.workers} worker(s), {mode:<7}: {len(got)} "
            f"deliveries in {last - started:.2f} s = {len(got) / (last - started):.0f}/s"
        )
        if mode == "live":
            latencies = [at - commit_of[event] for (_path, event), at in got.items()]
            writes = max(commit_of.values()) - min(commit_of.values())
            line += (
                f" (notes committed in {writes:.2f} s); commit to receipt "
                f"p50 {statistics.median(latencies) * 1000:.0f} ms, "
                f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms"
            )
        print(line, flush=True)
    WebhookSubscription.objects.filter(pk__in=pks).update(
        active=False, paused_reason="bench round over"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument(
        "--threads", type=int, default=None, help="per worker (default: DJANGO_WEBHOOK_THREADS)"
    )
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    access.ensure_roles()
    account, _ = get_user_model().objects.get_or_create(username="webhook-bench")
    account.groups.add(Group.objects.get(name="integration"))
    WebhookSubscription.objects.filter(active=True).update(active=False, paused_reason="bench")
    actor = Actor.system("webhooks bench")
    from cases.models import Case, Party

    party = Party.objects.filter(name="Bench party").first() or services.party_create(
        actor=actor, name="Bench party", kind="state", country="UA"
    )
    case = Case.objects.filter(reference="UA-2099-0001").first()
    if case is None:
        person = services.person_create(actor=actor, working_name="Bench", names=[])
        case = services.case_open(
            actor=actor, reference="UA-2099-0001", person=person, detaining_party=party
        )

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = {**os.environ, "DJANGO_WEBHOOK_POLL_SECONDS": "1"}
    if args.threads is not None:
        env["DJANGO_WEBHOOK_THREADS"] = str(args.threads)
    workers = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "deliver_webhooks", "--name", f"bench{i}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(args.workers)
    ]
    status = 0
    try:
        for worker in workers:
            # Started once it says so: on a busy machine, importing Django alone takes seconds,
            # which would count as latency of the first events.
            worker.stdout.readline()
        time.sleep(0.5)
        for count in (1, 10):
            for mode in ("live", "backlog"):
                ok = run_round(args, account, actor, case, port, count, mode)
                status = status or (0 if ok else 1)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        server.shutdown()
    return status


if __name__ == "__main__":
    sys.exit(main())
