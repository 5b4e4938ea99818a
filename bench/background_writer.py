"""Commit one small write every ``--interval-ms`` until stopped: a case note through the services.

Usage (``bench/compare_bench.py --writer`` starts it)::

    DATABASE_URL=postgres://... .venv/bin/python bench/background_writer.py [--interval-ms 10]

Each note is ``services.note_add`` on one of the newest open cases in turn, so it changes
case data (a count kept for the old data no longer applies) and appends a ``note.added``
event to the change feed, in its own short transaction. On SIGTERM it prints how many
notes it committed and over how many seconds, then exits.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import _common  # noqa: F401  (sets up Django)

from cases import services  # noqa: E402
from cases.models import Case  # noqa: E402
from cases.services import Actor  # noqa: E402

stopping = False


def _stop(*_args) -> None:
    global stopping
    stopping = True


def main() -> int:
    """Write until SIGTERM, one note per interval; print the count."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval-ms", type=float, default=10.0)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    cases = list(
        Case.objects.filter(closed_at__isnull=True, archived_at__isnull=True).order_by("-pk")[:50]
    )
    if not cases:
        print("writer: no open case to write on", flush=True)
        return 1
    actor = Actor.system("benchmark writer")
    interval = args.interval_ms / 1000
    started = next_at = time.monotonic()
    written = 0
    print("writer: started", flush=True)
    while not stopping:
        services.note_add(
            actor=actor, case=cases[written % len(cases)], body=f"Benchmark note {written}"
        )
        written += 1
        next_at += interval
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        else:
            next_at = time.monotonic()  # behind: do not burst to catch up
    seconds = time.monotonic() - started
    print(f"writer: {written} notes in {seconds:.1f} s ({written / seconds:.0f}/s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
