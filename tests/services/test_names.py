"""Name search across scripts and romanisations: the spellings a query expands to."""

import pytest
from django.test import RequestFactory

from cases.filters import CaseFilterSet, PersonFilterSet
from cases.models import Case, Person
from cases.names import NameSearch, name_words, normalise_name, romanise_hangul, search_variants
from cases.services import NameSpec
from tests import factories


def test_normalise_name_folds_case_accents_and_separators():
    """Case, diacritics, spaces and hyphens do not matter; Hangul stays whole."""
    assert normalise_name("Rhée Yong-Un") == "rheeyongun"
    assert normalise_name(" 리 영 ") == "리영"


def test_empty_query_has_no_variants():
    assert search_variants("  ") == set()


@pytest.mark.parametrize("query", ["리", "이", "Ri", "Lee", "Yi", "Rhee", "Ли"])
def test_ri_spellings_find_each_other(query):
    """Every spelling of the surname 리/이 expands to all the others."""
    variants = search_variants(query)
    assert {"리", "이", "ri", "lee", "yi", "rhee"} <= variants


@pytest.mark.parametrize("query", ["백", "Baek", "Paek", "Paik"])
def test_baek_spellings_find_each_other(query):
    assert {"백", "baek", "paek", "paik"} <= search_variants(query)


@pytest.mark.parametrize(
    ("hangul", "latin"),
    [("김", {"kim", "gim"}), ("박", {"park", "pak", "bak"}), ("최", {"choe", "choi"})],
)
def test_common_surnames_cross_scripts(hangul, latin):
    """Hangul finds the Latin spellings, and each Latin spelling finds the Hangul."""
    assert latin <= search_variants(hangul)
    for spelling in latin:
        assert hangul in search_variants(spelling)


def test_hangul_full_name_is_romanised_in_both_common_styles():
    """김정은 finds the Revised spelling and the press spelling Kim Jong Un."""
    variants = search_variants("김정은")
    assert {"gimjeongeun", "kimjongun"} <= variants
    assert romanise_hangul("정은") == {"jeongeun", "jongun"}


def test_latin_full_name_varies_the_surname():
    """'Ri Yong' also finds 'Lee Yong' and 'Yi Yong', and nothing mixes scripts."""
    variants = search_variants("Ri Yong")
    assert {"riyong", "leeyong", "yiyong"} <= variants
    assert all(v.isascii() or not any(c.isascii() for c in v) for v in variants)


def test_cyrillic_and_latin_transliterate():
    """Иванов finds Ivanov and the reverse."""
    assert "ivanov" in search_variants("Иванов")
    assert "иванов" in search_variants("Ivanov")


def test_single_letter_romanisations_are_left_out():
    """The romanisation "i" of 이 would match nearly every name as a substring."""
    assert "i" not in search_variants("이")


def _searcher(*, sensitive: bool = True):
    """Return a request whose user may (or may not) see true names."""
    request = RequestFactory().get("/cases/")
    request.user = factories.user("root", is_superuser=True) if sensitive else factories.user()
    return request


def _cases(query: str, request) -> list:
    return list(CaseFilterSet({"q": query}, queryset=Case.objects.all(), request=request).qs)


def _persons(query: str, request) -> list:
    return list(PersonFilterSet({"q": query}, queryset=Person.objects.all(), request=request).qs)


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["리", "Ri", "Lee", "Yi", "Rhee", "이"])
def test_case_filter_finds_ri_by_any_spelling(query):
    """The shared FilterSet finds the case whatever spelling the analyst types."""
    ri = factories.person("Ri", names=[NameSpec("Lee", "latin", "conventional")])
    baek = factories.person("Baek", names=[NameSpec("백", "hangul"), NameSpec("Paek", "latin")])
    ri_case = factories.case(person_obj=ri)
    factories.case(person_obj=baek)
    assert _cases(query, _searcher()) == [ri_case]


@pytest.mark.django_db
def test_case_filter_finds_latin_spelling_from_hangul():
    """Typing 백 finds a person recorded only as 'Paik'."""
    baek = factories.person("B.", names=[NameSpec("Paik", "latin", "press")])
    baek_case = factories.case(person_obj=baek)
    factories.case()
    assert _cases("백", _searcher()) == [baek_case]


# --------------------------------------------------------------------------------------------
# Spellings too short for a substring search: whole words, and the ends of Hangul names
# --------------------------------------------------------------------------------------------


