"""The admin warns of likely duplicates before saving, merges into one, and undoes it."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from cases.duplicates.models import PersonMerge
from cases.models import Person
from cases.services import NameSpec
from tests import factories as f
from tests.support.admin import change_url, errors_text, form_data
from tests.support.clients import session_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

ADD = reverse("admin:cases_person_add")
PERSONS = reverse("admin:cases_person_changelist")


@pytest.fixture
def officer():
    return session_client(user_in_role(CASE_OFFICER, "dup-officer", is_staff=True))


def _add(client, **values):
    page = client.get(ADD)
    data = form_data(page)
    data.update({"names-TOTAL_FORMS": "0", "names-INITIAL_FORMS": "0", **values})
    return client.post(ADD, data)


def test_adding_a_second_lee_shows_the_first_before_saving(officer):
    """The first save lists the likely duplicate and saves nothing; 'save anyway' saves."""
    ri = f.person("Ri", names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin")])
    response = _add(officer, working_name="Ли")
    assert response.status_code == 200
    text = errors_text(response)
    assert "Likely duplicate: Ri" in text and change_url(ri) in text
    assert "Same name in another spelling or script: Ли ~ Ri" in text
    assert not Person.objects.filter(working_name="Ли").exists()
    response = _add(officer, working_name="Ли", save_despite_duplicates="on")
    assert response.status_code == 302, errors_text(response)
    assert Person.objects.filter(working_name="Ли").exists()


def test_an_unrelated_name_saves_at_once(officer):
    """No likely duplicate: no question."""
    f.person("Ri", names=[])
    response = _add(officer, working_name="Kim")
    assert response.status_code == 302, errors_text(response)


def test_renaming_into_a_duplicate_asks_too(officer):
    """A change of name is checked; a change of rank alone is not."""
    f.person("Paek", names=[])
    kim = f.person("Kim", names=[])
    page = officer.get(change_url(kim))
    data = form_data(page)
    response = officer.post(change_url(kim), {**data, "rank": "private"})
    assert response.status_code == 302, errors_text(response)
    page = officer.get(change_url(kim))
    data = form_data(page)
    response = officer.post(change_url(kim), {**data, "working_name": "Baek"})
    assert response.status_code == 200
    assert "Likely duplicate: Paek" in errors_text(response)


def test_merge_into_asks_which_to_keep_then_merges_and_undo_restores(officer):
    """The action shows the selected persons; confirming merges; the merge list undoes it."""
    ri, lee = f.person("Ri", names=[]), f.person("Lee", names=[])
    f.case(reference="UA-2025-0002", person_obj=lee)
    selected = {"action": "merge_into", ACTION_CHECKBOX_NAME: [ri.pk, lee.pk]}
    page = officer.post(PERSONS, selected)
    assert page.status_code == 200
    assert b"Merge persons" in page.content and b"Lee" in page.content
    response = officer.post(
        PERSONS, {**selected, "confirm_merge": "1", "keep": str(ri.pk), "reason": "Same man"}
    )
    assert response.status_code == 302
    lee.refresh_from_db()
    assert lee.merged_into == ri and ri.cases.count() == 1
    listed = officer.get(PERSONS)
    assert [p.pk for p in listed.context["cl"].result_list] == [ri.pk]

    merge = PersonMerge.objects.get()
    response = officer.post(
        reverse("admin:cases_personmerge_changelist"),
        {"action": "undo_merge", ACTION_CHECKBOX_NAME: [merge.pk], "reason": "Brothers"},
    )
    assert response.status_code == 302
    lee.refresh_from_db()
    assert lee.merged_into is None and lee.cases.count() == 1


def test_a_reader_cannot_merge():
    """Without the change permission the action is not offered and does nothing."""
    client = session_client(user_in_role(ANALYST, "dup-analyst", is_staff=True))
    ri, lee = f.person("Ri", names=[]), f.person("Lee", names=[])
    response = client.post(
        PERSONS,
        {
            "action": "merge_into",
            ACTION_CHECKBOX_NAME: [ri.pk, lee.pk],
            "confirm_merge": "1",
            "keep": str(ri.pk),
            "reason": "x",
        },
    )
    assert response.status_code in (200, 302, 403)
    assert not PersonMerge.objects.exists()
    assert Person.objects.get(pk=lee.pk).merged_into is None


def test_merge_into_refuses_a_person_changed_since_the_page_was_shown(officer):
    """The confirmation carries the versions shown; a stale one is refused, nothing moves."""
    ri, lee = f.person("Ri", names=[]), f.person("Lee", names=[])
    selected = {"action": "merge_into", ACTION_CHECKBOX_NAME: [ri.pk, lee.pk]}
    page = officer.post(PERSONS, selected)
    assert f'name="version_{lee.pk}" value="1"'.encode() in page.content
    response = officer.post(
        PERSONS,
        {
            **selected,
            "confirm_merge": "1",
            "keep": str(ri.pk),
            "reason": "Same man",
            f"version_{ri.pk}": "1",
            f"version_{lee.pk}": "0",
        },
        follow=True,
    )
    assert b"was changed by someone else" in response.content
    assert not PersonMerge.objects.exists()


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("uk", ["Ймовірний дублікат: Ri", "Те саме ім’я в іншому написанні чи письмі: Ли ~ Ri"]),
        ("ko", ["중복 의심: Ri", "다른 표기 또는 문자로 쓴 같은 이름: Ли ~ Ri"]),
    ],
)
def test_the_duplicates_warning_is_in_the_readers_language(language, words):
    """The lines naming the likely duplicate and why read in the officer's language; the
    names and the address stay as recorded."""
    from cases.preferences import account_language_set

    officer = user_in_role(CASE_OFFICER, f"dup-officer-{language}", is_staff=True)
    account_language_set(user=officer, language=language)
    ri = f.person("Ri", names=[NameSpec("리", "hangul"), NameSpec("Lee", "latin")])
    text = errors_text(_add(session_client(officer), working_name="Ли"))
    for word in words:
        assert word in text
    assert change_url(ri) in text
    assert "Likely duplicate" not in text and "Save anyway" not in text
