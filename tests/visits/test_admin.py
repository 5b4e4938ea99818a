"""Visits in the admin: a visit page with the persons seen, the case page's interviews, and
the sensitive topics and notes withheld from an officer who may not see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cases.models import AccessLogEntry, Interview, Visit
from tests import factories as f
from tests.support import clients, roles, timeline
from tests.support.admin import change_url, errors_text, form_data, new_row
from tests.visits.conftest import DAY

pytestmark = pytest.mark.django_db


def _staff(user):
    """Let ``user`` into the admin (the roles grant permissions, not the staff flag)."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def test_an_officer_records_a_visit_and_the_persons_seen(ri, icrc, ukraine, officer):
    """The add page records the visit; its change page records an interview inline."""
    client = clients.session_client(_staff(officer))
    response = client.get(reverse("admin:cases_visit_add"))
    assert response.status_code == 200
    data = form_data(response)
    data.update(
        visiting_body=icrc.pk,
        visited_on=DAY.isoformat(),
        visited_on_precision="day",
        detaining_party=ukraine.pk,
        place_text="Camp 1",
        topics="Mail",
    )
    with timeline.assert_one_event(kind="visit.recorded", actor=officer):
        saved = client.post(reverse("admin:cases_visit_add"), data)
    assert saved.status_code == 302, errors_text(saved)
    visit = Visit.objects.get()
    response = client.get(change_url(visit))
    data = form_data(response)
    new_row(response, Interview, data, case=ri.pk, in_private="on", topics="His jaw")
    with timeline.assert_one_event(kind="interview.recorded", case=ri):
        saved = client.post(change_url(visit), data)
    assert saved.status_code == 302, errors_text(saved)
    assert Interview.objects.get().in_private is True
    page = client.get(change_url(ri)).content.decode()
    assert "Open the visit and whom it saw" in page


def test_a_refused_interview_is_shown_on_the_form(ri, seen, officer):
    """A second interview of the same case in the same visit: the form says so, nothing is
    written."""
    client = clients.session_client(_staff(officer))
    response = client.get(change_url(seen.visit))
    data = form_data(response)
    new_row(response, Interview, data, case=ri.pk, in_private="on")
    with timeline.assert_no_event():
        refused = client.post(change_url(seen.visit), data)
    assert refused.status_code == 200, refused.status_code
    # The inline's formset sees the duplicate row before the service does.
    assert "duplicate data for case" in refused.content.decode()
    assert Interview.objects.count() == 1


def test_topics_and_notes_leave_the_pages_of_an_officer_without_the_permission(ri, icrc, ukraine):
    """Without view_sensitive the values are not on the page; with it, the read is logged."""
    visit = f.visit(
        visiting_body=icrc,
        visited_on=DAY,
        detaining_party=ukraine,
        topics="Canary-visit-topics",
        interviews=[{"case": ri, "in_private": True, "notes": "Canary-interview-notes"}],
    )
    restricted = roles.user_in_role(roles.CASE_OFFICER, "restricted")
    restricted.groups.clear()
    from tests.support.roles import permissions

    restricted.user_permissions.set(
        permissions(["view_visit", "change_visit", "view_interview", "view_case", "change_case"])
    )
    client = clients.session_client(_staff(restricted))
    for url in (change_url(visit), change_url(ri)):
        page = client.get(url)
        assert page.status_code == 200, url
        text = page.content.decode()
        assert "Canary-visit-topics" not in text and "Canary-interview-notes" not in text
    officer = roles.user_in_role(roles.CASE_OFFICER, "reader")
    page = clients.session_client(_staff(officer)).get(change_url(visit)).content.decode()
    assert "Canary-visit-topics" in page and "Canary-interview-notes" in page
    logged = set(
        AccessLogEntry.objects.filter(user=officer).values_list("object_type", "object_uuid")
    )
    assert ("visit", visit.uuid) in logged and ("interview", visit.interviews.get().uuid) in logged
