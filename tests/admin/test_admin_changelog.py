"""Django's admin change log holds no sensitive text; History shows the redacted timeline;
list and history pages log the sensitive values they show; purge empties the change log.

Requests go through the Django test client as a staff analyst (no ``cases.view_sensitive``),
a case officer and a superuser, holding the role groups of ``cases.security.access.ROLES``.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import reverse

from cases import services
from cases.admin.mixins import log_label
from cases.models import AccessLogEntry, Case, Note, Person, TimelineEvent
from cases.security import access
from cases.services import Actor, NameSpec
from tests import factories as f
from tests.admin.test_admin_lookups import role_user
from tests.support.admin import form_data, new_row

pytestmark = pytest.mark.django_db

NOTE = "Asked privately about jaw surgery in Seoul"
MEDICAL = "gunshot wound to the jaw"
TRUE_NAME = "리"


@pytest.fixture
def world():
    """Ri's case (a true name, a medical note) and a signed-in client per role."""
    person = f.person(
        "Ri",
        names=[NameSpec(TRUE_NAME, "hangul"), NameSpec("Ryu", "latin", "", True)],
        medical_notes=MEDICAL,
    )
    case = f.case(reference="UA-2025-0001", person_obj=person)
    clients, users = {}, {}
    for role in ("analyst", "case_officer", "superuser"):
        users[role] = role_user(role)
        clients[role] = Client()
        clients[role].force_login(users[role])
    return {"case": case, "person": person, "clients": clients, "users": users}


def _add_note_through_the_admin(client, case: Case, body: str = NOTE) -> Note:
    url = reverse("admin:cases_case_change", args=[case.pk])
    page = client.get(url)
    data = form_data(page)
    new_row(page, Note, data, body=body)
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    return Note.objects.get(case=case, body=body)


def _texts(entries) -> str:
    return " ".join(f"{e.object_repr} {e.change_message} {e.get_change_message()}" for e in entries)


def _log_since(before: int) -> list[AccessLogEntry]:
    return list(AccessLogEntry.objects.order_by("id")[before:])


# --------------------------------------------------------------------------------------------
# The change log
# --------------------------------------------------------------------------------------------


def test_a_note_added_in_the_admin_leaves_no_text_in_the_change_log(world):
    """The change log names the case by reference and the note by its uuid, not its text."""
    note = _add_note_through_the_admin(world["clients"]["case_officer"], world["case"])
    entries = list(LogEntry.objects.all())
    assert entries, "the admin still records the change"
    text = _texts(entries)
    assert "jaw" not in text and NOTE[:20] not in text
    assert f"Note {note.uuid}" in text
    assert {e.object_repr for e in entries} == {"Case UA-2025-0001"}


def test_a_person_change_in_the_admin_leaves_no_true_name_or_medical_text(world):
    """Adding a person with a true name and medical notes: the log names fields, not values."""
    client = world["clients"]["superuser"]
    page = client.get(reverse("admin:cases_person_add"))
    data = form_data(page)
    data.update(working_name="Baek", medical_notes="shrapnel in the leg")
    new_row(page, Person.names.rel.related_model, data, value="백", script="hangul")
    response = client.post(reverse("admin:cases_person_add"), data)
    assert response.status_code == 302
    person = Person.objects.get(working_name="Baek")
    entry = LogEntry.objects.get(object_id=str(person.pk))
    assert entry.object_repr == f"Person {person.uuid}"
    text = _texts([entry])
    assert "백" not in text and "shrapnel" not in text and "Baek" not in text


def test_log_label_never_uses_the_object_text(world):
    """Notes and name variants are named by kind and uuid or id; cases by reference."""
    note = services.note_add(actor=Actor.system("tests"), case=world["case"], body=NOTE)
    assert log_label(note) == f"Note {note.uuid}"
    name = world["person"].names.get(value=TRUE_NAME)
    assert TRUE_NAME not in log_label(name)
    assert log_label(world["case"]) == "Case UA-2025-0001"


# --------------------------------------------------------------------------------------------
# History pages answer with the timeline
# --------------------------------------------------------------------------------------------


