"""The worker's costs that must not cost a guarantee: kept-alive connections, DNS per batch.

A receiver speaking HTTP/1.1 on 127.0.0.1 (as production servers do) records which client
connection each delivery came on.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cases import services
from cases.feed import cursor as feed
from cases.webhooks import engine, safety
from cases.webhooks.services import webhook_subscription_create
from tests import factories as f
from tests.support.roles import user_in_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_settings(settings, monkeypatch):
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")


@pytest.fixture
def receiver():
    """Yield ``(url, arrivals)``: arrivals are ``(client port, webhook-id)`` in order."""
    arrivals: list[tuple[int, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - the http.server name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            arrivals.append((self.client_address[1], self.headers["webhook-id"]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", arrivals
    server.shutdown()
    server.server_close()


def test_a_batch_goes_over_one_kept_alive_connection(receiver):
    url, arrivals = receiver
    officer = user_in_role("case officer", "officer")
    webhook_subscription_create(created_by=officer, name="s", target_url=url, account=officer)
    case = f.case()
    for n in range(4):
        services.note_add(actor=f.SYSTEM, case=case, body=f"note {n}")
    worker = engine.Worker("test")
    try:
        sent = worker.run_pass()
    finally:
        worker.close()
    assert sent >= 5 and len(arrivals) == sent
    assert len({port for port, _id in arrivals}) == 1


def test_dns_is_read_once_a_batch_and_every_address_checked_at_every_post(receiver, monkeypatch):
    url, arrivals = receiver
    officer = user_in_role("case officer", "officer")
    webhook_subscription_create(created_by=officer, name="s", target_url=url, account=officer)
    case = f.case()
    for n in range(3):
        services.note_add(actor=f.SYSTEM, case=case, body=f"note {n}")
    lookups, checks = [], []
    real_addresses, real_parse = safety._addresses, safety.parse
    monkeypatch.setattr(safety, "_addresses", lambda *a: lookups.append(a) or real_addresses(*a))
    monkeypatch.setattr(safety, "parse", lambda u: checks.append(u) or real_parse(u))
    worker = engine.Worker("test")
    try:
        sent = worker.run_pass()
    finally:
        worker.close()
    assert sent >= 4 and len(arrivals) == sent
    assert len(lookups) == 1  # one batch, one DNS lookup
    assert len(checks) == sent  # the URL and its addresses checked at every post


def test_a_host_removed_from_the_allow_list_is_refused_within_the_batch(
    receiver, settings, monkeypatch
):
    """The cached DNS answer never skips the check: the next post is refused."""
    url, arrivals = receiver
    officer = user_in_role("case officer", "officer")
    subscription, _secret = webhook_subscription_create(
        created_by=officer, name="s", target_url=url, account=officer
    )
    case = f.case()
    for n in range(3):
        services.note_add(actor=f.SYSTEM, case=case, body=f"note {n}")
    real_post = engine.delivery.Sender.post

    def post_then_forbid(self, *args, **kwargs):
        result = real_post(self, *args, **kwargs)
        settings.WEBHOOK_ALLOW_HOSTS = []  # the operator takes the host off the list
        return result

    monkeypatch.setattr(engine.delivery.Sender, "post", post_then_forbid)
    worker = engine.Worker("test")
    try:
        assert worker.run_pass() == 1
    finally:
        worker.close()
    assert len(arrivals) == 1
    attempt = subscription.attempts.order_by("id").last()
    assert attempt.outcome == "refused" and "127.0.0.1" in attempt.error
