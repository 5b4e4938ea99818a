"""Reads shaped for the API: the case list's rows, the reader's name variants, exact counts.

Reads of rows as every surface shows them live in :mod:`cases.selectors`; this module holds
only what the API's fast paths need beyond them: the case list read as plain rows
(:data:`cases.api.resources.CASE_LIST`) with the open-request count, the name variants a
reader may see, and a count kept per state of the case data (PostgreSQL).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.postgres.aggregates import JSONBAgg
from django.core.cache import cache
from django.db import connections
from django.db.models import (
    Count,
    IntegerField,
    JSONField,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, JSONObject

from cases import choices, selectors
from cases.api.resources import CASE_LIST, INTENTION_ROW, POSITION_ROW, REQUEST_ROW, row_columns
from cases.models import (
    Case,
    PersonName,
    Request,
    StatedIntention,
)
from cases.notifications.services import PartyRef, recipient_refs
from cases.security import sensitive
from cases.statements import CompiledRows
from cases.transitions import REQUEST_OPEN_STATUSES

#: Requests that count as open on a case: filed and not yet final (drafts are not open yet).
OPEN_REQUEST_STATUSES = sorted(REQUEST_OPEN_STATUSES - {choices.RequestStatus.DRAFT})


def _count(queryset: QuerySet, ref: str) -> Coalesce:
    """Return a correlated count of ``queryset`` rows grouped by ``ref``, 0 when none."""
    counted = queryset.values(ref).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


#: The state of the case data the statement being run sees (PostgreSQL), as a short text.
#: Every write to case data appends timeline events in its own transaction, and events are
#: only ever added, so the events a statement sees decide the case data it sees. They are
#: those of the transactions older than its snapshot's oldest running one (``xmin``: all
#: finished, so a fixed set given the newest of them that wrote events) and those of the
#: newer transactions it sees (listed). Commits that write no event (another database of
#: the cluster, a token's last use, an access-log row, a webhook's position) leave it as it
#: was, where the snapshot itself (``pg_current_snapshot()``) changed with each of them. One
#: change of form remains: while a transaction older than the newest event writers runs
#: anywhere on the server, those writers are listed one by one, and when it ends they fall
#: below ``xmin``; the same data then reads as another state, and is counted once more.
_DATA_STATE = """(
    SELECT coalesce((
            SELECT max(e.xact_id) FROM cases_timelineevent e WHERE e.xact_id < w.xmin
        )::text, '')
        || '/' || coalesce((
            SELECT md5(string_agg(r.x::text, ',' ORDER BY r.x)) FROM (
                SELECT DISTINCT e.xact_id AS x FROM cases_timelineevent e
                WHERE e.xact_id >= w.xmin
            ) AS r
        ), '')
    FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) AS w
)"""
_DATA_STATE_SQL = f"SELECT {_DATA_STATE}"

#: Event kinds whose writes change only what is listed here (table: the columns changed, or
#: None for any), besides the events themselves: a note inserts its row and moves its case's
#: event sequence. ``tests/perf/test_count_state.py`` runs each kind's service and holds
#: every statement it writes to this. A count whose query reads none of a kind's footprint
#: is the same before and after any number of such writes, so its state leaves them out
#: (:func:`count_state_sql`): an officer's notes do not make the case list count again.
NARROW_FOOTPRINTS: dict[str, dict[str, frozenset[str] | None]] = {
    "note.added": {"cases_note": None, "cases_case": frozenset({"last_event_seq"})},
}
#: The partial index that serves a state leaving out every narrow kind (migration 0043).
NARROW_KINDS = tuple(sorted(NARROW_FOOTPRINTS))


def _reads_footprint(sql: str, footprint: dict[str, frozenset[str] | None]) -> bool:
    """Return whether ``sql`` may read what ``footprint`` changes (erring on "may").

    A table changed in any column may be read when the statement names it; a table changed
    in some columns, when the statement names any of those columns, on any table or alias.
    """
    for table, columns in footprint.items():
        if columns is None:
            if f'"{table}"' in sql:
                return True
        elif any(f'"{column}"' in sql for column in columns):
            return True
    return False


def count_state_sql(sql: str) -> str:
    """Return the expression of the data state a count of ``sql`` is kept under.

    The state of :data:`_DATA_STATE`, leaving out the events of the kinds whose writes the
    counted statement cannot see (:data:`NARROW_FOOTPRINTS`): two statements that see the
    same other events count the same. When it can leave out every narrow kind, the state is
    read through the partial index of migration 0043.
    """
    left_out = [k for k in NARROW_KINDS if not _reads_footprint(sql, NARROW_FOOTPRINTS[k])]
    if not left_out:
        return _DATA_STATE
    # The kinds are this module's constants, never input.
    condition = " AND e.kind NOT IN (" + ", ".join(f"'{kind}'" for kind in left_out) + ")"
    return _DATA_STATE.replace(
        "WHERE e.xact_id < w.xmin", f"WHERE e.xact_id < w.xmin{condition}"
    ).replace("WHERE e.xact_id >= w.xmin", f"WHERE e.xact_id >= w.xmin{condition}")


#: The state a list's ETag is decided from (``cases.api.conditional``), per database: on
#: PostgreSQL the data state and the newest event id (a transaction's own writes share one
#: transaction id, and each appends an event with a higher id); on SQLite, where writers
#: take turns and event ids are never reused, the newest event id.
_NEWEST_EVENT = "(SELECT max(id) FROM cases_timelineevent)"
LIST_STATE = {
    "postgresql": f"({_DATA_STATE} || '/' || coalesce({_NEWEST_EVENT}::text, ''))",
    "sqlite": f"(coalesce({_NEWEST_EVENT}, 0) || '')",
}


def _open_request_count() -> Coalesce:
    open_requests = Request.objects.filter(
        case=OuterRef("pk"), status__in=OPEN_REQUEST_STATUSES
    ).order_by()
    return _count(open_requests, "case")


def api_cases() -> QuerySet[Case]:
    """Return cases for lists: person and names, party, current intention, open requests."""
    return (
        selectors.case_list()
        .prefetch_related("person__names")
        .annotate(open_request_count=_open_request_count())
    )


def api_case_list() -> QuerySet[Case]:
    """Return the cases the list filters: no joins, so that counting them needs none.

    The filters add the joins they need; :func:`api_case_rows` adds what a page shows.
    """
    return Case.objects.all()


#: The columns of one case-list row (:func:`api_case_rows`), the case's own and its joins',
#: as the list's description reads them.
CASE_ROW_FIELDS = row_columns(CASE_LIST)


def api_case_rows(
    cases: QuerySet[Case],
    user,
    *,
    states: bool = True,
    columns: Iterable[str] = (),
    counted: QuerySet | None = None,
) -> QuerySet:
    """Return filtered ``cases`` as plain rows holding what a case list shows.

    Rows instead of model instances: building 50 instances and running a serializer's
    fields over them cost several times the queries. The open-request count is a
    correlated subquery, evaluated only for the page's rows. On PostgreSQL each row also
    carries the name variants ``user`` may see (``names``, a JSON array) and the state of
    the case data the rows were read in (``data_state``, for :func:`exact_count`), which
    spares a query each; on both databases each row carries ``list_state``, the state the
    page's ETag is decided from (``cases.api.conditional``). Elsewhere than PostgreSQL
    :func:`api_case_page_names` reads the names in a second query. Without ``states`` the
    rows carry neither state (a single case needs neither); ``columns`` names more columns;
    ``counted`` is the queryset the list counts, whose count's state the rows carry
    (:func:`count_state_of`; the whole data state without it).
    """
    rows = cases.annotate(open_request_count=_open_request_count())
    extra = list(columns)
    vendor = connections[cases.db].vendor
    if states and vendor in LIST_STATE:
        # Read in the page's own statement: the state the page's ETag is decided from.
        rows = rows.annotate(list_state=RawSQL(LIST_STATE[vendor], (), output_field=TextField()))
        extra.append("list_state")
    if vendor == "postgresql":
        names = (
            PersonName.objects.filter(
                sensitive.visible_name_condition(user), person_id=OuterRef("person_id")
            )
            .order_by()
            .values("person_id")
            .annotate(
                names=JSONBAgg(
                    JSONObject(
                        value="value",
                        script="script",
                        romanisation="romanisation",
                        is_pseudonym="is_pseudonym",
                    ),
                    order_by="id",
                )
            )
            .values("names")
        )
        rows = rows.annotate(names=Subquery(names, output_field=JSONField()))
        extra.append("names")
        if states:
            state = _DATA_STATE if counted is None else count_state_of(counted)
            rows = rows.annotate(data_state=RawSQL(state, (), output_field=TextField()))
            extra.append("data_state")
    return rows.values(*CASE_ROW_FIELDS, "open_request_count", *extra)


def api_case_page_names(rows: list[dict], user) -> dict[int, list[dict]]:
    """Return ``{person id: [name variant, ...]}`` for a page of :func:`api_case_rows`.

    On PostgreSQL the rows carry them; elsewhere they are read with
    :func:`api_person_names`.
    """
    if not rows or "names" not in rows[0]:
        return api_person_names({row["person_id"] for row in rows}, user)
    return {
        row["person_id"]: [
            {
                "value": name["value"],
                "script": name["script"],
                "romanisation": name["romanisation"],
                "is_pseudonym": name["is_pseudonym"],
            }
            for name in row["names"] or ()
        ]
        for row in rows
    }


def api_person_names(person_ids: Iterable[int], user) -> dict[int, list[dict]]:
    """Return ``{person id: [name variant, ...]}``: the variants ``user`` may see, in order.

    Variants ``user`` may not see are not even read (``cases.security.sensitive`` decides which).
    """
    rows = (
        PersonName.objects.filter(
            sensitive.visible_name_condition(user), person_id__in=list(person_ids)
        )
        .order_by("person_id", "id")
        .values_list("person_id", "value", "script", "romanisation", "is_pseudonym")
    )
    names: dict[int, list[dict]] = {}
    for person_id, value, script, romanisation, is_pseudonym in rows:
        names.setdefault(person_id, []).append(
            {
                "value": value,
                "script": script,
                "romanisation": romanisation,
                "is_pseudonym": is_pseudonym,
            }
        )
    return names


def api_case_detail() -> QuerySet[Case]:
    """Return cases with everything a case's page shows: intentions, requests, positions."""
    return api_cases().prefetch_related(
        Prefetch("intentions", queryset=selectors.intentions()),
        Prefetch("requests", queryset=selectors.requests()),
    )


