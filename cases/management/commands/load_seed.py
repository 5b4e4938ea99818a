"""Load the seed data (the public case of Ri and Baek) through the services."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cases.seed import DEFAULT_SEED_PATH, SeedError, load_seed


class Command(BaseCommand):
    """Load ``fixtures/seed.json`` (or ``--path``); a second load changes nothing."""

    help = (
        "Load the seed data through the services, in one transaction. Whatever is already "
        "present (parties by name, sources by title, publisher and date, cases by reference) "
        "is skipped, so loading twice changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--path",
            default=str(DEFAULT_SEED_PATH),
            help="Seed file to load (default: %(default)s).",
        )

    def handle(self, *args, path, **options):
        try:
            result = load_seed(path)
        except SeedError as exc:
            raise CommandError(str(exc)) from exc
        except ValidationError as exc:
            # Nothing was written: the load is one transaction.
            raise CommandError(
                f"The seed data in {path} is invalid, nothing loaded: {exc}"
            ) from exc
        if result.already_present:
            self.stdout.write(f"The seed data from {path} is already present; nothing loaded.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Loaded the seed data from {path}: {result.summary()}.")
        )
        if result.skipped:
            self.stdout.write("Already present, skipped: " + "; ".join(result.skipped) + ".")
