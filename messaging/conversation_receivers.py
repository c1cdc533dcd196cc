"""Keep conversations in step with exchanges: each ride's group with its bookings, and
a request's own message as the first message of the deal's conversation.

Connected in MessagingConfig.ready(). exchange_changed is sent after commit, so a booking
that rolled back never adds anyone to a ride's group, nor a message to a conversation.
"""

from __future__ import annotations

import logging
import uuid

from exchanges.models import Exchange, ExchangeEvent, ExchangeKind
from exchanges.signals import exchange_changed
from messaging import conversations

logger = logging.getLogger(__name__)

# The request's message is posted with a client_id made from the exchange: a replayed
# signal finds it stored and adds nothing.
_REQUEST_MESSAGE_IDS = uuid.UUID("6b0d7a52-93a4-4f7e-9d2e-1c1f5bd0e0a1")


def on_exchange_changed(sender, *, exchange: Exchange, event: ExchangeEvent, **kwargs) -> None:
    """A passenger whose booking now holds seats joins the ride's group; one whose
    booking ended without the ride (cancelled, declined, expired) leaves it."""
    if exchange.kind != ExchangeKind.RIDE or event.action == "request":
        return
    conversations.ride_conversation_sync(listing=exchange.listing)


def on_exchange_requested(sender, *, exchange: Exchange, event: ExchangeEvent,
                          **kwargs) -> None:
    """What the asker wrote with their request opens the deal's conversation, so the
    owner answers it where the rest of the talk happens. Never raises: the request is
    made whatever happens here (a block or a suspension refuses the message)."""
    if event.action != "request" or not (exchange.message or "").strip():
        return
    exchange = Exchange.objects.select_related("asker", "owner").get(pk=exchange.pk)
    try:
        conversation = conversations.conversation_for_exchange(exchange=exchange,
                                                               member=exchange.asker)
        conversations.message_post(
            conversation=conversation, sender=exchange.asker, body=exchange.message,
            client_id=uuid.uuid5(_REQUEST_MESSAGE_IDS, str(exchange.pk)),
        )
    except conversations.ChatError as refused:
        logger.info("Request message of exchange %s not posted: %s", exchange.pk,
                    "; ".join(refused.messages))


def connect() -> None:
    exchange_changed.connect(on_exchange_changed, sender=Exchange,
                             dispatch_uid="messaging.ride_conversation")
    exchange_changed.connect(on_exchange_requested, sender=Exchange,
                             dispatch_uid="messaging.request_message")
