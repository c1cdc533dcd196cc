"""A completed loan between Alice (the lender, owner of the drill) and Bob (the
borrower), completed through the exchange services so it has its `complete` event and,
the after-commit signal having run, its review window."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import F

from exchanges import services as es
from exchanges.models import Exchange, ExchangeEvent, State
from listings.models import Terms
from reviews.models import ReviewWindow
from tests.exchanges.factories import make_exchange
from tests.factories import ListingFactory


@pytest.fixture
def complete(django_capture_on_commit_callbacks):
    """Complete an in-progress exchange as its owner (or the asker for sales), firing
    the after-commit signals as a real request would."""
    def run(exchange: Exchange, by=None) -> Exchange:
        with django_capture_on_commit_callbacks(execute=True):
            return es.exchange_complete(exchange=exchange, by=by or exchange.owner)
    return run


@pytest.fixture
def drill(member):
    return ListingFactory(owner=member, terms=Terms.LEND, title="Bosch drill", price_cents=300)


@pytest.fixture
def loan(drill, other_member, complete):
    exchange = make_exchange(listing=drill, asker=other_member, state=State.IN_PROGRESS)
    return complete(exchange)


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run a callable with the after-commit callbacks executed (notifications)."""
    def run(work):
        with django_capture_on_commit_callbacks(execute=True):
            return work()
    return run


def age(exchange: Exchange, days: float) -> None:
    """Pretend the exchange completed `days` earlier than it did: its `complete` event
    and its review window both move back."""
    ExchangeEvent.objects.filter(exchange=exchange, to_state=State.COMPLETED).update(
        at=F("at") - timedelta(days=days)
    )
    ReviewWindow.objects.filter(pk=exchange.pk).update(
        completed_at=F("completed_at") - timedelta(days=days),
        closes_at=F("closes_at") - timedelta(days=days),
    )
