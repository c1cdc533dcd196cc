"""Alice lent Bob her drill; the loan is completed. Each reviews the other in their own
browser: Alice's review stays hers alone (marked hidden) until Bob's is in, then both
appear together, on the exchange page and on the profiles. Phone-sized screens."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from exchanges import services as es
from exchanges.models import State
from listings.models import Terms
from reviews.models import Review
from tests.e2e.test_borrow_journey import PHONE, log_in
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def write_review(page, stars: str, text: str, name: str) -> None:
    panel = page.locator("#reviews")
    panel.get_by_label(stars).check()
    panel.get_by_label("Your review").fill(text)
    panel.get_by_role("button", name=f"Publish my review of {name}").click()


def test_alice_and_bob_review_each_other_and_both_appear_at_once(browser, live_server, output_path):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    alice = MemberFactory(display_name="Alice", email="alice@example.com")
    bob_member = MemberFactory(display_name="Bob", email="bob@example.com")
    drill = ListingFactory(owner=alice, terms=Terms.LEND, title="Bosch cordless drill",
                           price_cents=300)
    loan = make_exchange(listing=drill, asker=bob_member, state=State.IN_PROGRESS)
    es.exchange_complete(exchange=loan, by=alice)  # autocommit here: the signal fires
    exchange_url = live_server.url + loan.get_absolute_url()

    alice_context, bob_context = browser.new_context(**PHONE), browser.new_context(**PHONE)
    try:
        alice_page = log_in(alice_context, live_server.url, "alice@example.com")
        bob = log_in(bob_context, live_server.url, "bob@example.com")

        # Alice reviews first: she sees hers, marked hidden; Bob sees nothing of it.
        alice_page.goto(exchange_url)
        expect(alice_page.locator("#reviews")).to_contain_text("You have 14 days left")
        shot(alice_page, "review-form")
        write_review(alice_page, "5 stars: excellent", "Bob brought it back <b>clean</b>.", "Bob")
        panel = alice_page.locator("#reviews")
        expect(panel).to_contain_text("Bob brought it back <b>clean</b>.")
        expect(panel.locator(".review-status")).to_have_text(
            "Hidden until published: only you can see it for now.")
        assert alice_page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(alice_page, "alice-waiting")

        bob.goto(exchange_url)
        expect(bob.locator("#reviews")).not_to_contain_text("brought it back")
        bob.goto(live_server.url + reverse("members:profile", args=[bob_member.pk]))
        expect(bob.locator("#reputation")).to_contain_text("Bob has no reviews yet.")

        # Bob reviews: both are published together.
        bob.goto(exchange_url)
        write_review(bob, "4 stars: good", "The drill worked perfectly.", "Alice")
        bob_panel = bob.locator("#reviews")
        expect(bob_panel).to_contain_text("The drill worked perfectly.")
        expect(bob_panel).to_contain_text("Bob brought it back <b>clean</b>.")
        expect(bob_panel.locator(".review-status")).to_have_count(0)
        expect(bob.locator(".messages")).to_contain_text("Both reviews are now published.")
        assert bob.evaluate("document.documentElement.scrollWidth") <= 390

        # Alice sees both at once, and replies to Bob's.
        alice_page.goto(exchange_url)
        panel = alice_page.locator("#reviews")
        expect(panel).to_contain_text("The drill worked perfectly.")
        expect(panel.locator(".review-status")).to_have_count(0)
        panel.get_by_label("Your public reply").fill("Thanks Bob, any time!")
        panel.get_by_role("button", name="Publish my reply").click()
        expect(alice_page.locator("#reviews")).to_contain_text("Reply from Alice")
        shot(alice_page, "both-published")

        # The profiles show the figures and the latest reviews.
        alice_page.goto(live_server.url + reverse("members:profile", args=[alice.pk]))
        reputation = alice_page.locator("#reputation")
        expect(reputation).to_contain_text("4.0 out of 5")
        expect(reputation).to_contain_text("As lender")
        expect(reputation).to_contain_text("The drill worked perfectly.")
        assert alice_page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(alice_page, "alice-profile")

        # Search results show her rating on the card.
        ListingFactory(owner=alice, terms=Terms.LEND, title="Garden ladder")
        bob.goto(live_server.url + "/listings/?q=ladder")
        expect(bob.locator(".card").first).to_contain_text("4.0")
        shot(bob, "search-card")
    finally:
        alice_context.close()
        bob_context.close()

    assert Review.objects.filter(published_at__isnull=False).count() == 2
