"""The consent gate, and how a statement earns its verification level.

No one is moved across a border or handed over against his verified will. One function,
``check``, decides for a case and a move (back to his own state, or to a named third state)
on a given day; every path that moves a person calls it through ``require``: a request
becoming ``executed``, a case becoming ``repatriated`` or ``transferred_third_state``, the
admin's forms and actions, the API, management commands, the seed loader and the demo
generator. A refusal names each unmet condition; a pass names the statement that opened it.

The gate passes only when the case's current intention (its newest active statement):

- was heard at level ``verified`` or ``reconfirmed``, and the circumstances recorded with it
  earn that level (``level_problems``; the rules of the private interview it was taken in,
  ``interview_problems``, apply when a level is recorded, so a statement stored before them
  keeps its level here);
- names the same option (and, for a third state, the same destination) as the move;
- was made on a known day, no later than the move and at most
  ``TRACKER_CONSENT_MAX_AGE_DAYS`` (default 30) before it;

and, for a return to a state whose national he is (non-refoulement): no asylum or
protection request of the case is pending or granted, and the latest risk assessment for
that state is not ``high``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import choices
from cases.choices import IntentionOption, RequestKind, RequestStatus, Verification
from cases.transitions import REQUEST_FINAL_STATUSES

#: Request kinds that move the person back to his own state when executed.
RETURN_KINDS = frozenset(
    {
        RequestKind.REPATRIATION,
        RequestKind.DIRECT_MEDICAL_REPATRIATION,
        RequestKind.EXCHANGE_INCLUSION,
    }
)
#: Case statuses that mean the person left custody for another state, and the option each
#: needs the person to have chosen.
GATED_CASE_STATUSES = {
    choices.CaseStatus.REPATRIATED: IntentionOption.RETURN_HOME,
    choices.CaseStatus.TRANSFERRED_THIRD_STATE: IntentionOption.THIRD_STATE,
}
#: Request statuses of an asylum or protection request that block a return: not yet
#: decided, or granted.
ASYLUM_PENDING = frozenset(
    {RequestStatus.FILED, RequestStatus.ACKNOWLEDGED, RequestStatus.UNDER_REVIEW}
)
ASYLUM_GRANTED = frozenset(
    {RequestStatus.ACCEPTED, RequestStatus.SCHEDULED, RequestStatus.EXECUTED}
)
#: Date precisions that say on which day a statement was made.
DAY_PRECISIONS = frozenset({choices.DatePrecision.DAY, choices.DatePrecision.EXACT})
#: Settings whose statements can be no more than reported, or than stated.
HEARSAY_SETTINGS = frozenset({choices.StatementSetting.HEARSAY})
INDIRECT_SETTINGS = frozenset(
    {choices.StatementSetting.LETTER, choices.StatementSetting.MEDIA_INTERVIEW}
)
#: Kinds of party that can be independent witnesses when not part of either power.
INDEPENDENT_KINDS = frozenset({choices.PartyKind.INTERNATIONAL_ORGANISATION, choices.PartyKind.NGO})


def max_age_days() -> int:
    """Return how many days a verified statement stays fresh for the gate."""
    return int(getattr(settings, "TRACKER_CONSENT_MAX_AGE_DAYS", 30))


@dataclass(frozen=True)
class Problem:
    """One unmet condition: a stable code for programs and a sentence for people."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """Return the problem as JSON."""
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class Move:
    """A move across a border: back to his own state, or to a named third state."""

    option: str
    destination: str = ""

    @property
    def label(self) -> str:
        """Return e.g. "transfer to a third state (KR)"."""
        text = IntentionOption(self.option).label.lower()
        return f"{text} ({self.destination})" if self.destination else text


@dataclass
class Decision:
    """The gate's answer for one case, one move and one day."""

    move: Move
    on: dt.date
    intention: object | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Return whether the gate is open."""
        return not self.problems

    def changes(self) -> dict[str, list]:
        """Return what a pass adds to the event of the move: which statement opened it."""
        intention = self.intention
        return {
            "consent_statement": [None, str(intention.uuid)],
            "consent_level": [None, intention.verification],
            "consent_stated_on": [None, intention.stated_on.isoformat()],
        }

    def as_dict(self) -> dict:
        """Return the answer as JSON, for the API and the pages."""
        intention = self.intention
        return {
            "move": {"option": self.move.option, "destination": self.move.destination},
            "on": self.on.isoformat(),
            "passed": self.passed,
            "statement": str(intention.uuid) if intention is not None else None,
            "level": intention.verification if intention is not None else None,
            "problems": [problem.as_dict() for problem in self.problems],
        }


class ConsentRefused(ValidationError):
    """The gate is closed for this move; nothing was written."""

    def __init__(self, decision: Decision, field_name: str = "status"):
        self.decision = decision
        reasons = "; ".join(problem.message for problem in decision.problems)
        super().__init__(
            {
                field_name: [
                    _("Consent gate: %(move)s is refused because %(reasons)s.")
                    % {"move": decision.move.label, "reasons": reasons}
                ]
            }
        )


# --------------------------------------------------------------------------------------------
# Earned verification
# --------------------------------------------------------------------------------------------


def _roots(parties: Iterable) -> set[int]:
    return {party.root_id() for party in parties if party is not None}


def _own_power_roots(case) -> set[int]:
    """Return the root party ids of the detaining power and of the power he depends on."""
    return _roots([case.detaining_party, case.person.power_depends_on])


def _is_independent(party, case) -> bool:
    if party is None or party.root_id() in _own_power_roots(case):
        return False
    return party.is_neutral or party.kind in INDEPENDENT_KINDS


def level_problems(
    intention,
    present_parties: Iterable,
    *,
    level: str | None = None,
    has_earlier_verified: bool | None = None,
    interview_rule: bool = True,
    at_handover: bool = False,
) -> list[str]:
    """Return why ``intention``'s circumstances do not earn ``level`` (its own by default).

    Each sentence names the rule that refuses the level. ``present_parties`` are the parties
    recorded as present besides who heard the statement; ``has_earlier_verified`` says
    whether an earlier verified statement of the same option and destination exists (read
    from the database when not given).

    ``interview_rule`` adds the rules of the private interview the statement links to
    (:func:`interview_problems`); they apply when a level is recorded, and the consent gate,
    which reads statements stored before the rule, leaves them out. ``at_handover`` says
    that the statement is the reconfirmation taken at a handover, which stands without one.
    """
    level = level or intention.verification
    problems = _circumstance_problems(
        intention, present_parties, level=level, has_earlier_verified=has_earlier_verified
    )
    if interview_rule:
        problems.extend(interview_problems(intention, level=level, at_handover=at_handover))
    return problems


def interview_problems(intention, *, level: str, at_handover: bool = False) -> list[str]:
    """Return why the private interview ``intention`` links to does not support ``level``.

    ``verified``, and ``reconfirmed`` unless taken at a handover, need a linked interview of
    the same case, held in private during a visit by a neutral body on the statement's day.
    Whatever the level, a linked interview must not contradict the statement: same case,
    same day, heard by the visiting body (or a part of it), and the same interpreter.
    """
    problems: list[str] = []
    needed = level == Verification.VERIFIED or (
        level == Verification.RECONFIRMED and not at_handover
    )
    interview = intention.interview if intention.interview_id is not None else None
    if interview is None:
        if needed:
            problems.append(
                _(
                    "'%(level)s' needs the private interview it was taken in, recorded with "
                    "the visit of a neutral body (GC III Art. 126)"
                )
                % {"level": level}
            )
        return problems
    visit = interview.visit
    body = visit.visiting_body
    if interview.case_id != intention.case_id:
        problems.append(_("the private interview linked is of another case"))
    if intention.stated_on != visit.visited_on:
        problems.append(
            _("the statement is dated %(stated)s but the visit it was taken in was on %(visited)s")
            % {"stated": intention.stated_on.isoformat(), "visited": visit.visited_on.isoformat()}
        )
    heard_by = intention.heard_by
    if heard_by is not None and heard_by.root_id() != body.root_id():
        problems.append(
            _(
                "the statement is recorded as heard by %(heard_by)s, but the interview was "
                "held by %(body)s"
            )
            % {"heard_by": heard_by.name, "body": body.name}
        )
    interpreter = intention.interpreter_supplied_by_id
    if (
        interpreter is not None
        and interview.interpreter_supplied_by_id is not None
        and interpreter != interview.interpreter_supplied_by_id
    ):
        problems.append(
            _("the statement and the interview name different parties as supplying the interpreter")
        )
    if not needed:
        return problems
    if heard_by is None:
        problems.append(
            _("'%(level)s' needs the statement recorded as heard by the visiting body, %(body)s")
            % {"level": level, "body": body.name}
        )
    if not interview.in_private:
        problems.append(
            _("'%(level)s' needs the interview held in private; this one was not")
            % {"level": level}
        )
    if not body.is_neutral:
        problems.append(
            _(
                "'%(level)s' needs an interview by a neutral body (a party marked neutral, "
                "such as the ICRC or a protecting power), not %(body)s"
            )
            % {"level": level, "body": body.name}
        )
    if visit.visited_on_precision not in DAY_PRECISIONS:
        problems.append(
            _("'%(level)s' needs the day of the visit, not only its %(precision)s")
            % {"level": level, "precision": visit.visited_on_precision}
        )
    return problems


def _circumstance_problems(
    intention, present_parties: Iterable, *, level: str, has_earlier_verified: bool | None
) -> list[str]:
    """Return why how ``intention`` was heard does not earn ``level`` (``level_problems``)."""
    present = [p for p in present_parties if p is not None]
    case = intention.case
    setting = intention.setting
    setting_label = choices.StatementSetting(setting).label.lower() if setting else _("statement")
    problems: list[str] = []
    if level == Verification.REPORTED:
        return problems
    if setting in HEARSAY_SETTINGS:
        return [_("hearsay is at most 'reported'")]
    if level == Verification.STATED:
        return problems
    if setting in INDIRECT_SETTINGS:
        return [_("a %(setting)s is at most 'stated'") % {"setting": setting_label}]
    if level == Verification.WITNESSED:
        if not any(_is_independent(p, case) for p in [intention.heard_by, *present]):
            problems.append(
                _(
                    "'witnessed' needs an independent party (a neutral body, an international "
                    "organisation or an NGO outside both powers) recorded as present"
                )
            )
        return problems
    # verified and reconfirmed: a private interview by a neutral body, without the detaining
    # power's staff, after the person was told his options, with no sign of duress.
    if setting != choices.StatementSetting.PRIVATE_NEUTRAL_INTERVIEW:
        problems.append(
            _("'%(level)s' needs a private interview by a neutral body, not a %(setting)s")
            % {"level": level, "setting": setting_label}
        )
    heard_by = intention.heard_by
    if heard_by is None or not heard_by.is_neutral:
        problems.append(
            _(
                "'%(level)s' needs the statement heard by a neutral or humanitarian body "
                "(a party marked neutral, such as the ICRC)"
            )
            % {"level": level}
        )
    detaining_root = case.detaining_party.root_id()
    detaining_listed = any(p.root_id() == detaining_root for p in present)
    if intention.detaining_power_present != choices.Presence.NO or detaining_listed:
        problems.append(
            _("'%(level)s' needs it recorded that no staff of the detaining power were present")
            % {"level": level}
        )
    if not intention.options_explained:
        problems.append(
            _("'%(level)s' needs the person told his options and their consequences beforehand")
            % {"level": level}
        )
    if (intention.duress_signs or "").strip():
        problems.append(
            _("'%(level)s' cannot be given to a statement with signs of duress") % {"level": level}
        )
    if has_earlier_verified is None and level == Verification.RECONFIRMED:
        has_earlier_verified = _has_earlier_verified(intention)
    if level == Verification.RECONFIRMED and not has_earlier_verified:
        problems.append(
            _(
                "'reconfirmed' needs an earlier verified statement of the same option and "
                "destination"
            )
        )
    return problems


def _has_earlier_verified(intention) -> bool:
    from cases.models import StatedIntention

    earlier = StatedIntention.objects.filter(
        case_id=intention.case_id,
        option=intention.option,
        destination_country=intention.destination_country,
        verification__in=choices.VERIFIED_LEVELS,
        state__in=[choices.IntentionState.ACTIVE, choices.IntentionState.SUPERSEDED],
        archived_at__isnull=True,
        stated_on__lte=intention.stated_on,
    )
    if intention.pk is not None:
        earlier = earlier.exclude(pk=intention.pk)
    return earlier.exists()


def check_level(
    intention,
    present_parties: Iterable,
    *,
    has_earlier_verified: bool | None = None,
    at_handover: bool = False,
) -> None:
    """Raise a ``ValidationError`` on ``verification`` when the level is not earned.

    ``at_handover``: the statement is the reconfirmation taken at a handover.
    """
    problems = level_problems(
        intention,
        present_parties,
        has_earlier_verified=has_earlier_verified,
        at_handover=at_handover,
    )
    if problems:
        raise ValidationError(
            {
                "verification": [
                    _("'%(level)s' is not earned: %(problems)s.")
                    % {"level": intention.verification, "problems": "; ".join(problems)}
                ]
            }
        )


def highest_earned_level(intention, present_parties: Iterable) -> str:
    """Return the highest level the statement's circumstances earn."""
    present = list(present_parties)
    best = Verification.REPORTED
    for level in Verification.values:
        if not level_problems(intention, present, level=level):
            best = level
    return best


