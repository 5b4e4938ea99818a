"""Every answer of the API checked against the API's own OpenAPI schema.

The schema is generated once per test run from the code under test (as ``/api/v1/schema/``
serves it) and every response a test client receives from ``/api/v1/`` is validated against
it with openapi-core: status code declared, body matching the declared schema for its media
type, declared headers well-formed. A drift between what the API answers and what it
documents fails the test that made the request, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import functools
import json
import re

from openapi_core import Config, OpenAPI
from openapi_core.contrib.django import DjangoOpenAPIRequest, DjangoOpenAPIResponse
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from werkzeug.datastructures import Headers, ImmutableMultiDict

#: Addresses under the API that are not operations of its schema: the schema itself and
#: its interactive documentation.
NOT_OPERATIONS = ("/api/v1/schema/", "/api/v1/docs/")


class SchemaDrift(AssertionError):
    """An answer of the API that its OpenAPI schema does not describe."""


@functools.cache
def schema_document() -> dict:
    """Return the OpenAPI document as ``/api/v1/schema/`` serves it (generated once)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    # Through JSON, as a client receives it (enums, lazy strings and tuples become plain).
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


@functools.cache
def openapi() -> OpenAPI:
    """Return the openapi-core view of the schema, built once."""
    # Errors are RFC 9457 problems: JSON under their own media type.
    config = Config(extra_media_type_deserializers={"application/problem+json": json.loads})
    return OpenAPI.from_dict(schema_document(), config=config)


class _Request(DjangoOpenAPIRequest):
    """The request as openapi-core sees it, found by its concrete path.

    Django's resolver routes are regular expressions under DRF's router; the schema's path
    templates are matched against the concrete path instead.
    """

    path_pattern = None

    def __init__(self, request):
        # As the parent builds it, but a header value the client sent with a line break (the
        # tests send such on purpose) is left out: openapi-core's header map refuses it, and
        # an answer is checked here, not the request.
        self.request = request
        safe = [(k, v) for k, v in request.headers.items() if "\n" not in v and "\r" not in v]
        self.parameters = RequestParameters(
            path=(request.resolver_match and request.resolver_match.kwargs) or {},
            query=ImmutableMultiDict(request.GET),
            header=Headers(safe),
            cookie=ImmutableMultiDict(dict(request.COOKIES)),
        )

    @property
    def body(self) -> bytes:
        # An answer is checked, not the request: a body already consumed is not needed.
        return b""

    @property
    def method(self) -> str:
        # HEAD is answered as GET without a body; the schema documents GET.
        method = super().method
        return "get" if method == "head" else method


def is_api_call(path: str) -> bool:
    """Return True for a request the schema must describe."""
    return path.startswith("/api/") and not path.startswith(NOT_OPERATIONS)


def asks_for_html(request) -> bool:
    """Return True for a browser's request for the browsable API (a page, not the contract)."""
    accept = request.headers.get("Accept", "")
    return request.GET.get("format") == "api" or accept.split(",")[0].strip() == "text/html"


def validate(response) -> None:
    """Raise ``SchemaDrift`` unless the schema describes ``response`` to its request."""
    request = response.wsgi_request
    if not is_api_call(request.path):
        return
    if asks_for_html(request) and response.get("Content-Type", "").startswith("text/html"):
        # The browsable API: HTML pages for a person with a browser, outside the contract
        # that clients are generated from (they ask for JSON).
        return
    if request.method == "OPTIONS":
        # DRF's description of a view for a browser or a tool: HTTP's own method, which an
        # OpenAPI operation does not describe. It must still be JSON.
        if response.status_code < 400:
            _assert_json(request, response)
            return
    if getattr(response, "streaming", False):
        # A file (a document's contents): its status must be declared, its bytes are its own.
        _assert_declared(request, response)
        return
    if request.method == "HEAD" or response.status_code == 304:
        # No body to check; the status itself must be declared.
        _assert_declared(request, response)
        return
    try:
        openapi().validate_response(_Request(request), DjangoOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound) as exc:
        if response.status_code < 400:
            raise SchemaDrift(
                f"{request.method} {request.path} answered {response.status_code} but the "
                f"schema has no such operation"
            ) from exc
        _assert_problem(request, response)
    except Exception as exc:  # openapi-core raises one class per kind of mismatch
        raise SchemaDrift(
            f"{request.method} {request.get_full_path()} -> {response.status_code}: "
            f"{_describe(exc)}\nbody: {response.content[:600]!r}"
        ) from exc


def _describe(exc: BaseException) -> str:
    """Return the mismatch and, where openapi-core nests them, its underlying errors."""
    parts = [f"{exc.__class__.__name__}: {exc}"]
    for inner in getattr(exc, "schema_errors", None) or ():
        parts.append(f"  at {list(inner.absolute_path)}: {inner.message}")
    cause = exc.__cause__
    if cause is not None and cause is not exc:
        parts.append(_describe(cause))
    return "\n".join(parts)


@functools.cache
def _templates() -> list[tuple[re.Pattern, str]]:
    """Return each path template of the schema as a pattern, literal paths first."""
    templates = sorted(schema_document()["paths"], key=lambda path: path.count("{"))
    return [
        (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"), path)
        for path in templates
    ]


def _operation(request) -> dict | None:
    """Return the schema's operation for the request, or None."""
    method = "get" if request.method == "HEAD" else request.method.lower()
    for pattern, path in _templates():
        if pattern.match(request.path):
            return schema_document()["paths"][path].get(method)
    return None


def _assert_declared(request, response) -> None:
    """Raise ``SchemaDrift`` unless the request's operation declares the answer's status."""
    operation = _operation(request)
    if operation is None:
        if response.status_code < 400:
            raise SchemaDrift(f"{request.method} {request.path}: no such operation")
        return
    declared = operation.get("responses", {})
    if str(response.status_code) not in declared and "default" not in declared:
        raise SchemaDrift(
            f"{request.method} {request.path} answered {response.status_code}, which its "
            f"operation does not declare ({sorted(declared)})"
        )


def _assert_json(request, response) -> None:
    """Raise ``SchemaDrift`` unless the answer is JSON."""
    content_type = response.get("Content-Type", "")
    if "json" not in content_type:
        raise SchemaDrift(f"{request.method} {request.path} answered {content_type!r}, not JSON")


def _assert_problem(request, response) -> None:
    """Raise ``SchemaDrift`` unless an error outside every operation is a JSON error."""
    content_type = response.get("Content-Type", "")
    if "json" not in content_type:
        raise SchemaDrift(
            f"{request.method} {request.path} answered {response.status_code} as "
            f"{content_type!r}, not JSON"
        )
    body = json.loads(response.content)
    if not isinstance(body, dict) or not isinstance(body.get("detail"), str):
        raise SchemaDrift(f"{request.method} {request.path}: error without a detail: {body!r}")
