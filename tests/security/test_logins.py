"""Admin logins: lockout after repeated failures, password rules, optional TOTP two-factor."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.support.roles import ANALYST, read_write_integration, user_in_role

pytestmark = pytest.mark.django_db

LOGIN_URL = "/admin/login/"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff():
    """Return a staff user with a strong password."""
    return get_user_model().objects.create_user(
        "officer", password=PASSWORD, is_staff=True, is_superuser=True
    )


def post_login(client, username, password, **extra):
    """Post the admin login form and return the response."""
    data = {"username": username, "password": password, "next": "/admin/"}
    data.update(extra)
    return client.post(LOGIN_URL, data, REMOTE_ADDR="203.0.113.7")


def totp_token(device: TOTPDevice) -> str:
    """Return the device's current code, computed as an authenticator app would."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{code:0{device.digits}d}"


@pytest.mark.parametrize(
    "password",
    [
        pytest.param("Xq7!vR2#", id="short"),
        pytest.param("password1234", id="common"),
        pytest.param("839475620193847", id="numeric"),
        pytest.param("kimchulsoo2025", id="like-the-username"),
    ],
)
def test_password_validators_refuse_weak_passwords(password):
    """Short, common, all-digit and username-like passwords are refused."""
    user = get_user_model()(username="kimchulsoo", email="kim@example.org")
    with pytest.raises(ValidationError):
        validate_password(password, user)


def test_password_validators_accept_a_long_unusual_password():
    """A long passphrase unlike the username passes every validator."""
    user = get_user_model()(username="kimchulsoo", email="kim@example.org")
    assert validate_password("river-lantern-quartz-77", user) is None


def test_min_length_is_twelve():
    """Eleven characters are refused, twelve unusual ones are accepted."""
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("vQ8#rT2!mZ4k"[:11])
    assert validate_password("vQ8#rT2!mZ4k") is None


