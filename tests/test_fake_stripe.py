"""The fake Stripe, driven through the real ``stripe`` SDK exactly as the app drives it."""

import json
import time

import pytest
import requests
import stripe
from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from tests.fake_stripe import WEBHOOK_SECRET, StripeError, parse_form, post_event, sign_payload

# Registered here too so this file runs on its own; registering twice is harmless.

SELLER_CAPABILITIES = {"card_payments": {"requested": True}, "transfers": {"requested": True}}


def _seller(fake_stripe, *, onboarded=True):
    account = stripe.Account.create(
        type="express", country="FR", email="seller@example.org", capabilities=SELLER_CAPABILITIES
    )
    if onboarded:
        fake_stripe.onboard_account(account.id)
    return account


def _checkout(destination, *, capture_method="automatic", unit_amount=1500, quantity=2):
    return stripe.checkout.Session.create(
        mode="payment",
        line_items=[
            {
                "price_data": {
                    "currency": "eur",
                    "unit_amount": unit_amount,
                    "product_data": {"name": "Cordless drill, 3 days"},
                },
                "quantity": quantity,
            }
        ],
        payment_intent_data={
            "application_fee_amount": 300,
            "transfer_data": {"destination": destination},
            "capture_method": capture_method,
            "metadata": {"exchange": "42"},
        },
        metadata={"exchange": "42"},
        success_url="https://partage.test/paid?session={CHECKOUT_SESSION_ID}",
        cancel_url="https://partage.test/cancelled",
        client_reference_id="42",
        customer_email="buyer@example.org",
    )


def _authorised(amount=1000):
    return stripe.PaymentIntent.create(
        amount=amount,
        currency="eur",
        capture_method="manual",
        payment_method="pm_card_visa",
        payment_method_types=["card"],
        confirm=True,
        metadata={"exchange": "7"},
    )


def _paid(amount=1000):
    return stripe.PaymentIntent.create(
        amount=amount, currency="eur", payment_method="pm_card_visa", confirm=True
    )


# --------------------------------------------------------------------- Connect accounts


def test_an_express_account_starts_restricted_until_onboarded(fake_stripe):
    account = _seller(fake_stripe, onboarded=False)

    assert account.id.startswith("acct_")
    assert account.object == "account"
    assert account.type == "express"
    assert account.livemode is False
    assert account.charges_enabled is False
    assert account.capabilities.transfers == "inactive"

    fake_stripe.onboard_account(account.id)

    fetched = stripe.Account.retrieve(account.id)
    assert fetched.charges_enabled and fetched.payouts_enabled and fetched.details_submitted
    assert fetched.capabilities.transfers == "active"
    [event] = fake_stripe.events("account.updated")
    assert event["account"] == account.id
    assert event["data"]["object"]["charges_enabled"] is True


def test_an_account_link_points_at_the_fake_onboarding_page(fake_stripe):
    account = _seller(fake_stripe, onboarded=False)

    link = stripe.AccountLink.create(
        account=account.id,
        refresh_url="https://partage.test/stripe/refresh",
        return_url="https://partage.test/stripe/return",
        type="account_onboarding",
    )

    assert link.object == "account_link"
    assert link.url.startswith(f"{fake_stripe.url}/connect/onboard/{account.id}?")
    assert link.expires_at > time.time()
    visit = requests.get(link.url, allow_redirects=False, timeout=5)
    assert visit.status_code == 302
    assert visit.headers["Location"] == "https://partage.test/stripe/return"
    assert stripe.Account.retrieve(account.id).charges_enabled is True


