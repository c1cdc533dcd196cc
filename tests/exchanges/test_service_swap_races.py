"""A swap of services under real concurrency, on PostgreSQL: the two confirmations, or a
confirmation and Partage's tick, arriving at the same moment post exactly two transfers.

Each racer is a thread with its own connection, in autocommit like a real request; the
setup is committed in its own connection and deleted afterwards."""

from __future__ import annotations

import os
from datetime import timedelta
from unittest import mock

import pytest
from django.db.models import Q
from django.utils import timezone

from exchanges import services
from exchanges.models import Exchange, State
from ledger.audit import ledger_audit
from ledger.models import Account, Entry, Transfer
from members.models import Member
from tests.factories import MemberFactory, ServiceFactory
from tests.threads import delete_conversations_of, in_own_connection, in_parallel

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="races need real row locks and concurrent writers: PostgreSQL only",
    ),
]

_real_now = timezone.now


def recorded_swap() -> tuple[Exchange, Member, Member]:
    def setup():
        alice, bob = MemberFactory(display_name="Alice"), MemberFactory(display_name="Bob")
        mowing = ServiceFactory(owner=alice, hours_minutes=90)
        babysitting = ServiceFactory(owner=bob, hours_minutes=120)
        trade = services.exchange_request(listing=mowing, asker=bob, offered=[babysitting])
        services.exchange_accept(exchange=trade, by=alice)
        services.exchange_start(exchange=trade, by=alice)
        services.exchange_record_time(exchange=trade, by=alice, minutes=90)
        services.exchange_record_time(exchange=trade, by=bob, minutes=120)
        return trade, alice, bob

    return in_own_connection(setup)


def delete_everything_of(members: list[Member]) -> None:
    def delete() -> None:
        accounts = Account.objects.filter(member__in=members)
        mine = Transfer.objects.filter(Q(from_account__in=accounts) | Q(to_account__in=accounts))
        Entry.objects.filter(transfer__in=mine).delete()
        mine.delete()
        accounts.delete()
        pks = [m.pk for m in members]
        delete_conversations_of(pks)
        Exchange.objects.filter(Q(asker__in=pks) | Q(owner__in=pks)).delete()
        Member.objects.filter(pk__in=pks).delete()

    in_own_connection(delete)


def outcome(trade: Exchange, alice: Member, bob: Member):
    def read():
        return (Exchange.objects.get(pk=trade.pk).state,
                sorted(Transfer.objects.filter(reference=f"exchange:{trade.pk}")
                       .values_list("idempotency_key", flat=True)),
                Account.objects.get(member=alice).balance_minutes,
                Account.objects.get(member=bob).balance_minutes,
                ledger_audit().violations)

    return in_own_connection(read)


@pytest.mark.parametrize("round_", range(3))
def test_both_confirmations_at_once_post_exactly_two_transfers(round_):
    trade, alice, bob = recorded_swap()
    try:
        results = in_parallel([
            lambda: services.exchange_confirm_time(exchange=trade, by=alice),
            lambda: services.exchange_confirm_time(exchange=trade, by=bob),
        ])
        assert all(isinstance(r, Exchange) for r in results), results
        assert sorted(r.state for r in results) == [State.COMPLETED, State.IN_PROGRESS]
        assert outcome(trade, alice, bob) == (
            State.COMPLETED,
            [f"exchange:{trade.pk}:service", f"exchange:{trade.pk}:service-return"],
            -30, 30, [],
        )
    finally:
        delete_everything_of([alice, bob])


@pytest.mark.parametrize("round_", range(3))
def test_ticks_and_a_confirmation_at_once_post_exactly_two_transfers(round_):
    trade, alice, bob = recorded_swap()
    week_later = _real_now() + timedelta(days=8)

    def tick():
        return services.confirm_due_service_trades()

    try:
        # Patched once around the race (a patch per thread would not undo cleanly): it
        # is a week later for every racer.
        with mock.patch("django.utils.timezone.now", return_value=week_later):
            results = in_parallel([tick, tick,
                            lambda: services.exchange_confirm_time(exchange=trade, by=bob)])
        unexpected = [r for r in results
                      if isinstance(r, Exception) and not isinstance(r, services.ExchangeError)]
        assert unexpected == []
        assert sum(len(r) for r in results[:2]) <= 1  # completed once, by a tick or not at all
        state, keys, alice_balance, bob_balance, violations = outcome(trade, alice, bob)
        if state == State.COMPLETED:
            assert keys == [f"exchange:{trade.pk}:service", f"exchange:{trade.pk}:service-return"]
            assert (alice_balance, bob_balance) == (-30, 30)
        else:
            assert keys == [] and (alice_balance, bob_balance) == (0, 0)
        assert violations == []
    finally:
        delete_everything_of([alice, bob])
