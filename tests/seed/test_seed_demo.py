"""The demo data generator: reproducible, consistent, and faithful to the services.

The generator calls the services with the timeline's bulk sink, which keeps rows in memory and
inserts them in bulk; these tests hold it to what the same calls write through the row sink.
The fidelity test replays every call the generator made through the services' default sink
(with the clock set to the moment of each call) and compares rows and events.
"""

from __future__ import annotations

import io
import uuid
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import timezone

from cases import choices, consent, demo, services
from cases.models import (
    Case,
    Note,
    Occurrence,
    Party,
    Person,
    Position,
    Request,
    Source,
    StatedIntention,
    TimelineEvent,
)
from cases.selectors import current_intention_for
from cases.transitions import CASE_CLOSED_STATUSES, CASE_TRANSITIONS, REQUEST_TRANSITIONS
from tests import factories

pytestmark = pytest.mark.django_db

CASES = 40
SEED = 7


def _run(cases: int = CASES, seed: int = SEED, **kwargs):
    progress, calls = demo.generate(cases=cases, seed=seed, **kwargs)
    return progress, calls


def _in_rolled_back_transaction(function):
    """Run ``function`` and undo everything it wrote; return its result."""
    with transaction.atomic():
        result = function()
        transaction.set_rollback(True)
    return result


def _labels_by_uuid() -> dict:
    """Name every object an event can concern by what it is, not by its UUID."""
    labels = {}
    for party in Party.objects.all():
        labels[party.uuid] = f"party {party.name}"
    for source in Source.objects.all():
        labels[source.uuid] = f"source {source.title} {source.published_on}"
    for person in Person.objects.all():
        labels[person.uuid] = f"person {person.working_name} {person.birth_date}"
    for case in Case.objects.all():
        labels[case.uuid] = f"case {case.reference}"
    for model in (StatedIntention, Request, Occurrence, Note):
        for n, row in enumerate(model.objects.select_related("case").order_by("id")):
            labels[row.uuid] = f"{model._meta.model_name} {row.case.reference} {n}"
    for n, row in enumerate(Position.objects.select_related("request__case").order_by("id")):
        labels[row.uuid] = f"position {row.request.case.reference} {n}"
    return labels


def ids_as_labels(value, uid):
    """Return JSON ``value`` with every uuid in it (a reference's, a row's) passed to ``uid``."""
    if isinstance(value, dict):
        return {key: ids_as_labels(item, uid) for key, item in value.items()}
    if isinstance(value, list):
        return [ids_as_labels(item, uid) for item in value]
    if isinstance(value, str) and len(value) == 36:
        try:
            return uid(uuid.UUID(value))
        except ValueError:
            return value
    return value