def test_case_history_is_the_redacted_timeline_for_an_analyst(world):
    """The case's History is its timeline: the note's text withheld, nothing logged."""
    _add_note_through_the_admin(world["clients"]["case_officer"], world["case"])
    url = reverse("admin:cases_case_history", args=[world["case"].pk])
    before = AccessLogEntry.objects.count()
    response = world["clients"]["analyst"].get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "note.added" in body and "Note added (text withheld)" in body
    assert "jaw" not in body and TRUE_NAME not in body
    assert "<title>Timeline: Case UA-2025-0001" in body
    assert _log_since(before) == []


def test_case_history_shows_and_logs_for_a_case_officer(world):
    """An officer sees the note's first line on the case's timeline; the page logs the read."""
    note = _add_note_through_the_admin(world["clients"]["case_officer"], world["case"])
    url = reverse("admin:cases_case_history", args=[world["case"].pk])
    before = AccessLogEntry.objects.count()
    response = world["clients"]["case_officer"].get(url)
    assert response.status_code == 200
    assert NOTE[:20] in response.content.decode()
    entries = _log_since(before)
    assert {(e.object_type, e.object_uuid) for e in entries} >= {("note", note.uuid)}
    assert {e.channel for e in entries} == {access.ADMIN}
    assert len({e.response_id for e in entries}) == 1


def test_timeline_event_history_title_withholds_the_note(world):
    """The history page of a ``note.added`` event names the event by uuid, for every role;
    the analyst's page holds no note text, the officer's shows it and is logged."""
    _add_note_through_the_admin(world["clients"]["case_officer"], world["case"])
    event = TimelineEvent.objects.get(kind="note.added")
    url = reverse("admin:cases_timelineevent_history", args=[event.pk])
    analyst = world["clients"]["analyst"].get(url)
    assert analyst.status_code == 200
    text = analyst.content.decode()
    assert f"Timeline: Timeline event {event.uuid}" in text
    assert "jaw" not in text
    before = AccessLogEntry.objects.count()
    officer = world["clients"]["case_officer"].get(url)
    assert "<title>Timeline: Timeline event" in officer.content.decode()
    assert NOTE[:20] in officer.content.decode().split("</title>", 1)[1]
    assert [e.object_type for e in _log_since(before)] == ["note"]


def test_person_history_withholds_true_names_and_medical_notes_from_an_analyst(world):
    """A person's History lists the person's events; sensitive changes say "withheld"."""
    url = reverse("admin:cases_person_history", args=[world["person"].pk])
    before = AccessLogEntry.objects.count()
    response = world["clients"]["analyst"].get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "person.created" in body
    assert TRUE_NAME not in body and "jaw" not in body
    assert _log_since(before) == []
    response = world["clients"]["case_officer"].get(url)
    assert TRUE_NAME in response.content.decode()
    entries = _log_since(before)
    assert [(e.object_type, e.object_uuid) for e in entries] == [("person", world["person"].uuid)]


def test_change_pages_link_to_the_timeline_not_to_django_history(world):
    """The object tools say "Timeline"; the link is the history URL that now shows it."""
    response = world["clients"]["analyst"].get(
        reverse("admin:cases_case_change", args=[world["case"].pk])
    )
    body = response.content.decode()
    history = reverse("admin:cases_case_history", args=[world["case"].pk])
    assert f'href="{history}" class="historylink">Timeline</a>' in body


def test_history_of_every_case_admin_answers_without_django_change_log(world):
    """Every case-data admin's History is the timeline page; none shows Django's log."""
    _add_note_through_the_admin(world["clients"]["case_officer"], world["case"])
    intention = f.intention(world["case"], quote="I want to go to South Korea")
    req = f.request(world["case"])
    targets = {
        "case": world["case"],
        "person": world["person"],
        "statedintention": intention,
        "request": req,
        "party": world["case"].detaining_party,
        "timelineevent": TimelineEvent.objects.filter(case=world["case"]).first(),
    }
    for model_name, obj in targets.items():
        url = reverse(f"admin:cases_{model_name}_history", args=[obj.pk])
        response = world["clients"]["analyst"].get(url)
        assert response.status_code == 200, model_name
        assert "admin/cases/timeline_history.html" in [t.name for t in response.templates]
        body = response.content.decode()
        # The quote is withheld; the destination (South Korea, by its label) is not sensitive.
        assert "jaw" not in body and "I want to go to" not in body and TRUE_NAME not in body


