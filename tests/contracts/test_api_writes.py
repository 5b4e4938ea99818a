"""Every write endpoint of the API appends exactly one timeline event that tells the truth.

The endpoints are read from the URL resolver, so a new write route fails
``test_every_api_write_route_has_a_contract`` until it is given a contract here (or listed
as writing no case data, with the reason). Each contract makes one write as a case officer
with a token and checks the event it appends: its kind, the actor (user, token label and
channel) and that the changes it claims are the changes made to the row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from cases.identity import services as identity
from cases.models import Case, Person, Request, StatedIntention, TimelineEvent
from tests import factories as f
from tests.support import timeline
from tests.support.clients import token_client
from tests.support.roles import CASE_OFFICER, superuser, user_in_role
from tests.support.worlds import ri_and_baek

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")

#: Write routes that change no case data, and so append no event.
NO_CASE_DATA = dict.fromkeys(
    (
        "webhook-list",
        "webhook-detail",
        "webhook-pause",
        "webhook-resume",
        "webhook-rotate",
        "webhook-replay",
        "webhook-redeliver",
    ),
    "webhook subscriptions are delivery settings, not case data; their own attempt log and "
    "change log record what they do (cases/webhooks/)",
)
NO_CASE_DATA.update(
    dict.fromkeys(
        ("import-run-list", "import-run-dry-run", "import-mapping-list"),
        "an upload stores the file, a dry run its report and a mapping its columns: none is "
        "case data; the commit is the write (tests/imports/)",
    )
)
NO_CASE_DATA["person-duplicates"] = (
    "the duplicate check answers likely duplicates of a candidate and writes nothing "
    "(tests/duplicates/test_api.py)"
)


def _walk(patterns, prefix=""):
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern


def _write_methods(callback) -> set[str]:
    actions = getattr(callback, "actions", None)
    if actions is not None:  # a viewset route: the methods the router mapped
        return {method for method in actions if method in WRITE_METHODS}
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is None:
        return set(WRITE_METHODS)  # a function view: assume it writes until it has a contract
    allowed = getattr(view, "http_method_names", WRITE_METHODS)
    return {method for method in WRITE_METHODS if method in allowed and hasattr(view, method)}


def api_write_routes() -> set[tuple[str, str]]:
    """Return ``(route name, method)`` of every route of the API that may write."""
    found = set()
    for route, pattern in _walk(get_resolver().url_patterns):
        if not route.lstrip("^").startswith("api/v1/"):
            continue
        for method in _write_methods(pattern.callback):
            found.add((pattern.name or route, method))
    return found


# --------------------------------------------------------------------------------------------
# The world the writes act on
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    """Rows for the writes to act on, and the case officer's token client."""

    client: Any
    token: Any
    officer: Any
    ri: Case
    korea: Any
    source: Any
    intention: StatedIntention
    request: Request


@pytest.fixture
def world() -> World:
    ri, _baek = ri_and_baek()
    korea = f.party("South Korea", country="KR")
    officer = user_in_role(CASE_OFFICER, "contract-officer")
    client, token = token_client(officer, name="contract sync")
    return World(
        client=client,
        token=token,
        officer=officer,
        ri=ri,
        korea=korea,
        source=f.source("Contract report"),
        intention=f.intention(ri, heard_by=korea),
        request=f.request(ri, kind="medical_treatment", addressed_to=korea),
    )


@dataclass(frozen=True)
class Call:
    """One write: the URL's keyword arguments, the body, and the row it changes (if any)."""

    body: dict
    subject: models.Model | None = None
    url_kwargs: dict | None = None
    #: How the body is sent: JSON, but for the one upload that takes a file (multipart).
    format: str = "json"


@dataclass(frozen=True)
class Contract:
    """What one write route appends: an event of ``kind`` about the row it changes."""

    kind: str
    call: Callable[[World], Call]
    #: The row is deleted by the write (a purge): its values before are what the event claims.
    deletes: bool = False
    #: Only a superuser may make this write.
    superuser: bool = False
    #: Events the write appends besides its own, in order before it: a handover changes
    #: several subjects in one transaction, each with its event (cases/exchanges/services.py).
    also: tuple[str, ...] = ()