def _snapshot(*, with_uuids: bool) -> dict:
    """Return everything the generator writes, in a form two runs can be compared in."""
    labels = _labels_by_uuid()

    def uid(value):
        return str(value) if with_uuids else labels.get(value, "?")

    cases = []
    for case in Case.objects.select_related("person", "detaining_party").order_by("reference"):
        person = case.person
        cases.append(
            {
                "uuid": uid(case.uuid),
                "case": [
                    case.reference,
                    case.status,
                    case.legal_status,
                    case.capture_date,
                    case.capture_date_precision,
                    case.capture_place,
                    case.capture_place_code,
                    case.detention_place,
                    case.priority,
                    case.version,
                    case.last_event_seq,
                    case.closed_at,
                    case.detaining_party.name,
                    case.current_intention_option,
                    case.current_intention_destination.code,
                    case.current_intention_verification,
                    case.current_intention_verified,
                    uid(case.current_intention.uuid) if case.current_intention else None,
                ],
                "person": [
                    uid(person.uuid),
                    person.working_name,
                    person.sex,
                    person.birth_date,
                    person.birth_date_precision,
                    person.birth_place,
                    [c.code for c in person.nationalities],
                    person.identity_confidence,
                    person.armed_force_id and person.armed_force.name,
                    person.power_depends_on_id and person.power_depends_on.name,
                    person.rank,
                    person.unit,
                    person.service_number,
                    person.is_deceased,
                    person.date_of_death,
                    person.medical_notes,
                    person.family_links,
                    person.version,
                ],
                "names": [
                    (n.value, n.script, n.romanisation, n.is_pseudonym, n.search_key)
                    for n in person.names.order_by("id")
                ],
                "intentions": [
                    (
                        uid(i.uuid),
                        i.option,
                        i.destination_country.code,
                        i.certainty,
                        i.conditions,
                        i.quote,
                        i.quote_language,
                        i.stated_on,
                        i.stated_on_precision,
                        i.heard_by_id and i.heard_by.name,
                        i.heard_by_role,
                        i.setting,
                        i.interpreter_supplied_by_id and i.interpreter_supplied_by.name,
                        i.detaining_power_present,
                        i.options_explained,
                        i.duress_signs,
                        sorted(p.name for p in i.present_parties.all()),
                        i.verification,
                        i.state,
                        i.version,
                        uid(i.supersedes.uuid) if i.supersedes_id else None,
                        i.source_id and i.source.title,
                    )
                    for i in case.intentions.order_by("id")
                ],
                "requests": [
                    (
                        uid(r.uuid),
                        r.kind,
                        r.status,
                        r.requested_by_id and r.requested_by.name,
                        r.addressed_to.name,
                        r.destination_country.code,
                        r.legal_basis,
                        r.filed_on,
                        r.decided_on,
                        r.decision_reason,
                        r.version,
                        [
                            (p.party.name, p.stance, p.stated_on, p.conditions)
                            for p in r.positions.order_by("id")
                        ],
                    )
                    for r in case.requests.order_by("id")
                ],
                "occurrences": [
                    (o.kind, o.occurred_on, o.occurred_on_precision, o.description, o.place)
                    for o in case.occurrences.order_by("id")
                ],
                "notes": [n.body for n in case.notes.order_by("id")],
                "places": [
                    case.current_place_id and case.current_place.name,
                    case.capture_card_due_on,
                    [
                        (m.kind, m.from_place_id and m.from_place.name, m.to_place.name, m.moved_on)
                        for m in case.movements.order_by("id")
                    ],
                    [
                        (c.filled_in_on, c.sent_to_agency_on, c.declined, c.declined_on, c.health)
                        for c in case.capture_cards.order_by("id")
                    ],
                    [
                        (n.recipient.name, n.reason, n.state, n.due_on)
                        for n in case.notifications.order_by("id")
                    ],
                ],
                "identity": [
                    person.family_name,
                    person.given_names,
                    person.father_first_name,
                    person.mother_maiden_name,
                    person.person_to_inform,
                    person.correspondence_address,
                    [
                        (d.kind, d.issuer_country.code, d.number, d.genuineness)
                        for d in person.identity_documents.order_by("id")
                    ],
                    [(i.scheme, i.value) for i in person.external_identifiers.order_by("id")],
                    [
                        (c.country.code, c.claimed_by.name, c.basis)
                        for c in person.nationality_claims.order_by("id")
                    ],
                ],
            }
        )
    events = [
        (
            e.case.reference if e.case_id else None,
            e.case_seq,
            e.person.working_name if e.person_id else None,
            e.kind,
            e.summary,
            ids_as_labels(e.changes, uid),
            e.subject_version,
            ids_as_labels(e.object, uid),
            e.occurred_at,
            e.occurred_precision,
            e.actor_label,
            e.channel,
            e.reason,
            e.source_id and e.source.title,
            e.subject_type,
            uid(e.subject_uuid),
        )
        for e in TimelineEvent.objects.select_related("case", "person", "source").order_by(
            "case__reference", "case_seq", "id"
        )
    ]
    return {"cases": cases, "events": events}


def _replay_through_services(calls: list[demo.Call], monkeypatch) -> None:
    """Make every recorded call through the real service, at the moment it was made."""
    real = {}

    def resolve(value):
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return real.get(id(value), value)

    from cases.exchanges import services as exchange_services
    from cases.identity import services as identity_services
    from cases.places import services as place_services
    from cases.visits import services as visit_services

    modules = (services, place_services, identity_services, exchange_services, visit_services)
    for call in calls:
        kwargs = {name: resolve(value) for name, value in call.kwargs.items()}
        monkeypatch.setattr(timezone, "now", lambda at=call.at: at)
        service = next(getattr(m, call.service) for m in modules if hasattr(m, call.service))
        result = service(actor=demo.ACTOR, **kwargs)
        real[id(call.result)] = result
    monkeypatch.undo()


