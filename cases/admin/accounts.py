"""The user's and the group's admin pages (auth's admins, extended): the account's own
language, and the permissions named in the reader's language."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from cases.preferences import AccountPreferences, account_language_set

#: The names of Django's default permissions, by action, with the model's translated name.
DEFAULT_PERMISSION_NAMES = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """Return ``permission`` as the user's and the group's pages list it, in the reader's
    language: "app | model | name", as ``str()`` writes it from the stored English.

    A default permission (``view_case``) is named from its action and the model's
    translated name; a custom one by the name its model declares (marked with
    ``gettext_noop``), translated. The stored rows are not changed: a permission whose
    model is gone keeps its stored words.
    """
    model = permission.content_type.model_class()
    if model is None:
        return str(permission)
    opts = model._meta
    action, _sep, model_name = permission.codename.partition("_")
    if model_name == opts.model_name and action in DEFAULT_PERMISSION_NAMES:
        name = DEFAULT_PERMISSION_NAMES[action] % {"model": opts.verbose_name}
    else:
        name = gettext(dict(opts.permissions).get(permission.codename, permission.name))
    return f"{opts.app_config.verbose_name} | {opts.verbose_name} | {name}"


class TranslatedPermissionsMixin:
    """Label the choices of a ``permissions``/``user_permissions`` field with
    :func:`permission_label`."""

    permission_fields = ("permissions", "user_permissions")

    def formfield_for_manytomany(self, db_field, request=None, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        if db_field.name in self.permission_fields and formfield is not None:
            formfield.label_from_instance = permission_label
        return formfield


class AccountPreferencesInline(admin.StackedInline):
    """The account's language, below the user's own fields."""

    model = AccountPreferences
    fields = ["language"]
    can_delete = False
    min_num = 0
    max_num = 1
    extra = 1


def _extend_user_admin(site: admin.AdminSite) -> None:
    """Register the user admin again with the account's preferences as an inline.

    The class registered by ``django.contrib.auth`` is kept and extended, so its fields,
    filters and permissions stay Django's; ``guard_other_apps`` then adds the lookup guard.
    """
    user_model = get_user_model()
    base = type(site._registry[user_model])

    class AccountAdmin(TranslatedPermissionsMixin, base):
        inlines = [*base.inlines, AccountPreferencesInline]

        def save_formset(self, request, form, formset, change):
            if formset.model is not AccountPreferences:
                return super().save_formset(request, form, formset, change)
            for inline_form in formset.forms:
                if inline_form.has_changed() and "language" in inline_form.cleaned_data:
                    account_language_set(
                        user=form.instance, language=inline_form.cleaned_data["language"]
                    )
            return None

    AccountAdmin.__name__ = base.__name__
    site.unregister(user_model)
    site.register(user_model, AccountAdmin)


def _extend_group_admin(site: admin.AdminSite) -> None:
    """Register the group admin again with its permissions named in the reader's language."""
    base = type(site._registry[Group])

    class GroupAdmin(TranslatedPermissionsMixin, base):
        pass

    GroupAdmin.__name__ = base.__name__
    site.unregister(Group)
    site.register(Group, GroupAdmin)


#: The sections of django-otp's TOTP device page, which it titles in English only.
TOTP_SECTIONS = {
    "Identity": pgettext_lazy("section", "Identity"),
    "Timestamps": _("Timestamps"),
    "Configuration": _("Configuration"),
    "State": pgettext_lazy("section", "State"),
    "Throttling": _("Throttling"),
}


def _extend_totp_admin(site: admin.AdminSite) -> None:
    """Register django-otp's TOTP device admin again with its sections' titles translated
    (its fields are named in ``tracker.apps.TOTPConfig``)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if TOTPDevice not in site._registry:
        return
    base = type(site._registry[TOTPDevice])

    class TOTPDeviceAdmin(base):
        def get_fieldsets(self, request, obj=None):
            return [
                (TOTP_SECTIONS.get(title, title), options)
                for title, options in super().get_fieldsets(request, obj)
            ]

    TOTPDeviceAdmin.__name__ = base.__name__
    site.unregister(TOTPDevice)
    site.register(TOTPDevice, TOTPDeviceAdmin)


_extend_user_admin(admin.site)
_extend_group_admin(admin.site)
_extend_totp_admin(admin.site)
