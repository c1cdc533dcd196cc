"""Helpers for the payment tests: a connected owner, a sale or a loan carried to a
given point through the real services, pages and the fake Stripe."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from exchanges import payments, services
from exchanges.models import ConnectedAccount, Exchange, Payment

WEBHOOK_URL = "/stripe/webhook/"


def connect(member, fake_stripe) -> ConnectedAccount:
    """The member opens and finishes a Stripe Express account."""
    payments.connect_onboarding_url(
        member=member, return_url="http://testserver/r", refresh_url="http://testserver/f"
    )
    account = ConnectedAccount.objects.get(member=member)
    fake_stripe.onboard_account(account.stripe_account_id)
    return payments.connect_refresh(member=member)


def client_for(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def accepted_sale(bike, bob) -> Exchange:
    exchange = services.exchange_request(listing=bike, asker=bob)
    return services.exchange_accept(exchange=exchange, by=bike.owner)


def session_of(response) -> str:
    """The Checkout session id from the redirect to the fake's hosted page."""
    assert response.status_code == 302, response
    return response["Location"].rstrip("/").rsplit("/", 1)[1]


def pay(exchange, asker, fake_stripe) -> str:
    """The asker clicks "Pay now" and pays on the Checkout page. Returns the session id."""
    response = client_for(asker).post(f"/exchanges/payments/{exchange.pk}/pay/")
    session_id = session_of(response)
    fake_stripe.complete_checkout(session_id)
    return session_id


def deliver(fake_stripe) -> list:
    responses = fake_stripe.deliver(Client(), WEBHOOK_URL)
    assert all(r.status_code == 200 for r in responses), [r.status_code for r in responses]
    return responses


def short_loan(drill, bob, *, days: int = 2) -> Exchange:
    today = timezone.localdate()
    exchange = services.exchange_request(
        listing=drill, asker=bob, start_date=today + timedelta(days=1),
        end_date=today + timedelta(days=days),
    )
    return services.exchange_accept(exchange=exchange, by=drill.owner)


def authorise_deposit(exchange, bob, fake_stripe) -> Payment:
    response = client_for(bob).post(f"/exchanges/payments/{exchange.pk}/deposit/")
    fake_stripe.complete_checkout(session_of(response))
    deliver(fake_stripe)
    return Payment.objects.get(exchange=exchange, purpose="deposit")