# --------------------------------------------------------------------------------------------
# The gate
# --------------------------------------------------------------------------------------------


def own_states(person) -> set[str]:
    """Return the ISO codes of the states the person is a national of or depends on."""
    codes = {country.code for country in person.nationalities if country.code}
    power = person.power_depends_on
    if power is not None and power.country:
        codes.add(power.country.code)
    return codes


def move_for_request(request) -> Move | None:
    """Return the move that executing ``request`` makes, or None when it moves no one.

    Repatriations and inclusion in an exchange return him home; a transfer goes to its
    destination; medical treatment abroad crosses a border too.
    """
    destination = request.destination_country.code or ""
    if request.kind in RETURN_KINDS:
        return Move(IntentionOption.RETURN_HOME, destination)
    if request.kind == RequestKind.THIRD_STATE_TRANSFER:
        return Move(IntentionOption.THIRD_STATE, destination)
    if request.kind == RequestKind.MEDICAL_TREATMENT and destination:
        held_in = request.case.detaining_party.country.code or ""
        if destination == held_in:
            return None
        if destination in own_states(request.case.person):
            return Move(IntentionOption.RETURN_HOME, destination)
        return Move(IntentionOption.THIRD_STATE, destination)
    return None


def check_return_destination(case, kind: str, destination: str) -> None:
    """Refuse a request that returns him home but names a state that is not his own.

    A repatriation, direct medical repatriation or exchange takes him to a state he is a
    national of or depends on; a move anywhere else is a transfer to a third state.
    """
    home = own_states(case.person)
    if kind in RETURN_KINDS and destination and home and destination not in home:
        raise ValidationError(
            {
                "destination_country": _(
                    "A %(kind)s takes him to his own state (%(home)s), not to %(destination)s; "
                    "a move elsewhere is a transfer to a third state."
                )
                % {
                    "kind": RequestKind(kind).label.lower(),
                    "home": ", ".join(sorted(home)),
                    "destination": destination,
                }
            }
        )


