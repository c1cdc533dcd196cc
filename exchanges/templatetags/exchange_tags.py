"""The exchange parts of the listing page: the request panel and the availability
calendar. They live here, not in the listing view, because exchanges depend on listings
and never the other way round; each runs a fixed number of queries."""

from __future__ import annotations

from django import template
from django.utils import timezone

from exchanges import payments, selectors, services
from exchanges.forms import BlockedPeriodForm, request_form_for
from exchanges.models import ExchangeKind
from listings.models import Listing

register = template.Library()


@register.inclusion_tag("exchanges/_request_panel.html", takes_context=True)
def exchange_request_panel(context, listing: Listing) -> dict:
    request = context["request"]
    user = request.user
    kind = services.exchange_kind_for(listing)
    result = {
        "listing": listing, "kind": kind, "request": request, "csrf_token": context.get("csrf_token"),
        "is_owner": user.is_authenticated and user.pk == listing.owner_id,
        "ride_has_left": bool(
            listing.is_ride and listing.departs_at and listing.departs_at <= timezone.now()
        ),
    }
    if kind is None:
        return result
    if result["is_owner"]:
        result["requests"] = selectors.open_requests_for(listing)
        return result
    if not user.is_authenticated or not listing.is_active or result["ride_has_left"]:
        return result
    existing = selectors.open_request_of(user, listing)
    if existing is not None:
        result["existing"] = existing
        return result
    free_seats = None
    if kind == ExchangeKind.RIDE:
        free_seats = max((listing.seats or 0) - services.seats_taken(listing), 0)
        result["free_seats"] = free_seats
        if free_seats == 0:
            return result
    amount = listing.price_cents
    # The same rule exchange_request applies: sales and rides of an onboarded owner are
    # paid online once accepted; anything else, and deposits that cannot be held, in person.
    result["pays_online"] = kind in (ExchangeKind.SALE, ExchangeKind.RIDE) and not payments.pays_in_person(
        kind=kind, owner_id=listing.owner_id, amount_cents=amount
    )
    form = getattr(request, "exchange_request_form", None)
    if form is None or form.listing.pk != listing.pk:
        form = request_form_for(listing, user, kind, free_seats=free_seats)
    result["form"] = form
    if kind == ExchangeKind.SWAP:
        result["nothing_to_offer"] = not form.fields["offered"].queryset.exists()
    return result


@register.inclusion_tag("exchanges/_calendar.html", takes_context=True)
def availability_calendar(context, listing: Listing) -> dict:
    request = context["request"]
    if services.exchange_kind_for(listing) != ExchangeKind.LOAN:
        return {"show": False}
    today = timezone.localdate()
    first = selectors.parse_month(request.GET.get("month"), today=today)
    this_month = today.replace(day=1)
    is_owner = request.user.is_authenticated and request.user.pk == listing.owner_id
    result = {
        "show": True,
        "listing": listing,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "months": selectors.availability_calendar(listing, first_month=first, today=today),
        "prev_month": (
            selectors.add_months(first, -1).strftime("%Y-%m") if first > this_month else None
        ),
        "next_month": (
            selectors.add_months(first, 1).strftime("%Y-%m")
            if first < selectors.add_months(this_month, 12) else None
        ),
        "is_owner": is_owner,
        "buffer_days": listing.loan_buffer_days,
    }
    if is_owner:
        result["blocked_periods"] = selectors.blocked_periods_of(listing, today=today)
        result["block_form"] = getattr(request, "blocked_period_form", None) or BlockedPeriodForm()
    return result


@register.simple_tag(takes_context=True)
def loan_extension_panel(context, exchange):
    """Extensions of a loan as this member sees them (exchanges/_extensions.html)."""
    from exchanges.extensions import extension_panel

    return extension_panel(exchange, context["request"].user)


@register.simple_tag(takes_context=True)
def service_trade(context, exchange):
    """A service trade as this member sees it — each service given, its times and the
    transfer that paid it, the forms this member may use now — or None for other deals
    (exchanges/_service_time.html, exchanges/_service_trade.html)."""
    from exchanges.service_trades import service_trade_panel

    request = context["request"]
    return service_trade_panel(exchange, request.user, getattr(request, "record_time_form", None))
