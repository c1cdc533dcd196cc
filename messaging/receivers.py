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

from exchanges.models import FINAL_STATES, Exchange, ExchangeEvent, Role, State
from exchanges.signals import exchange_changed, loan_overdue
from members.models import Member
from messaging import live, services
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
    "correct_time": NotificationKind.SERVICE_TIME_RECORDED,
    "settle_complete": NotificationKind.EXCHANGE_SETTLED,
    "settle_cancel": NotificationKind.EXCHANGE_SETTLED_CANCELLED,
}


# What a notification asks for is settled by these moves of its exchange, whoever
# makes them: the request was answered, the hand-over happened, the loan was extended,
# the question about more days answered. A move to a final state settles every one,
# and leaving a dispute settles the dispute's.
SETTLED_BY: dict[str, frozenset[str]] = {
    NotificationKind.EXCHANGE_REQUESTED: frozenset({"accept", "decline", "cancel"}),
    NotificationKind.EXCHANGE_ACCEPTED: frozenset({"start", "dispute"}),
    NotificationKind.EXCHANGE_DISPUTED: frozenset(),
    NotificationKind.LOAN_OVERDUE: frozenset({"extend"}),
    NotificationKind.EXTENSION_REQUESTED: frozenset({"extend", "extend_decline", "extend_cancel"}),
    NotificationKind.SERVICE_TIME_RECORDED: frozenset(),
}
# Times to confirm belong to one side: a newer time replaces the other member's one to
# confirm, and confirming settles one's own.
TIME_ACTIONS = {"record_time", "correct_time"}


def settle_notifications(exchange: Exchange, event: ExchangeEvent, actor: Member | None,
                         new_key: str) -> None:
    """Settle what this move made moot (never the notification the move itself makes)."""
    if event.to_state in FINAL_STATES:
        moot = set(SETTLED_BY)
    else:
        moot = {kind for kind, actions in SETTLED_BY.items() if event.action in actions}
        if event.from_state == State.DISPUTED and event.to_state != State.DISPUTED:
            moot.add(NotificationKind.EXCHANGE_DISPUTED)
    if moot:
        services.notifications_settle(exchange=exchange, kinds=moot, exclude_key=new_key)
    if actor is not None and event.action in TIME_ACTIONS | {"confirm_time"}:
        whose = exchange.other_party(actor) if event.action in TIME_ACTIONS else actor
        services.notifications_settle(
            exchange=exchange, kinds=[NotificationKind.SERVICE_TIME_RECORDED], member=whose,
            exclude_key=new_key,
        )


def _params(exchange: Exchange, recipient: Member, **extra) -> dict:
    return {
        "who": exchange.other_party(recipient).public_name,
        "listing": exchange.listing.title,
        "deal": exchange.kind,
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
    payment) is told to both, each in their own words. What the move made moot is
    settled first, and both parties' open pages of the deal are told it moved."""
    exchange = Exchange.objects.select_related("listing", "asker", "owner").get(pk=exchange.pk)
    key = f"exchange-event:{event.pk}"
    settle_notifications(exchange, event, actor, key)
    kind = KIND_OF_ACTION.get(event.action)
    if kind is None:
        logger.debug("No notification for exchange action %r", event.action)
    elif actor is None:
        for recipient, role in ((exchange.asker, Role.ASKER), (exchange.owner, Role.OWNER)):
            _notify(exchange, recipient, kind, key, variant=str(role))
    else:
        _notify(exchange, exchange.other_party(actor), kind, key, **_event_params(exchange, event))
    push_exchange_moved(exchange)


def _event_params(exchange: Exchange, event: ExchangeEvent) -> dict:
    """What the wording of this event's notification needs beyond names: a recorded
    time says how much, a corrected one also the time it replaces."""
    if event.action not in TIME_ACTIONS or event.minutes is None:
        return {}
    params = {"minutes": event.minutes}
    if event.action == "correct_time":
        replaced = (
            ExchangeEvent.objects.filter(exchange=exchange, actor_id=event.actor_id,
                                         action__in=TIME_ACTIONS, id__lt=event.pk)
            .order_by("-id").values_list("minutes", flat=True).first()
        )
        params["variant"] = "corrected"
        if replaced is not None:
            params["before_minutes"] = replaced
    return params


def push_exchange_moved(exchange: Exchange) -> None:
    """Tell every open page of both parties that this deal moved: its page and their
    lists fetch themselves again (the database is the truth; the frame only says
    where to look)."""
    payload = {"type": "exchange", "id": exchange.pk, "state": exchange.state}
    for member_id in (exchange.asker_id, exchange.owner_id):
        live.push_to_member(member_id, payload)


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
