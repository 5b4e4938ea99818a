"""The migration that rewrites admin change-log rows written before they kept text out."""

import importlib
import json

import pytest
from django.apps import apps
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from tests import factories

pytestmark = pytest.mark.django_db

scrub = importlib.import_module("cases.migrations.0016_scrub_admin_change_log").scrub


def test_old_rows_lose_note_text_and_names_but_keep_what_changed():
    """A note's words and a name inside an old message become kind and reference or uuid."""
    from cases import services

    case = factories.case()
    note = services.note_add(actor=factories.SYSTEM, case=case, body="Mother lives in Hyesan")
    user = factories.user()
    old_note = LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(note),
        object_id=str(note.pk),
        object_repr="Mother lives in Hyesan",
        action_flag=ADDITION,
        change_message=json.dumps([{"added": {}}]),
    )
    old_case = LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(case),
        object_id=str(case.pk),
        object_repr=str(case),
        action_flag=CHANGE,
        change_message=json.dumps(
            [
                {"changed": {"fields": ["Priority"]}},
                {"added": {"name": "note", "object": "Mother lives in Hyesan"}},
            ]
        ),
    )
    gone = LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(note),
        object_id="999999",
        object_repr="Father: Kim Chol",
        action_flag=CHANGE,
        change_message="Changed the body: Father Kim Chol",
    )

    scrub(apps, None)

    for entry in (old_note, old_case, gone):
        entry.refresh_from_db()
        stored = entry.object_repr + entry.change_message
        assert "Hyesan" not in stored and "Kim Chol" not in stored
    assert old_note.object_repr == f"Note {note.uuid}"
    assert old_case.object_repr == f"Case {case.reference}"
    assert json.loads(old_case.change_message) == [
        {"changed": {"fields": ["Priority"]}},
        {"added": {"name": "note"}},
    ]
    assert gone.object_repr == "Note 999999" and gone.change_message == ""
