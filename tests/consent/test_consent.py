"""The consent gate: the newest word counts, verification is earned, every move is gated."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from cases import consent, services
from cases.choices import CaseStatus as CS
from cases.choices import RequestStatus as RS
from cases.models import Case, Request, StatedIntention, TimelineEvent
from cases.selectors import current_intention_for
from cases.services.cases import case_status_apply
from cases.timeline.sinks import ROWS
from tests import factories

pytestmark = pytest.mark.django_db

SYSTEM = factories.SYSTEM
TODAY = timezone.localdate


def _case(**kwargs):
    from cases.models import Party

    korea = Party.objects.filter(name="DPRK").first() or factories.party("DPRK", country="KP")
    person = factories.person(nationalities=["KP"], power_depends_on=korea)
    return factories.case(person_obj=person, detaining_party=factories.party(), **kwargs)


def _scheduled(case, kind, destination=""):
    """Return a request of ``kind`` scheduled, the case's release approved for its handover."""
    extra = {"destination_country": destination} if destination else {}
    request = factories.request(case, kind=kind, **extra)
    request = factories.advance_request(request, RS.SCHEDULED)
    factories.receiving_authority_for(request)  # on file before a refusal's snapshot
    case = Case.objects.get(pk=case.pk)
    if case.status != CS.RELEASE_APPROVED and not case.is_closed:
        _at_release(case)
    return request


def _at_release(case):
    return factories.advance_case(case, CS.RELEASE_APPROVED)


def _hand_over(request, **kwargs):
    """Execute ``request`` the one way there is: a handover (its case's release approved)."""
    return factories.handover(Request.objects.get(pk=request.pk), **kwargs)


def _codes(case, move, on=None):
    return {problem.code for problem in consent.check(case, move, on=on).problems}


def _snapshot():
    return (
        TimelineEvent.objects.count(),
        list(Case.objects.values_list("status", "version").order_by("id")),
        list(Request.objects.values_list("status", "version").order_by("id")),
    )


def _refused(call, *codes):
    before = _snapshot()
    with pytest.raises(consent.ConsentRefused) as caught:
        call()
    assert {p.code for p in caught.value.decision.problems} >= set(codes)
    assert _snapshot() == before, "a refused move wrote something"
    return caught.value


KR_TRANSFER = consent.Move("third_state", "KR")
RETURN = consent.Move("return_home")


# --------------------------------------------------------------------------------------------
# The three bypasses seen in the running app
# --------------------------------------------------------------------------------------------


def test_case_status_is_gated_like_a_request():
    """A case cannot become repatriated on an unverified wish (it used to pass ungated): the
    case service sends the officer to the handover, and the handover asks the gate."""
    case = _at_release(_case())
    factories.intention(case, option="return_home", destination_country="", stated_on=TODAY())
    before = _snapshot()
    with pytest.raises(ValidationError, match="only through a handover"):
        services.case_change_status(actor=SYSTEM, case=case, status=CS.REPATRIATED)
    assert _snapshot() == before
    request = _scheduled(case, "repatriation")
    refusal = _refused(lambda: _hand_over(request), "not_verified")
    assert "Consent gate" in refusal.messages[0]
    case = _at_release(_case())
    factories.intention(case, stated_on=TODAY())  # an unverified "South Korea"
    request = _scheduled(case, "third_state_transfer", "KR")
    _refused(lambda: _hand_over(request), "not_verified")


def test_a_newer_change_of_mind_outranks_an_older_verified_wish():
    """An older verified "South Korea" no longer opens the gate once he says "undecided"."""
    case = _case()
    verified = factories.verified_wish(
        case, "third_state", "KR", stated_on=TODAY() - dt.timedelta(5)
    )
    request = _scheduled(case, "third_state_transfer", "KR")
    assert consent.check(case, KR_TRANSFER).passed
    letter = factories.intention(
        case,
        option="undecided",
        destination_country="",
        setting="letter",
        verification="stated",
        stated_on=TODAY() - dt.timedelta(1),
    )
    assert current_intention_for(case) == letter
    case.refresh_from_db()
    assert case.current_intention == letter and case.current_intention_verified is False
    _refused(
        lambda: _hand_over(request),
        "not_verified",
        "option_mismatch",
    )
    assert StatedIntention.objects.get(pk=verified.pk).state == "active"


