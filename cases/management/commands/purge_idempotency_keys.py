"""Delete the kept answers of Idempotency-Key writes whose time to live has passed."""

from django.core.management.base import BaseCommand

from cases.api.idempotency import purge_expired


class Command(BaseCommand):
    """Delete expired idempotency keys and their kept answers (they may name people)."""

    help = (
        "Delete every Idempotency-Key record older than its time to live "
        "(DJANGO_IDEMPOTENCY_TTL_HOURS, default 24). Keyed writes delete expired records "
        "too; run this from cron so that none outlives its time when no writes come."
    )

    def handle(self, *args, **options):
        deleted = purge_expired()
        self.stdout.write(f"Deleted {deleted} expired idempotency key(s).")
