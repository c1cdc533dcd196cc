"""Posting too often gets the 429 page, with Retry-After, and nothing is saved."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.ratelimit import parse_rate
from exchanges.models import Exchange
from listings.models import Listing
from tests.factories import ListingFactory, MemberFactory, RideFactory
from tests.listings.test_views import item_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("rate", "expected"), [("20/10s", (20, 10)), ("5/m", (5, 60)),
                                                 ("30/h", (30, 3600)), ("1/2d", (1, 172800))])
def test_rates_are_read_as_count_per_period(rate, expected):
    assert parse_rate(rate) == expected


def test_listing_posts_over_the_limit_get_429_and_save_nothing(settings, member_client):
    settings.PARTAGE_RATE_LIMITS = {**settings.PARTAGE_RATE_LIMITS, "listing_create": "2/h"}
    url = reverse("listings:create-kind", args=["item"])
    for _ in range(2):
        assert member_client.post(url, item_post()).status_code == 302
    response = member_client.post(url, item_post())
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Nothing was saved" in response.content.decode()
    assert Listing.objects.count() == 2
    # Reading the form is not posting: still allowed.
    assert member_client.get(url).status_code == 200


def test_limits_count_per_member(settings, client):
    settings.PARTAGE_RATE_LIMITS = {**settings.PARTAGE_RATE_LIMITS, "listing_create": "1/h"}
    url = reverse("listings:create-kind", args=["item"])
    for _ in range(2):
        client.force_login(MemberFactory())
        assert client.post(url, item_post()).status_code == 302


def test_exchange_requests_over_the_limit_get_429(settings, client):
    settings.PARTAGE_RATE_LIMITS = {**settings.PARTAGE_RATE_LIMITS, "exchange_request": "1/h"}
    owner, asker = MemberFactory(), MemberFactory()
    rides = [RideFactory(owner=owner, seats=3, departs_at=timezone.now() + timedelta(days=2))
             for _ in range(2)]
    client.force_login(asker)
    first = client.post(reverse("exchanges:request", args=[rides[0].pk]), {"ask-seats": "1"})
    assert first.status_code == 302
    second = client.post(reverse("exchanges:request", args=[rides[1].pk]), {"ask-seats": "1"})
    assert second.status_code == 429
    assert Exchange.objects.count() == 1


def test_failed_log_ins_pause_the_address_for_that_account_for_a_while(client, member, password):
    # Per address and account: tests/members/test_login_limits.py shows the owner elsewhere
    # still gets in.
    for _ in range(5):
        client.post(reverse("account_login"), {"login": member.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": member.email, "password": password})
    assert "Too many failed attempts to sign in to this account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_log_in_floods_get_our_429_page(settings, client, member):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "2/m/ip"}
    for _ in range(2):
        client.post(reverse("account_login"), {"login": member.email, "password": "wrong"})
    response = client.post(reverse("account_login"), {"login": member.email, "password": "wrong"})
    assert response.status_code == 429
    assert "That was a lot in a short time" in response.content.decode()


def test_sign_up_floods_get_429(settings, client):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "1/h/ip"}
    data = {"email": "new1@example.com", "password1": "a-Long-pass-123", "password2": "a-Long-pass-123",
            "display_name": "New", "accept_terms": "on"}
    client.post(reverse("account_signup"), data)
    client.logout()
    response = client.post(reverse("account_signup"), {**data, "email": "new2@example.com"})
    assert response.status_code == 429


def test_password_reset_floods_get_429(settings, client, member):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "reset_password": "1/m/ip"}
    client.post(reverse("account_reset_password"), {"email": member.email})
    response = client.post(reverse("account_reset_password"), {"email": member.email})
    assert response.status_code == 429


def test_reports_over_the_configured_limit_get_429_and_save_nothing(client):
    """The configured 10 reports an hour, as shipped: the 11th is refused."""
    from moderation.models import Report

    reporter, owner = MemberFactory(), MemberFactory()
    listings = [ListingFactory(owner=owner) for _ in range(11)]
    client.force_login(reporter)
    statuses = [client.post(reverse("moderation:report", args=["listing", listing.pk]),
                            {"reason": "spam"}).status_code for listing in listings]
    assert statuses == [302] * 10 + [429]
    assert Report.objects.count() == 10


def test_sending_hours_over_the_limit_gets_429_and_moves_nothing(settings, client):
    from ledger.models import Transfer

    settings.PARTAGE_RATE_LIMITS = {**settings.PARTAGE_RATE_LIMITS, "send_hours": "2/h"}
    payer, payee = MemberFactory(), MemberFactory()
    client.force_login(payer)

    def send():
        return client.post(reverse("ledger:send"), {
            "to": payee.pk, "hours": "5 min", "note": "Thanks", "token": str(uuid.uuid4())})

    assert [send().status_code for _ in range(3)] == [302, 302, 429]
    assert Transfer.objects.count() == 2


def test_avatar_uploads_over_the_limit_get_429_and_change_nothing(settings, client):
    from tests.factories import image_upload

    settings.PARTAGE_RATE_LIMITS = {**settings.PARTAGE_RATE_LIMITS, "profile_edit": "2/h"}
    member = MemberFactory(display_name="Before")
    client.force_login(member)

    def upload(name):
        return client.post(reverse("members:edit"), {
            "display_name": name, "bio": "", "neighbourhood": "", "languages": "",
            "avatar": image_upload()})

    assert [upload("One").status_code, upload("Two").status_code] == [302, 302]
    member.refresh_from_db()
    avatar = member.avatar.name
    response = upload("Three")
    assert response.status_code == 429
    assert "Nothing was saved" in response.content.decode()
    member.refresh_from_db()
    assert (member.display_name, member.avatar.name) == ("Two", avatar)


def test_the_refusal_is_explained_in_french(settings, client):
    settings.PARTAGE_RATE_LIMITS = {**settings.PARTAGE_RATE_LIMITS, "report": "0/h"}
    client.force_login(MemberFactory())
    listing = ListingFactory()
    response = client.post(reverse("moderation:report", args=["listing", listing.pk]),
                           {"reason": "spam"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 429
    assert "Cela fait beaucoup en peu de temps" in response.content.decode()
