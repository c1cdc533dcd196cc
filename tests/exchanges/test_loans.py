"""Loans: acceptance re-checks the days on the locked listing, buffers, calling off,
the hand-over refused to a borrower who is late elsewhere, and overdue reminders."""

from __future__ import annotations

import pytest

from exchanges.models import BlockedPeriod, Exchange, ExchangeEvent, State
from exchanges.services import (
    ExchangeError,
    exchange_accept,
    exchange_call_off,
    exchange_complete,
    exchange_mark_paid,
    exchange_request,
    exchange_start,
    loan_conflict,
    overdue_loans_of,
    remind_overdue_loans,
    taken_loan_periods,
)
from exchanges.signals import loan_overdue
from listings.models import Status
from tests.exchanges.factories import days, make_exchange
from tests.factories import ListingFactory, MemberFactory

pytestmark = pytest.mark.django_db


def ask(listing, asker, today, start: int, end: int) -> Exchange:
    return exchange_request(listing=listing, asker=asker, start_date=today + days(start),
                            end_date=today + days(end))


def state_of(exchange: Exchange) -> str:
    return Exchange.objects.values_list("state", flat=True).get(pk=exchange.pk)


def test_accepting_holds_the_days_and_the_buffer(drill, alice, bob, today):
    drill.loan_buffer_days = 2
    drill.save()
    exchange = exchange_accept(exchange=ask(drill, bob, today, 5, 7), by=alice)
    exchange.refresh_from_db()
    assert exchange.state == State.ACCEPTED
    assert exchange.blocked_until == today + days(9)
    assert taken_loan_periods(drill) == [(today + days(5), today + days(9))]


def test_without_buffer_the_days_held_end_with_the_loan(drill, alice, bob, today):
    exchange = exchange_accept(exchange=ask(drill, bob, today, 5, 7), by=alice)
    assert Exchange.objects.get(pk=exchange.pk).blocked_until == today + days(7)


def test_accepting_refuses_days_another_accepted_loan_took_meanwhile(drill, alice, bob, carol, today):
    first, second = ask(drill, bob, today, 5, 7), ask(drill, carol, today, 7, 9)
    exchange_accept(exchange=first, by=alice)
    with pytest.raises(ExchangeError, match="overlap another loan"):
        exchange_accept(exchange=second, by=alice)
    assert state_of(second) == State.REQUESTED
    assert Exchange.objects.get(pk=second.pk).blocked_until is None
    assert not ExchangeEvent.objects.filter(exchange=second, action="accept").exists()


@pytest.mark.parametrize(("buffer", "next_start", "fits"), [
    (0, 1, True), (0, 0, False), (1, 1, False), (1, 2, True), (3, 3, False), (3, 4, True),
])
def test_loans_may_follow_each_other_once_the_buffer_is_over(drill, alice, bob, carol, today,
                                                              buffer, next_start, fits):
    """Bob's loan ends on day D (= today + 10); Carol's starts on D + next_start."""
    drill.loan_buffer_days = buffer
    drill.save()
    exchange_accept(exchange=ask(drill, bob, today, 8, 10), by=alice)
    # Carol asked before Bob was accepted, so only acceptance can refuse her.
    carol_request = make_exchange(listing=drill, asker=carol,
                                  start_date=today + days(10 + next_start),
                                  end_date=today + days(12 + next_start))
    if fits:
        exchange_accept(exchange=carol_request, by=alice)
        assert state_of(carol_request) == State.ACCEPTED
    else:
        with pytest.raises(ExchangeError):
            exchange_accept(exchange=carol_request, by=alice)
        assert state_of(carol_request) == State.REQUESTED


def test_a_loan_before_another_must_leave_its_own_buffer(drill, alice, bob, carol, today):
    drill.loan_buffer_days = 1
    drill.save()
    exchange_accept(exchange=ask(drill, bob, today, 10, 12), by=alice)
    too_close = make_exchange(listing=drill, asker=carol, start_date=today + days(7),
                              end_date=today + days(9))
    with pytest.raises(ExchangeError):
        exchange_accept(exchange=too_close, by=alice)
    fits = make_exchange(listing=drill, asker=carol, start_date=today + days(6),
                         end_date=today + days(8))
    exchange_accept(exchange=fits, by=alice)


def test_accepting_refuses_days_the_owner_blocked_after_the_request(drill, alice, bob, today):
    exchange = ask(drill, bob, today, 5, 7)
    BlockedPeriod.objects.create(listing=drill, start_date=today + days(7), end_date=today + days(8))
    with pytest.raises(ExchangeError, match="keeps these days free"):
        exchange_accept(exchange=exchange, by=alice)
    assert state_of(exchange) == State.REQUESTED


@pytest.mark.parametrize("status", [Status.PAUSED, Status.CLOSED])
def test_accepting_needs_an_active_listing(drill, alice, bob, today, status):
    exchange = ask(drill, bob, today, 5, 7)
    type(drill).objects.filter(pk=drill.pk).update(status=status)
    with pytest.raises(ExchangeError, match="Reactivate the listing"):
        exchange_accept(exchange=exchange, by=alice)
    assert state_of(exchange) == State.REQUESTED


