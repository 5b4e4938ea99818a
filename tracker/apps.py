"""Application configurations: the project's admin site, and other apps named in every language.

django-axes and django-otp ship no Ukrainian or Korean catalog, so the admin's sidebar and
index would show their applications and models in English to every reader; the configs below
name them through the project's catalogs instead (``tests/i18n/test_third_party_words.py``).
"""

from axes.apps import AppConfig as BaseAxesConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_otp.plugins.otp_totp.apps import DefaultConfig as BaseTOTPConfig


class TrackerAdminConfig(AdminConfig):
    """Use ``TrackerAdminSite`` as the default admin site (``admin.site``)."""

    default_site = "tracker.admin_site.TrackerAdminSite"


def name_models(app_config, names: dict) -> None:
    """Give the models of ``app_config`` the translatable names ``{model: (one, several)}``.

    The English words are the app's own, so the migrations' state does not change.
    """
    for model_name, (singular, plural) in names.items():
        options = app_config.get_model(model_name)._meta
        options.verbose_name = singular
        options.verbose_name_plural = plural


def name_fields(app_config, model_name: str, names: dict) -> None:
    """Give the fields of a model of ``app_config`` translatable labels and help texts,
    ``{field: (label, help text)}``, in the app's own English words (so its migrations' state
    does not change)."""
    options = app_config.get_model(model_name)._meta
    for field_name, (label, help_text) in names.items():
        field = options.get_field(field_name)
        field.verbose_name = label
        field.help_text = help_text


#: Words django-axes writes through gettext (its fields, columns, sections and actions) but
#: ships no Ukrainian or Korean for; marked here so that the project's catalogs hold them.
AXES_WORDS = (
    gettext_noop("Access Attempt"),
    gettext_noop("Access lock out"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Attempt Time"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Expires At"),
    gettext_noop("Failed Logins"),
    gettext_noop("Form Data"),
    gettext_noop("GET Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"),
    gettext_noop("Locked Out"),
    gettext_noop("Logout Time"),
    gettext_noop("Meta Data"),
    gettext_noop("Not set"),
    gettext_noop("POST Data"),
    gettext_noop("Path"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
)


class AxesConfig(BaseAxesConfig):
    """django-axes (sign-in attempts and lockouts), named in the reader's language."""

    verbose_name = _("Sign-in attempts")

    def ready(self):
        super().ready()
        name_models(
            self,
            {
                "AccessAttempt": (_("access attempt"), _("access attempts")),
                "AccessFailureLog": (_("access failure"), _("access failures")),
                "AccessLog": (_("access log"), _("access logs")),
            },
        )


class TOTPConfig(BaseTOTPConfig):
    """django-otp's TOTP devices (the admin's second factor), named in the reader's language."""

    verbose_name = _("One-time passwords")

    def ready(self):
        super().ready()
        name_models(self, {"TOTPDevice": (_("TOTP device"), _("TOTP devices"))})
        name_fields(
            self,
            "TOTPDevice",
            {
                "user": (_("user"), _("The user that this device belongs to.")),
                "name": (_("name"), _("The human-readable name of this device.")),
                "confirmed": (_("confirmed"), _("Is this device ready for use?")),
                "throttling_failure_timestamp": (
                    _("throttling failure timestamp"),
                    _(
                        "A timestamp of the last failed verification attempt. Null if last "
                        "attempt succeeded."
                    ),
                ),
                "throttling_failure_count": (
                    _("throttling failure count"),
                    _("Number of successive failed attempts."),
                ),
                "created_at": (
                    _("created at"),
                    _("The date and time when this device was initially created in the system."),
                ),
                "last_used_at": (
                    _("last used at"),
                    _("The most recent date and time this device was used."),
                ),
                "key": (_("key"), _("A hex-encoded secret key of up to 40 bytes.")),
                "step": (_("step"), _("The time step in seconds.")),
                "t0": (_("t0"), _("The Unix time at which to begin counting steps.")),
                "digits": (_("digits"), _("The number of digits to expect in a token.")),
                "tolerance": (
                    _("tolerance"),
                    _("The number of time steps in the past or future to allow."),
                ),
                "drift": (
                    _("drift"),
                    _("The number of time steps the prover is known to deviate from our clock."),
                ),
                "last_t": (
                    _("last t"),
                    _(
                        "The t value of the latest verified token. The next token must be at a "
                        "higher time step."
                    ),
                ),
            },
        )