def test_a_newer_letter_and_a_pending_asylum_request_block_a_return():
    """A repatriation is refused on a newer "South Korea" letter and on a pending asylum claim."""
    case = _case()
    factories.verified_wish(case, "return_home", "KP", stated_on=TODAY() - dt.timedelta(3))
    request = _scheduled(case, "repatriation")
    factories.request(case, kind="asylum")  # filed: pending
    factories.intention(case, setting="letter", verification="stated", stated_on=TODAY())
    _refused(
        lambda: _hand_over(request),
        "option_mismatch",
        "not_verified",
        "asylum_pending",
    )


@pytest.mark.parametrize(
    ("setting", "level", "rule"),
    [
        ("media_interview", "verified", "a media interview is at most 'stated'"),
        ("letter", "witnessed", "a letter is at most 'stated'"),
        ("hearsay", "stated", "hearsay is at most 'reported'"),
        ("legislator_interview", "witnessed", "needs an independent party"),
        ("official_interview", "verified", "needs a private interview by a neutral body"),
    ],
)
def test_verification_is_earned_not_picked(setting, level, rule):
    """A level the circumstances do not earn is refused, naming the rule; nothing is written."""
    case = _case()
    outlet = factories.party("Chosun Ilbo", kind="media", country="KR")
    events = TimelineEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.intention_record(
            actor=SYSTEM,
            case=case,
            option="third_state",
            destination_country="KR",
            stated_on=TODAY(),
            setting=setting,
            heard_by=outlet,
            verification=level,
        )
    assert rule in caught.value.message_dict["verification"][0]
    assert not StatedIntention.objects.exists()
    assert TimelineEvent.objects.count() == events


# --------------------------------------------------------------------------------------------
# Earned verification, rule by rule
# --------------------------------------------------------------------------------------------


def _private(case, **overrides):
    fields = {
        "option": "third_state",
        "destination_country": "KR",
        "stated_on": TODAY(),
        "setting": "private_neutral_interview",
        "heard_by": factories.neutral_party(),
        "detaining_power_present": "no",
        "options_explained": True,
        "verification": "verified",
    }
    fields.update(overrides)
    if "interview" not in fields:
        fields["interview"] = factories.private_interview(
            case, on=fields["stated_on"], visiting_body=fields["heard_by"]
        )
    return services.intention_record(actor=SYSTEM, case=case, **fields)


@pytest.mark.parametrize(
    ("overrides", "rule"),
    [
        ({"heard_by": None}, "heard by a neutral or humanitarian body"),
        ({"detaining_power_present": "unknown"}, "no staff of the detaining power"),
        ({"detaining_power_present": "yes"}, "no staff of the detaining power"),
        ({"options_explained": False}, "told his options"),
        ({"duress_signs": "Guard at the door; he looked at him before answering"}, "duress"),
    ],
)
def test_verified_needs_every_condition_of_a_private_neutral_interview(overrides, rule):
    """Each missing condition refuses 'verified' and is named."""
    case = _case()
    with pytest.raises(ValidationError) as caught:
        _private(case, **overrides)
    assert rule in caught.value.message_dict["verification"][0]


def test_detaining_power_listed_as_present_refuses_verified():
    """Staff of the detaining power (or an agency under it) listed as present: not private."""
    ukraine = factories.party("Ukraine", country="UA")
    sbu = factories.party("SBU", kind="agency", country="UA", parent=ukraine)
    case = factories.case(detaining_party=ukraine)
    with pytest.raises(ValidationError, match="no staff of the detaining power"):
        _private(case, present_parties=[sbu])


def test_witnessed_needs_an_independent_party_outside_both_powers():
    """The person's own state's agency does not witness; an NGO does, and is recorded."""
    case = _case()
    own = case.person.power_depends_on
    with pytest.raises(ValidationError, match="independent party"):
        factories.intention(
            case, setting="official_interview", verification="witnessed", present_parties=[own]
        )
    ngo = factories.party("Observers", kind="ngo", country="CH")
    statement = factories.intention(
        case, setting="official_interview", verification="witnessed", present_parties=[ngo]
    )
    assert list(statement.present_parties.all()) == [ngo]
    event = TimelineEvent.objects.get(subject_uuid=statement.uuid)
    observers = {"uuid": str(ngo.uuid), "label": "Observers"}
    assert event.changes["present_parties"] == [None, [observers]]