# --------------------------------------------------------------------------------------------
# (a) Reproducibility
# --------------------------------------------------------------------------------------------


def test_same_seed_gives_the_same_data():
    """Two runs with one seed write identical rows, UUIDs and events; another seed does not."""
    first = _in_rolled_back_transaction(lambda: (_run(), _snapshot(with_uuids=True))[1])
    second = _in_rolled_back_transaction(lambda: (_run(), _snapshot(with_uuids=True))[1])
    other = _in_rolled_back_transaction(
        lambda: (_run(seed=SEED + 1), _snapshot(with_uuids=True))[1]
    )
    assert len(first["cases"]) == CASES
    assert first == second
    assert [c["person"][1] for c in first["cases"]] != [c["person"][1] for c in other["cases"]]


def test_first_cases_do_not_depend_on_how_many_are_generated():
    """The first ten cases of a seed are the same whether ten or forty are generated."""
    small = _in_rolled_back_transaction(lambda: (_run(cases=10), _snapshot(with_uuids=True))[1])
    _run(cases=40, batch=7)
    large = _snapshot(with_uuids=True)
    by_uuid = {case["uuid"]: case for case in large["cases"]}
    assert all(by_uuid[case["uuid"]] == case for case in small["cases"])


# --------------------------------------------------------------------------------------------
# (b) Consistency
# --------------------------------------------------------------------------------------------


@pytest.fixture
def generated():
    _run()
    return Case.objects.order_by("reference")


def test_case_sequences_are_gapless(generated):
    """Every case's events are numbered 1..last_event_seq without a gap."""
    for case in generated:
        seqs = list(case.events.order_by("case_seq").values_list("case_seq", flat=True))
        assert seqs == list(range(1, case.last_event_seq + 1)), case.reference
        assert case.events.filter(person=case.person).count() == len(seqs)


def test_current_intention_is_what_the_selector_computes(generated):
    """The denormalised current intention equals ``current_intention_for``."""
    for case in generated:
        expected = current_intention_for(case)
        assert case.current_intention_id == (expected.pk if expected else None)
        assert case.current_intention_option == (expected.option if expected else "")
        assert case.current_intention_destination == (
            expected.destination_country if expected else ""
        )
        assert case.current_intention_verification == (expected.verification if expected else "")
        assert case.current_intention_verified == bool(expected and expected.is_verified)


def test_statuses_follow_the_state_machines(generated):
    """Each case and request reaches its status by allowed steps, as its events record."""
    for case in generated:
        status = choices.CaseStatus.CAPTURED
        for event in case.events.filter(kind="case.status_changed").order_by("case_seq"):
            old, new = event.changes["status"]
            assert old == status and new in CASE_TRANSITIONS[old], case.reference
            status = new
        assert status == case.status
        assert (case.closed_at is not None) == (case.status in CASE_CLOSED_STATUSES)
        for request in case.requests.all():
            status = choices.RequestStatus.DRAFT
            events = TimelineEvent.objects.filter(subject_uuid=request.uuid).order_by("case_seq")
            for event in events:
                if event.kind == "request.filed":
                    status = choices.RequestStatus.FILED
                elif event.kind == "request.status_changed":
                    old, new = event.changes["status"]
                    assert old == status and new in REQUEST_TRANSITIONS[old]
                    status = new
            assert status == request.status


def test_no_consent_gated_request_executed_without_verified_consent(generated):
    """Every executed move names the statement that opened the gate, fresh and verified then."""
    executed = Request.objects.filter(status=choices.RequestStatus.EXECUTED).select_related(
        "case__person__power_depends_on", "case__detaining_party"
    )
    moves = 0
    for request in executed:
        move = consent.move_for_request(request)
        if move is None:
            continue
        moves += 1
        event = TimelineEvent.objects.get(
            subject_uuid=request.uuid, kind="request.status_changed", changes__status__1="executed"
        )
        statement = StatedIntention.objects.get(uuid=event.changes["consent_statement"][1])
        assert statement.verification in choices.VERIFIED_LEVELS
        assert statement.option == move.option
        age = (event.occurred_at.date() - statement.stated_on).days
        assert 0 <= age <= consent.max_age_days()
    assert moves


