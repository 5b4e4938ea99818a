"""Every admin page and action that writes case data appends one truthful timeline event.

The surfaces are read from the admin site: each registered model's add and change pages,
the inlines that add rows on them, and its actions. A new one fails
``test_every_admin_write_has_a_contract`` until it is given a contract here (or listed as
writing no case data, with the reason). Each contract makes one write as a case officer
signed in to the admin (a superuser for a purge) and checks the event: its kind, the actor
and the admin channel, and that the changes it claims are the changes made to the row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import models
from django.test import RequestFactory
from django.urls import reverse

from cases.documents.models import Document
from cases.exchanges.models import ExchangeListEntry
from cases.identity.models import ExternalIdentifier, IdentityDocument, NationalityClaim
from cases.models import (
    CaptureCard,
    Case,
    Interview,
    Movement,
    Note,
    Occurrence,
    PersonName,
    Position,
    Request,
    RiskAssessment,
    StatedIntention,
    Task,
)
from cases.services import NameSpec
from tests import factories as f
from tests.support import timeline
from tests.support.admin import change_url, errors_text, form_data, new_row
from tests.support.clients import session_client
from tests.support.roles import CASE_OFFICER, superuser, user_in_role

pytestmark = pytest.mark.django_db

#: Admin models whose pages write no case data, and so append no event.
NO_CASE_DATA = {
    "apitoken": "API tokens are credentials, not case data (cases/security/tokens.py)",
    "webhooksubscription": "webhook subscriptions are delivery settings, not case data",
    "importmapping": "a saved column mapping is a setting of imports, not case data",
}
#: Single admin surfaces that write no case data, on models whose other surfaces do.
NO_CASE_DATA_SURFACES = {
    ("handover", "change"): "a handover is never changed: its page shows it read-only "
    "(cases/exchanges/admin.py); the add page is the write",
    ("importrun", "add"): "an upload stores the file and its dry run's report, no case data; "
    "the commit (the import's change page) is the write (tests/imports/)",
}


def admin_write_surfaces() -> set[tuple[str, str]]:
    """Return ``(model name, surface)`` for every admin page, inline and action that writes.

    A surface is ``add``, ``change``, ``inline:<model>`` (a row added on the change page)
    or ``action:<name>``, as a superuser sees them.
    """
    request = RequestFactory().get("/admin/")
    request.user = superuser("surface-walker")
    found = set()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "cases":
            continue
        name = model._meta.model_name
        if model_admin.has_add_permission(request):
            found.add((name, "add"))
        if model_admin.has_change_permission(request):
            found.add((name, "change"))
            for inline in model_admin.get_inline_instances(request):
                if inline.has_add_permission(request, None):
                    found.add((name, f"inline:{inline.model._meta.model_name}"))
        for action in model_admin.get_actions(request):
            found.add((name, f"action:{action}"))
    return found


# --------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------


@dataclass
class World:
    """Rows to act on, and the case officer's admin session."""

    client: Any
    officer: Any
    ri: Case
    korea: Any
    source: Any
    intention: StatedIntention
    request: Request
    kim: Any  # a person without a case


@pytest.fixture
def world() -> World:
    korea = f.party("South Korea", country="KR")
    person = f.person(
        "Ri", names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin", "conventional")]
    )
    ri = f.case(reference="UA-2025-0001", person_obj=person)
    officer = user_in_role(CASE_OFFICER, "admin-officer", is_staff=True)
    return World(
        client=session_client(officer),
        officer=officer,
        ri=ri,
        korea=korea,
        source=f.source("Contract report"),
        intention=f.intention(ri, heard_by=korea),
        request=f.request(ri, kind="medical_treatment", addressed_to=korea),
        kim=f.person("Kim", names=[]),
    )


@dataclass(frozen=True)
class Contract:
    """What one admin surface appends: an event of ``kind`` about the row it writes.

    ``subject(world)`` returns the row the write changes, preparing it first where needed
    (archived before an unarchive), or None for a row the write creates (found from the
    event); ``write(world, client)`` makes the write.
    """

    kind: str
    write: Callable[[World, Any], None]
    subject: Callable[[World], models.Model | None] = lambda w: None
    deletes: bool = False
    superuser: bool = False
    #: Events the write appends besides its own, in order before it: a handover changes
    #: several subjects in one transaction, each with its event (cases/exchanges/services.py).
    also: tuple[str, ...] = ()


