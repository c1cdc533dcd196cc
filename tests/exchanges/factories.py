"""Exchanges built directly in a given state, without walking through the services.

The state machine tests need a deal in every state for every kind; making it by hand
(with the fields that state implies: dates and blocked days for a loan, seats for a
ride, an offered item for a swap) keeps each case to a handful of queries."""

from __future__ import annotations

import itertools
from datetime import timedelta

from django.utils import timezone

from exchanges.models import HOLDING_STATES, Exchange, ExchangeKind, State
from listings.models import Kind, Listing, Terms
from members.models import Member
from tests.factories import ListingFactory, RideFactory, ServiceFactory

_numbers = itertools.count()

# The listing each kind of deal is made on.
LISTING_FOR_KIND = {
    ExchangeKind.LOAN: lambda owner: ListingFactory(owner=owner, terms=Terms.LEND, price_cents=300),
    ExchangeKind.SWAP: lambda owner: ListingFactory(owner=owner, terms=Terms.SWAP, title="Board game"),
    ExchangeKind.SALE: lambda owner: ListingFactory(owner=owner, terms=Terms.SELL, price_cents=4500),
    ExchangeKind.RIDE: lambda owner: RideFactory(owner=owner, seats=3, price_cents=500),
    ExchangeKind.SERVICE: lambda owner: ServiceFactory(owner=owner),
}


def days(n: int) -> timedelta:
    return timedelta(days=n)


def listing_for(kind: str, owner: Member) -> Listing:
    return LISTING_FOR_KIND[kind](owner)


def quick_member() -> Member:
    """A member in one query (no password, no email address row): for the hundreds of
    state machine cases, which only need someone to act."""
    n = next(_numbers)
    return Member.objects.create(email=f"party{n}@example.com", display_name=f"Party {n}")


def make_exchange(
    *,
    listing: Listing,
    asker: Member,
    state: str = State.REQUESTED,
    kind: str | None = None,
    offered: list[Listing] | None = None,
    **fields,
) -> Exchange:
    """An Exchange row in `state`, valid for its kind: a loan asks for days a few days
    ahead (blocked through the listing's buffer once it holds them), a ride one seat, a
    swap one active item of the asker's (made unless `offered` is given)."""
    kind = kind or _kind_of(listing)
    today = timezone.localdate()
    values: dict = {
        "listing": listing, "kind": kind, "asker": asker, "owner_id": listing.owner_id,
        "state": state, "expires_at": timezone.now() + timedelta(hours=48),
    }
    if kind == ExchangeKind.LOAN:
        values["start_date"] = fields.get("start_date", today + timedelta(days=3))
        values["end_date"] = fields.get("end_date", values["start_date"] + timedelta(days=2))
        if state in HOLDING_STATES:
            values["blocked_until"] = values["end_date"] + timedelta(days=listing.loan_buffer_days)
        values["amount_cents"] = listing.price_cents * ((values["end_date"] - values["start_date"]).days + 1)
    elif kind == ExchangeKind.RIDE:
        values["seats"] = 1
        values["amount_cents"] = listing.price_cents
    elif kind == ExchangeKind.SALE:
        values["amount_cents"] = listing.price_cents
    elif kind == ExchangeKind.SERVICE:
        values["proposed_minutes"] = listing.hours_minutes
        if state in (State.IN_PROGRESS, State.DISPUTED, State.COMPLETED):
            # The provider recorded the time 8 days ago: the receiver or Partage may confirm.
            values["actual_minutes"] = listing.hours_minutes
            values["time_recorded_at"] = timezone.now() - timedelta(days=8)
    values.update(fields)
    exchange = Exchange.objects.create(**values)
    if kind == ExchangeKind.SWAP:
        if offered is None:
            offered = [ListingFactory(owner=asker, terms=Terms.SWAP, title="Lamp")]
        exchange.offered_listings.set(offered)
    return exchange


def _kind_of(listing: Listing) -> str:
    if listing.kind == Kind.SERVICE:  # a free service too, for the table tests
        return ExchangeKind.SERVICE
    from exchanges.services import exchange_kind_for

    return exchange_kind_for(listing)
