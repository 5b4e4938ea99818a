"""OpenAPI: the token authentication, the answers introspection misses, and per-resource blocks.

:func:`resource_schema` documents a resource's list, read, create, update and archive
operations from a few words about it, so that each viewset states only what is its own.
"""

from django.utils import translation
from django.views import View
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
    SpectacularSwaggerView,
)

from cases.api import serializers as s
from cases.api.mixins import ArchiveInputSerializer, ArchiveStateSerializer


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describe ``ApiTokenAuthentication`` as an API key in the Authorization header."""

    target_class = "cases.api.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": 'Token authentication: "Authorization: Token KEY". Keys are issued '
            "with `manage.py issue_token` and shown once.",
        }


PROBLEM_MEDIA_TYPE = "application/problem+json"

_PROBLEM_PROPERTIES = {
    "type": {
        "type": "string",
        "description": "urn:tracker:problem:<code>: identifies the problem; never fetched.",
    },
    "title": {"type": "string", "description": "The status phrase, e.g. 'Not Found'."},
    "status": {"type": "integer", "description": "The HTTP status code."},
    "detail": {"type": "string", "description": "What went wrong, in words a person can act on."},
    "code": {
        "type": "string",
        "description": "Stable snake_case name of the problem: validation_error, "
        "unknown_parameter, parse_error, not_authenticated, authentication_failed, "
        "permission_denied, not_found, method_not_allowed, not_acceptable, consent_refused, "
        "cursor_gone, precondition_failed, uri_too_long, unsupported_media_type, "
        "precondition_required, throttled, server_error, service_unavailable, ...",
    },
    "request_id": {
        "type": "string",
        "nullable": True,
        "description": "The request's id, as in its X-Request-ID header and the server's log.",
    },
}
_PROBLEM_REQUIRED = ["type", "title", "status", "detail", "code", "request_id"]
_FIELD_ERROR = {
    "type": "object",
    "properties": {
        "field": {
            "type": "string",
            "nullable": True,
            "description": "The field or query parameter, a dotted path into nested values "
            "(names.0.value); null when the problem is not one field's.",
        },
        "code": {"type": "string", "description": "Stable code, e.g. required, invalid."},
        "detail": {"type": "string"},
    },
    "required": ["field", "code", "detail"],
}

#: The error bodies: RFC 9457 problem details and their extensions (cases/api/exceptions.py).
PROBLEM_COMPONENTS = {
    "Problem": {
        "type": "object",
        "description": "An error (RFC 9457 problem details, application/problem+json).",
        "properties": _PROBLEM_PROPERTIES,
        "required": _PROBLEM_REQUIRED,
    },
    "ValidationProblem": {
        "type": "object",
        "description": "Invalid input: the problem and one entry per offending value.",
        "properties": {
            **_PROBLEM_PROPERTIES,
            "errors": {"type": "array", "items": _FIELD_ERROR},
            "accepted_parameters": {
                "type": "array",
                "items": {"type": "string"},
                "description": "With unknown_parameter: the query parameters taken here.",
            },
        },
        "required": _PROBLEM_REQUIRED,
    },
    "ConsentRefusedProblem": {
        "type": "object",
        "description": "Refused by the consent gate: one entry per unmet condition.",
        "properties": {
            **_PROBLEM_PROPERTIES,
            "problems": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ConsentCondition"},
            },
        },
        "required": [*_PROBLEM_REQUIRED, "problems"],
    },
    "PreconditionFailedProblem": {
        "type": "object",
        "description": "A stale version: the current one is in current_version and the ETag.",
        "properties": {
            **_PROBLEM_PROPERTIES,
            "current_version": {"type": "integer", "nullable": True},
        },
        "required": [*_PROBLEM_REQUIRED, "current_version"],
    },
}

#: Answers every operation may give, whatever it declares itself.
COMMON_ANSWERS = {
    "400": "Invalid input or query parameters; each offending value is in errors.",
    "401": "No credentials, or a wrong, expired or revoked token.",
    "403": "The account may not do this (a read-only token, no permission).",
    "404": "No such record, or a page past the end.",
    "405": "The address does not take this method (nothing is deleted through the API).",
    "406": "The Accept header names no media type this address answers.",
    "414": "The address (path and query) is longer than the server accepts.",
    "415": "A body that is not application/json.",
    "429": "Over the request rate: wait the seconds in Retry-After.",
    "500": "Server error; the request id identifies it in the server's log.",
    "503": "The database is unavailable; try again after Retry-After seconds.",
}

_INT = {"type": "integer"}
_STR = {"type": "string"}
#: Response headers, as components; ``RateLimit`` and ``RateLimit-Policy`` follow
#: draft-ietf-httpapi-ratelimit-headers-10.
HEADERS = {
    "X-Request-ID": {
        "description": "The request's id: the X-Request-ID sent when it was a token of at most "
        "200 characters of A-Z a-z 0-9 . _ -, else a new one. In the server's log too.",
        "schema": _STR,
    },
    "RateLimit-Policy": {
        "description": 'The rate limits this request is counted against, e.g. "read";q=600;w=60 '
        "(quota q requests per window of w seconds).",
        "schema": _STR,
    },
    "RateLimit": {
        "description": 'Where the client stands, e.g. "read";r=598;t=42 (r requests left, '
        "t seconds until the window resets).",
        "schema": _STR,
    },
    "Retry-After": {"description": "Seconds to wait before trying again.", "schema": _INT},
    "ETag": {
        "description": "A row's version as a strong tag (send it in If-Match), or a list "
        'page\'s validator, weak, W/"..." (send it in If-None-Match for 304).',
        "schema": _STR,
    },
    "Link": {
        "description": 'RFC 8288 links to the first, prev, next and last pages: <URL>; rel="next".',
        "schema": _STR,
    },
    "Replica-Lag": {
        "description": "Present when a read replica served the answer: how many seconds (three "
        "decimals) its data may be behind the primary. 0 when it had replayed everything it "
        "received; otherwise the age of the last commit it replayed. An account's own writes "
        "are always in what it reads.",
        "schema": {"type": "number"},
    },
}
_EVERY_ANSWER_HEADERS = ("X-Request-ID", "RateLimit-Policy", "RateLimit")
_HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
#: Components replaced by the problem bodies; dropped when nothing refers to them any more.
_OLD_ERROR_COMPONENTS = ("Error", "VersionConflict", "ConsentRefusal", "FeedError")


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _header_refs(names) -> dict:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _problem_component(status: str, answer: dict) -> str:
    old = str(answer.get("content", {}))
    if status == "400":
        return "ValidationProblem"
    if status == "409" and "ConsentRefusal" in old:
        return "ConsentRefusedProblem"
    if status == "412":
        return "PreconditionFailedProblem"
    return "Problem"


def document_answers(result, generator, request, public):
    """Make the schema say what the API answers where serializer introspection cannot.

    - Every operation may answer each status of ``COMMON_ANSWERS``; every error answer is
      ``application/problem+json``: ``ValidationProblem`` for 400, ``ConsentRefusedProblem``
      for the consent gate's 409, ``PreconditionFailedProblem`` for 412, ``Problem`` else.
    - Every answer carries ``X-Request-ID``, ``RateLimit-Policy`` and ``RateLimit``; 429 and
      503 carry ``Retry-After``; a paginated list's 200 carries ``ETag`` and ``Link``, takes
      ``If-None-Match`` and may answer 304; a row's read or write carries its ``ETag``; a
      read's 200 or 304 carries ``Replica-Lag`` when a replica served it.
    - A source without a web address has an empty ``link``. (What may be null is declared
      by the serializers: ``RowSerializer`` and ``SensitiveFieldsMixin``.)
    """
    components = result.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(PROBLEM_COMPONENTS)
    components.setdefault("headers", {}).update(HEADERS)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if method in _HTTP_METHODS and isinstance(operation, dict):
                _document_operation(path, method, operation)
    _drop_unreferenced(result, _OLD_ERROR_COMPONENTS)
    _document_link(schemas)
    return result


def _document_operation(path: str, method: str, operation: dict) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in COMMON_ANSWERS.items():
        responses.setdefault(status, {"description": description})
    parameters = operation.setdefault("parameters", [])
    is_list = method == "get" and "page" in {p.get("name") for p in parameters}
    if is_list:
        responses.setdefault(
            "304",
            {
                "description": "Nothing the page shows has changed since its ETag: no body, "
                "the ETag again; decided before the page is read."
            },
        )
        parameters.append(
            {
                "in": "header",
                "name": "If-None-Match",
                "schema": _STR,
                "description": "The ETag of this page as last read: 304 while it is unchanged.",
            }
        )
    for status, answer in responses.items():
        if int(status) >= 400:
            schema = _ref(_problem_component(status, answer))
            answer["content"] = {PROBLEM_MEDIA_TYPE: {"schema": schema}}
        headers = answer.setdefault("headers", {})
        headers.update(_header_refs(_EVERY_ANSWER_HEADERS))
        if status in ("429", "503"):
            headers.update(_header_refs(["Retry-After"]))
        if method == "get" and status in ("200", "304"):
            headers.update(_header_refs(["Replica-Lag"]))
        if is_list and status in ("200", "304"):
            headers.update(_header_refs(["ETag", "Link"]))
        elif status in ("200", "201") and "ETag" not in headers and "content" in answer:
            if not path.startswith(("/api/v1/schema", "/api/v1/risk-assessments")):
                headers.update(_header_refs(["ETag"]))


def _drop_unreferenced(result: dict, names) -> None:
    schemas = result["components"]["schemas"]
    for name in names:
        if name not in schemas:
            continue
        others = {k: v for k, v in schemas.items() if k != name}
        text = str(result.get("paths", {})) + str(others)
        if f"#/components/schemas/{name}'" not in text:
            del schemas[name]


def _document_link(schemas: dict) -> None:
    link = schemas.get("Source", {}).get("properties", {}).get("link")
    if link is not None:
        link.pop("format", None)


def _null_allowed(schema: dict) -> None:
    """Rewrite an OpenAPI 3.0 ``nullable: true`` in place as OpenAPI 3.1 says it."""
    if not schema.pop("nullable", False):
        return
    kind = schema.get("type")
    if kind is None and not any(key in schema for key in ("$ref", "allOf", "oneOf", "anyOf")):
        # Any JSON value at all: null is one already, and "one of (anything, null)" would
        # match null twice and so refuse it.
        return
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
    elif isinstance(kind, list):
        if "null" not in kind:
            kind.append("null")
    else:
        # A reference (``allOf: [$ref]``) or a composition: one of it, or null.
        alternatives = schema.pop("allOf", None) or schema.pop("oneOf", None)
        if alternatives is None:
            ref = schema.pop("$ref", None)
            alternatives = [{"$ref": ref}] if ref else []
        schema["oneOf"] = [*alternatives, {"type": "null"}]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"].append(None)


def _walk(node) -> None:
    """Apply :func:`_null_allowed` to every schema object under ``node``."""
    if isinstance(node, dict):
        _null_allowed(node)
        for value in node.values():
            _walk(value)
    elif isinstance(node, list):
        for value in node:
            _walk(value)


def nullable_as_openapi_31(result, generator, request, public):
    """Say "may be null" the OpenAPI 3.1 way everywhere (a postprocessing hook, run last).

    The schema is OpenAPI 3.1 (``OAS_VERSION``), where JSON Schema's ``type: [X, "null"]``
    replaces 3.0's ``nullable``. Some schema pieces are still written in the 3.0 way by the
    libraries that produce them (DRF's pagination envelope, for one); strict validators and
    client generators ignore ``nullable`` in 3.1 and then reject or crash on a null.
    """
    _walk(result.get("components", {}))
    _walk(result.get("paths", {}))
    return result


class PlainOptions:
    """Answer OPTIONS with the allowed methods only, as Django's own views do.

    The documentation pages render HTML; DRF's OPTIONS answer (the view's metadata) has no
    template to render with, which made OPTIONS a 500.
    """

    def options(self, request, *args, **kwargs):
        return View.options(self, request, *args, **kwargs)


class SchemaView(SpectacularAPIView):
    """The OpenAPI document, in English whatever the reader's language.

    Enum descriptions come from choice labels and field descriptions from help texts, which
    are translated for the pages; the contract is one document, so it is generated in the
    source language (drf-spectacular's ``?lang=`` is ignored).
    """

    def dispatch(self, request, *args, **kwargs):
        with translation.override("en"):
            if "lang" in request.GET:
                request.GET = request.GET.copy()
                request.GET.pop("lang")
            response = super().dispatch(request, *args, **kwargs)
            if hasattr(response, "render") and not response.is_rendered:
                response.render()  # the document's lazy texts, while English is active
        response["Content-Language"] = "en"
        return response


class SwaggerView(PlainOptions, SpectacularSwaggerView):
    """Swagger UI with its script inline."""


class SwaggerSplitView(PlainOptions, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script served as a file (no inline script for the CSP)."""


# --------------------------------------------------------------------------------------------
# Blocks shared by the resources
# --------------------------------------------------------------------------------------------

ERRORS = {
    400: OpenApiResponse(description="Invalid input: a JSON object of field messages."),
    401: OpenApiResponse(
        s.ErrorSerializer, description="No, an invalid, expired or revoked token."
    ),
    403: OpenApiResponse(s.ErrorSerializer, description="Not allowed (e.g. a read-only token)."),
}
NOT_FOUND = {404: OpenApiResponse(s.ErrorSerializer, description="No such record.")}
LOCKING = {
    412: OpenApiResponse(
        s.VersionConflictSerializer, description="Stale version: reload and reapply."
    ),
    428: OpenApiResponse(s.ErrorSerializer, description="No If-Match header or version field."),
}
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description='The row\'s ETag, e.g. "3"; or send a "version" field in the body.',
)
READ_ERRORS = {401: ERRORS[401], 403: ERRORS[403]}
CONSENT_REFUSED = {
    409: OpenApiResponse(
        s.ConsentRefusalSerializer,
        description="Refused by the consent gate; each problem has a code and a sentence.",
    )
}
#: The row's uuid in an archive, unarchive or purge address, written as Django's ``uuid``
#: path converter matches it (the resources' own addresses take any 36 hex digits and dashes).
UUID_IN_PATH = OpenApiParameter("uuid", OpenApiTypes.UUID, OpenApiParameter.PATH)
ARCHIVE_ERRORS = {
    400: OpenApiResponse(description="No reason, or already in that state."),
    403: OpenApiResponse(description="No change permission, or a read-only token."),
    404: OpenApiResponse(description="No such record."),
    412: OpenApiResponse(description="Stale version."),
}


