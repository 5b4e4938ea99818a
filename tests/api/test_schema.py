"""The OpenAPI schema itself: valid OpenAPI 3.1, the same on every database, JSON bodies.

That every answer matches it is checked on each request by the suite's validating client
(tests/support/openapi.py); these tests check the document.
"""

from __future__ import annotations

import json

import pytest
from django.apps import apps
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
