"""Account flows through the pages (django-allauth): sign up, verify the email, log in
and out, reset the password. Verification is mandatory: tests run with DEBUG off."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse

from members.models import Member

SIGNUP = reverse("account_signup")
LOGIN = reverse("account_login")
LOGOUT = reverse("account_logout")
RESET = reverse("account_reset_password")
NEW_PASSWORD = "a-brand-new-secret-77"


def _signup(client, email="carol@example.com", password="lending-library-2024", **extra):
    data = {"email": email, "password1": password, "password2": password,
            "display_name": "Carol B.", "accept_terms": "on"}
    data.update(extra)
    return client.post(SIGNUP, data)


def _link_in(message) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


def _logged_in_pk(client):
    return client.session.get(SESSION_KEY)


def test_verification_is_mandatory_in_these_tests():
    assert settings.DEBUG is False
    assert settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory"


def test_signing_up_saves_the_display_name_and_sends_a_verification_link(client, db):
    response = _signup(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    member = Member.objects.get(email="carol@example.com")
    assert member.display_name == "Carol B."
    assert member.check_password("lending-library-2024")
    assert not EmailAddress.objects.get(user=member).verified
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["carol@example.com"]
    assert message.subject.startswith("[Partage] ")
    assert _link_in(message).startswith("/accounts/confirm-email/")
    # Signed by the site, not by the host the request came through.
    assert message.body.startswith("Hello from Partage!")
    assert "Thank you for using Partage!" in message.body


def test_signing_up_needs_the_terms_accepted_and_records_when(client, db):
    response = _signup(client, accept_terms="")
    assert response.status_code == 200
    page = response.content.decode()
    assert "To join, accept the terms of use and the privacy notice" in page
    assert not Member.objects.exists() and not mail.outbox
    assert f'href="{reverse("terms")}"' in page and f'href="{reverse("privacy")}"' in page

    assert _signup(client).status_code == 302
    assert Member.objects.get().terms_accepted_at is not None


@pytest.mark.parametrize("name", ["terms", "privacy"])
@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_terms_and_the_privacy_notice_are_public_pages(client, db, name, language):
    response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    page = response.content.decode()
    assert {"terms": {"en": "Terms of use", "fr": "Conditions d’utilisation"},
            "privacy": {"en": "Privacy notice", "fr": "Politique de confidentialité"}
            }[name][language] in page
    assert f'href="{reverse(name)}"' in client.get("/").content.decode()  # in the footer


def test_the_sign_up_form_requires_a_display_name(client, db):
    response = _signup(client, display_name="  ")
    assert response.status_code == 200
    assert response.context["form"].errors["display_name"]
    assert not Member.objects.exists()
    assert mail.outbox == []


def test_the_sign_up_form_refuses_a_weak_password(client, db):
    response = _signup(client, password="12345678")
    assert response.status_code == 200
    assert response.context["form"].errors["password1"]
    assert not Member.objects.exists()


def test_a_new_member_cannot_use_the_site_before_verifying(client, db):
    _signup(client)
    assert _logged_in_pk(client) is None
    response = client.get(reverse("members:edit"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    # Logging in with the right password only leads back to "check your email".
    response = client.post(LOGIN, {"login": "carol@example.com",
                                   "password": "lending-library-2024"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert _logged_in_pk(client) is None


def test_the_confirmation_link_asks_before_confirming_and_then_logs_in(client, db):
    _signup(client)
    link = _link_in(mail.outbox[0])
    page = client.get(link)
    assert page.status_code == 200
    assert b"Confirm" in page.content
    assert b'method="post"' in page.content
    member = Member.objects.get(email="carol@example.com")
    assert not EmailAddress.objects.get(user=member).verified  # a GET changes nothing
    response = client.post(link)
    assert response.status_code == 302
    assert EmailAddress.objects.get(user=member).verified
    assert str(_logged_in_pk(client)) == str(member.pk)
    assert client.get(reverse("members:edit")).status_code == 200


def test_a_confirmation_link_that_is_wrong_changes_nothing(client, db):
    _signup(client)
    response = client.post("/accounts/confirm-email/not-a-real-key/")
    assert response.status_code in (200, 404)
    assert not EmailAddress.objects.filter(verified=True).exists()
    assert _logged_in_pk(client) is None


def test_a_verified_member_logs_in_with_email_and_password(client, member, password):
    response = client.post(LOGIN, {"login": member.email.upper(), "password": password})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert str(_logged_in_pk(client)) == str(member.pk)


def test_it_refuses_a_wrong_password(client, member):
    response = client.post(LOGIN, {"login": member.email, "password": "not-my-password"})
    assert response.status_code == 200
    assert b"The email address and/or password you specified are not correct." in response.content
    assert _logged_in_pk(client) is None


def test_logging_out_takes_a_post(member_client, member):
    page = member_client.get(LOGOUT)
    assert page.status_code == 200  # a confirmation page, still logged in
    assert str(_logged_in_pk(member_client)) == str(member.pk)
    response = member_client.post(LOGOUT)
    assert response.status_code == 302
    assert _logged_in_pk(member_client) is None


def test_the_menu_logs_out_with_a_post_form(member_client):
    html = member_client.get(reverse("members:edit")).content.decode()
    assert f'<form action="{LOGOUT}" method="post">' in html


def test_a_forgotten_password_can_be_reset_by_email(client, member, password):
    response = client.post(RESET, {"email": member.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = _link_in(mail.outbox[0])
    assert link.startswith("/accounts/password/reset/key/")
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    response = client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)
    assert not member.check_password(password)
    client.logout()
    login = client.post(LOGIN, {"login": member.email, "password": NEW_PASSWORD})
    assert str(_logged_in_pk(client)) == str(member.pk), login.content


def test_a_used_reset_link_does_not_work_twice(client, member, password):
    client.post(RESET, {"email": member.email})
    link = _link_in(mail.outbox[0])
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    client.logout()
    again = client.get(link, follow=True)
    assert b"The password reset link was invalid" in again.content
    assert b'name="password1"' not in again.content
    client.post(set_url, {"password1": "yet-another-secret-99", "password2": "yet-another-secret-99"})
    member.refresh_from_db()
    assert member.check_password(NEW_PASSWORD)


def test_a_reset_for_an_unknown_email_reveals_nothing(client, db):
    response = client.post(RESET, {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert not any("/accounts/password/reset/key/" in m.body for m in mail.outbox)


def test_a_second_account_with_the_same_email_is_refused(client, member):
    response = _signup(client, email=member.email.upper())
    # allauth does not reveal that the address is taken (no account enumeration): the
    # page looks the same, the owner of the address gets a warning, nothing is created.
    assert response.status_code == 302
    assert Member.objects.filter(email__iexact=member.email).count() == 1
    assert Member.objects.count() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert "/accounts/confirm-email/" not in mail.outbox[0].body


@pytest.mark.parametrize(
    ("url_name", "title"),
    [
        ("account_login", "Log in"),
        ("account_signup", "Sign up"),
        ("account_reset_password", "Reset your password"),
        ("account_email_verification_sent", "Confirm your email address"),
        ("account_reset_password_done", "Reset your password"),
    ],
)
def test_account_pages_use_the_partage_layout(client, db, url_name, title):
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<header class="site-header">' in html
    assert 'class="container auth-page"' in html
    assert "css/partage.css" in html
    assert re.search(rf"<title>\s*{title}\s*· Partage</title>", html), html[:600]
    assert html.count("<html") == 1
    assert "<script>" not in html  # no inline scripts (a CSP comes later)


def test_the_sign_up_page_labels_every_field(client, db):
    html = client.get(SIGNUP).content.decode()
    for field in ("email", "password1", "password2", "display_name"):
        assert f'<label for="id_{field}">' in html
    assert 'class="btn"' in html


def test_account_pages_for_members_use_the_layout(member_client):
    for name in ("account_email", "account_change_password"):
        response = member_client.get(reverse(name))
        assert response.status_code == 200
        assert b'<header class="site-header">' in response.content