def move_for_case_status(case, status: str, destination: str = "") -> Move | None:
    """Return the move that ``status`` records, or None when the status moves no one.

    A transfer's destination is the one given, else that of the case's latest scheduled or
    executed transfer request; without either it stays empty and the gate refuses.
    """
    option = GATED_CASE_STATUSES.get(status)
    if option is None:
        return None
    home = own_states(case.person)
    if option == IntentionOption.RETURN_HOME and destination and home and destination not in home:
        raise ValidationError(
            {
                "destination_country": _(
                    "A repatriation returns him to his own state (%(home)s), not to "
                    "%(destination)s; a move elsewhere is a transfer to a third state."
                )
                % {"home": ", ".join(sorted(home)), "destination": destination}
            }
        )
    if option == IntentionOption.THIRD_STATE and not destination:
        transfer = (
            case.requests.filter(
                kind=RequestKind.THIRD_STATE_TRANSFER,
                status__in=[RequestStatus.SCHEDULED, RequestStatus.EXECUTED],
                archived_at__isnull=True,
            )
            .order_by("-updated_at", "-id")
            .first()
        )
        destination = transfer.destination_country.code if transfer else ""
    return Move(option, destination or "")


@dataclass(frozen=True)
class Elsewhere:
    """What the person's other cases hold that protects him on this one: the statuses of
    his asylum claims there, and the risks assessed there. One man entered twice and then
    merged, or captured twice, has several cases; a claim pending on any of them stops a
    return through any other (GC III Art. 109(3); Refugee Convention Art. 33)."""

    asylum_statuses: frozenset[str] = frozenset()
    risks: tuple = ()


