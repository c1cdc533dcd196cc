"""What an asker writes with a request is the first message of the deal's conversation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exchanges import services as exchange_services
from exchanges.models import ExchangeEvent
from exchanges.signals import exchange_changed
from messaging.models import Block, Conversation, ConversationKind, Message

pytestmark = pytest.mark.django_db


def ask(act, drill, bob, message):
    tomorrow = timezone.localdate() + timedelta(days=1)
    return act(exchange_services.exchange_request, listing=drill, asker=bob,
               start_date=tomorrow, end_date=tomorrow, message=message)


def test_the_request_message_opens_the_conversation_once(act, drill, alice, bob, client):
    loan = ask(act, drill, bob, "For the shelves, I can pick it up at 6 pm.")

    conversation = Conversation.objects.get(kind=ConversationKind.EXCHANGE, exchange=loan)
    message = Message.objects.get(conversation=conversation)
    assert (message.sender, message.body) == (bob, "For the shelves, I can pick it up at 6 pm.")
    # A replayed signal adds nothing.
    event = ExchangeEvent.objects.get(exchange=loan, action="request")
    exchange_changed.send(sender=type(loan), exchange=loan, event=event, actor=bob)
    assert Message.objects.count() == 1
    client.force_login(alice)
    page = client.get(conversation.get_absolute_url()).content.decode()
    assert "For the shelves, I can pick it up at 6 pm." in page


def test_a_request_without_a_message_makes_no_conversation(act, drill, bob):
    ask(act, drill, bob, "   ")
    assert not Conversation.objects.filter(kind=ConversationKind.EXCHANGE).exists()


def test_a_refused_message_does_not_stop_the_request(act, drill, alice, bob):
    # A block stops messages, not requests: the owner still answers the request.
    Block.objects.create(blocker=alice, blocked=bob)
    loan = ask(act, drill, bob, "Hello?")
    assert loan.pk and not Message.objects.exists()
