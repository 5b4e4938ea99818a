"""The access log: what is appended, when, and that nothing can change or remove it."""

import importlib
import uuid

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection, transaction

from cases.feed import cursor as feed
from cases.models import AccessLogEntry
from cases.security import access
from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import api_client, token_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

API = "/api/v1"


def _entry(**kwargs) -> AccessLogEntry:
    person = f.person("Ri", medical_notes="jaw wound")
    user = f.user("reader")
    response_id = access.log_access(
        user=user,
        channel=access.API,
        objects=[person],
        fields=["medical_notes"],
        path="/api/v1/persons/?q=리",
        **kwargs,
    )
    return AccessLogEntry.objects.get(response_id=response_id)


def test_log_access_writes_one_entry_per_object_in_one_insert(django_assert_num_queries):
    """Objects of one response share a response id; one INSERT writes them all."""
    ri = f.person("Ri", medical_notes="jaw wound")
    baek = f.person("Baek", family_links="brother")
    user = f.user("officer1")
    with django_assert_num_queries(1):
        response_id = access.log_access(
            user=user,
            channel=access.EXPORT,
            objects=[ri, ("person", baek.uuid)],
            fields={ri.uuid: ["medical_notes"], baek.uuid: ["family_links"]},
            path="/cases/export.csv?q=Ri",
            extra={"filter": {"q": "Ri"}, "rows": 2},
        )
    rows = list(AccessLogEntry.objects.order_by("id"))
    assert [(r.object_type, r.object_uuid, r.fields) for r in rows] == [
        ("person", ri.uuid, ["medical_notes"]),
        ("person", baek.uuid, ["family_links"]),
    ]
    assert {r.response_id for r in rows} == {response_id}
    assert rows[0].at == rows[1].at, "one response, one time"
    assert rows[0].path == "/cases/export.csv", "the query string (a searched name) is cut"
    assert rows[0].user == user and rows[0].username == "officer1"
    assert rows[0].extra == {"filter": {"q": "Ri"}, "rows": 2}


def test_log_access_takes_uuids_as_text_and_a_whole_export_in_one_insert(
    django_assert_max_num_queries,
):
    """Uuids given as text are stored as uuids; a thousand objects are still one insert.

    (SQLite limits the values of one statement, so there the insert comes in batches.)
    """
    shown = {str(uuid.uuid4()): ["names", "medical_notes", "names"] for _ in range(1000)}
    most = 1 if connection.vendor == "postgresql" else 20
    with django_assert_max_num_queries(most):
        response_id = access.log_access(
            user=None,
            channel=access.EXPORT,
            objects=[("person", object_uuid) for object_uuid in shown],
            fields=shown,
            path="/cases/export.csv",
        )
    rows = AccessLogEntry.objects.filter(response_id=response_id)
    assert {str(u) for u in rows.values_list("object_uuid", flat=True)} == set(shown)
    assert {tuple(r.fields) for r in rows} == {("medical_notes", "names")}
    assert {(r.user_id, r.username, str(r.extra)) for r in rows} == {(None, "", "{}")}


def test_log_access_writes_nothing_for_no_objects(django_assert_num_queries):
    """A response that shows no sensitive value costs no query."""
    with django_assert_num_queries(0):
        assert (
            access.log_access(user=None, channel=access.PAGE, objects=[], fields=[], path="/cases/")
            is None
        )


def test_the_model_refuses_updates_and_deletes():
    """Saving an entry again, deleting it, or bulk changes raise."""
    entry = _entry()
    entry.fields = []
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        AccessLogEntry.objects.all().update(fields=[])
    with pytest.raises(TypeError):
        AccessLogEntry.objects.all().delete()


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE cases_accesslogentry SET username = 'someone else'",
        "DELETE FROM cases_accesslogentry",
    ],
)
def test_the_database_refuses_updates_and_deletes(sql):
    """Raw SQL cannot rewrite or erase the log either: a trigger refuses it on both databases."""
    _entry()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AccessLogEntry.objects.get().username == "reader"


def test_officer_reading_a_person_appends_one_entry():
    """A detail read that shows medical notes and true names is logged, with the token."""
    officer = user_in_role(CASE_OFFICER, "officer")
    client, token = token_client(officer, name="registry sync")
    person = f.person("Ri", medical_notes="jaw wound")
    response = client.get(f"{API}/persons/{person.uuid}/")
    assert response.status_code == 200
    entry = AccessLogEntry.objects.get()
    assert entry.user == officer and entry.channel == "api"
    assert entry.object_type == "person" and entry.object_uuid == person.uuid
    assert entry.fields == ["medical_notes", "names"]
    assert entry.token_label == token.actor_label
    assert entry.path == f"/api/v1/persons/{person.uuid}/"


def test_officer_list_appends_one_entry_per_object_shown():
    """A list appends an entry per object that shows a sensitive value, in one response."""
    officer = user_in_role(CASE_OFFICER, "officer")
    client = api_client(officer)
    f.person("Ri", medical_notes="jaw wound")
    f.person("Baek", names=[NameSpec("K-7", "latin", is_pseudonym=True)])  # nothing sensitive
    client.get(f"{API}/persons/")
    entries = list(AccessLogEntry.objects.all())
    assert [e.object_type for e in entries] == ["person"]
    assert entries[0].token_label == ""


