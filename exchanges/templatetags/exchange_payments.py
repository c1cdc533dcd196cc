"""{% payment_panel %}: what the exchange page says about paying, and the payment
buttons this member may use now (exchanges/payments.py decides)."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils import timezone

from exchanges import payments
from exchanges.models import ExchangeKind, PaymentPurpose, PaymentState, State

register = template.Library()


@register.inclusion_tag("exchanges/_payments.html", takes_context=True)
def payment_panel(context) -> dict:
    exchange = context["exchange"]
    role = context.get("role")
    now = timezone.now()
    charge = payments.live_payment(exchange, PaymentPurpose.CHARGE) if not exchange.pay_in_person else None
    deposit = None
    deposit_in_person = False
    deposit_too_long = False
    if exchange.kind == ExchangeKind.LOAN and exchange.deposit_cents:
        deposit = payments.live_payment(exchange, PaymentPurpose.DEPOSIT)
        deposit_in_person = deposit is None
        deposit_too_long = deposit_in_person and payments.deposit_too_long(exchange)
    can_pay = (
        role == "asker" and not exchange.pay_in_person and exchange.amount_cents
        and exchange.state == State.ACCEPTED
        and (charge is None or charge.state == PaymentState.PENDING)
    )
    opens_at = payments.authorise_opens_at(exchange) if deposit is not None else None
    can_authorise = (
        role == "asker" and deposit is not None and deposit.state == PaymentState.PENDING
        and exchange.state in (State.ACCEPTED, State.IN_PROGRESS)
    )
    claim_until = None
    can_decide = False
    if deposit is not None and deposit.state == PaymentState.AUTHORISED and role == "owner":
        claim_until = payments.claim_until(exchange)
        can_decide = True
    return {
        "exchange": exchange,
        "role": role,
        "csrf_token": context.get("csrf_token"),
        "charge": charge,
        "deposit": deposit,
        "deposit_in_person": deposit_in_person,
        "deposit_too_long": deposit_too_long,
        "stripe_on": bool(settings.STRIPE_SECRET_KEY),
        "can_pay": can_pay,
        "can_authorise": can_authorise,
        "authorise_open": opens_at is not None and now >= opens_at,
        "authorise_opens_at": opens_at,
        "can_decide": can_decide,
        "can_claim": can_decide and exchange.state == State.COMPLETED
        and claim_until is not None and now <= claim_until,
        "claim_until": claim_until,
        "deposit_max": f"{deposit.amount_cents / 100:.2f}" if deposit is not None else "",
    }