def resource_schema(
    *,
    serializer,
    list_summary: str,
    retrieve_summary: str,
    detail_serializer=None,
    create_summary: str | None = None,
    create_request=None,
    create_description: str | None = None,
    create_errors: dict | None = None,
    update_request=None,
    replace_summary: str | None = None,
    change_summary: str | None = None,
    archive_noun: str | None = None,
):
    """Return the ``extend_schema_view`` that documents a resource's standard operations.

    ``serializer`` shows the list's rows, ``detail_serializer`` (by default the same) one
    row and the answer to a write. Create, update (with ``If-Match`` and the locking
    answers) and archive / unarchive are documented when their words are given.
    """
    detail = detail_serializer or serializer
    blocks = {
        "list": extend_schema(summary=list_summary, responses={200: serializer, **READ_ERRORS}),
        "retrieve": extend_schema(
            summary=retrieve_summary, responses={200: detail, **READ_ERRORS, **NOT_FOUND}
        ),
    }
    if create_summary:
        extra = {"description": create_description} if create_description else {}
        blocks["create"] = extend_schema(
            summary=create_summary,
            request=create_request,
            responses={201: detail, **ERRORS, **(create_errors or {})},
            **extra,
        )
    for name, summary in (("update", replace_summary), ("partial_update", change_summary)):
        if summary:
            blocks[name] = extend_schema(
                summary=summary,
                request=update_request,
                parameters=[IF_MATCH],
                responses={200: detail, **ERRORS, **NOT_FOUND, **LOCKING},
            )
    if archive_noun:
        article = "an" if archive_noun[0] in "aeiou" else "a"
        for name, verb in (("archive", "Archive"), ("unarchive", "Unarchive")):
            blocks[name] = extend_schema(
                summary=f"{verb} {article} {archive_noun}",
                description=f"{verb} {article} {archive_noun}.",
                parameters=[UUID_IN_PATH],
                request=ArchiveInputSerializer,
                responses={200: ArchiveStateSerializer, **ARCHIVE_ERRORS},
            )
    return extend_schema_view(**blocks)