def test_reconfirmed_needs_an_earlier_verified_statement_of_the_same_wish():
    """Reconfirmation confirms something: a verified statement of the same option and place."""
    case = _case()
    with pytest.raises(ValidationError, match="earlier verified statement"):
        _private(case, verification="reconfirmed")
    _private(case, destination_country="DE", stated_on=TODAY() - dt.timedelta(2))
    with pytest.raises(ValidationError, match="earlier verified statement"):
        _private(case, verification="reconfirmed")
    _private(case, stated_on=TODAY() - dt.timedelta(1))
    reconfirmed = _private(case, verification="reconfirmed")
    assert reconfirmed.verification == "reconfirmed"


def test_highest_earned_level_follows_the_setting():
    """The allowed levels climb with how the statement was heard."""
    case = _case()
    statement = StatedIntention(case=case, option="undecided", stated_on=TODAY(), setting="hearsay")
    assert consent.highest_earned_level(statement, []) == "reported"
    statement.setting = "letter"
    assert consent.highest_earned_level(statement, []) == "stated"
    statement.setting = "official_interview"
    ngo = factories.party("Observers", kind="ngo", country="CH")
    assert consent.highest_earned_level(statement, [ngo]) == "witnessed"
    statement.setting = "private_neutral_interview"
    statement.heard_by = factories.neutral_party()
    statement.detaining_power_present = "no"
    statement.options_explained = True
    assert consent.highest_earned_level(statement, []) == "witnessed"
    statement.interview = factories.private_interview(case)
    assert consent.highest_earned_level(statement, []) == "verified"


def test_a_legacy_unearned_verified_row_does_not_open_the_gate():
    """A statement stored as verified before the rules were enforced is checked again."""
    case = _case()
    statement = _private(case)
    StatedIntention.objects.filter(pk=statement.pk).update(options_explained=False)
    assert "level_not_earned" in _codes(case, KR_TRANSFER)


# --------------------------------------------------------------------------------------------
# The gate's other conditions
# --------------------------------------------------------------------------------------------


def test_the_gate_opens_on_a_fresh_verified_matching_wish_and_says_which():
    """Transfer executed and case transferred: each event names the statement and its level."""
    case = _at_release(_case())
    request = _scheduled(case, "third_state_transfer", "KR")
    statement = factories.verified_wish(case, "third_state", "KR")
    _hand_over(request)
    case = Case.objects.get(pk=case.pk)
    assert case.status == CS.TRANSFERRED_THIRD_STATE
    for kind in ("request.status_changed", "case.status_changed"):
        event = TimelineEvent.objects.filter(case=case, kind=kind).latest("case_seq")
        assert event.changes["consent_statement"] == [None, str(statement.uuid)]
        assert event.changes["consent_level"] == [None, "verified"]
    event = TimelineEvent.objects.filter(case=case, kind="case.status_changed").latest("case_seq")
    assert event.changes["destination_country"] == [None, "KR"]


@override_settings(TRACKER_CONSENT_MAX_AGE_DAYS=30)
def test_consent_goes_stale_after_the_configured_days():
    """31 days after the interview the gate refuses; a reconfirmation at handover reopens it."""
    case = _case()
    factories.verified_wish(case, "third_state", "KR", stated_on=TODAY() - dt.timedelta(31))
    assert "stale" in _codes(case, KR_TRANSFER)
    assert _codes(case, KR_TRANSFER, on=TODAY() - dt.timedelta(1)) == set()
    factories.verified_wish(case, "third_state", "KR", verification="reconfirmed")
    assert consent.check(case, KR_TRANSFER).passed


@override_settings(TRACKER_CONSENT_MAX_AGE_DAYS=7)
def test_the_age_limit_is_a_setting():
    """TRACKER_CONSENT_MAX_AGE_DAYS sets how long a verified statement stays fresh."""
    case = _case()
    factories.verified_wish(case, "third_state", "KR", stated_on=TODAY() - dt.timedelta(8))
    assert "stale" in _codes(case, KR_TRANSFER)


def test_a_back_dated_move_cannot_rest_on_a_later_statement():
    """A move dated before the statement that would open it is refused."""
    case = _case()
    factories.verified_wish(case, "third_state", "KR")
    assert "stated_after_move" in _codes(case, KR_TRANSFER, on=TODAY() - dt.timedelta(3))


