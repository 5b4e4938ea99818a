"""Webhook secrets: made, sealed at rest, and used to sign (Standard Webhooks, ``v1``).

A secret is ``whsec_`` and 32 random bytes in base64, the form the ``standardwebhooks``
libraries take. It is stored sealed with Fernet (AES-128-CBC and HMAC-SHA256, from the
``cryptography`` package) under a key derived with HKDF from ``DJANGO_WEBHOOK_KEY`` (or from
``SECRET_KEY`` when that is not set): a copy of the database alone does not reveal a secret.
``DJANGO_WEBHOOK_KEY`` may list several keys, comma-separated: the first seals, every one
opens: to change the key, put the new one first and keep the old one listed until every
subscription's secret has been rotated. Losing the key makes the stored secrets
unreadable: the worker then pauses the subscription and asks for a rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

SECRET_PREFIX = "whsec_"
_HKDF_INFO = b"tracker webhook secrets v1"


class SecretUnreadable(Exception):
    """A stored secret cannot be opened with the configured keys."""


def new_secret() -> str:
    """Return a fresh secret in the Standard Webhooks form, ``whsec_<base64 of 32 bytes>``."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def _fernet_key(material: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        material.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _sealer() -> MultiFernet:
    materials = list(getattr(settings, "WEBHOOK_KEYS", []) or []) or [settings.SECRET_KEY]
    return MultiFernet([Fernet(_fernet_key(material)) for material in materials])


def seal(secret: str) -> str:
    """Return ``secret`` encrypted and authenticated for storage."""
    return _sealer().encrypt(secret.encode()).decode("ascii")


def unseal(sealed: str) -> str:
    """Return the secret ``sealed`` holds; raise :class:`SecretUnreadable` if the key is wrong."""
    try:
        return _sealer().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadable(
            "The stored secret cannot be decrypted with the configured DJANGO_WEBHOOK_KEY "
            "(or SECRET_KEY); rotate the subscription's secret."
        ) from exc


def _key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return one ``v1,<base64>`` signature of ``body`` (HMAC-SHA256 of ``id.timestamp.body``)."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets_: list[str], *, msg_id: str, timestamp: int, body: bytes) -> str:
    """Return the ``webhook-signature`` value: one signature per secret, space-separated."""
    return " ".join(
        sign(secret, msg_id=msg_id, timestamp=timestamp, body=body) for secret in secrets_
    )
