"""The cases application."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Cases, their people, intentions, requests and timeline."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"

    def ready(self):
        """Register how the API represents each subject on its events."""
        from cases.api.representations import register_all

        register_all()
