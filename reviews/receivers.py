"""Open the review window and invite both parties when an exchange completes.

Connected in ReviewsConfig.ready(). exchange_changed is sent after commit; a failure
here is logged and never breaks the page that completed the deal: the tick opens any
window a completion missed (services.review_windows_open_missing).
"""

from __future__ import annotations

import logging

from exchanges.models import Exchange, ExchangeEvent, State
from exchanges.signals import exchange_changed
from reviews import services

logger = logging.getLogger(__name__)


def on_exchange_changed(sender, *, exchange: Exchange, event: ExchangeEvent, **kwargs) -> None:
    if event.to_state != State.COMPLETED:
        return
    try:
        services.review_invite(exchange=Exchange.objects.get(pk=exchange.pk))
    except Exception:
        logger.exception("Could not open the review window of exchange %s", exchange.pk)


def connect() -> None:
    exchange_changed.connect(on_exchange_changed, sender=Exchange,
                             dispatch_uid="reviews.exchange_changed")
