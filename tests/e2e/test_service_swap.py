"""A direct swap of services in two browsers: Bob asks Alice to mow his lawn and offers
babysitting in return. Each records the time they gave and confirms the other's; the
trade completes with two transfers, shown on the exchange page and both statements."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from exchanges.models import Exchange, State
from ledger.audit import ledger_audit
from ledger.models import Account, Transfer
from tests.e2e.test_borrow_journey import PHONE, click_action, log_in
from tests.factories import MemberFactory, ServiceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_bob_swaps_babysitting_for_lawn_mowing(browser, live_server, output_path):
    alice = MemberFactory(display_name="Alice", email="alice@example.com")
    bob_member = MemberFactory(display_name="Bob", email="bob@example.com")
    mowing = ServiceFactory(owner=alice, title="Lawn mowing", hours_minutes=90)
    ServiceFactory(owner=bob_member, title="Babysitting", hours_minutes=120)
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    alice_context, bob_context = browser.new_context(**PHONE), browser.new_context(**PHONE)
    try:
        bob = log_in(bob_context, live_server.url, "bob@example.com")
        alice_page = log_in(alice_context, live_server.url, "alice@example.com")

        bob.goto(live_server.url + mowing.get_absolute_url())
        bob.get_by_label("Time needed (hours)").fill("1.5")
        bob.get_by_text("Babysitting", exact=True).click()
        bob.get_by_label("Time you give in return (hours)").fill("2")
        bob.screenshot(path=str(folder / "bob-asks-swap.png"), full_page=True)
        bob.get_by_role("button", name="Send the request").click()
        expect(bob.locator("#exchange-state")).to_have_text("Requested")
        exchange_url = live_server.url + Exchange.objects.get().get_absolute_url()

        alice_page.goto(exchange_url)
        click_action(alice_page, "Accept")
        click_action(alice_page, "Confirm the service has started")
        expect(alice_page.locator("#exchange-state")).to_have_text("In progress")
        alice_page.get_by_label("Time spent (hours)").fill("1:30")
        alice_page.get_by_role("button", name="Record the time you gave").click()

        bob.goto(exchange_url)
        bob.get_by_label("Time spent (hours)").fill("2")
        bob.get_by_role("button", name="Record the time you gave").click()
        bob.get_by_role("button", name="Confirm 1 h 30").click()
        expect(bob.locator(".service-trade")).to_contain_text("confirmed")
        bob.screenshot(path=str(folder / "bob-swap-half-confirmed.png"), full_page=True)

        alice_page.goto(exchange_url)
        alice_page.get_by_role("button", name="Confirm 2 h").click()
        expect(alice_page.locator("#exchange-state")).to_have_text("Completed")
        trade = alice_page.locator(".service-trade")
        expect(trade).to_contain_text("1 h 30 from Bob to Alice")
        expect(trade).to_contain_text("2 h from Alice to Bob")
        alice_page.screenshot(path=str(folder / "alice-swap-completed.png"), full_page=True)
        assert alice_page.evaluate("document.documentElement.scrollWidth") <= 390

        alice_page.goto(live_server.url + "/time/")
        expect(alice_page.locator(".time-balance")).to_have_text("−30 min")
        expect(alice_page.get_by_role("link", name="See the trade")).to_have_count(2)
        alice_page.screenshot(path=str(folder / "alice-statement.png"), full_page=True)
        bob.goto(live_server.url + "/time/")
        expect(bob.locator(".time-balance")).to_have_text("30 min")
    finally:
        alice_context.close()
        bob_context.close()

    assert Exchange.objects.get().state == State.COMPLETED
    assert Transfer.objects.count() == 2
    assert Account.objects.get(member=alice).balance_minutes == -30
    assert ledger_audit().clean
