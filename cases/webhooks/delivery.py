"""One delivery: the event as the feed serves it to the account, signed, posted once.

The body is built by the feed's own code (:mod:`cases.api.feed`): the page query
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
    """Return ``queryset`` as the feed's page rows (see ``cases.api.feed.event_documents``)."""
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


class _Connection(http.client.HTTPConnection):
    """Plain http to the address that was checked, not to a second resolution of the name."""

    def __init__(self, target: safety.Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _TLSConnection(http.client.HTTPSConnection):
    """https to the checked address, the certificate verified against the URL's host name."""

    def __init__(self, target: safety.Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _abort(connection: http.client.HTTPConnection) -> None:
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def post(url: str, *, headers: dict[str, str], body: bytes) -> Result:
    """Post ``body`` to ``url`` once: checked target, timeouts, no redirect, capped answer.

    The host is resolved and checked (:func:`cases.webhooks.safety.resolve`) on every call.
    The connection gets ``WEBHOOK_CONNECT_TIMEOUT``; the whole exchange is cut at
    ``WEBHOOK_TOTAL_TIMEOUT``. At most ``WEBHOOK_MAX_RESPONSE_BYTES`` of the answer are read
    and none of it is kept. A redirect is a failure, never followed.
    """
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = safety.resolve(url)
    except safety.TargetRefused as exc:
        return Result(None, elapsed(), str(exc)[:300], refused=True)
    connection_class = _TLSConnection if target.scheme == "https" else _Connection
    connection = connection_class(target, settings.WEBHOOK_CONNECT_TIMEOUT)
    total = settings.WEBHOOK_TOTAL_TIMEOUT
    watchdog = threading.Timer(total, _abort, args=(connection,))
    watchdog.daemon = True
    try:
        connection.connect()
        remaining = max(0.001, total - (time.monotonic() - started))
        connection.sock.settimeout(remaining)
        watchdog.start()
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                **headers,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Connection": "close",
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
    except TimeoutError:
        return Result(None, elapsed(), "Timed out.")
    except (OSError, http.client.HTTPException, ssl.SSLError) as exc:
        if time.monotonic() - started >= total:
            return Result(None, elapsed(), f"Timed out after {total:g} s.")
        return Result(None, elapsed(), f"{type(exc).__name__}: {exc}"[:300])
    finally:
        watchdog.cancel()
        connection.close()
    if 300 <= status < 400:
        return Result(status, elapsed(), "Redirect not followed.")
    if not 200 <= status < 300:
        return Result(status, elapsed(), f"The receiver answered {status}.")
    return Result(status, elapsed())


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
