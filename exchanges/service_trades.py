"""What the exchange page shows of a service trade: each service given (one, or two in a
swap of services), who gives it, its proposed and recorded time, whether the other
member confirmed it, and the ledger transfer that paid it. Reads only; the rules live
in exchanges/services.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from exchanges import services
from exchanges.forms import RecordTimeForm, format_hours
from exchanges.models import Exchange, ExchangeKind
from ledger.models import Transfer
from listings.models import Listing
from members.models import Member


@dataclass(frozen=True)
class ServiceSide:
    listing: Listing
    provider: Member
    receiver: Member
    proposed_minutes: int | None
    actual_minutes: int | None
    recorded_at: datetime | None
    confirmed_at: datetime | None
    transfer: Transfer | None
    is_mine: bool


@dataclass(frozen=True)
class ServiceTradePanel:
    sides: list[ServiceSide]
    is_swap: bool
    record_form: RecordTimeForm | None
    can_confirm: bool
    # The side this member would confirm (the other member's service), if any.
    to_confirm: ServiceSide | None


def service_trade_panel(exchange: Exchange, member: Member,
                        record_form: RecordTimeForm | None = None) -> ServiceTradePanel | None:
    """The panel for this member, or None when the exchange is no service trade. Two
    queries at most: the transfers (by their keys) and, in a swap, the service given in
    return. `record_form`: a bound form a refused POST shows again."""
    if exchange.kind != ExchangeKind.SERVICE:
        return None
    # The page asks twice (the actions panel and the main column): build it once.
    cache = exchange.__dict__.setdefault("_service_trade_panels", {})
    if member.pk not in cache:
        cache[member.pk] = _build(exchange, member, record_form)
    return cache[member.pk]


def _build(exchange: Exchange, member: Member, bound_form: RecordTimeForm | None) -> ServiceTradePanel:
    keys = services.service_transfer_keys(exchange)
    transfers = {
        t.idempotency_key: t
        for t in Transfer.objects.filter(idempotency_key__in=keys).select_related(
            "from_account__member", "to_account__member", "reversed_by"
        )
    }
    sides = [ServiceSide(
        listing=exchange.listing, provider=exchange.owner, receiver=exchange.asker,
        proposed_minutes=exchange.proposed_minutes, actual_minutes=exchange.actual_minutes,
        recorded_at=exchange.time_recorded_at, confirmed_at=exchange.time_confirmed_at,
        transfer=transfers.get(keys[0]), is_mine=member.pk == exchange.owner_id,
    )]
    if exchange.is_service_swap:
        sides.append(ServiceSide(
            listing=exchange.return_listing, provider=exchange.asker, receiver=exchange.owner,
            proposed_minutes=exchange.return_proposed_minutes,
            actual_minutes=exchange.return_actual_minutes,
            recorded_at=exchange.return_time_recorded_at,
            confirmed_at=exchange.return_time_confirmed_at,
            transfer=transfers.get(keys[1]), is_mine=member.pk == exchange.asker_id,
        ))
    record_form = None
    if services.can_record_time(exchange, member):
        mine = next(side for side in sides if side.is_mine)
        record_form = bound_form or RecordTimeForm(initial={
            "minutes": format_hours(mine.actual_minutes or mine.proposed_minutes)
        })
    can_confirm = services.can_confirm_time(exchange, member)
    return ServiceTradePanel(
        sides=sides, is_swap=exchange.is_service_swap, record_form=record_form,
        can_confirm=can_confirm,
        to_confirm=next((side for side in sides if not side.is_mine), None) if can_confirm else None,
    )