def _detail(obj) -> dict:
    return {"uuid": obj.uuid}


def _with_version(obj, **body) -> dict:
    return {"version": obj.version, **body}


CONTRACTS: dict[tuple[str, str], Contract] = {
    # Cases
    ("case-list", "post"): Contract(
        "case.opened",
        lambda w: Call(
            {
                "reference": "UA-2025-0777",
                "person": str(f.person("Kim", names=[]).uuid),
                "detaining_party": str(w.ri.detaining_party.uuid),
                "legal_status": "pow",
                "capture_place": "Kursk region",
            }
        ),
    ),
    ("case-detail", "put"): Contract(
        "case.updated",
        lambda w: Call(
            _with_version(
                w.ri,
                reference=w.ri.reference,
                detaining_party=str(w.ri.detaining_party.uuid),
                legal_status="civilian_internee",
                detention_place="Kyiv",
                capture_date="2025-01-09",
            ),
            w.ri,
            _detail(w.ri),
        ),
    ),
    ("case-detail", "patch"): Contract(
        "case.updated",
        lambda w: Call(
            _with_version(w.ri, detention_place="Lviv", priority="high"), w.ri, _detail(w.ri)
        ),
    ),
    ("case-transition", "post"): Contract(
        "case.status_changed",
        lambda w: Call(_with_version(w.ri, status="registered"), w.ri, _detail(w.ri)),
    ),
    ("case-archive", "post"): Contract(
        "case.archived",
        lambda w: Call(_with_version(w.ri, reason="Opened twice"), w.ri, _detail(w.ri)),
    ),
    ("case-unarchive", "post"): Contract(
        "case.unarchived",
        lambda w: Call({"reason": "Not a duplicate"}, _archived(w, "cases", w.ri), _detail(w.ri)),
    ),
    ("case-purge", "post"): Contract(
        "case.purged",
        lambda w: Call(
            {"reason": "Entered by mistake", "confirm_reference": w.ri.reference},
            w.ri,
            _detail(w.ri),
        ),
        deletes=True,
        superuser=True,
    ),
    # Persons
    ("person-list", "post"): Contract(
        "person.created",
        lambda w: Call(
            {
                "working_name": "Baek",
                "names": [{"value": "Paek", "script": "latin"}],
                "nationalities": ["KP"],
                "rank": "private",
            }
        ),
    ),
    ("person-detail", "put"): Contract(
        "person.updated",
        lambda w: Call(
            _with_version(w.ri.person, working_name="Ri", unit="11th corps", rank="private"),
            w.ri.person,
            _detail(w.ri.person),
        ),
    ),
    ("person-detail", "patch"): Contract(
        "person.updated",
        lambda w: Call(
            _with_version(w.ri.person, medical_notes="jaw", sex="male"),
            w.ri.person,
            _detail(w.ri.person),
        ),
    ),
    ("person-archive", "post"): Contract(
        "person.archived",
        lambda w: Call({"reason": "Duplicate"}, w.ri.person, _detail(w.ri.person)),
    ),
    ("person-unarchive", "post"): Contract(
        "person.unarchived",
        lambda w: Call(
            {"reason": "Not a duplicate"},
            _archived(w, "persons", w.ri.person),
            _detail(w.ri.person),
        ),
    ),
    ("person-merge", "post"): Contract(
        "person.merged",
        lambda w: Call(
            {
                "into": str(w.ri.person.uuid),
                "into_version": w.ri.person.version,
                "reason": "Entered twice",
                **_with_version(_lee := f.person("Lee", names=[])),
            },
            w.ri.person,
            _detail(_lee),
        ),
    ),
    ("person-unmerge", "post"): Contract(
        "person.unmerged",
        lambda w: Call(
            _with_version(lee := _merged(w), reason="Two men after all"), lee, _detail(lee)
        ),
    ),
    # Parties and sources
    ("party-list", "post"): Contract(
        "party.created", lambda w: Call({"name": "ICRC", "kind": "international_organisation"})
    ),
    ("party-detail", "put"): Contract(
        "party.updated",
        lambda w: Call(
            _with_version(w.korea, name="Republic of Korea", kind="state", country="KR"),
            w.korea,
            _detail(w.korea),
        ),
    ),
    ("party-detail", "patch"): Contract(
        "party.updated",
        lambda w: Call(_with_version(w.korea, short_name="ROK"), w.korea, _detail(w.korea)),
    ),
    ("source-list", "post"): Contract(
        "source.created", lambda w: Call({"title": "Interview", "publisher": "MBC"})
    ),
    ("source-detail", "put"): Contract(
        "source.updated",
        lambda w: Call(
            _with_version(w.source, title="Contract report, corrected", reliability="B"),
            w.source,
            _detail(w.source),
        ),
    ),
    ("source-detail", "patch"): Contract(
        "source.updated",
        lambda w: Call(_with_version(w.source, language="ko"), w.source, _detail(w.source)),
    ),
    # Statements
    ("intention-list", "post"): Contract(
        "intention.recorded",
        lambda w: Call(
            {
                "case": str(w.ri.uuid),
                "option": "undecided",
                "stated_on": "2025-03-01",
                "setting": "media_interview",
                "verification": "reported",
                "heard_by": str(w.korea.uuid),
            }
        ),
    ),
    ("intention-state", "post"): Contract(
        "intention.withdrawn",
        lambda w: Call(
            _with_version(w.intention, state="withdrawn", reason="He took it back"),
            w.intention,
            _detail(w.intention),
        ),
    ),
    ("intention-archive", "post"): Contract(
        "intention.archived",
        lambda w: Call({"reason": "Entered twice"}, w.intention, _detail(w.intention)),
    ),
    ("intention-unarchive", "post"): Contract(
        "intention.unarchived",
        lambda w: Call(
            {"reason": "Not entered twice"},
            _archived(w, "intentions", w.intention),
            _detail(w.intention),
        ),
    ),
    # Requests and positions
    ("request-list", "post"): Contract(
        "request.filed",
        lambda w: Call(
            {
                "case": str(w.ri.uuid),
                "kind": "family_contact",
                "addressed_to": str(w.korea.uuid),
                "filed_on": "2025-03-01",
            }
        ),
    ),
    ("request-detail", "put"): Contract(
        "request.updated",
        lambda w: Call(
            _with_version(
                w.request,
                addressed_to=str(w.korea.uuid),
                legal_basis="GC III Art. 30",
            ),
            w.request,
            _detail(w.request),
        ),
    ),
    ("request-detail", "patch"): Contract(
        "request.updated",
        lambda w: Call(
            _with_version(w.request, legal_basis="GC III Art. 109"),
            w.request,
            _detail(w.request),
        ),
    ),
    ("request-transition", "post"): Contract(
        "request.status_changed",
        lambda w: Call(
            _with_version(w.request, status="acknowledged"), w.request, _detail(w.request)
        ),
    ),
    ("request-positions", "post"): Contract(
        "position.recorded",
        lambda w: Call(
            {"party": str(w.korea.uuid), "stance": "accepts", "stated_on": "2025-03-04"},
            None,
            _detail(w.request),
        ),
    ),
    ("request-archive", "post"): Contract(
        "request.archived",
        lambda w: Call({"reason": "Filed twice"}, w.request, _detail(w.request)),
    ),
    ("request-unarchive", "post"): Contract(
        "request.unarchived",
        lambda w: Call(
            {"reason": "Not filed twice"},
            _archived(w, "requests", w.request),
            _detail(w.request),
        ),
    ),
    # Occurrences, places, movements and capture cards
    ("occurrence-list", "post"): Contract(
        "occurrence.recorded",
        lambda w: Call(
            {
                "case": str(w.ri.uuid),
                "kind": "icrc_visit",
                "occurred_on": "2025-02-01",
                "description": "ICRC delegates met him",
            }
        ),
    ),
    ("place-list", "post"): Contract(
        "place.created",
        lambda w: Call(
            {
                "name": "Camp East",
                "kind": "camp",
                "detaining_party": str(w.ri.detaining_party.uuid),
                "country": "UA",
                "subdivision_code": "UA-46",
            }
        ),
    ),
    ("place-detail", "put"): Contract(
        "place.updated",
        lambda w: Call(
            _with_version(
                _place(w),
                name="SBU facility, Kyiv",
                kind="prison",
                detaining_party=str(w.ri.detaining_party.uuid),
                address="Kyiv",
            ),
            _place(w),
            _detail(_place(w)),
        ),
    ),
    ("place-detail", "patch"): Contract(
        "place.updated",
        lambda w: Call(_with_version(_place(w), notes="Visited"), _place(w), _detail(_place(w))),
    ),
    ("movement-list", "post"): Contract(
        "movement.recorded",
        lambda w: Call(
            {
                "case": str(w.ri.uuid),
                "to_place": str(_place(w).uuid),
                "moved_on": "2025-01-01",
                "moved_on_precision": "month",
                "kind": "capture",
            }
        ),
    ),
    ("capture-card-list", "post"): Contract(
        "capture_card.recorded",
        lambda w: Call(
            {
                "movement": str(_movement(w).uuid),
                "filled_in_on": "2025-01-12",
                "sent_to_family_on": "2025-01-13",
                "health": "wounded",
                "address_given": True,
            }
        ),
    ),
    ("capture-card-detail", "put"): Contract(
        "capture_card.updated",
        lambda w: Call(
            _with_version(_card(w), filled_in_on="2025-01-12", sent_to_agency_on="2025-01-14"),
            _card(w),
            _detail(_card(w)),
        ),
    ),
    ("capture-card-detail", "patch"): Contract(
        "capture_card.updated",
        lambda w: Call(
            _with_version(_card(w), sent_to_agency_on="2025-01-15"), _card(w), _detail(_card(w))
        ),
    ),
    # Tasks (cases/tasks/)
    ("task-list", "post"): Contract(
        "task.opened",
        lambda w: Call(
            {
                "case": str(w.ri.uuid),
                "title": "Ask the ICRC for a private interview",
                "due_on": "2025-03-20",
                "details": "Before the exchange list closes",
            }
        ),
    ),
    ("task-detail", "put"): Contract(
        "task.updated",
        lambda w: Call(
            _with_version(_task(w), title="Ask the ICRC again", due_on="2025-03-25"),
            _task(w),
            _detail(_task(w)),
        ),
    ),
    ("task-detail", "patch"): Contract(
        "task.updated",
        lambda w: Call(
            _with_version(_task(w), assignee=w.officer.username), _task(w), _detail(_task(w))
        ),
    ),
    ("task-done", "post"): Contract(
        "task.done", lambda w: Call(_with_version(_task(w)), _task(w), _detail(_task(w)))
    ),
    ("task-cancel", "post"): Contract(
        "task.cancelled",
        lambda w: Call(
            _with_version(_task(w), reason="Asked already"), _task(w), _detail(_task(w))
        ),
    ),
    # Risk on return
    ("risk-assessment-list", "post"): Contract(
        "risk.assessed",
        lambda w: Call(
            {
                "case": str(w.ri.uuid),
                "level": "high",
                "basis": "Reports of reprisals",
                "assessor": "Protection officer",
                "assessed_on": "2025-03-02",
            }
        ),
    ),
    # A person's identity records
    ("identity-document-list", "post"): Contract(
        "identity_document.recorded",
        lambda w: Call(
            {
                "person": str(w.ri.person.uuid),
                "kind": "military_id",
                "issuer_country": "RU",
                "number": "RU-123",
                "name_on_document": "Another man",
                "genuineness": "not_his_own",
            }
        ),
    ),
    ("identity-document-detail", "put"): Contract(
        "identity_document.updated",
        lambda w: _identity_call(
            w, _document(w), kind="military_id", issuer_country="RU", genuineness="forged"
        ),
    ),
    ("identity-document-detail", "patch"): Contract(
        "identity_document.updated",
        lambda w: _identity_call(w, _document(w), number="RU-456"),
    ),
    ("external-identifier-list", "post"): Contract(
        "external_identifier.recorded",
        lambda w: Call({"person": str(w.ri.person.uuid), "scheme": "icrc", "value": "KP-001"}),
    ),
    ("external-identifier-detail", "put"): Contract(
        "external_identifier.updated",
        lambda w: _identity_call(w, _identifier(w), scheme="nib", value="KR-NIB-7"),
    ),
    ("external-identifier-detail", "patch"): Contract(
        "external_identifier.updated",
        lambda w: _identity_call(w, _identifier(w), value="KP-003"),
    ),
    ("nationality-claim-list", "post"): Contract(
        "nationality_claim.recorded",
        lambda w: Call(
            {
                "person": str(w.ri.person.uuid),
                "country": "KR",
                "claimed_by": str(w.korea.uuid),
                "basis": "Constitution, Art. 3",
            }
        ),
    ),
    ("nationality-claim-detail", "put"): Contract(
        "nationality_claim.updated",
        lambda w: _identity_call(
            w, _claim(w), country="KR", claimed_by=str(w.korea.uuid), basis="Art. 3"
        ),
    ),
    ("nationality-claim-detail", "patch"): Contract(
        "nationality_claim.updated",
        lambda w: _identity_call(w, _claim(w), basis="Constitution, Art. 3"),
    ),
    # The notification log (GC III Art. 122-123)
    ("notification-sent", "post"): Contract(
        "notification.sent",
        lambda w: _notification_call(
            w, sent_on="2025-03-02", channel="icrc_cta", sent_reference="CTA-2025-1"
        ),
    ),
    ("notification-withhold", "post"): Contract(
        "notification.withheld",
        lambda w: _notification_call(w, withheld_reason="The family would be punished"),
    ),
    ("notification-acknowledge", "post"): Contract(
        "notification.acknowledged",
        lambda w: _notification_call(
            w, sent=True, acknowledged_on="2025-03-09", acknowledgement_reference="ACK-1"
        ),
    ),
    ("notification-recipients-list", "post"): Contract(
        "notification.recipients_set",
        lambda w: Call({"case": str(w.ri.uuid), "recipients": [str(w.korea.uuid)]}),
    ),
    ("notification-recipients-detail", "put"): Contract(
        "notification.recipients_set",
        lambda w: _recipients_call(w),
    ),
    ("notification-recipients-detail", "patch"): Contract(
        "notification.recipients_set",
        lambda w: _recipients_call(w),
    ),
    # Imports: the commit's own event is the source naming the file; every row it applies
    # appends its service's event besides (tests/imports/). A list whose one row matches a
    # person and changes nothing shows the commit's own event alone.
    ("import-run-commit", "post"): Contract("source.created", lambda w: _committable(w)),
    # Documents: attached with a multipart upload, withdrawn with a reason and the version.
    ("document-list", "post"): Contract(
        "document.attached",
        lambda w: Call(
            {
                "case": str(w.ri.uuid),
                "title": "Letter from his mother",
                "kind": "letter",
                "language": "ko",
                "file": _pdf("letter.pdf"),
            },
            format="multipart",
        ),
    ),
    ("document-withdraw", "post"): Contract(
        "document.withdrawn",
        lambda w: (lambda d: Call(_with_version(d, reason="Wrong case"), d, _detail(d)))(
            _attached_document(w)
        ),
    ),
    # Exchanges and handovers
    ("exchange-list", "post"): Contract(
        "exchange.created",
        lambda w: Call(
            {
                "name": "Exchange of 2025-05-23",
                "parties": [str(w.ri.detaining_party.uuid), str(f.party("Russia").uuid)],
                "planned_on": "2025-05-23",
            }
        ),
    ),
    ("exchange-detail", "put"): Contract(
        "exchange.updated",
        lambda w: _exchange_call(w, name="Exchange of 2025-05-24", planned_on="2025-05-24"),
    ),
    ("exchange-detail", "patch"): Contract(
        "exchange.updated", lambda w: _exchange_call(w, partial=True, notes="Mediated by the UAE")
    ),
    ("exchange-transition", "post"): Contract(
        "exchange.status_changed", lambda w: _exchange_call(w, partial=True, status="agreed")
    ),
    ("exchange-entries", "post"): Contract(
        "exchange.entry_set",
        lambda w: _exchange_call(w, partial=True, case=str(w.ri.uuid), state="proposed"),
    ),
    ("handover-list", "post"): Contract(
        "handover.recorded",
        lambda w: _handover_call(w),
        also=("intention.recorded", "request.status_changed", "case.status_changed"),
    ),
    # Visits and private interviews (cases/visits/)
    ("visit-list", "post"): Contract(
        "visit.recorded",
        lambda w: Call(
            {
                "visiting_body": str(f.neutral_party().uuid),
                "visited_on": "2025-03-01",
                "visited_on_precision": "day",
                "detaining_party": str(w.ri.detaining_party.uuid),
                "place_text": "Camp 1",
                "topics": "Mail from home",
                "source": str(w.source.uuid),
            }
        ),
    ),
    ("visit-detail", "put"): Contract(
        "visit.updated",
        lambda w: Call(
            _with_version(
                _visit(w),
                visiting_body=str(_visit(w).visiting_body.uuid),
                visited_on="2025-03-02",
                detaining_party=str(w.ri.detaining_party.uuid),
                place_text="Camp 2",
                notes="Seen in block B",
            ),
            _visit(w),
            _detail(_visit(w)),
        ),
    ),
    ("visit-detail", "patch"): Contract(
        "visit.updated",
        lambda w: Call(
            _with_version(_visit(w), topics="Mail from home", place=str(_place(w).uuid)),
            _visit(w),
            _detail(_visit(w)),
        ),
    ),
    ("interview-list", "post"): Contract(
        "interview.recorded",
        lambda w: Call(
            {
                "visit": str(_visit(w).uuid),
                "case": str(w.ri.uuid),
                "in_private": True,
                "interpreter_supplied_by": str(_visit(w).visiting_body.uuid),
                "topics": "His jaw",
            }
        ),
    ),
}


