"""The account's own language, edited on the user's admin page (auth's user admin, extended)."""

from django.contrib import admin
from django.contrib.auth import get_user_model

from cases.preferences import AccountPreferences, account_language_set


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

    class AccountAdmin(base):
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


_extend_user_admin(admin.site)