def _post_page(client, url: str, change: Callable[[Any, dict], None]):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = form_data(page)
    change(page, data)
    response = client.post(url, data)
    assert response.status_code == 302, errors_text(response)


def _add(model_name: str, **values):
    def write(w: World, client) -> None:
        def fill(page, data):
            data.update({k: v(w) if callable(v) else v for k, v in values.items()})

        _post_page(client, reverse(f"admin:cases_{model_name}_add"), fill)

    return write


def _change(obj_of: Callable[[World], models.Model], **values):
    def write(w: World, client) -> None:
        def fill(page, data):
            data.update(values)

        _post_page(client, change_url(obj_of(w)), fill)

    return write


def _inline(obj_of: Callable[[World], models.Model], model, **values):
    def write(w: World, client) -> None:
        def fill(page, data):
            new_row(page, model, data, **{k: v(w) if callable(v) else v for k, v in values.items()})

        _post_page(client, change_url(obj_of(w)), fill)

    return write


def _action(obj_of: Callable[[World], models.Model], action: str, **extra):
    def write(w: World, client) -> None:
        obj = obj_of(w)
        url = reverse(f"admin:cases_{obj._meta.model_name}_changelist")
        data = {"action": action, ACTION_CHECKBOX_NAME: [obj.pk], "reason": "Contract", **extra}
        response = client.post(f"{url}?archived=include", data)
        assert response.status_code == 302, response.content[:2000]

    return write


def _pdf_upload(name: str):
    """Return a PDF file for the admin's multipart form."""
    import io

    from tests.documents.conftest import pdf

    handle = io.BytesIO(pdf())
    handle.name = name
    return handle


def _document(w: World):
    """Return a document of Ri's case, attached through its service on first use."""
    if not hasattr(w, "document"):
        from cases.documents import services as documents
        from tests.documents.conftest import pdf, upload

        w.document = documents.document_attach(
            actor=f.SYSTEM,
            case=w.ri,
            upload=upload("decision.pdf", pdf()),
            title="Decision",
            kind="decision",
        )
    return w.document


def _archived(obj_of: Callable[[World], models.Model]):
    """Return ``obj_of`` with the row archived first, through the service."""
    from cases import services

    def archived(w: World):
        obj = obj_of(w)
        keyword = {"statedintention": "intention"}.get(obj._meta.model_name, obj._meta.model_name)
        getattr(services, f"{keyword}_archive")(actor=f.SYSTEM, reason="setup", **{keyword: obj})
        return type(obj)._base_manager.get(pk=obj.pk)

    return archived


def _withdrawn(w: World):
    from cases import services

    services.intention_set_state(
        actor=f.SYSTEM, intention=w.intention, state="withdrawn", reason="setup"
    )
    return StatedIntention.objects.get(pk=w.intention.pk)


def _case(w):
    return w.ri


def _person(w):
    return w.ri.person


def _intention(w):
    return w.intention


def _request(w):
    return w.request


def _place(w):
    """Return the world's place of detention, created (through its service) on first use."""
    if not hasattr(w, "place"):
        from cases.places import services as place_services

        w.place = place_services.place_create(
            actor=f.SYSTEM, name="SBU facility, Kyiv", kind="prison", detaining_party=w.korea
        )
    return w.place


def _movement(w):
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


def _task(w):
    """Return an open task on Ri's case, written by hand on first use."""
    if not hasattr(w, "task"):
        import datetime as dt

        from cases.tasks import services as task_services

        w.task = task_services.task_open(
            actor=f.SYSTEM, case=w.ri, title="Chase the ICRC", due_on=dt.date(2025, 3, 20)
        )
    return w.task


def _card(w):
    """Return a capture card of the case's capture, filled in but not sent."""
    import datetime as dt

    from cases.places import services as place_services

    if not hasattr(w, "card"):
        w.card = place_services.capture_card_record(
            actor=f.SYSTEM, movement=_movement(w), filled_in_on=dt.date(2025, 1, 12)
        )
    return w.card


