"""`manage.py stripe_reconcile`: missed events applied once, undone refunds retried,
deposit holds released before they lapse."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from exchanges import services
from exchanges.models import ExchangeEvent, Payment, State, StripeEvent
from tests.exchanges.stripe_helpers import (
    accepted_sale,
    authorise_deposit,
    connect,
    deliver,
    pay,
    short_loan,
)

pytestmark = pytest.mark.django_db


def _reconcile() -> str:
    out = StringIO()
    call_command("stripe_reconcile", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_reconcile_applies_a_missed_event_exactly_once(alice, bob, bike, fake_stripe):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    pay(exchange, bob, fake_stripe)  # the webhooks never arrive
    first = _reconcile()
    exchange.refresh_from_db()
    assert exchange.state == State.PAID and "Applied" in first
    assert StripeEvent.objects.filter(type="checkout.session.completed", processed_at__isnull=False).count() == 1
    assert "Applied 0 missed" in _reconcile()
    deliver(fake_stripe)  # Stripe's late deliveries are replays now
    assert ExchangeEvent.objects.filter(exchange=exchange, action="pay").count() == 1


def test_reconcile_retries_a_refund_that_failed_after_a_call_off(
        alice, bob, bike, fake_stripe, django_capture_on_commit_callbacks):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    pay(exchange, bob, fake_stripe)
    deliver(fake_stripe)
    fake_stripe.fail_next(500, path="/v1/refunds")
    with django_capture_on_commit_callbacks(execute=True):
        services.exchange_call_off(exchange=exchange, by=alice)
    payment = Payment.objects.get(exchange=exchange)
    assert payment.state == "paid"
    _reconcile()
    payment.refresh_from_db()
    assert payment.state == "refunded" and payment.refunded_cents == 4500
    _reconcile()
    assert len([r for r in fake_stripe.requests_to("/v1/refunds", "POST") if r.status == 200]) == 1


def test_reconcile_releases_a_hold_nearing_its_capture_deadline(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    payment = authorise_deposit(loan, bob, fake_stripe)
    _reconcile()
    payment.refresh_from_db()
    assert payment.state == "authorised"  # days left: kept
    Payment.objects.filter(pk=payment.pk).update(capture_deadline=timezone.now() + timedelta(hours=2))
    assert "Released 1 deposit" in _reconcile()
    payment.refresh_from_db()
    assert payment.state == "released"
    assert fake_stripe.get(payment.payment_intent_id)["status"] == "canceled"


def test_reconcile_releases_an_unclaimed_hold_after_the_claim_window(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    payment = authorise_deposit(loan, bob, fake_stripe)
    services.exchange_start(exchange=loan, by=alice)
    services.exchange_complete(exchange=loan, by=alice)
    ExchangeEvent.objects.filter(exchange=loan, action="complete").update(
        at=timezone.now() - timedelta(hours=49))
    _reconcile()
    payment.refresh_from_db()
    assert payment.state == "released"


def test_reconcile_says_so_when_stripe_is_not_configured(settings, db):
    settings.STRIPE_SECRET_KEY = ""
    assert "not configured" in _reconcile()
