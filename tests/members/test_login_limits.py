"""Wrong passwords pause the address that typed them, not the account's owner; a guess
spread over many addresses still meets a per-account brake, which a password reset
lifts. Through the login page, as a browser signs in."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

LOGIN = reverse("account_login")
RESET = reverse("account_reset_password")
STRANGER, OWNER, ELSEWHERE = "203.0.113.5", "198.51.100.7", "192.0.2.44"
PAIR_MESSAGE = "Too many failed attempts to sign in to this account from your connection"
ACCOUNT_MESSAGE = "Signing in to this account with a password is paused"


def log_in(client: Client, email: str, password: str, **extra):
    return client.post(LOGIN, {"login": email, "password": password}, **extra)


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(member, password):
    stranger = Client(REMOTE_ADDR=STRANGER)
    for _ in range(5):
        log_in(stranger, member.email, "guess")
        assert not signed_in(stranger)
    # The stranger is paused, even with the right password...
    response = log_in(stranger, member.email, password)
    assert PAIR_MESSAGE in response.content.decode() and not signed_in(stranger)
    # ...and the owner, from their own address, signs in.
    owner = Client(REMOTE_ADDR=OWNER)
    log_in(owner, member.email, password)
    assert signed_in(owner)


def test_five_wrong_passwords_from_one_address_pause_that_address_and_say_what_to_do(
        member, password):
    client = Client(REMOTE_ADDR=OWNER)
    for _ in range(5):
        log_in(client, member.email, "wrong")
    response = log_in(client, member.email, password)
    html = response.content.decode()
    assert PAIR_MESSAGE in html and "Wait 5 minutes" in html and "Forgot your password?" in html
    assert not signed_in(client)
    # The page still offers the way out: the reset link.
    assert RESET in html


def test_the_pause_messages_are_in_french_too(settings, member, password):
    # The account brake scaled down to 6, so that the owner's 5 wrong ones and one more
    # from elsewhere reach it.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS,
                                    "login_failed_account": "6/h/key"}
    client = Client(REMOTE_ADDR=OWNER, HTTP_ACCEPT_LANGUAGE="fr")
    for _ in range(5):
        log_in(client, member.email, "wrong")
    html = log_in(client, member.email, password).content.decode()
    assert "Trop de tentatives de connexion échouées à ce compte" in html
    assert "Attendez 5\u00a0minutes" in html
    elsewhere = Client(REMOTE_ADDR=ELSEWHERE, HTTP_ACCEPT_LANGUAGE="fr")
    log_in(elsewhere, member.email, "wrong")
    html = log_in(elsewhere, member.email, password).content.decode()
    assert "La connexion à ce compte par mot de passe est suspendue" in html


def test_one_address_is_still_slowed_across_many_accounts(password):
    from tests.factories import MemberFactory

    members = [MemberFactory() for _ in range(11)]
    client = Client(REMOTE_ADDR=STRANGER)
    for member in members[:10]:
        log_in(client, member.email, "wrong")
    # A fresh account, no wrong password for it yet: the address itself is paused.
    response = log_in(client, members[10].email, "wrong")
    assert PAIR_MESSAGE in response.content.decode()


def test_the_right_password_uses_up_nobodys_tries(member, password):
    client = Client(REMOTE_ADDR=OWNER)
    for _ in range(4):
        log_in(client, member.email, "wrong")
    for _ in range(3):
        log_in(client, member.email, password)
        assert signed_in(client)
        client.post(reverse("account_logout"))
    log_in(client, member.email, "wrong")  # the fifth wrong one
    log_in(client, member.email, password)
    assert not signed_in(client)


def test_a_guess_spread_over_addresses_meets_the_account_brake_which_a_reset_lifts(
        settings, member, password):
    # The brake as configured, scaled down: per pair 5 per 5 minutes, per account 8.
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS,
                                    "login_failed_account": "8/h/key"}
    for address in ("203.0.113.1", "203.0.113.2"):
        attacker = Client(REMOTE_ADDR=address)
        for _ in range(4):
            log_in(attacker, member.email, "guess")
    owner = Client(REMOTE_ADDR=OWNER)
    html = log_in(owner, member.email, password).content.decode()
    assert ACCOUNT_MESSAGE in html and "Forgot your password?" in html
    assert not signed_in(owner)
    # The owner resets their password and signs in straight away.
    owner.post(RESET, {"email": member.email})
    link = re.search(r"https?://[^/\s]+(/\S+)", mail.outbox[-1].body).group(1)
    form_page = owner.get(link, follow=True)
    set_url = form_page.redirect_chain[-1][0] if form_page.redirect_chain else link
    new_password = "a-brand-new-secret-77"
    response = owner.post(set_url, {"password1": new_password, "password2": new_password})
    assert response.status_code == 302
    log_in(owner, member.email, new_password)
    assert signed_in(owner)


def test_the_per_account_brake_is_out_of_reach_of_one_address(settings):
    """One address can fail at most 60 times an hour on an account (5 per 5 minutes);
    the account brake must be well above it, or one address could pause an account."""
    from allauth.core.internal.ratelimit import parse_rates

    pair = [r for r in parse_rates(settings.ACCOUNT_RATE_LIMITS["login_failed"]) if r.per == "key"]
    account = parse_rates(settings.ACCOUNT_RATE_LIMITS["login_failed_account"])
    assert pair and account and all(r.per == "key" for r in account)
    per_hour_from_one_address = min(r.amount * 3600 / r.duration for r in pair)
    for rate in account:
        assert rate.amount * 3600 / rate.duration >= 1.5 * per_hour_from_one_address


def test_a_spoofed_forwarded_for_does_not_buy_more_tries(settings, member, password):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    # Straight to the worker, not through the proxy: the header is ignored.
    direct = Client(REMOTE_ADDR=STRANGER)
    for n in range(5):
        log_in(direct, member.email, "guess", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    response = log_in(direct, member.email, "guess", HTTP_X_FORWARDED_FOR="10.0.0.99")
    assert PAIR_MESSAGE in response.content.decode()
    # Through the proxy, the address it saw is the one counted: the owner gets in.
    proxied = Client(REMOTE_ADDR="127.0.0.1")
    log_in(proxied, member.email, password, HTTP_X_FORWARDED_FOR=OWNER)
    assert signed_in(proxied)


def test_the_owners_usual_browser_gets_past_the_account_brake_and_others_do_not(
        settings, member, password, bob):
    from members.login_limits import KNOWN_BROWSER_COOKIE

    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS,
                                    "login_failed_account": "8/h/key"}
    phone = Client(REMOTE_ADDR=OWNER)
    response = log_in(phone, member.email, password)
    cookie = response.cookies[KNOWN_BROWSER_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and int(cookie["max-age"]) > 0
    phone.post(reverse("account_logout"))
    for address in ("203.0.113.1", "203.0.113.2"):
        attacker = Client(REMOTE_ADDR=address)
        for _ in range(4):
            log_in(attacker, member.email, "guess")
    # The phone, even on another network, signs in...
    phone.defaults["REMOTE_ADDR"] = ELSEWHERE
    log_in(phone, member.email, password)
    assert signed_in(phone)
    # ...a browser that never signed in does not, nor one known for another member,
    # nor one with a forged cookie.
    assert ACCOUNT_MESSAGE in log_in(Client(REMOTE_ADDR=OWNER), member.email,
                                     password).content.decode()
    bobs = Client(REMOTE_ADDR=OWNER)
    bobs.cookies[KNOWN_BROWSER_COOKIE] = log_in(Client(), bob.email, password).cookies[
        KNOWN_BROWSER_COOKIE].value
    assert ACCOUNT_MESSAGE in log_in(bobs, member.email, password).content.decode()
    forged = Client(REMOTE_ADDR=OWNER)
    forged.cookies[KNOWN_BROWSER_COOKIE] = f"{member.pk}:forged"
    assert ACCOUNT_MESSAGE in log_in(forged, member.email, password).content.decode()