def test_an_account_link_for_an_unknown_account_is_refused(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.AccountLink.create(
            account="acct_nope",
            refresh_url="https://partage.test/r",
            return_url="https://partage.test/r",
            type="account_onboarding",
        )

    assert error.value.http_status == 404
    assert error.value.code == "resource_missing"


# --------------------------------------------------------------------- Checkout


def test_a_checkout_session_opens_unpaid_with_a_hosted_url(fake_stripe):
    seller = _seller(fake_stripe)

    session = _checkout(seller.id)

    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.url == f"{fake_stripe.url}/checkout/{session.id}"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (3000, "eur")
    assert session.payment_intent is None
    assert session.metadata.to_dict() == {"exchange": "42"}
    assert session.client_reference_id == "42"
    sent = fake_stripe.requests_to("/v1/checkout/sessions", "POST")[0].params
    assert sent["payment_intent_data"]["transfer_data"]["destination"] == seller.id
    assert sent["line_items"][0]["price_data"]["product_data"]["name"] == "Cordless drill, 3 days"


def test_completing_a_checkout_makes_a_destination_charge_with_the_fee(fake_stripe):
    seller = _seller(fake_stripe)
    session = _checkout(seller.id)

    fake_stripe.complete_checkout(session.id)

    paid = stripe.checkout.Session.retrieve(session.id, expand=["payment_intent"])
    assert (paid.status, paid.payment_status) == ("complete", "paid")
    intent = paid.payment_intent
    assert intent.id.startswith("pi_")
    assert intent.status == "succeeded"
    assert (intent.amount, intent.amount_received, intent.currency) == (3000, 3000, "eur")
    assert intent.application_fee_amount == 300
    assert intent.transfer_data.destination == seller.id
    assert intent.metadata.to_dict() == {"exchange": "42"}
    assert intent.latest_charge.startswith("ch_")
    types = fake_stripe.event_types()
    assert "payment_intent.succeeded" in types
    assert types[-1] == "checkout.session.completed"
    completed = fake_stripe.events("checkout.session.completed")[0]["data"]["object"]
    assert completed["payment_intent"] == intent.id
    assert completed["metadata"] == {"exchange": "42"}


def test_a_manual_capture_checkout_leaves_the_payment_authorised(fake_stripe):
    session = _checkout(_seller(fake_stripe).id, capture_method="manual")

    fake_stripe.complete_checkout(session.id)

    paid = stripe.checkout.Session.retrieve(session.id)
    intent = stripe.PaymentIntent.retrieve(paid.payment_intent)
    assert paid.status == "complete"
    assert (intent.status, intent.amount_capturable, intent.amount_received) == (
        "requires_capture",
        3000,
        0,
    )
    assert "payment_intent.amount_capturable_updated" in fake_stripe.event_types()
    assert "payment_intent.succeeded" not in fake_stripe.event_types()


def test_checkout_refuses_a_seller_who_has_not_finished_onboarding(fake_stripe):
    seller = _seller(fake_stripe, onboarded=False)

    with pytest.raises(stripe.InvalidRequestError) as error:
        _checkout(seller.id)

    assert error.value.code == "insufficient_capabilities_for_transfer"
    assert fake_stripe.objects("cs_") == {}


def test_checkout_refuses_an_amount_below_stripes_minimum(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as error:
        _checkout(_seller(fake_stripe).id, unit_amount=20, quantity=1)

    assert error.value.code == "amount_too_small"


def test_a_completed_checkout_cannot_be_paid_twice(fake_stripe):
    session = _checkout(_seller(fake_stripe).id)
    fake_stripe.complete_checkout(session.id)

    with pytest.raises(StripeError):
        fake_stripe.complete_checkout(session.id)

    assert len(fake_stripe.objects("pi_")) == 1


def test_the_hosted_checkout_page_pays_and_returns_to_the_success_url(fake_stripe):
    session = _checkout(_seller(fake_stripe).id)

    page = requests.get(session.url, timeout=5)
    paid = requests.post(f"{session.url}/pay", allow_redirects=False, timeout=5)

    assert page.status_code == 200 and "Pay 30.00 EUR" in page.text
    assert paid.status_code == 303
    assert paid.headers["Location"] == f"https://partage.test/paid?session={session.id}"
    assert stripe.checkout.Session.retrieve(session.id).payment_status == "paid"


def test_an_expired_checkout_cannot_be_paid(fake_stripe):
    session = _checkout(_seller(fake_stripe).id)

    expired = stripe.checkout.Session.expire(session.id)

    assert expired.status == "expired"
    assert fake_stripe.event_types()[-1] == "checkout.session.expired"
    with pytest.raises(StripeError):
        fake_stripe.complete_checkout(session.id)


# --------------------------------------------------------------------- PaymentIntents


def test_a_manual_capture_can_be_partially_captured(fake_stripe):
    intent = _authorised(1000)
    assert (intent.status, intent.amount_capturable) == ("requires_capture", 1000)

    captured = stripe.PaymentIntent.capture(intent.id, amount_to_capture=600)

    assert captured.status == "succeeded"
    assert (captured.amount_received, captured.amount_capturable) == (600, 0)
    charge = fake_stripe.get(captured.latest_charge)
    assert (charge["captured"], charge["amount_captured"]) == (True, 600)
    assert fake_stripe.event_types()[-2:] == ["charge.captured", "payment_intent.succeeded"]


def test_capturing_more_than_was_authorised_is_refused(fake_stripe):
    intent = _authorised(1000)

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.PaymentIntent.capture(intent.id, amount_to_capture=1001)

    assert error.value.param == "amount_to_capture"
    assert stripe.PaymentIntent.retrieve(intent.id).status == "requires_capture"


def test_capturing_a_payment_that_is_not_authorised_is_refused(fake_stripe):
    intent = _paid()

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.PaymentIntent.capture(intent.id)

    assert error.value.http_status == 400
    assert error.value.code == "payment_intent_unexpected_state"
    assert error.value.json_body["error"]["type"] == "invalid_request_error"


def test_a_captured_payment_cannot_be_canceled(fake_stripe):
    intent = _authorised()
    stripe.PaymentIntent.capture(intent.id)

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.PaymentIntent.cancel(intent.id)

    assert error.value.code == "payment_intent_unexpected_state"
    assert stripe.PaymentIntent.retrieve(intent.id).status == "succeeded"


def test_an_authorised_payment_can_be_canceled(fake_stripe):
    intent = _authorised()

    canceled = stripe.PaymentIntent.cancel(intent.id, cancellation_reason="requested_by_customer")

    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"
    assert canceled.amount_capturable == 0
    assert fake_stripe.event_types()[-1] == "payment_intent.canceled"


def test_a_payment_without_a_payment_method_waits_for_one(fake_stripe):
    intent = stripe.PaymentIntent.create(amount=1000, currency="eur", metadata={"a": "b"})
    assert intent.status == "requires_payment_method"
    assert intent.client_secret.startswith(f"{intent.id}_secret_")

    confirmed = stripe.PaymentIntent.confirm(intent.id, payment_method="pm_card_visa")

    assert confirmed.status == "succeeded"
    assert confirmed.amount_received == 1000


def test_a_declined_card_raises_a_card_error_and_keeps_the_intent(fake_stripe):
    with pytest.raises(stripe.CardError) as error:
        stripe.PaymentIntent.create(
            amount=1000,
            currency="eur",
            payment_method="pm_card_visa_chargeDeclinedInsufficientFunds",
            confirm=True,
        )

    assert error.value.http_status == 402
    assert error.value.code == "card_declined"
    assert error.value.json_body["error"]["decline_code"] == "insufficient_funds"
    [intent] = fake_stripe.objects("pi_").values()
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["code"] == "card_declined"


def test_decline_next_card_declines_one_confirmation_only(fake_stripe):
    fake_stripe.decline_next_card()

    with pytest.raises(stripe.CardError):
        _authorised()
    assert _authorised().status == "requires_capture"


# --------------------------------------------------------------------- Refunds


def test_a_refund_without_amount_refunds_everything(fake_stripe):
    intent = _paid(1000)

    refund = stripe.Refund.create(payment_intent=intent.id, reason="requested_by_customer")

    assert refund.id.startswith("re_")
    assert (refund.amount, refund.status, refund.payment_intent) == (1000, "succeeded", intent.id)
    assert stripe.Refund.retrieve(refund.id).amount == 1000
    assert fake_stripe.get(intent.latest_charge)["refunded"] is True
    assert fake_stripe.event_types()[-2:] == ["refund.created", "charge.refunded"]


def test_partial_refunds_add_up_and_an_over_refund_is_refused(fake_stripe):
    intent = _paid(1000)
    stripe.Refund.create(payment_intent=intent.id, amount=300, metadata={"why": "late"})
    stripe.Refund.create(payment_intent=intent.id, amount=500)

    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.Refund.create(payment_intent=intent.id, amount=201)

    assert error.value.code == "amount_too_large"
    assert stripe.Refund.create(payment_intent=intent.id).amount == 200
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.Refund.create(payment_intent=intent.id)
    assert error.value.code == "charge_already_refunded"


def test_a_partial_capture_can_only_be_refunded_up_to_what_was_captured(fake_stripe):
    intent = _authorised(1000)
    stripe.PaymentIntent.capture(intent.id, amount_to_capture=600)

    assert stripe.Refund.create(payment_intent=intent.id).amount == 600


def test_an_uncaptured_payment_cannot_be_refunded(fake_stripe):
    intent = _authorised()

    with pytest.raises(stripe.InvalidRequestError):
        stripe.Refund.create(payment_intent=intent.id)

    assert fake_stripe.objects("re_") == {}


# --------------------------------------------------------------------- Events


def test_events_are_listed_newest_first_and_paginate(fake_stripe):
    for _ in range(3):
        _paid()  # payment_intent.created, charge.succeeded, payment_intent.succeeded
    recorded = [e["id"] for e in fake_stripe.events()]

    first = stripe.Event.list(limit=4)
    second = stripe.Event.list(limit=4, starting_after=first.data[-1].id)
    third = stripe.Event.list(limit=4, starting_after=second.data[-1].id)

    assert [e.id for e in first.data + second.data + third.data] == recorded[::-1]
    assert (first.has_more, second.has_more, third.has_more) == (True, True, False)
    assert [e.id for e in stripe.Event.list(limit=2).auto_paging_iter()] == recorded[::-1]
    assert first.data[0].object == "event" and first.data[0].livemode is False


def test_events_can_be_filtered_by_type_and_creation_time(fake_stripe):
    intent = _paid()
    _authorised()

    succeeded = stripe.Event.list(types=["payment_intent.succeeded"])
    future = stripe.Event.list(created={"gte": int(time.time()) + 60})

    assert [e.data.object.id for e in succeeded.data] == [intent.id]
    assert future.data == []
    assert stripe.Event.retrieve(succeeded.data[0].id).type == "payment_intent.succeeded"


def test_an_event_snapshot_does_not_change_with_the_object(fake_stripe):
    intent = _authorised()
    stripe.PaymentIntent.capture(intent.id)

    [authorised] = fake_stripe.events("payment_intent.amount_capturable_updated")

    assert authorised["data"]["object"]["status"] == "requires_capture"
    assert authorised["api_version"] == stripe.api_version


# --------------------------------------------------------------------- Protocol


def test_a_repeated_post_with_the_same_idempotency_key_replays_the_first_response(fake_stripe):
    first = stripe.PaymentIntent.create(amount=1000, currency="eur", idempotency_key="pay-42")
    again = stripe.PaymentIntent.create(amount=1000, currency="eur", idempotency_key="pay-42")

    assert again.id == first.id
    assert len(fake_stripe.objects("pi_")) == 1
    assert again.last_response.headers["Idempotent-Replayed"] == "true"


def test_reusing_an_idempotency_key_with_other_parameters_is_refused(fake_stripe):
    stripe.PaymentIntent.create(amount=1000, currency="eur", idempotency_key="pay-42")

    with pytest.raises(stripe.IdempotencyError):
        stripe.PaymentIntent.create(amount=2000, currency="eur", idempotency_key="pay-42")


def test_a_bad_api_key_is_refused_with_401(fake_stripe):
    with pytest.raises(stripe.AuthenticationError) as error:
        stripe.PaymentIntent.create(amount=1000, currency="eur", api_key="sk_live_oops")

    assert error.value.http_status == 401
    missing = requests.get(f"{fake_stripe.url}/v1/events", timeout=5)
    assert missing.status_code == 401
    assert missing.json()["error"]["type"] == "invalid_request_error"
    assert fake_stripe.objects("pi_") == {}


def test_an_unknown_route_answers_a_stripe_shaped_404(fake_stripe):
    with pytest.raises(stripe.InvalidRequestError) as error:
        stripe.Customer.retrieve("cus_123")

    assert error.value.http_status == 404
    assert "Unrecognized request URL" in error.value.json_body["error"]["message"]


def test_fail_next_fails_one_matching_request_and_changes_nothing(fake_stripe):
    fake_stripe.fail_next(500, path="/v1/payment_intents")

    with pytest.raises(stripe.APIError) as error:
        stripe.PaymentIntent.create(amount=1000, currency="eur", idempotency_key="retry-me")

    assert error.value.http_status == 500
    assert fake_stripe.objects("pi_") == {}
    retried = stripe.PaymentIntent.create(amount=1000, currency="eur", idempotency_key="retry-me")
    assert retried.status == "requires_payment_method"


def test_fail_next_can_decline_with_a_402(fake_stripe):
    intent = _authorised()
    fake_stripe.fail_next(402, path=f"/v1/payment_intents/{intent.id}/capture")

    with pytest.raises(stripe.CardError) as error:
        stripe.PaymentIntent.capture(intent.id)

    assert error.value.code == "card_declined"
    assert stripe.PaymentIntent.retrieve(intent.id).status == "requires_capture"


def test_the_stripe_client_api_talks_to_the_fake_too(fake_stripe, stripe_client):
    intent = stripe_client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "eur", "capture_method": "manual"}
    )

    assert stripe_client.v1.payment_intents.retrieve(intent.id).capture_method == "manual"


