"""The consent gate's invariant, under random sequences of statements, requests and moves.

A Hypothesis state machine drives one case at a time through the public services and the
API: statements of any option, destination, level, setting and date (back-dated ones
included), supersede and withdraw, asylum claims and risk assessments, requests of every
kind through every status, and case transitions. Beside the database it keeps its own model
of what was recorded, written from DESIGN.md rather than from the code, and after every
step it checks the invariant:

    no case has left custody for another state, and no request that moves a person is
    ``executed``, unless at that moment his newest active statement was verified or
    reconfirmed (and earned it), dated to the day, at most the allowed age, matching, and
    no asylum request was pending or granted and no high risk was on file for a return.

It also checks the converse (a move the model allows is not refused), so that a gate that
refused everything would fail too. ``EXAMPLES`` x ``STEPS`` is the number of steps per run.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, assume, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from rest_framework.test import APIClient

from cases import services
from cases.exchanges.models import Handover
from cases.exchanges.services import handover_record
from cases.models import Case, Party, Request, StatedIntention
from cases.transitions import CASE_TRANSITIONS, REQUEST_TRANSITIONS
from tests import factories
from tests.notifications.test_notifications import (
    assert_every_status_change_opened_its_notifications,
)
from tests.support.roles import CASE_OFFICER, user_in_role

EXAMPLES = 60
STEPS = 40
MAX_AGE = 30

SYSTEM = factories.SYSTEM
_numbers = itertools.count(1)

OPTIONS = ["return_home", "third_state", "remain", "undecided", "declined"]
SETTINGS = [
    "private_neutral_interview",
    "official_interview",
    "media_interview",
    "legislator_interview",
    "letter",
    "hearsay",
]
LEVELS = ["reported", "stated", "witnessed", "verified", "reconfirmed"]
RANK = {level: n for n, level in enumerate(LEVELS)}
REQUEST_KINDS = [
    "repatriation",
    "direct_medical_repatriation",
    "exchange_inclusion",
    "third_state_transfer",
    "medical_treatment",
    "asylum",
    "family_contact",
]
REQUEST_STATUSES = [
    "filed",
    "acknowledged",
    "under_review",
    "accepted",
    "scheduled",
    "executed",
    "refused",
    "withdrawn",
    "failed",
]
CASE_STATUSES = [
    "registered",
    "interned",
    "release_approved",
    "repatriated",
    "transferred_third_state",
    "released",
    "on_hold",
]
#: Case statuses that mean the person left for another state, and the wish each needs.
LEAVING = {"repatriated": "return_home", "transferred_third_state": "third_state"}
#: Request kinds that return him home, and the one that transfers him.
RETURNS = {"repatriation", "direct_medical_repatriation", "exchange_inclusion"}
HOME = "KP"


@dataclass
class Said:
    """The model's copy of one recorded statement."""

    pk: int
    option: str
    destination: str
    level: str
    stated_on: dt.date
    precision: str
    order: int
    active: bool = True
    withdrawn: bool = False


@dataclass
class Model:
    """What the test knows was recorded, and so what the gate must decide."""

    said: list[Said] = field(default_factory=list)
    asylum: dict[int, str] = field(default_factory=dict)
    risks: list[tuple[dt.date, int, str]] = field(default_factory=list)

    def newest(self) -> Said | None:
        def start(s: Said) -> dt.date:
            if s.precision == "month":
                return s.stated_on.replace(day=1)
            return s.stated_on

        active = [s for s in self.said if s.active]
        return max(active, key=lambda s: (start(s), s.order), default=None)

    def allows(self, option: str, destination: str, on: dt.date) -> bool:
        """Return whether DESIGN.md's gate lets him go by (option, destination) on ``on``."""
        newest = self.newest()
        if newest is None or newest.level not in ("verified", "reconfirmed"):
            return False
        if newest.option != option or newest.precision != "day":
            return False
        if option == "third_state" and not destination:
            return False
        if destination and newest.destination not in ("", destination):
            return False
        if option == "third_state" and not newest.destination:
            return False
        if not (0 <= (on - newest.stated_on).days <= MAX_AGE):
            return False
        returning = option == "return_home" or destination == HOME
        if returning:
            if any(
                status
                in ("filed", "acknowledged", "under_review", "accepted", "scheduled", "executed")
                for status in self.asylum.values()
            ):
                return False
            latest = max(self.risks, default=None)
            if latest is not None and latest[2] == "high":
                return False
        return True


