"""pytest fixtures for the fake Stripe. Register from tests/conftest.py with
``pytest_plugins = ["tests.fake_stripe.conftest_plugin"]``.

One server serves the whole session (starting a thread per test would be wasted time);
``fake_stripe`` empties it before each test and points both the SDK and Django's settings
at it, restoring both afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import stripe

from tests.fake_stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

# The SDK globals the fixture changes, restored after each test.
_SDK_SETTINGS = (
    "api_key",
    "api_base",
    "connect_api_base",
    "upload_api_base",
    "max_network_retries",
    "enable_telemetry",
)


@pytest.fixture(scope="session")
def fake_stripe_server() -> Iterator[FakeStripe]:
    """The running fake (state shared across tests: use ``fake_stripe`` instead)."""
    server = FakeStripe().start()
    yield server
    server.stop()


@pytest.fixture
def fake_stripe(fake_stripe_server: FakeStripe, settings) -> Iterator[FakeStripe]:
    """An empty fake Stripe that the SDK and the app's settings point at.

    Sets ``stripe.api_key``/``stripe.api_base`` (and the connect/files bases, so nothing
    can reach the real Stripe), no retries, no telemetry; and ``settings.STRIPE_SECRET_KEY``
    = "sk_test_fake", ``STRIPE_API_BASE`` = the server's URL, ``STRIPE_WEBHOOK_SECRET`` =
    "whsec_test". Yields the ``FakeStripe``: ``onboard_account``, ``complete_checkout``,
    ``expire_checkout``, ``fail_next``, ``decline_next_card``, ``events``, ``event_types``,
    ``objects``, ``get``, ``requests``, ``requests_to``, ``deliver``.
    """
    server = fake_stripe_server
    server.reset()
    saved = {name: getattr(stripe, name) for name in _SDK_SETTINGS}
    stripe.api_key = SECRET_KEY
    stripe.api_base = stripe.connect_api_base = stripe.upload_api_base = server.url
    stripe.max_network_retries = 0
    stripe.enable_telemetry = False
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_fake"
    settings.STRIPE_API_BASE = server.url
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    try:
        yield server
    finally:
        for name, value in saved.items():
            setattr(stripe, name, value)
        server.reset()


@pytest.fixture
def stripe_client(fake_stripe: FakeStripe) -> stripe.StripeClient:
    """A ``StripeClient`` bound to the fake, for code written against the client API."""
    return stripe.StripeClient(
        SECRET_KEY, base_addresses={"api": fake_stripe.url}, max_network_retries=0
    )
