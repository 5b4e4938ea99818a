"""A client generated from the served schema works: it imports, reads, writes, follows the feed.

As an integrator would: the schema is fetched from a running server, openapi-python-client
generates a Python client from it into a temporary folder (no generated code is kept), every
generated module is imported, every resource of the seed and of ``seed_demo --cases 200`` is
read through its list and its detail operation, each writable resource is created and
changed, and the feed is followed to its end. A schema that does not describe the answers
makes the generated code raise or parse nothing, which fails here.
"""

from __future__ import annotations

import importlib
import io
import pkgutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from cases.models import TimelineEvent
from cases.security.tokens import ApiToken
from tests.support import roles

pytestmark = [pytest.mark.slow]

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "tracker_client"
#: Generator settings: no formatting pass (it would need network-free ruff config) and a
#: stable package name.
CONFIG = f"project_name_override: {PACKAGE}\npackage_name_override: {PACKAGE}\npost_hooks: []\n"


@pytest.fixture
def server(transactional_db, live_server, settings):
    """Serve the seed and 200 generated cases; return the address and an officer's token key."""
    # A webhook may point at this machine over plain http (nothing is delivered here).
    settings.WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    call_command("load_seed", stdout=io.StringIO())
    call_command("seed_demo", cases=200, stdout=io.StringIO())
    # One case with its own notification recipients, so that their list has a row to read.
    from cases.models import Case
    from cases.notifications.services import default_recipients, notification_recipients_set
    from cases.services import Actor

    case = Case.objects.order_by("reference").first()
    notification_recipients_set(
        actor=Actor.system(), case=case, recipients=default_recipients(case)
    )
    officer = roles.user_in_role(roles.CASE_OFFICER, "generated-client")
    _token, key = ApiToken.issue(user=officer, name="generated client")
    return live_server.url, key


