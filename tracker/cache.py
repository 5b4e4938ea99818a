"""The database cache, with an increment that two server processes cannot interleave.

Django's ``DatabaseCache.incr`` is ``get`` then ``set``: two workers counting the same
rate-limit window at once can both read 7 and both write 8, losing a request. Here the
counter's row is read ``FOR UPDATE`` inside a transaction (on SQLite the transaction is
``BEGIN IMMEDIATE``, which takes the database's write lock first), so increments queue
behind each other and every request is counted. Redis's ``INCR`` is atomic by itself.
"""

from __future__ import annotations

import base64
import pickle

from django.core.cache.backends import db
from django.db import connections, router, transaction
from django.utils.timezone import now as tz_now


class DatabaseCache(db.DatabaseCache):
    """Django's database cache whose ``incr`` and ``decr`` lock the counter's row."""

    def incr(self, key, delta=1, version=None):
        """Add ``delta`` to the live value under ``key`` and return it; ValueError if none."""
        key = self.make_and_validate_key(key, version=version)
        alias = router.db_for_write(self.cache_model_class)
        connection = connections[alias]
        quote = connection.ops.quote_name
        table = quote(self._table)
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        now = connection.ops.adapt_datetimefield_value(tz_now().replace(microsecond=0))
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote('value')} FROM {table} WHERE {quote('cache_key')} = %s "
                f"AND {quote('expires')} >= %s{lock}",
                [key, now],
            )
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found.")
            value = pickle.loads(base64.b64decode(row[0].encode())) + delta
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            cursor.execute(
                f"UPDATE {table} SET {quote('value')} = %s WHERE {quote('cache_key')} = %s",
                [encoded, key],
            )
        return value

    def decr(self, key, delta=1, version=None):
        """Subtract ``delta`` from the live value under ``key`` and return it."""
        return self.incr(key, -delta, version=version)
