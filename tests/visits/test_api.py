"""``/api/v1/visits/`` and ``/api/v1/interviews/``: writes with their versions and
``Idempotency-Key``, filters, the sensitive topics and notes, and a flat query count."""

from __future__ import annotations

import pytest

from cases.models import Interview, Visit
from tests import factories as f
from tests.support import clients, timeline
from tests.visits.conftest import DAY

pytestmark = pytest.mark.django_db

VISITS = "/api/v1/visits/"
INTERVIEWS = "/api/v1/interviews/"


def test_record_change_and_see_through_the_api(ri, icrc, ukraine, officer, officer_client):
    """POST a visit (idempotent), PATCH it with its version (428, 412), record the interview."""
    body = {
        "visiting_body": str(icrc.uuid),
        "visited_on": DAY.isoformat(),
        "detaining_party": str(ukraine.uuid),
        "place_text": "Camp 1",
        "topics": "Mail from home",
    }
    with timeline.assert_one_event(kind="visit.recorded", actor=officer, channel="api"):
        created = officer_client.post(VISITS, body, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
        again = officer_client.post(VISITS, body, format="json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert created.status_code == 201, created.content
    assert again.json()["uuid"] == created.json()["uuid"]
    row = created.json()
    assert (row["visiting_body"]["uuid"], row["topics"], row["redacted"], row["version"]) == (
        str(icrc.uuid),
        "Mail from home",
        [],
        1,
    )
    detail = f"{VISITS}{row['uuid']}/"
    assert officer_client.patch(detail, {"notes": "X"}, format="json").status_code == 428
    stale = officer_client.patch(detail, {"notes": "X"}, format="json", HTTP_IF_MATCH='"9"')
    assert stale.status_code == 412
    with timeline.assert_one_event(kind="visit.updated"):
        changed = officer_client.patch(detail, {"notes": "Two", "version": 1}, format="json")
    assert changed.status_code == 200 and changed.json()["version"] == 2
    with timeline.assert_one_event(kind="interview.recorded", case=ri):
        seen = officer_client.post(
            INTERVIEWS,
            {"visit": row["uuid"], "case": str(ri.uuid), "in_private": True, "topics": "Jaw"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="w-2",
        )
    assert seen.status_code == 201, seen.content
    assert (seen.json()["visit"], seen.json()["case"], seen.json()["in_private"]) == (
        row["uuid"],
        str(ri.uuid),
        True,
    )
    duplicate = officer_client.post(
        INTERVIEWS,
        {"visit": row["uuid"], "case": str(ri.uuid), "in_private": True},
        format="json",
        HTTP_IDEMPOTENCY_KEY="w-3",
    )
    assert duplicate.status_code == 400
    assert officer_client.patch(f"{INTERVIEWS}{seen.json()['uuid']}/", {}).status_code == 405


def test_filters_by_case_body_and_day(ri, seen, ukraine, officer_client):
    """``case`` finds the visits that saw him; ``in_private`` and days filter interviews."""
    other = f.visit(detaining_party=ukraine, visited_on=DAY.replace(day=5))

    def uuids(path, **params):
        response = officer_client.get(path, params)
        assert response.status_code == 200, response.content
        return [row["uuid"] for row in response.json()["results"]]

    assert uuids(VISITS, case=str(ri.uuid)) == [str(seen.visit.uuid)]
    assert uuids(VISITS, visited_after="2025-03-02") == [str(other.uuid)]
    assert uuids(INTERVIEWS, case=str(ri.uuid), in_private="true") == [str(seen.uuid)]
    assert uuids(INTERVIEWS, in_private="false") == []
    assert officer_client.get(VISITS, {"visited_after": "March"}).status_code == 400


def test_an_analyst_reads_visits_without_topics_and_notes_and_cannot_write(
    ri, icrc, ukraine, analyst
):
    """Topics and notes are null and named in ``redacted``; writes are 403."""
    visit = f.visit(
        visiting_body=icrc,
        visited_on=DAY,
        detaining_party=ukraine,
        topics="Beatings reported in block B",
        notes="Named by two men",
        interviews=[{"case": ri, "in_private": True, "topics": "His family at risk"}],
    )
    client = clients.api_client(analyst)
    row = client.get(f"{VISITS}{visit.uuid}/").json()
    assert (row["topics"], row["notes"], row["redacted"]) == (None, None, ["topics", "notes"])
    interview = client.get(f"{INTERVIEWS}{visit.interviews.get().uuid}/").json()
    assert interview["topics"] is None and interview["redacted"] == ["topics", "notes"]
    for path in (VISITS, INTERVIEWS, f"/api/v1/cases/{ri.uuid}/timeline/"):
        text = client.get(path).content.decode()
        assert "Beatings" not in text and "Named by" not in text and "family at" not in text
    body = {
        "visiting_body": str(icrc.uuid),
        "visited_on": DAY.isoformat(),
        "detaining_party": str(ukraine.uuid),
    }
    assert client.post(VISITS, body, format="json").status_code == 403
    assert Visit.objects.count() == 1 and Interview.objects.count() == 1


def test_a_writer_who_cannot_read_topics_cannot_write_them(ri, seen, icrc, ukraine):
    """An integration that may write but not see sensitive values: 403 naming the field."""
    from tests.support import roles

    writer = roles.read_write_integration("writer")
    client = clients.api_client(writer)
    body = {
        "visiting_body": str(icrc.uuid),
        "visited_on": DAY.isoformat(),
        "detaining_party": str(ukraine.uuid),
        "topics": "A guess",
    }
    refused = client.post(VISITS, body, format="json", HTTP_IDEMPOTENCY_KEY="w-9")
    assert refused.status_code == 403 and "topics" in refused.content.decode()


@pytest.mark.parametrize("n", [1, 30])
def test_list_query_counts_are_flat(ukraine, icrc, analyst, django_assert_num_queries, n):
    """The same number of queries for 1 visit (and interview) and for 30."""
    for i in range(n):
        case = f.case(person_obj=f.person(f"P{i}"), detaining_party=ukraine)
        f.private_interview(case, on=DAY, visiting_body=icrc)
    clients.api_client(analyst).get(VISITS)  # what a process reads once, read before
    for path in (VISITS, INTERVIEWS):
        analyst = type(analyst).objects.get(pk=analyst.pk)  # a new request's permissions
        client = clients.api_client(analyst)
        with django_assert_num_queries(5):
            assert client.get(path).json()["count"] == n
