"""The cases application."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Cases, their people, intentions, requests and timeline."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"

    def ready(self):
        # Token admin lives apart from cases/admin.py; importing registers it.
        from cases import admin_tokens  # noqa: F401
