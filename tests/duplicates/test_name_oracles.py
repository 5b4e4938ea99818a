"""A writer who may not read true names learns one from the answer to a rename."""

from __future__ import annotations

import pytest

from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import read_write_integration

pytestmark = pytest.mark.django_db


def test_a_rename_does_not_answer_a_guess_at_a_withheld_true_name():
    """A read-write integration (no ``cases.view_sensitive``) sends Prisoner 9's names as
    one pseudonym, "Kim Chol". When his withheld true name is "Kim Chol" the answer is a 400
    "The same name variant is listed twice" and nothing is written (a free, traceless yes);
    for a person without that true name it is a 200. Both answers must be alike.
    """
    hidden = f.person("Prisoner 9", names=[NameSpec("Kim Chol", "latin")])
    plain = f.person("Prisoner 10", names=[NameSpec("Pak Song", "latin")])
    client, _token = token_client(read_write_integration("guessing-integration"))
    body = {"names": [{"value": "Kim Chol", "script": "latin", "is_pseudonym": True}]}
    answers = {}
    for person in (hidden, plain):
        response = client.patch(
            f"/api/v1/persons/{person.uuid}/",
            {"version": person.version, **body},
            format="json",
        )
        answers[person.working_name] = (response.status_code, response.content.decode()[:200])
    assert answers["Prisoner 9"][0] == answers["Prisoner 10"][0], answers
