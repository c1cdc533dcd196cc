"""Alice and Bob chat live, each in their own browser, on phone-sized screens; Carol,
who is not in the conversation, gets a 404.

pytest-django's live server speaks WSGI only, so this journey runs the real ASGI
application (HTTP and websockets) in daphne, in a thread of the test process: it shares
the test database like the live server would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from messaging import conversations
from tests.factories import ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}


def signed_in_context(browser, base_url: str, member, **options):
    client = Client()
    client.force_login(member)
    context = browser.new_context(**{**PHONE, **options})
    context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": base_url,
    }])
    return context


def test_alice_and_bob_chat_live_and_carol_cannot_look(browser, asgi_server, output_path):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> None:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    carol = MemberFactory(display_name="Carol")
    drill = ListingFactory(owner=alice, title="Bosch cordless drill")
    conversation = conversations.conversation_for_listing(listing=drill, member=bob)
    conversations.message_post(conversation=conversation, sender=bob,
                               body="Hello! Is the drill free on Saturday?")
    url = f"{asgi_server}/messages/{conversation.pk}/"

    alice_context = signed_in_context(browser, asgi_server, alice)
    bob_context = signed_in_context(browser, asgi_server, bob)
    carol_context = signed_in_context(browser, asgi_server, carol)
    try:
        alice_page = alice_context.new_page()
        bob_page = bob_context.new_page()
        alice_page.goto(url)
        bob_page.goto(url)
        expect(alice_page.locator("#chat.chat-live")).to_be_visible()
        expect(bob_page.locator("#chat.chat-live")).to_be_visible()

        # Alice starts typing: Bob sees it.
        alice_page.get_by_label("Your message").fill("Yes, it is")
        expect(bob_page.locator("[data-chat-typing]")).to_have_text("Alice is typing…")

        # She sends it (over the socket: the page does not reload) and Bob gets it.
        alice_page.get_by_label("Your message").fill("Yes, it is. <b>Come at 10</b>")
        alice_page.get_by_role("button", name="Send").click()
        bob_message = bob_page.locator(".chat-msg", has_text="Come at 10")
        expect(bob_message).to_be_visible()
        expect(bob_message.locator(".chat-body")).to_have_text("Yes, it is. <b>Come at 10</b>")
        expect(bob_page.locator("[data-chat-typing]")).to_have_text("")
        own = alice_page.locator(".chat-msg-own", has_text="Come at 10")
        expect(own).to_have_attribute("data-id", re.compile(r"^\d+$"))

        # Bob's page is open, so he has read it: Alice sees "Seen" under her message.
        expect(own.locator("[data-chat-seen]")).to_have_text("Seen")

        # Bob answers; it reaches Alice live too.
        bob_page.get_by_label("Your message").fill("Perfect, see you then")
        bob_page.keyboard.press("Enter")
        expect(alice_page.locator(".chat-msg", has_text="Perfect, see you then")).to_be_visible()
        assert "Perfect" not in alice_page.get_by_label("Your message").input_value()

        # A web address arriving live is a link, as in the history; other text is not.
        bob_page.get_by_label("Your message").fill("Map: https://example.org/map?at=10. <i>x</i>")
        bob_page.keyboard.press("Enter")
        live = alice_page.locator(".chat-msg", has_text="Map:").locator(".chat-body")
        expect(live.get_by_role("link", name="https://example.org/map?at=10")).to_have_attribute(
            "href", "https://example.org/map?at=10")
        expect(live).to_have_text("Map: https://example.org/map?at=10. <i>x</i>")
        expect(live.locator("i")).to_have_count(0)
        shot(alice_page, "chat-alice")
        shot(bob_page, "chat-bob")

        # Carol is not in it.
        carol_page = carol_context.new_page()
        response = carol_page.goto(url)
        assert response.status == 404
        assert "Come at 10" not in carol_page.content()

        # The inbox, after the chat.
        alice_page.goto(f"{asgi_server}/messages/")
        expect(alice_page.get_by_role("link", name=re.compile("Bosch cordless drill"))).to_be_visible()
        shot(alice_page, "inbox")
    finally:
        alice_context.close()
        bob_context.close()
        carol_context.close()


def test_the_inbox_follows_new_messages_and_reads_on_other_devices(browser, asgi_server):
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, title="Bosch cordless drill")
    ladder = ListingFactory(owner=alice, title="Aluminium ladder")
    about_drill = conversations.conversation_for_listing(listing=drill, member=bob)
    about_ladder = conversations.conversation_for_listing(listing=ladder, member=bob)
    conversations.message_post(conversation=about_drill, sender=bob, body="Drill on Saturday?")
    conversations.message_post(conversation=about_ladder, sender=bob, body="And the ladder?")
    alice_phone = signed_in_context(browser, asgi_server, alice)
    alice_laptop = signed_in_context(browser, asgi_server, alice)
    try:
        inbox = alice_laptop.new_page()
        inbox.goto(f"{asgi_server}/messages/")
        rows = inbox.locator(".inbox-row")
        expect(rows.first).to_contain_text("Aluminium ladder")
        expect(inbox.locator(".inbox-unread")).to_have_count(2)

        # Bob writes again about the drill: on the open inbox it comes first, unread.
        conversations.message_post(conversation=about_drill, sender=bob, body="Or Sunday?")
        expect(rows.first).to_contain_text("Bosch cordless drill")
        expect(rows.first).to_contain_text("Or Sunday?")
        expect(rows.first).to_contain_text("2 unread")

        # Alice reads it on her phone: the laptop's inbox drops its unread mark.
        phone = alice_phone.new_page()
        phone.goto(f"{asgi_server}/messages/{about_drill.pk}/")
        expect(phone.locator("#chat.chat-live")).to_be_visible()
        expect(rows.first).not_to_contain_text("unread")
        expect(inbox.locator(".inbox-unread")).to_have_count(1)
    finally:
        alice_phone.close()
        alice_laptop.close()


def test_live_messages_show_the_same_time_as_the_history_whatever_the_devices_zone(
    browser, asgi_server
):
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, title="Bosch cordless drill")
    conversation = conversations.conversation_for_listing(listing=drill, member=bob)
    url = f"{asgi_server}/messages/{conversation.pk}/"
    # Neither device is set to the site's zone (Europe/Paris), nor to each other's.
    alice_context = signed_in_context(browser, asgi_server, alice, timezone_id="America/New_York")
    bob_context = signed_in_context(browser, asgi_server, bob, timezone_id="Asia/Tokyo")
    try:
        alice_page, bob_page = alice_context.new_page(), bob_context.new_page()
        alice_page.goto(url)
        bob_page.goto(url)
        expect(alice_page.locator("#chat.chat-live")).to_be_visible()
        expect(bob_page.locator("#chat.chat-live")).to_be_visible()
        alice_page.get_by_label("Your message").fill("Ten o'clock then")
        alice_page.get_by_role("button", name="Send").click()
        live = bob_page.locator(".chat-msg", has_text="Ten o'clock then").locator("time")
        expect(live).to_be_visible()
        shown_live = live.inner_text()

        bob_page.reload()
        rendered = bob_page.locator(".chat-msg", has_text="Ten o'clock then").locator("time")
        assert shown_live == rendered.inner_text()
    finally:
        alice_context.close()
        bob_context.close()


def test_bob_answers_a_wanted_post_and_alice_asks_for_his_listing(browser, asgi_server, output_path):
    from exchanges.models import Exchange
    from listings.models import Kind, Terms

    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    wanted = ListingFactory(owner=alice, kind=Kind.WANTED, terms=Terms.SELL,
                            title="Looking for a lawn mower")
    ListingFactory(owner=bob, terms=Terms.SELL, price_cents=4000, title="Honda lawn mower")

    bob_context = signed_in_context(browser, asgi_server, bob)
    alice_context = signed_in_context(browser, asgi_server, alice)
    try:
        bob_page = bob_context.new_page()
        bob_page.goto(f"{asgi_server}{wanted.get_absolute_url()}")
        bob_page.get_by_role("link", name="Answer").click()
        bob_page.get_by_label("Your answer").fill("Mine is two years old and works well.")
        bob_page.get_by_label("Offer one of your listings (optional)").select_option(
            label="Honda lawn mower"
        )
        bob_page.screenshot(path=str(folder / "wanted-answer.png"), full_page=True)
        bob_page.get_by_role("button", name="Send my answer").click()
        expect(bob_page.locator(".chat-msg", has_text="two years old")).to_be_visible()

        alice_page = alice_context.new_page()
        alice_page.goto(f"{asgi_server}/messages/")
        alice_page.get_by_role("link", name=re.compile("Looking for a lawn mower")).click()
        expect(alice_page.locator(".chat-attached")).to_contain_text("Honda lawn mower")
        alice_page.screenshot(path=str(folder / "wanted-conversation.png"), full_page=True)
        alice_page.get_by_role("button", name="Request this listing").click()
        expect(alice_page).to_have_url(re.compile(r"/exchanges/\d+/$"))
        exchange = Exchange.objects.get()
        assert (exchange.asker_id, exchange.listing.title) == (alice.pk, "Honda lawn mower")
    finally:
        bob_context.close()
        alice_context.close()
