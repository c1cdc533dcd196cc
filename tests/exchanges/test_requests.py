"""exchange_request: each kind's rules, every bad input refused with nothing written,
amounts fixed in integer cents, and when a request runs out of time."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from exchanges.models import BlockedPeriod, Exchange, ExchangeEvent, ExchangeKind, State
from exchanges.services import (
    MAX_LOAN_ADVANCE_DAYS,
    MAX_LOAN_DAYS,
    REQUEST_LIFETIME,
    ExchangeError,
    exchange_accept,
    exchange_decline,
    exchange_kind_for,
    exchange_request,
    expire_due_requests,
)
from listings.models import Kind, Status, Terms
from tests.exchanges.factories import days, make_exchange
from tests.factories import ListingFactory, RideFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def refusal(call) -> ExchangeError:
    """Run call(), which must be refused, and check it wrote nothing at all."""
    exchanges_before, events_before = Exchange.objects.count(), ExchangeEvent.objects.count()
    with pytest.raises(ExchangeError) as error:
        call()
    assert Exchange.objects.count() == exchanges_before
    assert ExchangeEvent.objects.count() == events_before
    return error.value


def text(error: ExchangeError) -> str:
    return " ".join(error.messages)


def start_of(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- every kind -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "terms", "expected"),
    [
        (Kind.ITEM, Terms.LEND, ExchangeKind.LOAN),
        (Kind.ITEM, Terms.SWAP, ExchangeKind.SWAP),
        (Kind.ITEM, Terms.SELL, ExchangeKind.SALE),
        (Kind.ITEM, Terms.GIVE, ExchangeKind.SALE),
        (Kind.RIDE, Terms.SHARE, ExchangeKind.RIDE),
        (Kind.SERVICE, Terms.BARTER, ExchangeKind.SERVICE),
        (Kind.SERVICE, Terms.GIVE, None),
        (Kind.WANTED, Terms.LEND, None),
        (Kind.WANTED, Terms.SELL, None),
    ],
)
def test_each_listing_makes_its_kind_of_deal(kind, terms, expected):
    assert exchange_kind_for(ListingFactory.build(kind=kind, terms=terms)) == expected


def test_a_request_is_recorded_with_its_message(drill, alice, bob, today):
    exchange = exchange_request(
        listing=drill, asker=bob, start_date=today + days(3), end_date=today + days(4),
        message="  Saturday morning?  ",
    )
    exchange.refresh_from_db()
    assert (exchange.state, exchange.kind, exchange.asker, exchange.owner) == (
        State.REQUESTED, ExchangeKind.LOAN, bob, alice
    )
    assert exchange.message == "Saturday morning?"
    assert exchange.pay_in_person is True
    event = ExchangeEvent.objects.get(exchange=exchange)
    assert (event.action, event.actor, event.from_state, event.to_state, event.note) == (
        "request", bob, "", State.REQUESTED, "Saturday morning?"
    )


def test_a_long_message_is_cut_to_2000_characters(bike, bob):
    exchange = exchange_request(listing=bike, asker=bob, message="x" * 2500)
    assert len(exchange.message) == 2000


def test_nobody_asks_for_their_own_listing(drill, alice, today):
    error = refusal(lambda: exchange_request(
        listing=drill, asker=alice, start_date=today + days(1), end_date=today + days(2)
    ))
    assert "your own listing" in text(error)


@pytest.mark.parametrize("status", [Status.PAUSED, Status.CLOSED, Status.REMOVED])
@pytest.mark.parametrize("fixture", ["drill", "ride", "bike", "board_game"])
def test_a_listing_that_is_not_active_takes_no_request(request, bob, lamp, today, fixture, status):
    listing = request.getfixturevalue(fixture)
    listing.status = status
    listing.save()
    error = refusal(lambda: exchange_request(
        listing=listing, asker=bob, start_date=today + days(1), end_date=today + days(2),
        seats=1, offered=[lamp],
    ))
    assert "not available" in text(error)


def test_the_listing_status_is_read_from_the_database_not_from_the_caller(drill, bob, today):
    stale = type(drill).objects.get(pk=drill.pk)
    type(drill).objects.filter(pk=drill.pk).update(status=Status.PAUSED)
    refusal(lambda: exchange_request(
        listing=stale, asker=bob, start_date=today + days(1), end_date=today + days(2)
    ))


@pytest.mark.parametrize(
    "make",
    [
        lambda owner: ListingFactory(owner=owner, kind=Kind.WANTED, terms=Terms.LEND),
        lambda owner: ListingFactory(owner=owner, kind=Kind.WANTED, terms=Terms.SELL),
        lambda owner: ServiceFactory(owner=owner, terms=Terms.GIVE, hours_minutes=None),
    ],
    ids=["wanted to borrow", "wanted to buy", "service given"],
)
def test_wanted_posts_and_services_take_no_request(alice, bob, today, make):
    listing = make(alice)
    error = refusal(lambda: exchange_request(
        listing=listing, asker=bob, start_date=today + days(1), end_date=today + days(2)
    ))
    assert "does not take requests" in text(error)


def test_one_open_request_per_member_and_listing(bike, alice, bob, carol):
    first = exchange_request(listing=bike, asker=bob)
    error = refusal(lambda: exchange_request(listing=bike, asker=bob))
    assert "already have an open request" in text(error)
    exchange_request(listing=bike, asker=carol)  # another member may ask
    exchange_decline(exchange=first, by=alice)
    exchange_request(listing=bike, asker=bob)  # and so may Bob once answered
    assert Exchange.objects.filter(asker=bob).count() == 2


def test_an_accepted_deal_is_still_open_for_the_duplicate_rule(bike, alice, bob):
    exchange_accept(exchange=exchange_request(listing=bike, asker=bob), by=alice)
    refusal(lambda: exchange_request(listing=bike, asker=bob))


# --- loans ----------------------------------------------------------------------------


def test_a_loan_costs_the_daily_fee_times_the_days_and_keeps_the_deposit(drill, bob, today):
    exchange = exchange_request(listing=drill, asker=bob, start_date=today + days(3),
                                end_date=today + days(5))
    assert (exchange.start_date, exchange.end_date) == (today + days(3), today + days(5))
    assert exchange.amount_cents == 3 * 300
    assert isinstance(exchange.amount_cents, int)
    assert exchange.deposit_cents == 5000
    assert exchange.blocked_until is None  # nothing is held before acceptance


def test_a_free_loan_costs_nothing(alice, bob, today):
    free_drill = ListingFactory(owner=alice, price_cents=0)
    exchange = exchange_request(listing=free_drill, asker=bob, start_date=today, end_date=today)
    assert (exchange.amount_cents, exchange.days) == (0, 1)


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (None, None, "start_date", "Choose the days"),
        (3, None, "start_date", "Choose the days"),
        (None, 3, "start_date", "Choose the days"),
        (-1, 2, "start_date", "in the past"),
        (-3, -1, "start_date", "in the past"),
        (5, 4, "end_date", "comes after the first"),
        (1, MAX_LOAN_DAYS + 1, "end_date", "at most 60 days"),
        (MAX_LOAN_ADVANCE_DAYS + 1, MAX_LOAN_ADVANCE_DAYS + 2, "start_date", "a year ahead"),
    ],
    ids=["no dates", "no end", "no start", "starts yesterday", "all in the past", "reversed",
         "61 days", "more than a year ahead"],
)
def test_bad_loan_dates_are_refused_on_their_field(drill, bob, today, start, end, field, message):
    def day(n):
        return None if n is None else today + days(n)

    error = refusal(lambda: exchange_request(
        listing=drill, asker=bob, start_date=day(start), end_date=day(end)
    ))
    assert message in " ".join(error.message_dict[field])


def test_the_longest_and_farthest_loans_are_allowed(drill, alice, bob, carol, today):
    longest = exchange_request(listing=drill, asker=bob, start_date=today,
                               end_date=today + days(MAX_LOAN_DAYS - 1))
    assert longest.days == MAX_LOAN_DAYS
    far = today + days(MAX_LOAN_ADVANCE_DAYS)
    exchange_request(listing=drill, asker=carol, start_date=far, end_date=far)


def test_a_loan_may_overlap_another_request_but_not_an_accepted_loan(drill, alice, bob, carol, dave, today):
    first = exchange_request(listing=drill, asker=bob, start_date=today + days(5),
                             end_date=today + days(7))
    exchange_request(listing=drill, asker=carol, start_date=today + days(6),
                     end_date=today + days(8))  # only a request: both may ask
    exchange_accept(exchange=first, by=alice)
    error = refusal(lambda: exchange_request(
        listing=drill, asker=dave, start_date=today + days(6), end_date=today + days(8)
    ))
    assert "overlap another loan" in " ".join(error.message_dict["start_date"])


@pytest.mark.parametrize(
    ("start", "end", "free"),
    [
        (1, 4, True),  # ends the day before (no buffer)
        (1, 5, False),  # ends on the first day
        (6, 6, False),  # inside
        (3, 12, False),  # around
        (7, 9, False),  # starts on the last day
        (8, 9, True),  # starts the day after
    ],
)
def test_a_loan_request_must_avoid_the_days_of_an_accepted_loan(drill, bob, carol, today, start, end, free):
    make_exchange(listing=drill, asker=carol, state=State.ACCEPTED,
                  start_date=today + days(5), end_date=today + days(7))
    call = lambda: exchange_request(  # noqa: E731
        listing=drill, asker=bob, start_date=today + days(start), end_date=today + days(end)
    )
    if free:
        call()
    else:
        error = refusal(call)
        assert "overlap another loan" in " ".join(error.message_dict["start_date"])


@pytest.mark.parametrize("state", [State.PAID, State.IN_PROGRESS, State.DISPUTED])
def test_every_holding_loan_keeps_its_days(drill, bob, carol, today, state):
    make_exchange(listing=drill, asker=carol, state=state,
                  start_date=today + days(5), end_date=today + days(7))
    refusal(lambda: exchange_request(listing=drill, asker=bob, start_date=today + days(6),
                                     end_date=today + days(6)))


@pytest.mark.parametrize("state", [State.REQUESTED, State.DECLINED, State.CANCELLED,
                                   State.EXPIRED, State.COMPLETED])
def test_a_loan_that_holds_nothing_leaves_its_days_free(drill, bob, carol, today, state):
    make_exchange(listing=drill, asker=carol, state=state,
                  start_date=today + days(5), end_date=today + days(7))
    exchange_request(listing=drill, asker=bob, start_date=today + days(6), end_date=today + days(6))


@pytest.mark.parametrize(
    ("start", "end", "free"),
    [
        (8, 9, False),  # on the buffer days after the loan
        (9, 9, False),  # last buffer day
        (10, 11, True),  # after the buffer
        (1, 2, True),  # ends early enough for its own buffer
        (1, 3, False),  # its own buffer would reach the loan's first day
    ],
)
def test_buffer_days_stay_free_after_a_loan_and_after_the_new_one(drill, bob, carol, today, start, end, free):
    drill.loan_buffer_days = 2
    drill.save()
    make_exchange(listing=drill, asker=carol, state=State.ACCEPTED,
                  start_date=today + days(5), end_date=today + days(7))
    call = lambda: exchange_request(  # noqa: E731
        listing=drill, asker=bob, start_date=today + days(start), end_date=today + days(end)
    )
    if free:
        call()
    else:
        refusal(call)


@pytest.mark.parametrize(("start", "end", "free"), [(8, 10, False), (12, 14, False),
                                                    (9, 13, False), (5, 9, True), (13, 15, True)])
def test_days_the_owner_blocked_are_refused(drill, bob, today, start, end, free):
    BlockedPeriod.objects.create(listing=drill, start_date=today + days(10),
                                 end_date=today + days(12), note="Holidays")
    call = lambda: exchange_request(  # noqa: E731
        listing=drill, asker=bob, start_date=today + days(start), end_date=today + days(end)
    )
    if free:
        call()
    else:
        error = refusal(call)
        assert "keeps these days free" in " ".join(error.message_dict["start_date"])


def test_a_member_with_an_overdue_loan_cannot_borrow_again(alice, drill, bob, today):
    hammer = ListingFactory(owner=alice, title="Hammer")
    make_exchange(listing=hammer, asker=bob, state=State.IN_PROGRESS,
                  start_date=today - days(5), end_date=today - days(1))
    error = refusal(lambda: exchange_request(
        listing=drill, asker=bob, start_date=today + days(1), end_date=today + days(2)
    ))
    assert "Please return “Hammer” first" in text(error)


def test_a_loan_due_today_is_not_yet_overdue(alice, drill, bob, today):
    hammer = ListingFactory(owner=alice, title="Hammer")
    make_exchange(listing=hammer, asker=bob, state=State.IN_PROGRESS,
                  start_date=today - days(5), end_date=today)
    exchange_request(listing=drill, asker=bob, start_date=today + days(1), end_date=today + days(2))


def test_an_overdue_borrower_may_still_buy_or_ride(alice, bike, ride, bob, today):
    hammer = ListingFactory(owner=alice, title="Hammer")
    make_exchange(listing=hammer, asker=bob, state=State.IN_PROGRESS,
                  start_date=today - days(5), end_date=today - days(1))
    exchange_request(listing=bike, asker=bob)
    exchange_request(listing=ride, asker=bob, seats=1)


# --- rides ----------------------------------------------------------------------------


def test_a_ride_booking_costs_the_seat_price_times_the_seats(ride, bob):
    exchange = exchange_request(listing=ride, asker=bob, seats=2)
    assert (exchange.kind, exchange.seats, exchange.amount_cents) == (ExchangeKind.RIDE, 2, 1000)


@pytest.mark.parametrize(("seats", "message"), [
    (None, "at least one seat"), (0, "at least one seat"), (-1, "at least one seat"),
    (4, "Only 3 seats are left"), (9, "Only 3 seats are left"),
])
def test_a_ride_booking_asks_for_one_to_the_free_seats(ride, bob, seats, message):
    error = refusal(lambda: exchange_request(listing=ride, asker=bob, seats=seats))
    assert message in " ".join(error.message_dict["seats"])


def test_seats_held_by_accepted_bookings_are_not_free(ride, bob, carol):
    make_exchange(listing=ride, asker=carol, state=State.ACCEPTED, seats=2)
    error = refusal(lambda: exchange_request(listing=ride, asker=bob, seats=2))
    assert "Only 1 seat is left" in " ".join(error.message_dict["seats"])
    exchange_request(listing=ride, asker=bob, seats=1)


def test_a_full_ride_says_no_seat_is_left(ride, bob, carol):
    make_exchange(listing=ride, asker=carol, state=State.IN_PROGRESS, seats=3)
    error = refusal(lambda: exchange_request(listing=ride, asker=bob, seats=1))
    assert "No seat is left" in " ".join(error.message_dict["seats"])


def test_a_ride_that_left_takes_no_booking(alice, bob):
    left = RideFactory(owner=alice, departs_at=timezone.now() - timedelta(minutes=1))
    error = refusal(lambda: exchange_request(listing=left, asker=bob, seats=1))
    assert "already left" in text(error)


# --- swaps and sales --------------------------------------------------------------------


def test_a_swap_records_what_is_offered_and_costs_nothing(board_game, bob, lamp):
    book = ListingFactory(owner=bob, terms=Terms.GIVE, title="Book")
    exchange = exchange_request(listing=board_game, asker=bob, offered=[lamp, book])
    assert exchange.kind == ExchangeKind.SWAP
    assert set(exchange.offered_listings.all()) == {lamp, book}
    assert exchange.amount_cents == 0


def test_a_swap_offers_something(board_game, bob):
    error = refusal(lambda: exchange_request(listing=board_game, asker=bob, offered=[]))
    assert "Offer at least one" in " ".join(error.message_dict["offered"])


@pytest.mark.parametrize(
    "make",
    [
        lambda alice, bob, carol: ListingFactory(owner=carol, terms=Terms.SWAP),
        lambda alice, bob, carol: ListingFactory(owner=alice, terms=Terms.SWAP),
        lambda alice, bob, carol: ListingFactory(owner=bob, terms=Terms.SWAP, status=Status.PAUSED),
        lambda alice, bob, carol: ListingFactory(owner=bob, terms=Terms.SWAP, status=Status.CLOSED),
        lambda alice, bob, carol: RideFactory(owner=bob),
        lambda alice, bob, carol: ServiceFactory(owner=bob),
        lambda alice, bob, carol: ListingFactory(owner=bob, kind=Kind.WANTED, terms=Terms.SWAP),
    ],
    ids=["someone else's", "the owner's own", "paused", "closed", "a ride", "a service", "a wanted post"],
)
def test_a_swap_offers_only_the_askers_own_active_items(board_game, alice, bob, carol, lamp, make):
    offered = make(alice, bob, carol)
    error = refusal(lambda: exchange_request(listing=board_game, asker=bob, offered=[lamp, offered]))
    assert "your own active tools and items" in " ".join(error.message_dict["offered"])


def test_a_sale_costs_the_price(bike, bob):
    exchange = exchange_request(listing=bike, asker=bob)
    assert (exchange.kind, exchange.amount_cents, exchange.deposit_cents) == (ExchangeKind.SALE, 4500, 0)


def test_a_gift_is_a_sale_at_no_price(armchair, bob):
    exchange = exchange_request(listing=armchair, asker=bob)
    assert (exchange.kind, exchange.amount_cents) == (ExchangeKind.SALE, 0)


# --- time -------------------------------------------------------------------------------


def test_a_request_expires_after_72_hours(bike, bob):
    exchange = exchange_request(listing=bike, asker=bob)
    assert exchange.expires_at == exchange.requested_at + REQUEST_LIFETIME


def test_a_loan_request_far_ahead_expires_after_72_hours(drill, bob, today):
    exchange = exchange_request(listing=drill, asker=bob, start_date=today + days(10),
                                end_date=today + days(11))
    assert exchange.expires_at == exchange.requested_at + REQUEST_LIFETIME


def test_a_loan_request_expires_when_its_first_day_begins(drill, bob, today):
    exchange = exchange_request(listing=drill, asker=bob, start_date=today + days(2),
                                end_date=today + days(3))
    assert exchange.expires_at == start_of(today + days(2))


def test_a_loan_asked_for_today_may_be_answered_until_tonight(drill, bob, today):
    exchange = exchange_request(listing=drill, asker=bob, start_date=today, end_date=today + days(1))
    assert exchange.expires_at == start_of(today + days(1))
    assert exchange.expires_at > timezone.now()
    assert expire_due_requests() == []


def test_a_ride_request_expires_when_the_ride_leaves(alice, bob):
    soon = RideFactory(owner=alice, departs_at=timezone.now() + timedelta(hours=5))
    exchange = exchange_request(listing=soon, asker=bob, seats=1)
    assert exchange.expires_at == soon.departs_at
    later = RideFactory(owner=alice, departs_at=timezone.now() + timedelta(days=5))
    exchange = exchange_request(listing=later, asker=bob, seats=1)
    assert exchange.expires_at == exchange.requested_at + REQUEST_LIFETIME


def test_due_requests_expire_once_and_answered_ones_stay(drill, bike, ride, alice, bob, carol):
    past = timezone.now() - timedelta(minutes=1)
    due = make_exchange(listing=bike, asker=bob, expires_at=past)
    answered = make_exchange(listing=drill, asker=bob, state=State.ACCEPTED, expires_at=past)
    not_yet = make_exchange(listing=ride, asker=carol)
    assert [e.pk for e in expire_due_requests()] == [due.pk]
    assert expire_due_requests() == []
    states = dict(Exchange.objects.values_list("pk", "state"))
    assert states == {due.pk: State.EXPIRED, answered.pk: State.ACCEPTED, not_yet.pk: State.REQUESTED}
    event = ExchangeEvent.objects.get()
    assert (event.exchange_id, event.actor, event.action, event.to_state) == (
        due.pk, None, "expire", State.EXPIRED
    )


def test_a_request_past_its_time_cannot_be_accepted_before_the_tick_runs(bike, alice, bob):
    exchange = make_exchange(listing=bike, asker=bob, expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ExchangeError, match="expired"):
        exchange_accept(exchange=exchange, by=alice)
    exchange.refresh_from_db()
    assert exchange.state == State.REQUESTED
    assert not ExchangeEvent.objects.exists()
