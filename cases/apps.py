"""The cases application."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    """Cases, their people, intentions, requests and timeline."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"
    verbose_name = _("Cases")

    def ready(self):
        """Register the API's event representations; forget kept tokens when they change."""
        from cases.api.representations import register_all
        from cases.security import credentials

        register_all()
        credentials.connect_signals()
