"""The two state machines: which status may follow which."""

from cases.choices import CaseStatus as CS
from cases.choices import RequestStatus as RS

#: Case statuses that end a custody episode; entering one sets ``closed_at``.
CASE_CLOSED_STATUSES = frozenset(
    {CS.REPATRIATED, CS.TRANSFERRED_THIRD_STATE, CS.RELEASED, CS.DIED, CS.ESCAPED}
)

#: Allowed case transitions. ``died`` and ``escaped`` are reachable from every open state.
CASE_TRANSITIONS: dict[str, frozenset[str]] = {
    CS.CAPTURED: frozenset({CS.REGISTERED, CS.HOSPITALISED}),
    CS.REGISTERED: frozenset({CS.INTERNED, CS.HOSPITALISED}),
    CS.INTERNED: frozenset({CS.HOSPITALISED, CS.ON_HOLD, CS.RELEASE_APPROVED}),
    CS.HOSPITALISED: frozenset({CS.INTERNED, CS.RELEASE_APPROVED}),
    CS.ON_HOLD: frozenset({CS.INTERNED, CS.HOSPITALISED, CS.RELEASE_APPROVED}),
    CS.RELEASE_APPROVED: frozenset(
        {CS.INTERNED, CS.REPATRIATED, CS.TRANSFERRED_THIRD_STATE, CS.RELEASED}
    ),
}
for _status in list(CASE_TRANSITIONS):
    CASE_TRANSITIONS[_status] = CASE_TRANSITIONS[_status] | {CS.DIED, CS.ESCAPED}
for _status in CASE_CLOSED_STATUSES:
    CASE_TRANSITIONS[_status] = frozenset()

#: Request statuses after which nothing more happens.
REQUEST_FINAL_STATUSES = frozenset({RS.REFUSED, RS.WITHDRAWN, RS.LAPSED, RS.EXECUTED, RS.FAILED})

#: Allowed request transitions.
REQUEST_TRANSITIONS: dict[str, frozenset[str]] = {
    RS.DRAFT: frozenset({RS.FILED, RS.WITHDRAWN}),
    RS.FILED: frozenset({RS.ACKNOWLEDGED, RS.UNDER_REVIEW, RS.REFUSED, RS.WITHDRAWN, RS.LAPSED}),
    RS.ACKNOWLEDGED: frozenset({RS.UNDER_REVIEW, RS.REFUSED, RS.WITHDRAWN, RS.LAPSED}),
    RS.UNDER_REVIEW: frozenset({RS.ACCEPTED, RS.REFUSED, RS.WITHDRAWN, RS.LAPSED}),
    RS.ACCEPTED: frozenset({RS.SCHEDULED, RS.WITHDRAWN, RS.LAPSED}),
    RS.SCHEDULED: frozenset({RS.EXECUTED, RS.FAILED, RS.WITHDRAWN}),
    **{status: frozenset() for status in REQUEST_FINAL_STATUSES},
}

#: Request statuses that count as open (not final, not a draft).
REQUEST_OPEN_STATUSES = frozenset(set(RS.values) - REQUEST_FINAL_STATUSES - {RS.DRAFT})


def allowed_case_statuses(current: str) -> list[str]:
    """Return the statuses a case in ``current`` may move to, in declaration order."""
    allowed = CASE_TRANSITIONS[current]
    return [value for value in CS.values if value in allowed]


def allowed_request_statuses(current: str) -> list[str]:
    """Return the statuses a request in ``current`` may move to, in declaration order."""
    allowed = REQUEST_TRANSITIONS[current]
    return [value for value in RS.values if value in allowed]
