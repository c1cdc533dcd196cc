"""Service trades: Bob asks Alice for an hour and a half of lawn mowing, paid in time.
Alice (the provider) accepts, starts and records the time; Bob (the receiver) confirms,
which posts one ledger transfer Bob -> Alice, exactly once; or Partage confirms it
7 days after the time was recorded; or Bob opens a dispute instead."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone

from exchanges import services
from exchanges.forms import HoursField
from exchanges.models import Exchange, ExchangeEvent, ExchangeKind, State
from exchanges.services import ExchangeError
from ledger.audit import ledger_audit
from ledger.models import Account, Transfer
from ledger.services import account_for, account_set_limits
from listings.models import Terms
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db

_real_now = timezone.now


@pytest.fixture
def mowing(alice):
    return ServiceFactory(owner=alice, title="Lawn mowing", hours_minutes=90)


@pytest.fixture
def started(mowing, alice, bob):
    """Bob asked, Alice accepted and started."""
    exchange = services.exchange_request(listing=mowing, asker=bob)
    services.exchange_accept(exchange=exchange, by=alice)
    return services.exchange_start(exchange=exchange, by=alice)


@pytest.fixture
def recorded(started, alice):
    return services.exchange_record_time(exchange=started, by=alice, minutes=90)


def balance(member) -> int:
    return Account.objects.get(member=member).balance_minutes


def state_of(exchange) -> str:
    return Exchange.objects.get(pk=exchange.pk).state


# --- request ------------------------------------------------------------------------


def test_a_barter_service_makes_a_service_trade_and_a_free_one_none(mowing, alice):
    assert services.exchange_kind_for(mowing) == ExchangeKind.SERVICE
    given = ServiceFactory(owner=alice, terms=Terms.GIVE, hours_minutes=None)
    assert services.exchange_kind_for(given) is None


def test_a_request_proposes_the_listings_hours_by_default(mowing, bob):
    exchange = services.exchange_request(listing=mowing, asker=bob)
    assert (exchange.kind, exchange.proposed_minutes, exchange.actual_minutes) == (
        ExchangeKind.SERVICE, 90, None)
    assert exchange.amount_cents == 0


def test_a_request_may_propose_another_duration(mowing, bob):
    assert services.exchange_request(listing=mowing, asker=bob, minutes=45).proposed_minutes == 45


@pytest.mark.parametrize("minutes", [0, -30, 6001, 1.5, "60", True])
def test_a_bad_duration_is_refused_on_its_field_and_nothing_is_written(mowing, bob, minutes):
    with pytest.raises(ExchangeError) as error:
        services.exchange_request(listing=mowing, asker=bob, minutes=minutes)
    assert "minutes" in error.value.message_dict
    assert not Exchange.objects.exists()


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("2", 120), ("1.5", 90), ("1,5", 90), ("1:30", 90), (":45", 45), ("0.25", 15), ("1.5 h", 90)],
)
def test_hours_are_typed_the_way_people_write_them(typed, minutes):
    assert HoursField().clean(typed) == minutes


@pytest.mark.parametrize("typed", ["abc", "1:75", "1.333", "1:3:0", "nan", "x:30"])
def test_hours_that_are_not_hours_are_refused(typed):
    with pytest.raises(Exception, match="in hours"):
        HoursField().clean(typed)


# --- recording the time --------------------------------------------------------------------


def test_the_provider_records_the_time_without_changing_the_state(started, alice,
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        exchange = services.exchange_record_time(exchange=started, by=alice, minutes=80)
    assert len(callbacks) == 1  # exchange_changed, after commit
    exchange.refresh_from_db()
    assert (exchange.state, exchange.actual_minutes) == (State.IN_PROGRESS, 80)
    assert exchange.time_recorded_at is not None
    event = ExchangeEvent.objects.filter(exchange=exchange).last()
    assert (event.action, event.from_state, event.to_state, event.actor) == (
        "record_time", State.IN_PROGRESS, State.IN_PROGRESS, alice)


def test_the_receiver_cannot_record_the_time(started, bob):
    with pytest.raises(ExchangeError, match="Only the provider"):
        services.exchange_record_time(exchange=started, by=bob, minutes=90)
    assert Exchange.objects.get(pk=started.pk).actual_minutes is None


def test_a_stranger_cannot_record_the_time(started, dave):
    with pytest.raises(ExchangeError, match="not part of this exchange"):
        services.exchange_record_time(exchange=started, by=dave, minutes=90)


def test_the_time_is_recorded_only_once_the_service_has_started(mowing, alice, bob):
    exchange = services.exchange_request(listing=mowing, asker=bob)
    services.exchange_accept(exchange=exchange, by=alice)
    with pytest.raises(ExchangeError, match="once the service has started"):
        services.exchange_record_time(exchange=exchange, by=alice, minutes=90)
    assert not ExchangeEvent.objects.filter(action="record_time").exists()


@pytest.mark.parametrize("minutes", [0, -1, 6001, 2.5])
def test_a_bad_time_spent_is_refused(started, alice, minutes):
    with pytest.raises(ExchangeError) as error:
        services.exchange_record_time(exchange=started, by=alice, minutes=minutes)
    assert "minutes" in error.value.message_dict
    assert Exchange.objects.get(pk=started.pk).actual_minutes is None


def test_other_deals_count_no_time(drill, alice, bob):
    from tests.exchanges.factories import make_exchange

    loan = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
    with pytest.raises(ExchangeError, match="Only service trades"):
        services.exchange_record_time(exchange=loan, by=alice, minutes=60)


# --- confirming -------------------------------------------------------------------------


def test_confirming_posts_one_transfer_from_the_receiver_to_the_provider(recorded, alice, bob, mowing):
    services.exchange_complete(exchange=recorded, by=bob)
    assert state_of(recorded) == State.COMPLETED
    transfer = Transfer.objects.get()
    assert transfer.from_account == account_for(bob) and transfer.to_account == account_for(alice)
    assert (transfer.minutes, transfer.idempotency_key, transfer.reference, transfer.note) == (
        90, f"exchange:{recorded.pk}:service", f"exchange:{recorded.pk}", "Lawn mowing")
    assert transfer.created_by == bob
    assert (balance(bob), balance(alice)) == (-90, 90)
    assert ledger_audit().clean


def test_confirming_twice_is_refused_and_still_moves_time_once(recorded, bob):
    services.exchange_complete(exchange=recorded, by=bob)
    with pytest.raises(ExchangeError, match="completed"):
        services.exchange_complete(exchange=recorded, by=bob)
    assert Transfer.objects.count() == 1
    assert balance(bob) == -90


def test_confirming_before_the_time_is_recorded_is_refused(started, bob):
    with pytest.raises(ExchangeError, match="not recorded the time"):
        services.exchange_complete(exchange=started, by=bob)
    assert state_of(started) == State.IN_PROGRESS
    assert not Transfer.objects.exists()


def test_over_the_receivers_credit_limit_the_completion_is_refused(recorded, bob):
    account_set_limits(member=bob, credit_limit_minutes=-60, max_balance_minutes=2400,
                       by=None, reason="New member")
    events = ExchangeEvent.objects.count()
    with pytest.raises(ExchangeError, match="Not enough time"):
        services.exchange_complete(exchange=recorded, by=bob)
    assert state_of(recorded) == State.IN_PROGRESS
    assert not Transfer.objects.exists()
    assert balance(bob) == 0
    assert ExchangeEvent.objects.count() == events
    assert ledger_audit().clean


def test_the_provider_cannot_confirm(recorded, alice):
    with pytest.raises(ExchangeError, match="Only the member who asked"):
        services.exchange_complete(exchange=recorded, by=alice)
    assert state_of(recorded) == State.IN_PROGRESS
    assert not Transfer.objects.exists()


def test_the_receiver_may_dispute_instead_and_no_time_moves(recorded, alice, bob):
    services.exchange_dispute(exchange=recorded, by=bob, note="It took an hour, not 90 minutes.")
    assert state_of(recorded) == State.DISPUTED
    with pytest.raises(ExchangeError):
        services.exchange_complete(exchange=recorded, by=bob)
    with pytest.raises(ExchangeError):
        services.exchange_record_time(exchange=recorded, by=alice, minutes=60)
    assert not Transfer.objects.exists()


# --- Partage confirms after 7 days -------------------------------------------------------------


def tick(at) -> str:
    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=at):
        call_command("exchanges_tick", stdout=out)
    return out.getvalue().strip()


def test_partage_cannot_confirm_before_seven_days(recorded):
    with pytest.raises(ExchangeError, match="still has time"):
        services.exchange_complete(exchange=recorded, by=None)
    assert services.confirm_due_service_trades() == []
    assert not Transfer.objects.exists()


def test_the_tick_confirms_after_seven_days_exactly_once(recorded, alice, bob):
    week_later = _real_now() + timedelta(days=7, minutes=1)
    assert "Confirmed" not in tick(_real_now() + timedelta(days=6))
    assert not Transfer.objects.exists()

    out = StringIO()
    with mock.patch("django.utils.timezone.now", return_value=week_later):
        call_command("exchanges_tick", "--dry-run", stdout=out)
    assert f"Would confirm 1 service trade: #{recorded.pk}." in out.getvalue()
    assert not Transfer.objects.exists()

    # Other parts of the tick may add their own sentences after these.
    assert tick(week_later).startswith(
        f"Expired no requests. Reminded no overdue loans. Confirmed 1 service trade: #{recorded.pk}."
    )
    assert "Confirmed" not in tick(week_later + timedelta(days=1))
    assert state_of(recorded) == State.COMPLETED
    transfer = Transfer.objects.get()
    assert (transfer.minutes, transfer.created_by) == (90, None)
    assert (balance(bob), balance(alice)) == (-90, 90)
    event = ExchangeEvent.objects.filter(exchange=recorded).last()
    assert (event.action, event.actor) == ("complete", None)
    assert ledger_audit().clean


def test_a_corrected_time_restarts_the_seven_days(recorded, alice):
    with mock.patch("django.utils.timezone.now", return_value=_real_now() + timedelta(days=5)):
        services.exchange_record_time(exchange=recorded, by=alice, minutes=60)
    assert services.confirm_due_service_trades(_real_now() + timedelta(days=8)) == []
    assert not Transfer.objects.exists()


def test_the_tick_leaves_a_trade_the_ledger_refuses_for_later(recorded, bob):
    account_set_limits(member=bob, credit_limit_minutes=0, max_balance_minutes=2400,
                       by=None, reason="Test")
    assert "Confirmed" not in tick(_real_now() + timedelta(days=8))
    assert state_of(recorded) == State.IN_PROGRESS
    assert not Transfer.objects.exists()


# --- pages --------------------------------------------------------------------------------


def test_the_request_panel_asks_for_hours_and_says_it_is_paid_in_time(client, mowing, bob):
    client.force_login(bob)
    html = client.get(mowing.get_absolute_url()).content.decode()
    assert 'name="ask-minutes"' in html and 'value="1:30"' in html
    assert "Paid in time" in html


def test_a_request_sent_from_the_page_counts_hours_as_minutes(client, mowing, bob):
    client.force_login(bob)
    response = client.post(f"/exchanges/request/{mowing.pk}/", {"ask-minutes": "2.5"})
    exchange = Exchange.objects.get()
    assert response.status_code == 302 and exchange.proposed_minutes == 150


def test_a_bad_duration_from_the_page_shows_next_to_the_field(client, mowing, bob):
    client.force_login(bob)
    response = client.post(f"/exchanges/request/{mowing.pk}/", {"ask-minutes": "200"})
    assert response.status_code == 400
    assert "One trade counts at most 100 h." in response.content.decode()
    assert not Exchange.objects.exists()


def test_only_the_provider_sees_the_record_form_and_it_records(client, started, alice, bob):
    url = started.get_absolute_url()
    client.force_login(bob)
    assert "Record the time spent" not in client.get(url).content.decode()
    client.post(f"/exchanges/{started.pk}/time/record/", {"time-minutes": "1"})
    assert Exchange.objects.get(pk=started.pk).actual_minutes is None

    client.force_login(alice)
    html = client.get(url).content.decode()
    assert "Record the time spent" in html and "1 h 30" in html
    response = client.post(f"/exchanges/{started.pk}/time/record/", {"time-minutes": "1:15"},
                           follow=True)
    assert Exchange.objects.get(pk=started.pk).actual_minutes == 75
    assert "1 h 15" in response.content.decode()


def test_a_stranger_gets_404_on_the_record_form(client, started, dave):
    client.force_login(dave)
    assert client.post(f"/exchanges/{started.pk}/time/record/", {"time-minutes": "1"}).status_code == 404


def test_the_receiver_is_asked_to_confirm_when_the_time_is_recorded(
    mailoutbox, django_capture_on_commit_callbacks
):
    from exchanges import services
    from messaging.models import Notification
    from tests.factories import MemberFactory, ServiceFactory

    provider, receiver = MemberFactory(), MemberFactory()
    lawn = ServiceFactory(owner=provider, hours_minutes=90)
    with django_capture_on_commit_callbacks(execute=True):
        trade = services.exchange_request(listing=lawn, asker=receiver, minutes=90)
        services.exchange_accept(exchange=trade, by=provider)
        services.exchange_start(exchange=trade, by=provider)
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.exchange_record_time(exchange=trade, by=provider, minutes=90)
    notice = Notification.objects.get(member=receiver, kind="service_time_recorded")
    assert "confirm" in notice.text
    assert [m.to for m in mailoutbox] == [[receiver.email]]
