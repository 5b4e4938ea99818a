"""Sign-in for the analysts' pages: a plain login form that admits non-staff accounts too.

The admin's own login admits staff only, so analysts (who edit nothing) sign in here. Staff
keep their second factor: while ``REQUIRE_2FA_FOR_STAFF`` is on, a staff account is sent to
the admin's login, which asks for the one-time code, instead of being signed in with a
password alone. Failed attempts count towards django-axes' lockout like the admin's.
"""

from __future__ import annotations

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse
from django.utils.http import urlencode

from tracker.admin_site import staff_2fa_required


class StaffUseTheAdminLogin(forms.ValidationError):
    """Raised for a staff account that must confirm its login with a one-time code."""


class PagesAuthenticationForm(AuthenticationForm):
    """Username and password; staff go through the admin's two-factor login when required."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_staff and staff_2fa_required():
            raise StaffUseTheAdminLogin(
                "Staff accounts sign in through the admin's login, with their one-time code.",
                code="staff_needs_second_factor",
            )


class LoginView(auth_views.LoginView):
    """The analysts' sign-in page (``/accounts/login/``)."""

    form_class = PagesAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = {"next": context.get("next") or "/cases/"}
        context["admin_login_url"] = f"{reverse('admin:login')}?{urlencode(query)}"
        return context


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only) and return to the sign-in page."""

    next_page = "login"
