"""Time the API case list (50 a page) against its floor: one hand-written query and json.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/api_bench.py [--runs 30] [--reader integration|sensitive|superuser]
        [--no-count-cache]

The reader calls with an API token (``Authorization: Token KEY``), as another system does:
by default a user in the ``integration`` role (reads everything, no sensitive values);
``sensitive`` is a case officer (sees sensitive values, so each list that shows one also
appends to the access log); ``superuser`` holds every permission. ``--no-count-cache``
empties the cache before each request, so every page counts its matches afresh (what a
list costs when something was committed since the same count was last taken).

For each scenario (no filter, every documented case filter alone, a realistic combination)
the script times ``GET /api/v1/cases/?...`` through DRF's test client in this process
(authentication, filtering, the paginator's count, serialisation and JSON rendering; no
HTTP server), then the **floor**: the same page's rows fetched by one hand-written SQL query
through psycopg and serialised with the standard ``json`` module, in the same run. The floor
has no count: the ratio therefore also shows what the page count costs. Filter values are
taken from the data (the most common ones), so the selectivity is realistic.

A last table times conditional GETs: a few lists without ``If-None-Match`` (200) and with
the ``ETag`` of the answer before (304, decided before any list query).
"""

from __future__ import annotations

import argparse
import sys

import _common  # noqa: F401  (sets up Django)
import psycopg  # noqa: E402
from _common import allow_test_client, database_label, measure, print_table, summary
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from bench.floor import floor_page  # noqa: E402
from cases.api.selectors import OPEN_REQUEST_STATUSES  # noqa: E402
from cases.names import search_variants  # noqa: E402
from cases.security import access  # noqa: E402
from cases.security.tokens import ApiToken  # noqa: E402

#: Readers the bench can call as: the role a token's user holds (None: a superuser).
READERS = {"integration": "integration", "sensitive": "case officer", "superuser": None}
#: The other lists, timed without a floor (first page, no filter).
OTHER_LISTS = ("persons", "intentions", "requests", "parties", "sources")

LIST = "/api/v1/cases/"
#: Readers who see only pseudonymous name variants, as the floor then shows them.
PSEUDONYMS_ONLY = {"integration"}


def _common_value(conn: psycopg.Connection, sql: str):
    row = conn.execute(sql).fetchone()
    return row[0] if row else None


