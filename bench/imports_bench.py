"""Import of a generated exchange list: the dry run, the commit, and a second dry run.

Generates a list of ``--rows`` rows (``cases.imports.samples``: Latin, Hangul and Cyrillic
names, repeated persons, bad dates, blank lines), uploads it, and times the dry run (which
runs the duplicate check on every new person against the whole database), the commit (one
transaction through the services) and the dry run of a later export of the same list (its
keyed rows now match). Target: each under 30 s for 5,000 rows. The ICRC numbers carry a
fresh prefix per run, so the script can run again on the same database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench \
      .venv/bin/python bench/imports_bench.py --rows 5000
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

import _common  # noqa: F401  (sets Django up)

from cases.imports import samples, services
from cases.models import Person, TimelineEvent
from cases.services import Actor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="rows of the generated list")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    _common.require_postgresql()
    print(_common.database_label() + f", {Person.objects.count():,} persons before")
    prefix = f"CTA-B{uuid.uuid4().hex[:8]}"
    content = samples.exchange_list(args.rows, seed=args.seed, icrc_prefix=prefix)
    actor = Actor.system("imports_bench")
    timings = []

    started = time.perf_counter()
    run = services.import_upload(
        user=None, file_name=f"{prefix}.csv", content=content, columns=samples.COLUMNS
    )
    timings.append(["upload (read and check the file)", time.perf_counter() - started])

    started = time.perf_counter()
    run = services.import_dry_run(user=None, run=run)
    timings.append(["dry run", time.perf_counter() - started])
    counts = run.report["counts"]

    events = TimelineEvent.objects.count()
    started = time.perf_counter()
    run = services.import_commit(actor=actor, run=run, skip_rejected=True)
    timings.append(["commit", time.perf_counter() - started])
    written = TimelineEvent.objects.count() - events

    started = time.perf_counter()
    again = services.import_upload(
        user=None,
        file_name=f"{prefix}-again.csv",
        content=content + b"\r\n",
        columns=samples.COLUMNS,
    )
    again = services.import_dry_run(user=None, run=again)
    timings.append(["upload and dry run of a later export", time.perf_counter() - started])

    print(
        f"{args.rows:,} rows: {counts['create']:,} create, {counts['match']:,} match, "
        f"{counts['conflict']:,} conflict, {counts['error']:,} error, {counts['blank']:,} blank; "
        f"commit appended {written:,} events; the later export matches "
        f"{again.report['counts']['match']:,} rows"
    )
    _common.print_table(
        ["step", "seconds", "rows per second"],
        [[label, round(seconds, 2), round(args.rows / seconds)] for label, seconds in timings],
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