def test_a_statement_known_only_to_the_month_cannot_open_the_gate():
    """The gate needs the day the wish was verified."""
    case = _case()
    factories.verified_wish(
        case, "third_state", "KR", stated_on=TODAY().replace(day=1), stated_on_precision="month"
    )
    assert "date_imprecise" in _codes(case, KR_TRANSFER)


def test_destination_must_match():
    """A verified wish for Germany does not open a transfer to South Korea."""
    case = _case()
    factories.verified_wish(case, "third_state", "DE")
    assert _codes(case, KR_TRANSFER) == {"destination_mismatch"}
    assert "destination_unknown" in _codes(case, consent.Move("third_state", ""))


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (RS.FILED, "asylum_pending"),
        (RS.UNDER_REVIEW, "asylum_pending"),
        (RS.ACCEPTED, "protection_granted"),
    ],
)
def test_an_asylum_request_blocks_return_but_not_transfer(status, code):
    """Non-refoulement: a pending or granted asylum request stops a return, not a transfer."""
    case = _case()
    factories.verified_wish(case, "return_home", "KP")
    asylum = factories.advance_request(factories.request(case, kind="asylum"), status)
    assert _codes(case, RETURN) == {code}
    services.request_transition(
        actor=SYSTEM, request=asylum, status=RS.WITHDRAWN, reason="He withdrew the claim"
    )
    assert consent.check(case, RETURN).passed


def test_a_high_risk_on_return_refuses_return_and_a_newer_lower_one_lifts_it():
    """The newest assessment for his own state counts; it is shown with the gate's answer."""
    case = _case()
    factories.verified_wish(case, "return_home", "KP")
    risk = services.risk_assessment_record(
        actor=SYSTEM,
        case=case,
        level="high",
        persecution=True,
        basis="His unit executes returnees",
        assessor="Protection officer",
        assessed_on=TODAY() - dt.timedelta(10),
    )
    assert _codes(case, RETURN) == {"high_risk"}
    assert _codes(case, consent.Move("return_home", "KP")) == {"high_risk"}
    event = TimelineEvent.objects.get(subject_uuid=risk.uuid)
    assert event.kind == "risk.assessed" and event.changes["level"] == [None, "high"]
    services.risk_assessment_record(
        actor=SYSTEM,
        case=case,
        level="moderate",
        basis="Amnesty announced",
        assessor="Protection officer",
        assessed_on=TODAY(),
    )
    assert consent.check(case, RETURN).passed


def test_a_transfer_to_his_own_state_is_a_return():
    """A "transfer" whose destination is his own state gets the non-refoulement checks."""
    case = _case()
    factories.verified_wish(case, "third_state", "KP")
    factories.request(case, kind="asylum")
    assert "asylum_pending" in _codes(case, consent.Move("third_state", "KP"))


def test_medical_treatment_abroad_is_a_border_move():
    """Surgery in South Korea takes him across a border; treatment where he is held does not."""
    case = _case()
    abroad = _scheduled(case, "medical_treatment", "KR")
    at_home = _scheduled(case, "medical_treatment")
    assert consent.move_for_request(abroad) == KR_TRANSFER
    assert consent.move_for_request(at_home) is None
    _refused(
        lambda: _hand_over(abroad),
        "no_statement",
    )
    services.request_transition(actor=SYSTEM, request=at_home, status=RS.EXECUTED)


def test_exchange_inclusion_is_a_return():
    """Being handed over in an exchange returns him home: it needs his verified wish."""
    case = _case()
    request = _scheduled(case, "exchange_inclusion")
    _refused(
        lambda: _hand_over(request),
        "no_statement",
    )
    factories.verified_wish(case, "return_home")
    _hand_over(request)
    assert Case.objects.get(pk=case.pk).status == CS.REPATRIATED


@pytest.mark.parametrize("kind", ["asylum", "exchange_exclusion", "family_contact"])
def test_requests_that_move_nobody_are_not_gated(kind):
    """Asylum, exclusion from an exchange and family contact execute without any statement."""
    case = _case()
    request = _scheduled(case, kind)
    services.request_transition(actor=SYSTEM, request=request, status=RS.EXECUTED)
    assert Request.objects.get(pk=request.pk).status == RS.EXECUTED


def test_a_transfer_handover_takes_the_requests_destination():
    """The handover closes the case as transferred to the destination its request names."""
    case = _case()
    factories.verified_wish(case, "third_state", "KR")
    request = _scheduled(case, "third_state_transfer", "KR")
    _hand_over(request)
    case = Case.objects.get(pk=case.pk)
    assert case.status == CS.TRANSFERRED_THIRD_STATE
    event = TimelineEvent.objects.filter(case=case, kind="case.status_changed").latest("case_seq")
    assert event.changes["destination_country"] == [None, "KR"]


