"""One event draft: what a service says happened, before a sink stores it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cases import choices


@dataclass
class EventDraft:
    """One timeline event as a service words it; a sink numbers, chains and stores it.

    ``case`` is the chain the event joins (its person follows unless given); with no case the
    event joins its person's chain, or the global one. ``occurred_at`` None means "now" as
    the sink knows it. The sink stores the subject's version and representation as they are
    when it appends the event: after the change.
    """

    kind: str
    summary: str
    subject: Any
    actor: Any
    case: Any = None
    person: Any = None
    changes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    source: Any = None
    occurred_at: dt.datetime | None = None
    occurred_precision: str = choices.DatePrecision.EXACT
    #: False for an event whose subject no longer exists (a purge's tombstone): it stores no
    #: representation.
    represented: bool = True
    #: Events the same write appends right after this one (the tasks a rule opened or closed
    #: because of it: ``cases.tasks.rules.Applied.drafts``).
    follow_ups: list[EventDraft] = field(default_factory=list)
