"""Payment pages: Connect onboarding, paying or authorising through Stripe Checkout, the
owner's deposit decisions, and the Stripe webhook.

Thin like the other views: fetch and authorise (non-parties get 404), call one service
in exchanges/payments.py, redirect with a message.
"""

from __future__ import annotations

import logging
from decimal import Decimal

import stripe
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from core.ratelimit import limit_posts, posts_not_limited
from exchanges import payments, selectors
from exchanges.models import Exchange, PaymentPurpose
from exchanges.services import ExchangeError

log = logging.getLogger(__name__)


def _get_exchange_for_party(request: HttpRequest, pk: int) -> Exchange:
    exchange = selectors.exchange_for_party(request.user, pk)
    if exchange is None:
        raise Http404
    return exchange


def _error(request: HttpRequest, error: ExchangeError) -> None:
    messages.error(request, " ".join(error.messages))


# --- Connect onboarding ------------------------------------------------------------------


@login_required
@require_POST
@limit_posts("payment")
def connect_start(request: HttpRequest) -> HttpResponse:
    try:
        url = payments.connect_onboarding_url(
            member=request.user,
            return_url=request.build_absolute_uri(reverse("exchanges:connect-return")),
            refresh_url=request.build_absolute_uri(reverse("exchanges:connect-refresh")),
        )
    except ExchangeError as error:
        _error(request, error)
        return redirect("members:edit")
    return redirect(url)


@login_required
@require_GET
def connect_return(request: HttpRequest) -> HttpResponse:
    try:
        account = payments.connect_refresh(member=request.user)
    except ExchangeError as error:
        _error(request, error)
        return redirect("members:edit")
    if account is not None and account.is_ready:
        messages.success(request, _("Your Stripe account is ready: buyers and passengers can pay you online."))
    else:
        messages.warning(request, _("Your Stripe account is not complete yet. Until it is, deals are paid in person."))
    return redirect("members:edit")


@login_required
@require_GET
def connect_refresh(request: HttpRequest) -> HttpResponse:
    messages.info(request, _("That Stripe link expired. Start again from “Get paid online”."))
    return redirect("members:edit")


# --- Checkout ------------------------------------------------------------------------------


def _checkout(request: HttpRequest, pk: int, purpose: str) -> HttpResponse:
    exchange = _get_exchange_for_party(request, pk)
    done = reverse("exchanges:checkout-done", args=[exchange.pk])
    try:
        url = payments.checkout_start(
            exchange=exchange, by=request.user, purpose=purpose,
            success_url=request.build_absolute_uri(f"{done}?result=ok"),
            cancel_url=request.build_absolute_uri(f"{done}?result=cancelled"),
        )
    except ExchangeError as error:
        _error(request, error)
        return redirect(exchange)
    return redirect(url)


@login_required
@require_POST
@limit_posts("payment")
def checkout_pay(request: HttpRequest, pk: int) -> HttpResponse:
    return _checkout(request, pk, PaymentPurpose.CHARGE)


@login_required
@require_POST
@limit_posts("payment")
def checkout_deposit(request: HttpRequest, pk: int) -> HttpResponse:
    return _checkout(request, pk, PaymentPurpose.DEPOSIT)


@login_required
@require_GET
def checkout_done(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = _get_exchange_for_party(request, pk)
    if request.GET.get("result") == "ok":
        messages.success(request, _("Thank you. Stripe is confirming it; this page shows it as soon as it is confirmed."))
    else:
        messages.info(request, _("Nothing was paid. You can try again when you are ready."))
    return redirect(exchange)


# --- Deposit decisions -----------------------------------------------------------------


class DepositClaimForm(forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("Amount to keep (€)"), min_value=Decimal("0.01"),
        max_digits=9, decimal_places=2,
    )
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=2000, widget=forms.Textarea)


@login_required
@require_POST
@limit_posts("exchange_action")
def deposit_release(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = _get_exchange_for_party(request, pk)
    try:
        payments.deposit_release(exchange=exchange, by=request.user)
    except ExchangeError as error:
        _error(request, error)
    else:
        messages.success(request, _("The deposit is released: nothing is charged."))
    return redirect(exchange)


@login_required
@require_POST
@limit_posts("exchange_action")
def deposit_claim(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = _get_exchange_for_party(request, pk)
    form = DepositClaimForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(exchange)
    try:
        payments.deposit_claim(
            exchange=exchange, by=request.user,
            amount_cents=int(form.cleaned_data["amount"] * 100),
            reason=form.cleaned_data["reason"],
        )
    except ExchangeError as error:
        _error(request, error)
    else:
        messages.success(request, _("The amount is claimed from the deposit; the rest is released."))
    return redirect(exchange)


# --- Webhook -------------------------------------------------------------------------------


@csrf_exempt
@require_POST
@posts_not_limited("Stripe's own calls, signed with our webhook secret: a bad signature "
                   "changes nothing, and a replayed event is applied once")
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    """Stripe's events. 400 and nothing changed for a bad, missing or stale signature,
    and for a signed event that is malformed (logged: only someone with the signing
    secret sends one); 200 for a replay or a type we do not handle; 500 when applying
    fails otherwise (the event is kept unprocessed and Stripe retries)."""
    if not settings.STRIPE_WEBHOOK_SECRET:  # payments are off: no such endpoint
        raise Http404
    event = None
    try:
        event = payments.construct_event(request.body, request.headers.get("Stripe-Signature"))
        payments.stripe_event_process(event)
    except stripe.SignatureVerificationError:
        # Anyone can post here: not worth a log line each.
        return HttpResponseBadRequest("invalid signature")
    except payments.MalformedEvent as error:
        event_id = event.get("id") if isinstance(event, dict) else None
        log.error("Signed Stripe event %.80r refused as malformed: %s", event_id, error)
        return HttpResponseBadRequest("malformed event")
    return HttpResponse("ok")
