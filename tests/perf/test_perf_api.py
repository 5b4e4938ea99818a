"""The API lists' fast paths: the case list built from rows, the exact count kept per snapshot."""

import datetime as dt
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from cases import services
from cases.api import selectors
from cases.api.resources import CASE_LIST, COMPUTED
from cases.api.serializers import CaseSerializer, represent_cases
from cases.api.views import CasePaginator
from cases.models import AccessLogEntry, Case
from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import api_client, token_client
from tests.support.roles import ANALYST, CASE_OFFICER, INTEGRATION, user_in_role

CASES = "/api/v1/cases/"
#: The case list reads the page's name variants with its rows on PostgreSQL, apart elsewhere.
NAMES_QUERY = 0 if connection.vendor == "postgresql" else 1
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the count is kept per PostgreSQL snapshot"
)


def varied_cases() -> list[Case]:
    """Open cases that differ in every way the list shows: names, intention, dates, officer."""
    officer = f.user("assigned")
    ukraine = f.party("Ukraine", country="UA")
    mixed = f.person(
        "Ri",
        names=[
            NameSpec("리", "hangul"),
            NameSpec("K-7", "latin", is_pseudonym=True),
            NameSpec("Lee", "latin", "conventional"),
        ],
    )
    pseudonyms_only = f.person("Baek", names=[NameSpec("B-2", "latin", is_pseudonym=True)])
    # A national of the DPRK: his return (below) takes him there.
    nameless = f.person("Kim", names=[], nationalities=["KP"])
    first = f.case(person_obj=mixed, detaining_party=ukraine, assigned_officer=officer)
    f.intention(first, stated_on=dt.date(2024, 2, 29))
    f.request(first, kind="third_state_transfer")
    f.request(first, draft=True)
    second = f.case(person_obj=pseudonyms_only, capture_date=None, detaining_party=ukraine)
    f.intention(second, option="undecided", destination_country="", verification="verified")
    third = f.case(person_obj=nameless)
    f.advance_case(third, "repatriated")  # closed_at set
    fourth = f.case(person_obj=mixed)  # the same person in a second custody episode
    services.case_archive(actor=f.SYSTEM, case=fourth, reason="duplicate")
    return list(Case.objects.order_by("reference"))


def drf_request(user, path: str = CASES) -> Request:
    """Return a DRF request of ``user`` for ``path``."""
    request = Request(APIRequestFactory().get(path))
    request.user = user
    return request


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["analyst", "officer"])
def test_fast_case_list_equals_the_serializer(role):
    """Rows represented directly equal CaseSerializer's output key by key, for both readers.

    The officer sees every name variant (and the reads are noted for the log); the analyst
    sees pseudonyms only, with ``names`` marked redacted.
    """
    cases = varied_cases()
    user = (
        user_in_role(CASE_OFFICER, "officer")
        if role == "officer"
        else user_in_role(ANALYST, "analyst")
    )
    request = drf_request(user)
    slow_reads, fast_reads = {}, {}
    expected = CaseSerializer(
        selectors.api_cases().filter(pk__in=[c.pk for c in cases]).order_by("reference"),
        many=True,
        context={"request": request, "sensitive_reads": slow_reads},
    ).data
    rows = list(selectors.api_case_rows(Case.objects.order_by("reference"), user))
    names = selectors.api_case_page_names(rows, user)
    actual = represent_cases(rows, names, {"request": request, "sensitive_reads": fast_reads})
    assert len(actual) == len(expected) == 4
    for fast, slow in zip(actual, expected, strict=True):
        assert list(fast) == list(slow), "same keys in the same order"
        for key in fast:
            assert fast[key] == slow[key], (key, fast[key], slow[key])
    assert fast_reads == slow_reads
    if role == "officer":
        assert fast_reads == {("person", cases[0].person.uuid): {"names"}}
        assert [n["value"] for n in actual[0]["person"]["names"]] == ["리", "K-7", "Lee"]
    else:
        assert fast_reads == {}
        assert actual[0]["person"]["names"] == [
            {"value": "K-7", "script": "latin", "romanisation": "", "is_pseudonym": True}
        ]
        assert actual[0]["person"]["redacted"] == ["names"]


@pytest.mark.django_db
def test_analyst_never_reads_true_names():
    """For a reader without the permission, non-pseudonymous variants are not even queried."""
    person = f.person("Ri")  # 리 and Lee, neither a pseudonym
    analyst = user_in_role(ANALYST, "analyst")
    assert selectors.api_person_names([person.pk], analyst) == {}
    assert (
        len(
            selectors.api_person_names([person.pk], user_in_role(CASE_OFFICER, "officer"))[
                person.pk
            ]
        )
        == 2
    )


