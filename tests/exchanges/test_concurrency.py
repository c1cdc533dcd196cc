"""No overbooking under real concurrency, on PostgreSQL.

Each racer is a thread with its own database connection, in autocommit like a real
request; a Barrier starts them together. Everything is set up and committed in its own
connection too, and deleted afterwards: a transactional test would flush the seeded
categories. SQLite serialises every writer, so these races cannot happen there."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db.models import Q
from django.utils import timezone

from exchanges.models import Exchange, ExchangeEvent, ExchangeKind, State
from exchanges.services import ExchangeError, exchange_accept, exchange_request, seats_taken
from listings.models import Listing
from members.models import Member
from tests.factories import ListingFactory, MemberFactory, RideFactory
from tests.threads import delete_conversations_of, in_own_connection, in_parallel

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="races need real row locks and concurrent writers: PostgreSQL only",
    ),
]


def race(works: list[Callable]) -> list[str]:
    """Start every work at once (tests.threads.in_parallel); tell how each ended: "won",
    "refused" (ExchangeError) or the unexpected error's repr."""
    return [
        "refused" if isinstance(result, ExchangeError)
        else repr(result) if isinstance(result, Exception)
        else "won"
        for result in in_parallel(works, timeout=30)
    ]


def delete_everything_of(members: list[Member]) -> None:
    def delete() -> None:
        pks = [m.pk for m in members]
        delete_conversations_of(pks)
        Exchange.objects.filter(Q(asker__in=pks) | Q(owner__in=pks)).delete()
        Member.objects.filter(pk__in=pks).delete()  # their listings go with them

    in_own_connection(delete)


@pytest.mark.parametrize("round_", range(5))
def test_two_overlapping_loans_accepted_at_once_only_one_wins(round_):
    def setup():
        alice, bob, carol = MemberFactory.create_batch(3)
        drill = ListingFactory(owner=alice, loan_buffer_days=1)
        today = timezone.localdate()
        first = exchange_request(listing=drill, asker=bob, start_date=today + timedelta(days=5),
                                 end_date=today + timedelta(days=7))
        # Starts on Bob's buffer day: only acceptance can tell them apart.
        second = exchange_request(listing=drill, asker=carol, start_date=today + timedelta(days=8),
                                  end_date=today + timedelta(days=9))
        return [alice, bob, carol], drill, [first, second]

    members, drill, requests = in_own_connection(setup)
    alice = members[0]
    try:
        outcomes = race([lambda e=e: exchange_accept(exchange=e, by=alice) for e in requests])
        assert sorted(outcomes) == ["refused", "won"]
        holding = in_own_connection(lambda: list(
            Exchange.objects.filter(listing=drill, kind=ExchangeKind.LOAN).holding()
        ))
        assert len(holding) == 1
        states = in_own_connection(lambda: sorted(
            Exchange.objects.filter(listing=drill).values_list("state", flat=True)
        ))
        assert states == [State.ACCEPTED, State.REQUESTED]
    finally:
        delete_everything_of(members)


@pytest.mark.parametrize("round_", range(3))
def test_twenty_passengers_racing_for_the_last_three_seats_get_three(round_):
    def setup():
        driver, early = MemberFactory(), MemberFactory()
        ride = RideFactory(owner=driver, seats=5, departs_at=timezone.now() + timedelta(days=1))
        exchange_accept(exchange=exchange_request(listing=ride, asker=early, seats=2), by=driver)
        passengers = MemberFactory.create_batch(20)
        bookings = [exchange_request(listing=ride, asker=p, seats=1) for p in passengers]
        return [driver, early, *passengers], ride, bookings

    members, ride, bookings = in_own_connection(setup)
    driver = members[0]
    try:
        outcomes = race([lambda b=b: exchange_accept(exchange=b, by=driver) for b in bookings])
        assert Counter(outcomes) == {"won": 3, "refused": 17}

        def figures():
            racers = Exchange.objects.filter(pk__in=[b.pk for b in bookings])
            return (
                seats_taken(ride),
                # The count the cards show, kept under the same lock, agrees.
                Listing.objects.get(pk=ride.pk).seats_booked,
                racers.filter(state=State.ACCEPTED).count(),
                racers.filter(state=State.REQUESTED).count(),
                ExchangeEvent.objects.filter(exchange__in=racers, action="accept").count(),
            )

        assert in_own_connection(figures) == (5, 5, 3, 17, 3)
    finally:
        delete_everything_of(members)


def test_two_buyers_accepted_at_once_make_one_sale():
    def setup():
        alice, bob, carol = MemberFactory.create_batch(3)
        bike = ListingFactory(owner=alice, terms="sell", price_cents=4500)
        requests = [exchange_request(listing=bike, asker=m) for m in (bob, carol)]
        return [alice, bob, carol], bike, requests

    members, bike, requests = in_own_connection(setup)
    try:
        outcomes = race([lambda e=e: exchange_accept(exchange=e, by=members[0]) for e in requests])
        assert sorted(outcomes) == ["refused", "won"]
        assert in_own_connection(lambda: Exchange.objects.filter(listing=bike).holding().count()) == 1
    finally:
        delete_everything_of(members)
