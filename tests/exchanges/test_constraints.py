"""The database itself refuses what the services never write: checked by writing around
the services (update()/create() without full_clean)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction

from exchanges.models import BlockedPeriod, Exchange, ExchangeKind, State
from tests.exchanges.factories import days, make_exchange
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db

on_postgres = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="the no-overlap exclusion constraint (GiST) exists on PostgreSQL only",
)


def refused_by_the_database(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


# --- check constraints, on both databases ---------------------------------------------


def test_no_deal_with_oneself(drill, alice):
    refused_by_the_database(lambda: Exchange.objects.create(
        listing=drill, kind=ExchangeKind.SALE, asker=alice, owner=alice
    ))


def test_a_loan_needs_ordered_dates(drill, bob, today):
    refused_by_the_database(lambda: make_exchange(
        listing=drill, asker=bob, start_date=today + days(5), end_date=today + days(4)
    ))
    refused_by_the_database(lambda: Exchange.objects.create(
        listing=drill, kind=ExchangeKind.LOAN, asker=bob, owner=drill.owner,
        start_date=None, end_date=today + days(4),
    ))
    make_exchange(listing=drill, asker=bob, start_date=today + days(4), end_date=today + days(4))


def test_days_blocked_after_a_loan_never_end_before_it(drill, bob, today):
    loan = make_exchange(listing=drill, asker=bob, state=State.ACCEPTED,
                         start_date=today + days(2), end_date=today + days(4))
    refused_by_the_database(lambda: Exchange.objects.filter(pk=loan.pk).update(
        blocked_until=today + days(3)
    ))


@pytest.mark.parametrize("seats", [0, 9])
def test_a_ride_booking_takes_one_to_eight_seats(ride, bob, seats):
    booking = make_exchange(listing=ride, asker=bob)
    refused_by_the_database(lambda: Exchange.objects.filter(pk=booking.pk).update(seats=seats))
    Exchange.objects.filter(pk=booking.pk).update(seats=8)


def test_an_unknown_state_is_refused(bike, bob):
    sale = make_exchange(listing=bike, asker=bob)
    refused_by_the_database(lambda: Exchange.objects.filter(pk=sale.pk).update(state="lost"))


def test_a_blocked_period_has_ordered_dates(drill, today):
    refused_by_the_database(lambda: BlockedPeriod.objects.create(
        listing=drill, start_date=today + days(3), end_date=today + days(2)
    ))


# --- the exclusion constraint, on PostgreSQL ------------------------------------------


def accept_around_the_service(exchange: Exchange, buffer: int = 0) -> None:
    Exchange.objects.filter(pk=exchange.pk).update(
        state=State.ACCEPTED, blocked_until=exchange.end_date + timedelta(days=buffer)
    )


@pytest.fixture
def accepted_loan(drill, bob, today):
    """Bob holds the drill from day 5 to day 7, with one buffer day: 5–8 are taken."""
    loan = make_exchange(listing=drill, asker=bob, start_date=today + days(5),
                         end_date=today + days(7))
    accept_around_the_service(loan, buffer=1)
    return loan


@pytest.mark.postgres
@on_postgres
@pytest.mark.parametrize(("start", "end"), [(7, 9), (8, 8), (3, 5), (1, 12), (6, 6)])
def test_the_database_refuses_two_holding_loans_on_the_same_days(accepted_loan, drill, carol, today,
                                                                 start, end):
    other = make_exchange(listing=drill, asker=carol, start_date=today + days(start),
                          end_date=today + days(end))
    refused_by_the_database(lambda: accept_around_the_service(other))
    assert Exchange.objects.get(pk=other.pk).state == State.REQUESTED


@pytest.mark.postgres
@on_postgres
@pytest.mark.parametrize("state", [State.PAID, State.IN_PROGRESS, State.DISPUTED])
def test_every_holding_state_is_covered(accepted_loan, drill, carol, today, state):
    other = make_exchange(listing=drill, asker=carol, start_date=today + days(6),
                          end_date=today + days(6))
    refused_by_the_database(lambda: Exchange.objects.filter(pk=other.pk).update(
        state=state, blocked_until=other.end_date
    ))


@pytest.mark.postgres
@on_postgres
def test_the_database_lets_loans_follow_each_other(accepted_loan, drill, carol, dave, today):
    after = make_exchange(listing=drill, asker=carol, start_date=today + days(9),
                          end_date=today + days(10))
    accept_around_the_service(after)
    before = make_exchange(listing=drill, asker=dave, start_date=today + days(2),
                           end_date=today + days(4))
    accept_around_the_service(before)
    assert Exchange.objects.filter(listing=drill, state=State.ACCEPTED).count() == 3


@pytest.mark.postgres
@on_postgres
def test_the_database_ignores_loans_that_hold_nothing_and_other_listings(accepted_loan, alice, drill,
                                                                        carol, today):
    overlapping = make_exchange(listing=drill, asker=carol, start_date=today + days(6),
                                end_date=today + days(6))
    Exchange.objects.filter(pk=overlapping.pk).update(state=State.CANCELLED,
                                                      blocked_until=overlapping.end_date)
    other_drill = ListingFactory(owner=alice)
    same_days = make_exchange(listing=other_drill, asker=carol, start_date=today + days(5),
                              end_date=today + days(7))
    accept_around_the_service(same_days)
