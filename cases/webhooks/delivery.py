"""One delivery: the event as the feed serves it to the account, signed, posted once.

The body is built by the feed's own code (:mod:`cases.feed.documents`): the page query
(``event_documents``), then ``page_results`` for one event, which redacts it for the
subscription's account and logs any sensitive value it shows, as a feed page would. There
is no second encoder: a delivery's body is byte for byte the event in a feed page read by
that account.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.http import QueryDict

from cases.feed.documents import _events, event_documents, page_results
from cases.models import Case, TimelineEvent
from cases.security import access
from cases.webhooks import crypto, safety
from cases.webhooks.models import WebhookSubscription

#: What reading the feed needs; a subscription's account without it receives nothing.
FEED_PERMISSION = "cases.view_timelineevent"
USER_AGENT = "tracker-webhooks/1"


@dataclass
class Reader:
    """Stands in for a request in the feed's code: who reads, and what the access log says."""

    user: object
    path: str
    auth: object = None
    access_channel: str = access.WEBHOOK


def reader_for(subscription: WebhookSubscription, user) -> Reader:
    """Return the reader a delivery of ``subscription`` is made for."""
    return Reader(user=user, path=f"/webhooks/{subscription.uuid}/")


def case_filterset(query: str, *, user):
    """Return the bound ``CaseFilterSet`` of a subscription's case filter (a query string)."""
    from cases.filters import CaseFilterSet

    return CaseFilterSet(
        QueryDict(query), queryset=Case.objects.all(), request=Reader(user=user, path="")
    )


def subscription_events(subscription: WebhookSubscription, user) -> QuerySet[TimelineEvent]:
    """Return the events ``subscription`` sends, as the feed's queryset (not yet ordered)."""
    queryset = _events()
    if subscription.event_kinds:
        queryset = queryset.filter(kind__in=subscription.event_kinds)
    if subscription.subject_types:
        queryset = queryset.filter(subject_type__in=subscription.subject_types)
    if subscription.case_filter:
        filterset = case_filterset(subscription.case_filter, user=user)
        # Validated when the subscription was written; an invalid filter sends nothing.
        cases = filterset.qs if filterset.is_valid() else Case.objects.none()
        queryset = queryset.filter(case__in=cases.values("pk"))
    return queryset


def event_body(reader: Reader, row: dict) -> bytes:
    """Return the JSON of one event row as the feed serves it to ``reader.user``."""
    array = page_results(reader, [row])
    return array[1:-1]


def document_rows(queryset: QuerySet) -> QuerySet:
    """Return ``queryset`` as the feed's page rows (``cases.feed.documents.event_documents``)."""
    return event_documents(queryset)


# --------------------------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """How one post ended: a status, or an error before one came back."""

    status: int | None
    latency_ms: int
    error: str = ""
    refused: bool = False

    @property
    def delivered(self) -> bool:
        """Return whether the receiver accepted the delivery (a 2xx status)."""
        return self.status is not None and 200 <= self.status < 300