def _visit(w: World):
    """Return the ICRC's visit to where Ri is held, recorded through its service on first use."""
    if not hasattr(w, "visit"):
        from cases.visits import services as visit_services

        w.visit = visit_services.visit_record(
            actor=f.SYSTEM,
            visiting_body=f.neutral_party(),
            visited_on=dt.date(2025, 3, 1),
            detaining_party=w.ri.detaining_party,
            place_text="Camp 1",
        )
    return w.visit


def _pdf(name: str):
    import io

    from tests.documents.conftest import pdf

    handle = io.BytesIO(pdf())
    handle.name = name
    return handle


def _attached_document(w: World):
    from cases.documents import services as documents
    from tests.documents.conftest import pdf, upload

    return documents.document_attach(
        actor=f.SYSTEM,
        case=w.ri,
        upload=upload("decision.pdf", pdf()),
        title="Decision",
        kind="decision",
    )


def _exchange(w: World):
    """Return an exchange planned between Ukraine and Russia, created on first use."""
    if not hasattr(w, "exchange"):
        from cases.exchanges import services as exchanges

        w.exchange = exchanges.exchange_create(
            actor=f.SYSTEM,
            name="Exchange of 2025-05-23",
            parties=[w.ri.detaining_party, f.party("Russia", country="RU")],
        )
    return w.exchange


