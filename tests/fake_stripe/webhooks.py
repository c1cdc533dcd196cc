"""Signed Stripe webhook deliveries for Django's test client.

Stripe signs ``f"{timestamp}.{raw body}"`` with HMAC-SHA256 and the endpoint's secret and
sends ``Stripe-Signature: t=<timestamp>,v1=<hex digest>``. ``stripe.Webhook.construct_event``
checks the digest and refuses timestamps older than its tolerance (300 s by default).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe would send for ``payload``."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8")
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_event(
    client: Any,
    url: str,
    event: dict[str, Any] | str | bytes,
    secret: str,
    *,
    timestamp: int | None = None,
    signature: str | None = None,
) -> Any:
    """POSTs ``event`` to ``url`` with Django's test ``client`` the way Stripe delivers it.

    ``event`` is an event dict (serialised once; the signature covers exactly the bytes
    sent) or a raw body. ``timestamp`` signs with another time (a stale one, say);
    ``signature`` replaces the header outright ("" sends none) for refusal tests.
    """
    body = event if isinstance(event, str | bytes) else json.dumps(event)
    if isinstance(body, str):
        body = body.encode("utf-8")
    header = sign_payload(body, secret, timestamp) if signature is None else signature
    extra = {"HTTP_STRIPE_SIGNATURE": header} if header else {}
    return client.post(url, data=body, content_type="application/json", **extra)
