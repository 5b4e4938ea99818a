"""Reads of exchanges that other capabilities need (the task rules' clock)."""

from __future__ import annotations

from cases.exchanges.models import Exchange, ExchangeStatus, ListEntryState

#: Exchange statuses in which people on its list are still to be handed over.
OPEN_EXCHANGE_STATUSES = (ExchangeStatus.PLANNED, ExchangeStatus.AGREED, ExchangeStatus.IN_PROGRESS)
#: List states of a person still expected to be handed over in the exchange.
LISTED_STATES = (ListEntryState.PROPOSED, ListEntryState.ACCEPTED)


def planned_exchange_of(case) -> Exchange | None:
    """Return the earliest-planned open exchange that lists ``case`` as proposed or accepted.

    Only exchanges with a planned date count. A date known to its month or year only is
    stored as the first day of that period, the earliest the exchange can take place.
    """
    return (
        Exchange.objects.filter(
            status__in=OPEN_EXCHANGE_STATUSES,
            planned_on__isnull=False,
            entries__case_id=case.pk,
            entries__state__in=LISTED_STATES,
        )
        .order_by("planned_on", "id")
        .first()
    )
