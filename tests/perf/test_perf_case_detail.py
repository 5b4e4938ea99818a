"""The case detail's fast path: plain rows written as CaseDetailSerializer writes them."""

import datetime as dt
import json

import pytest
from django.db import connection
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from cases import services
from cases.api import selectors
from cases.api.serializers import CaseDetailSerializer
from cases.models import AccessLogEntry, Case
from cases.notifications.services import notification_recipients_set
from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import token_client
from tests.support.roles import ANALYST, CASE_OFFICER, INTEGRATION, user_in_role

CASES = "/api/v1/cases/"
ROLES = {"officer": CASE_OFFICER, "analyst": ANALYST, "integration": INTEGRATION}
#: The case row reads the person's name variants with it on PostgreSQL, apart elsewhere.
NAMES_QUERY = 0 if connection.vendor == "postgresql" else 1


def rich_case(tag: str, *, intentions: int = 2, requests: int = 2) -> Case:
    """Open a case with every nested thing the detail shows, ``intentions`` and ``requests``
    of each kind: quotes, conditions and signs of duress, parties present (named out of
    alphabetical order), a superseded statement, sources cited twice and by positions."""
    russia = f.party(f"Russian Federation {tag}", country="RU")
    person = f.person(
        f"Ri {tag}",
        names=[NameSpec("리", "hangul"), NameSpec("K-7", "latin", is_pseudonym=True)],
        power_depends_on=russia,
    )
    case = f.case(person_obj=person, detaining_party=f.party(f"Ukraine {tag}"))
    cited = f.source(f"Report {tag}")
    zulu, alpha = f.party(f"Zulu Observers {tag}", kind="ngo"), f.party(f"Alpha NGO {tag}")
    earlier = None
    for index in range(intentions):
        fields = {
            "quote": f"I want to go to Seoul ({index})" if index % 2 == 0 else "",
            "conditions": "if jaw surgery is possible",
            "duress_signs": "none seen" if index % 2 else "",
            "present_parties": [zulu, alpha],
            "heard_by": f.party(f"Heard {tag} {index}"),
            "interpreter_supplied_by": alpha if index % 2 else None,
            "source": cited if index % 2 == 0 else None,
            "stated_on": dt.date(2025, 2, 1) + dt.timedelta(days=index),
        }
        if earlier is None:
            earlier = f.intention(case, **fields)
        else:
            fields.pop("source")
            earlier = services.intention_supersede(
                actor=f.SYSTEM,
                intention=earlier,
                option="undecided",
                setting="official_interview",
                verification="stated",
                **fields,
            )
    f.verified_wish(case, "third_state", "KR", stated_on=dt.date(2025, 3, 1))
    for index in range(requests):
        request = f.request(
            case,
            kind="third_state_transfer",
            requested_by=f.party(f"Asker {tag} {index}") if index % 2 == 0 else None,
            source=cited if index % 2 else f.source(f"Request source {tag} {index}"),
            legal_basis="GC III Art. 109",
        )
        services.position_record(
            actor=f.SYSTEM,
            request=request,
            party=f.party(f"Korea {tag} {index}", country="KR"),
            stance="accepts",
            conditions="if he chooses",
            stated_on=dt.date(2025, 3, 2),
            source=f.source(f"Position source {tag} {index}"),
        )
        services.position_record(
            actor=f.SYSTEM,
            request=request,
            party=russia,
            stance="opposes",
            stated_on=dt.date(2025, 3, 1),
        )
    f.request(case, draft=True)
    return case


@pytest.fixture
def world(settings) -> list[Case]:
    """Cases that differ in every way the detail shows, among them its notification lists."""
    settings.TRACKER_NOTIFICATION_TRACING_AGENCIES = ["ICRC"]
    f.neutral_party().__class__.objects.filter(pk=f.neutral_party().pk).update(short_name="ICRC")
    defaults = rich_case("defaults")  # the person's Power and the tracing agency
    own = rich_case("own", intentions=1, requests=1)
    notification_recipients_set(
        actor=f.SYSTEM, case=own, recipients=[f.party("Zeta"), f.party("Beta")]
    )
    emptied = rich_case("emptied", intentions=0, requests=0)
    notification_recipients_set(actor=f.SYSTEM, case=emptied, recipients=[])
    bare = f.case(person_obj=f.person("Kim", names=[]), capture_date=None)
    archived = f.case()
    services.case_archive(actor=f.SYSTEM, case=archived, reason="duplicate")
    return [defaults, own, emptied, bare, archived]


def ordered(body: bytes):
    """Return a JSON body with every object as its list of (key, value) pairs, in order."""
    return json.loads(body, object_pairs_hook=list)


