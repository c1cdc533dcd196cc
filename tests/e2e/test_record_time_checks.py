"""Bob mows Alice's lawn (1 h agreed) and types 9 h by mistake: the page asks him to
confirm, he corrects it to 1 h 30, and Alice's page reads the correction as one. On a
360 px phone, in English and in French."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from exchanges import services as es
from tests.e2e.test_chat import signed_in_context
from tests.factories import MemberFactory, ServiceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {"field": "Time spent (hours)", "record": "Record the time spent", "correct": "Correct the time",
           "why": "You agreed on 1 h and recorded 9 h", "tick": "Yes, it really took 9 h",
           "corrected": "Corrected the time spent", "line": "Time spent: 1 h 30 (instead of 9 h)."},
    "fr": {"field": "Temps passé (heures)", "record": "Indiquer le temps passé", "correct": "Corriger le temps",
           "why": "Vous étiez convenus de 1 h et vous indiquez 9 h\u00a0:", "tick": "Oui, cela a vraiment pris 9 h",
           "corrected": "Temps passé corrigé", "line": "Temps passé\u00a0: 1 h 30 (au lieu de 9 h)."},
}


@pytest.mark.parametrize("language", ["en", "fr"])
def test_a_far_time_is_asked_and_the_correction_reads_as_one(browser, live_server, output_path, language):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    words = WORDS[language]
    bob, alice = MemberFactory(display_name="Bob"), MemberFactory(display_name="Alice")
    mowing = ServiceFactory(owner=bob, title="Lawn mowing", hours_minutes=60)
    trade = es.exchange_request(listing=mowing, asker=alice)
    es.exchange_accept(exchange=trade, by=bob)
    es.exchange_start(exchange=trade, by=bob)
    url = live_server.url + trade.get_absolute_url()
    phone = {"viewport": {"width": 360, "height": 640}}
    contexts = [signed_in_context(browser, live_server.url, member, **phone) for member in (bob, alice)]
    for context in contexts:
        context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language,
                              "url": live_server.url}])
    try:
        bob_page, alice_page = (context.new_page() for context in contexts)
        bob_page.goto(url)
        bob_page.get_by_label(words["field"]).fill("9")
        bob_page.get_by_role("button", name=words["record"]).last.click()
        expect(bob_page.locator("#service-time")).to_contain_text(words["why"])
        tick = bob_page.get_by_label(words["tick"])
        expect(tick).not_to_be_checked()
        assert bob_page.evaluate("document.documentElement.scrollWidth") <= 360
        bob_page.locator("#service-time").screenshot(path=str(folder / f"bob-asked-to-confirm-{language}.png"))

        # He ticks it (it did feel like 9 h), then sees his slip and corrects it.
        tick.check()
        bob_page.get_by_role("button", name=words["record"]).last.click()
        expect(bob_page.locator("#service-actual-time")).to_have_text("9 h")
        bob_page.get_by_label(words["field"]).fill("1:30")
        bob_page.get_by_role("button", name=words["correct"]).click()
        expect(bob_page.locator("#service-actual-time")).to_have_text("1 h 30")

        alice_page.goto(url)
        last = alice_page.locator(".timeline-event").last
        expect(last).to_contain_text(words["corrected"])
        expect(last).to_contain_text(words["line"])
        alice_page.screenshot(path=str(folder / f"alice-sees-the-correction-{language}.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()
