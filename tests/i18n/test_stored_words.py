"""What is stored is worded in English; what is shown follows the reader's language.

A timeline summary is written once, by whoever made the change, and read by everyone: it
must not take the writer's language (an officer using the admin in Ukrainian). Country
names shown to a reader are in his language, and a cache of them is kept per language, so
the first reader's language never becomes everyone's.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.utils import translation
from django_countries.fields import Country

from cases.models import TimelineEvent
from cases.pages import exports
from cases.timeline import presenter, vocabulary
from tests import factories as f

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
