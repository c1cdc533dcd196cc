"""Alice owns a drill; Bob asks to borrow it. `act` runs a service call and fires the
after-commit callbacks (the signals) the test transaction would otherwise never run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone

from exchanges import services as exchange_services
from listings.models import Terms
from messaging import services
from tests.factories import ListingFactory

_keys = count()


@pytest.fixture
def drill(alice):
    return ListingFactory(owner=alice, terms=Terms.LEND, title="Cordless drill", price_cents=300)


@pytest.fixture
def act(django_capture_on_commit_callbacks) -> Callable:
    def run(service: Callable, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


@pytest.fixture
def loan_request(act, drill, bob):
    """Bob asks for the drill from tomorrow, for two days."""
    tomorrow = timezone.localdate() + timedelta(days=1)
    return act(exchange_services.exchange_request, listing=drill, asker=bob,
               start_date=tomorrow, end_date=tomorrow + timedelta(days=1))


def make_notification(member, *, kind: str = "exchange_declined", url: str = "/listings/",
                      params: dict | None = None, **kwargs):
    notification, _ = services.notification_create(
        member=member, kind=kind, dedupe_key=f"test:{next(_keys)}", url=url,
        params=params or {"who": "Bob", "listing": "Cordless drill"}, **kwargs,
    )
    return notification