# --------------------------------------------------------------------------------------------
# The current intention: the newest statement
# --------------------------------------------------------------------------------------------


def test_current_intention_is_the_newest_by_date_then_by_recording():
    """Stated later wins; on the same day, recorded later wins; a back-dated one does not."""
    case = _case()
    first = factories.intention(case, stated_on=dt.date(2025, 2, 25))
    later = factories.intention(
        case, option="undecided", destination_country="", stated_on=dt.date(2025, 3, 1)
    )
    assert current_intention_for(case) == later
    factories.intention(
        case, option="remain", destination_country="", stated_on=dt.date(2025, 1, 1)
    )
    assert current_intention_for(case) == later
    same_day = factories.intention(
        case, option="return_home", destination_country="", stated_on=dt.date(2025, 3, 1)
    )
    assert current_intention_for(case) == same_day
    assert first.state == "active"


def test_a_statement_known_to_the_month_counts_from_its_first_day():
    """ "October 2025" is older than a statement of 2025-10-20."""
    case = _case()
    dated = factories.intention(case, stated_on=dt.date(2025, 10, 20))
    factories.intention(
        case,
        option="undecided",
        destination_country="",
        stated_on=dt.date(2025, 10, 31),
        stated_on_precision="month",
    )
    assert current_intention_for(case) == dated


def test_the_seed_tells_the_public_story():
    """Ri's newest statement says South Korea, unverified; the gate stays shut for both men."""
    from django.core.management import call_command

    call_command("load_seed", verbosity=0)
    ri = Case.objects.get(reference="UA-2025-0001")
    baek = Case.objects.get(reference="UA-2025-0002")
    assert (ri.current_intention_option, ri.current_intention_destination.code) == (
        "third_state",
        "KR",
    )
    assert ri.current_intention_verification == "stated" and not ri.current_intention_verified
    assert baek.intentions.filter(option="undecided", state="superseded").exists()
    for case in (ri, baek):
        decision = consent.check(case, KR_TRANSFER)
        assert {"not_verified", "date_imprecise"} <= {p.code for p in decision.problems}
        assert "high_risk" in _codes(case, RETURN)


# --------------------------------------------------------------------------------------------
# The same bypasses through the admin and the API
# --------------------------------------------------------------------------------------------


def test_admin_refuses_repatriating_on_an_unverified_wish(admin_client):
    """The case form does not offer repatriated; the handover form asks the gate: a message,
    nothing saved."""
    from django.urls import reverse

    from tests.support.admin import errors_text, form_data

    case = _at_release(_case())
    factories.intention(case, option="return_home", destination_country="", stated_on=TODAY())
    url = reverse("admin:cases_case_change", args=[case.pk])
    data = form_data(admin_client.get(url))
    data["status"] = CS.REPATRIATED
    before = _snapshot()
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "Select a valid choice" in errors_text(response)
    assert _snapshot() == before
    request = _scheduled(case, "repatriation")
    add = reverse("admin:cases_handover_add")
    data = form_data(admin_client.get(add, {"case": case.pk}))
    assert data["request"] == str(request.pk)
    data["occurred_on"] = TODAY().isoformat()
    # The addressee (the detaining side) is not proposed: he goes to the DPRK's authority.
    assert not data.get("receiving_authority")
    data["receiving_authority"] = str(factories.receiving_authority_for(request).pk)
    before = _snapshot()
    response = admin_client.post(add, data)
    assert response.status_code == 200
    assert "Consent gate" in errors_text(response)
    assert "it must be" in errors_text(response)
    assert _snapshot() == before


def test_admin_refuses_an_unearned_verified_statement(admin_client):
    """A media interview entered as 'verified' on the case page is refused with the rule."""
    from django.urls import reverse

    from tests.support.admin import errors_text, form_data, new_row

    case = _case()
    outlet = factories.party("Chosun Ilbo", kind="media", country="KR")
    url = reverse("admin:cases_case_change", args=[case.pk])
    response = admin_client.get(url)
    data = form_data(response)
    new_row(
        response,
        StatedIntention,
        data,
        option="third_state",
        destination_country="KR",
        stated_on=TODAY().isoformat(),
        stated_on_precision="day",
        setting="media_interview",
        heard_by=str(outlet.pk),
        detaining_power_present="unknown",
        verification="verified",
    )
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "a media interview is at most" in errors_text(response)
    assert not StatedIntention.objects.filter(case=case).exists()


