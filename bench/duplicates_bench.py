"""The duplicate check: how long one check takes against every person in the database.

Checks candidates drawn from the stored persons (their working name, a name variant, birth
date, unit and service number: each finds at least itself's twin), candidates that find
nobody, and the same checks as a reader without sensitive values (fewer lookups). Prints the
median and p95 per scenario, the median CPU time of this process per check (the Python
side, which a busy machine's run queue does not inflate as it does the wall time), and how
many persons the blocking lookups read per check.
Seed the database first (``bench/run_all.py --cases 100000`` seeds 100,000 persons).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench \
      .venv/bin/python bench/duplicates_bench.py --runs 30
"""

from __future__ import annotations

import argparse
import random
import sys
import time

import _common  # noqa: F401  (sets Django up)
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from cases.duplicates import detection
from cases.duplicates.detection import Candidate
from cases.models import Person


def candidates(sample: int, seed: int) -> list[Candidate]:
    """Return candidates made from ``sample`` stored persons, as a second entry would be."""
    rng = random.Random(seed)
    ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
    chosen = rng.sample(ids, min(sample, len(ids)))
    found = []
    for person in Person.objects.filter(pk__in=chosen).prefetch_related("names"):
        names = [n.value for n in person.names.all()]
        found.append(
            Candidate(
                working_name=names[0] if names else person.working_name,
                names=names[1:2],
                birth_date=person.birth_date,
                birth_date_precision=person.birth_date_precision,
                unit=person.unit,
                service_number=person.service_number,
            )
        )
    return found


def reader():
    """Return an analyst (no sensitive values), created once."""
    user, _ = get_user_model().objects.get_or_create(username="bench-duplicates-analyst")
    group = Group.objects.filter(name="analyst").first()
    if group is not None:
        user.groups.add(group)
    return get_user_model().objects.get(pk=user.pk)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="checks timed per scenario")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    persons = Person.objects.count()
    print(_common.database_label() + f", {persons:,} persons")
    if persons == 0:
        print("No persons: seed the database first (bench/run_all.py).")
        return 1
    twins = candidates(args.runs, args.seed)
    misses = [
        Candidate(working_name="Zzyzx Qwv " + "abcdefghijklmnopqrstuvwxyz"[i % 26])
        for i in range(args.runs)
    ]
    analyst = reader()
    rows = []
    for label, pool, user in (
        ("a stored person's details (system)", twins, None),
        ("a stored person's details (analyst)", twins, analyst),
        ("an unknown name (system)", misses, None),
    ):
        detection.find_duplicates(pool[0], user=user)  # warm-up
        durations, cpu, blocked, offered = [], [], [], []
        for candidate in pool:
            started, started_cpu = time.perf_counter(), time.process_time()
            found = detection.find_duplicates(candidate, user=user)
            durations.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            offered.append(len(found))
            keys = detection.spelling_keys(candidate.spellings())
            blocked.append(len(detection._blocks(candidate, keys, user is None)))
        median, p95, n = _common.summary(durations)
        cpu_median = _common.summary(cpu)[0]
        rows.append([label, n, median, p95, cpu_median, max(blocked), sum(offered) / len(offered)])
    _common.print_table(
        [
            "check",
            "runs",
            "median ms",
            "p95 ms",
            "median CPU ms",
            "max persons blocked",
            "offered per check",
        ],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
