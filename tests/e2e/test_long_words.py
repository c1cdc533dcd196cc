"""Whatever a member writes, however long its words, wraps: no page scrolls sideways on a
360 px or 390 px phone, in English or in French. Every field members write into (names,
bio, neighbourhood, titles, descriptions, places, ride towns, request messages, notes,
chat messages, reviews and replies, saved search names, time bank notes) holds one long
unbroken word; the profile goes through its form, the rest is built with the factories
and services."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.http import QueryDict
from django.urls import reverse
from playwright.sync_api import expect

from exchanges import services as es
from exchanges.models import State
from ledger.services import transfer_post
from listings.models import Terms
from listings.saved_searches import saved_search_create
from messaging.conversations import conversation_for_listing, message_post
from reviews.services import review_reply, review_submit
from tests.exchanges.factories import make_exchange
from tests.factories import PASSWORD, ListingFactory, MemberFactory, RideFactory, ServiceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def word(stem: str, length: int) -> str:
    """One word of `length` letters, with no place to break."""
    return (stem + "x" * length)[:length]


SIZES = [(360, 640), (390, 844)]


@pytest.fixture
def long_words():
    alice = MemberFactory(email="alice@example.com", display_name="Alice")
    bob = MemberFactory(email="bob@example.com", display_name=word("Bobby", 60),
                        bio=word("Biography", 600), neighbourhood=word("Quartier", 80))
    drill = ListingFactory(owner=alice, terms=Terms.LEND, title=word("Perceuse", 120),
                           description=word("Description", 4000), place_name=word("Lieu", 120))
    RideFactory(owner=alice, title=word("Covoiturage", 120), origin_name=word("Depart", 120),
                destination_name=word("Arrivee", 120))
    ServiceFactory(owner=bob, title=word("Service", 120))
    loan = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                         message=word("Request", 2000))
    es.exchange_complete(exchange=loan, by=alice, note=word("Note", 2000))
    review_submit(exchange=loan, author=alice, rating=5, text=word("Review", 2000))
    theirs = review_submit(exchange=loan, author=bob, rating=4, text=word("Avis", 2000))
    review_reply(review=theirs, by=alice, text=word("Reply", 2000))
    transfer_post(payer=bob, payee=alice, minutes=30, idempotency_key="long-words-1",
                  note=word("Thanks", 280))
    saved_search_create(member=alice, data=QueryDict(f"q={word('Search', 150)}"))
    conversation = conversation_for_listing(listing=drill, member=bob)
    message_post(conversation=conversation, sender=bob, body=word("Message", 4000))
    return {"alice": alice, "bob": bob, "drill": drill, "loan": loan,
            "conversation": conversation}


def page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_no_page_scrolls_sideways_whatever_members_write(browser, live_server, long_words,
                                                          locale, output_path):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale=locale,
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + reverse("account_login"))
        page.locator("input[name=login]").fill("alice@example.com")
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form:has(input[name=login]) [type=submit]").first.click()
        expect(page).not_to_have_url(re.compile("/accounts/login/"))
        # Alice's own name and bio go through the profile form.
        page.goto(live_server.url + reverse("members:edit"))
        page.locator("#id_display_name").fill(word("Alicia", 60))
        page.locator("#id_bio").fill(word("Apropos", 600))
        page.locator("#id_neighbourhood").fill(word("Voisinage", 80))
        page.locator("form:has(#id_display_name) [type=submit]").first.click()
        expect(page.locator("h1")).to_contain_text(word("Alicia", 60)[:20])

        w = long_words
        pages = {
            "listing": reverse("listings:detail", args=[w["drill"].pk]),
            "home": reverse("home"),
            "browse": reverse("listings:list"),
            "mine": reverse("listings:mine"),
            "own-profile": reverse("members:profile", args=[w["alice"].pk]),
            "profile": reverse("members:profile", args=[w["bob"].pk]),
            "conversation": w["conversation"].get_absolute_url(),
            "inbox": reverse("conversations:inbox"),
            "reviews": reverse("reviews:member", args=[w["alice"].pk]),
            "saved": reverse("listings:saved"),
            "time": reverse("ledger:account"),
            "exchange": w["loan"].get_absolute_url(),
            "exchanges": reverse("exchanges:list"),
        }
        too_wide = []
        for width, height in SIZES:
            page.set_viewport_size({"width": width, "height": height})
            for name, path in pages.items():
                page.goto(live_server.url + path)
                if page_width(page) > width:
                    too_wide.append(f"{name} is {page_width(page)}px wide at {width}px")
                if width == 360:
                    page.screenshot(path=str(folder / f"{name}-{locale}.png"), full_page=True)
        assert not too_wide, too_wide
        # The own profile's name wraps between words' worth of letters, not letter by
        # letter beside the "Edit my profile" button.
        page.goto(live_server.url + pages["own-profile"])
        name_box = page.locator(".profile-title h1").bounding_box()
        assert name_box["width"] >= 200, f"the name is squeezed to {name_box['width']}px"
    finally:
        context.close()
