"""Turn what exchanges announce into notifications (and emails for what needs action).

Connected in MessagingConfig.ready(). The signals are sent after commit, so nothing here
ever describes a change that rolled back. One notification per member and cause: the
event id (or the overdue reminder's day) is the dedupe key, so a replayed signal adds
nothing and sends no second email.
"""

from __future__ import annotations

import logging
from datetime import date

from django.utils import timezone

from exchanges.models import Exchange, ExchangeEvent, Role
from exchanges.signals import exchange_changed, loan_overdue
from members.models import Member
from messaging import services
from messaging.models import NotificationKind

logger = logging.getLogger(__name__)

# The exchange action an event records -> the kind of notification it makes.
KIND_OF_ACTION: dict[str, str] = {
    "request": NotificationKind.EXCHANGE_REQUESTED,
    "accept": NotificationKind.EXCHANGE_ACCEPTED,
    "decline": NotificationKind.EXCHANGE_DECLINED,
    "cancel": NotificationKind.EXCHANGE_CANCELLED,
    "call_off": NotificationKind.EXCHANGE_CALLED_OFF,
    "expire": NotificationKind.EXCHANGE_EXPIRED,
    "pay": NotificationKind.EXCHANGE_PAID,
    "start": NotificationKind.EXCHANGE_STARTED,
    "complete": NotificationKind.EXCHANGE_COMPLETED,
    "dispute": NotificationKind.EXCHANGE_DISPUTED,
    "extend_request": NotificationKind.EXTENSION_REQUESTED,
    "extend": NotificationKind.EXTENSION_ACCEPTED,
    "extend_decline": NotificationKind.EXTENSION_DECLINED,
    "record_time": NotificationKind.SERVICE_TIME_RECORDED,
    "settle_complete": NotificationKind.EXCHANGE_SETTLED,
    "settle_cancel": NotificationKind.EXCHANGE_SETTLED_CANCELLED,
}


def _params(exchange: Exchange, recipient: Member, **extra) -> dict:
    return {
        "who": exchange.other_party(recipient).public_name,
        "listing": exchange.listing.title,
        **extra,
    }


def _notify(exchange: Exchange, recipient: Member, kind: str, dedupe_key: str,
            needs_action: bool | None = None, **params) -> None:
    notification, created = services.notification_create(
        member=recipient, kind=kind, dedupe_key=dedupe_key,
        params=_params(exchange, recipient, **params), url=exchange.get_absolute_url(),
        exchange=exchange, needs_action=needs_action,
    )
    if created:
        services.notification_email(notification=notification)


def on_exchange_changed(sender, *, exchange: Exchange, event: ExchangeEvent,
                        actor: Member | None, **kwargs) -> None:
    """The other party hears of a member's move; a move Partage made itself (expiry,
    payment) is told to both, each in their own words."""
    kind = KIND_OF_ACTION.get(event.action)
    if kind is None:
        logger.debug("No notification for exchange action %r", event.action)
        return
    exchange = Exchange.objects.select_related("listing", "asker", "owner").get(pk=exchange.pk)
    key = f"exchange-event:{event.pk}"
    if actor is None:
        for recipient, role in ((exchange.asker, Role.ASKER), (exchange.owner, Role.OWNER)):
            _notify(exchange, recipient, kind, key, variant=str(role))
        return
    _notify(exchange, exchange.other_party(actor), kind, key)


def on_loan_overdue(sender, *, exchange: Exchange, days_late: int, **kwargs) -> None:
    """The borrower is asked to bring it back (and emailed); the lender is told, in the
    app only. Once per reminder day."""
    exchange = Exchange.objects.select_related("listing", "asker", "owner").get(pk=exchange.pk)
    day: date = exchange.last_reminder_on or timezone.localdate()
    key = f"loan-overdue:{exchange.pk}:{day.isoformat()}"
    _notify(exchange, exchange.asker, NotificationKind.LOAN_OVERDUE, key,
            needs_action=True, days=days_late, variant=str(Role.ASKER))
    _notify(exchange, exchange.owner, NotificationKind.LOAN_OVERDUE, key,
            needs_action=False, days=days_late, variant=str(Role.OWNER))


def connect() -> None:
    exchange_changed.connect(on_exchange_changed, sender=Exchange,
                             dispatch_uid="messaging.exchange_changed")
    loan_overdue.connect(on_loan_overdue, sender=Exchange, dispatch_uid="messaging.loan_overdue")
