"""Token authentication for the API: ``Authorization: Token KEY``, checked against a hash."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from cases.api.throttling import count_failed_credentials
from cases.security import credentials
from cases.security.tokens import PREFIX_LENGTH, ApiToken, hash_key


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticate with an ``ApiToken`` key; expired and revoked tokens get 401.

    On success ``request.user`` is the token's user and ``request.auth`` the token.
    """

    keyword = "Token"

    def _authenticate(self, request):
        """Return ``(user, token)``, None without a token header, or raise."""
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None  # Not a token header: let the next scheme (the session) try.
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the token as 'Authorization: Token KEY', with one space and no other.")
            )
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                _("The token contains invalid characters.")
            ) from exc
        return self.authenticate_key(key)

    def authenticate(self, request):
        """Return ``(user, token)`` for the request's token, None without one, or raise."""
        try:
            return self._authenticate(request)
        except exceptions.AuthenticationFailed:
            # A wrong, revoked or expired token is a caller without credentials: it counts
            # against the anonymous rate, or guessing keys would never be slowed down.
            count_failed_credentials(request)
            raise

    def authenticate_key(self, key: str):
        """Return ``(user, token)`` for ``key`` or raise ``AuthenticationFailed``.

        A token found valid is kept for a few seconds with its user's permissions
        (:mod:`cases.security.credentials`); expiry is checked on every request all the same.
        """
        if len(key) <= PREFIX_LENGTH:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        digest = hash_key(key)
        generation, token = credentials.lookup(digest)
        kept = token is not None
        if not kept:
            token = (
                ApiToken.objects.select_related("user").filter(prefix=key[:PREFIX_LENGTH]).first()
            )
        if token is None or not token.matches(key):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.is_revoked:
            raise exceptions.AuthenticationFailed(_("This token was revoked. Ask for a new one."))
        if token.is_expired:
            raise exceptions.AuthenticationFailed(_("This token has expired. Ask for a new one."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The token's user is inactive."))
        if token.touch() or not kept:
            credentials.keep(digest, generation, token)
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 to anonymous callers.
        return self.keyword