def difference(actual, expected, path: str = "") -> str | None:
    """Return where two :func:`ordered` bodies first differ, or None when they are equal."""
    if isinstance(actual, list) and isinstance(expected, list):
        if len(actual) != len(expected):
            return f"{path}: {len(actual)} items, expected {len(expected)}"
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = difference(a, e, f"{path}[{index}]")
            if found:
                return found
        return None
    if isinstance(actual, tuple) and isinstance(expected, tuple):
        if actual[0] != expected[0]:
            return f"{path}: key {actual[0]!r}, expected {expected[0]!r}"
        return difference(actual[1], expected[1], f"{path}.{actual[0]}")
    if actual != expected or type(actual) is not type(expected):
        return f"{path}: {actual!r}, expected {expected!r}"
    return None


def reference(case: Case, user, path: str) -> tuple[bytes, dict]:
    """Return CaseDetailSerializer's rendering of ``case`` for ``user``, and what it noted."""
    from rest_framework.renderers import JSONRenderer

    request = Request(APIRequestFactory().get(path))
    request.user = user
    reads: dict = {}
    data = CaseDetailSerializer(
        selectors.api_case_detail().get(pk=case.pk),
        context={"request": request, "sensitive_reads": reads},
    ).data
    return JSONRenderer().render(data), reads


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ROLES))
def test_detail_equals_the_serializer_for_every_reader(world, role):
    """Every case's detail equals CaseDetailSerializer's output key for key and in order,
    for the officer (who sees sensitive values), the analyst and the integration; the access
    log holds exactly the sensitive values the serializer noted as shown."""
    user = user_in_role(ROLES[role])
    client, _token = token_client(user)
    for case in world:
        path = f"{CASES}{case.uuid}/"
        expected, reads = reference(case, user, path)
        before = AccessLogEntry.objects.count()
        response = client.get(path)
        assert response.status_code == 200, response.content
        found = difference(ordered(response.content), ordered(expected))
        assert found is None, (case.reference, found)
        assert response["ETag"] == f'"{Case.objects.get(pk=case.pk).version}"'
        logged = {
            (entry.object_type, entry.object_uuid): set(entry.fields)
            for entry in AccessLogEntry.objects.order_by("id")[before:]
        }
        assert logged == reads, case.reference
    if role == "officer":
        # The officer's reads of the richest case show quotes and true names.
        _body, reads = reference(world[0], user, f"{CASES}{world[0].uuid}/")
        assert {kind for kind, _uuid in reads} == {"person", "statedintention"}
    else:
        assert AccessLogEntry.objects.filter(user=user).count() == 0


@pytest.mark.django_db
def test_detail_shapes_cover_what_the_world_holds(world):
    """The world reaches every branch the comparison relies on (so equality means something)."""
    client, _token = token_client(user_in_role(CASE_OFFICER))
    bodies = [client.get(f"{CASES}{case.uuid}/").json() for case in world]
    rich, own, emptied, bare, archived = bodies
    assert len(rich["intentions"]) == 3 and len(rich["requests"]) == 3
    assert [p["name"] for p in rich["intentions"][0]["present_parties"]] == [
        "Alpha NGO defaults",
        "Zulu Observers defaults",
    ]
    assert rich["intentions"][1]["supersedes"] == rich["intentions"][0]["uuid"]
    assert rich["intentions"][0]["quote"] and rich["intentions"][0]["redacted"] == []
    assert [len(r["positions"]) for r in rich["requests"]] == [2, 2, 0]
    titles = [s["title"] for s in rich["sources"]]
    assert titles == sorted(set(titles), key=titles.index), "each source once"
    assert "Report defaults" in titles and "Position source defaults 0" in titles
    assert [p["name"] for p in rich["notification_recipients"]] == [
        "Russian Federation defaults",
        "International Committee of the Red Cross",
    ]
    assert [p["name"] for p in own["notification_recipients"]] == ["Beta", "Zeta"]
    assert emptied["notification_recipients"] == []
    assert bare["intentions"] == [] and bare["requests"] == [] and bare["sources"] == []
    assert bare["person"]["names"] == [] and bare["capture_date"] is None
    assert archived["archived_at"] is not None


@pytest.mark.django_db
def test_detail_query_count_does_not_grow_with_rows(settings, django_assert_num_queries):
    """A case's detail costs the same queries with 1 statement and request as with 6 each.

    The case row (with the reader's name variants on PostgreSQL), its statements with the
    parties present at them, its requests with their positions, its own notification list
    and the tracing agency (no own list here); the integration sees nothing sensitive, so
    nothing is logged, and its token and permissions were kept at its first request.
    """
    settings.TRACKER_NOTIFICATION_TRACING_AGENCIES = ["ICRC"]
    small = rich_case("small", intentions=1, requests=1)
    large = rich_case("large", intentions=6, requests=6)
    client, _token = token_client(user_in_role(INTEGRATION))
    client.get(f"{CASES}{small.uuid}/")
    for case in (small, large):
        with django_assert_num_queries(5 + NAMES_QUERY):
            response = client.get(f"{CASES}{case.uuid}/")
        assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ROLES))
