"""Alice mows Bob's lawn for 90 minutes, paid in time: Bob asks, Alice accepts, starts
and records the time, Bob confirms, and both see their time balances move. Each in
their own browser (two contexts, two sessions), on a phone-sized screen."""

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


def test_alice_mows_bobs_lawn_and_ninety_minutes_move(browser, live_server, output_path):
    alice = MemberFactory(display_name="Alice", email="alice@example.com")
    bob_member = MemberFactory(display_name="Bob", email="bob@example.com")
    mowing = ServiceFactory(owner=alice, title="Lawn mowing", hours_minutes=90)
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    alice_context, bob_context = browser.new_context(**PHONE), browser.new_context(**PHONE)
    try:
        bob = log_in(bob_context, live_server.url, "bob@example.com")
        alice_page = log_in(alice_context, live_server.url, "alice@example.com")

        # Bob asks for an hour and a half; it is paid in time, not money.
        bob.goto(live_server.url + mowing.get_absolute_url())
        panel = bob.locator(".request-panel")
        expect(panel).to_contain_text("Paid in time")
        bob.get_by_label("Time needed (hours)").fill("1.5")
        bob.get_by_label("Message to the provider").fill("The back garden, Saturday morning?")
        bob.get_by_role("button", name="Send the request").click()
        expect(bob.locator("#exchange-state")).to_have_text("Requested")
        expect(bob.locator(".exchange-facts")).to_contain_text("1 h 30")
        exchange_url = live_server.url + Exchange.objects.get().get_absolute_url()

        # Alice accepts, starts, and records the 90 minutes it took.
        alice_page.goto(exchange_url)
        click_action(alice_page, "Accept")
        expect(alice_page.locator("#exchange-state")).to_have_text("Accepted")
        click_action(alice_page, "Confirm the service has started")
        expect(alice_page.locator("#exchange-state")).to_have_text("In progress")
        alice_page.get_by_label("Time spent (hours)").fill("1:30")
        alice_page.get_by_role("button", name="Record the time spent").click()
        expect(alice_page.locator("#service-actual-time")).to_have_text("1 h 30")
        assert alice_page.evaluate("document.documentElement.scrollWidth") <= 390

        # Bob confirms: the time moves from his account to hers.
        bob.goto(exchange_url)
        expect(bob.locator("#service-time")).to_contain_text("1 h 30 move from your time account")
        click_action(bob, "Confirm it is done")
        expect(bob.locator("#exchange-state")).to_have_text("Completed")
        bob.screenshot(path=str(folder / "bob-service-completed.png"), full_page=True)

        # Both see their balances move on their time page.
        bob.goto(live_server.url + "/time/")
        expect(bob.locator(".time-balance")).to_have_text("−1 h 30")
        alice_page.goto(live_server.url + "/time/")
        expect(alice_page.locator(".time-balance")).to_have_text("1 h 30")
        assert bob.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        alice_context.close()
        bob_context.close()

    assert Exchange.objects.get().state == State.COMPLETED
    assert Transfer.objects.get().minutes == 90
    assert Account.objects.get(member=bob_member).balance_minutes == -90
    assert Account.objects.get(member=alice).balance_minutes == 90
    assert ledger_audit().clean
