"""A writer who may not read true names learns one by merging a probe into the person."""

from __future__ import annotations

import pytest

from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import read_write_integration

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _visible_names(client, person_uuid) -> set[str]:
    response = client.get(f"{API}/persons/{person_uuid}/")
    assert response.status_code == 200, response.content
    return {name["value"] for name in response.json()["names"]}


def _merge_probe(client, guess: str, target) -> None:
    created = client.post(
        f"{API}/persons/",
        {
            "working_name": f"Probe {target.working_name}",
            "names": [{"value": guess, "script": "latin", "is_pseudonym": True}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    merged = client.post(
        f"{API}/persons/{created.json()['uuid']}/merge/",
        {"into": str(target.uuid), "into_version": target.version, "version": 1, "reason": "x"},
        format="json",
    )
    assert merged.status_code == 200, merged.content


def test_a_merge_does_not_tell_a_writer_without_view_sensitive_whether_a_true_name_matches():
    """A read-write integration (no ``cases.view_sensitive``) guesses that Prisoner 9's
    withheld true name is "Kim Chol": it creates a person with that spelling as a pseudonym
    and merges him into Prisoner 9. When Prisoner 9 holds "Kim Chol" as a true name, the
    probe's variant is dropped as a repeat and the pseudonym it sent is not shown after the
    merge; when he does not, it is. The answer must not depend on the withheld name (an
    undo then hides the probe).
    """
    hidden = f.person("Prisoner 9", names=[NameSpec("Kim Chol", "latin")])
    plain = f.person("Prisoner 10", names=[NameSpec("Pak Song", "latin")])
    client, _token = token_client(read_write_integration("probe-integration"))
    assert "Kim Chol" not in _visible_names(client, hidden.uuid)  # withheld, as it should be
    _merge_probe(client, "Kim Chol", hidden)
    _merge_probe(client, "Kim Chol", plain)
    shown_hidden = "Kim Chol" in _visible_names(client, hidden.uuid)
    shown_plain = "Kim Chol" in _visible_names(client, plain.uuid)
    assert shown_hidden == shown_plain, (
        f"after the merge the probe's pseudonym is shown on the person whose true name it "
        f"guessed: {shown_hidden}, on the other: {shown_plain}"
    )
