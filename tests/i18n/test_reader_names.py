"""A person's name in the reader's script first: Hangul for Korean, Cyrillic for Ukrainian.

The name shown first on the analysts' list and case page, and on the admin's case page, is
the working name when it is written in the reader's script, else the first name variant in
that script the reader may see; the others stay beside it. Need-to-know holds: a reader
without the permission to see sensitive values sees pseudonyms only, whatever his language,
so a true name in his script is never put first for him.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from cases.names import names_for_reader, script_of
from cases.services import NameSpec
from tests import factories as f
from tests.support.clients import session_client
from tests.support.roles import ANALYST, CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db


def variant(value: str, script: str):
    return SimpleNamespace(value=value, script=script)


VARIANTS = [variant("리", "hangul"), variant("Lee", "latin"), variant("Рі", "cyrillic")]


@pytest.mark.parametrize(
    ("language", "first"), [("ko", "리"), ("uk", "Рі"), ("en", "Ri"), ("ko-kr", "리"), ("de", "Ri")]
)
def test_the_first_name_is_in_the_readers_script(language, first):
    shown = [name.value for name in names_for_reader("Ri", VARIANTS, language)]
    assert shown[0] == first
    # Every name once, the working name first among the others.
    assert sorted(shown) == sorted({"Ri", "리", "Lee", "Рі"})
    assert len(shown) == len(set(shown))
    if first != "Ri":
        assert shown[1] == "Ri"


def test_a_working_name_in_the_readers_script_stays_first():
    shown = names_for_reader("리현철", [variant("Ri Hyon Chol", "latin")], "ko")
    assert [name.value for name in shown] == ["리현철", "Ri Hyon Chol"]


def test_without_a_variant_in_his_script_the_reader_gets_the_working_name():
    shown = names_for_reader("Ri", [variant("리", "hangul")], "uk")
    assert [name.value for name in shown] == ["Ri", "리"]


@pytest.mark.parametrize(
    ("text", "script"),
    [("리현철", "hangul"), ("Рі Хьон Чхоль", "cyrillic"), ("Ri Hyon-chol", "latin"), ("", "")],
)
def test_script_of(text, script):
    assert script_of(text) == script


@pytest.fixture
def ri():
    """A case whose person has a Hangul pseudonym and a Cyrillic true name."""
    person = f.person(
        "Ri",
        names=[
            NameSpec("리", "hangul", is_pseudonym=True),
            NameSpec("Lee", "latin", "conventional", is_pseudonym=True),
            NameSpec("Рі Хьон Чхоль", "cyrillic"),
        ],
    )
    return f.case(reference="UA-2025-0001", person_obj=person)


def _list_person_cell(client, language: str) -> str:
    body = client.get("/cases/", headers={"Accept-Language": language}).content.decode()
    match = re.search(
        r'<span class="person">([^<]*)</span>(?: <span class="variants">([^<]*))?', body
    )
    assert match, "the list shows the case"
    return match.group(1), match.group(2) or ""


def _case_heading(client, case, language: str) -> str:
    body = client.get(f"/cases/{case.uuid}/", headers={"Accept-Language": language})
    return re.search(r"<h1>([^<]*)</h1>", body.content.decode()).group(1)


@pytest.mark.parametrize(
    ("language", "first", "beside"),
    [("ko", "리", "Ri · Lee"), ("uk", "Рі Хьон Чхоль", "Ri · 리"), ("en", "Ri", "리 · Lee")],
)
def test_a_reader_of_sensitive_values_sees_the_name_in_his_script_first(
    ri, language, first, beside
):
    reader = user_in_role(CASE_OFFICER, extra_permissions=["view_sensitive"])
    client = session_client(reader)
    assert _list_person_cell(client, language) == (first, beside)
    assert _case_heading(client, ri, language) == f"UA-2025-0001 · {first}"


@pytest.mark.parametrize("language", ["uk", "ko", "en"])
def test_a_reader_without_the_permission_never_gets_the_true_name_first(ri, language):
    """Only pseudonyms: the Cyrillic true name is nowhere, so a Ukrainian reader gets "Ri"."""
    client = session_client(user_in_role(ANALYST))
    first, beside = _list_person_cell(client, language)
    assert first == {"ko": "리", "uk": "Ri", "en": "Ri"}[language]
    for body in (
        client.get("/cases/", headers={"Accept-Language": language}).content.decode(),
        client.get(f"/cases/{ri.uuid}/", headers={"Accept-Language": language}).content.decode(),
    ):
        assert "Рі Хьон Чхоль" not in body


@pytest.mark.parametrize(("language", "first"), [("ko", "리"), ("uk", "Рі Хьон Чхоль")])
def test_the_admins_case_page_puts_the_readers_script_first(ri, language, first):
    officer = user_in_role(CASE_OFFICER, is_staff=True, extra_permissions=["view_sensitive"])
    client = session_client(officer)
    body = client.get(
        f"/admin/cases/case/{ri.pk}/change/", headers={"Accept-Language": language}
    ).content.decode()
    assert re.search(r'<a href="[^"]+"><strong>([^<]*)</strong></a>', body).group(1) == first
