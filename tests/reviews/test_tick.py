"""exchanges_tick runs the reviews step (reviews_publish): missed windows opened, last
reminders sent, due reviews published; once, however often it runs."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command

from exchanges.models import State
from messaging.models import Notification, NotificationKind
from reviews import services
from reviews.models import Review, ReviewWindow
from tests.exchanges.factories import make_exchange
from tests.reviews.conftest import age

pytestmark = pytest.mark.django_db


@pytest.fixture
def tick(django_capture_on_commit_callbacks):
    def run(*args, command: str = "exchanges_tick") -> str:
        out = StringIO()
        with django_capture_on_commit_callbacks(execute=True):
            call_command(command, *args, stdout=out)
        return out.getvalue().strip()
    return run


def test_the_tick_reminds_once_and_publishes_once(tick, loan, member, other_member):
    review = services.review_submit(exchange=loan, author=other_member, rating=4, text="ok")
    age(loan, 12)

    assert "Reminded the parties of 1 exchange to review." in tick()
    assert "review" not in tick().lower()  # nothing more to do
    assert Notification.objects.filter(kind=NotificationKind.REVIEW_REMINDER).count() == 1

    age(loan, 2)
    assert "Published 1 review." in tick()
    assert "Published" not in tick()
    review.refresh_from_db()
    assert review.published_at is not None
    assert Notification.objects.filter(kind=NotificationKind.REVIEW_PUBLISHED,
                                       member=member).count() == 1


def test_the_dry_run_says_and_changes_nothing(tick, loan, other_member):
    services.review_submit(exchange=loan, author=other_member, rating=4, text="ok")
    age(loan, 15)
    outbox = len(mail.outbox)

    assert "Would handle 1 review window to close." in tick("--dry-run")
    assert Review.objects.get().published_at is None
    assert len(mail.outbox) == outbox


def test_the_reviews_command_runs_on_its_own(tick, drill, other_member):
    make_exchange(listing=drill, asker=other_member, state=State.COMPLETED)

    assert tick(command="reviews_publish") == "Opened 1 review window."
    assert ReviewWindow.objects.count() == 1
    assert tick(command="reviews_publish") == "Nothing to do for reviews."
