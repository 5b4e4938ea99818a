"""Risk of harm on return."""

from __future__ import annotations

from typing import Any

from cases import choices
from cases.models import Case, RiskAssessment, Source
from cases.services.base import Actor, created_changes, date_to_datetime, refuse_unknown, writes
from cases.timeline import vocabulary
from cases.timeline.drafts import EventDraft
from cases.timeline.vocabulary import EventKind

RISK_FIELDS = (
    "destination_country",
    "level",
    "persecution",
    "torture",
    "reprisal",
    "family_at_risk",
    "basis",
    "assessed_by",
    "assessor",
    "assessed_on",
)


@writes
def risk_assessment_record(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    source: Source | None = None,
    sink,
    **fields: Any,
) -> RiskAssessment:
    """Record an assessment of the risk of harm on return; append ``risk.assessed``.

    Assessments are kept side by side: the newest for a state is the one the consent gate
    reads, and a ``high`` one refuses a return there.
    """
    case = sink.lock(case)
    refuse_unknown(fields, RISK_FIELDS, "risk assessment")
    risk = sink.new(RiskAssessment, case=case, source=source, **fields)
    sink.validate(risk, exclude=["case"])
    sink.insert(risk)
    sink.append(
        EventDraft(
            kind=EventKind.RISK_ASSESSED,
            summary=vocabulary.risk_assessed(risk),
            subject=risk,
            actor=actor,
            case=case,
            changes=created_changes(risk, RISK_FIELDS, empty=(None, "", False)),
            reason=reason,
            source=source,
            occurred_at=date_to_datetime(risk.assessed_on),
            occurred_precision=choices.DatePrecision.DAY,
        )
    )
    return risk
