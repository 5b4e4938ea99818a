"""Time writes through the API: recording an intention and moving a request one status on.

Usage::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_perf \\
        .venv/bin/python bench/writes_bench.py [--runs 40]

Each write goes through DRF's test client in this process and so through the real view,
validation, the service (row lock, version check, one timeline event) and the response's
re-read. A request is moved with ``If-Match`` set to the ETag of the previous answer, as a
client holding the current version would send it. It writes real rows: run it on a
throwaway benchmark database only. The cases written to are the newest open cases.
"""

from __future__ import annotations

import argparse
import itertools
import sys

import _common  # noqa: F401  (sets up Django)
from _common import allow_test_client, database_label, measure, print_table, summary
from django.contrib.auth import get_user_model  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from cases.models import Case, Party  # noqa: E402

#: Statuses a request moves through, each step allowed by cases/transitions.py.
STEPS = ["acknowledged", "under_review", "accepted", "scheduled"]


def main() -> int:
    """Record intentions, file requests and move them on; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed writes of each kind")
    args = parser.parse_args()
    _common.require_postgresql()
    allow_test_client()

    user, _ = get_user_model().objects.get_or_create(
        username="perf-bench", defaults={"is_staff": True, "is_superuser": True}
    )
    api = APIClient()
    api.force_authenticate(user)
    party = Party.objects.order_by("pk").first()
    needed = args.runs + 1 + (args.runs // len(STEPS) + 2)
    case_uuids = [
        str(u)
        for u in Case.objects.filter(closed_at__isnull=True)
        .order_by("-pk")
        .values_list("uuid", flat=True)[:needed]
    ]
    if party is None or len(case_uuids) < 2:
        print("Not enough data: seed the database first (manage.py seed_demo).")
        return 1
    cases = itertools.cycle(case_uuids)
    print(database_label())

    def record_intention():
        reply = api.post(
            "/api/v1/intentions/",
            {
                "case": next(cases),
                "option": "third_state",
                "destination_country": "KR",
                "stated_on": "2025-03-01",
                "setting": "legislator_interview",
                "verification": "stated",
                "reason": "benchmark",
            },
            format="json",
        )
        assert reply.status_code == 201, reply.content[:300]

    moves = _request_moves(api, cases, party)

    def move_request():
        row, status = next(moves)
        reply = api.post(
            f"/api/v1/requests/{row['uuid']}/transition/",
            {"status": status, "reason": "benchmark"},
            format="json",
            headers={"If-Match": row["etag"]},
        )
        assert reply.status_code == 200, reply.content[:300]
        # The next move is based on the version this answer returned, as a client's would be.
        row["etag"] = reply["ETag"]

    rows = []
    for label, action in [
        ("record an intention (POST intentions/)", record_intention),
        ("move a request (POST requests/{uuid}/transition/)", move_request),
    ]:
        median, p95, n = summary(measure(action, args.runs))
        rows.append([label, median, p95, n])
    print_table(["write through the API", "median ms", "p95 ms", "n"], rows)
    return 0


def _request_moves(api: APIClient, cases, party: Party):
    """Yield (request, next status) forever, filing a new request when one is done.

    The request is a dictionary with its ``uuid`` and the ``etag`` of the version last read;
    the caller updates the ETag from each answer and sends it as ``If-Match``.
    """
    while True:
        reply = api.post(
            "/api/v1/requests/",
            {
                "case": next(cases),
                "kind": "medical_treatment",
                "addressed_to": str(party.uuid),
                "reason": "benchmark",
            },
            format="json",
        )
        assert reply.status_code == 201, reply.content[:300]
        row = {"uuid": reply.json()["uuid"], "etag": reply["ETag"]}
        for status in STEPS:
            yield row, status


if __name__ == "__main__":
    sys.exit(main())
