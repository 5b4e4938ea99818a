"""Check every hash chain of the timeline and name the first broken link."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Max
from django.db.models.functions import Coalesce

from cases.models import Case, TimelineEvent
from cases.timeline import chain as timeline_chain


class Command(BaseCommand):
    """Recompute every event's hash and link; exit non-zero when a chain is broken."""

    help = (
        "Check the timeline's hash chains (one per case, one per person for events without "
        "a case, one global chain for the rest): every event's hash must match its content "
        "and its predecessor's hash, and every case's events must run 1..last_event_seq "
        "without a gap. Print the first broken link of each broken chain (case reference, "
        "case_seq, event uuid) and exit with status 1; print a summary and exit 0 otherwise."
    )

    def handle(self, *args, **options):
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost and connection.vendor == "postgresql":
                # One snapshot for every query, so that writers committing meanwhile cannot
                # make a consistent timeline look broken.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            events, chains, broken = timeline_chain.verify(
                timeline_chain.ordered_rows(TimelineEvent.objects.all())
            )
            cut_short = list(
                Case.objects.annotate(top=Coalesce(Max("events__case_seq"), 0))
                .exclude(last_event_seq=Coalesce(Max("events__case_seq"), 0))
                .order_by("reference")
                .values_list("reference", "last_event_seq", "top")
            )
        problems = [link.describe() for link in broken]
        problems += [
            f"case {reference}: its timeline ends at case_seq {top} but the case counts "
            f"{last} events (events at the end are missing)"
            for reference, last, top in cut_short
        ]
        if problems:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(
                f"The timeline is broken: {len(problems)} chain(s) fail the check. "
                f"First broken link: {problems[0]}"
            )
        self.stdout.write(
            self.style.SUCCESS(f"The timeline verifies: {events} events in {chains} chains.")
        )
