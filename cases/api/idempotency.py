"""``Idempotency-Key``: a retried write is answered from the first answer, not done twice.

As the IETF httpapi draft "The Idempotency-Key HTTP Header Field" describes, a client sends
a unique key with a POST, PUT or PATCH; a retry with the same key and the same request gets
the first answer again (with ``Idempotent-Replayed: true``) and changes nothing.

- The key is a string of 1 to 255 printable ASCII characters, sent as a structured-field
  string (``"..."``) as the draft writes it, or bare; anything else is a 400.
- Keys are per account: the same key from another account is another key.
- A request's fingerprint is the SHA-256 of its method, path, query, ``If-Match`` and
  canonical JSON body (keys sorted, no whitespace), so key order and spacing do not matter.
  ``If-Match`` is part of it because it names the version the change was based on: the same
  body against another version is another change, not a retry of this one.
- The same key with another fingerprint is a 422; the same key while the first request is
  still running is a 409 with ``Retry-After``.
- A marker is committed before the write runs, in its own short transaction, so that other
  connections see it; a failed request's marker is removed, and one left by a process that
  died expires after ``LEASE`` (DJANGO_IDEMPOTENCY_LEASE_SECONDS, default 60, above
  gunicorn's worker timeout so a running request is never overtaken).
- Answers kept: 2xx and 4xx, except 401, 403 (decided before anything runs; a changed
  permission should count on the retry), 408, 409, 425 and 429 (transient: the same request
  may succeed later). 5xx answers are not kept, so a retry runs again.
- Kept answers live DJANGO_IDEMPOTENCY_TTL_HOURS (default 24) and are deleted when expired:
  on every keyed write and by ``manage.py purge_idempotency_keys``. They are stored sealed
  with Fernet under a key derived from ``SECRET_KEY``: an answer may name people or hold a
  webhook secret, and a copy of the database alone must not reveal either. An answer that
  no longer opens (``SECRET_KEY`` changed) is dropped and the retry runs again.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.files import File
from django.db import DatabaseError, IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from cases.api.exceptions import (
    IdempotencyKeyInFlight,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
)
from cases.models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
#: The methods a key applies to (the API deletes nothing).
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH"})
#: The headers of an answer that are kept and replayed with it.
KEPT_HEADERS = ("Content-Type", "ETag", "Location")
#: Statuses never kept: the same request may get another answer later.
NOT_KEPT = frozenset({401, 403, 408, 409, 425, 429})
#: Seconds a client is told to wait before retrying a key still in flight.
RETRY_AFTER = 1

_PRINTABLE = re.compile(r"[\x20-\x7e]{1,255}")
_SF_STRING = re.compile(r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"')


def ttl() -> timedelta:
    """Return how long a kept answer is replayed (DJANGO_IDEMPOTENCY_TTL_HOURS, default 24)."""
    hours = getattr(settings, "IDEMPOTENCY_TTL_HOURS", None)
    if hours is None:
        hours = float(os.environ.get("DJANGO_IDEMPOTENCY_TTL_HOURS", "24"))
    return timedelta(hours=float(hours))


def lease() -> timedelta:
    """Return how long an unanswered marker holds its key (DJANGO_IDEMPOTENCY_LEASE_SECONDS)."""
    seconds = getattr(settings, "IDEMPOTENCY_LEASE_SECONDS", None)
    if seconds is None:
        seconds = float(os.environ.get("DJANGO_IDEMPOTENCY_LEASE_SECONDS", "60"))
    return timedelta(seconds=float(seconds))


def parse_key(value: str) -> str:
    """Return the key of an ``Idempotency-Key`` header value, or raise a 400.

    The draft defines the field as a structured-field string (quoted, with ``\\"`` and
    ``\\\\`` escapes); a bare value is accepted too, as most clients send one.
    """
    value = value.strip(" \t")
    quoted = _SF_STRING.fullmatch(value)
    if quoted:
        value = re.sub(r"\\(.)", r"\1", quoted.group(1))
    elif value.startswith('"'):
        raise IdempotencyKeyInvalid()
    if not _PRINTABLE.fullmatch(value):
        raise IdempotencyKeyInvalid()
    return value


def _file_print(upload: File) -> dict[str, object]:
    """Return an uploaded file as its name, size and SHA-256, and rewind it for the view."""
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"name": upload.name, "size": upload.size, "sha256": digest.hexdigest()}


def canonical_body(data) -> str:
    """Return the request's parsed body as canonical JSON: keys sorted, no whitespace.

    An uploaded file counts by its name, size and SHA-256 (its bytes are not JSON, and
    reading it must leave it readable for the view).
    """
    if hasattr(data, "lists"):  # a form's QueryDict: every value list
        data = {
            key: [_file_print(v) if isinstance(v, File) else v for v in values]
            for key, values in data.lists()
        }
    return json.dumps(
        data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def fingerprint(request) -> str:
    """Return the SHA-256 of what makes two requests the same request (see the module)."""
    query = urlencode(sorted(parse_qsl(request.META.get("QUERY_STRING", ""), True)))
    parts = (
        request.method,
        request.path,
        query,
        request.headers.get("If-Match", "").strip(),
        canonical_body(request.data),
    )
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


class Replay(Exception):
    """Carry a kept answer out of ``initial`` to the view's exception handling."""

    def __init__(self, response: HttpResponse):
        super().__init__("replay")
        self.response = response