def test_api_refuses_a_case_status_bypass_with_409(admin_client):
    """POST .../transition/ to repatriated on an unverified wish: 409 with coded problems."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    case = _at_release(_case())
    factories.intention(case, option="return_home", destination_country="", stated_on=TODAY())
    client = APIClient()
    client.force_authenticate(
        get_user_model().objects.create_superuser("root", "r@example.org", "a-long-password-1")
    )
    before = _snapshot()
    answer = client.post(
        f"/api/v1/cases/{case.uuid}/transition/", {"status": "repatriated"}, format="json"
    )
    assert answer.status_code == 400
    assert "only through a handover" in str(answer.json())
    assert _snapshot() == before
    request = _scheduled(case, "repatriation")
    receiving = factories.receiving_authority_for(request)
    before = _snapshot()
    answer = client.post(
        "/api/v1/handovers/",
        {
            "request": str(request.uuid),
            "occurred_on": TODAY().isoformat(),
            "receiving_authority": str(receiving.uuid),
        },
        format="json",
    )
    assert answer.status_code == 409
    assert {p["code"] for p in answer.json()["problems"]} == {"not_verified"}
    assert _snapshot() == before
    verdict = client.get(f"/api/v1/cases/{case.uuid}/consent/", {"option": "return_home"})
    assert verdict.status_code == 200
    (answer,) = verdict.json()["answers"]
    assert answer["passed"] is False and answer["move"]["option"] == "return_home"
    factories.request(case, kind="third_state_transfer", destination_country="KR")
    in_view = client.get(f"/api/v1/cases/{case.uuid}/consent/").json()["answers"]
    assert [a["move"] for a in in_view] == [
        {"option": "return_home", "destination": ""},
        {"option": "third_state", "destination": "KR"},
    ]
    bad = client.get(f"/api/v1/cases/{case.uuid}/consent/", {"option": "fly"})
    assert bad.status_code == 400


def test_a_reconfirmation_stands_on_its_own_interview_after_the_earlier_one_is_withdrawn():
    """The gate needs what 'verified' needs; a withdrawn earlier statement does not undo it."""
    case = _case()
    earlier = factories.verified_wish(
        case, "third_state", "KR", stated_on=TODAY() - dt.timedelta(3)
    )
    factories.verified_wish(case, "third_state", "KR", verification="reconfirmed")
    services.intention_withdraw(actor=SYSTEM, intention=earlier, reason="Recorded in error")
    assert consent.check(case, KR_TRANSFER).passed


def test_a_return_must_go_to_his_own_state():
    """A repatriation to South Korea is a transfer, not a return: refused when filed."""
    case = _case()
    with pytest.raises(ValidationError, match="own state"):
        factories.request(case, kind="repatriation", destination_country="KR")
    request = factories.request(case, kind="repatriation", destination_country="KP")
    with pytest.raises(ValidationError, match="own state"):
        services.request_update(actor=SYSTEM, request=request, destination_country="DE")
    case = _at_release(case)
    with pytest.raises(ValidationError, match="own state"):
        case_status_apply(
            sink=ROWS, actor=SYSTEM, case=case, status=CS.REPATRIATED, destination_country="KR"
        )


def test_risk_assessments_are_read_and_recorded_over_the_api():
    """An officer records one (201), reads it back (200); the list filters by case."""
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    case = _case()
    client = APIClient()
    client.force_authenticate(
        get_user_model().objects.create_superuser("root", "r@example.org", "a-long-password-1")
    )
    created = client.post(
        "/api/v1/risk-assessments/",
        {
            "case": str(case.uuid),
            "level": "high",
            "persecution": True,
            "basis": "Returnees from his unit were shot",
            "assessor": "Protection officer",
            "assessed_on": TODAY().isoformat(),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    detail = client.get(created.json()["url"])
    assert detail.status_code == 200 and detail.json()["level"] == "high"
    listed = client.get("/api/v1/risk-assessments/", {"case": str(case.uuid)}).json()
    assert [row["uuid"] for row in listed["results"]] == [created.json()["uuid"]]
    assert "high_risk" in _codes(case, RETURN)