@pytest.mark.django_db
def test_officer_case_list_logs_true_names_in_one_insert(django_assert_num_queries):
    """A list showing true names appends one entry per such person, in one insert."""
    varied_cases()
    client, token = token_client(user_in_role(CASE_OFFICER, "officer"), name="registry")
    client.get(CASES)  # the token's first use is recorded (and the token kept) outside the count
    before = AccessLogEntry.objects.count()
    # rows, count, name variants, access-log insert (the token and permissions were kept)
    with django_assert_num_queries(3 + NAMES_QUERY):
        response = client.get(CASES, {"archived": "include"})
    assert response.status_code == 200
    entries = list(AccessLogEntry.objects.order_by("id"))[before:]
    rows = response.json()["results"]
    mixed = rows[0]["person"]["uuid"]
    assert [(e.object_type, str(e.object_uuid), e.fields) for e in entries] == [
        ("person", mixed, ["names"])
    ], "one entry for the person shown twice; none for pseudonyms only"
    assert entries[0].token_label == token.actor_label
    assert entries[0].path == CASES


@pytest.mark.django_db
@pytest.mark.parametrize("count", [1, 50])
def test_integration_token_case_list_query_count(count, django_assert_num_queries):
    """An integration token's list: rows, count, names; flat (the token and its permissions
    were kept at the first request)."""
    party = f.party()
    for _ in range(count):
        case = f.case(detaining_party=party)
        f.intention(case)
    client, _token = token_client(user_in_role(INTEGRATION, "integration"))
    client.get(CASES)
    with django_assert_num_queries(2 + NAMES_QUERY):
        response = client.get(CASES, {"page_size": 100, "status": "captured"})
    assert len(response.json()["results"]) == count
    assert response.json()["count"] == count


@pytest.mark.django_db
def test_count_has_only_the_joins_the_filters_need():
    """The count reads the case table alone unless a filter needs the person."""
    f.case()
    paginator = CasePaginator(Case.objects.filter(status="captured"), 50)
    with CaptureQueriesContext(connection) as captured:
        assert paginator.count == 1
    assert "JOIN" not in captured[-1]["sql"]
    paginator = CasePaginator(Case.objects.filter(person__nationalities__contains="KP"), 50)
    with CaptureQueriesContext(connection) as captured:
        paginator.count  # noqa: B018
    sql = captured[-1]["sql"]
    assert sql.count("JOIN") == 1 and "cases_person" in sql


@pytest.mark.django_db
def test_past_the_last_page_is_404():
    """The row-reading paginator still refuses a page past the end."""
    f.case()
    client = api_client(user_in_role(ANALYST, "analyst"))
    assert client.get(CASES, {"page": 2}).status_code == 404
    assert client.get(CASES, {"page": "last"}).json()["count"] == 1


# --------------------------------------------------------------------------------------------
# The exact count, kept per state of the case data (PostgreSQL, outside a transaction)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def in_another_connection(action):
    """Run ``action`` in a thread, on its own connection (autocommit), and wait for it."""
    from django.db import connections

    errors = []

    def run():
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - raised in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not errors, errors


def unrelated_commits():
    """Commit, on another connection, what writes no case data: a token's last use, and a
    table of another session (each commit takes a transaction id, as other databases do)."""
    from django.db import connections

    with connections["default"].cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE elsewhere (x int)")
        for _ in range(3):
            cursor.execute("INSERT INTO elsewhere VALUES (1)")
        cursor.execute("UPDATE cases_apitoken SET last_used_at = now()")


