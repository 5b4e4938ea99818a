"""Sign-in for the analysts' pages: a plain login form that admits non-staff accounts too.

The admin's own login admits staff only, so analysts (who edit nothing) sign in here. While
two-factor is on (``DJANGO_REQUIRE_2FA_FOR_STAFF``), every account the access policy says
needs a second factor (one that may see sensitive values, change case data, or is staff:
``cases.security.policy.Policy.needs_second_factor``) must also give the current code of one of its
TOTP devices here, as at the admin's login; a password alone does not sign it in. Failed
attempts count towards django-axes' lockout like the admin's.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import i18n as i18n_views
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from cases.preferences import LANGUAGE_SESSION_KEY, account_language_set, is_site_language
from cases.security.policy import policy_for
from tracker.admin_site import staff_2fa_required


class PagesAuthenticationForm(OTPAuthenticationFormMixin, AuthenticationForm):
    """Username and password, and a one-time code for accounts that need a second factor."""

    otp_device = forms.CharField(required=False, widget=forms.HiddenInput)
    otp_token = forms.CharField(
        required=False,
        label=_("One-time code"),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 8}
        ),
        help_text=_(
            "From your authenticator app; needed for accounts that see sensitive values or "
            "change cases."
        ),
    )
    otp_challenge = forms.CharField(required=False, widget=forms.HiddenInput)

    otp_error_messages = dict(
        OTPAuthenticationFormMixin.otp_error_messages,
        token_required=_(
            "This account signs in with a one-time code as well: enter the current code from "
            "your authenticator app."
        ),
        invalid_token=_("The one-time code is not right, or has expired. Enter the current code."),
        device_required=_(
            "This account has no authenticator device yet. Ask an administrator to set one up; "
            "until then it cannot sign in."
        ),
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and staff_2fa_required() and policy_for(user).needs_second_factor:
            self.clean_otp(user)
        return cleaned

    def _chosen_device(self, user):
        """Return the device named in the form, or the account's only confirmed TOTP device."""
        device = super()._chosen_device(user)
        if device is None:
            devices = list(TOTPDevice.objects.devices_for_user(user, confirmed=True)[:2])
            if len(devices) == 1:
                device = devices[0]
        return device

    def _update_form(self, user):
        # The mixin would list the account's devices in a select; the code field suffices.
        pass


class LoginView(auth_views.LoginView):
    """The analysts' sign-in page (``/accounts/login/``)."""

    form_class = PagesAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = {"next": context.get("next") or "/cases/"}
        context["admin_login_url"] = f"{reverse('admin:login')}?{urlencode(query)}"
        context["second_factor"] = staff_2fa_required()
        return context


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only) and return to the sign-in page."""

    next_page = "login"


def set_language(request):
    """Switch the language (Django's ``set_language``) and keep it on the signed-in account.

    Django's view sets the language cookie and redirects to ``next`` when it is safe. When
    the language is one of the site's and the user is signed in, it also becomes his
    account's setting, in the database and in this session, so it holds on his other devices
    from their next sign-in.
    """
    response = i18n_views.set_language(request)
    language = request.POST.get(i18n_views.LANGUAGE_QUERY_PARAMETER, "")
    if not is_site_language(language):
        # Django's view sets the cookie for any language Django itself has; only the site's
        # languages are kept.
        response.cookies.pop(settings.LANGUAGE_COOKIE_NAME, None)
    elif request.method == "POST" and request.user.is_authenticated:
        account_language_set(user=request.user, language=language)
        request.session[LANGUAGE_SESSION_KEY] = language
    return response
