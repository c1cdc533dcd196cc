"""The state machine, table-driven: every kind × state × action × actor.

Whatever the TRANSITIONS table allows succeeds (the kind's own checks pass in the
prepared deal) and writes exactly one event; everything else raises ExchangeError and
leaves the row and the event log as they were."""

from __future__ import annotations

from functools import partial

import pytest

from exchanges import services
from exchanges.models import TRANSITIONS, Exchange, ExchangeEvent, ExchangeKind, State
from exchanges.services import ExchangeError, available_actions
from exchanges.signals import exchange_changed
from tests.exchanges.factories import listing_for, make_exchange, quick_member

pytestmark = pytest.mark.django_db

SYSTEM_ACTIONS = {
    "expire": services.exchange_expire,
    "pay": services.exchange_mark_paid,
    # A moderator settling a dispute acts as Partage (moderation logs who).
    "settle_complete": partial(services.exchange_settle_complete, note="Settled by a moderator."),
    "settle_cancel": partial(services.exchange_settle_cancel, note="Settled by a moderator."),
}
ALL_ACTIONS = [*services.ACTIONS, *SYSTEM_ACTIONS]
MEMBER_ROLES = ["asker", "owner", "stranger", "system"]


def test_the_table_and_the_services_name_the_same_actions():
    assert set(ALL_ACTIONS) == set(TRANSITIONS)


def allowed(kind: str, state: str, action: str, role: str) -> bool:
    transition = TRANSITIONS[action]
    return state in transition.sources and role in transition.allowed_roles(kind)


def act(action: str, exchange: Exchange, actor):
    if action in SYSTEM_ACTIONS:
        return SYSTEM_ACTIONS[action](exchange=exchange)
    note = {"note": "The handle is cracked."} if action == "dispute" else {}
    return services.ACTIONS[action](exchange=exchange, by=actor, **note)


@pytest.mark.parametrize("action", ALL_ACTIONS)
@pytest.mark.parametrize("state", State.values)
@pytest.mark.parametrize("kind", ExchangeKind.values)
def test_every_move_follows_the_table(kind, state, action):
    owner, asker, stranger = quick_member(), quick_member(), quick_member()
    actors = {"asker": asker, "owner": owner, "stranger": stranger, "system": None}
    roles = ["system"] if action in SYSTEM_ACTIONS else MEMBER_ROLES

    # Refused moves, all tried on one deal: none may leave a trace.
    probe = make_exchange(listing=listing_for(kind, owner), asker=asker, state=state)
    before = Exchange.objects.values("state", "updated_at", "blocked_until").get(pk=probe.pk)
    for role in roles:
        if allowed(kind, state, action, role):
            continue
        with pytest.raises(ExchangeError):
            act(action, probe, actors[role])
        assert Exchange.objects.values("state", "updated_at", "blocked_until").get(pk=probe.pk) == before
        assert not ExchangeEvent.objects.exists()

    # Allowed moves, each on a fresh deal (a sale takes one buyer only).
    for role in roles:
        if not allowed(kind, state, action, role):
            continue
        exchange = make_exchange(listing=listing_for(kind, owner), asker=asker, state=state)
        events_before = ExchangeEvent.objects.count()
        moved = act(action, exchange, actors[role])
        target = TRANSITIONS[action].target
        assert moved.state == target
        assert Exchange.objects.get(pk=exchange.pk).state == target
        assert ExchangeEvent.objects.count() == events_before + 1
        event = ExchangeEvent.objects.get(exchange=exchange)
        assert (event.action, event.from_state, event.to_state) == (action, state, target)
        assert event.actor == actors[role]


@pytest.mark.parametrize(
    ("kind", "state", "action", "role"),
    [
        (ExchangeKind.LOAN, State.REQUESTED, "accept", "asker"),
        (ExchangeKind.LOAN, State.REQUESTED, "cancel", "owner"),
        (ExchangeKind.LOAN, State.IN_PROGRESS, "complete", "asker"),
        (ExchangeKind.LOAN, State.ACCEPTED, "start", "asker"),
        (ExchangeKind.SALE, State.IN_PROGRESS, "complete", "owner"),
        (ExchangeKind.RIDE, State.IN_PROGRESS, "call_off", "owner"),
        (ExchangeKind.LOAN, State.COMPLETED, "dispute", "owner"),
        (ExchangeKind.LOAN, State.DECLINED, "accept", "owner"),
        (ExchangeKind.LOAN, State.DISPUTED, "complete", "owner"),
        (ExchangeKind.SALE, State.PAID, "pay", "system"),
        (ExchangeKind.SALE, State.ACCEPTED, "expire", "system"),
    ],
)
def test_some_moves_the_issue_forbids_are_not_in_the_table(kind, state, action, role):
    # Spelled out by hand, so a wrong row in TRANSITIONS cannot hide behind the table test.
    assert not allowed(kind, state, action, role)


@pytest.mark.parametrize(
    ("kind", "state", "action", "role"),
    [
        (ExchangeKind.LOAN, State.REQUESTED, "accept", "owner"),
        (ExchangeKind.LOAN, State.REQUESTED, "cancel", "asker"),
        (ExchangeKind.LOAN, State.IN_PROGRESS, "complete", "owner"),
        (ExchangeKind.SALE, State.IN_PROGRESS, "complete", "asker"),
        (ExchangeKind.SWAP, State.ACCEPTED, "start", "asker"),
        (ExchangeKind.RIDE, State.PAID, "call_off", "asker"),
        (ExchangeKind.SALE, State.ACCEPTED, "pay", "system"),
        (ExchangeKind.RIDE, State.REQUESTED, "expire", "system"),
    ],
)
def test_some_moves_the_issue_requires_are_in_the_table(kind, state, action, role):
    assert allowed(kind, state, action, role)


