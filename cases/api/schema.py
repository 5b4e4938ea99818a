"""OpenAPI: the token authentication, the answers introspection misses, and per-resource blocks.

:func:`resource_schema` documents a resource's list, read, create, update and archive
operations from a few words about it, so that each viewset states only what is its own.
"""

from django.views import View
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from drf_spectacular.views import SpectacularSwaggerSplitView, SpectacularSwaggerView

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


_LIST_ERROR = {
    "description": "An unknown or malformed filter value (400), or a page past the end (404).",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def document_answers(result, generator, request, public):
    """Make the schema say what the API answers where serializer introspection cannot.

    Paginated lists answer 400 for a bad filter value and 404 for a page past the end; a
    source without a web address has an empty ``link``. (What may be null is declared by
    the serializers: ``RowSerializer`` and ``SensitiveFieldsMixin``.) Found by fuzzing the API against its schema
    (tests/api/test_fuzz_api.py).
    """
    for operations in result.get("paths", {}).values():
        get = operations.get("get")
        if get and "page" in {p.get("name") for p in get.get("parameters", [])}:
            for status in ("400", "404"):
                get["responses"].setdefault(status, _LIST_ERROR)
    schemas = result.get("components", {}).get("schemas", {})
    link = schemas.get("Source", {}).get("properties", {}).get("link")
    if link is not None:
        link.pop("format", None)
    return result


def _null_allowed(schema: dict) -> None:
    """Rewrite an OpenAPI 3.0 ``nullable: true`` in place as OpenAPI 3.1 says it."""
    if not schema.pop("nullable", False):
        return
    kind = schema.get("type")
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
