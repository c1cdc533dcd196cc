"""Alice owns the things; Bob and Carol ask for them; Dave stands outside every deal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from listings.models import Terms
from tests.exchanges.factories import days  # noqa: F401  (other test files import it from here)
from tests.factories import ListingFactory, RideFactory


@pytest.fixture
def today() -> date:
    return timezone.localdate()


@pytest.fixture
def drill(alice):
    """Lent at 3.00 a day, with a 50.00 deposit, no buffer days."""
    return ListingFactory(owner=alice, terms=Terms.LEND, title="Cordless drill",
                          price_cents=300, deposit_cents=5000)


@pytest.fixture
def ride(alice):
    """Three seats at 5.00, leaving in two days."""
    return RideFactory(owner=alice, seats=3, price_cents=500,
                       departs_at=timezone.now() + timedelta(days=2))


@pytest.fixture
def board_game(alice):
    """Offered for a swap."""
    return ListingFactory(owner=alice, terms=Terms.SWAP, title="Board game")


@pytest.fixture
def lamp(bob):
    """What Bob offers in return."""
    return ListingFactory(owner=bob, terms=Terms.SWAP, title="Lamp")


@pytest.fixture
def bike(alice):
    """For sale at 45.00."""
    return ListingFactory(owner=alice, terms=Terms.SELL, title="Bike", price_cents=4500)


@pytest.fixture
def armchair(alice):
    """Given away."""
    return ListingFactory(owner=alice, terms=Terms.GIVE, title="Armchair", price_cents=0)