def _open(address: str, port: int, timeout: float) -> socket.socket:
    """Return a TCP connection to ``address``, without Nagle's delay.

    A kept-alive connection sends each request's head and body in separate writes; with
    Nagle's algorithm the second waits for the receiver's delayed acknowledgement (40 ms).
    """
    sock = socket.create_connection((address, port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class _Connection(http.client.HTTPConnection):
    """Plain http to the address that was checked, not to a second resolution of the name."""

    def __init__(self, target: safety.Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = _open(self._address, self.port, self.timeout)


class _TLSConnection(http.client.HTTPSConnection):
    """https to the checked address, the certificate verified against the URL's host name."""

    def __init__(self, target: safety.Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = _open(self._address, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _abort(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """A thread that cuts the exchange in progress at its deadline (one per sender).

    Socket timeouts bound each read; this bounds the whole exchange, which a receiver
    dripping its answer would otherwise stretch without end.
    """

    def __init__(self):
        self._condition = threading.Condition()
        self._armed: tuple[float, http.client.HTTPConnection] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, seconds: float, connection: http.client.HTTPConnection) -> None:
        """Cut ``connection`` in ``seconds`` unless disarmed before."""
        with self._condition:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="webhook-watchdog", daemon=True
                )
                self._thread.start()
            self._armed = (time.monotonic() + seconds, connection)
            self._condition.notify()

    def disarm(self) -> None:
        """Let the exchange in progress end on its own."""
        with self._condition:
            self._armed = None

    def close(self) -> None:
        """End the thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while not self._closed:
                if self._armed is None:
                    self._condition.wait()
                    continue
                deadline, connection = self._armed
                left = deadline - time.monotonic()
                if left > 0:
                    self._condition.wait(left)
                    continue
                self._armed = None
                _abort(connection)


#: What a kept-alive connection the receiver has closed meanwhile raises on its next use.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class Sender:
    """Posts of one worker thread: a kept-alive connection per target, DNS read per batch.

    A connection is kept per (scheme, host, port) and used again while the target's checked
    address stays the same; the receiver may close it whenever it likes. Between
    :meth:`new_batch` calls each host name is resolved once, but every post checks its URL
    and every resolved address again (:func:`cases.webhooks.safety.resolve`).
    Not thread-safe: each thread has its own.
    """

    def __init__(self):
        self._connections: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self._resolved: dict = {}
        self._watchdog = _Watchdog()

    def new_batch(self) -> None:
        """Forget the DNS answers: the next post of each host resolves it again."""
        self._resolved = {}

    def close(self) -> None:
        """Close every kept connection."""
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        self._watchdog.close()

    def _connection(self, target: safety.Target) -> tuple[http.client.HTTPConnection, bool]:
        """Return a connection to ``target``'s checked address and whether it was used before."""
        key = (target.scheme, target.host, target.port)
        kept = self._connections.get(key)
        if kept is not None and kept.sock is not None and kept._address == target.address:
            return kept, True
        if kept is not None:
            kept.close()
        connection_class = _TLSConnection if target.scheme == "https" else _Connection
        connection = connection_class(target, settings.WEBHOOK_CONNECT_TIMEOUT)
        self._connections[key] = connection
        return connection, False

    def _drop(self, target: safety.Target) -> None:
        connection = self._connections.pop((target.scheme, target.host, target.port), None)
        if connection is not None:
            connection.close()

    def post(self, url: str, *, headers: dict[str, str], body: bytes) -> Result:
        """Post ``body`` to ``url`` once: checked target, timeouts, no redirect, capped answer.

        The URL and the addresses its host resolves to are checked on every call
        (:func:`cases.webhooks.safety.resolve`). A new connection gets
        ``WEBHOOK_CONNECT_TIMEOUT``; the whole exchange is cut at ``WEBHOOK_TOTAL_TIMEOUT``.
        At most ``WEBHOOK_MAX_RESPONSE_BYTES`` of the answer are read and none of it is
        kept. A redirect is a failure, never followed. A kept connection the receiver closed
        meanwhile is replaced once, as any HTTP client does.
        """
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            target = safety.resolve(url, resolved=self._resolved)
        except safety.TargetRefused as exc:
            return Result(None, elapsed(), str(exc)[:300], refused=True)
        total = settings.WEBHOOK_TOTAL_TIMEOUT
        for _try in range(2):
            connection, reused = self._connection(target)
            keep = False
            try:
                if connection.sock is None:
                    connection.connect()
                remaining = max(0.001, total - (time.monotonic() - started))
                connection.sock.settimeout(remaining)
                self._watchdog.arm(remaining, connection)
                connection.request(
                    "POST",
                    target.path,
                    body=body,
                    headers={
                        **headers,
                        "Content-Type": "application/json",
                        "User-Agent": USER_AGENT,
                    },
                )
                response = connection.getresponse()
                left = settings.WEBHOOK_MAX_RESPONSE_BYTES
                while left > 0:
                    chunk = response.read(min(left, 16384))
                    if not chunk:
                        break
                    left -= len(chunk)
                status = response.status
                # Used again only when the answer was read to its end and the receiver
                # keeps the connection open.
                keep = response.isclosed() and not response.will_close
            except _STALE:
                if time.monotonic() - started >= total:
                    return Result(None, elapsed(), f"Timed out after {total:g} s.")
                if reused:
                    continue
                return Result(None, elapsed(), "The receiver closed the connection.")
            except TimeoutError:
                return Result(None, elapsed(), "Timed out.")
            except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
                if time.monotonic() - started >= total:
                    return Result(None, elapsed(), f"Timed out after {total:g} s.")
                return Result(None, elapsed(), f"{type(exc).__name__}: {exc}"[:300])
            finally:
                self._watchdog.disarm()
                if not keep:
                    self._drop(target)
            break
        if 300 <= status < 400:
            return Result(status, elapsed(), "Redirect not followed.")
        if not 200 <= status < 300:
            return Result(status, elapsed(), f"The receiver answered {status}.")
        return Result(status, elapsed())


def post(url: str, *, headers: dict[str, str], body: bytes) -> Result:
    """Post ``body`` to ``url`` once on a connection of its own (see :meth:`Sender.post`)."""
    sender = Sender()
    try:
        return sender.post(url, headers=headers, body=body)
    finally:
        sender.close()


def signed_headers(secrets_: list[str], *, msg_id: str, body: bytes) -> dict[str, str]:
    """Return the Standard Webhooks headers for ``body`` signed with every secret given."""
    timestamp = int(time.time())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": crypto.signature_header(
            secrets_, msg_id=msg_id, timestamp=timestamp, body=body
        ),
    }


def event_identity(body: bytes) -> tuple[str, str]:
    """Return the event's uuid and kind from its body."""
    data = json.loads(body)
    return data["uuid"], data["kind"]
