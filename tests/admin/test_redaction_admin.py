"""The admin by role: statuses, no sensitive value without the permission, reads logged, and
the archive and purge actions.

The rows are those of the "Pages, exports and admin" matrix in docs/security.md; the seeded
world (one module-wide load of the seed) comes from tests/security/test_redaction_pages.py.
"""

from __future__ import annotations

import pytest

from cases.models import AccessLogEntry, Case, TimelineEvent
from cases.security import access
from tests.security import test_redaction_pages as pages
from tests.security.test_redaction_pages import ROLES, SENSITIVE_ROLES, body_text, found_in

#: The seeded world, shared with the pages' tests (a module-scoped fixture).
world = pages.world

#: Screen -> (path template, whether a permitted user's view of it is logged).
SCREENS = {
    "admin:case-changelist": ("/admin/cases/case/", False),
    "admin:case-change": ("/admin/cases/case/{case_pk}/change/", True),
    "admin:case-timeline": ("/admin/cases/case/{case_pk}/history/", True),
    "admin:person-changelist": ("/admin/cases/person/", True),
    "admin:person-change": ("/admin/cases/person/{person_pk}/change/", True),
    "admin:intention-changelist": ("/admin/cases/statedintention/", False),
    "admin:intention-change": ("/admin/cases/statedintention/{intention_pk}/change/", True),
    "admin:request-change": ("/admin/cases/request/{request_pk}/change/", False),
    "admin:timeline-changelist": ("/admin/cases/timelineevent/", True),
    "admin:timeline-change": ("/admin/cases/timelineevent/{note_event_pk}/change/", True),
    "admin:case-delete": ("/admin/cases/case/{case_pk}/delete/", False),
}


def expected_admin_status(role: str, screen: str) -> int:
    """Return the status the matrix gives an admin screen (GET) for ``role``."""
    if role == "anonymous":
        return 302  # to the admin's login page
    if screen.endswith("-delete"):
        return 403  # nothing is deleted in the admin, not even by a superuser
    return 200


CASES = [(role, screen) for screen in SCREENS for role in ROLES]


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "screen"), CASES)
def test_admin_matrix(world, role, screen):
    """The status is the matrix's; without the permission nothing sensitive shows; with it, a
    change page that shows sensitive values appends its entries on the admin channel."""
    path, logged = SCREENS[screen]
    client = world["clients"][role]
    before = AccessLogEntry.objects.count()
    response = client.get(path.format(**world["ids"]))
    assert response.status_code == expected_admin_status(role, screen)
    entries = list(AccessLogEntry.objects.order_by("id")[before:])
    if response.status_code != 200:
        assert not entries
        return
    text = body_text(response)
    if role in SENSITIVE_ROLES:
        if logged:
            assert entries, "a change page showing sensitive values is logged"
            assert {e.channel for e in entries} == {access.ADMIN}
            assert len({e.response_id for e in entries}) == 1
        if screen in {"admin:case-change", "admin:person-change", "admin:person-changelist"}:
            assert found_in(text, world["ri_names"])
    else:
        assert found_in(text, world["values"]) == set()
        assert not entries


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/admin/cases/case/", "/admin/cases/person/", "/admin/cases/timelineevent/"]
)
@pytest.mark.parametrize("query", ["리", "Lee"])
def test_admin_search_is_no_oracle_without_the_permission(world, path, query):
    """Searching for a hidden variant finds Ri for a case officer, not for an analyst."""
    officer = world["clients"]["case_officer"].get(path, {"q": query})
    analyst = world["clients"]["analyst"].get(path, {"q": query})
    assert analyst.context["cl"].result_count <= officer.context["cl"].result_count
    if path != "/admin/cases/timelineevent/":
        assert officer.context["cl"].result_count >= 1
        assert analyst.context["cl"].result_count == 0


@pytest.mark.django_db
def test_case_page_timeline_is_redacted_for_an_analyst(world):
    """The timeline on the admin case page says "withheld" where a sensitive change was."""
    response = world["clients"]["analyst"].get(
        "/admin/cases/case/{case_pk}/change/".format(**world["ids"])
    )
    rows = response.context["timeline"]
    quoted = [r for r in rows if r["kind"] == "intention.recorded"]
    assert quoted
    assert any(c["new"] == "withheld" for r in quoted for c in r["changes"])


