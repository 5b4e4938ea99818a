"""An account's own settings: for now, the language its pages and admin are shown in."""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import models
from django.dispatch import receiver
from django.utils import translation
from django.utils.translation import gettext_lazy as _

#: The session key that holds the signed-in account's language ("" for none): copied from
#: AccountPreferences at sign-in and by the language switcher, so that choosing the language
#: of a request costs no query (tracker.middleware.AccountLocaleMiddleware).
LANGUAGE_SESSION_KEY = "account_language"


class AccountPreferences(models.Model):
    """Settings a user chooses for his own account: the language of the pages and the admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="preferences",
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_(
            "The language of the pages and the admin for this account. Empty: the browser's "
            "language, else the site's default. Takes effect at the next sign-in, or at once "
            "when chosen with the switcher in the page header."
        ),
    )

    class Meta:
        verbose_name = _("account preferences")
        verbose_name_plural = _("account preferences")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


def is_site_language(code: str | None) -> bool:
    """Return whether ``code`` is one of the site's languages (settings.LANGUAGES)."""
    return bool(code) and code in dict(settings.LANGUAGES) and translation.check_for_language(code)


def account_language_set(*, user, language: str) -> AccountPreferences:
    """Store ``language`` ("" for none) as ``user``'s own language and return his settings."""
    preferences, _created = AccountPreferences.objects.update_or_create(
        user=user, defaults={"language": language}
    )
    return preferences


@receiver(user_logged_in, dispatch_uid="cases_account_language_at_login")
def _remember_language_at_login(sender, request, user, **kwargs):
    """Copy the account's language into the new session, so each request reads it there."""
    if request is None or not hasattr(request, "session"):
        return
    language = (
        AccountPreferences.objects.filter(user=user).values_list("language", flat=True).first()
    )
    if is_site_language(language):
        request.session[LANGUAGE_SESSION_KEY] = language
    else:
        request.session.pop(LANGUAGE_SESSION_KEY, None)
