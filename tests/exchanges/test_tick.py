"""`manage.py exchanges_tick`: time moves deals on, once, and the command says what it did."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from exchanges import services as es
from exchanges.models import Exchange, State
from listings.models import Terms
from messaging.models import Notification
from tests.factories import ListingFactory, MemberFactory, RideFactory

_real_now = timezone.now


@pytest.fixture
def lender(db):
    return MemberFactory(display_name="Lena")


@pytest.fixture
def borrower(db):
    return MemberFactory(display_name="Boris")


@pytest.fixture
def ladder(lender):
    return ListingFactory(owner=lender, terms=Terms.LEND, title="Ladder")


@pytest.fixture
def tick(django_capture_on_commit_callbacks):
    """Run the command (at a chosen moment), firing the after-commit signals; return
    what it printed."""
    def run(*args, at: datetime | None = None) -> str:
        out = StringIO()
        with mock.patch("django.utils.timezone.now", return_value=at or _real_now()), \
                django_capture_on_commit_callbacks(execute=True):
            call_command("exchanges_tick", *args, stdout=out)
        return out.getvalue().strip()

    return run


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def _sale(act, lender, borrower) -> Exchange:
    listing = ListingFactory(owner=lender, terms=Terms.SELL, price_cents=1500)
    return act(es.exchange_request, listing=listing, asker=borrower)


def _state(exchange: Exchange) -> str:
    return Exchange.objects.get(pk=exchange.pk).state


def _at(day, hour: int = 9) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


# --- Expiry --------------------------------------------------------------------------


def test_a_request_with_no_answer_expires_after_72_hours(act, tick, lender, borrower):
    sale = _sale(act, lender, borrower)

    assert tick(at=sale.requested_at + timedelta(hours=71)) == (
        "Expired no requests. Reminded no overdue loans."
    )
    assert _state(sale) == State.REQUESTED

    output = tick(at=sale.requested_at + timedelta(hours=72, minutes=1))

    assert output == f"Expired 1 request: #{sale.pk}. Reminded no overdue loans."
    assert _state(sale) == State.EXPIRED
    assert set(Notification.objects.filter(kind="exchange_expired").values_list(
        "member", flat=True)) == {lender.pk, borrower.pk}


def test_a_loan_request_expires_when_its_period_starts(act, tick, ladder, borrower):
    start = timezone.localdate() + timedelta(days=2)
    loan = act(es.exchange_request, listing=ladder, asker=borrower,
               start_date=start, end_date=start + timedelta(days=1))
    assert loan.expires_at < loan.requested_at + timedelta(hours=72)

    tick(at=_at(start - timedelta(days=1), 23))
    assert _state(loan) == State.REQUESTED

    assert tick(at=_at(start, 0) + timedelta(minutes=1)) == (
        f"Expired 1 request: #{loan.pk}. Reminded no overdue loans."
    )
    assert _state(loan) == State.EXPIRED


def test_a_ride_booking_expires_when_the_ride_leaves(act, tick, lender, borrower):
    ride = RideFactory(owner=lender, departs_at=_real_now() + timedelta(hours=5))
    booking = act(es.exchange_request, listing=ride, asker=borrower, seats=1)
    tick(at=ride.departs_at + timedelta(minutes=1))
    assert _state(booking) == State.EXPIRED


def test_an_answered_request_never_expires(act, tick, lender, borrower):
    sale = _sale(act, lender, borrower)
    act(es.exchange_accept, exchange=sale, by=lender)
    tick(at=sale.requested_at + timedelta(days=5))
    assert _state(sale) == State.ACCEPTED


def test_the_output_lists_every_expired_request(act, tick, lender, borrower):
    first = _sale(act, lender, borrower)
    second = _sale(act, lender, borrower)
    output = tick(at=_real_now() + timedelta(hours=73))
    assert output == (
        f"Expired 2 requests: #{first.pk}, #{second.pk}. Reminded no overdue loans."
    )


def test_a_second_run_expires_nothing_more(act, tick, lender, borrower):
    sale = _sale(act, lender, borrower)
    later = sale.requested_at + timedelta(hours=80)
    tick(at=later)
    notifications = Notification.objects.count()
    emails = len(mail.outbox)

    assert tick(at=later) == "Expired no requests. Reminded no overdue loans."
    assert Notification.objects.count() == notifications
    assert len(mail.outbox) == emails


# --- Overdue loans ---------------------------------------------------------------------


@pytest.fixture
def running_loan(act, ladder, lender, borrower) -> Exchange:
    """Boris has the ladder from tomorrow to the day after; it is due back then."""
    start = timezone.localdate() + timedelta(days=1)
    loan = act(es.exchange_request, listing=ladder, asker=borrower,
               start_date=start, end_date=start + timedelta(days=1))
    act(es.exchange_accept, exchange=loan, by=lender)
    act(es.exchange_start, exchange=loan, by=lender)
    mail.outbox.clear()
    return Exchange.objects.get(pk=loan.pk)


def _reminders(borrower) -> int:
    return Notification.objects.filter(member=borrower, kind="loan_overdue").count()


def test_no_reminder_on_the_due_day(tick, running_loan, borrower):
    assert tick(at=_at(running_loan.end_date, 20)) == (
        "Expired no requests. Reminded no overdue loans."
    )
    assert _reminders(borrower) == 0


def test_overdue_reminders_come_the_day_after_and_every_three_days(
    tick, running_loan, borrower, lender
):
    due = running_loan.end_date

    assert tick(at=_at(due + timedelta(days=1))) == (
        f"Expired no requests. Reminded 1 overdue loan: #{running_loan.pk}."
    )
    assert _reminders(borrower) == 1
    assert Notification.objects.filter(member=lender, kind="loan_overdue").count() == 1
    assert [m.to for m in mail.outbox] == [[borrower.email]]
    assert f"/exchanges/{running_loan.pk}/" in mail.outbox[0].body

    # Again the same day, and the next day: nothing.
    assert tick(at=_at(due + timedelta(days=1), 18)).endswith("Reminded no overdue loans.")
    assert tick(at=_at(due + timedelta(days=2))).endswith("Reminded no overdue loans.")
    assert tick(at=_at(due + timedelta(days=3))).endswith("Reminded no overdue loans.")
    assert _reminders(borrower) == 1
    assert len(mail.outbox) == 1

    # Three days after the first reminder: the second.
    assert tick(at=_at(due + timedelta(days=4))).endswith(
        f"Reminded 1 overdue loan: #{running_loan.pk}."
    )
    assert _reminders(borrower) == 2
    assert len(mail.outbox) == 2
    latest = Notification.objects.filter(member=borrower, kind="loan_overdue").first()
    assert latest.text == "“Ladder” was due back 4 days ago: please return it to Lena."


def test_a_returned_loan_is_not_reminded(act, tick, running_loan, lender, borrower):
    act(es.exchange_complete, exchange=running_loan, by=lender)
    tick(at=_at(running_loan.end_date + timedelta(days=1)))
    assert _reminders(borrower) == 0


# --- Dry run ---------------------------------------------------------------------------


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(act, tick, running_loan, lender,
                                                             borrower):
    sale = _sale(act, lender, borrower)
    # The day after the loan is due, and past the request's 72 hours whatever the hour
    # the test runs at (a fixed 9:00 was before the expiry when run after 9:00).
    at = max(_at(running_loan.end_date + timedelta(days=1)), sale.expires_at + timedelta(minutes=1))
    notifications = Notification.objects.count()
    mail.outbox.clear()

    output = tick("--dry-run", at=at)

    assert output == (
        f"Would expire 1 request: #{sale.pk}. Would remind 1 overdue loan: #{running_loan.pk}."
    )
    assert _state(sale) == State.REQUESTED
    assert Exchange.objects.get(pk=running_loan.pk).last_reminder_on is None
    assert Notification.objects.count() == notifications
    assert mail.outbox == []

    # The real run does what the dry run announced.
    assert tick(at=at) == (
        f"Expired 1 request: #{sale.pk}. Reminded 1 overdue loan: #{running_loan.pk}."
    )
