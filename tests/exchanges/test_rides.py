"""Ride bookings: seats counted over every booking that holds them, freed when a
booking is called off, and no booking accepted once the ride has left."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exchanges.models import Exchange, State
from exchanges.services import (
    ExchangeError,
    exchange_accept,
    exchange_call_off,
    exchange_complete,
    exchange_request,
    exchange_start,
    seats_taken,
)
from listings.models import Listing, Status
from tests.exchanges.factories import make_exchange
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def state_of(exchange: Exchange) -> str:
    return Exchange.objects.values_list("state", flat=True).get(pk=exchange.pk)


def test_accepted_bookings_add_up_to_the_seats_offered(ride, alice, bob, carol, dave):
    two = exchange_request(listing=ride, asker=bob, seats=2)
    one = exchange_request(listing=ride, asker=carol, seats=1)
    late = exchange_request(listing=ride, asker=dave, seats=1)  # asked while seats were free
    exchange_accept(exchange=two, by=alice)
    exchange_accept(exchange=one, by=alice)
    assert seats_taken(ride) == 3
    with pytest.raises(ExchangeError, match="Not enough seats"):
        exchange_accept(exchange=late, by=alice)
    assert state_of(late) == State.REQUESTED
    assert seats_taken(ride) == 3


def test_a_booking_for_more_seats_than_are_left_is_refused_at_acceptance(ride, alice, bob, carol):
    two = exchange_request(listing=ride, asker=bob, seats=2)
    also_two = exchange_request(listing=ride, asker=carol, seats=2)
    exchange_accept(exchange=two, by=alice)
    with pytest.raises(ExchangeError, match="Not enough seats"):
        exchange_accept(exchange=also_two, by=alice)
    assert seats_taken(ride) == 2


@pytest.mark.parametrize(("state", "holds"), [
    (State.REQUESTED, False), (State.ACCEPTED, True), (State.PAID, True),
    (State.IN_PROGRESS, True), (State.DISPUTED, True), (State.DECLINED, False),
    (State.CANCELLED, False), (State.EXPIRED, False), (State.COMPLETED, False),
])
def test_only_bookings_that_hold_seats_count(ride, bob, state, holds):
    make_exchange(listing=ride, asker=bob, state=state, seats=2)
    assert seats_taken(ride) == (2 if holds else 0)


def test_seats_taken_may_leave_one_booking_out(ride, bob, carol):
    mine = make_exchange(listing=ride, asker=bob, state=State.ACCEPTED, seats=2)
    make_exchange(listing=ride, asker=carol, state=State.ACCEPTED, seats=1)
    assert seats_taken(ride, exclude=mine) == 1


@pytest.mark.parametrize("by", ["alice", "bob"])
def test_calling_off_a_booking_frees_its_seats(request, ride, alice, bob, carol, by):
    full = exchange_accept(exchange=exchange_request(listing=ride, asker=bob, seats=3), by=alice)
    waiting = make_exchange(listing=ride, asker=carol, seats=2)
    exchange_call_off(exchange=full, by=request.getfixturevalue(by))
    assert seats_taken(ride) == 0
    exchange_accept(exchange=waiting, by=alice)
    exchange_request(listing=ride, asker=MemberFactory(), seats=1)
    assert seats_taken(ride) == 2


def test_a_ride_that_left_accepts_no_booking(ride, alice, bob):
    booking = exchange_request(listing=ride, asker=bob, seats=1)
    Listing.objects.filter(pk=ride.pk).update(departs_at=timezone.now() - timedelta(minutes=5))
    Exchange.objects.filter(pk=booking.pk).update(expires_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(ExchangeError, match="already left"):
        exchange_accept(exchange=booking, by=alice)
    assert state_of(booking) == State.REQUESTED
    assert seats_taken(ride) == 0


def test_a_paused_ride_accepts_no_booking(ride, alice, bob):
    booking = exchange_request(listing=ride, asker=bob, seats=1)
    Listing.objects.filter(pk=ride.pk).update(status=Status.PAUSED)
    with pytest.raises(ExchangeError, match="Reactivate"):
        exchange_accept(exchange=booking, by=alice)


def test_a_ride_from_booking_to_arrival(ride, alice, bob):
    booking = exchange_request(listing=ride, asker=bob, seats=2)
    exchange_accept(exchange=booking, by=alice)
    exchange_start(exchange=booking, by=alice)
    assert seats_taken(ride) == 2  # passengers on board still hold their seats
    with pytest.raises(ExchangeError):
        exchange_complete(exchange=booking, by=bob)  # the driver says when they arrived
    exchange_complete(exchange=booking, by=alice)
    assert state_of(booking) == State.COMPLETED
    ride.refresh_from_db()
    assert ride.status == Status.ACTIVE  # a ride is not "sold"; other passengers ride too