#: What a case's detail reads beyond its list row: its key, and the Power its person
#: depends on (a default recipient of its notifications).
CASE_DETAIL_COLUMNS = (
    "id",
    "person__power_depends_on_id",
    "person__power_depends_on__uuid",
    "person__power_depends_on__name",
)
INTENTION_ROW_FIELDS = row_columns(INTENTION_ROW)
REQUEST_ROW_FIELDS = row_columns(REQUEST_ROW)
POSITION_ROW_FIELDS = row_columns(POSITION_ROW)


@dataclass
class CaseDetailRows:
    """One case's detail read as plain rows (:func:`api_case_detail_rows`)."""

    case: dict
    #: ``{person id: [name variant, ...]}``: the variants the reader may see.
    names: dict[int, list[dict]]
    intentions: list[dict]
    #: ``{statement id: [party row, ...]}``, each list in the parties' order.
    present_parties: dict[int, list[dict]]
    requests: list[dict]
    #: ``{request id: [position row, ...]}``, each list in the positions' order.
    positions: dict[int, list[dict]]
    recipients: list[PartyRef]


def _nested(
    rows: Iterable[dict], own: Iterable[str], relation: str, fields: Iterable[str]
) -> tuple[list[dict], dict[int, list[dict]]]:
    """Split rows joined to a multi-valued ``relation`` into their own rows, in order, and
    ``{own id: [related row, ...]}`` (without the relation's prefix), in order too."""
    own, fields = tuple(own), tuple(fields)
    parents: dict[int, dict] = {}
    children: dict[int, list[dict]] = {}
    for row in rows:
        pk = row["id"]
        if pk not in parents:
            parents[pk] = {name: row[name] for name in own}
        if row[f"{relation}__id"] is not None:
            children.setdefault(pk, []).append(
                {name: row[f"{relation}__{name}"] for name in fields}
            )
    return list(parents.values()), children