def elsewhere(case) -> Elsewhere:
    """Return what the person's other cases hold (two queries; none without other cases)."""
    from cases.models import Case, Request, RiskAssessment

    if case.person_id is None:
        return Elsewhere()
    others = Case._base_manager.filter(person_id=case.person_id).exclude(pk=case.pk)
    statuses = Request._base_manager.filter(
        case__in=others, kind=RequestKind.ASYLUM, archived_at__isnull=True
    ).values_list("status", flat=True)
    return Elsewhere(
        asylum_statuses=frozenset(statuses),
        risks=tuple(RiskAssessment._base_manager.filter(case__in=others)),
    )


def check(case, move: Move, *, on: dt.date | None = None) -> Decision:
    """Return the gate's answer for moving ``case``'s person by ``move`` on day ``on``.

    His asylum claims and risk assessments on his other cases count as on this one.
    """
    from cases.selectors import current_intention_for

    current = current_intention_for(case)
    other = elsewhere(case)
    return decide(
        case=case,
        move=move,
        on=on,
        current=current,
        present_parties=list(current.present_parties.all()) if current else [],
        asylum_statuses=set(
            case.requests.filter(kind=RequestKind.ASYLUM, archived_at__isnull=True).values_list(
                "status", flat=True
            )
        )
        | other.asylum_statuses,
        risks=[*case.risk_assessments.all(), *other.risks],
    )