def _exchange_call(w: World, *, partial: bool = False, **body) -> Call:
    exchange = _exchange(w)
    if not partial:
        body.setdefault("parties", [str(p.uuid) for p in exchange.parties.all()])
    return Call(_with_version(exchange, **body), exchange, _detail(exchange))


def _handover_call(w: World) -> Call:
    """Return a call handing Ri over to South Korea, reconfirming his verified wish there."""
    dprk = f.party("DPRK", country="KP")
    from cases import services

    services.person_update(actor=f.SYSTEM, person=w.ri.person, power_depends_on=dprk)
    f.verified_wish(w.ri, "third_state", "KR", stated_on=dt.date.today() - dt.timedelta(40))
    transfer = f.request(w.ri, kind="third_state_transfer", addressed_to=w.korea)
    transfer = f.advance_request(transfer, "scheduled")
    f.advance_case(Case.objects.get(pk=w.ri.pk), "release_approved")
    icrc = f.neutral_party()
    return Call(
        {
            "request": str(transfer.uuid),
            "occurred_on": dt.date.today().isoformat(),
            "receiving_authority": str(w.korea.uuid),
            "present_parties": [str(icrc.uuid)],
            "reconfirmation": {
                "heard_by": str(icrc.uuid),
                "detaining_power_present": "no",
                "options_explained": True,
            },
        }
    )