@dataclass
class Claim:
    """The marker this request holds for its key, until its answer is kept or dropped."""

    pk: int


def _fernet() -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"tracker idempotent answers v1"
    ).derive(settings.SECRET_KEY.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(body: bytes) -> bytes:
    """Return ``body`` encrypted and authenticated for storage."""
    return _fernet().encrypt(body)


def unseal(sealed: bytes) -> bytes | None:
    """Return the body ``sealed`` holds, or None when the current key cannot open it."""
    try:
        return _fernet().decrypt(bytes(sealed))
    except (InvalidToken, ValueError):
        return None


def purge_expired(*, now=None) -> int:
    """Delete every kept answer and marker whose time to live has passed; return how many."""
    now = now or timezone.now()
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now).delete()
    return deleted


def replay_of(record: IdempotencyKey, body: bytes) -> HttpResponse:
    """Return the kept answer of ``record`` (its ``body`` unsealed), marked as a replay."""
    response = HttpResponse(body, status=record.status_code)
    for name, value in record.headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def begin(request) -> Claim | None:
    """Claim the request's key, or raise: the replay, a 400, a 409 or a 422.

    Return None when the request carries no key or is not a write. The marker is committed
    at once (when no outer transaction is open) so that a concurrent duplicate on another
    connection sees it.
    """
    if request.method not in UNSAFE_METHODS or HEADER not in request.headers:
        return None
    key = parse_key(request.headers[HEADER])
    if not request.user or not request.user.is_authenticated:
        return None  # refused before this point; nothing to scope a key to
    mine = fingerprint(request)
    for _attempt in range(3):
        now = timezone.now()
        purge_expired(now=now)
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(
                    user=request.user,
                    key=key,
                    fingerprint=mine,
                    method=request.method,
                    path=request.path[:2000],
                    created_at=now,
                    expires_at=now + ttl(),
                    locked_until=now + lease(),
                )
            return Claim(record.pk)
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.filter(user=request.user, key=key).first()
        if record is None:
            continue  # the other request failed and dropped its marker: claim it afresh
        if record.fingerprint != mine:
            raise IdempotencyKeyReused()
        if record.status_code is not None:
            body = unseal(record.body)
            if body is None:  # sealed under another SECRET_KEY: as good as expired
                IdempotencyKey.objects.filter(pk=record.pk).delete()
                continue
            raise Replay(replay_of(record, body))
        if record.locked_until and record.locked_until > now:
            raise IdempotencyKeyInFlight(wait=RETRY_AFTER)
        # The marker's lease ran out: its request died without an answer. Take it over,
        # unless another retry took it first.
        taken = IdempotencyKey.objects.filter(
            pk=record.pk, status_code__isnull=True, locked_until=record.locked_until
        ).update(locked_until=now + lease(), created_at=now, expires_at=now + ttl())
        if taken:
            return Claim(record.pk)
    raise IdempotencyKeyInFlight(wait=RETRY_AFTER)


def finish(claim: Claim, response: HttpResponse) -> HttpResponse:
    """Keep the answer to replay it (or drop the marker when it is not kept); return it."""
    if response.status_code >= 500 or response.status_code in NOT_KEPT or response.streaming:
        release(claim)
        return response
    if isinstance(response, Response) and not response.is_rendered:
        response.render()
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    try:
        IdempotencyKey.objects.filter(pk=claim.pk).update(
            status_code=response.status_code,
            headers=headers,
            body=seal(response.content),
            locked_until=None,
        )
    except DatabaseError:
        # The write is done: its answer goes out even if it cannot be kept. The marker
        # stays until its lease ends, so a retry meanwhile is a 409, not a second write.
        logger.exception(
            "The %s answer of idempotency key #%s could not be kept.",
            response.status_code,
            claim.pk,
        )
    return response