def test_officer_reading_a_case_logs_its_quotes_and_person_names():
    """A case's detail shows the person's names and the intentions' quotes: both logged."""
    officer = user_in_role(CASE_OFFICER, "officer")
    client = api_client(officer)
    case = f.case()
    intention = f.intention(case, quote="really want to go to South Korea")
    client.get(f"{API}/cases/{case.uuid}/")
    logged = {(e.object_type, e.object_uuid): e.fields for e in AccessLogEntry.objects.all()}
    assert logged == {
        ("person", case.person.uuid): ["names"],
        ("statedintention", intention.uuid): ["quote"],
    }


def test_analyst_reads_append_nothing():
    """Redacted responses show nothing sensitive, so nothing is logged."""
    client = api_client(user_in_role(ANALYST, "analyst"))
    case = f.case()
    f.intention(case, quote="really want to go to South Korea")
    for path in ("cases/", f"cases/{case.uuid}/", "persons/", "intentions/", "events/"):
        assert client.get(f"{API}/{path}").status_code == 200
    assert not AccessLogEntry.objects.exists()


def test_officer_reading_the_feed_logs_events_with_sensitive_changes(monkeypatch):
    """A feed page that shows a quote is logged against the intention it belongs to."""
    # The test's transaction never commits; let the PostgreSQL watermark include it.
    monkeypatch.setattr(feed, "POSTGRES_WATERMARK_SQL", "pg_current_xact_id()::text::bigint + 1")
    officer = user_in_role(CASE_OFFICER, "officer")
    client = api_client(officer)
    case = f.case(person_obj=f.person("Ri", names=[]))
    intention = f.intention(case, quote="made up our mind")
    body = client.get(f"{API}/events/").json()
    assert any(e["changes"].get("quote") for e in body["results"])
    assert {(e.object_type, e.object_uuid) for e in AccessLogEntry.objects.all()} == {
        ("statedintention", intention.uuid)
    }


# --------------------------------------------------------------------------------------------
# The admin screen
# --------------------------------------------------------------------------------------------

CHANGELIST = "/admin/cases/accesslogentry/"


def test_superuser_searches_the_log_by_object_uuid(client):
    """The screen lists entries and finds those of one object by its uuid."""
    entry = _entry()
    other = AccessLogEntry.objects.get(
        response_id=access.log_access(
            user=None,
            channel=access.ADMIN,
            objects=[("note", uuid.uuid4())],
            fields=["body"],
            path="/",
        )
    )
    client.force_login(f.user("dpo", is_staff=True, is_superuser=True))
    response = client.get(CHANGELIST, {"q": str(entry.object_uuid)})
    assert response.status_code == 200
    assert str(entry.object_uuid) in response.text and str(other.object_uuid) not in response.text
    assert client.get(CHANGELIST, {"q": "reader", "channel__exact": "api"}).status_code == 200
    assert client.get(f"{CHANGELIST}{entry.pk}/change/").status_code == 200


def test_the_admin_screen_cannot_add_change_or_delete(client):
    """No add page, no delete page, and a POST to the entry changes nothing."""
    entry = _entry()
    client.force_login(f.user("dpo", is_staff=True, is_superuser=True))
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    assert client.post(f"{CHANGELIST}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    client.post(f"{CHANGELIST}{entry.pk}/change/", {"username": "nobody"})
    assert AccessLogEntry.objects.get().username == "reader"


def test_staff_case_officer_cannot_open_the_log(client):
    """A case officer with staff status cannot browse who read what: no role holds that."""
    client.force_login(user_in_role(CASE_OFFICER, "staffofficer", is_staff=True))
    assert client.get(CHANGELIST).status_code == 403


# --------------------------------------------------------------------------------------------
# The roles migration
# --------------------------------------------------------------------------------------------


def _role_codenames() -> dict[str, set[str]]:
    return {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.filter(name__in=list(access.ROLES))
    }


def test_roles_migration_runs_again_and_reverses():
    """Forwards twice gives the same groups; backwards removes them; forwards restores them."""
    migration = importlib.import_module("cases.migrations.0006_roles")
    migration.forwards(global_apps, None)
    first = _role_codenames()
    migration.forwards(global_apps, None)
    assert _role_codenames() == first
    assert set(first) == {"case officer", "analyst", "integration"}
    assert {"view_sensitive", "export_cases", "change_person"} <= first["case officer"]
    assert "view_sensitive" not in first["analyst"] | first["integration"]
    assert not any(c.startswith(("add_", "change_", "delete_")) for c in first["analyst"])
    assert not any(c.startswith("delete_") for codes in first.values() for c in codes)
    migration.backwards(global_apps, None)
    assert _role_codenames() == {}
    migration.forwards(global_apps, None)
    assert _role_codenames() == first