def check_loaded(
    case, move: Move, *, intentions, requests, risks, elsewhere: Elsewhere, on=None
) -> Decision:
    """Return ``check``'s answer from rows a page has already read, without a query.

    ``intentions`` are all the case's statements (with ``present_parties`` prefetched),
    ``requests`` its requests, ``risks`` its risk assessments, and ``elsewhere`` what the
    person's other cases hold (:func:`elsewhere`, read once per page).
    """
    from cases.selectors import intention_order_key

    active = [
        i for i in intentions if i.state == choices.IntentionState.ACTIVE and i.archived_at is None
    ]
    current = max(active, key=intention_order_key, default=None)
    return decide(
        case=case,
        move=move,
        on=on,
        current=current,
        present_parties=list(current.present_parties.all()) if current else [],
        asylum_statuses={
            r.status for r in requests if r.kind == RequestKind.ASYLUM and r.archived_at is None
        }
        | elsewhere.asylum_statuses,
        risks=[*risks, *elsewhere.risks],
    )


def moves_in_view(requests) -> list[Move]:
    """Return the moves the case's open requests would make (a return home when none would)."""
    moves: list[Move] = []
    for request in requests:
        if request.archived_at is not None or request.status in REQUEST_FINAL_STATUSES:
            continue
        move = move_for_request(request)
        if move is not None and move not in moves:
            moves.append(move)
    return moves or [Move(IntentionOption.RETURN_HOME)]


def decide(
    *,
    case,
    move: Move,
    on: dt.date | None,
    current,
    present_parties: Iterable,
    asylum_statuses: set[str],
    risks: Iterable,
) -> Decision:
    """Return the gate's answer from what is known of the case; ``check`` reads it for you.

    ``current`` is the case's current intention (``selectors.current_intention_for``),
    ``present_parties`` those recorded present at it, ``asylum_statuses`` the statuses of the
    case's asylum or protection requests and ``risks`` its risk assessments.
    """
    on = on or timezone.localdate()
    decision = Decision(move=move, on=on, intention=current)
    problems = decision.problems
    returning = move.option == IntentionOption.RETURN_HOME or (
        move.destination and move.destination in own_states(case.person)
    )

    if move.option == IntentionOption.THIRD_STATE and not move.destination:
        problems.append(Problem("destination_unknown", _("the move names no destination")))
    if current is None:
        problems.append(Problem("no_statement", _("the person has no active statement on record")))
    else:
        problems.extend(_statement_problems(current, move, on, present_parties))
    if returning:
        problems.extend(_return_problems(case, move, asylum_statuses, risks))
    return decision


