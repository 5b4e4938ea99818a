"""Every error under /api/ as an RFC 9457 problem: ``application/problem+json``.

A problem is a JSON object with the RFC's members ``type``, ``title``, ``status`` and
``detail``, and these extensions:

- ``code``: a stable snake_case name of the problem (``validation_error``, ``not_found``,
  ``throttled``, ...). ``type`` is ``urn:tracker:problem:<code>``: an absolute URI that
  identifies the problem and is never fetched; clients may compare either.
- ``request_id``: the id of the request (its ``X-Request-ID``), also written in the
  request's log line, so an operator can find what a client reports.
- ``errors`` (400 only): one entry per offending value, ``{"field", "code", "detail"}``, the
  field a dotted path into the body or the query (``names.0.value``), null when the
  problem is not one field's. DRF's serializer errors, the services' Django
  ``ValidationError``s and the filters' errors all come out in this one shape.
- ``problems`` (409, the consent gate) and ``current_version`` (412, with the ``ETag``).

drf-standardized-errors was considered first: its bodies are
``{"type": "validation_error", "errors": [{"code", "detail", "attr"}]}``, not RFC 9457 (no
``title`` or ``status``, ``type`` is not a URI, the content type stays
``application/json``), and it formats only the errors that reach DRF's exception handler,
not Django's 404/500 handlers, CSRF failures or answers made by middleware. Bending it to
RFC 9457 would have meant replacing its formatter and its schema classes, so this module
writes the problems itself, and :class:`tracker.middleware.ApiConventionsMiddleware` turns
any other error answer under /api/ into one.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext_lazy
from rest_framework import exceptions, status
from rest_framework.settings import api_settings

from cases.consent import ConsentRefused
from cases.services import StaleObjectError

#: The media type of every error answer under /api/.
PROBLEM_CONTENT_TYPE = "application/problem+json"
#: ``type`` of a problem is this prefix and its code.
PROBLEM_TYPE_PREFIX = "urn:tracker:problem:"

#: The code of a problem that names only its status (Django's handlers, middleware answers).
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "request_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
    422: "unprocessable_content",
    428: "precondition_required",
    429: "throttled",
    500: "server_error",
    503: "service_unavailable",
}

#: DRF's codes for its own exceptions, renamed where the project's name is clearer.
DRF_CODES = {
    "invalid": "validation_error",
    "error": "server_error",
    "authentication_failed": "authentication_failed",
    "not_authenticated": "not_authenticated",
}

#: What a client can do about each status, when the raiser gave no message of its own.
#: The problem's ``title`` of each status: the status phrase, in the reader's language.
STATUS_TITLES = {
    400: pgettext_lazy("HTTP status", "Bad Request"),
    401: pgettext_lazy("HTTP status", "Unauthorized"),
    403: pgettext_lazy("HTTP status", "Forbidden"),
    404: pgettext_lazy("HTTP status", "Not Found"),
    405: pgettext_lazy("HTTP status", "Method Not Allowed"),
    406: pgettext_lazy("HTTP status", "Not Acceptable"),
    409: pgettext_lazy("HTTP status", "Conflict"),
    410: pgettext_lazy("HTTP status", "Gone"),
    412: pgettext_lazy("HTTP status", "Precondition Failed"),
    413: pgettext_lazy("HTTP status", "Request Entity Too Large"),
    414: pgettext_lazy("HTTP status", "Request-URI Too Long"),
    415: pgettext_lazy("HTTP status", "Unsupported Media Type"),
    422: pgettext_lazy("HTTP status", "Unprocessable Entity"),
    428: pgettext_lazy("HTTP status", "Precondition Required"),
    429: pgettext_lazy("HTTP status", "Too Many Requests"),
    500: pgettext_lazy("HTTP status", "Internal Server Error"),
    503: pgettext_lazy("HTTP status", "Service Unavailable"),
}

DEFAULT_DETAILS = {
    400: gettext_lazy("The request is malformed."),
    401: gettext_lazy("Send a valid token: 'Authorization: Token KEY'."),
    403: gettext_lazy("This account may not do this."),
    404: gettext_lazy("Nothing is found at this address."),
    405: gettext_lazy("This address does not take this method."),
    406: gettext_lazy("This address answers application/json only."),
    409: gettext_lazy("The request conflicts with the record's state."),
    410: gettext_lazy("This is no longer available."),
    414: gettext_lazy("The address is too long."),
    415: gettext_lazy("Send the body as application/json."),
    429: gettext_lazy("Too many requests: wait the seconds in Retry-After, then try again."),
    500: gettext_lazy("Server error. The request id identifies it in the server's log."),
    503: gettext_lazy("The service is unavailable. Try again in a few seconds."),
}


def problem_type(code: str) -> str:
    """Return the ``type`` URI of the problem named ``code``."""
    return PROBLEM_TYPE_PREFIX + code


def status_title(status_code: int) -> str:
    """Return the status phrase of ``status_code`` ("Not Found"), the problem's title."""
    if status_code in STATUS_TITLES:
        return str(STATUS_TITLES[status_code])
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return gettext("Error")


