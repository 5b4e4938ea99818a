"""The name search reads indexes on PostgreSQL: every branch of ``q=`` has one that serves it.

The tests switch off sequential scans and plain index scans, which a small table makes
cheaper than any search index; what is left to read a table with a condition is a bitmap
scan of an index that serves the condition, or a (penalised) sequential scan. An expression
that drifted from its index (``cases.names`` against migration ``0011_name_search``) shows
up as a sequential scan here, however small the test database. They assert
plans, not timings; ``bench/api_bench.py`` measures the time.
"""

import importlib

import pytest
from django.db import connection
from django.test import RequestFactory

from cases import names
from cases.filters import CaseFilterSet, PersonFilterSet
from cases.models import Case, Person, PersonName
from cases.services import NameSpec
from tests import factories

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the indexes are PostgreSQL's"
)


def test_the_migration_indexes_the_words_as_the_search_splits_them():
    """The word indexes were built with the separators the search still uses."""
    migration = importlib.import_module("cases.migrations.0011_name_search")
    assert migration.WORD_SEPARATORS == names.WORD_SEPARATORS


def _request(*, sensitive: bool):
    request = RequestFactory().get("/api/v1/cases/")
    request.user = factories.user("root", is_superuser=True) if sensitive else factories.user()
    return request


def _plan(queryset) -> str:
    """Return the plan of ``queryset`` with only bitmap scans left (for this transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_indexonlyscan = off")
    return queryset.explain()


@pytest.fixture
def people(db):
    """A few persons and cases, so that every table has rows to plan for."""
    for working_name, value in [("Ri", "Ri Hyon Chol"), ("Baek", "백국진"), ("Ivan", "Иван")]:
        person = factories.person(working_name, names=[NameSpec(value, "latin")])
        factories.case(person_obj=person)


@postgresql_only
@pytest.mark.parametrize("query", ["Lee", "리", "Ri", "Baek", "정은"])
def test_each_kind_of_spelling_reads_its_index(people, query):
    """Substrings read the trigram index, words the word index, Hangul ends the btrees."""
    search = names.NameSearch.of(query)
    plan = _plan(PersonName.objects.filter(search.condition()).order_by())
    assert "Seq Scan" not in plan
    if search.substrings:
        assert "personname_search_trgm" in plan
    if search.words:
        assert "personname_words" in plan
    if search.hangul_ends:
        assert "personname_search_reversed" in plan
        assert "cases_personname_search_key_" in plan  # Django's pattern index for the start


@postgresql_only
@pytest.mark.parametrize("sensitive", [True, False])
@pytest.mark.parametrize("query", ["Lee", "리", "Ri", "UA-2025-0001", "UA", "Kowalski"])
def test_case_search_scans_no_table(people, query, sensitive):
    """The count and the page of q= read indexes only, for every user.

    Archived cases are included so that the live-case index (``case_live``) is no candidate:
    on a test database of a few rows the planner would rather read all of it than the
    trigram index, which it prefers at scale (28 ms for q=Lee at 100,000 cases).
    """
    request = _request(sensitive=sensitive)
    queryset = CaseFilterSet(
        {"q": query, "archived": "include"}, queryset=Case.objects.all(), request=request
    ).qs
    plan = _plan(queryset.order_by("reference"))
    assert "Seq Scan" not in plan
    if len(query) >= names.MIN_SUBSTRING_LENGTH:
        assert "case_reference_trgm" in plan
        assert "person_working_name_trgm" in plan
    else:
        assert "person_working_name_words" in plan or not names.short_query_words(query)


@postgresql_only
@pytest.mark.parametrize("query", ["Lee", "Ri"])
def test_person_search_scans_no_table(people, query):
    request = _request(sensitive=False)
    queryset = PersonFilterSet({"q": query}, queryset=Person.objects.all(), request=request).qs
    assert "Seq Scan" not in _plan(queryset)
