"""What a member meets around their own listings and account, on a 360 px and a 390 px
phone, in English and French: another member's paused listing says so; a listing a
moderator removed shows its owner why and takes an appeal; photos get a cover, an order
and a delete that asks first; the time account's chart has values and days and its
lines fit; the sign-up asks to accept the terms. No page scrolls sideways."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from ledger.services import transfer_post
from listings import services as listing_services
from moderation import services as moderation
from tests.factories import PASSWORD, ListingFactory, MemberFactory, image_upload

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SIZES = [(360, 640), (390, 844)]
WORDS = {
    "en-GB": {"paused": "This listing is paused", "removed": "A moderator removed this listing",
              "appeal": "Ask the moderators to look again", "send": "Send my appeal",
              "sent": "Your appeal is sent", "cover": "Make it the cover", "delete": "Delete",
              "ask": "Delete this photo?", "keep": "Keep it", "terms": "I accept the terms of use",
              "join": "Join Partage"},
    "fr-FR": {"paused": "Cette annonce est en pause", "removed": "Un modérateur a retiré cette annonce",
              "appeal": "Demander aux modérateurs de revoir leur décision",
              "send": "Envoyer ma contestation", "sent": "Votre contestation est envoyée",
              "cover": "En faire la couverture", "delete": "Supprimer",
              "ask": "Supprimer cette photo", "keep": "La conserver",
              "terms": "J’accepte les conditions d’utilisation", "join": "Rejoindre Partage"},
}


def width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def log_in(page, base: str, email: str) -> None:
    page.goto(base + reverse("account_login"))
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=login]) [type=submit]").first.click()
    expect(page).not_to_have_url(re.compile("/accounts/login/"))


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_a_members_own_pages_on_a_phone(browser, live_server, locale):
    words = WORDS[locale]
    alice = MemberFactory(email="alice@example.com", display_name="Alice")
    bob = MemberFactory(email="bob@example.com", display_name="Bob")
    moderator = MemberFactory(is_staff=True)
    from django.contrib.auth.models import Group

    from moderation.permissions import GROUP_NAME
    moderator.groups.add(Group.objects.get(name=GROUP_NAME))
    paused = ListingFactory(owner=bob, title="Ladder", status="paused")
    removed = ListingFactory(owner=alice, title="Old pills")
    moderation.listing_hide(listing=removed, by=moderator, reason="Medicines are not allowed.")
    drill = ListingFactory(owner=alice, title="Drill")
    for name in ("first", "second"):
        listing_services.photo_add(listing=drill, by=alice, upload=image_upload(), alt_text=name)
    transfer_post(payer=bob, payee=alice, minutes=90, idempotency_key="owner-pages",
                  note="Hedge trimming")

    base = live_server.url
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale=locale,
                                  is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(base + reverse("account_signup"))
        expect(page.get_by_role("heading", name=words["join"])).to_be_visible()
        expect(page.get_by_label(re.compile(words["terms"]))).to_have_attribute("required", "")
        log_in(page, base, alice.email)
        too_wide = []
        for size in SIZES:
            page.set_viewport_size({"width": size[0], "height": size[1]})
            for path in (paused.get_absolute_url(), removed.get_absolute_url(),
                         reverse("listings:photos", args=[drill.pk]), reverse("ledger:account"),
                         reverse("account_signup")):
                response = page.goto(base + path)
                assert response.status in (200, 404)
                if width(page) > size[0]:
                    too_wide.append(f"{path} is {width(page)} px wide at {size[0]} px")
        assert not too_wide, too_wide

        # Someone else's paused listing says so.
        page.goto(base + paused.get_absolute_url())
        expect(page.get_by_role("heading", name=words["paused"])).to_be_visible()

        # Her removed listing tells her why, and she appeals.
        page.goto(base + removed.get_absolute_url())
        expect(page.get_by_text(words["removed"])).to_be_visible()
        expect(page.get_by_text("Medicines are not allowed.")).to_be_visible()
        page.get_by_role("link", name=words["appeal"]).click()
        page.locator("textarea[name=note]").fill("They are vitamins.")
        page.get_by_role("button", name=words["send"]).click()
        expect(page.get_by_text(words["sent"])).to_be_visible()

        # Photos: the second becomes the cover; a delete asks first, and keeping it keeps it.
        page.goto(base + reverse("listings:photos", args=[drill.pk]))
        page.get_by_role("button", name=re.compile(words["cover"])).click()
        expect(page.locator(".photo-grid li").first).to_contain_text("second")
        page.locator(".photo-grid li").first.get_by_role("link", name=re.compile(words["delete"])).click()
        expect(page.get_by_role("heading", name=re.compile(words["ask"]))).to_be_visible()
        page.get_by_role("link", name=re.compile(words["keep"])).click()
        expect(page.locator(".photo-grid li")).to_have_count(2)

        # The time account: the chart labels its values, the statement keeps the balance.
        page.goto(base + reverse("ledger:account"))
        expect(page.locator(".balance-chart-value").first).to_have_text("1 h 30")
        expect(page.locator(".statement-balance").first).to_be_visible()
    finally:
        context.close()
