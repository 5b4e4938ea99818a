"""A client generated from the served schema works: it imports, reads, writes, follows the feed.

As an integrator would: the schema is fetched from a running server, openapi-python-client
generates a Python client from it into a temporary folder (no generated code is kept), every
generated module is imported, every resource of the seed and of ``seed_demo --cases 200`` is
read through its list and its detail operation, each writable resource is created and
changed, each transition action is taken once, every GET operation the client has is called
at least once, and the feed is followed to its end. A schema that does not describe the answers
makes the generated code raise or parse nothing, which fails here.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import io
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.models import TimelineEvent
from cases.security.tokens import ApiToken
from tests import factories as f
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
    # And one document (the seed holds no files), so that the documents' list has one too.
    from cases.documents.services import document_attach
    from tests.documents.conftest import pdf, upload

    document_attach(
        actor=Actor.system(),
        case=case,
        upload=upload("decision.pdf", pdf()),
        title="Decision",
        kind="decision",
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


class _Operation:
    """A generated operation's module that notes each call of its ``sync_detailed``."""

    def __init__(self, name: str, module, called: set[str]):
        self._name, self._module, self._called = name, module, called

    def sync_detailed(self, *args, **kwargs):
        self._called.add(self._name)
        return self._module.sync_detailed(*args, **kwargs)

    def __getattr__(self, attribute):
        return getattr(self._module, attribute)


class _Operations(dict):
    """The generated operations by name, remembering which ones the test looked up and
    which it called, and which of them are GETs."""

    def __init__(self):
        super().__init__()
        self.used: set[str] = set()
        self.called: set[str] = set()
        self.gets: set[str] = set()

    def __getitem__(self, name):
        self.used.add(name)
        return super().__getitem__(name)


#: How a generated operation's request builder names its method.
_GET = re.compile(r"""["']method["']\s*:\s*["']get["']""")


