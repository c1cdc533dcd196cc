"""A provider records the time a service took: a time far above the one agreed is asked
to be confirmed, no time beyond what the time bank lets move is recorded, a correction
reads as one in the timeline, and the receiver's notification and email say the hours."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import translation

from exchanges import services as es
from exchanges.models import Exchange, ExchangeEvent
from ledger.models import Account
from ledger.services import transfer_room
from messaging.models import Notification
from tests.factories import MemberFactory, ServiceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    def call(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)
    return call


def _trade(run, hours_minutes: int = 60) -> Exchange:
    bob = MemberFactory(display_name="Bob", email="bob@example.com")
    alice = MemberFactory(display_name="Alice", email="alice@example.com")
    help_ = ServiceFactory(owner=bob, title="Garden help", hours_minutes=hours_minutes)
    trade = run(es.exchange_request, listing=help_, asker=alice)
    run(es.exchange_accept, exchange=trade, by=bob)
    return run(es.exchange_start, exchange=trade, by=bob)


@pytest.mark.parametrize(("agreed", "recorded", "far"), [
    (60, 60, False), (60, 180, False), (60, 181, True),  # more than three times
    (600, 840, False), (600, 841, True),  # more than 4 hours over
    (60, 99 * 60, True),
])
def test_what_counts_as_far_above(agreed, recorded, far):
    assert es.is_far_above(recorded, agreed) is far


def test_a_time_far_above_the_agreed_one_is_refused_until_confirmed(run):
    trade = _trade(run)
    with pytest.raises(es.TimeNeedsConfirmation) as refused:
        run(es.exchange_record_time, exchange=trade, by=trade.owner, minutes=9 * 60)
    assert "You agreed on 1 h and recorded 9 h" in " ".join(refused.value.messages)
    trade.refresh_from_db()
    assert trade.actual_minutes is None
    assert not ExchangeEvent.objects.filter(exchange=trade, action="record_time").exists()

    run(es.exchange_record_time, exchange=trade, by=trade.owner, minutes=9 * 60, confirm_far_above=True)
    trade.refresh_from_db()
    assert trade.actual_minutes == 9 * 60


def test_no_more_is_recorded_than_the_receivers_limit_lets_move(run):
    trade = _trade(run)
    receiver = Account.objects.get(member=trade.asker)
    receiver.balance_minutes = -8 * 60  # the default credit limit is -10 h
    receiver.save()
    Account.objects.filter(member=trade.owner).update(balance_minutes=8 * 60)
    assert transfer_room(payer=trade.asker, payee=trade.owner) == 2 * 60

    with pytest.raises(es.ExchangeError) as refused:
        run(es.exchange_record_time, exchange=trade, by=trade.owner, minutes=3 * 60,
            confirm_far_above=True)
    assert "At most 2 h can move from Alice's time account to yours now" in " ".join(
        refused.value.messages)
    trade.refresh_from_db()
    assert trade.actual_minutes is None

    run(es.exchange_record_time, exchange=trade, by=trade.owner, minutes=2 * 60)
    trade.refresh_from_db()
    assert trade.actual_minutes == 120


def test_a_correction_reads_as_one_and_each_email_says_the_hours(run, client):
    trade = _trade(run)
    # Limits wide enough for 99 h (the defaults would refuse it outright).
    Account.objects.filter(member=trade.asker).update(credit_limit_minutes=-200 * 60)
    Account.objects.filter(member=trade.owner).update(max_balance_minutes=200 * 60)
    mail.outbox.clear()
    run(es.exchange_record_time, exchange=trade, by=trade.owner, minutes=99 * 60, confirm_far_above=True)
    run(es.exchange_record_time, exchange=trade, by=trade.owner, minutes=60)

    assert list(ExchangeEvent.objects.filter(exchange=trade, minutes__isnull=False)
                .values_list("action", "minutes")) == [("record_time", 99 * 60), ("correct_time", 60)]
    subjects = [message.subject for message in mail.outbox if message.to == ["alice@example.com"]]
    assert subjects == [
        "[Partage] Bob recorded 99 h spent on “Garden help”. Please confirm it or report a problem.",
        "[Partage] Bob corrected the time spent on “Garden help”: 1 h instead of 99 h. "
        "Please confirm it or report a problem.",
    ]
    newest = Notification.objects.filter(member=trade.asker, kind="service_time_recorded").latest("id")
    with translation.override("fr"):
        assert newest.text == (
            "Bob a corrigé le temps passé pour « Garden help »\u00a0: 1 h au lieu de 99 h. "
            "Veuillez le confirmer ou signaler un problème."
        )

    client.force_login(trade.asker)
    page = client.get(reverse("exchanges:detail", args=[trade.pk])).content.decode()
    assert "Corrected the time spent" in page
    assert "Time spent: 1 h (instead of 99 h)." in page
    # A time recorded without a state change does not read "In progress → In progress".
    assert "In progress → In progress" not in page


def test_the_page_asks_to_confirm_a_far_time_and_takes_it_once_ticked(run, client):
    trade = _trade(run)
    client.force_login(trade.owner)
    url = reverse("exchanges:record-time", args=[trade.pk])

    response = client.post(url, {"time-minutes": "9"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "You agreed on 1 h and recorded 9 h" in page
    assert 'type="checkbox" name="time-confirm_far_above"' in page
    assert "Yes, it really took 9 h" in page
    assert 'value="9"' in page
    trade.refresh_from_db()
    assert trade.actual_minutes is None

    response = client.post(url, {"time-minutes": "9", "time-confirm_far_above": "on"})
    assert response.status_code == 302
    trade.refresh_from_db()
    assert trade.actual_minutes == 9 * 60


def test_the_page_shows_the_limit_beside_the_field(run, client):
    trade = _trade(run)
    Account.objects.filter(member=trade.asker).update(balance_minutes=-10 * 60)
    client.force_login(trade.owner)
    response = client.post(reverse("exchanges:record-time", args=[trade.pk]), {"time-minutes": "1"})
    assert response.status_code == 400
    assert "No time can move from Alice" in response.content.decode()


def test_a_stranger_cannot_record(run, client):
    trade = _trade(run)
    client.force_login(MemberFactory())
    response = client.post(reverse("exchanges:record-time", args=[trade.pk]), {"time-minutes": "1"})
    assert response.status_code == 404