def request_id_of(request) -> str | None:
    """Return the request id the request-id middleware gave ``request`` (or its DRF wrapper)."""
    request = getattr(request, "_request", request)
    return getattr(request, "request_id", None)


def problem_body(
    status_code: int,
    *,
    code: str | None = None,
    detail: str | None = None,
    request=None,
    title: str | None = None,
    **extensions,
) -> dict:
    """Return the members of a problem: RFC 9457's, then ``code``, ``request_id`` and extras."""
    code = (
        code
        or STATUS_CODES.get(status_code)
        or ("client_error" if status_code < 500 else "server_error")
    )
    body = {
        "type": problem_type(code),
        "title": title or status_title(status_code),
        "status": status_code,
        # str(): the default details are lazy, and the body is written with json.dumps.
        "detail": str(detail or DEFAULT_DETAILS.get(status_code) or status_title(status_code)),
        "code": code,
        "request_id": request_id_of(request),
    }
    body.update(extensions)
    return body


class ProblemResponse(HttpResponse):
    """An ``application/problem+json`` answer; ``data`` holds the problem as a dict."""

    def __init__(self, data: dict, *, headers=None):
        super().__init__(
            json.dumps(data, ensure_ascii=False),
            status=data["status"],
            content_type=PROBLEM_CONTENT_TYPE,
            headers=headers,
        )
        self.data = data


def problem_response(status_code: int, *, request=None, headers=None, **members) -> ProblemResponse:
    """Return the problem answer of ``status_code``; ``members`` as :func:`problem_body`."""
    return ProblemResponse(problem_body(status_code, request=request, **members), headers=headers)


# --------------------------------------------------------------------------------------------
# The project's own exceptions
# --------------------------------------------------------------------------------------------


class PreconditionRequired(exceptions.APIException):
    """A write came without the version it was based on."""

    status_code = 428
    default_detail = gettext_lazy(
        "Send the version you are changing, in an If-Match header (the ETag you read) or a "
        "'version' field, so that a colleague's change is never silently overwritten."
    )
    default_code = "precondition_required"


class ConsentGateClosed(exceptions.APIException):
    """The consent gate refused a move; the answer lists each unmet condition."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "consent_refused"

    def __init__(self, refusal: ConsentRefused):
        super().__init__(refusal.messages[0], code="consent_refused")
        self.problems = [problem.as_dict() for problem in refusal.decision.problems]


class PreconditionFailed(exceptions.APIException):
    """A write was based on a version that is no longer current."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy(
        "The record was changed by someone else. Reload it and apply your change."
    )
    default_code = "precondition_failed"

    def __init__(self, detail=None, *, current_version=None):
        super().__init__(detail, code="precondition_failed")
        self.current_version = current_version


class UnknownParameter(exceptions.APIException):
    """A query parameter the address does not take: a typo would otherwise filter nothing."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "unknown_parameter"

    def __init__(self, unknown: list[str], accepted: list[str]):
        super().__init__(
            ngettext(
                "Unknown query parameter: %(names)s. This address takes: %(accepted)s.",
                "Unknown query parameters: %(names)s. This address takes: %(accepted)s.",
                len(unknown),
            )
            % {"names": ", ".join(unknown), "accepted": ", ".join(accepted)},
            code="unknown_parameter",
        )
        self.unknown = unknown
        self.accepted = accepted


# --------------------------------------------------------------------------------------------
# Validation errors: one list of {field, code, detail}
# --------------------------------------------------------------------------------------------


def django_validation_detail(error: DjangoValidationError) -> dict | list:
    """Return a Django ``ValidationError`` as DRF's detail: messages by field, with codes."""
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if hasattr(error, "error_dict"):
        return {
            (non_field if field == "__all__" else field): [_drf_error(e) for e in errors]
            for field, errors in error.error_dict.items()
        }
    return {non_field: [_drf_error(e) for e in error.error_list]}


def _drf_error(error: DjangoValidationError) -> exceptions.ErrorDetail:
    message = error.message % error.params if error.params else error.message
    return exceptions.ErrorDetail(str(message), code=error.code or "invalid")