@pytest.fixture
def package(server, tmp_path):
    """Generate the client from the served schema and import it; forget it afterwards."""
    url, key = server
    answer = httpx.get(
        f"{url}/api/v1/schema/", headers={"Authorization": f"Token {key}"}, timeout=60
    )
    assert answer.status_code == 200, answer.text[:300]
    (tmp_path / "schema.yaml").write_bytes(answer.content)
    (tmp_path / "config.yaml").write_text(CONFIG)
    subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(tmp_path / "schema.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--config",
            str(tmp_path / "config.yaml"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _modules(package) -> dict[str, object]:
    """Import every module of the generated package; return the operations by name."""
    operations = {}
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        module = importlib.import_module(info.name)
        if info.name.startswith(f"{PACKAGE}.api.") and not info.ispkg:
            operations[info.name.rsplit(".", 1)[1]] = module
    return operations


def _ok(response, *expected: int):
    """Return the parsed answer, asserting the status and that the client could parse it."""
    assert response.status_code in (expected or (200,)), (
        response.status_code,
        response.content[:400],
    )
    assert response.parsed is not None, response.content[:400]
    assert type(response.parsed).__name__ not in {"Error", "VersionConflict"}
    return response.parsed


def test_a_generated_client_reads_writes_and_follows_the_feed(server, package):
    url, key = server
    operations = _modules(package)
    client = package.AuthenticatedClient(
        base_url=url, token=key, prefix="Token", raise_on_unexpected_status=True, timeout=60
    )
    assert len(operations) > 40

    # Read every resource: every page of every list, and rows through their detail operation.
    _ok(operations["root_retrieve"].sync_detailed(client=client))
    read = {}
    for name in sorted(operations):
        if not name.endswith("_list"):
            continue
        retrieve = operations.get(name.removesuffix("_list") + "_retrieve")
        rows, page = [], 1
        while True:
            answer = _ok(operations[name].sync_detailed(client=client, page=page))
            rows.extend(answer.results)
            if not answer.next_:
                break
            page += 1
        # No subscription exists yet; the seed invents no ICRC or bureau numbers and no
        # capture card (none is public), so the identifiers are created below; nor does it
        # hold any import of a list or saved mapping.
        assert rows or name in {
            "webhooks_list",
            "external_identifiers_list",
            "capture_cards_list",
            "imports_list",
            "import_mappings_list",
        }, f"{name} read nothing"
        # Every case through its detail (its own, larger component); a sample of the rest,
        # whose detail answers the same component as their list rows.
        for row in rows if name == "cases_list" else rows[:20]:
            if retrieve is not None:
                detail = _ok(retrieve.sync_detailed(str(row.uuid), client=client))
                assert detail.uuid == row.uuid
        read[name] = len(rows)
    assert read["cases_list"] >= 200
    case = _ok(operations["cases_list"].sync_detailed(client=client, page=1)).results[0]
    _ok(operations["cases_consent_retrieve"].sync_detailed(str(case.uuid), client=client))
    _ok(operations["cases_timeline"].sync_detailed(str(case.uuid), client=client))

    # Create and change each writable resource through the generated models.
    models = package.models
    party = _ok(
        operations["parties_create"].sync_detailed(
            client=client,
            body=models.PartyInputRequest.from_dict(
                {"name": "Generated party", "kind": "agency", "reason": "client test"}
            ),
        ),
        201,
    )
    source = _ok(
        operations["sources_create"].sync_detailed(
            client=client,
            body=models.SourceInputRequest.from_dict({"title": "Generated source"}),
        ),
        201,
    )
    person = _ok(
        operations["persons_create"].sync_detailed(
            client=client,
            body=models.PersonInputRequest.from_dict(
                {
                    "working_name": "Generated",
                    "names": [{"value": "Gen", "script": "latin"}],
                    "nationalities": ["KP"],
                }
            ),
        ),
        201,
    )
    identifier = _ok(
        operations["external_identifiers_create"].sync_detailed(
            client=client,
            body=models.ExternalIdentifierInputRequest.from_dict(
                {"person": str(person.uuid), "scheme": "icrc", "value": "GEN-0001"}
            ),
        ),
        201,
    )
    assert (
        _ok(
            operations["external_identifiers_retrieve"].sync_detailed(
                str(identifier.uuid), client=client
            )
        ).value
        == "GEN-0001"
    )
    new_case = _ok(
        operations["cases_create"].sync_detailed(
            client=client,
            body=models.CaseInputRequest.from_dict(
                {
                    "reference": "UA-2025-9001",
                    "person": str(person.uuid),
                    "detaining_party": str(party.uuid),
                    "capture_date": "2025-01-09",
                }
            ),
        ),
        201,
    )
    intention = _ok(
        operations["intentions_create"].sync_detailed(
            client=client,
            body=models.IntentionInputRequest.from_dict(
                {
                    "case": str(new_case.uuid),
                    "option": "undecided",
                    "setting": "official_interview",
                    "stated_on": "2025-02-01",
                    "verification": "stated",
                    "source": str(source.uuid),
                }
            ),
        ),
        201,
    )
    request = _ok(
        operations["requests_create"].sync_detailed(
            client=client,
            body=models.RequestInputRequest.from_dict(
                {
                    "case": str(new_case.uuid),
                    "kind": "family_contact",
                    "addressed_to": str(party.uuid),
                    "intention": str(intention.uuid),
                }
            ),
        ),
        201,
    )
    _ok(
        operations["requests_positions_create"].sync_detailed(
            str(request.uuid),
            client=client,
            body=models.PositionInputRequest.from_dict(
                {"party": str(party.uuid), "stance": "supports", "stated_on": "2025-02-02"}
            ),
        ),
        200,
        201,
    )
    _ok(
        operations["risk_assessments_create"].sync_detailed(
            client=client,
            body=models.RiskAssessmentInputRequest.from_dict(
                {
                    "case": str(new_case.uuid),
                    "level": "low",
                    "basis": "Generated assessment",
                    "assessor": "Generated officer",
                    "assessed_on": "2025-02-03",
                }
            ),
        ),
        201,
    )
    webhook = _ok(
        operations["webhooks_create"].sync_detailed(
            client=client,
            body=models.WebhookCreateRequest.from_dict(
                {"name": "Generated hook", "target_url": "http://127.0.0.1:9/hook"}
            ),
        ),
        201,
    )
    changes = {
        "webhooks": (webhook, models.PatchedWebhookUpdateRequest, {"name": "Renamed hook"}),
        "parties": (party, models.PatchedPartyInputRequest, {"short_name": "GP"}),
        "sources": (source, models.PatchedSourceInputRequest, {"publisher": "Generated press"}),
        "persons": (person, models.PatchedPersonInputRequest, {"rank": "Private"}),
        # A null goes out as JSON null: the officer is unassigned.
        "cases": (
            new_case,
            models.PatchedCaseUpdateRequest,
            {"detention_place": "Camp 1", "assigned_officer": None},
        ),
        "requests": (
            request,
            models.PatchedRequestUpdateRequest,
            {"legal_basis": "GC III Art. 118"},
        ),
    }
    for resource, (row, body_class, fields) in changes.items():
        changed = _ok(
            operations[f"{resource}_partial_update"].sync_detailed(
                str(row.uuid),
                client=client,
                body=body_class.from_dict(fields),
                if_match=f'"{row.version}"',
            )
        )
        assert changed.version == row.version + 1
        for field, value in fields.items():
            shown = getattr(changed, field)
            assert (shown if value is not None else (shown or None)) == value, (resource, field)

    # Follow the feed to its end with the cursor it hands out.
    seen, after = 0, None
    while True:
        kwargs = {"limit": 500} | ({"after": after} if after else {})
        page = _ok(operations["events_feed"].sync_detailed(client=client, **kwargs))
        seen += len(page.results)
        after = page.next_cursor
        if not page.has_more:
            break
    assert seen == TimelineEvent.objects.count()