def _prepared(*steps):
    """Return a subject function that prepares rows before the write and returns None."""

    def prepare(w):
        for step in steps:
            step(w)

    return prepare


def _merge_into(w: World, client) -> None:
    """Select Ri and Kim (entered as another man) on the person list, keep Ri."""
    lee = w.kim
    url = reverse("admin:cases_person_changelist")
    data = {
        "action": "merge_into",
        ACTION_CHECKBOX_NAME: [w.ri.person.pk, lee.pk],
        "confirm_merge": "1",
        "keep": str(w.ri.person.pk),
        "reason": "Contract",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]


def _merged_lee(w: World):
    """Return a second Lee merged into Ri (through the service, before the write)."""
    from cases.duplicates.services import person_merge

    lee = f.person("Lee", names=[])
    person_merge(actor=f.SYSTEM, duplicate=lee, survivor=w.ri.person, reason="setup")
    lee.refresh_from_db()
    return lee


def _undo_merge(w: World, client) -> None:
    from cases.duplicates.models import PersonMerge

    merge = PersonMerge.objects.get(undone_at__isnull=True)
    url = reverse("admin:cases_personmerge_changelist")
    data = {"action": "undo_merge", ACTION_CHECKBOX_NAME: [merge.pk], "reason": "Contract"}
    response = client.post(url, data)
    assert response.status_code == 302, response.content[:2000]


def _exchange(w):
    """Return an exchange planned between Ukraine and Russia, created on first use."""
    if not hasattr(w, "exchange"):
        from cases.exchanges import services as exchanges

        w.exchange = exchanges.exchange_create(
            actor=f.SYSTEM,
            name="Exchange of 2025-05-23",
            parties=[w.ri.detaining_party, f.party("Russia", country="RU")],
        )
    return w.exchange


def _exchange_action(action: str):
    """Run ``action`` on the exchange from its list (which has no archived filter)."""

    def write(w: World, client) -> None:
        url = reverse("admin:cases_exchange_changelist")
        data = {"action": action, ACTION_CHECKBOX_NAME: [_exchange(w).pk]}
        response = client.post(url, data)
        assert response.status_code == 302, response.content[:2000]

    return write


def _exchange_in(*statuses):
    """Return ``_exchange`` moved along ``statuses`` first, through the service."""

    def prepared(w):
        from cases.exchanges import services as exchanges

        exchange = _exchange(w)
        for status in statuses:
            exchange = exchanges.exchange_transition(
                actor=f.SYSTEM, exchange=exchange, status=status
            )
        return exchange

    return prepared


def _ready_for_handover(w):
    """Schedule Ri's transfer to South Korea, approve his release, record his verified wish."""
    import datetime as dt

    w.icrc = f.neutral_party()
    f.verified_wish(w.ri, "third_state", "KR", stated_on=dt.date.today() - dt.timedelta(40))
    transfer = f.request(w.ri, kind="third_state_transfer", addressed_to=w.korea)
    w.transfer = f.advance_request(transfer, "scheduled")
    f.advance_case(Case.objects.get(pk=w.ri.pk), "release_approved")
    return None  # the handover is created by the write


def _visit(w):
    """Return the ICRC's visit to where Ri is held, recorded through its service on first use."""
    if not hasattr(w, "visit"):
        import datetime as dt

        from cases.visits import services as visit_services

        w.visit = visit_services.visit_record(
            actor=f.SYSTEM,
            visiting_body=f.neutral_party(),
            visited_on=dt.date(2025, 3, 1),
            detaining_party=w.ri.detaining_party,
            place_text="Camp 1",
        )
    return w.visit