@override_settings(AXES_FAILURE_LIMIT=5)
def test_five_failures_lock_the_login_even_with_the_right_password(client, staff):
    """After five wrong passwords the right one is refused with 429 and a locked message."""
    for _ in range(4):
        response = post_login(client, "officer", "wrong password!")
        assert response.status_code == 200  # the form again, with its error
        assert "Please enter the correct username and password" in response.content.decode()
    fifth = post_login(client, "officer", "wrong password!")
    assert fifth.status_code == 429
    assert "Login locked" in fifth.content.decode()

    locked = post_login(client, "officer", PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(AXES_FAILURE_LIMIT=5)
def test_lock_is_per_username_and_address(client, staff):
    """A lock on one address leaves the same user free to log in from another."""
    for _ in range(5):
        post_login(client, "officer", "wrong password!")
    assert post_login(client, "officer", PASSWORD).status_code == 429
    other = client.post(
        LOGIN_URL,
        {"username": "officer", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="198.51.100.20",
    )
    assert other.status_code == 302
    assert other["Location"] == "/admin/"


@override_settings(AXES_FAILURE_LIMIT=5)
def test_axes_reset_unlocks(client, staff):
    """`manage.py axes_reset` lifts the lock at once; the right password then works."""
    for _ in range(5):
        post_login(client, "officer", "wrong password!")
    assert post_login(client, "officer", PASSWORD).status_code == 429

    call_command("axes_reset")

    response = post_login(client, "officer", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


@override_settings(AXES_FAILURE_LIMIT=5)
def test_a_success_before_the_limit_starts_the_count_again(client, staff):
    """Four failures, a success, then four more failures do not lock the login."""
    for _ in range(4):
        post_login(client, "officer", "wrong password!")
    assert post_login(client, "officer", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert post_login(client, "officer", "wrong password!").status_code == 200
    assert post_login(client, "officer", PASSWORD).status_code == 302


def test_two_factor_is_off_by_default_in_development(client, staff):
    """Without the setting a password alone opens the admin (the test and dev default)."""
    from django.conf import settings

    assert settings.REQUIRE_2FA_FOR_STAFF is False
    response = post_login(client, "officer", PASSWORD)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_staff_without_a_verified_device_cannot_reach_admin_pages(client, staff):
    """With two-factor required, a password-only session is sent back to the login form."""
    client.force_login(staff)
    for url in ("/admin/", "/admin/cases/case/", "/admin/auth/user/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(LOGIN_URL), url
    form = client.get(LOGIN_URL)
    assert 'name="otp_token"' in form.content.decode()


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_password_alone_does_not_log_staff_in_when_two_factor_is_required(client, staff):
    """Without a code the login form refuses; the admin stays closed."""
    TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    response = post_login(client, "officer", PASSWORD)
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_wrong_code_is_refused(client, staff):
    """A wrong TOTP code does not open the admin."""
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    wrong = f"{(int(totp_token(device)) + 1) % 10**6:06d}"
    response = post_login(
        client, "officer", PASSWORD, otp_device=device.persistent_id, otp_token=wrong
    )
    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_staff_with_a_totp_device_and_the_current_code_reach_the_admin(client, staff):
    """Password plus the device's current code verifies the session; admin pages open."""
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    response = post_login(
        client,
        "officer",
        PASSWORD,
        otp_device=device.persistent_id,
        otp_token=totp_token(device),
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/cases/case/").status_code == 200


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_a_verified_staff_member_can_show_the_qr_code_of_a_device(client, staff):
    """The TOTP device admin shows the enrolment QR code (an SVG) to add to an app."""
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    post_login(
        client, "officer", PASSWORD, otp_device=device.persistent_id, otp_token=totp_token(device)
    )
    new_device = TOTPDevice.objects.create(user=staff, name="second phone", confirmed=False)
    config = client.get(f"/admin/otp_totp/totpdevice/{new_device.pk}/config/")
    assert config.status_code == 200
    qrcode = client.get(f"/admin/otp_totp/totpdevice/{new_device.pk}/qrcode/")
    assert qrcode.status_code == 200
    assert qrcode["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in qrcode.content


# ------------------------------------------------------------------------------------------
# The analysts' sign-in page
# ------------------------------------------------------------------------------------------

PAGES_LOGIN_URL = "/accounts/login/"


@pytest.fixture
def analyst():
    """Return an account with the analyst role and no staff status."""
    return user_in_role(ANALYST, "analyst", password=PASSWORD)


def post_pages_login(client, username, password, next_url="/cases/"):
    """Post the analysts' sign-in form and return the response."""
    data = {"username": username, "password": password, "next": next_url}
    return client.post(PAGES_LOGIN_URL, data, REMOTE_ADDR="203.0.113.8")


def test_an_analyst_without_staff_status_signs_in_and_reaches_the_list(client, analyst):
    """The pages' own form admits an account the admin's login would refuse."""
    assert post_login(client, "analyst", PASSWORD).status_code == 200  # admin: refused
    assert "_auth_user_id" not in client.session
    response = post_pages_login(client, "analyst", PASSWORD, "/cases/?status=interned")
    assert response.status_code == 302
    assert response["Location"] == "/cases/?status=interned"
    assert client.session["_auth_user_id"] == str(analyst.pk)
    assert client.get("/cases/").status_code == 200


def test_anonymous_pages_send_to_the_sign_in_page_which_renders(client):
    response = client.get("/cases/")
    assert response["Location"] == f"{PAGES_LOGIN_URL}?next=/cases/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="next" value="/cases/"' in html
    assert 'id="id_username"' in html and 'id="id_password"' in html


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, analyst):
    response = post_pages_login(client, "analyst", "not the password at all")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Please enter a correct username and password" in response.content.decode()


def test_the_sign_in_page_does_not_redirect_off_site(client, analyst):
    response = post_pages_login(client, "analyst", PASSWORD, "https://attacker.example/")
    assert response.status_code == 302
    assert response["Location"] == "/cases/"


@override_settings(AXES_FAILURE_LIMIT=3)
def test_failures_on_the_sign_in_page_lock_the_login(client, analyst):
    """The pages' form counts towards the same lockout as the admin's."""
    for _ in range(3):
        post_pages_login(client, "analyst", "wrong password, again")
    response = post_pages_login(client, "analyst", PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_staff_are_sent_to_the_admin_login_when_two_factor_is_required(client, staff):
    """A password alone must not sign staff in where the admin would ask for a code."""
    response = post_pages_login(client, "officer", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    html = response.content.decode()
    assert "one-time code" in html
    assert 'href="/admin/login/?next=%2Fcases%2F"' in html


@override_settings(REQUIRE_2FA_FOR_STAFF=False)
def test_staff_may_use_the_sign_in_page_when_two_factor_is_off(client, staff):
    assert post_pages_login(client, "officer", PASSWORD).status_code == 302
    assert "_auth_user_id" in client.session


def test_sign_out_ends_the_session_and_returns_to_the_sign_in_page(client, analyst):
    post_pages_login(client, "analyst", PASSWORD)
    assert client.get(PAGES_LOGIN_URL).status_code == 302  # already signed in
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == PAGES_LOGIN_URL
    assert "_auth_user_id" not in client.session
    assert client.get("/accounts/logout/").status_code == 405


# ------------------------------------------------------------------------------------------
# Two-factor follows what an account may see or change, not staff status
# ------------------------------------------------------------------------------------------


def role_account(username: str, role: str):
    """Return an account without staff status holding the role ``role``."""
    return user_in_role(role, username, password=PASSWORD)


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_a_case_officer_without_staff_status_needs_a_code_on_the_sign_in_page(client):
    """A password alone does not sign in an account that may read sensitive values."""
    officer = role_account("officer2", "case officer")
    device = officer.totpdevice_set.create(name="phone", confirmed=True)
    response = post_pages_login(client, "officer2", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "one-time code" in response.content.decode()
    assert 'name="otp_token"' in response.content.decode()
    wrong = f"{(int(totp_token(device)) + 1) % 10**6:06d}"
    data = {"username": "officer2", "password": PASSWORD, "next": "/cases/", "otp_token": wrong}
    assert client.post(PAGES_LOGIN_URL, data, REMOTE_ADDR="203.0.113.9").status_code == 200
    assert "_auth_user_id" not in client.session
    device.refresh_from_db()
    device.throttle_reset()  # a failure makes the device wait before the next try
    data["otp_token"] = totp_token(device)
    response = client.post(PAGES_LOGIN_URL, data, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(officer.pk)
    assert client.get("/cases/").status_code == 200


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_an_account_that_needs_a_code_but_has_no_device_cannot_sign_in(client):
    role_account("officer3", "case officer")
    response = post_pages_login(client, "officer3", PASSWORD)
    assert "_auth_user_id" not in client.session
    response = client.post(
        PAGES_LOGIN_URL,
        {"username": "officer3", "password": PASSWORD, "otp_token": "123456"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert "_auth_user_id" not in client.session
    assert "no authenticator device" in response.content.decode()


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_a_read_write_integration_account_needs_a_code_too(client):
    """Changing case data is enough to need a second factor, without the sensitive permission."""
    # A read-write integration (docs/security.md) holds change permissions on top of its role.
    read_write_integration("writer", password=PASSWORD)
    response = post_pages_login(client, "writer", PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@override_settings(REQUIRE_2FA_FOR_STAFF=True)
def test_an_analyst_signs_in_with_a_password_alone_when_two_factor_is_on(client, analyst):
    """An account that sees no sensitive value and changes nothing needs no code."""
    assert post_pages_login(client, "analyst", PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(analyst.pk)
