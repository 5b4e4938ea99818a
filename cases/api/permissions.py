"""Who may do what through the API: everyone signed in reads, officers write, tokens scope."""

from __future__ import annotations

from rest_framework import permissions

from cases.tokens import ApiToken


class TokenScope(permissions.BasePermission):
    """Refuse every write made with a read-only token."""

    message = "This token is read-only; writes need a read-write token."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        token = request.auth
        return not (isinstance(token, ApiToken) and token.read_only)


class OfficerWrites(permissions.BasePermission):
    """Let any signed-in user read; let writes through only with the model permission.

    A view names the permission a write needs with ``write_permission`` (an ``@action``
    keyword sets it per action); otherwise a create needs ``cases.add_<model>`` and any other
    write ``cases.change_<model>``, as in the admin.
    """

    message = "You may read these records but not change them."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        perm = getattr(view, "write_permission", None)
        if perm is None:
            queryset = getattr(view, "queryset", None)
            if queryset is None:
                return bool(request.user and request.user.is_staff)
            meta = queryset.model._meta
            verb = "add" if request.method == "POST" else "change"
            perm = f"{meta.app_label}.{verb}_{meta.model_name}"
        return request.user.has_perm(perm)
