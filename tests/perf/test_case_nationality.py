"""Each case's nationalities as (code, reference) rows, kept by triggers (migration 0028).

On PostgreSQL ``nationality=XX`` reads ``cases_casenationality`` (a semi-join on its
``case_id`` index) instead of every person's codes. The table must hold exactly the codes
of each case's person, on every path that writes: tests compare it with the persons after
each kind of write. SQLite has no table and keeps the substring match; the filter answers
the same there.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from cases import filters, services
from cases.filters import CASE_NATIONALITY_TABLE, CaseFilterSet
from cases.models import Case, TimelineEvent
from tests import factories as f

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the table and its triggers are PostgreSQL's"
)


def expected() -> set[tuple[str, str, int]]:
    """Return (code, reference, case id) for every case and every code of its person."""
    return {
        (code, case.reference, case.pk)
        for case in Case.objects.select_related("person")
        for code in case.person.nationalities
    }


def stored() -> set[tuple[str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT code, reference, case_id FROM {CASE_NATIONALITY_TABLE}")
        return set(cursor.fetchall())


@pytest.fixture
def people():
    kim = f.person("Kim", names=[], nationalities=["RU", "KP"])
    ivan = f.person("Ivan", names=[], nationalities=["RU"])
    baek = f.person("Baek", names=[], nationalities=["KP"])
    return {"kim": kim, "ivan": ivan, "baek": baek}


@on_postgresql
def test_the_rows_follow_every_write_of_cases_and_persons(people):
    """Opening cases, changing nationalities, a reference, a person, merging and purging:
    after each, the table holds exactly the codes of each case's person."""
    kim_case = f.case(reference="UA-2025-0101", person_obj=people["kim"])
    ivan_case = f.case(reference="UA-2025-0102", person_obj=people["ivan"])
    f.case(reference="UA-2025-0103", person_obj=people["baek"])
    assert stored() == expected() and len(stored()) == 4

    services.person_update(actor=f.SYSTEM, person=people["ivan"], nationalities=["UA", "RU"])
    assert ("UA", "UA-2025-0102", ivan_case.pk) in stored()
    assert stored() == expected()

    services.case_update(actor=f.SYSTEM, case=kim_case, reference="UA-2025-0199")
    assert stored() == expected()
    assert not any(reference == "UA-2025-0101" for _, reference, _ in stored())

    from cases.duplicates.services import person_merge

    person_merge(actor=f.SYSTEM, duplicate=people["baek"], survivor=people["kim"], reason="same")
    assert stored() == expected()

    from cases.choices import Channel
    from cases.services import Actor
    from tests.support.roles import superuser

    root = Actor(user=superuser(), channel=Channel.ADMIN)
    services.case_purge(actor=root, case=ivan_case, reason="entered in error")
    assert stored() == expected()
    assert not any(case_id == ivan_case.pk for _, _, case_id in stored())


@on_postgresql
def test_a_write_that_fails_leaves_the_rows_as_they_were(people):
    """The rows are written in the writer's transaction: a write rolled back leaves none."""
    from django.db import transaction

    case = f.case(reference="UA-2025-0201", person_obj=people["ivan"])
    before = stored()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.person_update(actor=f.SYSTEM, person=people["ivan"], nationalities=["KR"])
        assert ("KR", case.reference, case.pk) in stored()
        raise RuntimeError("refused")
    assert stored() == before == expected()


@on_postgresql
def test_the_demo_generator_keeps_the_rows_too():
    """The demo data is written through the timeline's sinks, not the services: the
    triggers keep the table all the same."""
    call_command("seed_demo", cases=5, seed=3, verbosity=0)
    assert stored() == expected() and stored()


#: How the cases of a nationality are read on PostgreSQL: by id, or walked in reference order
#: (``cases.filters._cases_of_nationalities`` chooses by the estimated rows; here the
#: estimate is set). SQLite has one way.
STRATEGIES = {"read by id": 0.0, "walked": 1e12}


@pytest.fixture(params=sorted(STRATEGIES))
def strategy(request, monkeypatch):
    estimate = STRATEGIES[request.param]
    monkeypatch.setattr(filters, "_estimated_rows", lambda alias, codes: estimate)
    return request.param


@pytest.mark.parametrize("codes", ["RU", "KP", "RU,KP", "KR"])
def test_the_filter_matches_and_orders_by_reference_on_both_databases(people, codes, strategy):
    """Any of the codes matches, each case once, in reference order."""
    for number, person in enumerate([*people.values(), people["kim"]]):
        f.case(reference=f"UA-2025-03{9 - number:02d}", person_obj=person)
    wanted = set(codes.split(","))
    cases = list(CaseFilterSet({"nationality": codes}, queryset=Case.objects.all()).qs)
    truth = sorted(
        (c for c in Case.objects.all() if wanted & set(c.person.nationalities)),
        key=lambda c: c.reference,
    )
    assert [c.reference for c in cases] == [c.reference for c in truth]
    assert CaseFilterSet({"nationality": codes}, queryset=Case.objects.all()).qs.count() == len(
        truth
    )