def release(claim: Claim) -> None:
    """Drop the marker of a request that got no answer worth keeping."""
    IdempotencyKey.objects.filter(pk=claim.pk, status_code__isnull=True).delete()


class IdempotentWritesMixin:
    """Honour ``Idempotency-Key`` on the view's POST, PUT and PATCH (see the module)."""

    _idempotency_claim: Claim | None = None

    def initial(self, request, *args, **kwargs):
        """Authenticate and check as DRF does, then claim the key or replay its answer."""
        super().initial(request, *args, **kwargs)
        self._idempotency_claim = begin(request)

    def handle_exception(self, exc):
        """Answer with the kept answer of a replay; drop the marker of an unhandled error."""
        if isinstance(exc, Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except BaseException:
            claim, self._idempotency_claim = self._idempotency_claim, None
            if claim is not None:
                release(claim)
            raise

    def finalize_response(self, request, response, *args, **kwargs):
        """Keep the final answer for the key's retries."""
        response = super().finalize_response(request, response, *args, **kwargs)
        claim, self._idempotency_claim = self._idempotency_claim, None
        if claim is not None:
            response = finish(claim, response)
        return response


# --------------------------------------------------------------------------------------------
# OpenAPI
# --------------------------------------------------------------------------------------------

KEY_PARAMETER = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "A unique key (e.g. a UUID) that makes a retry of this write safe: the same "
    "key and request within the replay window get the first answer again, with "
    f"{REPLAYED_HEADER}: true. 1 to 255 printable ASCII characters, quoted or bare.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
REPLAYED_RESPONSE_HEADER = {
    "description": "true when this answer is the kept answer to an earlier request with the "
    "same Idempotency-Key.",
    "schema": {"type": "string", "enum": ["true"]},
}
_PLAIN_ERROR = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"detail": {"type": "string"}},
            "required": ["detail"],
        }
    }
}


def _error_content(responses: dict) -> dict:
    """Return the content of the operation's ordinary errors (its 403 or 401), or a plain one."""
    for status in ("403", "401"):
        content = responses.get(status, {}).get("content")
        if content:
            return content
    return _PLAIN_ERROR


def _merge(response: dict, content: dict) -> None:
    """Let ``response`` also carry ``content``'s schemas (``oneOf`` where both have one)."""
    existing = response.setdefault("content", {})
    for media_type, body in content.items():
        mine = existing.get(media_type)
        if mine is None:
            existing[media_type] = copy.deepcopy(body)
        elif mine.get("schema") != body.get("schema"):
            # anyOf, not oneOf: a richer error body also matches the plain one.
            mine["schema"] = {"anyOf": [mine["schema"], copy.deepcopy(body["schema"])]}


def document_idempotency(result, generator, request, public):
    """Declare ``Idempotency-Key`` and its 409 and 422 answers on every POST, PUT and PATCH.

    A drf-spectacular postprocessing hook, so that a new write is documented without a word.
    """
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method.upper() not in UNSAFE_METHODS or not isinstance(operation, dict):
                continue
            parameters = operation.setdefault("parameters", [])
            if not any(p.get("name") == HEADER and p.get("in") == "header" for p in parameters):
                parameters.append(copy.deepcopy(KEY_PARAMETER))
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.startswith("2"):
                    headers = response.setdefault("headers", {})
                    headers[REPLAYED_HEADER] = copy.deepcopy(REPLAYED_RESPONSE_HEADER)
            error = _error_content(responses)
            reused = responses.setdefault(
                "422",
                {
                    "description": "The Idempotency-Key was already used for a different "
                    "request (code idempotency_key_reused)."
                },
            )
            _merge(reused, error)
            in_flight = responses.setdefault("409", {"description": ""})
            words = (
                "A request with the same Idempotency-Key is still being processed (code "
                "idempotency_key_in_flight): retry after Retry-After seconds."
            )
            described = in_flight.get("description", "")
            in_flight["description"] = f"{described} Or: {words}" if described else words
            in_flight.setdefault("headers", {})["Retry-After"] = {
                "description": "Seconds to wait before retrying.",
                "schema": {"type": "integer", "minimum": 1},
            }
            _merge(in_flight, error)
            # The headers every answer carries (request id, rate limits), as on the others.
            common = responses.get("403", {}).get("headers", {})
            for answer in (reused, in_flight):
                for name, header in common.items():
                    answer.setdefault("headers", {}).setdefault(name, copy.deepcopy(header))
    return result
