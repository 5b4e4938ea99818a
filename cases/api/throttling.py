"""Request rates for the API: per token for reads and writes, per address without one.

The rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (set from the environment in
tracker/settings.py) and are read on every request rather than once at import, so a changed
setting takes effect at once. A scope without a rate is not throttled. The counters live in
Django's default cache: several server processes must share one (Redis) for the limits to
hold across them.
"""

from __future__ import annotations

from rest_framework.exceptions import Throttled
from rest_framework.permissions import BasePermission
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ConfiguredRateThrottle(SimpleRateThrottle):
    """Read the scope's rate from the current API settings; no rate means no limit."""

    def get_rate(self):
        """Return the rate configured for this scope, or None."""
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def wait(self):
        """Return the seconds until the next request is allowed, at least one."""
        # Retry-After is a whole number of seconds; zero would invite an instant retry.
        remaining = super().wait()
        return None if remaining is None else max(1, round(remaining))


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


THROTTLED_RESPONSE = {
    "description": "Over the request rate: wait the seconds in Retry-After, then try again.",
    "headers": {
        "Retry-After": {
            "description": "Seconds until the next request is allowed.",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    },
}


def document_throttling(result, generator, request, public):
    """Add the 429 answer to every operation of the OpenAPI schema (a postprocessing hook)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault("429", THROTTLED_RESPONSE)
    return result