def test_name_search_groups_spellings_by_length_and_script():
    """Three letters or more are substrings; shorter ones are words, or Hangul name ends."""
    search = NameSearch.of("Lee")
    assert {"lee", "rhee", "yee"} <= set(search.substrings)
    assert {"ri", "li", "yi", "ли", "ри"} <= set(search.words)
    assert set(search.hangul_ends) == {"리", "이"}
    assert NameSearch.of("  ") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Ri Hyon Chol", True),  # the surname first
        ("Hyon-Chol Ri", True),  # the surname last, after a hyphenated given name
        ("Kim Ri Yong", True),  # a whole word anywhere
        ("RI", True),  # any case
        ("Ли Хён Чхоль", True),  # Cyrillic, any case
        ("리현철", True),  # Hangul: the first syllable
        ("김영리", True),  # Hangul: the last syllable
        ("Lee Hyun-chul", True),  # three letters: a substring, as before
        ("Dmitriy Ivanov", False),  # "ri" inside another name
        ("Rim Hyon Chol", False),  # another surname that begins with Ri
        ("Oleh Chornyi", False),  # "yi" at the end of another name
        ("김리현", False),  # a Hangul syllable in the middle
    ],
)
def test_short_spellings_match_whole_words_or_hangul_ends(value, expected):
    """Ri, Li, Yi and 리 match a whole word or a Hangul name's end, not any substring."""
    assert NameSearch.of("Lee").matches(value) is expected


def test_name_words_split_like_the_query():
    assert name_words("Ch'oe Yŏng-ho, Jr.") == ["ch", "oe", "yŏng", "ho", "jr"]


NAMES = [
    "Ri Hyon Chol",
    "Hyon-Chol Ri",
    "Kim Ri Yong",
    "RI",
    "Ли Хён Чхоль",
    "리현철",
    "김영리",
    "Lee Hyun-chul",
    "Dmitriy Ivanov",
    "Rim Hyon Chol",
    "Oleh Chornyi",
    "김리현",
    "Li_Na",
    "Yi.",
]


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["Lee", "리", "Ri", "Li", "ли", "Rim", "정은", "Chol"])
def test_database_search_equals_the_python_rule(query):
    """The SQL (index-served on PostgreSQL, row by row on SQLite) matches what Python says."""
    persons = {}
    for number, value in enumerate([*NAMES, "김정은"]):
        person = factories.person(f"P{number}", names=[NameSpec(value, "latin")])
        persons[person.pk] = value
    search = NameSearch.of(query)
    expected = sorted(value for value in persons.values() if search.matches(value))
    found = sorted(persons[p.pk] for p in _persons(query, _searcher()))
    assert found == expected
    assert expected  # each query finds something, so the comparison is not vacuous


@pytest.mark.django_db
def test_short_query_matches_whole_words_of_the_working_name_and_reference_starts():
    """Under three characters, a working name matches by whole word and a reference by start."""
    ri = factories.case(reference="KR-2025-0001", person_obj=factories.person("Ri", names=[]))
    factories.case(reference="UA-2025-0002", person_obj=factories.person("Dmitriy", names=[]))
    request = _searcher()
    assert _cases("ri", request) == [ri]
    assert _cases("KR", request) == [ri]
    assert _cases("2025-0001", request) == [ri]  # three characters or more: anywhere
    assert _cases("R", request) == []  # no working name is the word "r", no reference starts so


@pytest.mark.django_db
def test_search_treats_like_wildcards_as_text():
    """A % or _ in the query is a character to find, not a wildcard."""
    percent = factories.case(person_obj=factories.person("Sung_100%", names=[]))
    factories.case(person_obj=factories.person("Sung 1000", names=[]))
    assert _cases("_100%", _searcher()) == [percent]


# --------------------------------------------------------------------------------------------
# Visibility: the FilterSets search only the variants the user may see
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("filterset", ["case", "person"])
def test_filter_q_searches_true_names_only_with_the_permission(filterset):
    """Without cases.view_sensitive (or without a request) a true name finds nothing."""
    person = factories.person(
        "K-7", names=[NameSpec("리현철", "hangul"), NameSpec("Grom", "latin", is_pseudonym=True)]
    )
    case = factories.case(person_obj=person)
    found = (lambda q, r: _cases(q, r)) if filterset == "case" else _persons
    expected = case if filterset == "case" else person
    assert found("리", _searcher()) == [expected]
    assert found("리", _searcher(sensitive=False)) == []
    assert found("리", None) == []
    assert found("Grom", _searcher(sensitive=False)) == [expected]  # a pseudonym: visible
    assert found("K-7", _searcher(sensitive=False)) == [expected]  # the working name


@pytest.mark.django_db
def test_filter_q_counts_each_case_once_and_in_one_query(django_assert_num_queries):
    """A case matched by its working name and several variants is counted and listed once."""
    person = factories.person(
        "Ri", names=[NameSpec("Ri Hyon", "latin"), NameSpec("리현", "hangul")]
    )
    case = factories.case(person_obj=person)
    factories.case(person_obj=factories.person("Baek", names=[NameSpec("백", "hangul")]))
    queryset = CaseFilterSet({"q": "Ri"}, queryset=Case.objects.all(), request=_searcher()).qs
    with django_assert_num_queries(1):
        assert queryset.count() == 1
    with django_assert_num_queries(1):
        assert list(queryset) == [case]