def earned(
    setting: str,
    level: str,
    *,
    neutral: bool,
    ngo: bool,
    private: bool,
    explained: bool,
    duress: bool,
    earlier_verified: bool,
) -> bool:
    """Return whether DESIGN.md lets a statement heard so be recorded at ``level``."""
    if level == "reported":
        return True
    if setting == "hearsay":
        return False
    if level == "stated":
        return True
    if setting in ("letter", "media_interview"):
        return False
    if level == "witnessed":
        return ngo or neutral
    verified = (
        setting == "private_neutral_interview" and neutral and private and explained and not duress
    )
    if level == "verified":
        return verified
    return verified and earlier_verified


class ConsentMachine(RuleBasedStateMachine):
    """One case, driven at random through services and API; the gate checked at every step."""

    def __init__(self):
        super().__init__()
        self.today = timezone.localdate()
        n = next(_numbers)
        held_by = Party.objects.get(name="Ukraine")
        self.home = Party.objects.get(name="DPRK")
        self.icrc = factories.neutral_party()
        self.media = Party.objects.get(name="Outlet")
        self.ngo = Party.objects.get(name="Observers")
        person = factories.person(
            f"Soldier {n}", names=[], nationalities=[HOME], power_depends_on=self.home
        )
        self.case = factories.case(
            reference=f"UA-2031-{n:05d}", person_obj=person, detaining_party=held_by
        )
        self.model = Model()
        self.requests: list[int] = []
        self.order = itertools.count()
        self.allowed_moves: set[tuple[str, int]] = set()
        self.api = APIClient()
        self.api.force_authenticate(user=OFFICER[0])

    @initialize(
        kind=st.sampled_from(
            ["repatriation", "exchange_inclusion", "third_state_transfer", "medical_treatment"]
        ),
        destination=st.sampled_from(["KR", "DE", HOME, ""]),
    )
    def scheduled_move(self, kind, destination):
        """Start with the release approved and a request that would move him scheduled."""
        self.release()
        if kind in ("third_state_transfer", "medical_treatment") and not destination:
            destination = "KR"
        if kind in RETURNS and destination not in ("", HOME):
            destination = HOME
        self.file(kind, destination, as_he_wishes=False)
        factories.advance_request(Request.objects.get(pk=self.requests[-1]), "scheduled")

    # -- statements ----------------------------------------------------------------------

    @rule(
        option=st.sampled_from(OPTIONS),
        destination=st.sampled_from(["KR", "DE", HOME, ""]),
        setting=st.sampled_from(SETTINGS),
        level=st.sampled_from(LEVELS),
        days_ago=st.integers(min_value=-2, max_value=45),
        month=st.booleans(),
        ngo=st.booleans(),
        private=st.booleans(),
        explained=st.booleans(),
        duress=st.booleans(),
        supersede=st.booleans(),
    )
    def say(
        self,
        option,
        destination,
        setting,
        level,
        days_ago,
        month,
        ngo,
        private,
        explained,
        duress,
        supersede,
    ):
        self._say(
            option,
            destination,
            setting,
            level,
            days_ago,
            month=month,
            ngo=ngo,
            private=private,
            explained=explained,
            duress=duress,
            supersede=supersede,
        )

    def _say(
        self,
        option,
        destination,
        setting,
        level,
        days_ago,
        *,
        month,
        ngo,
        private,
        explained,
        duress,
        supersede,
    ):
        if option in ("undecided", "declined", "remain"):
            destination = ""
        if option == "third_state" and not destination:
            destination = "KR"
        stated_on = self.today - dt.timedelta(days=days_ago)
        precision = "month" if month else "day"
        if month:
            stated_on = stated_on.replace(day=1)
        neutral = setting == "private_neutral_interview"
        # A visit, and so a private interview, is recorded once it took place: a statement
        # dated to a day to come cannot be linked to one, so that step is not a path.
        assume(not (neutral and stated_on > self.today))
        fields = {
            "option": option,
            "destination_country": destination,
            "stated_on": stated_on,
            "stated_on_precision": precision,
            "setting": setting,
            "heard_by": self.icrc if neutral else self.media,
            "present_parties": [self.ngo] if ngo else [],
            "detaining_power_present": "no" if private else "unknown",
            "options_explained": explained,
            "duress_signs": "He looked at the guard" if duress else "",
            "verification": level,
        }
        if neutral:
            # Heard in a private interview during the ICRC's visit that day, and linked to it.
            fields["interview"] = factories.private_interview(
                self.case, on=stated_on, visiting_body=self.icrc, in_private=private
            )
        earlier = any(
            s.level in ("verified", "reconfirmed")
            and s.option == option
            and s.destination == destination
            and s.stated_on <= stated_on
            and not s.withdrawn
            for s in self.model.said
        )
        expected = earned(
            setting,
            level,
            neutral=neutral,
            ngo=ngo,
            private=private,
            explained=explained,
            duress=duress,
            earlier_verified=earlier,
        )
        target = self.model.newest() if supersede else None
        try:
            if target is not None:
                row = services.intention_supersede(
                    actor=SYSTEM, intention=StatedIntention.objects.get(pk=target.pk), **fields
                )
            else:
                row = services.intention_record(actor=SYSTEM, case=self.case, **fields)
        except ValidationError as error:
            assert not expected, f"an earned {level} statement was refused: {error}"
            return
        assert expected, f"{level} was accepted for a {setting} that does not earn it"
        if target is not None:
            target.active = False
        self.model.said.append(
            Said(row.pk, option, destination, level, stated_on, precision, next(self.order))
        )

    @rule(
        option=st.sampled_from(["return_home", "third_state"]),
        destination=st.sampled_from(["KR", "DE", HOME]),
        days_ago=st.integers(min_value=0, max_value=40),
        reconfirm=st.booleans(),
        about_a_request=st.booleans(),
    )
    def interview_in_private(self, option, destination, days_ago, reconfirm, about_a_request):
        """The ICRC hears him alone, after telling him his options: an earned 'verified'.

        Often it asks about a move a request would make, as a delegate does before a handover.
        """
        level = "reconfirmed" if reconfirm else "verified"
        moves = [
            _request_move(r)
            for r in Request.objects.filter(pk__in=self.requests, status="scheduled")
        ]
        moves = [m for m in moves if m is not None]
        if about_a_request and moves:
            option, wanted = moves[0]
            destination = wanted or (HOME if option == "return_home" else destination)
        self._say(
            option,
            destination,
            "private_neutral_interview",
            level,
            days_ago,
            month=False,
            ngo=False,
            private=True,
            explained=True,
            duress=False,
            supersede=False,
        )

    @rule(data=st.data())
    def withdraw(self, data):
        active = [s for s in self.model.said if s.active]
        if not active:
            return
        said = data.draw(st.sampled_from(active))
        services.intention_withdraw(
            actor=SYSTEM,
            intention=StatedIntention.objects.get(pk=said.pk),
            reason="He withdrew it",
        )
        said.active = False
        said.withdrawn = True

    @rule(level=st.sampled_from(["low", "moderate", "high"]), days_ago=st.integers(0, 20))
    def assess_risk(self, level, days_ago):
        assessed_on = self.today - dt.timedelta(days=days_ago)
        row = services.risk_assessment_record(
            actor=SYSTEM,
            case=self.case,
            level=level,
            basis="Assessment",
            assessor="Protection officer",
            assessed_on=assessed_on,
        )
        self.model.risks.append((assessed_on, row.pk, level))

    # -- requests ------------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(REQUEST_KINDS),
        destination=st.sampled_from(["KR", "DE", HOME, ""]),
        as_he_wishes=st.booleans(),
    )
    def file(self, kind, destination, as_he_wishes):
        newest = self.model.newest()
        if as_he_wishes and newest is not None and newest.option == "third_state":
            kind, destination = "third_state_transfer", newest.destination
        elif as_he_wishes and newest is not None and newest.option == "return_home":
            kind, destination = "repatriation", ""
        if kind == "third_state_transfer" and not destination:
            destination = "KR"
        extra = {"destination_country": destination} if destination else {}
        if kind in RETURNS and destination not in ("", HOME):
            # A return to a state that is not his own is not a return: refused at filing.
            with pytest.raises(ValidationError, match="own state"):
                factories.request(self.case, kind=kind, addressed_to=self.home, **extra)
            return
        row = factories.request(self.case, kind=kind, addressed_to=self.home, **extra)
        self.requests.append(row.pk)
        if kind == "asylum":
            self.model.asylum[row.pk] = row.status

    @rule(data=st.data())
    def schedule(self, data):
        """Take a request as far as it can go before execution (a shortcut of move_request)."""
        open_ = Request.objects.filter(pk__in=self.requests).exclude(
            status__in=["scheduled", "executed", "refused", "withdrawn", "lapsed", "failed"]
        )
        pks = list(open_.values_list("pk", flat=True))
        if not pks:
            return
        request = Request.objects.get(pk=data.draw(st.sampled_from(pks)))
        request = factories.advance_request(request, "scheduled")
        if request.kind == "asylum":
            self.model.asylum[request.pk] = request.status

    @rule()
    def release(self):
        """Approve the release (a shortcut of move_case), when the machine allows it."""
        case = Case.objects.get(pk=self.case.pk)
        if case.status in ("captured", "registered", "interned", "hospitalised", "on_hold"):
            for status in factories._shortest_path(
                CASE_TRANSITIONS, case.status, "release_approved"
            ):
                case = services.case_change_status(actor=SYSTEM, case=case, status=status)

    @rule(
        data=st.data(),
        same_wish=st.booleans(),
        days_ago=st.sampled_from([0, 1, MAX_AGE - 1, MAX_AGE, MAX_AGE + 1, 2 * MAX_AGE]),
        reconfirm=st.booleans(),
        via_api=st.booleans(),
    )
    def handover(self, data, same_wish, days_ago, reconfirm, via_api):
        """The ICRC asked him in private ``days_ago`` days before; then he is handed over.

        Half the time he names the move the request makes; otherwise another wish. With
        ``reconfirm`` the ICRC asks him again at the handover (a reconfirmation, which needs
        an earlier verified statement of the same option and destination).
        """
        scheduled = [
            r
            for r in Request.objects.filter(pk__in=self.requests, status="scheduled")
            if _request_move(r) is not None
        ]
        if not scheduled:
            return
        request = data.draw(st.sampled_from(scheduled))
        option, destination = _request_move(request)
        if not same_wish:
            option, destination = data.draw(
                st.sampled_from(
                    [("return_home", HOME), ("third_state", "DE"), ("third_state", "KR")]
                )
            )
        self._say(
            option,
            destination or (HOME if option == "return_home" else "KR"),
            "private_neutral_interview",
            "verified",
            days_ago,
            month=False,
            ngo=False,
            private=True,
            explained=True,
            duress=False,
            supersede=False,
        )
        self._hand_over(request.pk, reconfirm, via_api)

    def _hand_over(self, pk, reconfirm, via_api):
        """Try the handover that executes request ``pk``; check it against the model."""
        request = Request.objects.get(pk=pk)
        case = Case.objects.get(pk=self.case.pk)
        option, wanted = _request_move(request)
        said = None
        if reconfirm:
            newest = self.model.newest()
            destination = wanted or (
                newest.destination if newest is not None and newest.option == option else ""
            )
            earned_there = any(
                s.level in ("verified", "reconfirmed")
                and s.option == option
                and s.destination == destination
                and s.stated_on <= self.today
                and not s.withdrawn
                for s in self.model.said
            )
            if earned_there:
                said = Said(0, option, destination, "reconfirmed", self.today, "day", 10**9)
                self.model.said.append(said)
        allowed = (
            request.status == "scheduled"
            and case.status == "release_approved"
            and (said is not None or not reconfirm)
            and self.model.allows(option, wanted, self.today)
        )
        receiving = factories.receiving_authority_for(request)
        reconfirmation = (
            {
                "heard_by": self.icrc,
                "detaining_power_present": "no",
                "options_explained": True,
            }
            if reconfirm
            else None
        )
        if via_api:
            body = {
                "request": str(request.uuid),
                "occurred_on": self.today.isoformat(),
                "receiving_authority": str(receiving.uuid),
            }
            if reconfirmation is not None:
                body["reconfirmation"] = {
                    "heard_by": str(self.icrc.uuid),
                    "detaining_power_present": "no",
                    "options_explained": True,
                }
            answer = self.api.post("/api/v1/handovers/", body, format="json")
            assert answer.status_code in (201, 400, 409), answer.content
            moved = answer.status_code == 201
            if answer.status_code == 409:
                assert answer.json()["problems"], "a refusal names its problems"
        else:
            try:
                handover_record(
                    actor=SYSTEM,
                    request=request,
                    occurred_on=self.today,
                    receiving_authority=receiving,
                    reconfirmation=reconfirmation,
                )
                moved = True
            except ValidationError:
                moved = False
        assert moved == allowed, f"handover: moved={moved} but the model says allowed={allowed}"
        if said is not None:
            if moved:
                said.pk = Handover.objects.get(request=request).reconfirmation_id
                said.order = next(self.order)
            else:
                self.model.said.remove(said)
        if moved:
            self.allowed_moves.add(("request", request.pk))
            self.allowed_moves.add(("case", case.pk))
        SEEN["passed" if moved else "refused"] += 1
        SEEN["handovers" if moved else "handovers_refused"] += 1

    @rule(data=st.data(), via_api=st.booleans())
    def execute(self, data, via_api):
        """Try to execute a scheduled request (a shortcut of move_request)."""
        scheduled = list(
            Request.objects.filter(pk__in=self.requests, status="scheduled").values_list(
                "pk", flat=True
            )
        )
        if scheduled:
            self._move_request(data.draw(st.sampled_from(scheduled)), "executed", via_api)

    @rule(data=st.data(), via_api=st.booleans())
    def move_request(self, data, via_api):
        if not self.requests:
            return
        pk = data.draw(st.sampled_from(self.requests))
        following = sorted(REQUEST_TRANSITIONS[Request.objects.get(pk=pk).status])
        # Mostly a step the machine allows (so requests reach execution), sometimes any.
        if following and data.draw(st.integers(0, 9)):
            status = data.draw(st.sampled_from(following))
        else:
            status = data.draw(st.sampled_from(REQUEST_STATUSES))
        self._move_request(pk, status, via_api)

    def _move_request(self, pk, status, via_api):
        request = Request.objects.get(pk=pk)
        move = _request_move(request)
        # Executing a move across a border is a handover's alone: refused on every other path.
        gated = status == "executed" and move is not None
        if via_api:
            answer = self.api.post(
                f"/api/v1/requests/{request.uuid}/transition/", {"status": status}, format="json"
            )
            assert answer.status_code in (200, 400, 409), answer.content
            moved = answer.status_code == 200
            if answer.status_code == 409:
                assert answer.json()["problems"], "a refusal names its problems"
        else:
            try:
                services.request_transition(actor=SYSTEM, request=request, status=status)
                moved = True
            except ValidationError:
                moved = False
        request.refresh_from_db()
        if gated:
            assert not moved, f"executed {request.kind} without a handover"
            SEEN["refused_without_handover"] += 1
        if request.kind == "asylum":
            self.model.asylum[request.pk] = request.status

    @rule(
        data=st.data(),
        destination=st.sampled_from(["KR", "DE", HOME, ""]),
        via_api=st.booleans(),
    )
    def move_case(self, data, destination, via_api):
        case = Case.objects.get(pk=self.case.pk)
        following = sorted(set(CASE_TRANSITIONS[case.status]) - {"died", "escaped"})
        if following and data.draw(st.integers(0, 9)):
            status = data.draw(st.sampled_from(following))
        else:
            status = data.draw(st.sampled_from(CASE_STATUSES))
        # Leaving custody for another state is a handover's alone: refused on every other path.
        leaving = status in LEAVING
        body = {"status": status}
        if destination:
            body["destination_country"] = destination
        if status == "released":
            body["released_to"] = "UA"
        if via_api:
            answer = self.api.post(f"/api/v1/cases/{case.uuid}/transition/", body, format="json")
            assert answer.status_code in (200, 400, 409), answer.content
            moved = answer.status_code == 200
        else:
            try:
                services.case_change_status(actor=SYSTEM, case=case, **body)
                moved = True
            except ValidationError:
                moved = False
        if leaving:
            assert not moved, f"case {status} without a handover"
            SEEN["refused_without_handover"] += 1

    # -- the invariant -------------------------------------------------------------------

    @invariant()
    def nobody_left_without_consent(self):
        SEEN["steps"] += 1
        case = Case.objects.get(pk=self.case.pk)
        if case.status in LEAVING:
            assert ("case", case.pk) in self.allowed_moves
        for request in case.requests.filter(status="executed"):
            if _request_move(request) is not None:
                assert ("request", request.pk) in self.allowed_moves
        newest = self.model.newest()
        assert case.current_intention_id == (newest.pk if newest else None)
        # The case and request machines agree: he left custody for another state exactly
        # when one request that moves him was executed, and each such request has the one
        # handover that executed it.
        executed = [
            r.pk for r in case.requests.filter(status="executed") if _request_move(r) is not None
        ]
        handovers = list(Handover.objects.filter(case=case).values_list("request_id", flat=True))
        assert sorted(handovers) == sorted(executed), (handovers, executed)
        if case.status in LEAVING:
            assert len(executed) == 1 and len(handovers) == 1, (case.status, executed)
        else:
            assert not executed, f"a move was executed but the case is {case.status}"
        # Every status the case reached, by the services or the API, opened the notifications
        # it owes (GC III Art. 122-123) in its own event, and no other status opened any.
        assert_every_status_change_opened_its_notifications(case)