def _when(intention) -> str:
    """Return when a statement was made, as precisely as it is known ("2025-10" for a month)."""
    day, precision = intention.stated_on, intention.stated_on_precision
    if precision == choices.DatePrecision.MONTH:
        return f"{day:%Y-%m}"
    if precision == choices.DatePrecision.YEAR:
        return f"{day:%Y}"
    if precision == choices.DatePrecision.APPROXIMATE:
        return _("about %(date)s") % {"date": day.isoformat()}
    return day.isoformat()


def _statement_problems(current, move: Move, on: dt.date, present_parties):
    problems = []
    if current.verification not in choices.VERIFIED_LEVELS:
        problems.append(
            Problem(
                "not_verified",
                _(
                    "his newest statement (%(when)s) is only '%(level)s'; it must be "
                    "'verified' (private interview by a neutral body) or 'reconfirmed'"
                )
                % {"when": _when(current), "level": current.verification},
            )
        )
    else:
        # The gate needs what 'verified' needs; a reconfirmation whose earlier statement was
        # later withdrawn still stands on its own private interview.
        # The interview rules apply when a level is recorded; statements stored before
        # them stand on their circumstances.
        unearned = level_problems(
            current, present_parties, level=Verification.VERIFIED, interview_rule=False
        )
        if unearned:
            problems.append(
                Problem(
                    "level_not_earned",
                    _(
                        "his newest statement is recorded as '%(level)s' but does not earn "
                        "it: %(problems)s"
                    )
                    % {"level": current.verification, "problems": "; ".join(unearned)},
                )
            )
    if current.option != move.option:
        problems.append(
            Problem(
                "option_mismatch",
                _("his newest statement says '%(said)s', not '%(move)s'")
                % {
                    "said": current.get_option_display(),
                    "move": IntentionOption(move.option).label,
                },
            )
        )
    elif move.destination and current.destination_country.code not in ("", move.destination):
        problems.append(
            Problem(
                "destination_mismatch",
                _("his newest statement names %(named)s, the move %(move)s")
                % {"named": current.destination_country.code, "move": move.destination},
            )
        )
    elif move.option == IntentionOption.THIRD_STATE and not current.destination_country:
        problems.append(
            Problem("destination_mismatch", _("his newest statement names no destination"))
        )
    if current.stated_on_precision not in DAY_PRECISIONS:
        problems.append(
            Problem(
                "date_imprecise",
                _(
                    "his newest statement is dated only to the %(precision)s; the gate needs "
                    "the day it was made"
                )
                % {"precision": current.stated_on_precision},
            )
        )
    elif current.stated_on > on:
        problems.append(
            Problem(
                "stated_after_move",
                _("his newest statement (%(stated)s) is dated after the move (%(on)s)")
                % {"stated": current.stated_on, "on": on},
            )
        )
    elif (on - current.stated_on).days > max_age_days():
        problems.append(
            Problem(
                "stale",
                _(
                    "his newest statement is %(age)d days old; consent must be at most "
                    "%(most)d days old or reconfirmed at handover"
                )
                % {"age": (on - current.stated_on).days, "most": max_age_days()},
            )
        )
    return problems


def _return_problems(case, move: Move, asylum_statuses: set[str], risks: Iterable):
    problems = []
    if asylum_statuses & ASYLUM_PENDING:
        problems.append(
            Problem(
                "asylum_pending",
                _(
                    "an asylum or protection request is pending; no return before it is "
                    "decided or withdrawn (non-refoulement)"
                ),
            )
        )
    if asylum_statuses & ASYLUM_GRANTED:
        problems.append(
            Problem(
                "protection_granted",
                _("an asylum or protection request was granted; no return unless it is withdrawn"),
            )
        )
    states = {move.destination} if move.destination else own_states(case.person)
    risk = latest_risk(case.person, risks, states)
    if risk is not None and risk.level == choices.RiskLevel.HIGH:
        problems.append(
            Problem(
                "high_risk",
                _("a high risk of harm on return was assessed on %(date)s")
                % {"date": risk.assessed_on},
            )
        )
    return problems


def latest_risk(person, risks: Iterable, states: set[str]):
    """Return the newest of ``risks`` for a return to one of ``states``, or None.

    An assessment with no destination is about his own state.
    """
    own = own_states(person)
    for risk in sorted(risks, key=lambda r: (r.assessed_on, r.pk or 0), reverse=True):
        code = risk.destination_country.code or ""
        if code in states if code else (states & own or not own):
            return risk
    return None


