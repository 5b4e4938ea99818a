"""Application configuration for the project's admin site, and the cache table on migrate."""

from django.contrib.admin.apps import AdminConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_table(sender, using, verbosity=0, **kwargs):
    """Create the database cache's table (the API's rate-limit counters) if it is missing.

    Run after every ``migrate``, so a database that is migrated is ready to serve even where
    ``manage.py createcachetable`` (which ``make run``, ``make serve`` and ``make migrate``
    also run) was forgotten. It does nothing when the cache is not the database cache.
    """
    call_command("createcachetable", database=using, verbosity=0)


class TrackerAdminConfig(AdminConfig):
    """Use ``TrackerAdminSite`` as the default admin site (``admin.site``)."""

    default_site = "tracker.admin_site.TrackerAdminSite"

    def ready(self):
        """Connect the cache table's creation to ``migrate``."""
        super().ready()
        post_migrate.connect(create_cache_table, sender=self, dispatch_uid="tracker_cache_table")
