"""The OpenAPI schema itself: valid OpenAPI 3.1, the same on every database, JSON bodies.

That every answer matches it is checked on each request by the suite's validating client
(tests/support/openapi.py); these tests check the document.
"""

from __future__ import annotations

import json
import re

import pytest
from django.apps import apps
from django.core.management import get_commands
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper
from django.db.backends.sqlite3.base import DatabaseWrapper as SqliteWrapper
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from openapi_spec_validator import validate

from tests.support.openapi import schema_document

# Through each backend's wrapper: importing a backend's operations module first is circular.
PostgresOperations = PostgresWrapper.ops_class
SqliteOperations = SqliteWrapper.ops_class


def _generated() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


def _forget_validators() -> None:
    # Django computes an integer field's range validators once, from the connection.
    for model in apps.get_models():
        for field in model._meta.get_fields():
            getattr(field, "__dict__", {}).pop("validators", None)


@pytest.fixture
def as_if_on(monkeypatch):
    """Return a function that makes the connection answer as another database's would."""

    def use(operations_class) -> None:
        monkeypatch.setattr(
            connection.ops,
            "integer_field_range",
            operations_class.integer_field_range.__get__(connection.ops),
        )
        _forget_validators()

    yield use
    _forget_validators()


def test_the_schema_is_valid_openapi_31():
    document = schema_document()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_the_schema_is_the_same_on_sqlite_and_postgresql(as_if_on):
    as_if_on(SqliteOperations)
    on_sqlite = _generated()
    as_if_on(PostgresOperations)
    on_postgresql = _generated()
    assert on_sqlite == on_postgresql
    # The check can fail: the bounds Django takes from each database do differ.
    assert SqliteOperations.integer_field_range(
        connection.ops, "PositiveIntegerField"
    ) != PostgresOperations.integer_field_range(connection.ops, "PositiveIntegerField")


def test_no_schema_says_null_the_openapi_30_way():
    # In 3.1, "nullable" is ignored by strict validators and generators.
    assert '"nullable"' not in json.dumps(schema_document())


def test_the_api_index_is_an_operation():
    assert "get" in schema_document()["paths"]["/api/v1/"]


# The document exactly as ``/api/v1/schema/`` serves it to a signed-in reader.


@pytest.fixture
def served(analyst_client) -> dict:
    answer = analyst_client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert answer.status_code == 200
    return json.loads(answer.content)


_COMBINATORS = ("allOf", "oneOf", "anyOf")
#: What makes a schema say what its value is.
_TYPED_BY = ("type", "$ref", "const", "enum", *_COMBINATORS)


def typeless(schema, where: str):
    """Yield where, inside ``schema``, a schema says nothing of its value's type.

    Goes into properties, items, additionalProperties and each branch of allOf, oneOf and
    anyOf; ``additionalProperties: true`` (any value, said on purpose) is not a schema.
    """
    if not isinstance(schema, dict):
        return
    if not any(key in schema for key in _TYPED_BY):
        yield where
    for key in _COMBINATORS:
        for index, branch in enumerate(schema.get(key, ())):
            yield from typeless(branch, f"{where}/{key}[{index}]")
    for name, member in (schema.get("properties") or {}).items():
        yield from typeless(member, f"{where}.{name}")
    if "items" in schema:
        yield from typeless(schema["items"], f"{where}[]")
    if isinstance(schema.get("additionalProperties"), dict):
        yield from typeless(schema["additionalProperties"], f"{where}{{*}}")


def _operation_schemas(document: dict):
    """Yield (where, schema) of every parameter, body and answer schema of the paths."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if not isinstance(operation, dict):
                continue
            name = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", ()):
                if "schema" in parameter:
                    yield f"{name} ?{parameter['name']}", parameter["schema"]
            for media, content in (operation.get("requestBody") or {}).get("content", {}).items():
                yield f"{name} body {media}", content.get("schema")
            for code, answer in operation.get("responses", {}).items():
                for media, content in answer.get("content", {}).items():
                    yield f"{name} {code} {media}", content.get("schema")
                for header, declared in answer.get("headers", {}).items():
                    yield f"{name} {code} {header}", declared.get("schema")


def test_the_walk_finds_a_typeless_schema_wherever_it_is():
    nested = {
        "type": "object",
        "properties": {
            "a": {"readOnly": True},
            "b": {"type": "array", "items": {"description": "x"}},
            "c": {"oneOf": [{"type": "null"}, {}]},
            "d": {"type": "object", "additionalProperties": {}},
            "e": {"type": "object", "additionalProperties": True},
            "f": {"const": 1},
            "g": {"enum": ["x"]},
        },
    }
    assert list(typeless(nested, "X")) == ["X.a", "X.b[]", "X.c/oneOf[1]", "X.d{*}"]


def test_every_schema_and_property_has_a_type(served):
    found = set()
    for name, schema in served["components"]["schemas"].items():
        found.update(typeless(schema, name))
    for name, header in served["components"].get("headers", {}).items():
        found.update(typeless(header.get("schema"), f"header {name}"))
    for where, schema in _operation_schemas(served):
        found.update(typeless(schema, where))
    assert not found, f"typeless, give each an exact type: {sorted(found)}"


#: What a published text must not hold: the repository's insides, not an integrator's.
_INTERNAL = re.compile(
    r"""tests/|\.py\b|pytest|\bTODO\b|FIXME|\bXXX\b
    |(?<![\w/.-])(?:cases|tracker|bench)/   # a path of the repository (not /api/v1/cases/)
    """,
    re.IGNORECASE | re.VERBOSE,
)
#: Meant for integrators: the published documentation, and the management commands an
#: operator runs for them (``manage.py issue_token``), if the command exists.
_MANAGE = re.compile(r"manage\.py (\w+)")


def _published_texts(node, where: str = ""):
    """Yield (where, text) of every summary and description in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("summary", "description") and isinstance(value, str):
                yield f"{where}.{key}", value
            else:
                yield from _published_texts(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _published_texts(value, f"{where}[{index}]")


def internal_references(text: str) -> list[str]:
    """Return the internal references in a published text."""
    commands = get_commands()
    for command in _MANAGE.findall(text):
        if command in commands:
            text = text.replace(f"manage.py {command}", f"the {command} command")
    return [match.group(0) for match in _INTERNAL.finditer(text)]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("See tests/api/test_x.py, it proves it.", ["tests/", ".py"]),
        ("Run pytest first.", ["pytest"]),
        ("TODO: page it. FIXME XXX", ["TODO", "FIXME", "XXX"]),
        ("As cases/feed/views.py says.", ["cases/", ".py"]),
        ("Set in tracker/settings or bench/load.", ["tracker/", "bench/"]),
        ("`manage.py no_such_command` does it.", [".py"]),
        ("Keys come from `manage.py issue_token`.", []),
        ("See docs/feed.md; GET /api/v1/cases/{uuid}/timeline/.", []),
    ],
)
def test_internal_references_are_recognised(text, found):
    assert internal_references(text) == found


def test_no_published_text_holds_internal_notes(served):
    found = {
        where: internal_references(text)
        for where, text in _published_texts(served)
        if internal_references(text)
    }
    assert not found, f"internal references in the published schema: {found}"
    # The walk reads the texts that matter: operations' and properties' descriptions.
    texts = dict(_published_texts(served))
    assert any(where.startswith("/paths/") and where.endswith(".description") for where in texts)
    assert any("/properties/" in where for where in texts)