def _modules(package) -> _Operations:
    """Import every module of the generated package; return the operations by name."""
    operations = _Operations()
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}."):
        module = importlib.import_module(info.name)
        if info.name.startswith(f"{PACKAGE}.api.") and not info.ispkg:
            name = info.name.rsplit(".", 1)[1]
            operations[name] = _Operation(name, module, operations.called)
            if _GET.search(inspect.getsource(module._get_kwargs)):
                operations.gets.add(name)
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
    # The GETs are told apart by the generated code itself (a list, a detail, an action).
    assert {"cases_list", "cases_retrieve", "webhooks_changes_retrieve"} <= operations.gets
    assert not {"cases_create", "cases_transition_create"} & operations.gets

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
        # hold any import of a list or saved mapping, nor an exchange (the demo's handovers
        # close cases without one); an exchange and a handover are created below.
        assert rows or name in {
            "exchanges_list",
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

    # The rest of the writable resources: reference data, a case's movements and capture
    # card, a person's documents and claims, occurrences, notification recipients, imports.
    place = _ok(
        operations["places_create"].sync_detailed(
            client=client,
            body=models.PlaceInputRequest.from_dict(
                {"name": "Generated camp", "kind": "camp", "detaining_party": str(party.uuid)}
            ),
        ),
        201,
    )
    camp = _ok(
        operations["places_create"].sync_detailed(
            client=client,
            body=models.PlaceInputRequest.from_dict(
                {
                    "name": "Generated hospital",
                    "kind": "hospital",
                    "detaining_party": str(party.uuid),
                }
            ),
        ),
        201,
    )
    _ok(
        operations["movements_create"].sync_detailed(
            client=client,
            body=models.MovementInputRequest.from_dict(
                {
                    "case": str(new_case.uuid),
                    "to_place": str(place.uuid),
                    "moved_on": "2025-01-10",
                    "kind": "capture",
                }
            ),
        ),
        201,
    )
    movement = _ok(
        operations["movements_create"].sync_detailed(
            client=client,
            body=models.MovementInputRequest.from_dict(
                {
                    "case": str(new_case.uuid),
                    "from_place": str(place.uuid),
                    "to_place": str(camp.uuid),
                    "moved_on": "2025-01-20",
                    "kind": "hospital_admission",
                }
            ),
        ),
        201,
    )
    card = _ok(
        operations["capture_cards_create"].sync_detailed(
            client=client,
            body=models.CaptureCardInputRequest.from_dict(
                {"movement": str(movement.uuid), "filled_in_on": "2025-01-22", "health": "sick"}
            ),
        ),
        201,
    )
    document = _ok(
        operations["identity_documents_create"].sync_detailed(
            client=client,
            body=models.IdentityDocumentInputRequest.from_dict(
                {"person": str(person.uuid), "kind": "military_id", "issuer_country": "KP"}
            ),
        ),
        201,
    )
    claim = _ok(
        operations["nationality_claims_create"].sync_detailed(
            client=client,
            body=models.NationalityClaimInputRequest.from_dict(
                {"person": str(person.uuid), "country": "KP", "claimed_by": str(party.uuid)}
            ),
        ),
        201,
    )
    _ok(
        operations["occurrences_create"].sync_detailed(
            client=client,
            body=models.OccurrenceInputRequest.from_dict(
                {
                    "case": str(new_case.uuid),
                    "kind": "icrc_visit",
                    "occurred_on": "2025-02-04",
                    "description": "Generated visit",
                }
            ),
        ),
        201,
    )
    recipients = _ok(
        operations["notification_recipients_create"].sync_detailed(
            client=client,
            body=models.NotificationSettingsInputRequest.from_dict(
                {"case": str(new_case.uuid), "recipients": [str(party.uuid)]}
            ),
        ),
        201,
    )
    columns = {"ICRC No": "icrc_number", "Working name": "working_name"}
    mapping = _ok(
        operations["import_mappings_create"].sync_detailed(
            client=client,
            body=models.ImportMappingRequest.from_dict(
                {"name": "Generated mapping", "kind": "exchange", "columns": columns}
            ),
        ),
        201,
    )
    # An upload goes out as multipart or as JSON, told apart by the body's own model.
    uploaded = _ok(
        operations["imports_create"].sync_detailed(
            client=client,
            body=models.UploadFileRequest(
                file=package.types.File(
                    payload=io.BytesIO(b"ICRC No,Working name\nGEN-LIST-1,POW 9001\n"),
                    file_name="list.csv",
                    mime_type="text/csv",
                ),
                mapping=mapping.uuid,
            ),
        ),
        201,
    )
    _ok(
        operations["imports_create"].sync_detailed(
            client=client,
            body=models.UploadJsonRequest.from_dict(
                {
                    "file_name": "list.csv",
                    "content_base64": base64.b64encode(
                        b"ICRC No,Working name\nGEN-LIST-2,POW 9002\n"
                    ).decode(),
                    "kind": "exchange",
                    "columns": columns,
                }
            ),
        ),
        201,
    )
    assert (
        _ok(
            operations["imports_dry_run_create"].sync_detailed(str(uploaded.uuid), client=client)
        ).report.counts.create
        == 1
    )
    more_changes = {
        "places": (place, models.PatchedPlaceInputRequest, {"address": "Road 1"}),
        "capture_cards": (
            card,
            models.PatchedCaptureCardUpdateRequest,
            {"sent_to_agency_on": "2025-01-23"},
        ),
        "identity_documents": (
            document,
            models.PatchedIdentityDocumentUpdateRequest,
            {"notes": "Seen at the camp"},
        ),
        "external_identifiers": (
            identifier,
            models.PatchedExternalIdentifierUpdateRequest,
            {"value": "GEN-0002"},
        ),
        "nationality_claims": (
            claim,
            models.PatchedNationalityClaimUpdateRequest,
            {"basis": "Citizenship law"},
        ),
        "notification_recipients": (
            recipients,
            models.PatchedNotificationSettingsUpdateRequest,
            {"recipients": []},
        ),
    }
    for resource, (row, body_class, fields) in more_changes.items():
        changed = _ok(
            operations[f"{resource}_partial_update"].sync_detailed(
                str(row.uuid),
                client=client,
                body=body_class.from_dict(fields),
                if_match=f'"{row.version}"',
            )
        )
        assert changed.version == row.version + 1, resource

    # The client sends an Idempotency-Key: a retry of a transition gets the first answer.
    transition = models.CaseTransitionRequest.from_dict(
        {"status": "registered", "reason": "Generated transition"}
    )
    first, again = (
        operations["cases_transition_create"].sync_detailed(
            str(new_case.uuid), client=client, body=transition, idempotency_key="generated-1"
        )
        for _ in range(2)
    )
    assert _ok(first).status == _ok(again).status == "registered"
    assert again.parsed.version == first.parsed.version
    assert again.headers.get("Idempotent-Replayed") == "true"

    # A task, an exchange and a handover. The handover's conditions (his verified wish, a
    # scheduled transfer, his release approved) are written through the services first.
    task = _ok(
        operations["tasks_create"].sync_detailed(
            client=client,
            body=models.TaskInputRequest.from_dict(
                {
                    "case": str(new_case.uuid),
                    "title": "Ask for an interview",
                    "due_on": "2025-03-01",
                }
            ),
        ),
        201,
    )
    exchange = _ok(
        operations["exchanges_create"].sync_detailed(
            client=client,
            body=models.ExchangeInputRequest.from_dict(
                {
                    "name": "Generated exchange",
                    "parties": [str(party.uuid), str(f.party("Russia", country="RU").uuid)],
                }
            ),
        ),
        201,
    )
    for resource, row, body_class, fields in (
        ("tasks", task, models.PatchedTaskUpdateRequest, {"title": "Ask the ICRC"}),
        ("exchanges", exchange, models.PatchedExchangeUpdateRequest, {"notes": "Mediated"}),
    ):
        changed = _ok(
            operations[f"{resource}_partial_update"].sync_detailed(
                str(row.uuid),
                client=client,
                body=body_class.from_dict(fields),
                if_match=f'"{row.version}"',
            )
        )
        assert changed.version == row.version + 1, resource
    crossing = f.case(reference="UA-2025-9002", person_obj=f.person("Generated Baek"))
    korea = f.party("South Korea", kind="state", country="KR")
    f.verified_wish(crossing, "third_state", "KR")
    transfer = f.advance_request(
        f.request(crossing, kind="third_state_transfer", addressed_to=korea), "scheduled"
    )
    f.advance_case(crossing, "release_approved")
    # A visit by the ICRC to where he is held, the interview in which he was seen alone, and a
    # change of the visit's notes.
    visit = _ok(
        operations["visits_create"].sync_detailed(
            client=client,
            body=models.VisitInputRequest.from_dict(
                {
                    "visiting_body": str(f.neutral_party().uuid),
                    "visited_on": timezone.localdate().isoformat(),
                    "detaining_party": str(crossing.detaining_party.uuid),
                    "place_text": "Generated camp",
                }
            ),
        ),
        201,
    )
    interview = _ok(
        operations["interviews_create"].sync_detailed(
            client=client,
            body=models.InterviewInputRequest.from_dict(
                {"visit": str(visit.uuid), "case": str(crossing.uuid), "in_private": True}
            ),
        ),
        201,
    )
    assert str(interview.visit) == str(visit.uuid) and interview.in_private is True
    changed = _ok(
        operations["visits_partial_update"].sync_detailed(
            str(visit.uuid),
            client=client,
            body=models.PatchedVisitUpdateRequest.from_dict({"notes": "Two delegates"}),
            if_match=f'"{visit.version}"',
        )
    )
    assert changed.version == visit.version + 1
    handover = _ok(
        operations["handovers_create"].sync_detailed(
            client=client,
            body=models.HandoverInputRequest.from_dict(
                {
                    "request": str(transfer.uuid),
                    "occurred_on": timezone.localdate().isoformat(),
                    "receiving_authority": str(korea.uuid),
                }
            ),
        ),
        201,
    )
    assert str(handover.request) == str(transfer.uuid)

    # Every transition action once: a request is acknowledged, an exchange agreed.
    assert (
        _ok(
            operations["requests_transition_create"].sync_detailed(
                str(request.uuid),
                client=client,
                body=models.RequestTransitionRequest.from_dict(
                    {"status": "acknowledged", "reason": "Generated transition"}
                ),
            )
        ).status
        == "acknowledged"
    )
    assert (
        _ok(
            operations["exchanges_transition_create"].sync_detailed(
                str(exchange.uuid),
                client=client,
                body=models.ExchangeTransitionRequest.from_dict({"status": "agreed"}),
            )
        ).status
        == "agreed"
    )
    transitions = {name for name in operations if name.endswith("_transition_create")}
    assert transitions <= operations.called, sorted(transitions - operations.called)

    # Every GET operation of the client at least once: a document's file, a subscription's
    # delivery attempts and changes, and the detail of each list that was empty above (the
    # feed is followed last, below).
    document_row = _ok(operations["documents_list"].sync_detailed(client=client, page=1)).results[0]
    content = _ok(
        operations["documents_content_retrieve"].sync_detailed(
            str(document_row.uuid), client=client
        )
    )
    assert content.payload.read().startswith(b"%PDF")
    attempts = _ok(
        operations["webhooks_attempts_retrieve"].sync_detailed(str(webhook.uuid), client=client)
    )
    assert attempts.count == 0  # no worker runs here: nothing was attempted
    history = _ok(
        operations["webhooks_changes_retrieve"].sync_detailed(str(webhook.uuid), client=client)
    )
    assert history.results[0].changes["name"] == ["Generated hook", "Renamed hook"]
    for name in sorted(operations.gets - operations.called):
        listed = name.removesuffix("_retrieve") + "_list"
        if name.endswith("_retrieve") and listed in operations:
            row = _ok(operations[listed].sync_detailed(client=client, page=1)).results[0]
            assert _ok(operations[name].sync_detailed(str(row.uuid), client=client)).uuid == (
                row.uuid
            )

    # Every resource that takes a create or a change was created and changed through it,
    # but for a document: its upload is the API's one multipart body, sent by
    # tests/documents/test_api.py.
    resources = {name.removesuffix("_list") for name in operations if name.endswith("_list")}
    writes = {
        name
        for name in operations
        if name.endswith("_partial_update") or name.removesuffix("_create") in resources
    }
    writes.discard("documents_create")
    assert writes <= operations.used, sorted(writes - operations.used)

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
    never = sorted(operations.gets - operations.called)
    assert not never, f"GET operations never called: {never}"
