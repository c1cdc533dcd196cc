"""Keep each ride's group conversation in step with its bookings.

Connected in MessagingConfig.ready(). exchange_changed is sent after commit, so a booking
that rolled back never adds anyone to a ride's group.
"""

from __future__ import annotations

from exchanges.models import Exchange, ExchangeEvent, ExchangeKind
from exchanges.signals import exchange_changed
from messaging import conversations


def on_exchange_changed(sender, *, exchange: Exchange, event: ExchangeEvent, **kwargs) -> None:
    """A passenger whose booking now holds seats joins the ride's group; one whose
    booking ended without the ride (cancelled, declined, expired) leaves it."""
    if exchange.kind != ExchangeKind.RIDE or event.action == "request":
        return
    conversations.ride_conversation_sync(listing=exchange.listing)


def connect() -> None:
    exchange_changed.connect(on_exchange_changed, sender=Exchange,
                             dispatch_uid="messaging.ride_conversation")