@pytest.mark.parametrize("by", ["alice", "bob"])
def test_calling_off_frees_the_days_at_once(request, drill, alice, bob, carol, today, by):
    held = exchange_accept(exchange=ask(drill, bob, today, 5, 7), by=alice)
    waiting = make_exchange(listing=drill, asker=carol, start_date=today + days(6),
                            end_date=today + days(6))
    exchange_call_off(exchange=held, by=request.getfixturevalue(by), note="Plans changed.")
    assert taken_loan_periods(drill) == []
    assert loan_conflict(drill, today + days(5), today + days(7)) is None
    exchange_accept(exchange=waiting, by=alice)
    ask(drill, MemberFactory(), today, 9, 9)  # and new requests are welcome


def test_a_paid_loan_can_be_called_off_too(drill, alice, bob, today):
    held = exchange_accept(exchange=ask(drill, bob, today, 5, 7), by=alice)
    exchange_mark_paid(exchange=held)
    exchange_call_off(exchange=held, by=bob)
    assert taken_loan_periods(drill) == []


def test_a_running_loan_cannot_be_called_off(drill, alice, bob, today):
    held = exchange_accept(exchange=ask(drill, bob, today, 5, 7), by=alice)
    exchange_start(exchange=held, by=alice)
    with pytest.raises(ExchangeError):
        exchange_call_off(exchange=held, by=bob)
    assert state_of(held) == State.IN_PROGRESS


def test_a_loan_from_request_to_return(drill, alice, bob, today):
    exchange = ask(drill, bob, today, 0, 2)
    exchange_accept(exchange=exchange, by=alice)
    exchange_start(exchange=exchange, by=alice)
    exchange_complete(exchange=exchange, by=alice, note="Back clean.")
    assert state_of(exchange) == State.COMPLETED
    assert list(ExchangeEvent.objects.filter(exchange=exchange).values_list("action", flat=True)) == [
        "request", "accept", "start", "complete"
    ]
    drill.refresh_from_db()
    assert drill.status == Status.ACTIVE  # a returned tool is lent again
    assert taken_loan_periods(drill) == []


def test_the_hand_over_waits_while_the_borrower_is_late_with_another_loan(alice, drill, bob, today):
    hammer = ListingFactory(owner=alice, title="Hammer")
    late = make_exchange(listing=hammer, asker=bob, state=State.IN_PROGRESS,
                         start_date=today - days(4), end_date=today - days(1))
    exchange = make_exchange(listing=drill, asker=bob, state=State.ACCEPTED)
    with pytest.raises(ExchangeError, match="overdue loan"):
        exchange_start(exchange=exchange, by=alice)
    assert state_of(exchange) == State.ACCEPTED
    exchange_complete(exchange=late, by=alice)
    exchange_start(exchange=exchange, by=alice)
    assert state_of(exchange) == State.IN_PROGRESS


def test_a_late_lender_of_other_things_may_still_hand_over(alice, drill, bob, carol, today):
    # Alice is late returning Carol's ladder: that says nothing about Bob, her borrower.
    ladder = ListingFactory(owner=carol, title="Ladder")
    make_exchange(listing=ladder, asker=alice, state=State.IN_PROGRESS,
                  start_date=today - days(4), end_date=today - days(1))
    exchange = make_exchange(listing=drill, asker=bob, state=State.ACCEPTED)
    exchange_start(exchange=exchange, by=alice)


def test_a_deal_paid_online_starts_only_once_paid(drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob, state=State.ACCEPTED, pay_in_person=False)
    with pytest.raises(ExchangeError, match="payment has not arrived"):
        exchange_start(exchange=exchange, by=alice)
    exchange_mark_paid(exchange=exchange)
    exchange_start(exchange=exchange, by=alice)
    assert state_of(exchange) == State.IN_PROGRESS


def test_overdue_means_running_past_the_last_day(drill, alice, bob, today):
    running = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                            start_date=today - days(3), end_date=today - days(1))
    assert running.is_overdue() and not running.is_overdue(today - days(1))
    assert list(overdue_loans_of(bob)) == [running]
    assert list(overdue_loans_of(bob, today - days(1))) == []
    assert list(overdue_loans_of(alice)) == []


# --- reminders ----------------------------------------------------------------------


@pytest.fixture
def late_loan(drill, bob, today):
    return make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS,
                         start_date=today - days(5), end_date=today - days(1))


def test_a_late_borrower_is_reminded_the_day_after_and_every_three_days(late_loan, today):
    due = late_loan.end_date
    sent = []
    for offset in range(0, 9):
        day = due + days(offset)
        sent += [(offset, e.pk) for e in remind_overdue_loans(day)]
        sent += [(offset, e.pk) for e in remind_overdue_loans(day)]  # same day again: nothing
    assert sent == [(1, late_loan.pk), (4, late_loan.pk), (7, late_loan.pk)]


def test_a_reminder_says_how_late_after_commit(late_loan, today, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, exchange, days_late, **kwargs):
        received.append((exchange.pk, days_late))

    loan_overdue.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            remind_overdue_loans(today + days(2))
    finally:
        loan_overdue.disconnect(receiver)
    assert received == [(late_loan.pk, 3)]
    late_loan.refresh_from_db()
    assert late_loan.last_reminder_on == today + days(2)


@pytest.mark.parametrize("state", [State.ACCEPTED, State.COMPLETED, State.DISPUTED])
def test_only_running_loans_are_reminded(drill, bob, today, state):
    make_exchange(listing=drill, asker=bob, state=state,
                  start_date=today - days(5), end_date=today - days(1))
    assert remind_overdue_loans(today) == []
