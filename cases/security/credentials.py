"""What a token resolves to (its row, its user, the user's permissions), kept for a few seconds.

Every API request used to read the token's row and the user's two permission sets: three
queries before any work, most of an empty poll's cost. They are kept in the default cache
for ``API_CREDENTIALS_CACHE_SECONDS`` (``DJANGO_API_CREDENTIALS_CACHE_SECONDS``, default 5;
0 turns the cache off), keyed by the key's digest, never by the key itself.

Any change that could narrow what a token may do forgets every kept entry at once: a token
saved, revoked or deleted; a user saved or deleted (deactivation); a user's groups or
permissions, or a group's permissions, changed; a group deleted. Forgetting bumps a
generation number that is part of every key. With a shared cache (Redis) that takes effect
on every process at once; with the default per-process memory cache, on the process that
made the change at once and on the others within the cache time. docs/security.md says so.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save

GENERATION_KEY = "credentials:generation"


def _generation() -> int:
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        # A fresh cache, or a counter the cache evicted: start at a random number, so that
        # no entry kept under an earlier count can be found again.
        cache.add(GENERATION_KEY, secrets.randbits(62), timeout=None)
        generation = cache.get(GENERATION_KEY, 0)
    return generation


def _key(digest: str, generation: int) -> str:
    return f"credentials:{generation}:{digest}"


def seconds() -> int:
    """Return how long a resolved token is kept (0: not at all)."""
    return max(0, int(getattr(settings, "API_CREDENTIALS_CACHE_SECONDS", 0)))


def lookup(digest: str):
    """Return ``(generation, token or None)``: the kept token for ``digest``, if any."""
    if not seconds():
        return None, None
    generation = _generation()
    return generation, cache.get(_key(digest, generation))


def keep(digest: str, generation: int | None, token) -> None:
    """Keep ``token`` (its user and the user's permissions resolved) under ``generation``.

    ``generation`` is the one read before the token was read from the database, so that a
    change committed in between (which bumps the generation) is never hidden by the entry.
    """
    if generation is None or not seconds():
        return
    token.user.get_all_permissions()  # fills the user's permission caches, kept with it
    cache.set(_key(digest, generation), token, timeout=seconds())


def forget_all(**_signal_kwargs) -> None:
    """Forget every kept token: something that decides what a token may do has changed."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # no counter yet: nothing was kept under one
        _generation()


def connect_signals() -> None:
    """Forget kept tokens whenever a token, a user, a group or their permissions change."""
    from cases.security.tokens import ApiToken

    user_model = get_user_model()
    for model in (ApiToken, user_model, Group):
        post_save.connect(forget_all, sender=model, dispatch_uid=f"credentials-save-{model}")
        post_delete.connect(forget_all, sender=model, dispatch_uid=f"credentials-del-{model}")
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(forget_all, sender=through, dispatch_uid=f"credentials-m2m-{through}")
