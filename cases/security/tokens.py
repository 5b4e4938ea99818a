"""API tokens: hashed at rest, shown once, read-only or read-write, expiring, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

#: Length of the public part of a key, stored in clear to find the row without a scan.
PREFIX_LENGTH = 8

#: How often ``last_used_at`` is written at most; a write per request would be wasteful.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_key(key: str) -> str:
    """Return the stored digest of ``key``.

    Keys carry 256 random bits, so a fast hash is as safe as a slow one here; a password
    hasher's deliberate slowness would only make every API request slower.
    """
    return hashlib.sha256(key.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    """Queries over API tokens."""

    def usable(self) -> ApiTokenQuerySet:
        """Return the tokens that are neither revoked nor expired."""
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(models.Model):
    """A key that lets another system use the API as a user; only its hash is stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(
        verbose_name=_("name"),
        max_length=100,
        help_text=_("What the token is for, e.g. the system."),
    )
    prefix = models.CharField(
        verbose_name=_("prefix"), max_length=PREFIX_LENGTH, unique=True, editable=False
    )
    digest = models.CharField(verbose_name=_("digest"), max_length=64, unique=True, editable=False)
    read_only = models.BooleanField(
        verbose_name=_("read only"),
        default=False,
        help_text=_("A read-only token may only read; every write gets 403."),
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(
        verbose_name=_("expires at"),
        null=True,
        blank=True,
        help_text=_("Empty: the token does not expire."),
    )
    last_used_at = models.DateTimeField(
        verbose_name=_("last used at"), null=True, blank=True, editable=False
    )
    revoked_at = models.DateTimeField(
        verbose_name=_("revoked at"),
        null=True,
        blank=True,
        help_text=_("Set to revoke the token; a revoked token gets 401."),
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.user}, {self.prefix})"

    @classmethod
    def issue(
        cls,
        *,
        user,
        name: str,
        read_only: bool = False,
        expires_at=None,
    ) -> tuple[ApiToken, str]:
        """Create a token and return it with its key; the key is never retrievable again."""
        while True:
            prefix = secrets.token_hex(PREFIX_LENGTH // 2)
            if not cls.objects.filter(prefix=prefix).exists():
                break
        key = f"{prefix}{secrets.token_urlsafe(32)}"
        token = cls.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            digest=hash_key(key),
            read_only=read_only,
            expires_at=expires_at,
        )
        return token, key

    @property
    def is_revoked(self) -> bool:
        """Return whether the token was revoked."""
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        """Return whether the token's expiry has passed."""
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def matches(self, key: str) -> bool:
        """Return whether ``key`` is this token's key, in constant time."""
        return hmac.compare_digest(self.digest, hash_key(key))

    def touch(self) -> bool:
        """Record a use, at most once per ``LAST_USED_RESOLUTION``; return whether it wrote."""
        now = timezone.now()
        if self.last_used_at is None or now - self.last_used_at >= LAST_USED_RESOLUTION:
            type(self).objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now
            return True
        return False

    def revoke(self) -> None:
        """Revoke the token now; it stops working at once (within the credentials cache time on
        other processes of a per-process cache: :mod:`cases.security.credentials`)."""
        from cases.security import credentials

        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            type(self).objects.filter(pk=self.pk).update(revoked_at=self.revoked_at)
            credentials.forget_all()  # an update sends no signal

    @property
    def actor_label(self) -> str:
        """Return the name shown on the timeline for writes made with this token."""
        return f"{self.user.get_username()} (API token {self.prefix})"
