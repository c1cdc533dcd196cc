"""The conversation pages without JavaScript: inbox, history, the plain send form, block,
and the buttons on listing, wanted and exchange pages. Only participants: 404 for others."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from exchanges.models import Exchange, State
from listings.models import Kind, Terms
from messaging import conversations
from messaging.models import Block, Conversation, ConversationKind, Message, Participant
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory, RideFactory


@pytest.fixture
def drill(alice):
    return ListingFactory(owner=alice, terms=Terms.LEND, title="Cordless drill")


@pytest.fixture
def chat(drill, bob):
    return conversations.conversation_for_listing(listing=drill, member=bob)


def detail(conversation) -> str:
    return reverse("conversations:detail", args=[conversation.pk])


def send_url(conversation) -> str:
    return reverse("conversations:send", args=[conversation.pk])


def post(conversation, sender, body="Hello"):
    return conversations.message_post(conversation=conversation, sender=sender, body=body).message


def test_visitors_are_sent_to_log_in(client, chat):
    for response in (client.get("/messages/"), client.get(detail(chat)),
                     client.post(send_url(chat), {"body": "hi"})):
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


def test_other_members_get_404_for_every_url_of_a_conversation(client, chat, bob):
    message = post(chat, bob)
    client.force_login(MemberFactory())
    for url in (detail(chat), reverse("conversations:block", args=[chat.pk]),
                reverse("conversations:unblock", args=[chat.pk]),
                reverse("conversations:request-attached", args=[chat.pk, message.pk])):
        method = client.get if url == detail(chat) else client.post
        assert method(url).status_code == 404
    assert client.post(send_url(chat), {"body": "let me in"}).status_code == 404
    assert Message.objects.count() == 1
    assert not Block.objects.exists()


def test_the_inbox_lists_conversations_by_last_activity_with_unread_counts(client, alice, bob, drill):
    ladder = ListingFactory(owner=alice, title="Tall ladder")
    carol = MemberFactory(display_name="Carol")
    older = conversations.conversation_for_listing(listing=ladder, member=carol)
    post(older, carol, "Is the ladder free?")
    newer = conversations.conversation_for_listing(listing=drill, member=bob)
    post(newer, bob, "Still there?")
    post(newer, bob, "Drill <script>alert(1)</script>")
    ListingFactory(owner=MemberFactory(), title="Someone else's secret")
    client.force_login(alice)

    page = client.get("/messages/").content.decode()

    assert page.index("Cordless drill") < page.index("Tall ladder")
    assert "2 unread" in page and "1 unread" in page
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;" in page
    assert "secret" not in page


def test_the_conversation_page_shows_the_history_and_marks_it_read(client, chat, alice, bob):
    post(chat, bob, "Line one\n<b>bold?</b>")
    client.force_login(alice)

    response = client.get(detail(chat))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Line one<br>&lt;b&gt;bold?&lt;/b&gt;" in page
    assert f'data-ws-path="/ws/conversations/{chat.pk}/"' in page
    assert "js/chat.js" in page
    assert 'name="body"' in page and "Send" in page
    assert Participant.objects.get(conversation=chat, member=alice).last_read_message_id == Message.objects.get().pk


def test_web_addresses_in_messages_are_links_and_nothing_else_is(client, chat, alice, bob):
    post(chat, bob, "Manual: https://example.org/drill?v=2. Or www.example.net, "
                    "not javascript:alert(1) <a href=x>")
    client.force_login(alice)

    page = client.get(detail(chat)).content.decode()

    assert '<a href="https://example.org/drill?v=2" rel="nofollow">https://example.org/drill?v=2</a>.' in page
    assert '<a href="http://www.example.net" rel="nofollow">www.example.net</a>' in page
    assert 'href="javascript' not in page and "&lt;a href=x&gt;" in page


def test_two_conversations_about_one_listing_are_named_after_the_other_member(
    client, alice, bob, drill
):
    carol = MemberFactory(display_name="Carol")
    for member in (bob, carol):
        post(conversations.conversation_for_listing(listing=drill, member=member), member, "Hi")
    client.force_login(alice)

    inbox = client.get("/messages/").content.decode()

    assert "<strong>Carol</strong>" in inbox and "<strong>Bob</strong>" in inbox
    chat = Conversation.objects.get(participants__member=carol)
    page = client.get(detail(chat)).content.decode()
    assert "<h1>Carol</h1>" in page and "About Cordless drill" in page
    assert "<title>Carol · Cordless drill · Messages · Partage</title>" in page


def test_history_is_paginated_newest_page_first(client, chat, alice, bob):
    for n in range(35):
        post(chat, bob if n % 2 else alice, f"message number {n:02d}")
    client.force_login(alice)

    newest = client.get(detail(chat)).content.decode()
    older = client.get(detail(chat) + "?page=2").content.decode()

    assert "message number 34" in newest and "message number 05" in newest
    assert "message number 04" not in newest
    assert "Older messages" in newest and "?page=2" in newest
    assert "message number 00" in older and "message number 04" in older
    assert "message number 05" not in older
    assert "Newer messages" in older
    assert newest.index("message number 05") < newest.index("message number 34")


def test_the_plain_form_posts_and_redirects(client, chat, bob):
    client.force_login(bob)
    client_id = str(uuid.uuid4())

    response = client.post(send_url(chat), {"body": "  Saturday?  ", "client_id": client_id})
    again = client.post(send_url(chat), {"body": "  Saturday?  ", "client_id": client_id})

    assert response.status_code == again.status_code == 302
    assert response.url == detail(chat) + "#latest"
    assert list(Message.objects.values_list("body", flat=True)) == ["Saturday?"]


@pytest.mark.parametrize("body", ["", "    ", "x" * 4001])
def test_the_plain_form_refuses_bad_bodies(client, chat, bob, body):
    client.force_login(bob)
    response = client.post(send_url(chat), {"body": body})
    assert response.status_code == 400
    assert "field-error" in response.content.decode()
    assert not Message.objects.exists()


def test_blocking_from_the_conversation_page(client, chat, alice, bob):
    post(chat, bob, "history stays")
    client.force_login(alice)
    response = client.post(reverse("conversations:block", args=[chat.pk]))
    assert response.status_code == 302
    assert Block.objects.filter(blocker=alice, blocked=bob).exists()
    page = client.get(detail(chat)).content.decode()
    assert "You blocked Bob" in page and "Unblock Bob" in page
    assert 'name="body"' not in page

    # Bob still reads the history, cannot post, and is not told why.
    client.force_login(bob)
    page = client.get(detail(chat)).content.decode()
    assert "history stays" in page
    assert "You can&#x27;t send messages in this conversation." in page
    assert "blocked" not in page.lower() and "Unblock" not in page
    assert client.post(send_url(chat), {"body": "hello?"}).status_code == 400
    assert Message.objects.count() == 1

    client.force_login(alice)
    client.post(reverse("conversations:unblock", args=[chat.pk]))
    assert not Block.objects.exists()


def test_message_the_owner_from_a_listing(client, drill, bob, alice):
    client.force_login(bob)
    page = client.get(drill.get_absolute_url()).content.decode()
    assert "Message the owner" in page
    response = client.post(reverse("conversations:listing", args=[drill.pk]))
    conversation = Conversation.objects.get()
    assert response.url == detail(conversation)
    # A second click opens the same conversation.
    client.post(reverse("conversations:listing", args=[drill.pk]))
    assert Conversation.objects.count() == 1
    # The owner sees no such button on their own listing.
    client.force_login(alice)
    assert "Message the owner" not in client.get(drill.get_absolute_url()).content.decode()


def test_answering_a_wanted_post_with_an_attached_listing_then_requesting_it(client, alice, bob):
    wanted = ListingFactory(owner=alice, kind=Kind.WANTED, terms=Terms.SELL, title="Mower wanted")
    mower = ListingFactory(owner=bob, terms=Terms.SELL, price_cents=3000, title="Old mower")
    ListingFactory(owner=MemberFactory(), terms=Terms.SELL, price_cents=10, title="Not Bob's")
    client.force_login(bob)
    assert "Answer" in client.get(wanted.get_absolute_url()).content.decode()
    form_page = client.get(reverse("conversations:wanted-answer", args=[wanted.pk])).content.decode()
    assert "Old mower" in form_page and "Not Bob&#x27;s" not in form_page

    response = client.post(reverse("conversations:wanted-answer", args=[wanted.pk]),
                           {"body": "Mine works", "attached_listing": mower.pk,
                            "client_id": str(uuid.uuid4())})
    conversation = Conversation.objects.get(kind=ConversationKind.WANTED)
    assert response.url == detail(conversation)
    message = Message.objects.get()
    assert message.attached_listing == mower

    client.force_login(alice)
    page = client.get(detail(conversation)).content.decode()
    assert "Request this listing" in page
    response = client.post(reverse("conversations:request-attached", args=[conversation.pk, message.pk]))
    exchange = Exchange.objects.get()
    assert response.url == exchange.get_absolute_url()
    assert (exchange.asker, exchange.listing, exchange.state) == (alice, mower, State.REQUESTED)


def test_an_empty_wanted_answer_is_refused(client, alice, bob):
    wanted = ListingFactory(owner=alice, kind=Kind.WANTED, terms=Terms.SELL)
    client.force_login(bob)
    response = client.post(reverse("conversations:wanted-answer", args=[wanted.pk]), {"body": " "})
    assert response.status_code == 400
    assert not Conversation.objects.exists()


def test_the_exchange_page_shows_its_conversation(client, drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    client.force_login(bob)
    page = client.get(exchange.get_absolute_url()).content.decode()
    assert "Write to Alice" in page
    response = client.post(reverse("conversations:exchange", args=[exchange.pk]))
    conversation = Conversation.objects.get(kind=ConversationKind.EXCHANGE)
    assert response.url == detail(conversation)
    post(conversation, alice, "When do you come?")
    page = client.get(exchange.get_absolute_url()).content.decode()
    assert "When do you come?" in page and "1 unread" in page
    client.force_login(MemberFactory())
    assert client.post(reverse("conversations:exchange", args=[exchange.pk])).status_code == 404


def test_the_ride_group_is_reachable_from_the_ride_exchange_page(client, alice, bob):
    ride = RideFactory(owner=alice, seats=3)
    exchange = make_exchange(listing=ride, asker=bob, state=State.ACCEPTED)
    group = conversations.ride_conversation_sync(listing=ride)
    client.force_login(bob)
    page = client.get(exchange.get_absolute_url()).content.decode()
    assert "Ride group conversation" in page and detail(group) in page
    assert "Ride group: Annecy (FR) → Geneva (CH)" in client.get(detail(group)).content.decode()


def test_the_header_shows_the_unread_messages_count(client, chat, alice, bob):
    post(chat, bob)
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert 'data-live-count="messages">1</span>' in page
    assert 'data-live-count="notifications" hidden></span>' in page
    client.get(detail(chat))
    page = client.get("/").content.decode()
    assert 'data-live-count="messages" hidden></span>' in page


def test_the_inbox_answers_htmx_with_its_rows_only(client, alice, bob, chat):
    post(chat, bob, "Free on <b>Saturday</b>?")
    client.force_login(alice)

    page = client.get("/messages/")
    rows = client.get("/messages/", headers={"HX-Request": "true"})

    assert page.status_code == rows.status_code == 200
    assert "HX-Request" in rows["Vary"]
    html = rows.content.decode()
    assert "<html" not in html and "inbox-rows" not in html
    assert "Cordless drill" in html and "1 unread" in html
    assert "Free on &lt;b&gt;Saturday&lt;/b&gt;?" in html
    # The page holds the same rows, set to refresh themselves, the newest event winning.
    page_html = page.content.decode()
    assert 'hx-trigger="partage:conversations from:document' in page_html
    assert 'hx-sync="this:replace"' in page_html
    assert "Free on &lt;b&gt;Saturday&lt;/b&gt;?" in page_html
    assert "Fetched again" not in page_html