@pytest.mark.django_db
def test_timeline_page_is_redacted_as_the_case_page_is(world):
    """The whole timeline withholds from an analyst what the case page's latest events do."""
    client = world["clients"]["analyst"]
    full = client.get("/admin/cases/case/{case_pk}/history/".format(**world["ids"]))
    latest = client.get("/admin/cases/case/{case_pk}/change/".format(**world["ids"]))
    by_seq = {row["seq"]: row for row in full.context["timeline"]}
    for row in latest.context["timeline"]:
        assert by_seq[row["seq"]]["summary"] == row["summary"]
        assert by_seq[row["seq"]]["changes"] == row["changes"]
    quoted = [r for r in full.context["timeline"] if r["kind"] == "intention.recorded"]
    assert quoted
    assert any(c["new"] == "withheld" for r in quoted for c in r["changes"])


def _action(client, action: str, pk: int, path: str = "/admin/cases/case/", **data):
    return client.post(path, {"action": action, "_selected_action": [pk], "index": 0, **data})


@pytest.mark.django_db
def test_admin_archive_and_unarchive_actions_with_a_reason(world):
    """A case officer archives with a reason; the list hides the case until asked."""
    client = world["clients"]["case_officer"]
    pk = world["ids"]["case_pk"]
    response = _action(client, "archive_selected", pk, reason="entered twice")
    assert response.status_code == 302
    case = Case.objects.get(pk=pk)
    assert case.archived_at is not None
    event = TimelineEvent.objects.filter(case=case).latest("case_seq")
    assert (event.kind, event.reason, event.channel) == ("case.archived", "entered twice", "admin")
    listed = client.get("/admin/cases/case/").context["cl"].result_list
    assert case not in listed
    listed = client.get("/admin/cases/case/", {"archived": "only"}).context["cl"].result_list
    assert list(listed) == [case]
    assert client.get(f"/admin/cases/case/{pk}/change/").status_code == 200
    # Archived rows are selected from the list filtered to them.
    _action(client, "unarchive_selected", pk, path="/admin/cases/case/?archived=only")
    assert Case.objects.get(pk=pk).archived_at is None


@pytest.mark.django_db
def test_admin_archive_without_reason_changes_nothing(world):
    """Without a reason the action reports the refusal and the case stays listed."""
    client = world["clients"]["case_officer"]
    pk = world["ids"]["case_pk"]
    _action(client, "archive_selected", pk, reason="")
    assert Case.objects.get(pk=pk).archived_at is None


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "integration", "case_officer"])
def test_purge_action_is_for_superusers_only(world, role):
    """Only a superuser is offered the purge; posting it anyway deletes nothing."""
    client = world["clients"][role]
    response = client.get("/admin/cases/case/")
    form = response.context["action_form"]  # None when the user has no action at all
    actions = [name for name, _label in form.fields["action"].choices] if form else []
    assert "purge_case" not in actions
    pk = world["ids"]["case_pk"]
    case = Case.objects.get(pk=pk)
    _action(
        client,
        "purge_case",
        pk,
        confirm_purge="1",
        reason="x",
        confirm_reference=case.reference,
    )
    assert Case.objects.filter(pk=pk).exists()


@pytest.mark.django_db
def test_superuser_purges_after_confirming(world):
    """The purge asks first; a wrong reference is refused; the right one purges."""
    client = world["clients"]["superuser"]
    pk = world["ids"]["case_pk"]
    case = Case.objects.get(pk=pk)
    before_log = AccessLogEntry.objects.count()
    response = _action(client, "purge_case", pk)
    assert response.status_code == 200
    assert f"Purge {case.reference}" in response.content.decode()
    response = _action(
        client, "purge_case", pk, confirm_purge="1", reason="x", confirm_reference="UA-0"
    )
    assert response.status_code == 200
    assert Case.objects.filter(pk=pk).exists()
    response = _action(
        client,
        "purge_case",
        pk,
        confirm_purge="1",
        reason="entered in error",
        confirm_reference=case.reference,
    )
    assert response.status_code == 302
    assert not Case.objects.filter(pk=pk).exists()
    tombstone = TimelineEvent.objects.get(kind="case.purged", subject_uuid=case.uuid)
    assert tombstone.changes == {"reference": [case.reference, None]}
    assert AccessLogEntry.objects.count() >= before_log