def test_every_case_that_left_custody_was_handed_over(generated):
    """A case repatriated or transferred has one handover, executing his one executed move;
    every executed move has its handover, and the handover names the gate's statement."""
    from cases.models import Handover

    closed = [c for c in generated if c.status in consent.GATED_CASE_STATUSES]
    assert closed, "the sample closes no case by a border crossing"
    for case in generated:
        moves = [
            r
            for r in case.requests.filter(status=choices.RequestStatus.EXECUTED)
            if consent.move_for_request(r) is not None
        ]
        handovers = list(Handover.objects.filter(case=case))
        assert [h.request_id for h in handovers] == [r.pk for r in moves], case.reference
        if case.status in consent.GATED_CASE_STATUSES:
            assert len(handovers) == 1, case.reference
            event = case.events.get(
                kind="request.status_changed",
                subject_uuid=moves[0].uuid,
                changes__status__1="executed",
            )
            assert str(handovers[0].consent_statement.uuid) == event.changes["consent_statement"][1]
        else:
            assert not handovers, case.reference


def test_every_generated_row_passes_validation(generated):
    """Rows written in bulk pass the same model validation the services run."""
    from cases.models import (
        CaptureCard,
        ExternalIdentifier,
        Handover,
        IdentityDocument,
        Movement,
        NationalityClaim,
        Notification,
    )

    for model in (
        Handover,
        Person,
        Case,
        StatedIntention,
        Request,
        Occurrence,
        Position,
        Note,
        IdentityDocument,
        ExternalIdentifier,
        NationalityClaim,
        Movement,
        CaptureCard,
        Notification,
    ):
        for row in model.objects.all():
            row.full_clean()


def test_the_data_set_spreads_over_the_domain():
    """A larger run covers the cohorts, scripts, statuses, request kinds and intention states."""
    progress, _ = _run(cases=400, seed=3)
    assert progress.cases == 400
    case_events = TimelineEvent.objects.filter(case__isnull=False).count()
    # About 13 events a case, 2 to 3 more for his documents, numbers, moves and cards, and
    # the events of the tasks their clocks open and close (about 5), and of his interviews.
    assert 7 <= case_events / 400 <= 30
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {"interned", "repatriated", "on_hold", "hospitalised"} <= statuses
    assert len(statuses) >= 7
    scripts = Counter(Person.objects.values_list("names__script", flat=True))
    assert scripts["hangul"] and scripts["cyrillic"] and scripts["latin"]
    assert Person.objects.filter(names__is_pseudonym=True).exists()
    assert set(Case.objects.values_list("capture_place_code", flat=True)) >= {
        "UA-14",
        "RU-KRS",
    }
    assert len(set(Request.objects.values_list("kind", flat=True))) >= 6
    states = set(StatedIntention.objects.values_list("state", flat=True))
    assert {"active", "superseded", "withdrawn"} <= states
    assert StatedIntention.objects.filter(verification__in=choices.VERIFIED_LEVELS).exists()
    precisions = set(Case.objects.values_list("capture_date_precision", flat=True))
    assert {"day", "month"} <= precisions
    years = {d.year for d in Case.objects.values_list("capture_date", flat=True)}
    assert years == {2022, 2023, 2024, 2025, 2026}
    from cases import clocks
    from cases.models import ExternalIdentifier, IdentityDocument, NationalityClaim, Notification

    assert Person.objects.exclude(family_name="").filter(names__script="hangul").exists()
    assert Person.objects.exclude(family_name="").filter(names__script="cyrillic").exists()
    assert IdentityDocument.objects.filter(genuineness="not_his_own").exists()
    assert ExternalIdentifier.objects.filter(scheme="icrc").count() > 100
    assert NationalityClaim.objects.filter(country="KR").exists()
    assert Case.objects.filter(current_place__isnull=False).count() == 400
    overdue = Case.objects.filter(clocks.capture_card_overdue_q(clocks.today())).count()
    assert 0 < overdue < 400
    assert Notification.objects.filter(state="pending", reason="transfer").exists()


# --------------------------------------------------------------------------------------------
# (c) Fidelity: the same calls through the real services write the same rows and events
# --------------------------------------------------------------------------------------------