def require(case, move: Move | None, *, on: dt.date | None = None) -> Decision | None:
    """Return the gate's pass for ``move``, or raise ``ConsentRefused`` naming each problem."""
    if move is None:
        return None
    decision = check(case, move, on=on)
    if not decision.passed:
        raise ConsentRefused(decision)
    grant(case, move)
    return decision


# --------------------------------------------------------------------------------------------
# The pass: a gated status is stored only in the transaction whose gate passed it
# --------------------------------------------------------------------------------------------
#
# ``require`` (and the demo generator's in-memory gate) grant a pass for the case and the
# move. ``Case`` and ``Request`` refuse to store a gated status without one: their ``save``,
# their querysets' ``update``, ``bulk_update`` and ``bulk_create``, and a raw save
# (``loaddata``) all ask ``guard_*`` below. A pass lives until the transaction or savepoint
# that earned it ends: it is registered as an ``on_commit`` callback, which Django drops on
# rollback (of the savepoint or of the transaction) and runs, forgetting the pass, on commit.


class ConsentNotAsked(Exception):
    """A gated status was about to be stored without the consent gate's pass.

    Not a ``ValidationError``: the input is not at fault but the code path, which skipped
    ``consent.require``. It must surface as a defect, never as a form message.
    """


#: Marks a row whose stored status is not known from how it was loaded.
UNKNOWN = object()

_ledger: ContextVar[dict | None] = ContextVar("consent_passes", default=None)
#: Set while ``bulk_update`` writes rows it has already checked one by one.
_rows_checked: ContextVar[bool] = ContextVar("consent_rows_checked", default=False)


@contextmanager
def rows_checked():
    """Let the ``update`` that ``bulk_update`` builds from checked rows through."""
    token = _rows_checked.set(True)
    try:
        yield
    finally:
        _rows_checked.reset(token)


class _Pass:
    """One pass; also the ``on_commit`` callback that forgets it when its transaction ends."""

    __slots__ = ("keys",)

    def __init__(self, keys: tuple):
        self.keys = keys

    def __call__(self) -> None:
        ledger = _ledger.get() or {}
        for key in self.keys:
            tokens = ledger.get(key)
            if tokens and self in tokens:
                tokens.remove(self)
                if not tokens:
                    del ledger[key]


def _alias(obj, using: str | None = None) -> str:
    return using or obj._state.db or router.db_for_write(type(obj), instance=obj)


def grant(case, move: Move, *, using: str | None = None) -> None:
    """Record that the gate passed ``move`` for ``case`` in the current transaction.

    Outside a transaction nothing is recorded: the move must be stored in the transaction
    that asked the gate, or the answer may no longer hold when it is stored.
    """
    alias = _alias(case, using)
    connection = connections[alias]
    if case.pk is None or not connection.in_atomic_block:
        return
    ledger = _ledger.get()
    if ledger is None:
        ledger = {}
        _ledger.set(ledger)
    elif not connection.run_on_commit:
        # No callback is pending on this connection, so none of its passes is alive.
        for key in [key for key in ledger if key[0] == alias]:
            del ledger[key]
    # The case's status needs the option only; a request's execution the exact move.
    keys = ((alias, case.pk, move.option, move.destination), (alias, case.pk, move.option, None))
    token = _Pass(keys)
    for key in keys:
        ledger.setdefault(key, []).append(token)
    transaction.on_commit(token, using=alias)


def _live_tokens(alias: str) -> set[int]:
    return {id(entry[1]) for entry in connections[alias].run_on_commit}


def has_pass(alias: str, case_id, option: str, destination: str | None = None) -> bool:
    """Return whether the gate passed this move for the case in the running transaction."""
    return _covered(alias, (alias, case_id, option, destination), None)


def _covered(alias: str, key: tuple, live: set[int] | None) -> bool:
    ledger = _ledger.get()
    tokens = ledger.get(key) if ledger else None
    if not tokens:
        return False
    live = _live_tokens(alias) if live is None else live
    tokens[:] = [token for token in tokens if id(token) in live]
    return bool(tokens)


