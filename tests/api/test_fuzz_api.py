"""Fuzz the API from its own OpenAPI schema: no server errors, answers as the schema says.

Schemathesis generates requests for every operation of ``/api/v1/schema/`` and sends each
through the WSGI application twice: with a superuser's token and with the read-only token of
an account in the ``integration`` role, which may read every resource (so reads answer rows,
with sensitive values withheld, and their conformance is checked). Then it runs the API
statefully: sequences of calls chained by the links it infers from the schema (a list's rows
to their detail, a create's answer to its update and actions), as a case officer who writes
and as the reader. Every answer is checked: no 5xx, a status code, content type, headers and
body the schema declares, and a created row is there to read. Example counts are small, so
the run stays within CI's time.
"""

import copy
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
    ensure_resource_availability,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cases.security.tokens import ApiToken
from tests import factories
from tests.support import roles

MAX_EXAMPLES = 8
#: Scenarios and steps of the stateful runs, per account.
STATEFUL_SCENARIOS = 15
STATEFUL_STEPS = 8

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

#: Checks of the stateful runs: the above, and that a row a step created can be read.
STATEFUL_CHECKS = [*CHECKS, ensure_resource_availability]

#: Requests sent by the fuzzer in this process, by token.
SENT = {"superuser": 0, "read-only": 0, "stateful officer": 0, "stateful reader": 0}


@pytest.fixture
def tokens(db):
    """Return token keys: a superuser's, an integration reader's (read-only), an officer's."""
    call_command("load_seed", verbosity=0)
    admin = factories.user("fuzz-admin", is_staff=True, is_superuser=True)
    reader = roles.user_in_role(roles.INTEGRATION, "fuzz-reader")
    officer = roles.user_in_role(roles.CASE_OFFICER, "fuzz-officer")
    _, admin_key = ApiToken.issue(user=admin, name="fuzz")
    _, reader_key = ApiToken.issue(user=reader, name="fuzz read-only", read_only=True)
    _, officer_key = ApiToken.issue(user=officer, name="fuzz officer")
    return {"superuser": admin_key, "read-only": reader_key, "officer": officer_key}


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


# A copy: schemathesis writes the links it infers into the document it is given.
FUZZED_DOCUMENT = copy.deepcopy(SCHEMA_DOCUMENT)
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
                f"(superuser token {SENT['superuser']}, read-only token {SENT['read-only']}, "
                f"stateful as an officer {SENT['stateful officer']}, "
                f"stateful as the reader {SENT['stateful reader']})"
            )


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_its_schema_says(case, tokens, wsgi_app):
    """Every generated request, with either token, gets an answer the schema allows."""
    for name in ("superuser", "read-only"):
        key = tokens[name]
        SENT[name] += 1
        case.call_and_validate(
            headers={"Authorization": f"Token {key}"}, checks=CHECKS, app=wsgi_app
        )


@pytest.mark.parametrize("account", ["officer", "read-only"])
def test_api_answers_as_its_schema_says_in_chained_calls(account, tokens, wsgi_app):
    """Sequences of linked calls, as an officer and as the reader, get answers the schema allows."""
    key = tokens[account]
    counter = "stateful officer" if account == "officer" else "stateful reader"

    class Scenario(schema.as_state_machine()):
        def get_call_kwargs(self, case):
            SENT[counter] += 1
            return {"headers": {"Authorization": f"Token {key}"}, "app": wsgi_app}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=STATEFUL_CHECKS)

    assert len([name for name in dir(Scenario) if name.startswith(("GET_", "POST_"))]) > 50
    Scenario.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )


def test_the_fuzzed_schema_is_the_served_one(tokens):
    """The document fuzzed above is the one ``/api/v1/schema/`` serves to a token holder."""
    from django.test import Client

    response = Client().get(
        "/api/v1/schema/?format=json", HTTP_AUTHORIZATION=f"Token {tokens['read-only']}"
    )
    assert response.status_code == 200
    assert json.loads(response.content) == SCHEMA_DOCUMENT
