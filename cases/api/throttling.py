"""Request rates for the API: per token for reads and writes, per address without one.

The rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (set from the environment in
tracker/settings.py) and are read on every request rather than once at import, so a changed
setting takes effect at once. A scope without a rate is not throttled.

**Counting.** Each scope counts requests in fixed windows of its period (a minute for
"600/minute"), one counter per scope and credential (cases/api/counters.py): by default a
row of a database table, counted with one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
statement that restarts the row at one when its window has ended; Redis when
``DJANGO_CACHE_URL`` names it. Every server process shares the counters, so a limit holds
across gunicorn's workers, and each increment is atomic (the row's lock; Redis's ``INCR``),
so concurrent requests lose no count. DRF's ``SimpleRateThrottle`` instead reads the list of
recent request times, appends and writes it back: two workers reading at once both write
their own list and one request is lost, so under concurrency its limits leak. A fixed
window can let up to twice the quota through around a window's edge (the end of one and the
start of the next); the ``RateLimit`` header says when the window resets.

**Headers.** Every answer of a request that met a limit carries, as the IETF draft
draft-ietf-httpapi-ratelimit-headers-10 defines them, ``RateLimit-Policy: "read";q=600;w=60``
(quota and window in seconds per policy) and ``RateLimit: "read";r=598;t=42`` (requests left
and seconds until the window resets); a 429 also carries ``Retry-After``.
:class:`tracker.middleware.ApiConventionsMiddleware` writes them, and gives back the read of a
``304 Not Modified``, which does not count against the read limit.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass

from rest_framework.exceptions import Throttled
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from cases.api import counters

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: Seconds of each period a rate may be given in ("N/second", "N/minute", ...).
PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """Return ``(quota, window seconds)`` of a rate such as ``"600/minute"``."""
    number, period = rate.split("/")
    return int(number), PERIODS[period.strip()[0]]


@dataclass
class Meter:
    """Where one request stands against one policy: what the headers report."""

    scope: str
    quota: int
    window: int
    used: int
    reset: int
    key: str
    #: Unix time at which the counted window ends.
    window_end: int

    @property
    def remaining(self) -> int:
        """Return the requests left in the window."""
        return max(0, self.quota - self.used)


def meters_of(request) -> dict[str, Meter]:
    """Return the meters recorded on ``request`` (a Django or DRF request), by scope."""
    request = getattr(request, "_request", request)
    if not hasattr(request, "rate_limits"):
        request.rate_limits = {}
    return request.rate_limits


class ConfiguredRateThrottle(BaseThrottle, ABC):
    """Count requests per scope and credential in fixed windows of the scope's period."""

    scope: str = ""
    cache_format = "ratelimit:%(scope)s:%(ident)s"

    def __init__(self):
        self.meter: Meter | None = None

    def get_rate(self) -> str | None:
        """Return the rate configured for this scope, or None."""
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    @abstractmethod
    def get_cache_key(self, request, view) -> str | None:
        """Return the counter's key for ``request``, or None when it is not counted here."""

    def allow_request(self, request, view) -> bool:
        """Count the request; return False when it is over the scope's quota."""
        rate = self.get_rate()
        key = self.get_cache_key(request, view) if rate else None
        if key is None:
            return True
        quota, window = parse_rate(rate)
        # The window's length is part of the key: a changed rate starts a counter of its own.
        key = f"{key}:{window}s"
        now = time.time()
        counted = counters.add(key, window_end=int(now // window) * window + window, window=window)
        self.meter = Meter(
            scope=self.scope,
            quota=quota,
            window=window,
            used=counted.used,
            reset=max(1, math.ceil(counted.window_end - now)),
            key=key,
            window_end=counted.window_end,
        )
        meters_of(request)[self.scope] = self.meter
        return counted.used <= quota

    def wait(self) -> int | None:
        """Return the whole seconds until the window resets (Retry-After), at least one."""
        return None if self.meter is None else self.meter.reset


def credential_ident(request) -> str | None:
    """Return the throttle key of the request's credential: its token, else its user."""
    token = getattr(request, "auth", None)
    token_pk = getattr(token, "pk", None)
    if token_pk is not None:
        # Each token is limited on its own, so one busy integration cannot starve
        # the same user's other tokens or browser session.
        return f"token-{token_pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user-{user.pk}"
    return None


class AnonThrottle(ConfiguredRateThrottle):
    """Limit callers without credentials by address (scope ``anon``)."""

    scope = "anon"

    def get_cache_key(self, request, view):
        if credential_ident(request) is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedCredentialsThrottle(AnonThrottle):
    """Count a request whose credentials failed by its address, on the ``anon`` counter."""

    def get_cache_key(self, request, view):
        # The request has no user yet (its authentication is failing), so it is not asked.
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def count_failed_credentials(request) -> None:
    """Count a failed authentication as an anonymous call; raise ``Throttled`` over the rate."""
    throttle = FailedCredentialsThrottle()
    if not throttle.allow_request(request, None):
        raise Throttled(wait=throttle.wait())


class ReadThrottle(ConfiguredRateThrottle):
    """Limit reads (GET, HEAD, OPTIONS) per token or user (scope ``read``)."""

    scope = "read"

    def get_cache_key(self, request, view):
        ident = credential_ident(request)
        if ident is None or request.method not in SAFE_METHODS:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteThrottle(ConfiguredRateThrottle):
    """Limit writes (POST, PUT, PATCH, DELETE) per token or user (scope ``write``)."""

    scope = "write"

    def get_cache_key(self, request, view):
        ident = credential_ident(request)
        if ident is None or request.method in SAFE_METHODS:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateLimit(BasePermission):
    """Apply the ``anon`` rate to callers without credentials, before they are refused.

    DRF checks throttles only after permissions, so an anonymous caller of a view that needs
    a login would get 401 for ever without meeting a throttle. Listed first among the
    permission classes, this counts such calls and answers 429 once over the rate.
    """

    def has_permission(self, request, view):
        """Return True, or raise ``Throttled`` when an anonymous caller is over the rate."""
        throttle = AnonThrottle()
        if not throttle.allow_request(request, view):
            raise Throttled(wait=throttle.wait())
        return True


def report_rate_limits(request, response) -> None:
    """Write the ``RateLimit-Policy`` and ``RateLimit`` headers of the limits ``request`` met.

    A ``304 Not Modified`` gives its read back first: a client polling with ``If-None-Match``
    while nothing changes does not use up its read rate.
    """
    meters = getattr(request, "rate_limits", None)
    if not meters:
        return
    read = meters.get("read")
    if response.status_code == 304 and read is not None:
        left = counters.give_back(read.key, window_end=read.window_end)
        if left is not None:  # None: the window ended meanwhile; the next starts at zero
            read.used = left
    response["RateLimit-Policy"] = ", ".join(
        f'"{m.scope}";q={m.quota};w={m.window}' for m in meters.values()
    )
    response["RateLimit"] = ", ".join(
        f'"{m.scope}";r={m.remaining};t={m.reset}' for m in meters.values()
    )
