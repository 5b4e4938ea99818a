"""Middleware of the whole site: request ids, the API's HTTP conventions, no-store answers."""

from __future__ import annotations

import json
import re
import uuid

from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext

from cases.api import exceptions as problems
from cases.api import replica_reads, throttling
from cases.preferences import LANGUAGE_SESSION_KEY, is_site_language
from tracker.logs import request_id_var

#: An incoming X-Request-ID is kept when it is a plain token of at most 200 characters;
#: anything else (spaces, quotes, control characters that could forge log lines) is replaced.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")


class RequestIdMiddleware:
    """Give every request an id: the caller's ``X-Request-ID`` if sane, else a new uuid4.

    The id is ``request.request_id``, the ``X-Request-ID`` header of every answer, a member of
    every problem body under /api/ and a field of the request's log line (and of every line
    logged while the request runs), so a client's report leads to the server's log.
    django-guid does the same but accepts any incoming value once its uuid check is off;
    these few lines keep the check this project wants.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


def is_api(request) -> bool:
    """Return True for an address under /api/."""
    return request.path.startswith("/api/")


class ApiConventionsMiddleware:
    """Hold the API's HTTP conventions on every answer under /api/, whoever made it.

    - An address longer than ``DJANGO_MAX_URL_LENGTH`` characters (path and query) is a 414
      problem before any view runs.
    - Every 4xx and 5xx that is not a problem yet (Django's debug 404 page, a CSRF failure,
      an answer built by hand) becomes one, keeping its status, its ``detail`` when it had
      one and its headers (Allow, Retry-After, WWW-Authenticate).
    - The rate limits the request met are reported in ``RateLimit-Policy`` and ``RateLimit``;
      a 304 gives back the read it was counted as (cases/api/throttling.py).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_api(request):
            return self.get_response(request)
        length = len(request.get_full_path())
        if length > settings.MAX_URL_LENGTH:
            response = problems.problem_response(
                414,
                request=request,
                detail=gettext(
                    "The address is %(length)s characters long; at most %(most)s are accepted. "
                    "Send fewer or shorter query parameters."
                )
                % {"length": length, "most": settings.MAX_URL_LENGTH},
            )
        else:
            response = self.get_response(request)
        throttling.report_rate_limits(request, response)
        if response.status_code >= 400 and not response.get("Content-Type", "").startswith(
            problems.PROBLEM_CONTENT_TYPE
        ):
            response = as_problem(request, response)
        return response


#: Headers of an error answer that stay on its problem.
KEPT_HEADERS = (
    "Allow",
    "Retry-After",
    "WWW-Authenticate",
    "ETag",
    "RateLimit",
    "RateLimit-Policy",
    "Vary",
)


def as_problem(request, response):
    """Return ``response`` (an error answer) as a problem with the same status and headers."""
    if getattr(response, "streaming", False):
        return response
    detail = None
    if response.get("Content-Type", "").startswith("application/json"):
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("detail"), str):
            detail = body["detail"]
    headers = {name: response[name] for name in KEPT_HEADERS if response.has_header(name)}
    problem = problems.problem_response(
        response.status_code, request=request, detail=detail, headers=headers
    )
    for cookie in response.cookies.values():
        problem.cookies[cookie.key] = cookie
    return problem


class NoStoreMiddleware:
    """Mark every answer but static files ``Cache-Control: no-store``.

    The API, the feed, the pages, the exports, the admin and even error pages can carry case
    data or sensitive values; neither a shared cache on the way nor the browser's own cache
    may keep them. Static files (served by WhiteNoise) keep their long cache lifetimes.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        static = settings.STATIC_URL or "static/"
        self.static_prefix = "/" + static.lstrip("/")

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith(self.static_prefix):
            patch_cache_control(response, no_store=True)
        return response


class AccountLocaleMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, with the signed-in account's own language first.

    The order is the account's setting (``AccountPreferences.language``, copied into the
    session at sign-in and by the switcher, so it costs no query), then what Django's
    LocaleMiddleware reads: the language cookie the switcher sets, ``Accept-Language``, and
    ``LANGUAGE_CODE`` (``DJANGO_LANGUAGE_CODE``). The API skips the account's setting: the
    same request with the same ``Accept-Language`` gets the same words, whoever's session.
    """

    def process_request(self, request):
        language = None
        if not is_api(request) and hasattr(request, "session"):
            language = request.session.get(LANGUAGE_SESSION_KEY)
        if is_site_language(language):
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        else:
            super().process_request(request)


class WritePositionMiddleware:
    """After an account's write request, record where the primary's log stood.

    Its next reads then wait for a replica that has replayed that far, or go to the primary
    (``cases.api.replica_reads``). Nothing happens without a replica.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        replica_reads.record_write(request, response.status_code)
        return response
