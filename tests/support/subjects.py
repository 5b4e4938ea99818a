"""Every subject type events name: its endpoint, a world holding one of each, and the event
representation of an API read (the resource's JSON without what events leave out)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cases import services
from cases.api.representations import CASE_DETAIL_LEFT_OUT, CASE_LEFT_OUT, REQUEST_LEFT_OUT
from cases.services import NameSpec
from tests import factories

#: Subject type -> the list endpoint that serves it.
ENDPOINTS = {
    "case": "/api/v1/cases/",
    "person": "/api/v1/persons/",
    "party": "/api/v1/parties/",
    "source": "/api/v1/sources/",
    "statedintention": "/api/v1/intentions/",
    "request": "/api/v1/requests/",
    "riskassessment": "/api/v1/risk-assessments/",
    "position": "/api/v1/positions/",
    "occurrence": "/api/v1/occurrences/",
    "note": "/api/v1/notes/",
    "place": "/api/v1/places/",
    "movement": "/api/v1/movements/",
    "capturecard": "/api/v1/capture-cards/",
    "notification": "/api/v1/notifications/",
    "notificationsettings": "/api/v1/notification-recipients/",
    "task": "/api/v1/tasks/",
    "identitydocument": "/api/v1/identity-documents/",
    "externalidentifier": "/api/v1/external-identifiers/",
    "nationalityclaim": "/api/v1/nationality-claims/",
    "document": "/api/v1/documents/",
    "exchange": "/api/v1/exchanges/",
    "handover": "/api/v1/handovers/",
    "visit": "/api/v1/visits/",
    "interview": "/api/v1/interviews/",
}


def as_event_object(subject_type: str, resource: dict[str, Any]) -> dict[str, Any]:
    """Return an API read of a row as its events carry it (docs/feed.md says what they leave
    out): no ``url``; a case without what its statements and requests decide and with its
    person by uuid; a request without its positions."""
    shown = {key: value for key, value in resource.items() if key != "url"}
    if subject_type == "case":
        for key in (*CASE_LEFT_OUT, *CASE_DETAIL_LEFT_OUT):
            shown.pop(key, None)
        shown["person"] = {"uuid": resource["person"]["uuid"]}
    elif subject_type == "request":
        for key in REQUEST_LEFT_OUT:
            shown.pop(key, None)
    elif subject_type == "document":
        shown.pop("content", None)  # an address, as ``url`` is
    return shown


def build_world() -> dict[str, Any]:
    """Write one row of every subject type through the services, each changed at least once
    where it can be, with sensitive values in it (a true name, a quote, a note's body)."""
    system = factories.SYSTEM
    report = factories.source("Interview with Ri")
    services.source_update(actor=system, source=report, reliability="B")
    ukraine = factories.party("Ukraine", country="UA")
    korea = factories.party("South Korea", kind="state", country="KR")
    services.party_update(actor=system, party=korea, short_name="ROK")
    person = factories.person(
        "Ri",
        names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin", "conventional", True)],
        birth_place="Kyongsong",
    )
    case = factories.case(reference="UA-2025-9001", person_obj=person, detaining_party=ukraine)
    services.case_update(actor=system, case=case, detention_place="Kyiv")
    services.case_change_status(actor=system, case=case, status="registered")
    services.person_update(actor=system, person=person, rank="Private")
    wish = factories.intention(case, quote="I want to go to Seoul", conditions="if surgery")
    newer = services.intention_supersede(
        actor=system,
        intention=wish,
        option="undecided",
        stated_on=dt.date(2025, 3, 19),
        setting="media_interview",
        verification="stated",
    )
    request = factories.request(
        case, kind="third_state_transfer", addressed_to=korea, intention=newer, source=report
    )
    services.request_transition(actor=system, request=request, status="acknowledged")
    position = services.position_record(
        actor=system,
        request=request,
        party=korea,
        stance="conditional",
        stated_on=dt.date(2025, 3, 19),
        conditions="if they choose",
        source=report,
    )
    occurrence = services.occurrence_record(
        actor=system,
        case=case,
        kind="icrc_visit",
        occurred_on=dt.date(2025, 2, 1),
        description="ICRC delegates met both men",
        source=report,
    )
    note = services.note_add(actor=system, case=case, body="Asked for jaw surgery", source=report)
    risk = services.risk_assessment_record(
        actor=system,
        case=case,
        level="high",
        basis="Family in Pyongyang",
        assessor="Protection officer",
        assessed_on=dt.date(2025, 3, 1),
    )
    from cases.places import services as place_services

    kyiv = place_services.place_create(
        actor=system, name="SBU facility, Kyiv", kind="prison", detaining_party=ukraine
    )
    place_services.place_update(actor=system, place=kyiv, subdivision_code="UA-30")
    movement = place_services.movement_record(
        actor=system,
        case=case,
        to_place=kyiv,
        moved_on=dt.date(2025, 1, 9),
        kind="capture",
        source=report,
    )
    card = place_services.capture_card_record(
        actor=system, movement=movement, filled_in_on=dt.date(2025, 1, 12), health="wounded"
    )
    place_services.capture_card_update(
        actor=system, card=card, sent_to_agency_on=dt.date(2025, 1, 14)
    )

    from cases.notifications import services as notifications

    own = notifications.notification_recipients_set(actor=system, case=case, recipients=[korea])
    (notification,) = notifications.notifications_open(actor=system, case=case, reason="transfer")
    notification = notifications.notification_withhold(
        actor=system, notification=notification, withheld_reason="His family would be punished"
    )
    from cases.tasks import services as task_services

    task = task_services.task_open(
        actor=system,
        case=case,
        title="Ask the ICRC for a private interview",
        due_on=dt.date(2025, 3, 1),
        details="He fears his family would be punished if he is returned",
    )
    task = task_services.task_update(actor=system, task=task, due_on=dt.date(2025, 3, 3))
    from cases.identity import services as identity

    document = identity.identity_document_record(
        actor=system, person=person, kind="military_id", issuer_country="RU", number="RU-1"
    )
    identity.identity_document_update(
        actor=system, identitydocument=document, genuineness="not_his_own"
    )
    identifier = identity.external_identifier_record(
        actor=system, person=person, scheme="icrc", value="CTA-1"
    )
    claim = identity.nationality_claim_record(
        actor=system, person=person, country="KR", claimed_by=korea, basis="Constitution, Art. 3"
    )
    from cases.documents import services as documents
    from tests.documents.conftest import text, upload

    letter = documents.document_attach(
        actor=system,
        case=case,
        upload=upload("Ri letter from his mother.txt", text()),
        title="Letter from his mother",
        kind="letter",
        statement=newer,
    )
    letter = documents.document_withdraw(actor=system, document=letter, reason="Wrong scan")
    from cases.exchanges import services as exchanges

    russia = factories.party("Russia", country="RU")
    exchange = exchanges.exchange_create(
        actor=system, name="Exchange of 2025-05-23", parties=[ukraine, russia]
    )
    exchange = exchanges.exchange_update(actor=system, exchange=exchange, notes="UAE mediated")
    # A second man, handed over to South Korea: the handover closes his case, not Ri's.
    baek = factories.case(
        reference="UA-2025-9002", person_obj=factories.person("Baek"), detaining_party=ukraine
    )
    exchanges.exchange_entry_set(actor=system, exchange=exchange, case=baek, state="proposed")
    exchange.refresh_from_db()
    factories.verified_wish(baek, "third_state", "KR")
    transfer = factories.advance_request(
        factories.request(baek, kind="third_state_transfer", addressed_to=korea), "scheduled"
    )
    factories.advance_case(baek, "release_approved")
    handover = factories.handover(transfer)
    # The ICRC's visit in which Baek's verified wish was taken, and the interview itself.
    from cases.models import Interview
    from cases.visits import services as visits

    interview = Interview.objects.select_related("visit").get(case=baek)
    visit = visits.visit_update(
        actor=system, visit=interview.visit, topics="Mail from home", notes="Two delegates"
    )
    return {
        "visit": visit,
        "interview": interview,
        "exchange": exchange,
        "handover": handover,
        "document": letter,
        "identitydocument": document,
        "externalidentifier": identifier,
        "nationalityclaim": claim,
        "place": kyiv,
        "movement": movement,
        "capturecard": card,
        "notification": notification,
        "notificationsettings": own,
        "task": task,
        "source": report,
        "party": korea,
        "person": person,
        "case": case,
        "statedintention": newer,
        "superseded": wish,
        "request": request,
        "position": position,
        "occurrence": occurrence,
        "note": note,
        "riskassessment": risk,
    }