@on_postgresql
def test_the_filter_holds_when_nested_in_another_query(people, strategy):
    """The filtered cases nested in another query (the pages' event chart and a webhook
    subscription's case filter do this; Django renames the case table there) give the same
    cases, for one code and for several."""
    for number, person in enumerate(people.values()):
        f.case(reference=f"UA-2025-04{number:02d}", person_obj=person)
    for codes in ("RU", "RU,KP"):
        filtered = CaseFilterSet({"nationality": codes}, queryset=Case.objects.all()).qs
        nested = Case.objects.filter(pk__in=filtered.order_by().values("pk"))
        wanted = set(codes.split(","))
        truth = {c.pk for c in Case.objects.all() if wanted & set(c.person.nationalities)}
        assert truth and set(nested.values_list("pk", flat=True)) == truth
        events = TimelineEvent.objects.filter(case__in=filtered.order_by().values("pk"))
        assert events.count() == TimelineEvent.objects.filter(case__in=list(filtered)).count()


@on_postgresql
def test_one_code_reads_the_cases_through_the_table_not_the_persons():
    """One code is a semi-join on the table's rows, planned without reading the persons."""
    sql, params = (
        CaseFilterSet({"nationality": "RU"}, queryset=Case.objects.all())
        .qs[:50]
        .query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "cases_casenationality" in plan
    assert "cases_person" not in plan


@on_postgresql
@pytest.mark.parametrize(
    ("strategy", "shape"),
    [("read by id", "= ANY(ARRAY(SELECT case_id"), ("walked", "IN (SELECT case_id")],
)
def test_few_matches_are_read_by_id_and_many_walked(strategy, shape, monkeypatch):
    """A code on few cases reads them by id, one on many walks the cases in order."""
    estimate = STRATEGIES[strategy]
    monkeypatch.setattr(filters, "_estimated_rows", lambda alias, codes: estimate)
    sql, _params = CaseFilterSet(
        {"nationality": "KP"}, queryset=Case.objects.all()
    ).qs.query.sql_with_params()
    assert shape in sql


def _plan_nodes(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _plan_nodes(child)


@on_postgresql
@pytest.mark.parametrize("codes", ["RU", "RU,KR", "KR"])
def test_the_walk_starts_at_the_first_match(people, codes, monkeypatch):
    """Many cases before the first match in reference order: the page's walk reads the
    cases from the first match's reference on, not every case before it. (The planner is
    held to a walk in reference order, as it takes one on large tables; on a few hundred
    rows it would rather read them all and sort.)"""
    monkeypatch.setattr(filters, "_estimated_rows", lambda alias, codes: STRATEGIES["walked"])
    for number in range(150):
        f.case(reference=f"UA-2025-1{number:03d}", person_obj=people["baek"])
    matches = [f.case(reference=f"UA-2025-2{n:03d}", person_obj=people["ivan"]) for n in range(3)]
    sql, params = (
        CaseFilterSet({"nationality": codes}, queryset=Case.objects.all())
        .qs[:50]
        .query.sql_with_params()
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_sort", "enable_bitmapscan", "enable_hashjoin"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
        cursor.execute(sql, params)
        found = [row[0] for row in cursor.fetchall()]
    walked = [
        node["Actual Rows"] * node["Actual Loops"]
        for node in _plan_nodes(plan[0]["Plan"])
        if node.get("Relation Name") == "cases_case"
    ]
    assert walked, plan  # the cases were read
    wanted = [] if codes == "KR" else [case.pk for case in matches]
    assert found == wanted
    assert max(walked) <= len(wanted), plan


@on_postgresql
def test_the_estimate_is_the_statistics_of_the_table(people, monkeypatch):
    """After ANALYZE, a code's estimated rows are its rows, and a code the statistics do not
    list counts as the least common one."""
    monkeypatch.setattr(filters, "_statistics", {})
    for number, person in enumerate([*people.values(), people["ivan"], people["ivan"]]):
        f.case(reference=f"UA-2025-05{number:02d}", person_obj=person)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CASE_NATIONALITY_TABLE}")
    # Cases: Kim (RU, KP), Ivan (RU) three times, Baek (KP): RU on 4, KP on 2.
    assert filters._estimated_rows("default", ["RU"]) == pytest.approx(4)
    assert filters._estimated_rows("default", ["KP"]) == pytest.approx(2)
    assert filters._estimated_rows("default", ["RU", "KP"]) == pytest.approx(6)
    assert filters._estimated_rows("default", ["KR"]) == pytest.approx(2)  # the least common
    assert filters._statistics["default"][3] == pytest.approx(6)  # the table's rows


def test_estimates_from_statistics():
    """Never analyzed: no estimate (the filter walks). Else the shares times the rows."""
    assert filters.estimates_from_statistics(-1, None, None) is None
    assert filters.estimates_from_statistics(0, None, None) is None
    assert filters.estimates_from_statistics(100.0, ["RU", "KP"], [0.5, 0.1]) == (
        {"RU": 50.0, "KP": 10.0},
        10.0,
    )
    assert filters.estimates_from_statistics(100.0, None, None) == ({}, 100.0)


def test_few_is_fewer_than_what_walking_would_cost():
    """Read by id up to where walking evenly spread matches costs as much, at least 100."""
    assert filters.read_by_id_max_rows(100_000) == pytest.approx(1118, abs=1)
    assert filters.read_by_id_max_rows(20_000) == pytest.approx(500)
    assert filters.read_by_id_max_rows(10) == filters.READ_BY_ID_MIN_ROWS
    assert filters.read_by_id_max_rows(0) == filters.READ_BY_ID_MIN_ROWS
