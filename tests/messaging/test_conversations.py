"""The conversation services: opening conversations, posting, reading, blocks, rides,
wanted answers, and the unread counts."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from exchanges import services as exchange_services
from exchanges.models import Exchange, State
from listings.models import Kind, Status, Terms
from messaging import conversations, counts
from messaging.conversations import ChatError
from messaging.models import Block, Conversation, ConversationKind, Message, Participant
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory, MemberFactory, RideFactory


@pytest.fixture
def drill(alice):
    return ListingFactory(owner=alice, terms=Terms.LEND, title="Cordless drill")


@pytest.fixture
def chat(drill, bob):
    return conversations.conversation_for_listing(listing=drill, member=bob)


def post(conversation, sender, body="Hello", **kwargs):
    return conversations.message_post(conversation=conversation, sender=sender, body=body, **kwargs)


# --- Opening ---------------------------------------------------------------------------


def test_one_conversation_per_listing_and_member(drill, alice, bob):
    first = conversations.conversation_for_listing(listing=drill, member=bob)
    again = conversations.conversation_for_listing(listing=drill, member=bob)
    carol = MemberFactory()
    other = conversations.conversation_for_listing(listing=drill, member=carol)
    assert first.pk == again.pk != other.pk
    assert first.kind == ConversationKind.LISTING
    assert set(first.participants.values_list("member_id", flat=True)) == {alice.pk, bob.pk}


def test_the_database_refuses_a_second_conversation_for_the_pair(chat, drill, bob):
    with pytest.raises(IntegrityError), transaction.atomic():
        Conversation.objects.create(kind=ConversationKind.LISTING, listing=drill, member=bob)


def test_no_conversation_with_oneself_or_about_an_inactive_listing(drill, alice, bob):
    with pytest.raises(ChatError):
        conversations.conversation_for_listing(listing=drill, member=alice)
    drill.status = Status.PAUSED
    drill.save()
    with pytest.raises(ChatError):
        conversations.conversation_for_listing(listing=drill, member=bob)
    assert not Conversation.objects.exists()


def test_the_exchange_conversation_is_for_its_two_parties_only(drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    conversation = conversations.conversation_for_exchange(exchange=exchange, member=alice)
    assert conversations.conversation_for_exchange(exchange=exchange, member=bob).pk == conversation.pk
    assert set(conversation.participants.values_list("member_id", flat=True)) == {alice.pk, bob.pk}
    with pytest.raises(ChatError):
        conversations.conversation_for_exchange(exchange=exchange, member=MemberFactory())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_requests_make_one_conversation_for_the_pair(is_postgres):
    if not is_postgres:
        pytest.skip("a real race needs PostgreSQL")
    alice, bob = MemberFactory(), MemberFactory()
    drill = ListingFactory(owner=alice)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def open_it():
        try:
            barrier.wait()
            results.append(conversations.conversation_for_listing(listing=drill, member=bob).pk)
        except Exception as error:  # handed to the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(results)) == 1
    assert Conversation.objects.count() == 1
    assert Participant.objects.count() == 2


# --- Posting ---------------------------------------------------------------------------


def test_a_message_is_trimmed_and_stored_and_moves_the_conversation_up(chat, bob):
    posted = post(chat, bob, "  Is it free on Saturday?  \n")
    assert posted.created
    assert posted.message.body == "Is it free on Saturday?"
    chat.refresh_from_db()
    assert chat.last_message_at == posted.message.created_at


@pytest.mark.parametrize("body", ["", "   \n\t ", None, 12, "x" * 4001])
def test_bodies_outside_1_to_4000_characters_are_refused(chat, bob, body):
    with pytest.raises(ChatError) as error:
        post(chat, bob, body)
    assert error.value.code == "invalid"
    assert not Message.objects.exists()


def test_4000_characters_after_trimming_are_fine(chat, bob):
    assert len(post(chat, bob, "  " + "x" * 4000 + "  ").message.body) == 4000


def test_a_client_id_is_stored_once(chat, bob):
    client_id = uuid.uuid4()
    first = post(chat, bob, "Once", client_id=client_id)
    second = post(chat, bob, "Once", client_id=str(client_id))
    assert first.created and not second.created
    assert first.message.pk == second.message.pk
    assert Message.objects.count() == 1


def test_a_client_id_of_another_conversation_is_refused(chat, bob, alice):
    client_id = uuid.uuid4()
    post(chat, bob, client_id=client_id)
    other = conversations.conversation_for_listing(
        listing=ListingFactory(owner=alice), member=bob
    )
    with pytest.raises(ChatError):
        post(other, bob, client_id=client_id)


def test_non_participants_and_inactive_members_cannot_post(chat, bob):
    with pytest.raises(ChatError) as error:
        post(chat, MemberFactory())
    assert error.value.code == "forbidden"
    bob.is_active = False
    bob.save()
    with pytest.raises(ChatError):
        post(chat, bob)
    assert not Message.objects.exists()


@pytest.fixture(params=["local memory", "redis"])
def rate_cache(request):
    """The rate limit counts in the cache: the tests' in-memory one, and Redis's."""
    if request.param == "redis":
        request.getfixturevalue("production_redis_cache")


def test_the_rate_limit_is_20_messages_in_10_seconds(chat, bob, alice, rate_cache):
    for n in range(20):
        post(chat, bob, f"message {n}")
    with pytest.raises(ChatError) as error:
        post(chat, bob, "one too many")
    assert error.value.code == "rate_limited"
    # Per member: Alice still may answer.
    post(chat, alice, "calm down")
    assert Message.objects.count() == 21


def test_the_rate_limit_window_ends(chat, bob, rate_cache):
    for n in range(20):
        post(chat, bob, f"message {n}")
    cache.delete(f"chat-rate:{bob.pk}")  # what the key's expiry does after 10 s
    post(chat, bob, "later")


def test_sending_marks_ones_own_message_read(chat, bob, alice):
    message = post(chat, bob).message
    assert Participant.objects.get(conversation=chat, member=bob).last_read_message_id == message.pk
    assert counts.counts_for(bob)["messages"] == 0
    assert counts.counts_for(alice)["messages"] == 1


# --- Reading ---------------------------------------------------------------------------


def test_reading_moves_forward_only_and_never_past_the_newest(chat, bob, alice):
    first = post(chat, bob, "one").message
    second = post(chat, bob, "two").message
    assert conversations.conversation_mark_read(conversation=chat, member=alice, last_id=first.pk) == first.pk
    assert counts.counts_for(alice)["messages"] == 1
    assert conversations.conversation_mark_read(conversation=chat, member=alice, last_id=10**9) == second.pk
    assert conversations.conversation_mark_read(conversation=chat, member=alice, last_id=0) == second.pk
    assert counts.counts_for(alice)["messages"] == 0


def test_counts_are_pushed_to_the_other_participants_after_commit(chat, bob, alice, django_capture_on_commit_callbacks, monkeypatch):
    pushed = []
    def capture(group, event):
        if event["type"] == "live.event" and group.startswith("member."):
            pushed.append((int(group.split(".")[1]), event["payload"]))

    monkeypatch.setattr("messaging.counts.layer_send", capture)
    with django_capture_on_commit_callbacks(execute=True):
        post(chat, bob)
    assert (alice.pk, {"type": "counts", "notifications": 0, "messages": 1}) in pushed
    assert all(member_id != bob.pk for member_id, _ in pushed)
    pushed.clear()
    with django_capture_on_commit_callbacks(execute=True):
        conversations.conversation_mark_read(conversation=chat, member=alice)
    assert pushed == [(alice.pk, {"type": "counts", "notifications": 0, "messages": 0})]


# --- Blocks ----------------------------------------------------------------------------


def test_a_block_stops_messages_both_ways_and_is_silent_to_the_blocked(chat, bob, alice):
    post(chat, bob, "before")
    assert conversations.block_member(blocker=alice, blocked=bob)
    assert not conversations.block_member(blocker=alice, blocked=bob)  # idempotent
    with pytest.raises(ChatError) as to_blocked:
        post(chat, alice, "hi")
    with pytest.raises(ChatError) as from_blocked:
        post(chat, bob, "hi")
    assert to_blocked.value.code == from_blocked.value.code == "blocked"
    assert "blocked" in " ".join(to_blocked.value.messages)
    assert " ".join(from_blocked.value.messages) == "You can't send messages in this conversation."
    assert "block" not in " ".join(from_blocked.value.messages).lower()
    # History stays.
    assert list(Message.objects.values_list("body", flat=True)) == ["before"]


def test_unblocking_lets_messages_through_again(chat, bob, alice):
    conversations.block_member(blocker=alice, blocked=bob)
    assert conversations.unblock_member(blocker=alice, blocked=bob)
    assert not conversations.unblock_member(blocker=alice, blocked=bob)
    post(chat, bob, "hello again")


def test_nobody_blocks_themselves(alice):
    with pytest.raises(ChatError):
        conversations.block_member(blocker=alice, blocked=alice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Block.objects.create(blocker=alice, blocked=alice)


# --- Rides -----------------------------------------------------------------------------


def test_the_ride_group_follows_the_bookings(alice, act):
    ride = RideFactory(owner=alice, seats=3)
    paul, rita = MemberFactory(display_name="Paul"), MemberFactory(display_name="Rita")
    paul_request = act(exchange_services.exchange_request, listing=ride, asker=paul, seats=1)
    rita_request = act(exchange_services.exchange_request, listing=ride, asker=rita, seats=1)
    # Requests alone make no group.
    assert conversations.ride_conversation_of(ride) is None

    act(exchange_services.exchange_accept, exchange=paul_request, by=alice)
    act(exchange_services.exchange_accept, exchange=rita_request, by=alice)
    group = conversations.ride_conversation_of(ride)
    assert group.kind == ConversationKind.RIDE
    members = set(Participant.objects.filter(conversation=group, left_at__isnull=True)
                  .values_list("member_id", flat=True))
    assert members == {alice.pk, paul.pk, rita.pk}

    # Paul cancels: he leaves the group and can no longer post there.
    act(exchange_services.exchange_call_off, exchange=paul_request, by=paul)
    assert conversations.active_participant(group.pk, paul) is None
    with pytest.raises(ChatError):
        post(group, paul)
    post(group, rita, "See you at 8")

    # Booking again brings him back.
    again = act(exchange_services.exchange_request, listing=ride, asker=paul, seats=1)
    act(exchange_services.exchange_accept, exchange=again, by=alice)
    assert conversations.active_participant(group.pk, paul) is not None
    assert Conversation.objects.filter(kind=ConversationKind.RIDE).count() == 1


def test_blocks_do_not_silence_a_ride_group(alice, bob):
    ride = RideFactory(owner=alice, seats=3)
    make_exchange(listing=ride, asker=bob, state=State.ACCEPTED)
    group = conversations.ride_conversation_sync(listing=ride)
    conversations.block_member(blocker=alice, blocked=bob)
    post(group, bob, "Where do we meet?")


# --- Wanted posts ----------------------------------------------------------------------


@pytest.fixture
def wanted(alice):
    return ListingFactory(owner=alice, kind=Kind.WANTED, terms=Terms.SELL, title="Lawn mower wanted")


def test_answering_a_wanted_post_opens_a_conversation_with_an_attached_listing(wanted, alice, bob):
    mower = ListingFactory(owner=bob, terms=Terms.SELL, price_cents=4000, title="Old mower")
    posted = conversations.wanted_answer(wanted=wanted, responder=bob, body="I have one",
                                         attached_listing=mower)
    conversation = posted.message.conversation
    assert conversation.kind == ConversationKind.WANTED
    assert conversation.listing == wanted
    assert posted.message.attached_listing == mower
    assert set(conversation.participants.values_list("member_id", flat=True)) == {alice.pk, bob.pk}


def test_only_ones_own_active_listings_can_be_attached(wanted, alice, bob):
    someone_elses = ListingFactory(owner=MemberFactory(), terms=Terms.SELL, price_cents=100)
    paused = ListingFactory(owner=bob, terms=Terms.SELL, price_cents=100, status=Status.PAUSED)
    for listing in (someone_elses, paused):
        with pytest.raises(ChatError):
            conversations.wanted_answer(wanted=wanted, responder=bob, body="Hi", attached_listing=listing)
    with pytest.raises(ChatError):
        conversations.wanted_answer(wanted=wanted, responder=bob, body="   ")
    assert not Conversation.objects.exists()


def test_the_author_requests_an_attached_sale_in_one_click(wanted, alice, bob, act):
    mower = ListingFactory(owner=bob, terms=Terms.SELL, price_cents=4000, title="Old mower")
    message = conversations.wanted_answer(wanted=wanted, responder=bob, body="Mine?",
                                          attached_listing=mower).message
    result = act(conversations.request_attached_listing, message=message, by=alice)
    exchange = result.exchange
    assert isinstance(exchange, Exchange)
    assert (exchange.listing, exchange.asker, exchange.owner, exchange.state) == (
        mower, alice, bob, State.REQUESTED
    )
    assert exchange.amount_cents == 4000


def test_an_attached_loan_leads_to_its_request_form(wanted, alice, bob):
    drill = ListingFactory(owner=bob, terms=Terms.LEND)
    message = conversations.wanted_answer(wanted=wanted, responder=bob, body="Borrow it",
                                          attached_listing=drill).message
    result = conversations.request_attached_listing(message=message, by=alice)
    assert result.exchange is None and result.listing == drill
    assert not Exchange.objects.exists()


def test_only_the_wanted_posts_author_can_request_the_attachment(wanted, alice, bob):
    mower = ListingFactory(owner=bob, terms=Terms.SELL, price_cents=4000)
    message = conversations.wanted_answer(wanted=wanted, responder=bob, body="Mine?",
                                          attached_listing=mower).message
    for member in (bob, MemberFactory()):
        with pytest.raises(ChatError):
            conversations.request_attached_listing(message=message, by=member)
    assert not Exchange.objects.exists()


def test_the_inbox_counts_conversations_with_unread_messages(chat, bob, alice, drill):
    post(chat, bob, "one")
    post(chat, bob, "two")
    carol = MemberFactory()
    other = conversations.conversation_for_listing(listing=drill, member=carol)
    post(other, carol, "three")
    assert counts.counts_for(alice) == {"notifications": 0, "messages": 2}
    hidden = post(other, carol, "four").message
    Message.objects.filter(pk=hidden.pk).update(hidden_at=timezone.now() - timedelta(seconds=1))
    conversations.conversation_mark_read(conversation=other, member=alice)
    assert counts.counts_for(alice)["messages"] == 1


def test_the_demo_has_one_conversation_between_alice_and_bob(db, settings):
    from listings import demo

    demo.seed_demo()
    demo.seed_demo()  # a second run adds nothing
    conversation = Conversation.objects.get()
    emails = set(conversation.participants.values_list("member__email", flat=True))
    assert emails == {"alice@example.com", "bob@example.com"}
    assert conversation.listing.owner.email == "alice@example.com"
    assert conversation.messages.count() == len(demo.DEMO_CHAT)