def _document(w: World):
    return identity.identity_document_record(
        actor=f.SYSTEM, person=w.ri.person, kind="military_id", issuer_country="RU"
    )


def _identifier(w: World):
    return identity.external_identifier_record(
        actor=f.SYSTEM, person=w.ri.person, scheme="icrc", value="KP-002"
    )


def _claim(w: World):
    return identity.nationality_claim_record(
        actor=f.SYSTEM, person=w.ri.person, country="KR", claimed_by=w.korea
    )


def _identity_call(w: World, row, **body) -> Call:
    return Call(_with_version(row, **body), row, _detail(row))


def _place(w: World):
    """Return the world's place of detention, created through its service on first use."""
    if not hasattr(w, "place"):
        from cases.places import services as place_services

        w.place = place_services.place_create(
            actor=f.SYSTEM, name="SBU, Kyiv", kind="prison", detaining_party=w.ri.detaining_party
        )
    return w.place


def _movement(w: World):
    """Return the case's capture movement, recorded on first use."""
    if not hasattr(w, "movement"):
        import datetime as dt

        from cases.places import services as place_services

        w.movement = place_services.movement_record(
            actor=f.SYSTEM,
            case=w.ri,
            to_place=_place(w),
            moved_on=dt.date(2025, 1, 9),
            kind="capture",
        )
    return w.movement