def settled():
    """Wait until every transaction that wrote events is older than the oldest one running
    anywhere on the server (the data state's second part is empty), and return.

    Until then the data state names the newest event-writing transactions one by one, and
    it changes form (not meaning) when an older transaction elsewhere ends, such as a test
    of another worker in another database of the same server: the count kept under the
    old form is then taken once more. A count read back is asserted once it has settled.
    """
    deadline = time.monotonic() + 60
    while True:
        with connection.cursor() as cursor:
            cursor.execute(selectors._DATA_STATE_SQL)
            (state,) = cursor.fetchone()
        if state.endswith("/"):
            return
        assert time.monotonic() < deadline, f"the data state did not settle: {state}"
        time.sleep(0.05)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_count_is_read_back_until_case_data_is_committed(empty_cache):
    """The same count is one data-state query while no case data is written, whatever else
    commits; a committed case write counts again."""
    f.case()
    settled()
    cases = Case.objects.filter(status="captured")
    assert selectors.exact_count(cases) == 1
    with CaptureQueriesContext(connection) as captured:
        assert selectors.exact_count(cases) == 1
    assert len(captured) == 1 and "count(*)" not in captured[0]["sql"]
    in_another_connection(unrelated_commits)
    with CaptureQueriesContext(connection) as captured:
        assert selectors.exact_count(cases) == 1
    assert len(captured) == 1, "commits that write no case data keep the count"
    f.case()  # committed with its event: the next count is taken afresh
    with CaptureQueriesContext(connection) as captured:
        assert selectors.exact_count(cases) == 2
    assert len(captured) == 2 and "count(*)" in captured[-1]["sql"]
    # Another filter is another count.
    assert selectors.exact_count(Case.objects.filter(status="interned")) == 0


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_case_list_reads_its_count_back_with_the_page(empty_cache):
    """A repeated list is its page alone (the token kept, the count read back); a commit of
    case data brings the count."""
    client, _token = token_client(user_in_role(INTEGRATION, "integration"))
    f.case()
    f.case()
    settled()
    assert client.get(CASES).json()["count"] == 2
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CASES).json()["count"] == 2
    assert len(captured) == 1, [q["sql"][:80] for q in captured]
    in_another_connection(unrelated_commits)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(CASES).json()["count"] == 2
    assert len(captured) == 1
    f.case()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(CASES)
    assert response.json()["count"] == 3 and len(response.json()["results"]) == 3
    assert len(captured) == 2, "the page, then the count taken afresh"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_count_sees_a_commit_from_another_connection(empty_cache):
    """A case written and committed by another connection is counted at once."""
    f.case()
    cases = Case.objects.all()
    assert selectors.exact_count(cases) == 1
    in_another_connection(f.case)
    assert selectors.exact_count(cases) == 2


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_count_follows_a_transaction_that_commits_after_a_newer_one(empty_cache):
    """A writer that took its transaction id first and commits last is still counted, and
    a transaction held open elsewhere (the oldest running) does not hide later commits."""
    party = f.party()  # committed: the writers below insert no row the other could wait on
    f.case(detaining_party=party)
    cases = Case.objects.all()
    began, release = threading.Event(), threading.Event()

    def slow_writer():
        with transaction.atomic():
            f.case(detaining_party=party)  # takes its transaction id now
            began.set()
            assert release.wait(20)

    failures = []

    def run_slow_writer():
        try:
            in_another_connection(slow_writer)
        except BaseException as exc:  # noqa: BLE001 - raised in the test's thread
            failures.append(exc)

    thread = threading.Thread(target=run_slow_writer)
    thread.start()
    assert began.wait(20)
    assert selectors.exact_count(cases) == 1  # not committed yet
    in_another_connection(lambda: f.case(detaining_party=party))  # a newer one commits first
    assert selectors.exact_count(cases) == 2
    assert selectors.exact_count(cases) == 2  # read back: the slow writer still runs
    release.set()
    thread.join(30)
    assert not failures, failures
    assert selectors.exact_count(cases) == 3


@pytest.mark.django_db
def test_count_inside_a_transaction_always_counts(django_assert_num_queries):
    """Inside a transaction (own uncommitted rows) the count is always taken afresh."""
    f.case()
    cases = Case.objects.all()
    assert selectors.exact_count(cases) == 1
    f.case()  # not committed: the test runs in a transaction
    with django_assert_num_queries(1):
        assert selectors.exact_count(cases) == 2


@pytest.mark.django_db
def test_filter_form_class_is_built_once_per_filterset(monkeypatch):
    """The FilterSet's form class is built once; each request still validates its own data."""
    from cases.api.views import CaseViewSet, FilterBackend

    filterset_class = CaseViewSet.filterset_class
    built = []
    original = filterset_class.get_form_class

    def spy(self):
        built.append(type(self))
        return original(self)

    monkeypatch.setattr(filterset_class, "get_form_class", spy)
    monkeypatch.setattr(FilterBackend, "form_classes", {})
    f.case()
    client = api_client(user_in_role(ANALYST, "analyst"))
    assert client.get(CASES, {"status": "captured"}).json()["count"] == 1
    assert client.get(CASES, {"status": "interned"}).json()["count"] == 0
    refused = client.get(CASES, {"status": "nonsense"})
    assert refused.status_code == 400 and "nonsense" in str(refused.json())
    assert built == [filterset_class]