def test_filters_leave_a_case_read_by_id_alone_without_parameters(world, role):
    """With no query parameters the case filters change nothing of a read by id, which
    the detail therefore reads without them (an archived case included)."""
    from cases.api.views import CaseViewSet

    for case in (world[0], world[-1]):
        request = Request(APIRequestFactory().get(f"{CASES}{case.uuid}/"))
        request.user = user_in_role(ROLES[role])
        view = CaseViewSet(request=request, kwargs={"uuid": str(case.uuid)}, format_kwarg=None)
        view.action, view.detail = "retrieve", True
        request.parser_context = {"view": view}
        unfiltered = selectors.api_case_list()
        filtered = view.filter_queryset(unfiltered)
        assert str(filtered.query) == str(unfiltered.query)
        assert list(filtered.filter(uuid=case.uuid)) == [case]


@pytest.mark.django_db
def test_detail_of_no_case_is_404(world):
    """An unknown uuid, a malformed one and a case the query's filters exclude answer 404,
    as ``get_object`` answered them; an archived case is found by its id."""
    client, _token = token_client(user_in_role(ANALYST))
    assert client.get(f"{CASES}00000000-0000-4000-8000-000000000000/").status_code == 404
    assert client.get(f"{CASES}{'-' * 36}/").status_code == 404
    case = world[0]
    assert client.get(f"{CASES}{case.uuid}/", {"status": "repatriated"}).status_code == 404
    assert client.get(f"{CASES}{case.uuid}/", {"status": case.status}).status_code == 200
    assert client.get(f"{CASES}{world[-1].uuid}/").status_code == 200


@pytest.mark.django_db
def test_writes_answer_the_case_as_its_detail_reads_it(world):
    """Opening a case, changing it and moving its status answer what a read then shows."""
    from tests.support.roles import read_write_integration

    client, _token = token_client(read_write_integration())
    case = world[0]
    path = f"{CASES}{case.uuid}/"
    changed = client.patch(
        path, {"priority": "high"}, format="json", HTTP_IF_MATCH=f'"{case.version}"'
    )
    assert changed.status_code == 200, changed.content
    assert ordered(changed.content) == ordered(client.get(path).content)
    moved = client.post(f"{path}transition/", {"status": "registered"}, format="json")
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "registered"
    assert ordered(moved.content) == ordered(client.get(path).content)
    opened = client.post(
        CASES,
        {
            "reference": "UA-2026-9999",
            "person": str(f.person("Baek").uuid),
            "detaining_party": str(case.detaining_party.uuid),
        },
        format="json",
    )
    assert opened.status_code == 201, opened.content
    assert opened["ETag"] == '"1"'
    read = client.get(f"{CASES}{opened.json()['uuid']}/")
    assert ordered(opened.content) == ordered(read.content)


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ROLES))
def test_compiled_statements_return_what_their_querysets_do(world, role):
    """Each statement compiled once returns, for every case, the rows its queryset's
    ``values()`` returns, converted alike (uuids, dates, timestamps, name variants)."""
    from cases.api.selectors import (
        CASE_ROW,
        INTENTION_ROWS,
        REQUEST_ROWS,
        _case_row,
        _intention_rows,
        _request_rows,
    )
    from cases.notifications.services import (
        NAMED_PARTIES,
        OWN_RECIPIENTS,
        _own_recipients,
        _parties_named,
    )
    from cases.security import sensitive

    user = user_in_role(ROLES[role])
    for case in world:
        variant = sensitive.can_view_sensitive(user)
        assert CASE_ROW.rows(case.uuid, variant, user) == list(_case_row(case.uuid, user))
        assert INTENTION_ROWS.rows(case.pk) == list(_intention_rows(case.pk, None))
        assert REQUEST_ROWS.rows(case.pk) == list(_request_rows(case.pk, None))
        assert OWN_RECIPIENTS.rows(case.pk) == list(_own_recipients(case.pk, None))
    assert CASE_ROW.rows(world[0].uuid, variant, user)[0]["uuid"] == world[0].uuid, "not empty"
    for names in (("ICRC",), ("nobody", str(world[0].person.power_depends_on.uuid)), ("x",)):
        expected = list(_parties_named(names).values("id", "uuid", "name", "short_name"))
        assert NAMED_PARTIES.rows(None, names, names) == expected
    assert expected == [] and NAMED_PARTIES.rows(None, ("ICRC",), ("ICRC",)), "not empty"
