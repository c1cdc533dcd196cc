"""Online payments with Stripe: every Stripe call and every payment rule.

- Sellers and drivers connect a Stripe Connect Express account from their profile.
- Sales and rides whose owner is connected are paid with Stripe Checkout as a
  destination charge: the money goes to the owner's account, the platform keeps
  PLATFORM_FEE_PERCENT. The `pay` transition is applied when Stripe confirms it (webhook
  or reconcile), never on the buyer's word. Cancelling after payment refunds in full.
- Loan deposits are a manual-capture hold made through Checkout. The owner releases it
  on return or claims part or all of it, with a reason, within 48 hours. A card hold
  lapses 7 days after it is made, so a loan whose claim window would end later falls
  back to a deposit paid in person, decided (and shown) when the request is made.
- With no STRIPE_SECRET_KEY everything is paid in person, as before.

Rules for the code: Stripe HTTP calls are made outside row locks (a slow Stripe must not
hold a deal's lock), every POST carries an idempotency key built from our own ids (a
retry or a double click never charges twice), and the database only records what
Stripe answered. Webhook and reconcile go through one handler, `stripe_event_process`,
which stores each event once and applies it once; each branch checks the current state
and does nothing when that state is already ahead (events arrive in any order).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import moment
from core.templatetags.partage import money
from exchanges.models import (
    FINAL_STATES,
    ConnectedAccount,
    Exchange,
    ExchangeKind,
    Payment,
    PaymentPurpose,
    PaymentState,
    State,
    StripeEvent,
)
from exchanges.services import ExchangeError, exchange_mark_paid
from listings.models import Listing
from members.models import Member

log = logging.getLogger(__name__)

MINIMUM_CENTS = 50  # Stripe refuses smaller charges (EUR)
AUTHORISATION_LIFETIME = timedelta(days=7)
CLAIM_WINDOW = timedelta(hours=48)
# Reconcile releases an unclaimed hold this long before it would lapse on its own.
RELEASE_MARGIN = timedelta(hours=12)
# Events older than Stripe keeps (30 days) cannot be listed anyway.
RECONCILE_LOOKBACK = timedelta(days=30)

Json = dict[str, Any]


# --- Configuration and the client ------------------------------------------------------


def stripe_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def client() -> stripe.StripeClient:
    """A client for the configured account. Two network retries: every POST carries an
    idempotency key, so a retried request is never applied twice."""
    options: dict[str, Any] = {"max_network_retries": 2}
    if settings.STRIPE_API_BASE:
        base = settings.STRIPE_API_BASE
        options["base_addresses"] = {"api": base, "connect": base, "files": base}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)


def _key(*parts: object) -> str:
    return "partage-" + "-".join(str(p) for p in parts)


def _currency() -> str:
    return settings.CURRENCY.lower()


def _stripe_failed(error: stripe.StripeError) -> ExchangeError:
    log.warning("Stripe refused or failed: %s", error)
    return ExchangeError(
        _("The payment service did not answer as expected. Nothing was charged twice; "
          "please try again in a moment.")
    )


def platform_fee(amount_cents: int) -> int:
    """PLATFORM_FEE_PERCENT of the amount, rounded to the nearest cent."""
    return (amount_cents * settings.PLATFORM_FEE_PERCENT + 50) // 100


# --- Decisions made at request time --------------------------------------------------


def _owner_ready(owner_id: int) -> bool:
    return ConnectedAccount.objects.filter(
        member_id=owner_id, charges_enabled=True, details_submitted=True
    ).exists()


def pays_in_person(*, kind: str, owner_id: int, amount_cents: int) -> bool:
    """Whether the price of a new deal is paid in person. Online only for sales and
    rides with a price Stripe accepts, when Stripe is configured and the owner's
    connected account can take payments."""
    return not (
        stripe_configured()
        and kind in (ExchangeKind.SALE, ExchangeKind.RIDE)
        and amount_cents >= MINIMUM_CENTS
        and _owner_ready(owner_id)
    )


def claim_deadline_for_loan(exchange: Exchange) -> datetime:
    """The latest time the owner may claim, if the thing comes back on its last day."""
    last_day_end = datetime.combine(exchange.end_date + timedelta(days=1), datetime.min.time())
    return timezone.make_aware(last_day_end) + CLAIM_WINDOW


def deposit_too_long(exchange: Exchange) -> bool:
    """A hold made on the loan's first day must still be valid when the claim window
    closes: loans whose days plus 48 hours exceed 7 days cannot hold a card deposit."""
    first_day = timezone.make_aware(datetime.combine(exchange.start_date, datetime.min.time()))
    return claim_deadline_for_loan(exchange) - first_day > AUTHORISATION_LIFETIME


def deposit_plan(*, exchange: Exchange) -> Payment | None:
    """Called by exchange_request, inside its transaction: records that a new loan's
    deposit will be held online (a pending deposit Payment), or returns None when it
    is paid in person (no Stripe, owner not connected, too small, or too long)."""
    if (
        exchange.kind != ExchangeKind.LOAN
        or exchange.deposit_cents < MINIMUM_CENTS
        or not stripe_configured()
        or deposit_too_long(exchange)
        or not _owner_ready(exchange.owner_id)
    ):
        return None
    return Payment.objects.create(
        exchange=exchange, purpose=PaymentPurpose.DEPOSIT, amount_cents=exchange.deposit_cents,
    )


def authorise_opens_at(exchange: Exchange) -> datetime:
    """From when the deposit may be authorised: early enough for the hand-over, late
    enough for the hold to outlive the claim window."""
    return claim_deadline_for_loan(exchange) - AUTHORISATION_LIFETIME


def live_payment(exchange: Exchange, purpose: str) -> Payment | None:
    return (
        Payment.objects.filter(exchange=exchange, purpose=purpose)
        .order_by("-created_at", "-id")
        .first()
    )


def completed_at(exchange: Exchange) -> datetime | None:
    event = exchange.events.filter(action="complete").order_by("-at").first()
    return event.at if event else None


def claim_until(exchange: Exchange) -> datetime | None:
    done = completed_at(exchange)
    return done + CLAIM_WINDOW if done else None


# --- Connect onboarding -----------------------------------------------------------------


def connect_onboarding_url(*, member: Member, return_url: str, refresh_url: str) -> str:
    """The Stripe page where the member opens or finishes their Express account. The
    account is created once per member (idempotency key from the member's id)."""
    if not stripe_configured():
        raise ExchangeError(_("Online payments are not available on this site."))
    sc = client()
    account = ConnectedAccount.objects.filter(member=member).first()
    try:
        if account is None:
            created = sc.v1.accounts.create(
                params={
                    "type": "express",
                    "email": member.email,
                    "capabilities": {
                        "card_payments": {"requested": True},
                        "transfers": {"requested": True},
                    },
                    "metadata": {"member_id": str(member.pk)},
                },
                options={"idempotency_key": _key("member", member.pk, "account")},
            )
            try:
                with transaction.atomic():
                    account = ConnectedAccount.objects.create(
                        member=member, stripe_account_id=created.id,
                        charges_enabled=bool(created.charges_enabled),
                        details_submitted=bool(created.details_submitted),
                    )
            except IntegrityError:  # a second click stored the same account first
                account = ConnectedAccount.objects.get(member=member)
        # Account links are single-use and short-lived: one key per account and minute.
        link = sc.v1.account_links.create(
            params={
                "account": account.stripe_account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            },
            options={"idempotency_key": _key(
                "account", account.stripe_account_id, "link", int(time.time()) // 60
            )},
        )
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    return link.url


def connect_refresh(*, member: Member) -> ConnectedAccount | None:
    """Asks Stripe how the member's account stands and stores it."""
    account = ConnectedAccount.objects.filter(member=member).first()
    if account is None or not stripe_configured():
        return account
    try:
        remote = client().v1.accounts.retrieve(account.stripe_account_id)
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    return _store_account(remote.id, bool(remote.charges_enabled), bool(remote.details_submitted))


def _store_account(account_id: str, charges_enabled: bool, details_submitted: bool) -> ConnectedAccount | None:
    with transaction.atomic():
        account = ConnectedAccount.objects.select_for_update().filter(
            stripe_account_id=account_id
        ).first()
        if account is None:
            return None
        account.charges_enabled = charges_enabled
        account.details_submitted = details_submitted
        account.save(update_fields=["charges_enabled", "details_submitted", "updated_at"])
        return account


# --- Checkout: paying the price or authorising the deposit ----------------------------


def _payable(exchange: Exchange, by: Member, purpose: str) -> None:
    if by.pk != exchange.asker_id:
        raise ExchangeError(_("Only the member who asked pays."))
    if purpose == PaymentPurpose.CHARGE:
        if exchange.pay_in_person or not exchange.amount_cents:
            raise ExchangeError(_("This deal is paid in person."))
        if exchange.state != State.ACCEPTED:
            raise ExchangeError(_("There is nothing to pay now."))
    else:
        if exchange.state not in (State.ACCEPTED, State.IN_PROGRESS):
            raise ExchangeError(_("The deposit cannot be authorised now."))
        if timezone.now() < authorise_opens_at(exchange):
            raise ExchangeError(
                _("You can authorise the deposit from %(date)s, so that the hold lasts "
                  "until the end of the return.")
                % {"date": moment(authorise_opens_at(exchange))}
            )


def checkout_start(*, exchange: Exchange, by: Member, purpose: str, success_url: str,
                   cancel_url: str) -> str:
    """The Checkout page URL where the asker pays the price (destination charge with the
    platform fee) or authorises the deposit (manual capture). Guarantees: only the
    asker, only in the right state; one live Payment per deal and purpose; a retry or a
    second click gets the same session (idempotency key from the payment and attempt);
    a session that expired is replaced by a new one."""
    # 1. Under the deal's lock: check and reserve the Payment row (no Stripe call).
    with transaction.atomic():
        locked = Exchange.objects.select_for_update().get(pk=exchange.pk)
        _payable(locked, by, purpose)
        account = ConnectedAccount.objects.filter(member_id=locked.owner_id).first()
        if account is None or not account.charges_enabled:
            raise ExchangeError(_("The owner cannot take online payments at the moment."))
        payment = (
            Payment.objects.select_for_update()
            .filter(exchange=locked, purpose=purpose, state__in=[
                PaymentState.PENDING, PaymentState.PAID, PaymentState.AUTHORISED])
            .first()
        )
        if purpose == PaymentPurpose.DEPOSIT and payment is None:
            raise ExchangeError(_("This deposit is paid in person."))
        if payment is not None and payment.state != PaymentState.PENDING:
            raise ExchangeError(_("This is already paid."))
        if payment is None:
            payment = Payment.objects.create(
                exchange=locked, purpose=purpose, amount_cents=locked.amount_cents,
                fee_cents=platform_fee(locked.amount_cents),
            )
        if not payment.checkout_session_id:
            payment.attempts += 1
            payment.destination_account_id = account.stripe_account_id
            payment.save(update_fields=["attempts", "destination_account_id", "updated_at"])
        listing_title = Listing.objects.values_list("title", flat=True).get(pk=locked.listing_id)

    sc = client()
    try:
        # 2. A session already made: reuse it while it is open.
        if payment.checkout_session_id:
            session = sc.v1.checkout.sessions.retrieve(payment.checkout_session_id)
            if session.status == "open" and session.url:
                return session.url
            if session.status == "complete":
                raise ExchangeError(_("This payment is done; its confirmation is on its way."))
            with transaction.atomic():
                Payment.objects.filter(pk=payment.pk, checkout_session_id=session.id).update(
                    checkout_session_id=None, attempts=payment.attempts + 1,
                    updated_at=timezone.now(),
                )
            payment.refresh_from_db()
        # 3. A new session, outside any lock; the key makes a retry return the same one.
        session = sc.v1.checkout.sessions.create(
            params=_session_params(payment, listing_title, success_url, cancel_url, by),
            options={"idempotency_key": _key("payment", payment.pk, "checkout", payment.attempts)},
        )
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    with transaction.atomic():
        Payment.objects.filter(pk=payment.pk, checkout_session_id__isnull=True).update(
            checkout_session_id=session.id, updated_at=timezone.now()
        )
    return session.url


def _session_params(payment: Payment, title: str, success_url: str, cancel_url: str,
                    by: Member) -> Json:
    metadata = {
        "payment_id": str(payment.pk),
        "exchange_id": str(payment.exchange_id),
        "purpose": payment.purpose,
    }
    intent: Json = {
        "metadata": metadata,
        "transfer_data": {"destination": payment.destination_account_id},
        "description": f"Partage #{payment.exchange_id}",
    }
    if payment.purpose == PaymentPurpose.DEPOSIT:
        intent["capture_method"] = "manual"
        name = _("Deposit for “%(title)s”") % {"title": title}
    else:
        intent["application_fee_amount"] = payment.fee_cents
        name = title
    return {
        "mode": "payment",
        "line_items": [{
            "price_data": {
                "currency": _currency(),
                "unit_amount": payment.amount_cents,
                "product_data": {"name": name[:250]},
            },
            "quantity": 1,
        }],
        "payment_intent_data": intent,
        "metadata": metadata,
        "client_reference_id": str(payment.pk),
        "customer_email": by.email,
        "success_url": success_url,
        "cancel_url": cancel_url,
    }


# --- Refund, release, claim --------------------------------------------------------------


def refund_charge(*, payment: Payment) -> Payment:
    """Refunds what is left of a paid charge, taking back the transfer to the owner and
    the platform fee. Idempotent: one key per payment, and a refunded payment is left
    alone."""
    if payment.state != PaymentState.PAID or not payment.payment_intent_id:
        return payment
    try:
        refund = client().v1.refunds.create(
            params={
                "payment_intent": payment.payment_intent_id,
                "reverse_transfer": True,
                "refund_application_fee": True,
                "reason": "requested_by_customer",
                "metadata": {"payment_id": str(payment.pk)},
            },
            options={"idempotency_key": _key("payment", payment.pk, "refund")},
        )
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        locked.refunded_cents = max(locked.refunded_cents, min(refund.amount, locked.amount_cents))
        if locked.refunded_cents >= locked.amount_cents:
            locked.state = PaymentState.REFUNDED
        locked.save(update_fields=["refunded_cents", "state", "updated_at"])
    return locked


def _release_hold(payment: Payment) -> Payment:
    try:
        client().v1.payment_intents.cancel(
            payment.payment_intent_id,
            params={"cancellation_reason": "requested_by_customer"},
            options={"idempotency_key": _key("payment", payment.pk, "release")},
        )
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.state == PaymentState.AUTHORISED:
            locked.state = PaymentState.RELEASED
            locked.save(update_fields=["state", "updated_at"])
    return locked


def _own_hold(exchange: Exchange, by: Member) -> Payment:
    if by.pk != exchange.owner_id:
        raise ExchangeError(_("Only the owner decides about the deposit."))
    payment = live_payment(exchange, PaymentPurpose.DEPOSIT)
    if payment is None or payment.state != PaymentState.AUTHORISED:
        raise ExchangeError(_("No deposit is held for this loan."))
    return payment


def deposit_release(*, exchange: Exchange, by: Member) -> Payment:
    """The owner gives the deposit back: the hold is cancelled, nothing is charged."""
    payment = _own_hold(exchange, by)
    return _release_hold(payment)


def deposit_claim(*, exchange: Exchange, by: Member, amount_cents: int, reason: str) -> Payment:
    """The owner keeps part or all of the deposit, with a reason, within 48 hours of the
    return: that amount is captured (and paid to the owner), the rest is released.
    Refused: before the return, after 48 hours, above the hold, without a reason."""
    exchange = Exchange.objects.get(pk=exchange.pk)
    payment = _own_hold(exchange, by)
    reason = (reason or "").strip()
    if not reason:
        raise ExchangeError({"reason": [_("Say why you keep part of the deposit.")]})
    if exchange.state != State.COMPLETED:
        raise ExchangeError(_("The deposit can be claimed once the return is confirmed."))
    until = claim_until(exchange)
    if until is None or timezone.now() > until:
        raise ExchangeError(_("The 48 hours to claim from the deposit are over."))
    if not 0 < amount_cents <= payment.amount_cents:
        raise ExchangeError({"amount": [
            _("Claim between %(min)s and %(max)s.") % {
                "min": money(1), "max": money(payment.amount_cents),
            }
        ]})
    return _capture(payment, amount_cents, reason)


def deposit_capture(*, exchange: Exchange, amount_cents: int, reason: str) -> Payment:
    """A moderator settling a dispute keeps part or all of a held deposit for the owner
    (moderation.services checks who may; this checks the money). No 48-hour window: the
    dispute froze it; the card hold must still be valid. Refused above the hold, at
    zero, without a reason or without a held deposit."""
    payment = live_payment(exchange, PaymentPurpose.DEPOSIT)
    if payment is None or payment.state != PaymentState.AUTHORISED:
        raise ExchangeError(_("No deposit is held for this loan."))
    reason = (reason or "").strip()
    if not reason:
        raise ExchangeError({"reason": [_("Say why you keep part of the deposit.")]})
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or not (
        0 < amount_cents <= payment.amount_cents
    ):
        raise ExchangeError({"amount": [
            _("Claim between %(min)s and %(max)s.") % {
                "min": money(1), "max": money(payment.amount_cents),
            }
        ]})
    return _capture(payment, amount_cents, reason)


def _capture(payment: Payment, amount_cents: int, reason: str) -> Payment:
    if payment.capture_deadline and timezone.now() >= payment.capture_deadline:
        raise ExchangeError(_("The card hold has lapsed."))
    try:
        intent = client().v1.payment_intents.capture(
            payment.payment_intent_id,
            params={
                "amount_to_capture": amount_cents,
                "metadata": {"claim_reason": reason[:500]},
            },
            options={"idempotency_key": _key("payment", payment.pk, "capture", amount_cents)},
        )
    except stripe.StripeError as error:
        raise _stripe_failed(error) from error
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.state == PaymentState.AUTHORISED:
            locked.state = PaymentState.CAPTURED
            locked.captured_cents = intent.amount_received or amount_cents
            locked.claim_reason = reason[:2000]
            locked.save(update_fields=["state", "captured_cents", "claim_reason", "updated_at"])
    return locked


def settle_call_off(*, exchange_id: int) -> None:
    """After a deal is called off: refund a paid price, release a held deposit, close an
    open Checkout page. Runs after the cancellation committed (never under its lock);
    whatever fails here is retried by `stripe_reconcile`."""
    if not stripe_configured():
        return
    for payment in Payment.objects.filter(exchange_id=exchange_id, state__in=[
            PaymentState.PENDING, PaymentState.PAID, PaymentState.AUTHORISED]):
        try:
            _settle_one(payment)
        except ExchangeError:
            log.warning("Could not settle payment %s after call-off; reconcile retries", payment.pk)


def _settle_one(payment: Payment) -> None:
    if payment.state == PaymentState.PAID:
        refund_charge(payment=payment)
    elif payment.state == PaymentState.AUTHORISED:
        _release_hold(payment)
    elif payment.state == PaymentState.PENDING:
        if payment.checkout_session_id:
            try:
                client().v1.checkout.sessions.expire(
                    payment.checkout_session_id,
                    options={"idempotency_key": _key("payment", payment.pk, "expire", payment.attempts)},
                )
            except stripe.StripeError:
                return  # completed meanwhile: its webhook refunds it
        Payment.objects.filter(pk=payment.pk, state=PaymentState.PENDING).update(
            state=PaymentState.VOID, updated_at=timezone.now()
        )


# --- Events: the one handler for webhooks and reconcile ---------------------------------


class MalformedEvent(ValueError):
    """A signed event whose content is not what Stripe sends (a field missing or of
    another type). Applying it again cannot succeed: the webhook answers 400."""


def event_check(event: Any) -> Json:
    """The event, if it has the shape every handler relies on: an object with a string
    id (at most 255 characters, as stored), a string type, and data.object an object.
    MalformedEvent otherwise; nothing is stored."""
    if not isinstance(event, dict):
        raise MalformedEvent("the event is not an object")
    event_id = event.get("id")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 255:
        raise MalformedEvent("the event has no usable id")
    event_type = event.get("type", "")
    if not isinstance(event_type, str) or len(event_type) > 100:
        raise MalformedEvent("the event type is not a short string")
    data = event.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise MalformedEvent("the event has no data.object")
    return event


def stripe_event_process(event: Json) -> bool:
    """Stores the event once and applies it once. Returns True if it was applied now,
    False if it had been already (a replay). The changes and `processed_at` commit
    together; if applying fails the event stays stored and unprocessed, and the error
    propagates (the webhook answers 500, so Stripe retries; reconcile retries too).
    Stripe calls the handlers need (a refund for a deal cancelled meanwhile) run after
    commit. A malformed event (event_check, or a field a handler needs of the wrong
    type) raises MalformedEvent: refused before it is stored, or stored unprocessed with
    the error when a handler finds it."""
    event = event_check(event)
    event_id, event_type = event["id"], event.get("type", "")
    try:
        with transaction.atomic():
            StripeEvent.objects.get_or_create(
                event_id=event_id, defaults={"type": event_type, "payload": event}
            )
    except IntegrityError:  # stored concurrently by another delivery
        pass
    try:
        with transaction.atomic():
            stored = StripeEvent.objects.select_for_update().get(event_id=event_id)
            if stored.processed_at is not None:
                return False
            handler = HANDLERS.get(event_type)
            if handler is not None:
                try:
                    handler(event["data"]["object"], event)
                except (KeyError, TypeError, AttributeError, ValueError) as error:
                    # Reading the payload failed (a database or Stripe failure is none
                    # of these and still propagates as itself, so it is retried).
                    if isinstance(error, MalformedEvent):
                        raise
                    raise MalformedEvent(f"{type(error).__name__}: {error}") from error
            stored.processed_at = timezone.now()
            stored.error = ""
            stored.save(update_fields=["processed_at", "error"])
    except Exception as error:
        StripeEvent.objects.filter(event_id=event_id).update(error=repr(error)[:2000])
        raise
    return True


def _payment_for(obj: Json, *, session_id: str | None = None,
                 intent_id: str | None = None) -> Payment | None:
    """The Payment an object is about, locked: by our id in its metadata, else by the
    Stripe ids we stored."""
    payments = Payment.objects.select_for_update()
    payment_id = (obj.get("metadata") or {}).get("payment_id")
    if payment_id and str(payment_id).isdigit():
        found = payments.filter(pk=int(payment_id)).first()
        if found is not None:
            return found
    if session_id:
        found = payments.filter(checkout_session_id=session_id).first()
        if found is not None:
            return found
    if intent_id:
        return payments.filter(payment_intent_id=intent_id).first()
    return None


def _remember_intent(payment: Payment, intent_id: str | None) -> None:
    if intent_id and not payment.payment_intent_id:
        payment.payment_intent_id = intent_id
        payment.save(update_fields=["payment_intent_id", "updated_at"])


def _amount_matches(payment: Payment, obj: Json, field: str) -> bool:
    """Whether Stripe's object charged exactly what this payment asked for. A mismatch
    (a tampered or foreign session) never marks a deal paid; it is logged for staff."""
    amount = obj.get(field)
    currency = (obj.get("currency") or _currency()).lower()
    if amount == payment.amount_cents and currency == _currency():
        return True
    log.error(
        "Stripe %s %s charged %s %s, payment %s expects %s %s: ignored",
        obj.get("object"), obj.get("id"), amount, currency, payment.pk,
        payment.amount_cents, _currency(),
    )
    return False


def _charge_succeeded(payment: Payment, intent_id: str | None) -> None:
    _remember_intent(payment, intent_id)
    if payment.state not in (PaymentState.PENDING, PaymentState.VOID, PaymentState.EXPIRED):
        return  # already recorded (the other event of the pair came first)
    payment.state = PaymentState.PAID
    payment.save(update_fields=["state", "updated_at"])
    # No lock here: exchange_mark_paid locks the listing, then the deal (the order every
    # transition uses); if the deal moved meanwhile, it refuses and we look again.
    exchange = Exchange.objects.get(pk=payment.exchange_id)
    if exchange.state == State.ACCEPTED:
        try:
            exchange = exchange_mark_paid(exchange=exchange, note=_("Paid online."))
        except ExchangeError:
            exchange.refresh_from_db()
    if exchange.state in FINAL_STATES:
        # Paid after the deal was called off or expired: give the money back.
        transaction.on_commit(lambda: _refund_quietly(payment.pk))


def _refund_quietly(payment_id: int) -> None:
    try:
        refund_charge(payment=Payment.objects.get(pk=payment_id))
    except ExchangeError:
        log.warning("Refund of payment %s failed; reconcile retries", payment_id)


def _on_session_completed(session: Json, event: Json) -> None:
    payment = _payment_for(session, session_id=session.get("id"))
    if payment is None:
        return
    if not payment.checkout_session_id:
        payment.checkout_session_id = session["id"]
        payment.save(update_fields=["checkout_session_id", "updated_at"])
    intent_id = session.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    if payment.purpose == PaymentPurpose.CHARGE and session.get("payment_status") == "paid":
        if _amount_matches(payment, session, "amount_total"):
            _charge_succeeded(payment, intent_id)
    else:
        # A deposit: the session stays "unpaid"; the PaymentIntent's own event
        # (amount_capturable_updated) says when the hold is in place.
        _remember_intent(payment, intent_id)


def _on_session_expired(session: Json, event: Json) -> None:
    payment = _payment_for(session, session_id=session.get("id"))
    if payment is None or payment.checkout_session_id != session.get("id"):
        return  # a newer session replaced this one
    if payment.state == PaymentState.PENDING:
        payment.checkout_session_id = None
        payment.save(update_fields=["checkout_session_id", "updated_at"])


def _on_intent_succeeded(intent: Json, event: Json) -> None:
    payment = _payment_for(intent, intent_id=intent.get("id"))
    if payment is None:
        return
    if payment.purpose == PaymentPurpose.CHARGE:
        if _amount_matches(payment, intent, "amount"):
            _charge_succeeded(payment, intent.get("id"))
        return
    _remember_intent(payment, intent.get("id"))
    if payment.state in (PaymentState.PENDING, PaymentState.AUTHORISED):
        # A capture we made (the claim's own write may not have happened).
        payment.state = PaymentState.CAPTURED
        payment.captured_cents = min(int(intent.get("amount_received") or 0), payment.amount_cents)
        payment.claim_reason = payment.claim_reason or (intent.get("metadata") or {}).get("claim_reason", "")
        payment.save(update_fields=["state", "captured_cents", "claim_reason", "updated_at"])


def _on_intent_capturable(intent: Json, event: Json) -> None:
    payment = _payment_for(intent, intent_id=intent.get("id"))
    if payment is None or payment.purpose != PaymentPurpose.DEPOSIT:
        return
    _remember_intent(payment, intent.get("id"))
    if payment.state != PaymentState.PENDING or intent.get("status") != "requires_capture":
        return
    authorised_at = datetime.fromtimestamp(int(event.get("created") or time.time()), tz=UTC)
    payment.state = PaymentState.AUTHORISED
    payment.authorised_at = authorised_at
    payment.capture_deadline = authorised_at + AUTHORISATION_LIFETIME
    payment.save(update_fields=["state", "authorised_at", "capture_deadline", "updated_at"])
    exchange = Exchange.objects.get(pk=payment.exchange_id)
    if exchange.state in FINAL_STATES and exchange.state != State.COMPLETED:
        transaction.on_commit(lambda: settle_call_off(exchange_id=exchange.pk))


def _on_intent_canceled(intent: Json, event: Json) -> None:
    payment = _payment_for(intent, intent_id=intent.get("id"))
    if payment is None or payment.purpose != PaymentPurpose.DEPOSIT:
        return
    _remember_intent(payment, intent.get("id"))
    if payment.state == PaymentState.AUTHORISED:
        payment.state = PaymentState.RELEASED
        payment.save(update_fields=["state", "updated_at"])


def _on_charge_refunded(charge: Json, event: Json) -> None:
    payment = _payment_for(charge, intent_id=charge.get("payment_intent"))
    if payment is None or payment.purpose != PaymentPurpose.CHARGE:
        return
    refunded = min(int(charge.get("amount_refunded") or 0), payment.amount_cents)
    if refunded <= payment.refunded_cents:
        return
    payment.refunded_cents = refunded
    if refunded >= payment.amount_cents:
        payment.state = PaymentState.REFUNDED
    payment.save(update_fields=["refunded_cents", "state", "updated_at"])


def _on_account_updated(account: Json, event: Json) -> None:
    _store_account(account["id"], bool(account.get("charges_enabled")),
                   bool(account.get("details_submitted")))


HANDLERS: dict[str, Callable[[Json, Json], None]] = {
    "checkout.session.completed": _on_session_completed,
    "checkout.session.expired": _on_session_expired,
    "payment_intent.succeeded": _on_intent_succeeded,
    "payment_intent.amount_capturable_updated": _on_intent_capturable,
    "payment_intent.canceled": _on_intent_canceled,
    "charge.refunded": _on_charge_refunded,
    "account.updated": _on_account_updated,
}


def construct_event(payload: bytes, signature: str | None) -> Any:
    """The verified payload, parsed (not yet checked as an event: event_check).
    stripe.SignatureVerificationError for a bad, missing or stale signature or a body
    that is not UTF-8; MalformedEvent for a signed body that is not JSON."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:  # Stripe signs UTF-8 text only
        raise stripe.SignatureVerificationError("the body is not UTF-8", signature) from error
    stripe.WebhookSignature.verify_header(text, signature or "", settings.STRIPE_WEBHOOK_SECRET,
                                          stripe.Webhook.DEFAULT_TOLERANCE)
    try:
        return json.loads(text)
    except ValueError as error:
        raise MalformedEvent("the body is not JSON") from error


# --- Reconcile -------------------------------------------------------------------------


def reconcile(*, now: datetime | None = None) -> dict[str, list[str]]:
    """What webhooks may have missed, for cron. Applies every event Stripe lists (last 30
    days) that is not processed yet, oldest first, through the same handler; refunds
    and releases left undone after a call-off; and releases every unclaimed deposit
    hold whose claim window is over or whose card authorisation would lapse within 12
    hours. Idempotent: running it twice does nothing more."""
    now = now or timezone.now()
    done: dict[str, list[str]] = {"events": [], "settled": [], "released": [], "failed": []}
    if not stripe_configured():
        return done
    since = int((now - RECONCILE_LOOKBACK).timestamp())
    listed = client().v1.events.list(params={"limit": 100, "created": {"gte": since}})
    events = [e.to_dict() for e in listed.auto_paging_iter()]
    processed = set(StripeEvent.objects.filter(
        event_id__in=[e["id"] for e in events], processed_at__isnull=False
    ).values_list("event_id", flat=True))
    for event in sorted(events, key=lambda e: (e.get("created") or 0)):
        if event["id"] in processed:
            continue
        try:
            if stripe_event_process(event):
                done["events"].append(event["id"])
        except Exception:  # noqa: BLE001 - one bad event must not stop the others
            log.exception("Stripe event %s could not be applied", event["id"])
            done["failed"].append(event["id"])

    for payment in Payment.objects.filter(
        state__in=[PaymentState.PAID, PaymentState.AUTHORISED],
        exchange__state__in=[State.CANCELLED, State.DECLINED, State.EXPIRED],
    ):
        try:
            _settle_one(payment)
            done["settled"].append(str(payment.pk))
        except ExchangeError:
            done["failed"].append(f"payment {payment.pk}")

    for payment in Payment.objects.filter(
        purpose=PaymentPurpose.DEPOSIT, state=PaymentState.AUTHORISED
    ).select_related("exchange"):
        until = claim_until(payment.exchange)
        lapsing = payment.capture_deadline and payment.capture_deadline - RELEASE_MARGIN <= now
        if lapsing or (until is not None and until <= now):
            try:
                _release_hold(payment)
                done["released"].append(str(payment.pk))
            except ExchangeError:
                done["failed"].append(f"payment {payment.pk}")
    return done
