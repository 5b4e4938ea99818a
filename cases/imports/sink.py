"""The sink an import's commit writes its new persons through: the bulk sink, validating.

The services build every row and event as they always do; this sink keeps the new persons,
their name variants, their ICRC numbers and their events in memory and inserts them a batch
at a time (``flush``), chained and numbered exactly as the row sink would have. Unlike the
demo generator's bulk sink it validates each row (field by field; uniqueness is the
database's, checked at the insert) and draws random UUIDs. Only rows new in this import go
through it: a matched person is updated through the row sink.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone
from django_countries.fields import CountryField

from cases.timeline.sinks import BulkSink, IdAllocator


class ImportSink(BulkSink):
    """A bulk sink for new rows that runs each model's field validation."""

    def __init__(self):
        super().__init__(IdAllocator())
        # Random, not reproducible: these are real records, not demo data.
        self.rng = random.Random(secrets.randbits(128))
        self.at = timezone.now()

    def validate(self, row, *, exclude: Iterable[str] | None = None) -> None:
        """Run the model's field and ``clean`` validation; relations and uniqueness are the
        database's (they would cost a query per row, and the insert checks them anyway)."""
        skipped = [
            f.name
            for f in type(row)._meta.concrete_fields
            # Country codes were checked against the same list when the file was read; the
            # field's own check rebuilds that list for every row.
            if f.is_relation or isinstance(f, CountryField)
        ]
        row.full_clean(
            exclude=[*(exclude or ()), *skipped],
            validate_unique=False,
            validate_constraints=False,
        )

    def flush(self) -> int:
        """Insert what is kept; a refused row raises Django's ``IntegrityError`` however it
        was inserted (COPY on PostgreSQL raises psycopg's own otherwise)."""
        with connection.wrap_database_errors:
            return super().flush()
