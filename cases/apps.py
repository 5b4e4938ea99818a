"""The cases application."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Cases, their people, intentions, requests and timeline."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"

    def ready(self):
        # The token admin, the access log's read-only screen and the webhooks' admin live
        # apart from cases/admin.py; importing them registers them.
        from cases import admin_access, admin_tokens  # noqa: F401
        from cases.webhooks import admin as webhooks_admin  # noqa: F401
