"""The timeline's events, to read: nothing is added, changed or deleted here."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy

from cases.admin.mixins import (
    DeclaredLookupsMixin,
    SensitiveAdminMixin,
    TimelineChangeLogMixin,
)
from cases.models import (
    TimelineEvent,
)
from cases.security import sensitive
from cases.timeline import presenter


@admin.register(TimelineEvent)
class TimelineEventAdmin(
    DeclaredLookupsMixin, TimelineChangeLogMixin, SensitiveAdminMixin, admin.ModelAdmin
):
    """The append-only history, to read: nothing is added, changed or deleted here.

    Without the permission, sensitive values in an event's changes, a note's text in its
    summary and the stored representation of its subject are withheld, and events whose
    summary repeats a note are not searched.
    """

    list_display = ("recorded_at", "case", "kind", "summary", "actor_label", "channel")
    list_filter = ("kind", "channel")
    list_select_related = ("case",)
    search_fields = ("summary",)
    date_hierarchy = "recorded_at"
    # The stored object is the subject unredacted: readers without the permission get it
    # redacted from the API's feed, not here.
    sensitive_form_fields = ("summary", "changes", "object")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and not obj._sensitive_allowed:
            # The page's title and breadcrumbs name the event; str() would repeat a note.
            extra_context = {**(extra_context or {}), "subtitle": f"{obj.kind}: "}
            extra_context["subtitle"] += self._shown(obj)["summary"]
        return super().change_view(request, object_id, form_url, extra_context)

    def get_list_display(self, request):
        if sensitive.can_view_sensitive(request.user):
            return self.list_display
        return tuple("shown_summary" if n == "summary" else n for n in self.list_display)

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "shown_summary", "shown_changes")

    def search_rows(self, request, queryset, search_term):
        results, may_have_duplicates = super().search_rows(request, queryset, search_term)
        if search_term.strip() and not sensitive.can_view_sensitive(request.user):
            results = results.exclude(kind__in=sensitive.SUMMARY_REPEATS_BODY)
        return results, may_have_duplicates

    def _shown(self, obj) -> dict[str, Any]:
        allowed = getattr(obj, "_sensitive_allowed", False)
        return presenter.redact(obj, show_sensitive=allowed)

    @admin.display(description=gettext_lazy("summary"))
    def shown_summary(self, obj):
        return self._shown(obj)["summary"]

    @admin.display(description=gettext_lazy("changes"))
    def shown_changes(self, obj):
        data = self._shown(obj)
        rows = presenter.change_rows(obj.subject_type, data["changes"], data["redacted"])
        return format_html_join(
            "",
            "<div><strong>{}</strong>: {} &rarr; {}</div>",
            ((row["field"], row["old"], row["new"]) for row in rows),
        )

    def history_events(self, obj):
        return TimelineEvent.objects.filter(pk=obj.pk)

    def changelist_reads(self, request, rows):
        # The list shows summaries, not changes; a note's summary repeats its first line.
        return {
            (event.subject_type, event.subject_uuid): ["summary"]
            for event in rows
            if event.kind in sensitive.SUMMARY_REPEATS_BODY
        }

    def sensitive_reads(self, request, obj):
        keys = sensitive.event_shows_sensitive(obj.kind, obj.subject_type, obj.changes)
        shown = {"subject_type": obj.subject_type, "object": obj.object}
        keys = sorted({*keys, *sensitive.object_shows_sensitive(shown)})
        if obj.kind in sensitive.SUMMARY_REPEATS_BODY:
            keys = sorted({*keys, "summary"})
        return {(obj.subject_type, obj.subject_uuid): keys} if keys else {}

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
