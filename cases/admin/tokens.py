"""Admin for API tokens: list, revoke and delete; keys are issued by ``issue_token`` only."""

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext

from cases.admin.mixins import DeclaredLookupsMixin
from cases.security import credentials
from cases.security.tokens import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(DeclaredLookupsMixin, admin.ModelAdmin):
    """Show tokens without their secrets; revoking is an action and an editable date."""

    list_display = [
        "name",
        "user",
        "prefix",
        "read_only",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["read_only", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "prefix", "created_at", "last_used_at"]
    fields = [
        "name",
        "user",
        "prefix",
        "read_only",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request):
        # A key is shown once, at issue; the admin form could not show it safely.
        return False

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        """Revoke every selected token that is not revoked yet."""
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        credentials.forget_all()  # an update sends no signal
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )
