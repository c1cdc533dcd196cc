"""A fake Stripe API on loopback for the test suite (see server.py), webhook signing
helpers (webhooks.py) and the pytest fixtures that wire them up (conftest_plugin.py)."""

from tests.fake_stripe.server import (
    API_VERSION,
    WEBHOOK_SECRET,
    FakeStripe,
    RecordedRequest,
    StripeError,
    parse_form,
)
from tests.fake_stripe.webhooks import post_event, sign_payload

SECRET_KEY = "sk_test_fake"

__all__ = [
    "API_VERSION",
    "SECRET_KEY",
    "WEBHOOK_SECRET",
    "FakeStripe",
    "RecordedRequest",
    "StripeError",
    "parse_form",
    "post_event",
    "sign_payload",
]
