"""Errors as JSON a person can act on: service validation is 400, version conflicts 412/428."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from cases.consent import ConsentRefused
from cases.services import StaleObjectError


class PreconditionRequired(exceptions.APIException):
    """A write came without the version it was based on."""

    status_code = 428
    default_detail = (
        "Send the version you are changing, in an If-Match header (the ETag you read) or a "
        "'version' field, so that a colleague's change is never silently overwritten."
    )
    default_code = "precondition_required"


class ConsentGateClosed(exceptions.APIException):
    """The consent gate refused a move; the answer lists each unmet condition."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "consent_refused"

    def __init__(self, refusal: ConsentRefused):
        super().__init__(refusal.messages[0])
        self.problems = [problem.as_dict() for problem in refusal.decision.problems]


class PreconditionFailed(exceptions.APIException):
    """A write was based on a version that is no longer current."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The record was changed by someone else. Reload it and apply your change."
    default_code = "precondition_failed"

    def __init__(self, detail=None, *, current_version=None):
        super().__init__(detail)
        self.current_version = current_version


def django_validation_detail(error: DjangoValidationError) -> dict:
    """Return a Django ``ValidationError`` as DRF's field-to-messages mapping."""
    if hasattr(error, "error_dict"):
        return {
            (api_settings.NON_FIELD_ERRORS_KEY if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {api_settings.NON_FIELD_ERRORS_KEY: error.messages}


def exception_handler(exc, context):
    """Turn service errors into 400/409/412 responses, then let DRF handle the rest."""
    if isinstance(exc, ConsentRefused):
        exc = ConsentGateClosed(exc)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(django_validation_detail(exc))
    elif isinstance(exc, StaleObjectError):
        exc = PreconditionFailed(str(exc), current_version=exc.current_version)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ConsentGateClosed):
        response.data = {"detail": str(exc.detail), "problems": exc.problems}
    if isinstance(exc, PreconditionFailed):
        response.data = {"detail": str(exc.detail), "current_version": exc.current_version}
        if exc.current_version is not None:
            response["ETag"] = f'"{exc.current_version}"'
    return response


def method_not_allowed_delete() -> Response:
    """Return the answer to a DELETE: nothing is deleted through the API."""
    return Response(
        {
            "detail": "Records are never deleted through the API; the history must stay "
            "complete. Change the status instead (for example close the case or withdraw "
            "the request)."
        },
        status=status.HTTP_405_METHOD_NOT_ALLOWED,
    )


class IdempotencyKeyInvalid(exceptions.APIException):
    """The Idempotency-Key header is not a string of 1 to 255 printable characters."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = (
        "Idempotency-Key must be 1 to 255 printable ASCII characters, e.g. "
        'Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324".'
    )
    default_code = "idempotency_key_invalid"


class IdempotencyKeyReused(exceptions.APIException):
    """The key was already used by this account for another request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = (
        "This Idempotency-Key was already used for a different request (another method, "
        "address, If-Match or body). Send a new key for a new request."
    )
    default_code = "idempotency_key_reused"


class IdempotencyKeyInFlight(exceptions.APIException):
    """The first request with this key is still being processed."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "A request with this Idempotency-Key is still being processed. Retry after the "
        "seconds in Retry-After to get its answer."
    )
    default_code = "idempotency_key_in_flight"

    def __init__(self, detail=None, code=None, *, wait: int | None = None):
        super().__init__(detail, code)
        self.wait = wait
