"""The admin opens only to staff who signed in with a TOTP code."""

from __future__ import annotations

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _require_2fa(settings):
    settings.ADMIN_REQUIRE_2FA = True


def code_for(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_staff_without_an_authenticator_are_sent_to_set_one_up(moderator):
    client = Client()
    client.force_login(moderator)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/totp/activate/"


def test_the_admin_login_form_is_replaced_by_the_site_login():
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_session_that_did_not_use_the_code_must_confirm_it(moderator):
    TOTP.activate(moderator, generate_totp_secret())
    client = Client()
    client.force_login(moderator)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/accounts/2fa/reauthenticate/" in response["Location"]


def test_a_moderator_signs_in_with_password_and_totp_code_and_reaches_the_admin(moderator):
    secret = generate_totp_secret()
    TOTP.activate(moderator, secret)
    client = Client()
    response = client.post("/accounts/login/", {"login": moderator.email, "password": PASSWORD})
    assert response.status_code == 302 and "/accounts/2fa/authenticate/" in response["Location"]
    assert client.get("/admin/").status_code == 302  # not signed in yet
    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert client.get("/admin/").status_code == 302
    client.post("/accounts/2fa/authenticate/", {"code": code_for(secret)})
    page = client.get("/admin/")
    assert page.status_code == 200 and "Moderation dashboard" in page.content.decode()


def test_members_never_see_the_admin(alice):
    client = Client()
    client.force_login(alice)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
