"""Bob asked to borrow Alice's drill. Each has a phone and a laptop open (four browser
contexts, two sessions each). When Alice opens the request on her phone, her laptop's
badge drops; when she accepts, Bob's open exchange page and his laptop's My exchanges
follow without a reload, and her laptop's notification list no longer asks her to act.

Runs the real ASGI application (daphne, HTTP and websockets) like the chat journeys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from exchanges import services as es
from listings.models import Terms
from tests.e2e.test_chat import signed_in_context
from tests.factories import ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SMALL_PHONE = {"viewport": {"width": 360, "height": 640}}
LAPTOP = {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False,
          "device_scale_factor": 1}


def _french(context, base_url: str) -> None:
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "fr", "url": base_url}])


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_deal_follows_its_state_live_on_every_device(browser, asgi_server, output_path, language):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, terms=Terms.LEND, title="Bosch cordless drill")
    tomorrow = timezone.localdate() + timedelta(days=1)
    loan = es.exchange_request(listing=drill, asker=bob, start_date=tomorrow,
                               end_date=tomorrow + timedelta(days=1))
    url = f"{asgi_server}{loan.get_absolute_url()}"
    words = {
        "en": {"requested": "Requested", "accepted": "Accepted", "answer": "Answer before",
               "action": "Action needed", "accept": "Accept"},
        "fr": {"requested": "Demandé", "accepted": "Accepté", "answer": "Répondre avant",
               "action": "Action attendue", "accept": "Accepter"},
    }[language]

    contexts = [
        signed_in_context(browser, asgi_server, alice, **SMALL_PHONE),
        signed_in_context(browser, asgi_server, alice, **LAPTOP),
        signed_in_context(browser, asgi_server, bob, **SMALL_PHONE),
        signed_in_context(browser, asgi_server, bob, **LAPTOP),
    ]
    if language == "fr":
        for context in contexts:
            _french(context, asgi_server)
    alice_phone, alice_laptop, bob_phone, bob_laptop = (c.new_page() for c in contexts)
    try:
        alice_laptop.goto(f"{asgi_server}/notifications/")
        badge = alice_laptop.locator('[data-live-count="notifications"]').first
        expect(badge).to_have_text("1")
        expect(alice_laptop.locator(".notification").first).to_contain_text(words["action"])

        bob_phone.goto(url)
        expect(bob_phone.locator("#exchange-state")).to_have_text(words["requested"])
        expect(bob_phone.locator(".exchange-facts")).to_contain_text(words["answer"])
        bob_laptop.goto(f"{asgi_server}/exchanges/")
        expect(bob_laptop.locator(".exchange-row")).to_contain_text(words["requested"])

        # Alice opens the request on her phone: read there, the laptop's badge drops.
        alice_phone.goto(url)
        expect(badge).to_be_hidden()
        # Still to be answered: the list still says so.
        expect(alice_laptop.locator(".notification").first).to_contain_text(words["action"])

        alice_phone.once("dialog", lambda dialog: dialog.accept())
        alice_phone.get_by_role("button", name=words["accept"], exact=True).click()
        expect(alice_phone.locator("#exchange-state")).to_have_text(words["accepted"])

        # Bob's open page follows, without a reload; so does his laptop's list.
        expect(bob_phone.locator("#exchange-state")).to_have_text(words["accepted"])
        expect(bob_phone.locator(".exchange-facts")).not_to_contain_text(words["answer"])
        expect(bob_phone.locator(".timeline-event")).to_have_count(2)
        expect(bob_laptop.locator(".exchange-row")).to_contain_text(words["accepted"])
        # Bob's phone got a new notification (the acceptance): its badge shows it live.
        expect(bob_phone.locator('[data-live-count="notifications"]').first).to_have_text("1")
        # Answered: Alice's laptop no longer asks her to act.
        expect(alice_laptop.locator(".notification").first).not_to_contain_text(words["action"])

        assert bob_phone.evaluate("document.documentElement.scrollWidth") <= 360
        bob_phone.screenshot(path=str(folder / f"bob-phone-accepted-live-{language}.png"), full_page=True)
        alice_laptop.screenshot(path=str(folder / f"alice-laptop-notifications-{language}.png"))
    finally:
        for context in contexts:
            context.close()
