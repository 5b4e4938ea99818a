"""The case's current intention: which statement counts, and the copy kept on the case."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from cases import services
from cases.choices import EventKind, IntentionState
from cases.models import Case, StatedIntention, TimelineEvent
from cases.selectors import current_intention_for
from tests import factories
from tests.support.timeline import ref


def labels(pair: list) -> list:
    """Return the labels of a change between two statements, checking each names its row."""
    for side in pair:
        if side is not None:
            assert side == ref(StatedIntention.objects.get(uuid=side["uuid"]))
    return [side and side["label"] for side in pair]


SYSTEM = factories.SYSTEM
pytestmark = pytest.mark.django_db

SETTING_FOR = {
    "reported": "hearsay",
    "stated": "legislator_interview",
    "witnessed": "official_interview",
    "verified": "private_neutral_interview",
    "reconfirmed": "private_neutral_interview",
}


def state(case, *, on, level="stated", option="third_state", destination="KR"):
    """Record a statement made on day ``on`` of March 2025 at verification ``level``."""
    if option != "third_state":
        destination = ""
    return factories.intention(
        case,
        option=option,
        destination_country=destination,
        stated_on=dt.date(2025, 3, on),
        verification=level,
        setting=SETTING_FOR[level],
    )


def assert_current(case, expected):
    """Assert the selector's answer and the case's denormalised copy both name ``expected``."""
    row = Case.objects.get(pk=case.pk)
    assert current_intention_for(row) == expected
    assert row.current_intention == expected
    if expected is None:
        assert row.current_intention_option == ""
        assert row.current_intention_destination == ""
        assert row.current_intention_verification == ""
        assert row.current_intention_verified is False
    else:
        assert row.current_intention_option == expected.option
        assert row.current_intention_destination == expected.destination_country
        assert row.current_intention_verification == expected.verification
        assert row.current_intention_verified is expected.is_verified
    return row


@pytest.fixture
def case():
    return factories.case()


def test_no_statement_means_no_current_intention(case):
    """A case without statements has no current intention and is not flagged verified."""
    assert_current(case, None)


def test_single_statement_is_current_and_flagged_unverified(case):
    """One stated wish becomes current; it is unverified until a neutral body hears it."""
    ri = state(case, on=1)
    row = assert_current(case, ri)
    assert row.current_intention_option == "third_state"
    assert row.current_intention_destination == "KR"
    assert row.current_intention_verification == "stated"
    assert row.current_intention_verified is False


@pytest.mark.parametrize("level", ["verified", "reconfirmed"])
def test_verified_levels_set_the_verified_flag(case, level):
    """Verified and reconfirmed statements set the flag; filtering can rely on it."""
    if level == "reconfirmed":
        state(case, on=1, level="verified")  # what a reconfirmation confirms
    assert_current(case, state(case, on=2, level=level))
    assert Case.objects.filter(current_intention_verified=True).get() == case


def test_newest_statement_at_the_same_level_wins(case):
    """Between two statements at one level, the one stated later is current."""
    state(case, on=1, option="undecided")
    newer = state(case, on=10)
    assert_current(case, newer)


def test_date_stated_counts_not_the_order_of_recording(case):
    """A statement recorded late about an earlier day does not displace a newer one."""
    newer = state(case, on=10)
    state(case, on=1, option="undecided")
    assert_current(case, newer)


def test_same_day_statements_go_by_order_of_recording(case):
    """Two statements on one day at one level: the one recorded last is current."""
    state(case, on=5, option="undecided")
    later = state(case, on=5, option="return_home")
    assert_current(case, later)


def test_newer_hearsay_is_what_he_now_says(case):
    """A newer change of mind counts even when only reported; its level is shown beside it."""
    state(case, on=1)
    hearsay = state(case, on=20, level="reported", option="return_home")
    row = assert_current(case, hearsay)
    assert row.current_intention_verification == "reported"


def test_a_newer_unverified_statement_displaces_an_older_verified_one(case):
    """An old verified wish does not outrank a newer "undecided": the newest statement counts."""
    state(case, on=1, level="verified", option="return_home")
    state(case, on=10, level="witnessed")
    undecided = state(case, on=15, level="stated", option="undecided")
    row = assert_current(case, undecided)
    assert row.current_intention_verified is False


def test_level_does_not_outrank_recency(case):
    """Recording ever stronger statements about ever older days never moves the current one."""
    newest = state(case, on=20, level="reported")
    for day, level in enumerate(["stated", "witnessed", "verified"], start=1):
        state(case, on=20 - day, level=level)
        assert_current(case, newest)


def test_change_of_mind_through_supersede_keeps_the_old_statement(case):
    """The old statement stays, marked superseded; the new one links to it and is current."""
    old = state(case, on=1)
    new = services.intention_supersede(
        actor=SYSTEM,
        intention=old,
        option="return_home",
        stated_on=dt.date(2025, 3, 10),
        setting="legislator_interview",
        verification="stated",
        reason="Now wants to go home after a call with family",
    )
    old_row = StatedIntention.objects.get(pk=old.pk)
    assert old_row.state == IntentionState.SUPERSEDED
    assert (old_row.option, old_row.destination_country) == ("third_state", "KR")
    assert old_row.version == old.version + 1
    assert new.supersedes_id == old.pk
    assert StatedIntention.objects.filter(case=case).count() == 2
    assert_current(case, new)
    event = TimelineEvent.objects.filter(case=case).latest("case_seq")
    assert event.kind == EventKind.INTENTION_SUPERSEDED
    assert labels(event.changes["current_intention"]) == [
        "Transfer to a third state (KR), stated, 2025-03-01",
        "Return home, stated, 2025-03-10",
    ]


def test_superseding_a_statement_makes_the_newer_one_current_whatever_its_level(case):
    """Superseding hearsay with newer hearsay makes the newer hearsay current."""
    state(case, on=1)
    hearsay = state(case, on=5, level="reported", option="return_home")
    newer = services.intention_supersede(
        actor=SYSTEM,
        intention=hearsay,
        option="remain",
        stated_on=dt.date(2025, 3, 9),
        setting="hearsay",
        verification="reported",
    )
    assert_current(case, newer)
    event = TimelineEvent.objects.filter(case=case).latest("case_seq")
    assert labels(event.changes["current_intention"]) == [
        "Return home, reported, 2025-03-05",
        "Remain in the detaining state, reported, 2025-03-09",
    ]


def test_only_an_active_statement_can_be_superseded(case):
    """A superseded statement cannot be superseded again; nothing is written."""
    old = state(case, on=1)
    current = services.intention_supersede(
        actor=SYSTEM,
        intention=old,
        option="undecided",
        stated_on=dt.date(2025, 3, 2),
        setting="legislator_interview",
        verification="stated",
    )
    count, events = StatedIntention.objects.count(), TimelineEvent.objects.count()
    with pytest.raises(ValidationError, match="Only an active statement can be superseded"):
        services.intention_supersede(
            actor=SYSTEM,
            intention=old,
            option="remain",
            stated_on=dt.date(2025, 3, 3),
            setting="legislator_interview",
            verification="stated",
        )
    assert (StatedIntention.objects.count(), TimelineEvent.objects.count()) == (count, events)
    assert_current(case, current)


@pytest.mark.parametrize(
    ("service", "new_state"),
    [
        (services.intention_withdraw, IntentionState.WITHDRAWN),
        (services.intention_contest, IntentionState.CONTESTED),
        (services.intention_invalidate, IntentionState.INVALIDATED),
    ],
)
def test_setting_aside_the_current_statement_falls_back_then_to_none(case, service, new_state):
    """Withdrawing, contesting or invalidating moves the current intention to the next one."""
    direct = state(case, on=1)
    verified = state(case, on=5, level="verified", option="return_home")
    assert_current(case, verified)

    service(actor=SYSTEM, intention=verified, reason="Heard in the presence of a guard")
    assert StatedIntention.objects.get(pk=verified.pk).state == new_state
    assert_current(case, direct)

    service(actor=SYSTEM, intention=direct, reason="Interpreter supplied by the detainer")
    row = assert_current(case, None)
    assert row.current_intention_verified is False
    event = TimelineEvent.objects.filter(case=case).latest("case_seq")
    assert labels(event.changes["current_intention"]) == [
        "Transfer to a third state (KR), stated, 2025-03-01",
        None,
    ]


def test_setting_aside_a_statement_that_is_not_current_keeps_the_current_one(case):
    """Contesting older hearsay leaves the newer statement current; the event says so."""
    hearsay = state(case, on=1, level="reported", option="return_home")
    direct = state(case, on=9)
    services.intention_contest(actor=SYSTEM, intention=hearsay, reason="Single anonymous source")
    assert_current(case, direct)
    event = TimelineEvent.objects.filter(case=case).latest("case_seq")
    assert event.changes == {"state": ["active", "contested"]}


def test_reinstating_a_statement_makes_it_current_again(case):
    """A statement contested in error is reinstated and counts again."""
    direct = state(case, on=1)
    verified = state(case, on=2, level="verified", option="return_home")
    services.intention_contest(actor=SYSTEM, intention=verified, reason="Doubt about setting")
    assert_current(case, direct)
    services.intention_set_state(actor=SYSTEM, intention=verified, state=IntentionState.ACTIVE)
    assert_current(case, verified)


def test_current_intention_is_one_query(case, django_assert_num_queries):
    """The derivation reads the active statements in one query, however many there are."""
    for day in range(1, 6):
        state(case, on=day)
    row = Case.objects.get(pk=case.pk)
    with django_assert_num_queries(1):
        current_intention_for(row)
