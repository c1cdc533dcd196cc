"""A message whose ack never comes is shown as not sent, survives a reload, and is sent
once when the server answers again.

The chat socket of Alice's page goes through Playwright's websocket route: while "the
server is down" the route answers nothing (an open socket with nobody behind it, which
is what a phone sees when a worker or a network dies without a close), then it forwards
to the real daphne server again."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from messaging import conversations
from messaging.models import Message
from tests.e2e.test_chat import signed_in_context
from tests.factories import ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


class FlakyServer:
    """Websocket route: forwards to the real server while up; while down, accepts the
    socket and answers nothing."""

    def __init__(self) -> None:
        self.up = True
        self.lock = threading.Lock()
        self.silent_frames: list[str] = []

    def route(self, ws) -> None:
        if not self.up:
            ws.on_message(lambda message: self.silent_frames.append(message))
            return
        server = ws.connect_to_server()

        def from_page(message) -> None:
            if self.up:
                server.send(message)
            else:
                self.silent_frames.append(message)

        def from_server(message) -> None:
            if self.up:
                ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)


def wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_a_message_without_ack_shows_not_sent_then_goes_once_the_server_is_back(
        browser, asgi_server, output_path):
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, title="Bosch cordless drill")
    conversation = conversations.conversation_for_listing(listing=drill, member=bob)
    conversations.message_post(conversation=conversation, sender=bob, body="Is it free?")
    url = f"{asgi_server}/messages/{conversation.pk}/"
    flaky = FlakyServer()

    alice_context = signed_in_context(browser, asgi_server, alice)
    bob_context = signed_in_context(browser, asgi_server, bob)
    try:
        page = alice_context.new_page()
        page.route_web_socket(re.compile(r".*/ws/conversations/.*"), flaky.route)
        bob_page = bob_context.new_page()
        page.goto(url)
        bob_page.goto(url)
        expect(page.locator("#chat.chat-live")).to_be_visible()
        expect(bob_page.locator("#chat.chat-live")).to_be_visible()

        flaky.up = False
        page.get_by_label("Your message").fill("Yes, come at ten")
        page.get_by_role("button", name="Send").click()
        mine = page.locator(".chat-msg-own", has_text="Yes, come at ten")
        expect(mine.locator(".chat-pending-note")).to_have_text("Sending…")
        # No ack: the page gives up on that socket, tries another, then says so.
        expect(mine.locator(".chat-pending-note")).to_contain_text("Not sent.", timeout=20_000)
        expect(mine.get_by_role("button", name="Retry")).to_be_visible()
        assert not Message.objects.filter(body="Yes, come at ten").exists()
        assert len(flaky.silent_frames) >= 2  # sent, then sent again on a new socket
        Path(output_path).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(output_path) / "chat-not-sent.png"))

        # Still down, the member reloads: the message is kept, still pending.
        page.reload()
        mine = page.locator(".chat-msg-own", has_text="Yes, come at ten")
        expect(mine).to_have_count(1)
        expect(mine).to_have_class(re.compile("chat-msg-pending"))

        # The server is back: the pending message goes by itself, once.
        flaky.up = True
        expect(mine).to_have_attribute("data-id", re.compile(r"^\d+$"), timeout=20_000)
        expect(mine.locator(".chat-pending-note")).to_have_count(0)
        wait_for(lambda: Message.objects.filter(body="Yes, come at ten").exists())
        expect(bob_page.locator(".chat-msg", has_text="Yes, come at ten")).to_have_count(1)
        time.sleep(1)  # any late resend would land now
        assert Message.objects.filter(body="Yes, come at ten").count() == 1

        # Reloaded afterwards, the page shows it once and has nothing pending left.
        page.reload()
        expect(page.locator(".chat-msg", has_text="Yes, come at ten")).to_have_count(1)
        expect(page.locator(".chat-msg-pending")).to_have_count(0)
        assert page.evaluate("Object.keys(localStorage).filter("
                             "k => k.startsWith('partage.chat.pending')).length") == 0
    finally:
        alice_context.close()
        bob_context.close()


def test_retry_sends_a_message_that_was_not_sent_once(browser, asgi_server):
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice, title="Bosch cordless drill")
    conversation = conversations.conversation_for_listing(listing=drill, member=bob)
    url = f"{asgi_server}/messages/{conversation.pk}/"
    flaky = FlakyServer()

    context = signed_in_context(browser, asgi_server, alice)
    try:
        page = context.new_page()
        page.route_web_socket(re.compile(r".*/ws/conversations/.*"), flaky.route)
        page.goto(url)
        expect(page.locator("#chat.chat-live")).to_be_visible()
        flaky.up = False
        page.get_by_label("Your message").fill("Second try")
        page.keyboard.press("Enter")
        mine = page.locator(".chat-msg-own", has_text="Second try")
        retry = mine.get_by_role("button", name="Retry")
        expect(retry).to_be_visible(timeout=20_000)
        flaky.up = True
        retry.click()
        expect(mine).to_have_attribute("data-id", re.compile(r"^\d+$"), timeout=20_000)
        time.sleep(1)
        assert Message.objects.filter(body="Second try").count() == 1
    finally:
        context.close()
