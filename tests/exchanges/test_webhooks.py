"""The Stripe webhook: signature checked, each event stored and applied once, events in
any order leave the right state."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from exchanges import payments
from exchanges.models import ConnectedAccount, ExchangeEvent, Payment, State, StripeEvent
from tests.exchanges.stripe_helpers import WEBHOOK_URL, accepted_sale, connect, deliver, pay
from tests.fake_stripe import WEBHOOK_SECRET, post_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_on_stripe(alice, bob, bike, fake_stripe):
    """Bob paid on Checkout; no event delivered yet."""
    connect(alice, fake_stripe)
    fake_stripe.deliver(Client(), WEBHOOK_URL)  # account events out of the way
    exchange = accepted_sale(bike, bob)
    pay(exchange, bob, fake_stripe)
    return exchange


def _completed(fake_stripe):
    [event] = fake_stripe.events("checkout.session.completed")
    return event


def _stored(fake_stripe) -> bool:
    return StripeEvent.objects.filter(event_id=_completed(fake_stripe)["id"]).exists()


def _pays(exchange) -> int:
    return ExchangeEvent.objects.filter(exchange=exchange, action="pay").count()


def test_a_signed_event_is_stored_and_applied(paid_on_stripe, fake_stripe):
    response = post_event(Client(), WEBHOOK_URL, _completed(fake_stripe), WEBHOOK_SECRET)
    assert response.status_code == 200
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.PAID
    stored = StripeEvent.objects.get(event_id=_completed(fake_stripe)["id"])
    assert stored.processed_at is not None and stored.type == "checkout.session.completed"


def test_a_replayed_event_answers_200_and_does_nothing_more(paid_on_stripe, fake_stripe):
    event = _completed(fake_stripe)
    client = Client()
    assert post_event(client, WEBHOOK_URL, event, WEBHOOK_SECRET).status_code == 200
    assert post_event(client, WEBHOOK_URL, event, WEBHOOK_SECRET).status_code == 200
    assert _pays(paid_on_stripe) == 1
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1


@pytest.mark.parametrize("signature", ["", "t=1,v1=deadbeef", "garbage"])
def test_a_bad_or_missing_signature_is_refused_and_changes_nothing(paid_on_stripe, fake_stripe, signature):
    response = post_event(Client(), WEBHOOK_URL, _completed(fake_stripe), WEBHOOK_SECRET,
                          signature=signature)
    assert response.status_code == 400
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.ACCEPTED and not _stored(fake_stripe)


def test_an_event_signed_with_another_secret_is_refused(paid_on_stripe, fake_stripe):
    response = post_event(Client(), WEBHOOK_URL, _completed(fake_stripe), "whsec_other")
    assert response.status_code == 400 and not _stored(fake_stripe)


def test_a_stale_timestamp_is_refused(paid_on_stripe, fake_stripe):
    response = post_event(Client(), WEBHOOK_URL, _completed(fake_stripe), WEBHOOK_SECRET,
                          timestamp=int(time.time()) - 600)
    assert response.status_code == 400
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.ACCEPTED and not _stored(fake_stripe)


def test_the_webhook_takes_only_post(fake_stripe):
    assert Client().get(WEBHOOK_URL).status_code == 405


def test_events_in_reverse_order_leave_the_deal_paid_once(paid_on_stripe, fake_stripe):
    client = Client()
    for event in reversed(fake_stripe.events()):
        assert post_event(client, WEBHOOK_URL, event, WEBHOOK_SECRET).status_code == 200
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.PAID and _pays(paid_on_stripe) == 1
    payment = Payment.objects.get(exchange=paid_on_stripe)
    assert payment.state == "paid" and payment.checkout_session_id and payment.payment_intent_id


def test_an_intent_succeeded_after_the_session_completed_is_a_no_op(paid_on_stripe, fake_stripe):
    deliver(fake_stripe)
    [succeeded] = fake_stripe.events("payment_intent.succeeded")
    StripeEvent.objects.filter(event_id=succeeded["id"]).delete()  # as if never seen
    assert post_event(Client(), WEBHOOK_URL, succeeded, WEBHOOK_SECRET).status_code == 200
    assert _pays(paid_on_stripe) == 1


def test_unknown_event_types_are_answered_200_and_ignored(fake_stripe):
    event = {"id": "evt_unknown", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    assert post_event(Client(), WEBHOOK_URL, event, WEBHOOK_SECRET).status_code == 200
    assert StripeEvent.objects.get(event_id="evt_unknown").processed_at is not None


def test_a_body_that_is_not_an_event_is_refused(fake_stripe):
    assert post_event(Client(), WEBHOOK_URL, '"hello"', WEBHOOK_SECRET).status_code == 400
    assert post_event(Client(), WEBHOOK_URL, "{not json", WEBHOOK_SECRET).status_code == 400


def test_account_updated_refreshes_the_connected_account(alice, fake_stripe):
    payments.connect_onboarding_url(member=alice, return_url="http://t/r", refresh_url="http://t/f")
    account = ConnectedAccount.objects.get(member=alice)
    fake_stripe.onboard_account(account.stripe_account_id)
    deliver(fake_stripe)
    account.refresh_from_db()
    assert account.is_ready


def test_a_failing_handler_keeps_the_event_for_a_retry(paid_on_stripe, fake_stripe, monkeypatch):
    event = _completed(fake_stripe)

    def broken(obj, evt):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(payments.HANDLERS, "checkout.session.completed", broken)
    with pytest.raises(RuntimeError):
        payments.stripe_event_process(event)
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.processed_at is None and "hiccup" in stored.error
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.ACCEPTED
    monkeypatch.undo()
    assert payments.stripe_event_process(event) is True
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.PAID


def test_a_payment_arriving_after_the_deal_was_called_off_is_refunded(
        alice, bob, bike, fake_stripe, django_capture_on_commit_callbacks):
    from exchanges import services
    from tests.exchanges.stripe_helpers import client_for, session_of

    connect(alice, fake_stripe)
    exchange = accepted_sale(bike, bob)
    session_id = session_of(client_for(bob).post(f"/exchanges/payments/{exchange.pk}/pay/"))
    fake_stripe.complete_checkout(session_id)  # paid while the seller calls off
    with django_capture_on_commit_callbacks(execute=True):
        services.exchange_call_off(exchange=exchange, by=alice)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(fake_stripe)
    exchange.refresh_from_db()
    payment = Payment.objects.get(exchange=exchange)
    assert exchange.state == State.CANCELLED
    assert payment.state == "refunded" and payment.refunded_cents == 4500


@pytest.mark.parametrize("event_type, field", [
    ("checkout.session.completed", "amount_total"),
    ("payment_intent.succeeded", "amount"),
])
def test_a_payment_for_another_amount_does_not_mark_the_deal_paid(
    paid_on_stripe, fake_stripe, event_type, field
):
    import copy

    [event] = fake_stripe.events(event_type)
    forged = copy.deepcopy(event)
    forged["id"] = event["id"] + "_other_amount"
    forged["data"]["object"][field] = 1  # one cent instead of the price
    assert post_event(Client(), WEBHOOK_URL, forged, WEBHOOK_SECRET).status_code == 200
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.ACCEPTED
    assert _pays(paid_on_stripe) == 0
    assert Payment.objects.get(exchange=paid_on_stripe).state == "pending"


# --- Signed but malformed: 400, logged, nothing changed --------------------------------

MALFORMED = [
    {"id": "evt_bad_1", "type": "checkout.session.completed", "data": "not an object"},
    {"id": "evt_bad_2", "type": "checkout.session.completed", "data": {}},
    {"id": "evt_bad_3", "type": "checkout.session.completed", "data": {"object": ["x"]}},
    {"id": "evt_bad_4", "type": "checkout.session.completed", "data": {"object": None}},
    {"id": ["evt_bad_5"], "type": "checkout.session.completed", "data": {"object": {}}},
    {"id": 12345, "type": "payment_intent.succeeded", "data": {"object": {}}},
    {"id": "", "type": "payment_intent.succeeded", "data": {"object": {}}},
    {"id": "evt_" + "x" * 300, "type": "payment_intent.succeeded", "data": {"object": {}}},
    {"id": "evt_bad_9", "type": {"nested": True}, "data": {"object": {}}},
    {"type": "payment_intent.succeeded", "data": {"object": {}}},
    [{"id": "evt_in_a_list"}],
    '"just a string"',
    "{not json",
]


@pytest.mark.parametrize("event", MALFORMED)
def test_a_signed_event_of_the_wrong_shape_is_refused_with_400_and_logged(fake_stripe, event, caplog):
    with caplog.at_level("ERROR", logger="exchanges.payment_views"):
        response = post_event(Client(), WEBHOOK_URL, event, WEBHOOK_SECRET)
    assert response.status_code == 400
    assert "malformed" in caplog.text
    assert not StripeEvent.objects.exists()


def test_a_signed_event_whose_object_has_a_field_of_the_wrong_type_is_refused(
        paid_on_stripe, fake_stripe, caplog):
    event = _completed(fake_stripe)
    # metadata is an object at Stripe; the handler reads payment_id from it.
    event = {**event, "id": "evt_wrong_fields",
             "data": {"object": {**event["data"]["object"], "metadata": "payment 1"}}}
    with caplog.at_level("ERROR", logger="exchanges.payment_views"):
        response = post_event(Client(), WEBHOOK_URL, event, WEBHOOK_SECRET)
    assert response.status_code == 400
    assert "evt_wrong_fields" in caplog.text and "malformed" in caplog.text
    stored = StripeEvent.objects.get(event_id="evt_wrong_fields")
    assert stored.processed_at is None and stored.error
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.ACCEPTED
    # The real event, delivered afterwards, still pays the deal.
    assert post_event(Client(), WEBHOOK_URL, _completed(fake_stripe), WEBHOOK_SECRET).status_code == 200
    paid_on_stripe.refresh_from_db()
    assert paid_on_stripe.state == State.PAID


def test_a_failure_that_is_not_the_payload_still_answers_500_for_a_retry(
        paid_on_stripe, fake_stripe, monkeypatch):
    def broken(obj, evt):
        raise RuntimeError("database hiccup")

    monkeypatch.setitem(payments.HANDLERS, "checkout.session.completed", broken)
    client = Client(raise_request_exception=False)
    response = post_event(client, WEBHOOK_URL, _completed(fake_stripe), WEBHOOK_SECRET)
    assert response.status_code == 500


def test_a_body_that_is_not_utf8_is_refused_as_unsigned(fake_stripe, caplog):
    with caplog.at_level("ERROR", logger="exchanges.payment_views"):
        response = post_event(Client(), WEBHOOK_URL, b"\xff\xfe{}", WEBHOOK_SECRET,
                              signature="t=1,v1=00")
    assert response.status_code == 400 and "malformed" not in caplog.text
