"""Run a webhook delivery worker in the foreground until SIGTERM or SIGINT."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from cases.webhooks.engine import Worker


class Command(BaseCommand):
    """Deliver the change feed to every webhook subscription; run as many as needed."""

    help = (
        "Push the change feed to webhook subscriptions (docs/webhooks.md). Runs in the "
        "foreground; start several, on one machine or many: they share the subscriptions by "
        "leases. SIGTERM or SIGINT stops it after the delivery in progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", default=None, help="Worker name in leases and the log.")
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help="Subscriptions delivered to at once (default: DJANGO_WEBHOOK_THREADS).",
        )
        parser.add_argument(
            "--max-seconds",
            type=float,
            default=None,
            help="Stop after this long (for tests and benchmarks); default: run until stopped.",
        )

    def handle(self, *args, name, threads, max_seconds, **options):
        stop = threading.Event()

        def request_stop(signum, frame):
            stop.set()

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        worker = Worker(
            name, stop=stop, threads=threads if threads is not None else settings.WEBHOOK_THREADS
        )
        self.stdout.write(f"Webhook worker {worker.name} delivering; SIGTERM stops it.")
        self.stdout.flush()
        worker.run(max_seconds=max_seconds)
        self.stdout.write(f"Webhook worker {worker.name} stopped.")
