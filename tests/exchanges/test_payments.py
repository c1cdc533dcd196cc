"""Online payments against the fake Stripe through the real SDK: Connect onboarding,
sales and rides paid by Checkout, refunds on cancel, card-held deposits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exchanges import services
from exchanges.models import ConnectedAccount, Exchange, ExchangeEvent, Payment, State
from exchanges.services import ExchangeError
from tests.exchanges.stripe_helpers import (
    accepted_sale,
    authorise_deposit,
    client_for,
    connect,
    deliver,
    pay,
    session_of,
    short_loan,
)

pytestmark = pytest.mark.django_db


# --- Connect onboarding -------------------------------------------------------------


def test_onboarding_creates_one_express_account_and_sends_the_member_to_stripe(alice, fake_stripe):
    client = client_for(alice)
    first = client.post("/exchanges/payments/connect/")
    second = client.post("/exchanges/payments/connect/")
    assert first.status_code == 302 and "/connect/onboard/acct_" in first["Location"]
    account = ConnectedAccount.objects.get(member=alice)
    assert account.stripe_account_id in second["Location"]
    created = fake_stripe.requests_to("/v1/accounts", "POST")
    assert [r.params["type"] for r in created] == ["express"]
    assert created[0].params["capabilities"]["transfers"]["requested"] == "true"
    assert not account.is_ready


def test_the_return_page_refreshes_the_account_and_says_it_is_ready(alice, fake_stripe):
    client = client_for(alice)
    client.post("/exchanges/payments/connect/")
    account = ConnectedAccount.objects.get(member=alice)
    response = client.get("/exchanges/payments/connect/return/", follow=True)
    assert "not complete yet" in response.content.decode()
    fake_stripe.onboard_account(account.stripe_account_id)
    response = client.get("/exchanges/payments/connect/return/", follow=True)
    account.refresh_from_db()
    assert account.is_ready and "is ready" in response.content.decode()
    assert fake_stripe.requests_to(f"/v1/accounts/{account.stripe_account_id}", "GET")


def test_the_profile_page_offers_to_get_paid_online(alice, fake_stripe):
    html = client_for(alice).get(reverse("members:edit")).content.decode()
    assert "Get paid online" in html and "/exchanges/payments/connect/" in html


def test_the_profile_page_offers_nothing_to_connect_without_stripe(alice, settings):
    settings.STRIPE_SECRET_KEY = ""
    html = client_for(alice).get(reverse("members:edit")).content.decode()
    assert "Get paid online" not in html


def test_onboarding_says_payments_are_off_without_stripe_keys(alice, settings):
    settings.STRIPE_SECRET_KEY = ""
    response = client_for(alice).post("/exchanges/payments/connect/", follow=True)
    assert "not available" in response.content.decode()
    assert not ConnectedAccount.objects.exists()


# --- Sales and rides ------------------------------------------------------------------


def test_a_sale_of_a_connected_seller_is_paid_online(alice, bob, bike, fake_stripe):
    connect(alice, fake_stripe)
    exchange = services.exchange_request(listing=bike, asker=bob)
    assert exchange.pay_in_person is False


def test_a_sale_is_paid_by_a_destination_charge_keeping_the_platform_fee(alice, bob, bike, fake_stripe, settings):
    settings.PLATFORM_FEE_PERCENT = 5
    account = connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    response = client_for(bob).post(f"/exchanges/payments/{exchange.pk}/pay/")
    assert response["Location"].startswith(fake_stripe.url + "/checkout/cs_test_")
    [sent] = fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    intent = sent.params["payment_intent_data"]
    assert intent["application_fee_amount"] == "225"
    assert intent["transfer_data"]["destination"] == account.stripe_account_id
    assert sent.params["line_items"][0]["price_data"]["unit_amount"] == "4500"
    assert sent.headers.get("Idempotency-Key", "").startswith("partage-payment-")
    payment = Payment.objects.get(exchange=exchange)
    assert (payment.amount_cents, payment.fee_cents, payment.state) == (4500, 225, "pending")


def test_clicking_pay_twice_reuses_the_open_checkout_session(alice, bob, bike, fake_stripe):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    client = client_for(bob)
    first = session_of(client.post(f"/exchanges/payments/{exchange.pk}/pay/"))
    second = session_of(client.post(f"/exchanges/payments/{exchange.pk}/pay/"))
    assert first == second
    assert len(fake_stripe.requests_to("/v1/checkout/sessions", "POST")) == 1


def test_a_failed_stripe_call_shows_a_message_and_a_retry_makes_one_session(alice, bob, bike, fake_stripe):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    fake_stripe.fail_next(500, path="/v1/checkout/sessions")
    client = client_for(bob)
    response = client.post(f"/exchanges/payments/{exchange.pk}/pay/", follow=True)
    assert "did not answer" in response.content.decode()
    session_of(client.post(f"/exchanges/payments/{exchange.pk}/pay/"))
    assert len(fake_stripe.objects("cs_test")) == 1


def test_the_webhook_marks_the_sale_paid_and_then_the_hand_over_is_allowed(alice, bob, bike, fake_stripe):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    with pytest.raises(ExchangeError):
        services.exchange_start(exchange=exchange, by=alice)
    pay(exchange, bob, fake_stripe)
    deliver(fake_stripe)
    exchange.refresh_from_db()
    assert exchange.state == State.PAID
    payment = Payment.objects.get(exchange=exchange)
    assert payment.state == "paid" and payment.payment_intent_id.startswith("pi_")
    assert services.exchange_start(exchange=exchange, by=alice).state == State.IN_PROGRESS
    html = client_for(bob).get(f"/exchanges/{exchange.pk}/").content.decode()
    assert "Paid online" in html and "Pay now" not in html


def test_the_buyer_sees_pay_now_and_the_seller_does_not(alice, bob, bike, fake_stripe):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    assert "Pay now" in client_for(bob).get(f"/exchanges/{exchange.pk}/").content.decode()
    assert "Pay now" not in client_for(alice).get(f"/exchanges/{exchange.pk}/").content.decode()
    response = client_for(alice).post(f"/exchanges/payments/{exchange.pk}/pay/", follow=True)
    assert "Only the member who asked pays" in response.content.decode()
    assert not fake_stripe.requests_to("/v1/checkout/sessions", "POST")


def test_the_return_from_checkout_thanks_or_says_nothing_was_paid(alice, bob, bike, fake_stripe):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    client = client_for(bob)
    ok = client.get(f"/exchanges/payments/{exchange.pk}/done/?result=ok", follow=True)
    assert "Stripe is confirming it" in ok.content.decode()
    no = client.get(f"/exchanges/payments/{exchange.pk}/done/?result=cancelled", follow=True)
    assert "Nothing was paid" in no.content.decode()


def test_a_ride_is_paid_per_seat_online(alice, bob, ride, fake_stripe):
    account = connect(alice, fake_stripe)
    exchange = services.exchange_request(listing=ride, asker=bob, seats=2)
    services.exchange_accept(exchange=exchange, by=alice)
    pay(exchange, bob, fake_stripe)
    deliver(fake_stripe)
    [sent] = fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert sent.params["payment_intent_data"]["application_fee_amount"] == "50"
    assert sent.params["payment_intent_data"]["transfer_data"]["destination"] == account.stripe_account_id
    exchange.refresh_from_db()
    assert exchange.state == State.PAID and exchange.amount_cents == 1000


def test_an_owner_without_a_ready_account_is_paid_in_person(alice, bob, bike, fake_stripe):
    client_for(alice).post("/exchanges/payments/connect/")  # started, never finished
    exchange = services.exchange_request(listing=bike, asker=bob)
    assert exchange.pay_in_person is True


def test_without_stripe_keys_deals_stay_pay_in_person(alice, bob, bike, drill, settings):
    settings.STRIPE_SECRET_KEY = ""
    ConnectedAccount.objects.create(member=alice, stripe_account_id="acct_x",
                                    charges_enabled=True, details_submitted=True)
    sale = accepted_sale(bike, bob)
    loan = short_loan(drill, bob)
    assert sale.pay_in_person and loan.pay_in_person
    assert not Payment.objects.exists()
    response = client_for(bob).post(f"/exchanges/payments/{sale.pk}/pay/", follow=True)
    assert "paid in person" in response.content.decode()
    for exchange in (sale, loan):
        html = client_for(bob).get(f"/exchanges/{exchange.pk}/").content.decode()
        assert "Pay in person" in html and "Pay now" not in html
        assert "Authorise the deposit" not in html


# --- Cancel after payment -------------------------------------------------------------


def test_calling_off_a_paid_sale_refunds_it_in_full(alice, bob, bike, fake_stripe, django_capture_on_commit_callbacks):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    pay(exchange, bob, fake_stripe)
    deliver(fake_stripe)
    with django_capture_on_commit_callbacks(execute=True):
        services.exchange_call_off(exchange=exchange, by=alice, note="Sold elsewhere")
    payment = Payment.objects.get(exchange=exchange)
    assert payment.state == "refunded" and payment.refunded_cents == 4500
    [refund] = fake_stripe.objects("re_").values()
    assert refund["payment_intent"] == payment.payment_intent_id and refund["amount"] == 4500
    assert refund["reverse_transfer"] and refund["refund_application_fee"]
    deliver(fake_stripe)  # charge.refunded arrives: nothing more
    payment.refresh_from_db()
    assert payment.refunded_cents == 4500
    assert len(fake_stripe.requests_to("/v1/refunds", "POST")) == 1


def test_calling_off_before_payment_closes_the_checkout_page(alice, bob, bike, fake_stripe, django_capture_on_commit_callbacks):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    session_id = session_of(client_for(bob).post(f"/exchanges/payments/{exchange.pk}/pay/"))
    with django_capture_on_commit_callbacks(execute=True):
        services.exchange_call_off(exchange=exchange, by=bob)
    assert fake_stripe.get(session_id)["status"] == "expired"
    assert Payment.objects.get(exchange=exchange).state == "void"
    assert not fake_stripe.requests_to("/v1/refunds", "POST")


# --- Deposits -----------------------------------------------------------------------------


def test_a_short_loan_holds_its_deposit_by_card_with_manual_capture(alice, bob, drill, fake_stripe):
    account = connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    assert loan.pay_in_person  # the daily fee is paid in person
    html = client_for(bob).get(f"/exchanges/{loan.pk}/").content.decode()
    assert "Authorise the deposit" in html
    payment = authorise_deposit(loan, bob, fake_stripe)
    [sent] = fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    intent = sent.params["payment_intent_data"]
    assert intent["capture_method"] == "manual" and "application_fee_amount" not in intent
    assert intent["transfer_data"]["destination"] == account.stripe_account_id
    assert payment.state == "authorised" and payment.amount_cents == 5000
    assert payment.capture_deadline - payment.authorised_at == timedelta(days=7)
    assert fake_stripe.get(payment.payment_intent_id)["status"] == "requires_capture"
    loan.refresh_from_db()
    assert loan.state == State.ACCEPTED  # a deposit is not the `pay` transition


def _returned(loan, alice) -> Exchange:
    services.exchange_start(exchange=loan, by=alice)
    return services.exchange_complete(exchange=loan, by=alice)


def test_the_owner_releases_the_deposit_on_return(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    payment = authorise_deposit(loan, bob, fake_stripe)
    _returned(loan, alice)
    html = client_for(alice).get(f"/exchanges/{loan.pk}/").content.decode()
    assert "Release the deposit" in html and "Claim from the deposit" in html
    response = client_for(alice).post(f"/exchanges/payments/{loan.pk}/deposit/release/", follow=True)
    assert "released" in response.content.decode()
    payment.refresh_from_db()
    assert payment.state == "released"
    assert fake_stripe.get(payment.payment_intent_id)["status"] == "canceled"
    deliver(fake_stripe)
    payment.refresh_from_db()
    assert payment.state == "released"


def test_the_owner_claims_part_of_the_deposit_with_a_reason(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    payment = authorise_deposit(loan, bob, fake_stripe)
    _returned(loan, alice)
    response = client_for(alice).post(
        f"/exchanges/payments/{loan.pk}/deposit/claim/",
        {"amount": "12.50", "reason": "The chuck is broken"}, follow=True,
    )
    assert "claimed" in response.content.decode()
    payment.refresh_from_db()
    assert (payment.state, payment.captured_cents, payment.claim_reason) == (
        "captured", 1250, "The chuck is broken")
    [capture] = fake_stripe.requests_to(f"/v1/payment_intents/{payment.payment_intent_id}/capture")
    assert capture.params["amount_to_capture"] == "1250"
    assert fake_stripe.get(payment.payment_intent_id)["amount_received"] == 1250
    deliver(fake_stripe)
    payment.refresh_from_db()
    assert payment.captured_cents == 1250


@pytest.mark.parametrize(("amount", "reason", "message"), [
    ("60.00", "Broken", "Claim between"),
    ("10.00", "", "This field is required"),
])
def test_a_claim_above_the_hold_or_without_reason_is_refused(alice, bob, drill, fake_stripe, amount, reason, message):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    payment = authorise_deposit(loan, bob, fake_stripe)
    _returned(loan, alice)
    response = client_for(alice).post(
        f"/exchanges/payments/{loan.pk}/deposit/claim/", {"amount": amount, "reason": reason}, follow=True,
    )
    assert message in response.content.decode()
    payment.refresh_from_db()
    assert payment.state == "authorised" and payment.captured_cents == 0
    assert not fake_stripe.requests_to(f"/v1/payment_intents/{payment.payment_intent_id}/capture")


def test_a_claim_after_48_hours_is_refused(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    payment = authorise_deposit(loan, bob, fake_stripe)
    _returned(loan, alice)
    ExchangeEvent.objects.filter(exchange=loan, action="complete").update(
        at=timezone.now() - timedelta(hours=49)
    )
    with pytest.raises(ExchangeError, match="48 hours"):
        services_claim(loan, alice, 1000)
    payment.refresh_from_db()
    assert payment.state == "authorised"
    assert not fake_stripe.requests_to(f"/v1/payment_intents/{payment.payment_intent_id}/capture")


def services_claim(loan, by, amount):
    from exchanges import payments

    return payments.deposit_claim(exchange=loan, by=by, amount_cents=amount, reason="Scratched")


def test_the_borrower_cannot_claim_nor_release_the_deposit(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    authorise_deposit(loan, bob, fake_stripe)
    _returned(loan, alice)
    with pytest.raises(ExchangeError, match="Only the owner"):
        services_claim(loan, bob, 1000)
    response = client_for(bob).post(f"/exchanges/payments/{loan.pk}/deposit/release/", follow=True)
    assert "Only the owner" in response.content.decode()


def test_a_claim_before_the_return_is_refused(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    authorise_deposit(loan, bob, fake_stripe)
    with pytest.raises(ExchangeError, match="once the return"):
        services_claim(loan, alice, 1000)


def test_a_loan_longer_than_a_card_hold_falls_back_to_a_deposit_paid_in_person(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob, days=10)
    assert not Payment.objects.filter(exchange=loan).exists()
    html = client_for(bob).get(f"/exchanges/{loan.pk}/").content.decode()
    assert "too long for a card hold" in html and "paid in person" in html
    assert "Authorise the deposit" not in html
    response = client_for(bob).post(f"/exchanges/payments/{loan.pk}/deposit/", follow=True)
    assert "paid in person" in response.content.decode()
    assert not fake_stripe.requests_to("/v1/checkout/sessions", "POST")


def test_a_deposit_far_ahead_can_be_authorised_only_when_the_hold_will_last(alice, bob, drill, fake_stripe):
    connect(alice, fake_stripe)
    today = timezone.localdate()
    loan = services.exchange_request(listing=drill, asker=bob, start_date=today + timedelta(days=20),
                                     end_date=today + timedelta(days=22))
    services.exchange_accept(exchange=loan, by=alice)
    html = client_for(bob).get(f"/exchanges/{loan.pk}/").content.decode()
    assert "You can authorise the deposit from" in html
    response = client_for(bob).post(f"/exchanges/payments/{loan.pk}/deposit/", follow=True)
    assert "You can authorise the deposit from" in response.content.decode()
    assert not fake_stripe.requests_to("/v1/checkout/sessions", "POST")


def test_calling_off_a_loan_releases_its_held_deposit(alice, bob, drill, fake_stripe, django_capture_on_commit_callbacks):
    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    payment = authorise_deposit(loan, bob, fake_stripe)
    with django_capture_on_commit_callbacks(execute=True):
        services.exchange_call_off(exchange=loan, by=bob)
    payment.refresh_from_db()
    assert payment.state == "released"
    assert fake_stripe.get(payment.payment_intent_id)["status"] == "canceled"


# --- Access ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("post", "pay/"), ("post", "deposit/"), ("get", "done/?result=ok"),
    ("post", "deposit/release/"), ("post", "deposit/claim/"),
])
def test_a_non_party_gets_404_on_every_payment_url(alice, bob, dave, bike, fake_stripe, method, path):
    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    response = getattr(client_for(dave), method)(f"/exchanges/payments/{exchange.pk}/{path}")
    assert response.status_code == 404
    assert not fake_stripe.requests_to("/v1/checkout/sessions", "POST")


def test_anonymous_visitors_are_sent_to_log_in(bike, bob, alice, client):
    exchange = accepted_sale(bike, bob)
    response = client.post(f"/exchanges/payments/{exchange.pk}/pay/")
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_listing_page_says_how_a_sale_will_be_paid(alice, bob, bike, fake_stripe, settings):
    page = bike.get_absolute_url()
    assert "Pay in person" in client_for(bob).get(page).content.decode()

    connect(alice, fake_stripe)
    html = client_for(bob).get(page).content.decode()
    assert "Pay online" in html and "Pay in person" not in html

    settings.STRIPE_SECRET_KEY = ""
    assert "Pay in person" in client_for(bob).get(page).content.decode()
