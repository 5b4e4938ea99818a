"""Admin screen of the access log: search it by user, channel, object and date; change nothing."""

import uuid

from django.contrib import admin
from django.utils.translation import gettext_lazy

from cases.admin.mixins import DeclaredLookupsMixin
from cases.models import AccessLogEntry


@admin.register(AccessLogEntry)
class AccessLogEntryAdmin(DeclaredLookupsMixin, admin.ModelAdmin):
    """Read-only: entries cannot be added, changed or deleted, here or anywhere."""

    list_display = [
        "at",
        "username",
        "token_label",
        "channel",
        "object_type",
        "object_uuid",
        "shown_fields",
        "path",
    ]
    list_filter = ["channel", "object_type", "at"]
    date_hierarchy = "at"
    search_fields = ["username", "token_label", "path"]
    search_help_text = (
        "A username, token label or path; or an object's uuid (or a response id) exactly."
    )
    list_select_related = False
    show_full_result_count = False  # a full count of a long log is slow and says little
    fields = [
        "at",
        "user",
        "username",
        "token_label",
        "channel",
        "path",
        "object_type",
        "object_uuid",
        "fields",
        "extra",
        "response_id",
    ]
    readonly_fields = fields
    actions = None

    @admin.display(description=gettext_lazy("fields"))
    def shown_fields(self, entry: AccessLogEntry) -> str:
        """Return the sensitive fields the response showed, comma-separated."""
        return ", ".join(entry.fields)

    def search_rows(self, request, queryset, search_term):
        """Match a uuid exactly against the object and the response; other text as usual."""
        term = search_term.strip()
        try:
            value = uuid.UUID(term)
        except ValueError:
            return super().search_rows(request, queryset, search_term)
        by_object = queryset.filter(object_uuid=value)
        return by_object | queryset.filter(response_id=value), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
