"""Who may do what through the API: permissions, never role names, and token scopes.

Reading needs the model's view permission (a view may name another with
``read_permission``), so an account with no role reads nothing; creating needs the model's
``add`` permission and changing its ``change`` permission, as in the admin.
Sensitive values need ``cases.view_sensitive`` on top (``cases.security.sensitive`` withholds them);
no permission lets anything be deleted.
"""

from __future__ import annotations

from rest_framework import permissions

from cases.security.policy import policy_for
from cases.security.tokens import ApiToken


class TokenScope(permissions.BasePermission):
    """Refuse every write made with a read-only token."""

    message = "This token is read-only; writes need a read-write token."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        token = request.auth
        return not (isinstance(token, ApiToken) and token.read_only)


class OfficerWrites(permissions.BasePermission):
    """Let reads through with the model's view permission, writes with the add or change one.

    A view may name the permission a read needs with ``read_permission``, and names the one
    a write needs with ``write_permission`` (an ``@action`` keyword sets it per action);
    otherwise a create needs ``cases.add_<model>`` and any other write
    ``cases.change_<model>``, unless the action names its verb with ``write_verb`` (a POST
    that changes a row, such as archiving it). A view without a model must name its
    ``read_permission`` or nobody reads it, and needs staff status to write.
    """

    message = "Your account does not hold the permission this needs."

    def has_permission(self, request, view):
        queryset = getattr(view, "queryset", None)
        meta = queryset.model._meta if queryset is not None else None
        if request.method in permissions.SAFE_METHODS:
            perm = getattr(view, "read_permission", None)
            if perm is None and meta is not None:
                # Deny by default: reading needs the model's view permission, which the
                # roles hold; an account with no role reads nothing.
                perm = f"{meta.app_label}.view_{meta.model_name}"
            if perm is None:
                # A view with neither a model nor a read permission is refused unless it
                # says it holds nothing to protect (the API's index of links): a new
                # endpoint must say what reading it needs.
                return bool(getattr(view, "open_to_signed_in", False))
            return policy_for(request.user).may(perm)
        perm = getattr(view, "write_permission", None)
        if perm is None:
            if meta is None:
                return bool(request.user and request.user.is_staff)
            verb = getattr(view, "write_verb", None) or (
                "add" if request.method == "POST" else "change"
            )
            return policy_for(request.user).may_write(meta.model_name, verb)
        return policy_for(request.user).may(perm)