#: What a statement's row reads of each party present, and a request's of each position.
PRESENT_PARTY_FIELDS = ("id", "uuid", "name")
JOINED_POSITION_FIELDS = ("id", *POSITION_ROW_FIELDS)


def _case_row(value, user) -> QuerySet:
    return api_case_rows(
        Case.objects.filter(uuid=value), user, states=False, columns=CASE_DETAIL_COLUMNS
    )[:1]


def _intention_rows(case_id, _context) -> QuerySet:
    # In the model's order, then the parties present by name, as their prefetch reads them.
    return (
        StatedIntention.objects.filter(case_id=case_id)
        .order_by("stated_on", "id", "present_parties__name", "present_parties__id")
        .values(*INTENTION_ROW_FIELDS, *(f"present_parties__{n}" for n in PRESENT_PARTY_FIELDS))
    )


def _request_rows(case_id, _context) -> QuerySet:
    # In the model's order, then the positions in theirs.
    return (
        Request.objects.filter(case_id=case_id)
        .order_by("created_at", "id", "positions__stated_on", "positions__id")
        .values(*REQUEST_ROW_FIELDS, *(f"positions__{n}" for n in JOINED_POSITION_FIELDS))
    )


#: A uuid and an id that name no case: the compiled statements' placeholders.
_NO_UUID = uuid.UUID("00000000-0000-4000-8000-00000000dead")
_NO_ID = -1_000_001
CASE_ROW = CompiledRows(Case, Case._meta.get_field("uuid"), _NO_UUID, _case_row)
INTENTION_ROWS = CompiledRows(StatedIntention, Case._meta.pk, _NO_ID, _intention_rows)
REQUEST_ROWS = CompiledRows(Request, Case._meta.pk, _NO_ID, _request_rows)