def flatten_errors(detail, path: tuple = ()) -> list[dict]:
    """Return DRF's nested error detail as ``[{"field", "code", "detail"}]``, in order."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            key = str(key)
            inner = (
                path
                if key in {api_settings.NON_FIELD_ERRORS_KEY, "__all__"}
                else (
                    *path,
                    key,
                )
            )
            found.extend(flatten_errors(value, inner))
        return found
    if isinstance(detail, list | tuple):
        found = []
        for index, value in enumerate(detail):
            # A list of messages belongs to its field; a list of objects is indexed.
            inner = path if not isinstance(value, dict | list) else (*path, str(index))
            found.extend(flatten_errors(value, inner))
        return found
    code = getattr(detail, "code", None) or "invalid"
    return [{"field": ".".join(path) or None, "code": str(code), "detail": str(detail)}]


def validation_summary(errors: list[dict]) -> str:
    """Return one sentence for a 400's ``detail``: each field's first message."""
    if not errors:
        return gettext("The request is invalid.")
    parts = []
    for error in errors[:5]:
        if error["field"]:
            # The field is the key clients send; only its message is in the reader's words.
            parts.append(f"{error['field']}: {error['detail']}")
        else:
            parts.append(error["detail"])
    more = ""
    if len(errors) > 5:
        more = " " + gettext("(and %(count)s more)") % {"count": len(errors) - 5}
    return " ".join(parts) + more


# --------------------------------------------------------------------------------------------
# DRF's exception handler
# --------------------------------------------------------------------------------------------


def _problem_code(exc: exceptions.APIException) -> str:
    if isinstance(exc, exceptions.ValidationError):
        return "validation_error"
    if isinstance(exc, exceptions.ParseError):
        return "parse_error"
    if isinstance(exc, exceptions.Throttled):
        return "throttled"
    if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        return "csrf_failed"
    code = getattr(exc.detail, "code", None) if not isinstance(exc.detail, dict | list) else None
    code = code or exc.default_code or STATUS_CODES.get(exc.status_code, "client_error")
    return DRF_CODES.get(code, code)


def exception_handler(exc, context):
    """Answer every exception a view raises with a problem; None for an unexpected one.

    Service errors become 400 (Django ``ValidationError``), 409 (consent) or 412 (stale
    version) first. An unexpected exception returns None, so DRF re-raises it and Django's
    500 handler (tracker/urls.py) answers with a problem once the error is logged.
    """
    request = context.get("request")
    if isinstance(exc, ConsentRefused):
        exc = ConsentGateClosed(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_validation_detail(exc))
    elif isinstance(exc, StaleObjectError):
        exc = PreconditionFailed(str(exc), current_version=exc.current_version)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1048576
        exc = exceptions.ParseError(
            gettext(
                "The request body is larger than %(limit)s MB, the most a body other than a "
                "multipart file takes. Send a file as multipart/form-data."
            )
            % {"limit": f"{limit:.1f}"}
        )
    if not isinstance(exc, exceptions.APIException):
        return None

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(max(1, int(exc.wait)))

    code = _problem_code(exc)
    extensions = {}
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        extensions["errors"] = errors
        detail = validation_summary(errors)
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else None
    if isinstance(exc, exceptions.Throttled):
        if "Retry-After" in headers:
            detail = gettext(
                "Request was throttled: over the rate for this account. Try again in "
                "%(seconds)s seconds."
            ) % {"seconds": headers["Retry-After"]}
        else:
            detail = gettext(
                "Request was throttled: over the rate for this account. Try again in a few seconds."
            )
    if isinstance(exc, ConsentGateClosed):
        extensions["problems"] = exc.problems
    if isinstance(exc, PreconditionFailed):
        extensions["current_version"] = exc.current_version
        if exc.current_version is not None:
            headers["ETag"] = f'"{exc.current_version}"'
    if isinstance(exc, UnknownParameter):
        extensions["errors"] = [
            {"field": name, "code": "unknown_parameter", "detail": gettext("Not taken here.")}
            for name in exc.unknown
        ]
        extensions["accepted_parameters"] = exc.accepted
    if isinstance(exc, exceptions.MethodNotAllowed) and context.get("view") is not None:
        headers["Allow"] = ", ".join(context["view"].allowed_methods)

    # Imported here: rest_framework.views loads the permission classes, one of which
    # imports this module.
    from rest_framework.views import set_rollback

    set_rollback()
    return problem_response(
        exc.status_code,
        request=request,
        headers=headers,
        code=code,
        detail=detail,
        **extensions,
    )


class IdempotencyKeyInvalid(exceptions.APIException):
    """The Idempotency-Key header is not a string of 1 to 255 printable characters."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = gettext_lazy(
        "Idempotency-Key must be 1 to 255 printable ASCII characters, e.g. "
        'Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324".'
    )
    default_code = "idempotency_key_invalid"


class IdempotencyKeyReused(exceptions.APIException):
    """The key was already used by this account for another request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy(
        "This Idempotency-Key was already used for a different request (another method, "
        "address, If-Match or body). Send a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class IdempotencyKeyInFlight(exceptions.APIException):
    """The first request with this key is still being processed."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy(
        "A request with this Idempotency-Key is still being processed. Retry after the "
        "seconds in Retry-After to get its answer."
    )
    default_code = "idempotency_key_in_flight"

    def __init__(self, detail=None, code=None, *, wait: int | None = None):
        super().__init__(detail, code)
        self.wait = wait
