"""A chat message is stored in one statement on PostgreSQL, and on SQLite in three
plain ones inside one transaction: the same row, the same rules and the same answers as
before, in fewer round trips (messaging.conversations.message_post)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messaging import conversations
from messaging.models import Block, Conversation, Message, Participant
from tests.factories import ListingFactory, MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)

postgres_only = pytest.mark.skipif(
    "postgresql" not in connection.settings_dict["ENGINE"], reason="PostgreSQL's statement")


@pytest.fixture
def chat():
    alice = MemberFactory(display_name="Alice")
    bob = MemberFactory(display_name="Bob")
    listing = ListingFactory(owner=alice, title="Ladder")
    return alice, bob, conversations.conversation_for_listing(listing=listing, member=bob)


def test_the_statement_writes_every_column_of_a_message():
    columns = {field.column for field in Message._meta.concrete_fields} - {"id"}
    assert set(conversations.POST_COLUMNS) == columns


def test_a_stored_message_is_the_row_the_page_reads_back(chat):
    alice, bob, conversation = chat
    client_id = uuid.uuid4()
    before = timezone.now()
    posted = conversations.message_post(conversation=conversation, sender=alice,
                                        body="  It is in the shed  ", client_id=str(client_id))
    assert posted.created
    stored = Message.objects.get()
    assert (stored.pk, stored.conversation_id, stored.sender_id, stored.body,
            stored.client_id, stored.attached_listing_id, stored.hidden_at,
            stored.erased_at) == (posted.message.pk, conversation.pk, alice.pk,
                                  "It is in the shed", client_id, None, None, None)
    assert before <= stored.created_at <= timezone.now()
    assert abs(stored.created_at - posted.message.created_at) < timedelta(milliseconds=1)
    assert Conversation.objects.get(pk=conversation.pk).last_message_at == stored.created_at
    mark = Participant.objects.get(conversation=conversation, member=alice).last_read_message_id
    assert mark == stored.pk
    assert Participant.objects.get(conversation=conversation, member=bob).last_read_message_id == 0
    assert posted.message.sender.public_name == "Alice"


def test_a_resent_client_id_answers_the_stored_message(chat):
    alice, _, conversation = chat
    client_id = str(uuid.uuid4())
    first = conversations.message_post(conversation=conversation, sender=alice, body="Once",
                                       client_id=client_id)
    again = conversations.message_post(conversation=conversation, sender=alice, body="Once",
                                       client_id=client_id)
    assert (again.message.pk, again.created) == (first.message.pk, False)
    assert Message.objects.count() == 1


def test_an_attached_listing_is_stored(chat):
    alice, bob, conversation = chat
    offer = ListingFactory(owner=bob, title="Drill")
    posted = conversations.message_post(conversation=conversation, sender=bob, body="This?",
                                        attached_listing=offer)
    assert Message.objects.get(pk=posted.message.pk).attached_listing_id == offer.pk


@pytest.mark.parametrize("refusal", ["blocked", "blocker", "suspended", "left", "inactive peer"])
def test_refusals_store_nothing_and_say_why(chat, refusal):
    alice, bob, conversation = chat
    if refusal == "blocked":
        Block.objects.create(blocker=bob, blocked=alice)
    elif refusal == "blocker":
        Block.objects.create(blocker=alice, blocked=bob)
    elif refusal == "suspended":
        alice.suspended_until = timezone.now() + timedelta(days=1)
        alice.standing_reason = "Spam"
        alice.save()
    elif refusal == "left":
        Participant.objects.filter(member=alice).update(left_at=timezone.now())
    else:
        bob.is_active = False
        bob.save()
    with pytest.raises(conversations.ChatError) as refused:
        conversations.message_post(conversation=conversation, sender=alice, body="hello",
                                   client_id=str(uuid.uuid4()))
    assert refused.value.code in {"blocked", "forbidden"}
    assert refused.value.messages[0]
    assert not Message.objects.exists()
    assert Conversation.objects.get(pk=conversation.pk).last_message_at is None


def test_a_suspension_that_ended_does_not_refuse(chat):
    alice, _, conversation = chat
    alice.suspended_until = timezone.now() - timedelta(minutes=1)
    alice.standing_reason = "Spam"
    alice.save()
    assert conversations.message_post(conversation=conversation, sender=alice, body="back").created


@postgres_only
def test_on_postgresql_a_message_is_one_statement(chat, django_assert_num_queries, monkeypatch):
    alice, _, conversation = chat
    monkeypatch.setattr(conversations, "layer_send_many", lambda sends: None)
    # Bob has an unread message already: his counts do not move, nothing else to read.
    conversations.message_post(conversation=conversation, sender=alice, body="first")
    with django_assert_num_queries(1) as queries:
        conversations.message_post(conversation=conversation, sender=alice, body="second",
                                   client_id=str(uuid.uuid4()))
    assert "INSERT INTO" in queries.captured_queries[0]["sql"]
    assert list(Message.objects.values_list("body", flat=True)) == ["first", "second"]