def _task(w: World):
    """Return an open task on Ri's case, written by hand on first use."""
    if not hasattr(w, "task"):
        from cases.tasks import services as task_services

        w.task = task_services.task_open(
            actor=f.SYSTEM, case=w.ri, title="Chase the ICRC", due_on=dt.date(2025, 3, 20)
        )
    return w.task


def _card(w: World):
    """Return a capture card of the case's capture, filled in, not sent; made on first use."""
    if not hasattr(w, "card"):
        import datetime as dt

        from cases.places import services as place_services

        w.card = place_services.capture_card_record(
            actor=f.SYSTEM, movement=_movement(w), filled_in_on=dt.date(2025, 1, 12)
        )
    return w.card


def _notification_call(w: World, *, sent: bool = False, **body) -> Call:
    """Return a call acting on a pending (or, with ``sent``, sent) notification of Ri's."""
    from cases.notifications import services as notifications

    notifications.notification_recipients_set(actor=f.SYSTEM, case=w.ri, recipients=[w.korea])
    (row,) = notifications.notifications_open(actor=f.SYSTEM, case=w.ri, reason="transfer")
    if sent:
        row = notifications.notification_mark_sent(
            actor=f.SYSTEM, notification=row, sent_on=dt.date(2025, 3, 2), channel="direct"
        )
    return Call(_with_version(row, **body), row, _detail(row))