# --------------------------------------------------------------------------------------------
# Change lists that show sensitive values log them
# --------------------------------------------------------------------------------------------


def test_person_list_logs_true_names_for_an_officer_and_shows_none_to_an_analyst(world):
    """The person list shows true names to an officer (logged: one entry per person shown
    with one) and only pseudonyms to an analyst (nothing logged)."""
    url = reverse("admin:cases_person_changelist")
    before = AccessLogEntry.objects.count()
    analyst = world["clients"]["analyst"].get(url)
    assert analyst.status_code == 200
    assert TRUE_NAME not in analyst.content.decode()
    assert "Ryu" in analyst.content.decode()
    assert _log_since(before) == []
    officer = world["clients"]["case_officer"].get(url)
    assert TRUE_NAME in officer.content.decode()
    entries = _log_since(before)
    assert [(e.object_type, e.object_uuid, e.fields, e.channel) for e in entries] == [
        ("person", world["person"].uuid, ["names"], access.ADMIN)
    ]
    assert entries[0].path == url


def test_person_list_of_pseudonyms_only_logs_nothing(world):
    """A person whose only variants are pseudonyms shows no true name, so nothing is logged."""
    f.case(person_obj=f.person("Kim", names=[NameSpec("Kim", "latin", "", True)]))
    world["person"].names.filter(is_pseudonym=False).delete()
    before = AccessLogEntry.objects.count()
    world["clients"]["case_officer"].get(reverse("admin:cases_person_changelist"))
    assert _log_since(before) == []


def test_timeline_list_logs_note_summaries_for_an_officer_only(world):
    """The event list shows a note's first line to an officer (logged) and withholds it from
    an analyst (nothing logged)."""
    note = _add_note_through_the_admin(world["clients"]["case_officer"], world["case"])
    url = reverse("admin:cases_timelineevent_changelist")
    before = AccessLogEntry.objects.count()
    analyst = world["clients"]["analyst"].get(url)
    assert "jaw" not in analyst.content.decode()
    assert _log_since(before) == []
    officer = world["clients"]["case_officer"].get(url)
    assert NOTE[:20] in officer.content.decode()
    entries = _log_since(before)
    assert [(e.object_type, e.object_uuid, e.fields) for e in entries] == [
        ("note", note.uuid, ["summary"])
    ]


# --------------------------------------------------------------------------------------------
# Purge
# --------------------------------------------------------------------------------------------


def test_purge_deletes_the_change_log_of_everything_it_purges(world):
    """After a purge no change-log row names the case, its note or its person; another
    case's rows stay."""
    officer = world["clients"]["case_officer"]
    note = _add_note_through_the_admin(officer, world["case"])
    other = f.case(reference="UA-2025-0002")
    _add_note_through_the_admin(officer, other, body="Other case's note")
    case_type = ContentType.objects.get_for_model(Case)
    assert LogEntry.objects.filter(content_type=case_type, object_id=str(world["case"].pk))
    services.case_purge(
        actor=Actor(user=world["users"]["superuser"], channel="admin"),
        case=world["case"],
        reason="entered in error",
    )
    for model, pk in [(Case, world["case"].pk), (Note, note.pk), (Person, world["person"].pk)]:
        content_type = ContentType.objects.get_for_model(model)
        assert not LogEntry.objects.filter(content_type=content_type, object_id=str(pk)).exists()
    assert LogEntry.objects.filter(content_type=case_type, object_id=str(other.pk)).exists()


# --------------------------------------------------------------------------------------------
# The assigned officer's shortcuts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["add", "change"])
def test_no_add_user_shortcut_beside_the_assigned_officer(world, page):
    """The case form offers no link to add, change, view or delete a login."""
    args = [] if page == "add" else [world["case"].pk]
    response = world["clients"]["superuser"].get(reverse(f"admin:cases_case_{page}", args=args))
    body = response.content.decode()
    assert 'name="assigned_officer"' in body
    assert "add_id_assigned_officer" not in body
    assert "change_id_assigned_officer" not in body
    assert "view_id_assigned_officer" not in body
    assert reverse("admin:auth_user_add") + "?" not in body  # the popup link, not the sidebar
    if page == "add":
        # Other related fields keep their shortcut: the switch is for logins only.
        assert "add_id_detaining_party" in body
