"""A direct swap of services: Bob asks Alice to mow his lawn (90 min) and offers, in
return, to babysit her children (120 min). One trade, two transfers: Bob -> Alice for
the mowing, Alice -> Bob for the babysitting. Each records the time they gave, each
confirms the other's; the second confirmation completes the trade and posts both
transfers together, exactly once (or Partage does, 7 days after the times were recorded)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from exchanges import services
from exchanges.models import Exchange, ExchangeEvent, State
from exchanges.services import ExchangeError
from ledger.audit import ledger_audit
from ledger.models import Account, Transfer
from ledger.services import account_for, account_set_limits
from listings.models import Status, Terms
from tests.factories import ListingFactory, ServiceFactory

pytestmark = pytest.mark.django_db

_real_now = timezone.now


@pytest.fixture
def mowing(alice):
    return ServiceFactory(owner=alice, title="Lawn mowing", hours_minutes=90)


@pytest.fixture
def babysitting(bob):
    return ServiceFactory(owner=bob, title="Babysitting", hours_minutes=120)


@pytest.fixture
def swap(mowing, babysitting, alice, bob):
    """Bob asked with babysitting in return; Alice accepted and started."""
    exchange = services.exchange_request(listing=mowing, asker=bob, offered=[babysitting])
    services.exchange_accept(exchange=exchange, by=alice)
    return services.exchange_start(exchange=exchange, by=alice)


@pytest.fixture
def recorded(swap, alice, bob):
    services.exchange_record_time(exchange=swap, by=alice, minutes=90)
    return services.exchange_record_time(exchange=swap, by=bob, minutes=120)


def balance(member) -> int:
    return Account.objects.get(member=member).balance_minutes


def fresh(exchange) -> Exchange:
    return Exchange.objects.get(pk=exchange.pk)


# --- asking -----------------------------------------------------------------------------


def test_the_asker_may_offer_one_of_their_services_in_return(mowing, babysitting, bob):
    exchange = services.exchange_request(listing=mowing, asker=bob, offered=[babysitting])
    assert exchange.is_service_swap
    assert (exchange.return_listing, exchange.return_proposed_minutes) == (babysitting, 120)
    assert (exchange.proposed_minutes, exchange.return_actual_minutes) == (90, None)


def test_the_time_given_in_return_may_be_proposed(mowing, babysitting, bob):
    exchange = services.exchange_request(listing=mowing, asker=bob, offered=[babysitting],
                                         return_minutes=45)
    assert exchange.return_proposed_minutes == 45


def test_offering_someone_elses_service_is_refused(mowing, bob, carol):
    carols = ServiceFactory(owner=carol, title="Ironing")
    with pytest.raises(ExchangeError) as error:
        services.exchange_request(listing=mowing, asker=bob, offered=[carols])
    assert "own active services" in error.value.message_dict["offered"][0]
    assert not Exchange.objects.exists()


@pytest.mark.parametrize("make", [
    pytest.param(lambda bob: ListingFactory(owner=bob, terms=Terms.SWAP), id="an-item"),
    pytest.param(lambda bob: ServiceFactory(owner=bob, terms=Terms.GIVE, hours_minutes=None),
                 id="a-free-service"),
    pytest.param(lambda bob: ServiceFactory(owner=bob, status=Status.PAUSED), id="a-paused-service"),
])
def test_offering_anything_but_an_active_bartered_service_is_refused(mowing, bob, make):
    with pytest.raises(ExchangeError) as error:
        services.exchange_request(listing=mowing, asker=bob, offered=[make(bob)])
    assert "offered" in error.value.message_dict
    assert not Exchange.objects.exists()


def test_offering_two_services_is_refused(mowing, babysitting, bob):
    other = ServiceFactory(owner=bob, title="Dog walking")
    with pytest.raises(ExchangeError, match="one of your services at most"):
        services.exchange_request(listing=mowing, asker=bob, offered=[babysitting, other])
    assert not Exchange.objects.exists()


@pytest.mark.parametrize("minutes", [0, 6001, 1.5])
def test_a_bad_time_in_return_is_refused_on_its_field(mowing, babysitting, bob, minutes):
    with pytest.raises(ExchangeError) as error:
        services.exchange_request(listing=mowing, asker=bob, offered=[babysitting],
                                  return_minutes=minutes)
    assert "return_minutes" in error.value.message_dict
    assert not Exchange.objects.exists()


def test_a_time_in_return_without_a_service_is_refused(mowing, bob):
    with pytest.raises(ExchangeError) as error:
        services.exchange_request(listing=mowing, asker=bob, return_minutes=60)
    assert "return_minutes" in error.value.message_dict


def test_the_owner_cannot_accept_once_the_service_in_return_is_withdrawn(mowing, babysitting, alice, bob):
    exchange = services.exchange_request(listing=mowing, asker=bob, offered=[babysitting])
    babysitting.status = Status.PAUSED
    babysitting.save()
    with pytest.raises(ExchangeError, match="offered in return is no longer available"):
        services.exchange_accept(exchange=exchange, by=alice)
    assert fresh(exchange).state == State.REQUESTED


# --- recording and confirming ------------------------------------------------------------


def test_each_member_records_the_time_of_the_service_they_gave(swap, alice, bob):
    services.exchange_record_time(exchange=swap, by=alice, minutes=80)
    services.exchange_record_time(exchange=swap, by=bob, minutes=110)
    exchange = fresh(swap)
    assert (exchange.actual_minutes, exchange.return_actual_minutes) == (80, 110)
    assert exchange.time_recorded_at and exchange.return_time_recorded_at
    assert exchange.state == State.IN_PROGRESS


def test_a_stranger_cannot_record_or_confirm(recorded, dave):
    with pytest.raises(ExchangeError, match="not part of this exchange"):
        services.exchange_record_time(exchange=recorded, by=dave, minutes=60)
    with pytest.raises(ExchangeError, match="not part of this exchange"):
        services.exchange_confirm_time(exchange=recorded, by=dave)


def test_a_member_cannot_confirm_a_time_not_recorded_yet(swap, alice, bob):
    services.exchange_record_time(exchange=swap, by=alice, minutes=90)
    with pytest.raises(ExchangeError, match="Bob has not recorded the time"):
        services.exchange_confirm_time(exchange=swap, by=alice)
    assert fresh(swap).return_time_confirmed_at is None


def test_a_time_is_confirmed_once_and_then_no_longer_changes(recorded, alice, bob):
    services.exchange_confirm_time(exchange=recorded, by=alice)  # Alice confirms Bob's 120
    with pytest.raises(ExchangeError, match="already confirmed this time"):
        services.exchange_confirm_time(exchange=recorded, by=alice)
    with pytest.raises(ExchangeError, match="Alice already confirmed the time you recorded"):
        services.exchange_record_time(exchange=recorded, by=bob, minutes=200)
    assert fresh(recorded).return_actual_minutes == 120
    # Alice's own time is not confirmed yet: she may still correct it.
    services.exchange_record_time(exchange=recorded, by=alice, minutes=95)
    assert fresh(recorded).actual_minutes == 95
    assert not Transfer.objects.exists()


def test_the_generic_completion_is_not_how_a_swap_completes(recorded, bob, alice):
    assert "complete" not in services.available_actions(recorded, bob)
    with pytest.raises(ExchangeError, match="each of you confirms"):
        services.exchange_complete(exchange=recorded, by=bob)
    assert fresh(recorded).state == State.IN_PROGRESS
    assert not Transfer.objects.exists()


def test_a_one_way_trade_is_not_confirmed_side_by_side(mowing, alice, bob):
    trade = services.exchange_request(listing=mowing, asker=bob)
    services.exchange_accept(exchange=trade, by=alice)
    services.exchange_start(exchange=trade, by=alice)
    services.exchange_record_time(exchange=trade, by=alice, minutes=60)
    with pytest.raises(ExchangeError, match="Only a swap of services"):
        services.exchange_confirm_time(exchange=trade, by=bob)


# --- the whole journey ---------------------------------------------------------------------


def test_both_confirmations_complete_the_trade_with_two_transfers(recorded, alice, bob,
                                                                   mowing, babysitting):
    first = services.exchange_confirm_time(exchange=recorded, by=bob)  # Bob confirms the 90
    assert first.state == State.IN_PROGRESS and not Transfer.objects.exists()

    done = services.exchange_confirm_time(exchange=recorded, by=alice)
    assert done.state == State.COMPLETED
    to_alice = Transfer.objects.get(idempotency_key=f"exchange:{recorded.pk}:service")
    to_bob = Transfer.objects.get(idempotency_key=f"exchange:{recorded.pk}:service-return")
    assert (to_alice.from_account, to_alice.to_account, to_alice.minutes, to_alice.note) == (
        account_for(bob), account_for(alice), 90, "Lawn mowing")
    assert (to_bob.from_account, to_bob.to_account, to_bob.minutes, to_bob.note) == (
        account_for(alice), account_for(bob), 120, "Babysitting")
    assert to_alice.reference == to_bob.reference == f"exchange:{recorded.pk}"
    assert to_alice.created_by == to_bob.created_by == alice  # her confirmation completed it
    assert (balance(alice), balance(bob)) == (90 - 120, 120 - 90)
    actions = list(ExchangeEvent.objects.filter(exchange=recorded).values_list("action", "actor"))
    assert actions[-3:] == [("confirm_time", bob.pk), ("confirm_time", alice.pk), ("complete", None)]
    assert ledger_audit().clean


def test_completing_again_or_confirming_again_posts_nothing_more(recorded, alice, bob):
    services.exchange_confirm_time(exchange=recorded, by=bob)
    services.exchange_confirm_time(exchange=recorded, by=alice)
    with pytest.raises(ExchangeError):
        services.exchange_confirm_time(exchange=recorded, by=bob)
    with pytest.raises(ExchangeError):
        services.exchange_complete(exchange=recorded, by=None)
    # Even replaying the posting itself (as a crashed-and-retried worker would) is a no-op.
    services.post_service_time(exchange=fresh(recorded), listing=recorded.listing, created_by=None)
    assert Transfer.objects.count() == 2
    assert (balance(alice), balance(bob)) == (-30, 30)


def test_over_a_limit_neither_transfer_is_posted_and_the_confirmation_is_refused(recorded, alice, bob):
    # Alice owes 30 min net; with a credit limit of 0 she cannot.
    account_set_limits(member=alice, credit_limit_minutes=0, max_balance_minutes=2400,
                       by=None, reason="New member")
    services.exchange_confirm_time(exchange=recorded, by=bob)
    events = ExchangeEvent.objects.count()
    with pytest.raises(ExchangeError, match="Not enough time: this would bring Alice to -0 h 30"):
        services.exchange_confirm_time(exchange=recorded, by=alice)
    exchange = fresh(recorded)
    assert exchange.state == State.IN_PROGRESS and exchange.return_time_confirmed_at is None
    assert not Transfer.objects.exists()
    assert (balance(alice), balance(bob)) == (0, 0)
    assert ExchangeEvent.objects.count() == events
    assert ledger_audit().clean


def test_a_swap_that_evens_out_is_not_refused_at_the_credit_limit(swap, alice, bob):
    """Limits are checked on the balances after both transfers: two members who both
    sit at their credit limit can still swap an hour for an hour."""
    for member in (alice, bob):
        account_set_limits(member=member, credit_limit_minutes=0, max_balance_minutes=0,
                           by=None, reason="Test")
    services.exchange_record_time(exchange=swap, by=alice, minutes=60)
    services.exchange_record_time(exchange=swap, by=bob, minutes=60)
    services.exchange_confirm_time(exchange=swap, by=alice)
    assert services.exchange_confirm_time(exchange=swap, by=bob).state == State.COMPLETED
    assert Transfer.objects.count() == 2
    assert (balance(alice), balance(bob)) == (0, 0)
    assert ledger_audit().clean


def test_a_suspended_member_cannot_complete_a_swap(recorded, alice, bob):
    services.exchange_confirm_time(exchange=recorded, by=bob)
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    with pytest.raises(ExchangeError, match="Bob's account is closed or suspended"):
        services.exchange_confirm_time(exchange=recorded, by=alice)
    assert not Transfer.objects.exists()


# --- Partage confirms after 7 days ---------------------------------------------------------


def test_the_tick_waits_for_both_times_and_seven_days(swap, alice, bob):
    services.exchange_record_time(exchange=swap, by=alice, minutes=90)
    later = _real_now() + timedelta(days=8)
    assert services.confirm_due_service_trades(later) == []  # Bob's time is missing
    with mock.patch("django.utils.timezone.now", return_value=_real_now() + timedelta(days=3)):
        services.exchange_record_time(exchange=swap, by=bob, minutes=120)
    # Alice's time is 8 days old, Bob's only 5: Alice still has time to confirm his.
    assert list(services.service_trades_due(later)) == []
    assert services.confirm_due_service_trades(later) == []
    services.exchange_confirm_time(exchange=swap, by=alice)  # she confirms Bob's time
    assert [e.pk for e in services.service_trades_due(later)] == [swap.pk]


def test_the_tick_confirms_both_sides_exactly_once(recorded, alice, bob):
    week_later = _real_now() + timedelta(days=7, minutes=1)
    with mock.patch("django.utils.timezone.now", return_value=week_later):
        assert [e.pk for e in services.confirm_due_service_trades()] == [recorded.pk]
        assert services.confirm_due_service_trades() == []  # a replayed tick
    assert fresh(recorded).state == State.COMPLETED
    assert Transfer.objects.count() == 2
    assert set(Transfer.objects.values_list("created_by", flat=True)) == {None}
    assert (balance(alice), balance(bob)) == (-30, 30)


# --- pages ----------------------------------------------------------------------------------


def test_the_request_form_offers_the_askers_own_services(client, mowing, babysitting, bob, carol):
    ironing = ServiceFactory(owner=carol, title="Ironing")
    client.force_login(bob)
    html = client.get(mowing.get_absolute_url()).content.decode()
    assert "What you give in return" in html and "Hours from my time account" in html
    assert f'name="ask-offered" value="{babysitting.pk}"' in html
    assert f'name="ask-offered" value="{ironing.pk}"' not in html


def test_a_member_without_services_sees_the_plain_request(client, mowing, dave):
    client.force_login(dave)
    html = client.get(mowing.get_absolute_url()).content.decode()
    assert 'name="ask-minutes"' in html and "What you give in return" not in html


def test_a_swap_is_asked_from_the_listing_page(client, mowing, babysitting, bob):
    client.force_login(bob)
    response = client.post(f"/exchanges/request/{mowing.pk}/", {
        "ask-minutes": "1:30", "ask-offered": babysitting.pk, "ask-return_minutes": "2.5",
    })
    assert response.status_code == 302
    exchange = Exchange.objects.get()
    assert (exchange.return_listing, exchange.return_proposed_minutes) == (babysitting, 150)


def test_someone_elses_service_posted_to_the_form_is_refused(client, mowing, babysitting, bob,
                                                             carol):
    carols = ServiceFactory(owner=carol, title="Ironing")
    client.force_login(bob)
    response = client.post(f"/exchanges/request/{mowing.pk}/", {
        "ask-minutes": "1:30", "ask-offered": carols.pk,
    })
    assert response.status_code == 400
    assert not Exchange.objects.exists()


def test_the_page_shows_both_services_times_and_transfers(client, recorded, alice, bob):
    url = recorded.get_absolute_url()
    client.force_login(bob)
    html = client.get(url).content.decode()
    assert "Services swapped" in html and "Lawn mowing" in html and "Babysitting" in html
    assert "Confirm the time you received" in html and "Confirm 1 h 30" in html
    assert "Record the time you gave" in html  # his own is not confirmed yet

    assert client.post(f"/exchanges/{recorded.pk}/time/confirm/").status_code == 302
    client.force_login(alice)
    response = client.post(f"/exchanges/{recorded.pk}/time/confirm/", follow=True)
    html = response.content.decode()
    assert "Both times are confirmed" in html
    assert "1 h 30 from Bob to Alice" in html and "2 h from Alice to Bob" in html
    assert "Confirm the time you received" not in html


def test_a_stranger_gets_404_on_the_confirmation(client, recorded, dave):
    client.force_login(dave)
    assert client.post(f"/exchanges/{recorded.pk}/time/confirm/").status_code == 404
    assert client.get(f"/exchanges/{recorded.pk}/time/confirm/").status_code == 405


def test_the_asker_records_his_own_time_through_the_same_form(client, swap, bob):
    client.force_login(bob)
    client.post(f"/exchanges/{swap.pk}/time/record/", {"time-minutes": "2"})
    exchange = fresh(swap)
    assert (exchange.actual_minutes, exchange.return_actual_minutes) == (None, 120)


def test_the_statement_links_the_trade(client, recorded, alice, bob):
    services.exchange_confirm_time(exchange=recorded, by=bob)
    services.exchange_confirm_time(exchange=recorded, by=alice)
    client.force_login(bob)
    html = client.get("/time/").content.decode()
    assert html.count(f'href="/exchanges/{recorded.pk}/"') == 2


def test_a_moderator_settling_a_disputed_swap_pays_both_services_once(recorded, alice, bob):
    services.exchange_confirm_time(exchange=recorded, by=bob)
    services.exchange_dispute(exchange=recorded, by=bob, note="She says 120 min, it was 60.")
    settled = services.exchange_settle_complete(exchange=fresh(recorded), note="Both did it.")
    assert settled.state == State.COMPLETED
    keys = set(Transfer.objects.values_list("idempotency_key", flat=True))
    assert keys == {f"exchange:{recorded.pk}:service", f"exchange:{recorded.pk}:service-return"}
    assert (balance(alice), balance(bob)) == (-30, 30)
    assert ledger_audit().clean