def test_the_fixture_points_the_sdk_and_settings_at_the_fake(fake_stripe, settings):
    assert stripe.api_base == settings.STRIPE_API_BASE == fake_stripe.url
    assert stripe.api_key == settings.STRIPE_SECRET_KEY == "sk_test_fake"
    assert settings.STRIPE_WEBHOOK_SECRET == WEBHOOK_SECRET
    assert fake_stripe.url.startswith("http://127.0.0.1:")


def test_form_parsing_understands_stripes_nested_keys():
    parsed = parse_form(
        [
            ("line_items[0][price_data][unit_amount]", "1500"),
            ("line_items[1][quantity]", "2"),
            ("expand[]", "payment_intent"),
            ("expand[]", "line_items"),
            ("metadata[0]", "zero"),
        ]
    )

    assert parsed["line_items"] == [{"price_data": {"unit_amount": "1500"}}, {"quantity": "2"}]
    assert parsed["expand"] == ["payment_intent", "line_items"]
    assert parsed["metadata"] == {"0": "zero"}


# --------------------------------------------------------------------- Webhooks

_received: list[str] = []


@csrf_exempt
def _webhook(request):
    """A webhook endpoint as the app will write it, to check the helpers end to end."""
    try:
        event = stripe.Webhook.construct_event(
            request.body, request.headers.get("Stripe-Signature"), WEBHOOK_SECRET
        )
    except (ValueError, stripe.SignatureVerificationError):
        return HttpResponse(status=400)
    _received.append(event.type)
    return HttpResponse()


