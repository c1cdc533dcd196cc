"""On a 360 px phone, in English and French: search finds what was typed (accents,
plurals, the category's name), and a search that finds nothing says so, offers a
broader one that works, and lets a member save it."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from tests.factories import ListingFactory, MemberFactory, category

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

NORTH_OF_ANNECY = (46.05, 6.1294)  # about 17 km from the centre

WORDS = {
    "en": {"broader": "Within 25 km instead of 10 km", "save": "Save this search",
           "nothing": "Nothing matches “vélos électriques” yet."},
    "fr": {"broader": "Dans un rayon de 25\u00a0km au lieu de 10\u00a0km",
           "save": "Enregistrer cette recherche",
           "nothing": "Rien ne correspond encore à «\u00a0vélos électriques\u00a0»."},
}


def assert_fits(page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


@pytest.mark.parametrize("language", ["en", "fr"])
def test_search_finds_what_was_typed_and_offers_a_broader_search(page, live_server,
                                                                 screenshot, language):
    ListingFactory(title="Vélo électrique de ville", category=category("bikes"),
                   lat=NORTH_OF_ANNECY[0], lng=NORTH_OF_ANNECY[1])
    ListingFactory(title="Cargo bike", category=category("bikes"))
    member = MemberFactory(display_name="Camille")
    client = Client()
    client.force_login(member)
    page.context.add_cookies([
        {"name": settings.SESSION_COOKIE_NAME,
         "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "url": live_server.url},
        {"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url},
    ])
    page.set_viewport_size({"width": 360, "height": 740})
    words = WORDS[language]

    # Plural, no accent: the title's "Vélo", and the category (Bikes / Vélos).
    page.goto(live_server.url + "/listings/?q=velos")
    expect(page.locator(".grid")).to_contain_text("Vélo électrique de ville")
    expect(page.locator(".grid")).to_contain_text("Cargo bike")
    assert_fits(page, 360)
    screenshot(f"search-velos-{language}")

    page.goto(live_server.url + "/listings/?q=vélos+électriques&near=Annecy&radius=10")
    expect(page.get_by_text(words["nothing"])).to_be_visible()
    expect(page.locator(".empty-state").get_by_role("button", name=words["save"])).to_be_visible()
    assert_fits(page, 360)
    screenshot(f"search-empty-{language}")

    page.get_by_role("link", name=words["broader"]).click()
    expect(page.locator(".grid")).to_contain_text("Vélo électrique de ville")
    assert "radius=25" in page.url
    assert_fits(page, 360)