def test_bulk_rows_and_events_match_the_services(monkeypatch):
    """Replaying every generated call through the services gives the same data and timeline."""

    def generate_and_look():
        _, calls = _run(record=True)
        return _snapshot(with_uuids=False), calls

    bulk, calls = _in_rolled_back_transaction(generate_and_look)
    services_used = Counter(call.service for call in calls)
    assert {
        "person_create",
        "case_open",
        "case_change_status",
        "case_update",
        "intention_record",
        "intention_set_state",
        "request_file",
        "request_transition",
        "handover_record",
        "position_record",
        "occurrence_record",
        "note_add",
    } <= set(services_used)
    _replay_through_services(calls, monkeypatch)
    replayed = _snapshot(with_uuids=False)
    assert len(replayed["events"]) == len(bulk["events"])
    for ours, theirs in zip(bulk["events"], replayed["events"], strict=True):
        assert ours == theirs
    for ours, theirs in zip(bulk["cases"], replayed["cases"], strict=True):
        assert ours == theirs


# --------------------------------------------------------------------------------------------
# The command: refusal, appending, seed cases left alone
# --------------------------------------------------------------------------------------------


def test_command_refuses_to_run_twice_and_appends_fresh_references():
    """A second run is refused; --append adds cases after the existing demo references."""
    seed_case = factories.case(reference="UA-2025-0001")
    before = (seed_case.version, seed_case.last_event_seq, seed_case.status)
    out = io.StringIO()
    call_command("seed_demo", "--cases", "6", "--seed", "2", "--progress", "4", stdout=out)
    assert "Done: 6 cases" in out.getvalue()
    first = set(demo.demo_references().values_list("reference", flat=True))
    assert len(first) == 6

    with pytest.raises(CommandError, match="already exist"):
        call_command("seed_demo", "--cases", "1", "--seed", "2", stdout=io.StringIO())

    call_command("seed_demo", "--cases", "5", "--seed", "2", "--append", stdout=io.StringIO())
    references = set(demo.demo_references().values_list("reference", flat=True))
    assert len(references) == 11 and first < references
    seed_case.refresh_from_db()
    assert (seed_case.version, seed_case.last_event_seq, seed_case.status) == before
    assert Case.objects.count() == 12


def test_the_generator_writes_only_through_the_services():
    """No module of the generator builds, stores or words rows or events itself."""
    import ast
    from pathlib import Path

    #: What writing past the services would take: the ORM's writes, the sinks' own row and
    #: event calls, a draft, or a summary of its own.
    forbidden = {
        "save",
        "create",
        "bulk_create",
        "update",
        "delete",
        "insert_rows",
        "build_row",
        "EventDraft",
        "summary",
    }
    root = Path(demo.__file__).parent
    found = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                words = {name} | {k.arg for k in node.keywords}
                found += [(path.name, word) for word in sorted(words & forbidden)]
    assert found == []
    assert {p.name for p in root.glob("*.py")} >= {"story.py", "run.py", "tables.py"}


def test_command_rejects_nonsense_counts():
    """Zero cases is refused with a clear message."""
    with pytest.raises(CommandError, match="at least 1"):
        call_command("seed_demo", "--cases", "0", stdout=io.StringIO())


def test_romanisations_follow_their_systems():
    """Transliterations give the spellings each system prescribes."""
    assert demo.translit_ru_bgn("Алексеев") == "Alekseyev"
    assert demo.translit_ru_bgn("Фёдоров") == "Fëdorov"
    assert demo.translit_ru_press("Соловьёв") == "Solovyov"
    assert demo.translit_ru_press("Сергей") == "Sergei"
    assert demo.translit_uk_national("Юрій") == "Yurii"
    assert demo.translit_uk_national("Згурський") == "Zghurskyi"
    assert demo.translit_uk_bgn("Андрій") == "Andriy"


def test_seed_demo_leaves_the_planner_statistics_fresh():
    """On PostgreSQL the command ends with ANALYZE: the tables' row estimates are set."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("planner statistics are PostgreSQL's")
    call_command("seed_demo", "--cases", "30", "--seed", "5", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'cases_timelineevent'")
        (estimate,) = cursor.fetchone()
    assert estimate > 0
