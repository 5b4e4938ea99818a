"""Application configuration for the project's admin site."""

from django.contrib.admin.apps import AdminConfig


class TrackerAdminConfig(AdminConfig):
    """Use ``TrackerAdminSite`` as the default admin site (``admin.site``)."""

    default_site = "tracker.admin_site.TrackerAdminSite"
