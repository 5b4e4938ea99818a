"""OpenAPI extensions: how the schema describes the token authentication and the filters."""

from django.views import View
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.views import SpectacularSwaggerSplitView, SpectacularSwaggerView


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


#: Fields the API answers with null: no officer assigned, no statement superseded, and the
#: sensitive fields withheld from readers without ``cases.view_sensitive`` (docs/security.md).
NULLABLE_FIELDS = {
    "Case": ["assigned_officer"],
    "Intention": ["supersedes", "quote"],
    "Person": ["birth_place", "medical_notes", "service_number", "family_links"],
}

_LIST_ERROR = {
    "description": "An unknown or malformed filter value (400), or a page past the end (404).",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


def document_answers(result, generator, request, public):
    """Make the schema say what the API answers where serializer introspection cannot.

    Paginated lists answer 400 for a bad filter value and 404 for a page past the end;
    optional party references and the fields in ``NULLABLE_FIELDS`` can be null; a source
    without a web address has an empty ``link``. Found by fuzzing the API against its schema
    (tests/test_fuzz_api.py).
    """
    for operations in result.get("paths", {}).values():
        get = operations.get("get")
        if get and "page" in {p.get("name") for p in get.get("parameters", [])}:
            for status in ("400", "404"):
                get["responses"].setdefault(status, _LIST_ERROR)
    schemas = result.get("components", {}).get("schemas", {})
    for name, component in schemas.items():
        properties = component.get("properties", {})
        for prop in properties.values():
            refs = [item.get("$ref") for item in prop.get("allOf", [])]
            if "#/components/schemas/PartyRef" in refs:
                prop["nullable"] = True
        for base, fields in NULLABLE_FIELDS.items():
            if name in (base, f"{base}Detail"):
                for field in fields:
                    if field in properties:
                        properties[field]["nullable"] = True
    link = schemas.get("Source", {}).get("properties", {}).get("link")
    if link is not None:
        link.pop("format", None)
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