def _request_move(request) -> tuple[str, str] | None:
    destination = request.destination_country.code or ""
    if request.kind in RETURNS:
        return ("return_home", destination)
    if request.kind == "third_state_transfer":
        return ("third_state", destination)
    if request.kind == "medical_treatment" and destination and destination != "UA":
        return ("return_home", destination) if destination == HOME else ("third_state", destination)
    return None


OFFICER: list = []
#: What the runs exercised: moves the gate let through, and moves it refused.
SEEN: Counter = Counter()


@pytest.mark.django_db
@pytest.mark.slow
def test_no_one_leaves_custody_without_his_verified_fresh_consent(settings_override=None):
    """Random sequences through services and API never move anyone past a shut gate."""
    factories.party("Ukraine", country="UA")
    factories.party("DPRK", country="KP")
    factories.party("Outlet", kind="media", country="KR")
    factories.party("Observers", kind="ngo", country="CH")
    OFFICER[:] = [user_in_role(CASE_OFFICER, "stateful-officer")]
    SEEN.clear()
    run_state_machine_as_test(
        ConsentMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
    # The runs must have reached the gate both ways, or they proved nothing about it.
    print(f"consent state machine: {dict(SEEN)}")
    assert SEEN["passed"] > 0 and SEEN["refused"] > 0, SEEN
    assert SEEN["handovers"] > 0 and SEEN["refused_without_handover"] > 0, SEEN
