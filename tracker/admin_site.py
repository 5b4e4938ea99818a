"""The admin site: a password, and a one-time password from a TOTP device when required."""

from django.conf import settings
from django.contrib.admin import AdminSite
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


def staff_2fa_required() -> bool:
    """Return whether staff must confirm their admin login with a one-time password."""
    return bool(getattr(settings, "REQUIRE_2FA_FOR_STAFF", False))


class TrackerAdminSite(OTPAdminSite):
    """Admin site that asks staff for a TOTP code when ``REQUIRE_2FA_FOR_STAFF`` is on.

    With the setting on, a user signed in with a password alone (``user.is_verified()`` is
    false) is treated as not staff: every admin page sends them to the login form, which then
    asks for the code. With it off, the site behaves like Django's own.
    """

    def __init__(self, name: str = "admin"):
        # OTPAdminSite names itself "otpadmin"; keep "admin" so every admin: URL name holds.
        super().__init__(name)

    @property
    def login_form(self):
        """Return the login form: with the OTP fields when two-factor is required."""
        return OTPAdminAuthenticationForm if staff_2fa_required() else None

    @property
    def login_template(self):
        """Return the login template: the one with the OTP fields when required."""
        return "otp/admin111/login.html" if staff_2fa_required() else None

    def has_permission(self, request):
        """Return whether the request may use the admin: verified staff when required."""
        if staff_2fa_required():
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)
