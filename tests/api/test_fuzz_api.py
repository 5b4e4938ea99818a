"""Fuzz the API from its own OpenAPI schema: no server errors, answers as the schema says.

Schemathesis generates requests for every operation of ``/api/v1/schema/`` and sends each
through the WSGI application twice: with a superuser's token and with a read-only token.
Every answer is checked: no 5xx, a status code, content type, headers and body the schema
declares. The number of examples per operation is small, so the run stays within CI's time.
"""

import json

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cases.security.tokens import ApiToken
from tests import factories

MAX_EXAMPLES = 8

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

#: Requests sent by the fuzzer in this process, by token.
SENT = {"superuser": 0, "read-only": 0}


@pytest.fixture
def tokens(db):
    """Return the keys of a superuser's token and of a read-only token, with seed rows."""
    call_command("load_seed", verbosity=0)
    admin = factories.user("fuzz-admin", is_staff=True, is_superuser=True)
    reader = factories.user("fuzz-reader")
    _, admin_key = ApiToken.issue(user=admin, name="fuzz")
    _, reader_key = ApiToken.issue(user=reader, name="fuzz read-only", read_only=True)
    return {"superuser": admin_key, "read-only": reader_key}


@pytest.fixture
def wsgi_app():
    """Return the WSGI application, kept from closing the test's database connection.

    Django closes the connection at the end of each request; the test client stops that, so
    the test's transaction survives. Requests sent straight to the WSGI application need the
    same.
    """
    from tracker.wsgi import application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield application
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def served_schema() -> dict:
    """Return the OpenAPI document ``/api/v1/schema/`` serves, built without a request.

    Test modules are imported before any test database exists, and the endpoint needs a
    token (a database row), so the module builds the document with the same generator and
    renderer as the endpoint; ``test_the_fuzzed_schema_is_the_served_one`` proves they agree.
    """
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


SCHEMA_DOCUMENT = served_schema()


FUZZED_DOCUMENT = SCHEMA_DOCUMENT
schema = schemathesis.openapi.from_dict(
    FUZZED_DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {
            "seed": 20250109,
            "generation": {"max-examples": MAX_EXAMPLES},
            # The coverage phase sends every boundary value of every parameter: hundreds of
            # requests per operation, past CI's time. Random fuzzing alone stays bounded.
            "phases": {"coverage": {"enabled": False}},
        }
    ),
)


@pytest.fixture(scope="module", autouse=True)
def _report_count(request):
    """Print how many requests the fuzzer sent, once the module is done."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and sum(SENT.values()):
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nfuzzed requests: {sum(SENT.values())} "
                f"(superuser token {SENT['superuser']}, read-only token {SENT['read-only']})"
            )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, tokens, wsgi_app):
    """Every generated request, with either token, gets an answer the schema allows."""
    for name, key in tokens.items():
        SENT[name] += 1
        case.call_and_validate(
            headers={"Authorization": f"Token {key}"}, checks=CHECKS, app=wsgi_app
        )


def test_the_fuzzed_schema_is_the_served_one(tokens):
    """The document fuzzed above is the one ``/api/v1/schema/`` serves to a token holder."""
    from django.test import Client

    response = Client().get(
        "/api/v1/schema/?format=json", HTTP_AUTHORIZATION=f"Token {tokens['read-only']}"
    )
    assert response.status_code == 200
    assert json.loads(response.content) == SCHEMA_DOCUMENT