def api_case_detail_rows(
    user, *, case_uuid=None, cases: QuerySet[Case] | None = None
) -> CaseDetailRows | None:
    """Return the detail of the case ``case_uuid``, or of the one ``cases`` holds, as plain rows.

    None when there is no such case. The case's row is the list's (:func:`api_case_rows`,
    names included on PostgreSQL); its statements are one query with the parties present
    joined in, its requests one with their positions joined in, and the notification
    recipients one or two (:func:`recipient_refs`). Rows, not model instances: the
    instances and the nested serializers of the statements, requests and positions cost
    more than the reads. The queries are compiled once (:mod:`cases.statements`), but
    for the case row of a filtered ``cases``.
    """
    if cases is not None:
        found = list(api_case_rows(cases, user, states=False, columns=CASE_DETAIL_COLUMNS)[:1])
    else:
        found = CASE_ROW.rows(case_uuid, sensitive.can_view_sensitive(user), user)
    if not found:
        return None
    case = found[0]
    names = api_case_page_names(found, user)
    intentions, present_parties = _nested(
        INTENTION_ROWS.rows(case["id"]),
        INTENTION_ROW_FIELDS,
        "present_parties",
        PRESENT_PARTY_FIELDS,
    )
    requests, positions = _nested(
        REQUEST_ROWS.rows(case["id"]),
        REQUEST_ROW_FIELDS,
        "positions",
        JOINED_POSITION_FIELDS,
    )
    power_id = case["person__power_depends_on_id"]
    power = (
        None
        if power_id is None
        else PartyRef(
            power_id, case["person__power_depends_on__uuid"], case["person__power_depends_on__name"]
        )
    )
    return CaseDetailRows(
        case=case,
        names=names,
        intentions=intentions,
        present_parties=present_parties,
        requests=requests,
        positions=positions,
        recipients=recipient_refs(case_id=case["id"], power=power),
    )


def count_state_of(queryset: QuerySet) -> str:
    """Return the state expression :func:`exact_count` keeps ``queryset``'s count under."""
    pks = queryset.order_by().values("pk")
    sql, _params = pks.query.get_compiler(using=queryset.db).as_sql()
    return count_state_sql(sql)


#: How long an exact count is kept; it is only ever read back for an identical data state.
COUNT_CACHE_SECONDS = 300


def exact_count(queryset: QuerySet, data_state: str | None = None) -> int:
    """Return ``queryset.count()``, exact, without counting again what nothing has changed.

    On PostgreSQL the count is kept in the cache under the query and the state of the case
    data it was taken in (``_DATA_STATE``: which event-writing transactions it saw). Two
    statements that see the same events see the same case data, so a count read back is the
    count a fresh query would return; a list paged through, or polled, while no case data is
    written counts once, whatever else commits meanwhile. Inside a transaction (which may
    hold its own uncommitted changes) and on SQLite it always counts.

    The state leaves out the events of kinds whose writes the count cannot see
    (:func:`count_state_sql`), so an officer's notes do not make a list count again.

    ``data_state`` is that of the statement the caller read its page in, when known (read
    with :func:`count_state_of`): then a count kept for it costs no query at all, and the
    count and the page agree exactly.
    """
    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return queryset.count()
    pks = queryset.order_by().values("pk")
    sql, params = pks.query.get_compiler(using=queryset.db).as_sql()
    settings_dict = connection.settings_dict
    query_key = repr(
        (settings_dict["HOST"], settings_dict["PORT"], settings_dict["NAME"], sql, params)
    )

    def cache_key(data_state: str) -> str:
        digest = hashlib.sha256(f"{query_key}|{data_state}".encode()).hexdigest()
        return f"exact-count:{digest}"

    state = count_state_sql(sql)
    with connection.cursor() as cursor:
        if data_state is None:
            cursor.execute(f"SELECT {state}")
            (data_state,) = cursor.fetchone()
        count = cache.get(cache_key(data_state))
        if count is None:
            # The state is read in the counting statement itself: it is the count's.
            cursor.execute(
                f"SELECT {state}, (SELECT count(*) FROM ({sql}) AS counted)",
                params,
            )
            data_state, count = cursor.fetchone()
            cache.set(cache_key(data_state), count, COUNT_CACHE_SECONDS)
    return count