def _recipients_call(w: World) -> Call:
    """Return a call replacing Ri's own recipient list."""
    from cases.notifications import services as notifications

    own = notifications.notification_recipients_set(actor=f.SYSTEM, case=w.ri, recipients=[])
    return Call(_with_version(own, recipients=[str(w.korea.uuid)]), own, _detail(own))


def _archived(w: World, resource: str, obj):
    """Archive ``obj`` first (through the API, outside the write under test); return it."""
    response = w.client.post(
        reverse(f"api:{resource[:-1]}-archive", kwargs=_detail(obj)), {"reason": "setup"}
    )
    assert response.status_code == 200, response.content
    return obj


def _committable(w: World) -> Call:
    """Return a call committing a dry-run list whose one row matches Ri, changing nothing."""
    from cases.imports import services as imports

    identity.external_identifier_record(
        actor=f.SYSTEM, person=w.ri.person, scheme="icrc", value="CTA-CONTRACT-1"
    )
    content = f"icrc_number,working_name\nCTA-CONTRACT-1,{w.ri.person.working_name}\n"
    run = imports.import_upload(user=w.officer, file_name="icrc.csv", content=content.encode())
    run = imports.import_dry_run(user=w.officer, run=run)
    assert run.report["counts"]["unchanged"] == 1, run.report
    return Call({}, None, {"uuid": run.uuid})


