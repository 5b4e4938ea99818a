"""What is stored is worded in English; what is shown follows the reader's language.

A timeline summary is written once, by whoever made the change, and read by everyone: it
must not take the writer's language (an officer using the admin in Ukrainian). Country
names shown to a reader are in his language, and a cache of them is kept per language, so
the first reader's language never becomes everyone's.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from django.utils import translation
from django_countries.fields import Country

from cases import services
from cases.models import PersonName, TimelineEvent
from cases.pages import exports
from cases.places import services as places
from cases.timeline import presenter, vocabulary
from tests import factories as f
from tests.support.worlds import build_public_case

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_a_request_filed_in_another_language_is_summarised_in_english(language):
    case = f.case(reference="UA-2025-0001")
    with translation.override(language):
        f.request(case, kind="third_state_transfer", destination_country="KR")
    event = TimelineEvent.objects.filter(case=case, kind="request.filed").get()
    assert "(South Korea)" in event.summary


@pytest.mark.parametrize("first", ["uk", "ko", "en"])
def test_the_words_of_a_summary_do_not_depend_on_the_language(first):
    """The same summary whatever the language, and whichever language came first."""
    request = SimpleNamespace(kind="third_state_transfer", destination_country=Country("KR"))
    risk = SimpleNamespace(destination_country=Country("KP"), level="high")
    worded = {}
    for language in dict.fromkeys([first, "en", "uk", "ko"]):
        with translation.override(language):
            worded[language] = (vocabulary.request_label(request), vocabulary.risk_assessed(risk))
    assert set(worded.values()) == {
        (
            "request for transfer to a third state (South Korea)",
            "Risk on return to North Korea assessed: high",
        )
    }


@pytest.mark.parametrize("first", ["uk", "ko", "en"])
def test_country_names_shown_follow_the_reader_whoever_came_first(first):
    expected = {"en": "South Korea", "uk": "Південна Корея", "ko": "대한민국"}
    for language in dict.fromkeys([first, "en", "uk", "ko"]):
        with translation.override(language):
            assert (
                presenter.choice_labels("case", "current_intention_destination")["KR"]
                == (expected[language])
            )
            assert (
                presenter.choice_label("case", "current_intention_destination", "KR")
                == (expected[language])
            )
            assert exports._country_name("KR") == expected[language]


_CYRILLIC = re.compile("[\u0400-\u04ff]")
_HANGUL = re.compile("[\uac00-\ud7a3]")


@pytest.mark.parametrize("language", ["uk", "ko"])
def test_what_a_writer_in_another_language_stores_is_english(transactional_db, language):
    """Summaries and the labels in change lists stay English when the writer reads uk or ko.

    The public case is built with the writer's language active: its statements, requests,
    risk assessments, positions and status changes quote choice labels and field names,
    which are translated for readers; what is stored must not be.
    """
    with translation.override(language):
        data = build_public_case()
        # An update lists the changed fields by name; a place quotes its kind's label.
        services.case_update(actor=f.SYSTEM, case=data.ri, priority="high", capture_place="Kursk")
        places.place_create(
            actor=f.SYSTEM, name="Camp 1", kind="camp", detaining_party=data.ri.detaining_party
        )
    data_words = set()
    for name in PersonName.objects.all():
        data_words.add(name.value)
    stored = []
    for event in TimelineEvent.objects.all():
        text = event.summary + " " + json.dumps(event.changes, ensure_ascii=False)
        for word in data_words:
            text = text.replace(word, "")
        stored.append(text)
    assert stored, "the build wrote events"
    script = _CYRILLIC if language == "uk" else _HANGUL
    assert [text for text in stored if script.search(text)] == []