CONTRACTS: dict[tuple[str, str], Contract] = {
    ("place", "add"): Contract(
        "place.created",
        _add("place", name="Camp East", kind="camp", detaining_party=lambda w: str(w.korea.pk)),
    ),
    ("place", "change"): Contract("place.updated", _change(_place, address="Kyiv"), _place),
    ("case", "inline:movement"): Contract(
        "movement.recorded",
        _inline(
            _case,
            Movement,
            kind="capture",
            to_place=lambda w: str(_place(w).pk),
            moved_on="2025-01-09",
            moved_on_precision="day",
        ),
        _prepared(_place),
    ),
    ("case", "inline:capturecard"): Contract(
        "capture_card.recorded",
        _inline(
            _case,
            CaptureCard,
            movement=lambda w: str(_movement(w).pk),
            filled_in_on="2025-01-12",
            sent_to_agency_on="2025-01-14",
            health="well",
        ),
        _prepared(_movement),
    ),
    ("case", "inline:occurrence"): Contract(
        "occurrence.recorded",
        _inline(
            _case,
            Occurrence,
            kind="icrc_visit",
            occurred_on="2025-02-01",
            occurred_on_precision="day",
            description="ICRC delegates met him",
        ),
    ),
    ("occurrence", "add"): Contract(
        "occurrence.recorded",
        _add(
            "occurrence",
            case=lambda w: str(w.ri.pk),
            kind="icrc_visit",
            occurred_on="2025-02-01",
            occurred_on_precision="day",
            description="ICRC delegates met him",
        ),
    ),
    ("case", "inline:document"): Contract(
        "document.attached",
        _inline(
            _case,
            Document,
            title="Letter from his mother",
            kind="letter",
            language="ko",
            upload=lambda w: _pdf_upload("letter.pdf"),
        ),
    ),
    ("document", "change"): Contract(
        "document.withdrawn",
        _change(_document, withdraw="on", reason="Attached to the wrong case"),
        _document,
    ),
    ("capturecard", "change"): Contract(
        "capture_card.updated", _change(_card, sent_to_agency_on="2025-01-14"), _card
    ),
    ("party", "add"): Contract("party.created", _add("party", name="ICRC", kind="ngo")),
    ("party", "change"): Contract(
        "party.updated", _change(lambda w: w.korea, short_name="ROK"), lambda w: w.korea
    ),
    ("source", "add"): Contract("source.created", _add("source", title="Interview")),
    ("source", "change"): Contract(
        "source.updated", _change(lambda w: w.source, language="ko"), lambda w: w.source
    ),
    ("person", "add"): Contract(
        "person.created",
        _add(
            "person",
            working_name="Baek",
            **{"names-TOTAL_FORMS": "0", "names-INITIAL_FORMS": "0"},
        ),
    ),
    ("person", "change"): Contract("person.updated", _change(_person, rank="private"), _person),
    ("person", "inline:personname"): Contract(
        "person.updated",
        _inline(_person, PersonName, value="Yi", script="latin", romanisation="revised"),
        _person,
    ),
    ("person", "inline:identitydocument"): Contract(
        "identity_document.recorded",
        _inline(
            _person,
            IdentityDocument,
            kind="military_id",
            issuer_country="RU",
            number="RU-123",
            genuineness="not_his_own",
        ),
    ),
    ("person", "inline:externalidentifier"): Contract(
        "external_identifier.recorded",
        _inline(_person, ExternalIdentifier, scheme="icrc", value="KP-001"),
    ),
    ("person", "inline:nationalityclaim"): Contract(
        "nationality_claim.recorded",
        _inline(
            _person,
            NationalityClaim,
            country="KR",
            claimed_by=lambda w: str(w.korea.pk),
            basis="Constitution",
        ),
    ),
    ("person", "action:archive_selected"): Contract(
        "person.archived", _action(_person, "archive_selected"), _person
    ),
    ("person", "action:unarchive_selected"): Contract(
        "person.unarchived", _action(_person, "unarchive_selected"), _archived(_person)
    ),
    ("person", "action:merge_into"): Contract("person.merged", _merge_into, _person),
    ("personmerge", "action:undo_merge"): Contract("person.unmerged", _undo_merge, _merged_lee),
    ("case", "add"): Contract(
        "case.opened",
        _add(
            "case",
            reference="UA-2025-0777",
            person=lambda w: str(w.kim.pk),
            detaining_party=lambda w: str(w.ri.detaining_party.pk),
            legal_status="pow",
        ),
    ),
    ("case", "change"): Contract("case.updated", _change(_case, detention_place="Kyiv"), _case),
    ("case", "inline:statedintention"): Contract(
        "intention.recorded",
        _inline(
            _case,
            StatedIntention,
            option="undecided",
            stated_on="2025-03-01",
            stated_on_precision="day",
            setting="media_interview",
            verification="reported",
        ),
    ),
    ("case", "inline:riskassessment"): Contract(
        "risk.assessed",
        _inline(
            _case,
            RiskAssessment,
            level="high",
            basis="Reports of reprisals",
            assessor="Protection officer",
            assessed_on="2025-03-02",
        ),
    ),
    ("case", "inline:request"): Contract(
        "request.filed",
        _inline(
            _case,
            Request,
            kind="family_contact",
            addressed_to=lambda w: str(w.korea.pk),
            status="filed",
            filed_on="2025-03-01",
        ),
    ),
    ("case", "inline:task"): Contract(
        "task.opened",
        _inline(_case, Task, title="Ask the ICRC for a visit", due_on="2025-03-20"),
    ),
    ("task", "change"): Contract(
        "task.updated", _change(_task, title="Ask the ICRC again", due_on="2025-03-25"), _task
    ),
    ("case", "inline:note"): Contract(
        "note.added", _inline(_case, Note, body="Asked about surgery")
    ),
    ("case", "action:archive_selected"): Contract(
        "case.archived", _action(_case, "archive_selected"), _case
    ),
    ("case", "action:unarchive_selected"): Contract(
        "case.unarchived", _action(_case, "unarchive_selected"), _archived(_case)
    ),
    ("case", "action:purge_case"): Contract(
        "case.purged",
        _action(
            _case,
            "purge_case",
            confirm_purge="1",
            confirm_reference="UA-2025-0001",
        ),
        _case,
        deletes=True,
        superuser=True,
    ),
    ("statedintention", "action:archive_selected"): Contract(
        "intention.archived", _action(_intention, "archive_selected"), _intention
    ),
    ("statedintention", "action:unarchive_selected"): Contract(
        "intention.unarchived", _action(_intention, "unarchive_selected"), _archived(_intention)
    ),
    ("statedintention", "action:mark_withdrawn"): Contract(
        "intention.withdrawn", _action(_intention, "mark_withdrawn"), _intention
    ),
    ("statedintention", "action:mark_contested"): Contract(
        "intention.contested", _action(_intention, "mark_contested"), _intention
    ),
    ("statedintention", "action:mark_invalidated"): Contract(
        "intention.invalidated", _action(_intention, "mark_invalidated"), _intention
    ),
    # Reinstating a statement records it again as active: the kind of a new statement.
    ("statedintention", "action:mark_active"): Contract(
        "intention.recorded", _action(_intention, "mark_active"), _withdrawn
    ),
    ("request", "add"): Contract(
        "request.filed",
        _add(
            "request",
            case=lambda w: str(w.ri.pk),
            kind="family_contact",
            addressed_to=lambda w: str(w.korea.pk),
            status="filed",
            filed_on="2025-03-01",
            **{"positions-TOTAL_FORMS": "0", "positions-INITIAL_FORMS": "0"},
        ),
    ),
    ("request", "change"): Contract(
        "request.updated", _change(_request, legal_basis="GC III Art. 30"), _request
    ),
    ("request", "inline:position"): Contract(
        "position.recorded",
        _inline(
            _request,
            Position,
            party=lambda w: str(w.korea.pk),
            stance="accepts",
            stated_on="2025-03-04",
        ),
    ),
    ("request", "action:archive_selected"): Contract(
        "request.archived", _action(_request, "archive_selected"), _request
    ),
    ("request", "action:unarchive_selected"): Contract(
        "request.unarchived", _action(_request, "unarchive_selected"), _archived(_request)
    ),
    # The notification log (GC III Art. 122-123)
    ("notification", "change"): Contract(
        "notification.sent",
        _change(
            lambda w: _notification(w),
            act="sent",
            sent_on="2025-03-02",
            channel="protecting_power",
            sent_reference="Note 14/2025",
        ),
        lambda w: _notification(w),
    ),
    ("notificationsettings", "add"): Contract(
        "notification.recipients_set",
        _add(
            "notificationsettings",
            case=lambda w: str(w.ri.pk),
            recipients=lambda w: [str(w.korea.pk)],
        ),
    ),
    ("notificationsettings", "change"): Contract(
        "notification.recipients_set",
        lambda w, client: _post_page(
            client,
            change_url(_settings(w)),
            lambda page, data: data.update(recipients=[str(w.korea.pk)]),
        ),
        lambda w: _settings(w),
    ),
    # Imports: the commit button's own event is the source naming the file; every row it
    # applies appends its service's event besides (tests/imports/). A list whose one row
    # matches a person and changes nothing shows the commit's own event alone.
    ("importrun", "change"): Contract(
        "source.created",
        lambda w, client: _commit_import(w, client),
        subject=lambda w: _dry_run_import(w),
    ),
    # Exchanges and handovers
    ("exchange", "add"): Contract(
        "exchange.created",
        _add(
            "exchange",
            name="Exchange of 2025-05-23",
            parties=lambda w: [str(w.ri.detaining_party.pk), str(w.russia.pk)],
            planned_on="2025-05-23",
        ),
        lambda w: setattr(w, "russia", f.party("Russia", country="RU")),  # created before
    ),
    ("exchange", "change"): Contract(
        "exchange.updated", _change(_exchange, notes="Mediated by the UAE"), _exchange
    ),
    ("exchange", "inline:exchangelistentry"): Contract(
        "exchange.entry_set",
        _inline(_exchange, ExchangeListEntry, case=lambda w: str(w.ri.pk), state="proposed"),
        _exchange,
    ),
    ("exchange", "action:mark_agreed"): Contract(
        "exchange.status_changed", _exchange_action("mark_agreed"), _exchange
    ),
    ("exchange", "action:mark_in_progress"): Contract(
        "exchange.status_changed",
        _exchange_action("mark_in_progress"),
        _exchange_in("agreed"),
    ),
    ("exchange", "action:mark_completed"): Contract(
        "exchange.status_changed",
        _exchange_action("mark_completed"),
        _exchange_in("agreed", "in_progress"),
    ),
    ("exchange", "action:mark_cancelled"): Contract(
        "exchange.status_changed", _exchange_action("mark_cancelled"), _exchange
    ),
    ("handover", "add"): Contract(
        "handover.recorded",
        _add(
            "handover",
            request=lambda w: str(w.transfer.pk),
            occurred_on=lambda w: __import__("datetime").date.today().isoformat(),
            occurred_on_precision="day",
            receiving_authority=lambda w: str(w.korea.pk),
            present_parties=lambda w: [str(w.icrc.pk)],
            reconfirmed="on",
            heard_by=lambda w: str(w.icrc.pk),
            detaining_power_present="no",
            options_explained="on",
        ),
        _ready_for_handover,
        also=("intention.recorded", "request.status_changed", "case.status_changed"),
    ),
    # Visits and private interviews (cases/visits/)
    ("visit", "add"): Contract(
        "visit.recorded",
        _add(
            "visit",
            visiting_body=lambda w: str(w.icrc.pk),
            visited_on="2025-03-01",
            visited_on_precision="day",
            detaining_party=lambda w: str(w.ri.detaining_party.pk),
            place_text="Camp 1",
            topics="Mail from home",
            source=lambda w: str(w.source.pk),
        ),
        lambda w: setattr(w, "icrc", f.neutral_party()),  # created before
    ),
    ("visit", "change"): Contract(
        "visit.updated",
        lambda w, client: _post_page(
            client,
            change_url(_visit(w)),
            lambda page, data: data.update(
                visited_on="2025-03-02", place_text="Camp 2", notes="Seen in block B"
            ),
        ),
        _visit,
    ),
    ("visit", "inline:interview"): Contract(
        "interview.recorded",
        _inline(
            _visit,
            Interview,
            case=lambda w: str(w.ri.pk),
            in_private="on",
            interpreter_supplied_by=lambda w: str(f.neutral_party().pk),
            topics="His jaw",
        ),
        _prepared(_visit),
    ),
    ("case", "inline:interview"): Contract(
        "interview.recorded",
        _inline(
            _case,
            Interview,
            visit=lambda w: str(_visit(w).pk),
            in_private="on",
            notes="Seen alone",
        ),
        _prepared(_visit),
    ),
}