def _merged(w: World):
    """Merge a second Lee into Ri (through the service, outside the write under test)."""
    from cases.duplicates.services import person_merge

    lee = f.person("Lee", names=[])
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=w.ri.person, reason="setup")
    lee.refresh_from_db()
    return lee


def test_every_api_write_route_has_a_contract():
    """A new write route fails here until it has a contract or is listed as no case data."""
    routes = api_write_routes()
    exempt = {(name, method) for name, method in routes if name in NO_CASE_DATA}
    assert routes - exempt == set(CONTRACTS)
    assert {name for name, _method in exempt} == set(NO_CASE_DATA)


def _row(obj: models.Model) -> dict[str, Any] | None:
    row = type(obj)._base_manager.filter(pk=obj.pk).first()
    return None if row is None else timeline.field_values(row)


@pytest.mark.parametrize(("route", "method"), sorted(CONTRACTS))
def test_the_write_appends_one_event_that_tells_the_truth(world, route, method):
    """One event of the expected kind, by the officer through his token, claiming exactly
    the fields the write changed, with their values before and after."""
    contract = CONTRACTS[(route, method)]
    client, actor, label = world.client, world.officer, world.token.actor_label
    if contract.superuser:
        actor = superuser("contract-root")
        client, token = token_client(actor, name="contract root")
        label = token.actor_label
    call = contract.call(world)
    before = _row(call.subject) if call.subject is not None else None
    url = reverse(f"api:{route}", kwargs=call.url_kwargs or {})

    last = timeline._last_id()
    response = getattr(client, method)(url, call.body, format=call.format)
    assert response.status_code in (200, 201), response.content
    # One event of the expected kind; a write listed with ``also`` appends those first. The
    # events of the tasks a rule opened or closed follow the event that lists them.
    appended = timeline.causing_events(timeline.events_after(last))
    assert [e.kind for e in appended] == [*contract.also, contract.kind], [
        (e.kind, e.summary) for e in appended
    ]
    for event in appended:
        timeline.check_event(event, kind=event.kind, actor=actor, channel="api")
        assert event.actor_label == label
    event = appended[-1]
    if contract.deletes:
        assert _row(call.subject) is None
        timeline.assert_changes_between(event, before, None)
    elif call.subject is not None:
        timeline.assert_changes_between(event, before, _row(call.subject))
    else:
        subject = _subject_of(event)
        timeline.assert_changes_between(event, None, timeline.field_values(subject))


def _subject_of(event: TimelineEvent) -> models.Model:
    for model in (
        Case,
        Person,
        StatedIntention,
        Request,
        *(m for m in Case._meta.apps.get_app_config("cases").get_models()),
    ):
        if model._meta.model_name == event.subject_type:
            return model._base_manager.get(uuid=event.subject_uuid)
    raise AssertionError(f"No model for subject type {event.subject_type}")
