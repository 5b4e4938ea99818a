"""The run: many stories, a batch of cases per transaction, through the bulk sink."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from cases.demo.story import Call, CaseStory, ServiceCalls, build_world
from cases.demo.tables import DEMO_REFERENCE_REGEX
from cases.models import Case
from cases.timeline.sinks import BulkSink, IdAllocator


class DemoDataExists(Exception):
    """Demo cases are already present and appending was not asked for."""


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Counts reported while generating."""

    cases: int = 0
    events: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        """Return the counts and rates so far as one line."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"{self.cases} cases, {self.events} events in {elapsed:.1f} s "
            f"({self.cases / elapsed:.0f} cases/s, {self.events / elapsed:.0f} events/s)"
        )


def demo_references():
    """Return the queryset of cases whose reference lies in the demo block."""
    return Case.objects.filter(reference__regex=DEMO_REFERENCE_REGEX)


def generate(
    *,
    cases: int,
    seed: int = 1,
    append: bool = False,
    batch: int = 2000,
    progress_every: int = 10000,
    report: Callable[[str], None] | None = None,
    record: bool = False,
) -> tuple[Progress, list[Call] | None]:
    """Generate ``cases`` demo cases; return the counts and, with ``record``, every call made.

    Refuse (``DemoDataExists``) when demo cases exist, unless ``append`` is set; appended
    cases continue the demo numbering and draw from fresh random streams.
    """
    existing = list(demo_references().values_list("reference", flat=True))
    if existing and not append:
        raise DemoDataExists(
            f"{len(existing)} demo cases already exist (for example {min(existing)}). "
            "Use --append to add more with fresh references, or use an empty database."
        )
    counters: dict[tuple[str, int], int] = defaultdict(int)
    for reference in existing:
        country, year, serial = reference.split("-")
        key = (country, int(year))
        counters[key] = max(counters[key], int(serial[1:]))
    first_index = len(existing)

    def next_reference(country: str, year: int) -> str:
        counters[(country, year)] += 1
        return f"{country}-{year}-9{counters[(country, year)]:05d}"

    ids = IdAllocator()
    writer = ServiceCalls(BulkSink(ids), record=record)
    progress = Progress()
    with transaction.atomic():
        ids.reset()
        world = build_world(writer, seed)
        writer.flush()
    done = 0
    next_report = progress_every
    while done < cases:
        size = min(batch, cases - done)
        with transaction.atomic():
            ids.reset()
            for offset in range(size):
                index = first_index + done + offset
                rng = random.Random(f"seed_demo:{seed}:{index}")
                writer.rng = rng
                CaseStory(writer, world, rng, next_reference).run()
            progress.events += writer.flush()
        done += size
        progress.cases = done
        if report and (done >= next_report or done == cases):
            report(progress.line())
            while next_report <= done:
                next_report += progress_every
    return progress, writer.calls
