"""The admin's merge page, the import's buttons and the change lists' messages translate."""

from __future__ import annotations

import json

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cases.imports.models import ImportRun
from cases.preferences import account_language_set
from tests import factories as f
from tests.imports.conftest import csv_bytes
from tests.support.clients import session_client
from tests.support.roles import CASE_OFFICER, user_in_role

pytestmark = pytest.mark.django_db

PERSONS = reverse("admin:cases_person_changelist")


def officer_in(language: str):
    officer = user_in_role(CASE_OFFICER, f"words-officer-{language}", is_staff=True)
    account_language_set(user=officer, language=language)
    return session_client(officer)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("uk", ["Об’єднання осіб", "Варіанти імені, які вам дозволено бачити", "Об’єднати"]),
        ("ko", ["인물 병합", "열람 가능한 이름 표기", "유지하는 인물이"]),
    ],
)
def test_the_merge_page_and_its_message_are_in_the_readers_language(language, words):
    client = officer_in(language)
    ri, lee = f.person("Ri", names=[]), f.person("Lee", names=[])
    selected = {"action": "merge_into", ACTION_CHECKBOX_NAME: [ri.pk, lee.pk]}
    body = client.post(PERSONS, selected).content.decode()
    for word in words:
        assert word in body
    assert "Merge persons" not in body and "Name variants you may see" not in body
    response = client.post(
        PERSONS, {**selected, "confirm_merge": "1", "keep": str(ri.pk), "reason": "Same man"}
    )
    assert response.status_code == 302
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Undo it" not in message and "Ri" in message


def test_the_imports_buttons_are_in_the_readers_language():
    client = officer_in("uk")
    client.post(
        reverse("admin:cases_importrun_add"),
        {
            "file": SimpleUploadedFile("list.csv", csv_bytes([["Name"], ["Baek"]])),
            "kind": "exchange",
            "columns": json.dumps({"Name": "working_name"}),
        },
    )
    run = ImportRun.objects.get()
    body = client.get(reverse("admin:cases_importrun_change", args=[run.pk])).content.decode()
    assert 'value="Застосувати"' in body
    assert "Пропустити рядки з конфліктами або помилками" in body
    assert "Leave out the rows" not in body