@pytest.mark.django_db
def test_list_indexes_exist_on_postgresql_only():
    """The person list's order and the live-case count have their indexes on PostgreSQL."""
    import importlib

    migration = importlib.import_module("cases.migrations.0012_list_indexes")
    with connection.cursor() as cursor:
        names = {
            name
            for table in ("cases_case", "cases_person")
            for name in connection.introspection.get_constraints(cursor, table)
        }
    wanted = {name for name, _definition in migration.INDEXES}
    assert wanted == {"person_name_order", "case_live"}
    if connection.vendor == "postgresql":
        assert wanted <= names
    else:
        assert not wanted & names


@pytest.mark.django_db
def test_person_list_page_is_read_in_index_order_on_postgresql():
    """Sorting every person for a page of 50 is what the order index avoids."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN SELECT id FROM cases_person ORDER BY working_name, id LIMIT 50")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "person_name_order" in plan
    assert "Sort" not in plan


@pytest.mark.django_db
def test_nationality_filter_takes_several_codes_and_uses_its_index_on_postgresql():
    """Any of several codes matches, on both databases; PostgreSQL reads the GIN index."""
    from cases.filters import CaseFilterSet, PersonFilterSet
    from cases.models import Person

    dual = f.person("Kim", names=[], nationalities=["RU", "KP"])
    ivan = f.person("Ivan", names=[], nationalities=["RU"])
    baek = f.person("Baek", names=[], nationalities=["KR"])
    for person in (dual, ivan, baek):
        f.case(person_obj=person)
    persons = PersonFilterSet({"nationality": "KP,KR"}, queryset=Person.objects.all()).qs
    assert set(persons) == {dual, baek}
    cases = CaseFilterSet({"nationality": "RU"}, queryset=Case.objects.all()).qs
    assert {case.person for case in cases} == {dual, ivan}
    if connection.vendor != "postgresql":
        return
    from cases.filters import HoldsAnyCode

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Nor a walk of the name-order index filtering every person, which the planner may
        # prefer on a tiny table once its statistics say so (after other tests wrote).
        cursor.execute("SET LOCAL enable_indexscan = off")
    # The filter's own condition, without the person list's other conditions (not archived,
    # not merged), which have indexes of their own the planner may prefer on a tiny table.
    plan = Person.objects.filter(HoldsAnyCode("nationalities", ["KP", "KR"])).explain()
    assert "person_nationalities" in plan


@pytest.mark.django_db
@pytest.mark.parametrize(
    "params", [{"nationality": "RU"}, {"q": "Kim"}, {"q": "Kim", "nationality": "RU,KP"}]
)
def test_case_filters_by_person_do_not_sort_the_persons_they_match(params):
    """The persons subquery of a case filter has no ORDER BY: membership needs no order.

    Person's default ordering used to sort every match (10,507 for RU at 20,000 cases) inside
    ``ANY(ARRAY(...))`` before the page took its 50 rows; the cost followed the matches.
    """
    from cases.filters import CaseFilterSet

    sql = str(CaseFilterSet(params, queryset=Case.objects.all()).qs.query)
    where, _, outer_order = sql.rpartition(" ORDER BY ")
    assert "ORDER BY" not in where
    if connection.vendor == "postgresql" and "nationality" in params:
        # PostgreSQL reads the cases' own nationality rows (tests/perf/test_case_nationality.py).
        assert "cases_casenationality" in where
    else:
        assert "cases_person" in where
    assert outer_order.startswith('"cases_case"."reference"')


@pytest.mark.django_db
@pytest.mark.parametrize("intentions", [1, 6])
def test_case_detail_reads_the_case_and_its_rows_once(intentions):
    """A case's detail reads the case, and each prefetched set, once; the same for 1 or 6 rows."""
    client, _token = token_client(user_in_role(CASE_OFFICER, "officer"))
    case = f.case()
    for day in range(1, intentions + 1):
        f.intention(case, stated_on=dt.date(2025, 3, day))
    url = f"{CASES}{case.uuid}/"
    client.get(url)  # the token's first use is recorded outside the count
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    case_reads = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith("SELECT")
        and 'FROM "cases_case"' in q["sql"]
        and '"cases_case"."uuid"' in q["sql"]
    ]
    assert len(case_reads) == 1, case_reads
    statement_reads = [
        q for q in captured.captured_queries if 'FROM "cases_statedintention"' in q["sql"]
    ]
    assert len(statement_reads) == 1


def test_case_list_keys_and_columns_come_from_one_description():
    """CaseSerializer's fields and the columns the fast path reads are those of CASE_LIST."""
    assert list(CaseSerializer().fields) == [column.key for column in CASE_LIST]
    described = {name for column in CASE_LIST for name in column.columns()}
    assert set(selectors.CASE_ROW_FIELDS) == described - COMPUTED