def scenarios(conn: psycopg.Connection) -> list[tuple[str, dict, str, str, dict]]:
    """Return (label, API parameters, floor WHERE, floor ORDER BY, floor parameters)."""

    def top(column: str, table: str = "cases_case", where: str = "true"):
        return _common_value(
            conn,
            f"SELECT {column} FROM {table} WHERE {where} GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        )

    status = top("status") or "interned"
    legal = top("legal_status") or "pow"
    party_id = top("detaining_party_id")
    party_uuid = _common_value(conn, f"SELECT uuid FROM cases_party WHERE id = {party_id or 0}")
    ukraine = _common_value(conn, "SELECT id FROM cases_party WHERE name = 'Ukraine'")
    nationality = "KP"
    # The commonest code too: a filter's cost must follow the page, not its matches.
    common_nationality = (
        _common_value(
            conn,
            "SELECT code FROM cases_person, unnest(string_to_array(nationalities, ',')) AS code "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
        )
        or "RU"
    )
    option = top("current_intention_option", where="current_intention_option <> ''")
    destination = top("current_intention_destination", where="current_intention_destination <> ''")
    kind = top("kind", "cases_request") or "exchange_inclusion"
    req_status = top("status", "cases_request") or "executed"
    by_ref = "c.reference"
    items = [
        ("no filter", {}, "true", by_ref, {}),
        ("status", {"status": status}, "c.status = %(v)s", by_ref, {"v": status}),
        ("legal_status", {"legal_status": legal}, "c.legal_status = %(v)s", by_ref, {"v": legal}),
        (
            "nationality=KP",
            {"nationality": nationality},
            "p.nationalities LIKE %(v)s",
            by_ref,
            {"v": f"%{nationality}%"},
        ),
        (
            f"nationality={common_nationality} (commonest)",
            {"nationality": common_nationality},
            "p.nationalities LIKE %(v)s",
            by_ref,
            {"v": f"%{common_nationality}%"},
        ),
        (
            "current_intention",
            {"current_intention": option},
            "c.current_intention_option = %(v)s",
            by_ref,
            {"v": option},
        ),
        (
            "intention_verified=true",
            {"intention_verified": "true"},
            "c.current_intention_verified",
            by_ref,
            {},
        ),
        (
            "destination_country",
            {"destination_country": destination},
            "c.current_intention_destination = %(v)s",
            by_ref,
            {"v": destination},
        ),
        (
            "request_kind",
            {"request_kind": kind},
            "EXISTS (SELECT 1 FROM cases_request r WHERE r.case_id = c.id AND r.kind = %(v)s)",
            by_ref,
            {"v": kind},
        ),
        (
            "request_status",
            {"request_status": req_status},
            "EXISTS (SELECT 1 FROM cases_request r WHERE r.case_id = c.id AND r.status = %(v)s)",
            by_ref,
            {"v": req_status},
        ),
        (
            "captured_after+before",
            {"captured_after": "2023-01-01", "captured_before": "2023-12-31"},
            "c.capture_date BETWEEN '2023-01-01' AND '2023-12-31'",
            by_ref,
            {},
        ),
        (
            "updated_after",
            {"updated_after": "2000-01-01T00:00:00Z"},
            "c.updated_at >= '2000-01-01T00:00:00Z'",
            by_ref,
            {},
        ),
        (
            "ordering=-updated_at",
            {"ordering": "-updated_at"},
            "true",
            "c.updated_at DESC, c.id DESC",
            {},
        ),
    ]
    if party_uuid:
        items.insert(
            3,
            (
                "detaining_party",
                {"detaining_party": str(party_uuid)},
                "c.detaining_party_id = %(v)s",
                by_ref,
                {"v": party_id},
            ),
        )
    variants = sorted(search_variants("Lee"))
    items.append(
        (
            "q=Lee (name search)",
            {"q": "Lee"},
            "(c.reference ILIKE '%%Lee%%' OR p.working_name ILIKE '%%Lee%%' OR EXISTS ("
            "SELECT 1 FROM cases_personname n WHERE n.person_id = p.id "
            "AND n.search_key LIKE ANY(%(v)s)))",
            by_ref,
            {"v": [f"%{v}%" for v in variants]},
        )
    )
    combo = {
        "current_intention": "third_state",
        "intention_verified": "false",
        "request_kind": "third_state_transfer",
        "request_status": ",".join(OPEN_REQUEST_STATUSES),
    }
    combo_where = (
        "c.current_intention_option = 'third_state' AND NOT c.current_intention_verified "
        "AND EXISTS (SELECT 1 FROM cases_request r WHERE r.case_id = c.id "
        "AND r.kind = 'third_state_transfer' AND r.status = ANY(%(open)s))"
    )
    if ukraine:
        combo["detaining_party"] = str(
            _common_value(conn, f"SELECT uuid FROM cases_party WHERE id = {ukraine}")
        )
        combo_where = f"c.detaining_party_id = {int(ukraine)} AND " + combo_where
    items.append(("combination (Ukraine, third state, open)", combo, combo_where, by_ref, {}))
    return items


def connect() -> psycopg.Connection:
    """Open a psycopg connection to the database Django uses."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )


def token_client(reader: str) -> APIClient:
    """Return a client calling with a fresh API token of the bench's user for ``reader``."""
    role = READERS[reader]
    user, _ = get_user_model().objects.get_or_create(username=f"perf-bench-{reader}")
    user.is_superuser = role is None
    user.save(update_fields=["is_superuser"])
    access.ensure_roles()
    user.groups.set([] if role is None else [Group.objects.get(name=role)])
    ApiToken.objects.filter(user=user, name="api_bench").delete()
    _token, key = ApiToken.issue(user=user, name="api_bench", read_only=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def queries_of(api: APIClient, path: str, params: dict, *, empty_cache: bool) -> int:
    """Return the number of queries one request makes (after emptying the cache if asked)."""
    if empty_cache:
        cache.clear()
    with CaptureQueriesContext(connection) as captured:
        reply = api.get(path, params)
    assert reply.status_code == 200, reply.status_code
    return len(captured)


def main() -> int:
    """Run every scenario, API then floor, and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per scenario")
    parser.add_argument(
        "--reader", choices=sorted(READERS), default="integration", help="who calls the API"
    )
    parser.add_argument(
        "--no-count-cache",
        action="store_true",
        help="empty the cache before each request: every count is taken afresh",
    )
    args = parser.parse_args()
    _common.require_postgresql()
    allow_test_client()

    api = token_client(args.reader)
    conn = connect()
    print(database_label())
    print(
        f"reader: {args.reader} (API token), count cache: "
        f"{'emptied before each request' if args.no_count_cache else 'on'}"
    )
    rows = []
    served_by = set()
    for label, params, where, order, floor_params in scenarios(conn):
        response = api.get(LIST, params)
        if response.status_code != 200:
            print(f"{label}: HTTP {response.status_code} {response.content[:300]!r}")
            return 1
        total = response.json()["count"]
        # A read of case data served by a replica says how far behind it was.
        served_by.add("the replica" if response.has_header("Replica-Lag") else "the primary")

        def call_api(params=params):
            if args.no_count_cache:
                cache.clear()
            reply = api.get(LIST, params)
            assert reply.status_code == 200, reply.status_code

        queries = queries_of(api, LIST, params, empty_cache=args.no_count_cache)
        api_ms = summary(measure(call_api, args.runs))
        floor_ms = summary(
            measure(
                lambda w=where, o=order, p=floor_params: floor_page(
                    conn, w, o, p, pseudonyms_only=args.reader in PSEUDONYMS_ONLY
                ),
                args.runs,
            )
        )
        rows.append(
            [
                label,
                total,
                api_ms[0],
                api_ms[1],
                floor_ms[0],
                floor_ms[1],
                f"{api_ms[1] / floor_ms[1]:.1f}x" if floor_ms[1] else "-",
                queries,
                api_ms[2],
            ]
        )
    print(f"case lists read from: {' and '.join(sorted(served_by))}")
    print_table(
        [
            "API case list (50/page)",
            "matches",
            "API median ms",
            "API p95 ms",
            "floor median ms",
            "floor p95 ms",
            "p95 ratio",
            "queries",
            "n",
        ],
        rows,
    )
    others = []
    for name in OTHER_LISTS:
        path = f"/api/v1/{name}/"

        def call_list(path=path):
            if args.no_count_cache:
                cache.clear()
            reply = api.get(path)
            assert reply.status_code == 200, reply.status_code

        queries = queries_of(api, path, {}, empty_cache=args.no_count_cache)
        total = api.get(path).json()["count"]
        list_ms = summary(measure(call_list, args.runs))
        others.append([f"{name} (50/page)", total, list_ms[0], list_ms[1], queries, list_ms[2]])
    print()
    print_table(["other lists", "rows", "median ms", "p95 ms", "queries", "n"], others)
    print()
    print_table(
        [
            "conditional GET (If-None-Match)",
            "200 median ms",
            "304 median ms",
            "200 p95 ms",
            "304 p95 ms",
            "queries 200 / 304",
            "n",
        ],
        conditional_rows(api, args),
    )
    return 0


#: Lists timed as a poller repeats them: without If-None-Match (200) and with the ETag of
#: the answer before (304, decided before the page is read).
CONDITIONAL = (
    ("cases, no filter", LIST, {}),
    ("cases, nationality=RU", LIST, {"nationality": "RU"}),
    ("cases, q=Lee", LIST, {"q": "Lee"}),
    ("persons", "/api/v1/persons/", {}),
    ("intentions", "/api/v1/intentions/", {}),
)


def executed(action) -> int:
    """Return the number of statements ``action`` sends to the database."""
    statements = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        action()
    return len(statements)


def conditional_rows(api: APIClient, args) -> list[list[object]]:
    """Time each list of :data:`CONDITIONAL` answering 200, then 304 to its own ETag."""
    rows = []
    for label, path, params in CONDITIONAL:
        etag = api.get(path, params)["ETag"]

        def full(path=path, params=params):
            if args.no_count_cache:
                cache.clear()
            reply = api.get(path, params)
            assert reply.status_code == 200, reply.status_code

        def revalidate(path=path, params=params, etag=etag):
            reply = api.get(path, params, HTTP_IF_NONE_MATCH=etag)
            assert reply.status_code == 304, reply.status_code

        queries_full, queries_304 = executed(full), executed(revalidate)
        full_ms = summary(measure(full, args.runs))
        not_modified_ms = summary(measure(revalidate, args.runs))
        rows.append(
            [
                label,
                full_ms[0],
                not_modified_ms[0],
                full_ms[1],
                not_modified_ms[1],
                f"{queries_full} / {queries_304}",
                full_ms[2],
            ]
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