def _notification(w: World):
    """Return Ri's pending notification of a transfer to South Korea (opened once)."""
    from cases.notifications import services as notifications
    from cases.notifications.models import Notification

    found = Notification.objects.filter(case=w.ri, reason="transfer").first()
    if found is not None:
        return found
    notifications.notification_recipients_set(actor=f.SYSTEM, case=w.ri, recipients=[w.korea])
    return notifications.notifications_open(actor=f.SYSTEM, case=w.ri, reason="transfer")[0]


def _settings(w: World):
    """Return Ri's own recipient list (empty), made once."""
    from cases.notifications import services as notifications
    from cases.notifications.models import NotificationSettings

    found = NotificationSettings.objects.filter(case=w.ri).first()
    if found is not None:
        return found
    return notifications.notification_recipients_set(actor=f.SYSTEM, case=w.ri, recipients=[])


def _dry_run_import(w: World) -> None:
    """Dry-run (outside the write) a list whose one row matches Ri and changes nothing."""
    from cases.identity import services as identity
    from cases.imports import services as imports

    identity.external_identifier_record(
        actor=f.SYSTEM, person=w.ri.person, scheme="icrc", value="CTA-ADMIN-1"
    )
    content = f"icrc_number,working_name\nCTA-ADMIN-1,{w.ri.person.working_name}\n".encode()
    run = imports.import_dry_run(
        user=w.officer,
        run=imports.import_upload(user=w.officer, file_name="icrc.csv", content=content),
    )
    assert run.report["counts"]["unchanged"] == 1, run.report
    w.import_run = run