urlpatterns = [path("stripe/webhook/", _webhook)]


@pytest.fixture
def webhook_url(settings):
    settings.ROOT_URLCONF = __name__
    _received.clear()
    return "/stripe/webhook/"


def test_sign_payload_matches_the_sdks_own_signature():
    payload = json.dumps({"id": "evt_1", "object": "event"})

    header = sign_payload(payload.encode(), "whsec_abc", timestamp=1_700_000_000)

    expected = stripe.WebhookSignature.generate_signature_header(
        payload, "whsec_abc", timestamp=1_700_000_000
    )
    assert header == expected
    assert header.startswith("t=1700000000,v1=")


def test_the_sdk_accepts_a_signed_event_and_refuses_tampering_and_stale_ones():
    payload = json.dumps({"id": "evt_1", "object": "event", "type": "charge.refunded"})
    header = sign_payload(payload, WEBHOOK_SECRET)

    event = stripe.Webhook.construct_event(payload, header, WEBHOOK_SECRET)

    assert event.type == "charge.refunded"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            payload.replace("refunded", "captured"), header, WEBHOOK_SECRET
        )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, header, "whsec_other")
    stale = sign_payload(payload, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(payload, stale, WEBHOOK_SECRET)


def test_post_event_delivers_a_signed_event_to_a_django_view(client, webhook_url):
    event = {"id": "evt_1", "object": "event", "type": "payment_intent.succeeded", "data": {}}

    accepted = post_event(client, webhook_url, event, WEBHOOK_SECRET)
    stale = post_event(client, webhook_url, event, WEBHOOK_SECRET, timestamp=int(time.time()) - 301)
    forged = post_event(client, webhook_url, event, WEBHOOK_SECRET, signature="t=1,v1=deadbeef")
    unsigned = post_event(client, webhook_url, event, WEBHOOK_SECRET, signature="")

    assert accepted.status_code == 200
    assert (stale.status_code, forged.status_code, unsigned.status_code) == (400, 400, 400)
    assert _received == ["payment_intent.succeeded"]


def test_deliver_sends_each_recorded_event_once(fake_stripe, client, webhook_url):
    session = _checkout(_seller(fake_stripe).id)
    fake_stripe.complete_checkout(session.id)

    responses = fake_stripe.deliver(client, webhook_url)
    again = fake_stripe.deliver(client, webhook_url)

    assert {r.status_code for r in responses} == {200}
    assert _received == fake_stripe.event_types()
    assert again == []
