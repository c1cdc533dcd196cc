"""Bob borrows Alice's drill, from the request to the return, each in their own browser
(two contexts, two sessions), on a phone-sized screen."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from exchanges.models import Exchange, State
from listings.models import Terms
from tests.factories import PASSWORD, ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}


def log_in(context, base_url: str, email: str):
    page = context.new_page()
    page.goto(base_url + "/accounts/login/")
    page.get_by_label(re.compile("Email", re.I)).fill(email)
    page.get_by_label(re.compile(r"^Password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In|Log in", re.I)).click()
    expect(page).not_to_have_url(re.compile("/accounts/login/"))
    return page


def click_action(page, name: str) -> None:
    # Some actions ask for confirmation (form[data-confirm]): say yes.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=name).click()


def test_bob_borrows_alices_drill_from_request_to_return(browser, live_server, output_path):
    alice = MemberFactory(display_name="Alice", email="alice@example.com")
    MemberFactory(display_name="Bob", email="bob@example.com")
    drill = ListingFactory(owner=alice, terms=Terms.LEND, title="Bosch cordless drill",
                           price_cents=300, deposit_cents=5000)
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    alice_context, bob_context = browser.new_context(**PHONE), browser.new_context(**PHONE)
    try:
        bob = log_in(bob_context, live_server.url, "bob@example.com")
        alice_page = log_in(alice_context, live_server.url, "alice@example.com")

        # Bob asks for three days, starting tomorrow.
        start = timezone.localdate() + timedelta(days=1)
        end = start + timedelta(days=2)
        bob.goto(live_server.url + drill.get_absolute_url())
        expect(bob.get_by_role("heading", name="Availability")).to_be_visible()
        expect(bob.locator(".request-panel")).to_contain_text("Pay in person")
        bob.get_by_label("From").fill(start.isoformat())
        bob.get_by_label("Until").fill(end.isoformat())
        bob.get_by_label("Message to the owner").fill("For the shelves, I can pick it up at 6 pm.")
        assert bob.evaluate("document.documentElement.scrollWidth") <= 390
        shot(bob, "bob-asks-for-the-drill")
        bob.get_by_role("button", name="Send the request").click()
        expect(bob.locator("#exchange-state")).to_have_text("Requested")
        expect(bob.locator(".exchange-facts")).to_contain_text("9.00 €")
        expect(bob.get_by_role("button", name="Withdraw my request")).to_be_visible()

        # Alice finds it on My exchanges and accepts.
        alice_page.goto(live_server.url + "/exchanges/")
        alice_page.get_by_role("link", name=re.compile("Bosch cordless drill")).click()
        expect(alice_page.locator(".exchange-message")).to_contain_text("For the shelves")
        click_action(alice_page, "Accept")
        expect(alice_page.locator("#exchange-state")).to_have_text("Accepted")

        # The listing's calendar now shows the days as lent, for everyone.
        bob.goto(live_server.url + drill.get_absolute_url())
        expect(bob.locator(f'td[data-date="{start.isoformat()}"]')).to_have_attribute("data-status", "taken")

        # Hand-over, then the return.
        alice_page.goto(live_server.url + Exchange.objects.get().get_absolute_url())
        click_action(alice_page, "Confirm the hand-over")
        expect(alice_page.locator("#exchange-state")).to_have_text("In progress")
        click_action(alice_page, "Confirm it was returned")
        expect(alice_page.locator("#exchange-state")).to_have_text("Completed")
        assert alice_page.evaluate("document.documentElement.scrollWidth") <= 390
        assert shot(alice_page, "alice-exchange-completed").stat().st_size > 10_000

        # Bob sees the completed loan and its whole timeline.
        bob.goto(live_server.url + "/exchanges/")
        bob.get_by_role("link", name=re.compile("Bosch cordless drill")).click()
        expect(bob.locator("#exchange-state")).to_have_text("Completed")
        timeline = bob.locator(".timeline")
        for step in ("Asked", "Accepted", "Confirmed the hand-over", "Confirmed it was returned"):
            expect(timeline).to_contain_text(step)
        expect(bob.get_by_text("This exchange is over.")).to_be_visible()
        assert bob.evaluate("document.documentElement.scrollWidth") <= 390
        assert shot(bob, "bob-exchange-completed").stat().st_size > 10_000
    finally:
        alice_context.close()
        bob_context.close()

    assert Exchange.objects.get().state == State.COMPLETED
