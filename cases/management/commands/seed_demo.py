"""Generate a large, reproducible demo data set: ``manage.py seed_demo --cases N --seed S``."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from cases.demo import DemoDataExists, generate


class Command(BaseCommand):
    help = (
        "Generate N realistic demo cases (persons with their identity documents, "
        "identifiers and nationality claims, intentions, requests, positions, occurrences, "
        "places, movements, capture cards, notifications, notes and their timeline), "
        "written in bulk. The same seed gives the "
        "same data. Demo references look like UA-2025-900001; seed cases are never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cases", type=int, required=True, help="How many cases to add.")
        parser.add_argument("--seed", type=int, default=1, help="Random seed (default 1).")
        parser.add_argument(
            "--append",
            action="store_true",
            help="Add to existing demo cases with fresh references instead of refusing.",
        )
        parser.add_argument(
            "--batch",
            type=int,
            default=2000,
            help="Cases per transaction (default 2000).",
        )
        parser.add_argument(
            "--progress",
            type=int,
            default=10000,
            help="Print progress every N cases (default 10000).",
        )

    def handle(self, *args, cases, seed, append, batch, progress, **options):
        if cases < 1:
            raise CommandError("--cases must be at least 1.")
        if batch < 1 or progress < 1:
            raise CommandError("--batch and --progress must be at least 1.")
        try:
            counts, _ = generate(
                cases=cases,
                seed=seed,
                append=append,
                batch=batch,
                progress_every=progress,
                report=self.stdout.write,
            )
        except DemoDataExists as exc:
            raise CommandError(str(exc)) from exc
        if connection.vendor == "postgresql":
            # A bulk load leaves the planner's statistics behind; without autovacuum every
            # query would be planned on an empty table's until someone ran ANALYZE.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(self.style.SUCCESS(f"Done: {counts.line()}"))
