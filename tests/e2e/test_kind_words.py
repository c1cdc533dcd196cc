"""What a visitor reads of a ride two of whose three seats are booked, and of a wanted
post, on a 360 px phone, in English and in French."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from exchanges import services as es
from listings.models import Kind, Terms
from tests.e2e.test_chat import signed_in_context
from tests.factories import ListingFactory, MemberFactory, RideFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {"card": "1 seat left of 3", "left": "Seats left", "booked": "(2 booked)", "wanted": "To borrow"},
    "fr": {"card": "1 place restante sur 3", "left": "Places restantes", "booked": "(2 réservées)",
           "wanted": "À emprunter"},
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_half_full_ride_and_a_wanted_post_read_right(browser, live_server, output_path, language):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    words = WORDS[language]
    ride = RideFactory(owner=MemberFactory(display_name="Alice"), seats=3, title="Annecy to Lyon")
    booking = es.exchange_request(listing=ride, asker=MemberFactory(), seats=2)
    es.exchange_accept(exchange=booking, by=ride.owner)
    wanted = ListingFactory(kind=Kind.WANTED, terms=Terms.LEND, condition="", title="Looking for a ladder")
    context = signed_in_context(browser, live_server.url, MemberFactory(),
                                viewport={"width": 360, "height": 640})
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/listings/?kind=ride")
        card = page.locator(f"#listing-{ride.pk}")
        expect(card).to_contain_text(words["card"])
        card.screenshot(path=str(folder / f"ride-card-{language}.png"))

        page.goto(live_server.url + ride.get_absolute_url())
        expect(page.locator(".facts")).to_contain_text(words["left"])
        expect(page.locator("#ride-seats-left")).to_contain_text(words["booked"])
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(folder / f"ride-page-{language}.png"), full_page=True)

        page.goto(f"{live_server.url}/listings/?kind=wanted")
        wanted_card = page.locator(f"#listing-{wanted.pk}")
        expect(wanted_card).to_contain_text(words["wanted"])
        wanted_card.screenshot(path=str(folder / f"wanted-card-{language}.png"))
    finally:
        context.close()