def _commit_import(w: World, client) -> None:
    """Commit the dry-run list with the import page's button."""
    run = w.import_run
    response = client.post(change_url(run), {"_commit": "Commit"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "committed"


def test_every_admin_write_has_a_contract():
    """A new admin page, inline or action fails here until it has a contract."""
    surfaces = admin_write_surfaces()
    exempt = {(model, surface) for model, surface in surfaces if model in NO_CASE_DATA}
    assert surfaces - exempt - set(NO_CASE_DATA_SURFACES) == set(CONTRACTS)
    assert {model for model, _surface in exempt} == set(NO_CASE_DATA)
    assert set(NO_CASE_DATA_SURFACES) <= surfaces


def _row(obj: models.Model | None) -> dict[str, Any] | None:
    if obj is None:
        return None
    row = type(obj)._base_manager.filter(pk=obj.pk).first()
    return None if row is None else timeline.field_values(row)


@pytest.mark.parametrize(("model", "surface"), sorted(CONTRACTS))
def test_the_admin_write_appends_one_event_that_tells_the_truth(world, model, surface):
    """One event of the expected kind, by the signed-in user through the admin, claiming
    exactly the fields the write changed, with their values before and after."""
    contract = CONTRACTS[(model, surface)]
    client, actor = world.client, world.officer
    if contract.superuser:
        actor = superuser("admin-root")
        client = session_client(actor)
    # The subject is prepared (e.g. archived before an unarchive) outside the write.
    subject = contract.subject(world)
    before = _row(subject)

    last = timeline._last_id()
    contract.write(world, client)
    # One event of the expected kind; a write listed with ``also`` appends those first. The
    # events of the tasks a rule opened or closed follow the event that lists them.
    appended = timeline.causing_events(timeline.events_after(last))
    assert [e.kind for e in appended] == [*contract.also, contract.kind], [
        (e.kind, e.summary) for e in appended
    ]
    for event in appended:
        timeline.check_event(event, kind=event.kind, actor=actor, channel="admin")
    event = appended[-1]
    if contract.deletes:
        assert _row(subject) is None
        timeline.assert_changes_between(event, before, None)
    elif subject is not None:
        timeline.assert_changes_between(event, before, _row(subject))
    else:
        created = _subject_of(event)
        timeline.assert_changes_between(event, None, timeline.field_values(created))


def _subject_of(event) -> models.Model:
    for model in Case._meta.apps.get_app_config("cases").get_models():
        if model._meta.model_name == event.subject_type:
            return model._base_manager.get(uuid=event.subject_uuid)
    raise AssertionError(f"No model for subject type {event.subject_type}")