def _needed(obj, stored) -> tuple | None:
    """Return ``(case id, option, destination)`` the row's status needs a pass for, or None.

    ``stored`` is the status the row has in the database (None for a new row). A case needs
    one on becoming ``repatriated`` or ``transferred_third_state``; a request on becoming
    ``executed`` when executing it moves the person (``move_for_request``).
    """
    from cases.models import Case

    status = obj.__dict__.get("status")
    if status == stored:
        return None
    if isinstance(obj, Case):
        option = GATED_CASE_STATUSES.get(status)
        return None if option is None else (obj.pk, option, None)
    if status != RequestStatus.EXECUTED:
        return None
    move = move_for_request(obj)
    return None if move is None else (obj.case_id, move.option, move.destination)


def _refusal(obj, status: str, how: str) -> ConsentNotAsked:
    name = type(obj).__name__.lower()
    service = "case_change_status" if name == "case" else "request_transition"
    label = f"case {obj.reference}" if name == "case" else f"request {obj.pk or '(new)'}"
    return ConsentNotAsked(
        f"Consent gate not asked: {label} cannot be stored as '{status}' by {how} without the "
        f"consent gate's pass in this transaction. Use services.{service}, which calls "
        "consent.require."
    )


def _stored_statuses(model, objs, using: str) -> dict:
    """Return the stored status of each of ``objs`` whose load did not record it."""
    unknown = [
        obj.pk
        for obj in objs
        if not obj._state.adding and getattr(obj, "_stored_status", UNKNOWN) is UNKNOWN
    ]
    if not unknown:
        return {}
    return dict(model._base_manager.using(using).filter(pk__in=unknown).values_list("pk", "status"))


def _stored(obj, fetched: dict):
    if obj._state.adding:
        return None
    stored = getattr(obj, "_stored_status", UNKNOWN)
    return fetched.get(obj.pk) if stored is UNKNOWN else stored


def guard_save(obj, *, using: str | None = None, how: str = "save()", raw: bool = False) -> None:
    """Raise ``ConsentNotAsked`` when ``obj.save()`` would store a gated status unpassed.

    Costs nothing but a dictionary look-up unless the status is a gated one and changed. A
    ``raw`` save (``loaddata``) may overwrite an existing row, so its stored status is read.
    """
    alias = _alias(obj, using)
    status = obj.__dict__.get("status")
    if status not in GATED_CASE_STATUSES and status != RequestStatus.EXECUTED:
        return
    if raw and obj.pk is not None:
        stored = (
            type(obj)
            ._base_manager.using(alias)
            .filter(pk=obj.pk)
            .values_list("status", flat=True)
            .first()
        )
    else:
        stored = _stored(obj, _stored_statuses(type(obj), [obj], alias))
    needed = _needed(obj, stored)
    if needed is not None and not _covered(alias, (alias, *needed), None):
        raise _refusal(obj, status, how)


def guard_rows(model, objs, *, using: str, new: bool, how: str) -> None:
    """Raise ``ConsentNotAsked`` unless every row of ``objs`` entering a gated status has a pass.

    ``new`` rows are being inserted (``bulk_create``, COPY); otherwise their status is being
    written over the stored one (``bulk_update``).
    """
    fetched = {} if new else _stored_statuses(model, objs, using)
    live = None
    for obj in objs:
        needed = _needed(obj, None if new else _stored(obj, fetched))
        if needed is None:
            continue
        live = _live_tokens(using) if live is None else live
        if not _covered(using, (using, *needed), live):
            raise _refusal(obj, obj.status, how)


def guard_update(queryset, status) -> None:
    """Raise ``ConsentNotAsked`` unless ``queryset.update(status=...)`` is covered row by row."""
    from cases.models import Case

    model = queryset.model
    if _rows_checked.get():
        return
    if hasattr(status, "resolve_expression"):
        raise ConsentNotAsked(
            f"Consent gate not asked: a {model.__name__}'s status cannot be set from an "
            "expression, which the consent gate cannot check. Use the services."
        )
    if model is Case:
        if status not in GATED_CASE_STATUSES:
            return
        rows = list(queryset.exclude(status=status).only("pk", "reference", "status"))
    else:
        if status != RequestStatus.EXECUTED:
            return
        rows = list(
            queryset.exclude(status=status).select_related(
                "case__detaining_party", "case__person__power_depends_on"
            )
        )
    for row in rows:
        row.status = status
    guard_rows(model, rows, using=queryset.db, new=False, how="QuerySet.update()")