def test_acting_twice_on_the_same_button_changes_nothing_the_second_time(drill, alice, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    services.exchange_accept(exchange=exchange, by=alice)
    with pytest.raises(ExchangeError, match="accepted"):
        services.exchange_accept(exchange=exchange, by=alice)
    assert ExchangeEvent.objects.filter(exchange=exchange).count() == 1


def test_a_stranger_is_told_they_are_not_part_of_it(drill, bob, dave):
    exchange = make_exchange(listing=drill, asker=bob)
    with pytest.raises(ExchangeError, match="not part of this exchange"):
        services.exchange_decline(exchange=exchange, by=dave)


def test_the_wrong_party_is_told_who_may_act(drill, bob):
    exchange = make_exchange(listing=drill, asker=bob)
    with pytest.raises(ExchangeError, match="Only the owner can do this"):
        services.exchange_accept(exchange=exchange, by=bob)


@pytest.mark.parametrize("note", ["", "   \n "])
def test_a_dispute_needs_a_reason(drill, alice, bob, note):
    exchange = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
    with pytest.raises(ExchangeError) as error:
        services.exchange_dispute(exchange=exchange, by=bob, note=note)
    assert "note" in error.value.message_dict
    exchange.refresh_from_db()
    assert exchange.state == State.IN_PROGRESS
    assert not ExchangeEvent.objects.exists()


def test_a_dispute_keeps_its_reason_on_the_timeline(drill, bob):
    exchange = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
    services.exchange_dispute(exchange=exchange, by=bob, note="  It came back broken. ")
    assert ExchangeEvent.objects.get(exchange=exchange).note == "It came back broken."


def test_a_move_is_announced_once_after_commit(drill, alice, bob, django_capture_on_commit_callbacks):
    exchange = make_exchange(listing=drill, asker=bob)
    received = []

    def receiver(sender, exchange, event, actor, **kwargs):
        received.append((exchange.pk, event.action, actor))

    exchange_changed.connect(receiver)
    try:
        with django_capture_on_commit_callbacks() as callbacks:
            services.exchange_decline(exchange=exchange, by=alice, note="Sorry, away.")
        assert received == []  # nothing before the commit
        # The move registers one callback; running it announces the move (listeners
        # such as notifications may then queue their own live pushes).
        assert len(callbacks) == 1
        callbacks[0]()
        assert received == [(exchange.pk, "decline", alice)]
    finally:
        exchange_changed.disconnect(receiver)


def test_a_refused_move_announces_nothing(drill, bob, django_capture_on_commit_callbacks):
    exchange = make_exchange(listing=drill, asker=bob)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ExchangeError):
        services.exchange_accept(exchange=exchange, by=bob)
    assert callbacks == []


# --- available_actions ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "state", "role", "expected"),
    [
        (ExchangeKind.LOAN, State.REQUESTED, "owner", ["accept", "decline"]),
        (ExchangeKind.LOAN, State.REQUESTED, "asker", ["cancel"]),
        (ExchangeKind.LOAN, State.ACCEPTED, "owner", ["call_off", "start", "dispute"]),
        (ExchangeKind.LOAN, State.ACCEPTED, "asker", ["call_off", "dispute"]),
        (ExchangeKind.LOAN, State.PAID, "owner", ["call_off", "start", "dispute"]),
        (ExchangeKind.LOAN, State.IN_PROGRESS, "owner", ["complete", "dispute"]),
        (ExchangeKind.LOAN, State.IN_PROGRESS, "asker", ["dispute"]),
        (ExchangeKind.SALE, State.IN_PROGRESS, "asker", ["complete", "dispute"]),
        (ExchangeKind.SALE, State.IN_PROGRESS, "owner", ["dispute"]),
        (ExchangeKind.SWAP, State.ACCEPTED, "asker", ["call_off", "start", "dispute"]),
        (ExchangeKind.SWAP, State.IN_PROGRESS, "owner", ["complete", "dispute"]),
        (ExchangeKind.RIDE, State.IN_PROGRESS, "owner", ["complete", "dispute"]),
        (ExchangeKind.RIDE, State.IN_PROGRESS, "asker", ["dispute"]),
        (ExchangeKind.SERVICE, State.IN_PROGRESS, "asker", ["complete", "dispute"]),
        (ExchangeKind.LOAN, State.DISPUTED, "owner", []),
        (ExchangeKind.LOAN, State.COMPLETED, "owner", []),
        (ExchangeKind.SALE, State.DECLINED, "asker", []),
        (ExchangeKind.RIDE, State.EXPIRED, "asker", []),
        (ExchangeKind.RIDE, State.CANCELLED, "owner", []),
    ],
)
def test_available_actions_are_what_this_member_may_do_now(kind, state, role, expected):
    owner, asker = quick_member(), quick_member()
    exchange = make_exchange(listing=listing_for(kind, owner), asker=asker, state=state)
    member = {"owner": owner, "asker": asker}[role]
    assert available_actions(exchange, member) == expected


@pytest.mark.parametrize("state", State.values)
def test_a_stranger_or_nobody_has_no_action(state):
    owner, asker, stranger = quick_member(), quick_member(), quick_member()
    exchange = make_exchange(listing=listing_for(ExchangeKind.LOAN, owner), asker=asker, state=state)
    assert available_actions(exchange, stranger) == []
    assert available_actions(exchange, None) == []


def test_available_actions_never_offer_the_system_moves():
    owner, asker = quick_member(), quick_member()
    for state in State.values:
        exchange = make_exchange(listing=listing_for(ExchangeKind.SALE, owner), asker=asker, state=state)
        for member in (owner, asker):
            assert not {"expire", "pay"} & set(available_actions(exchange, member))
