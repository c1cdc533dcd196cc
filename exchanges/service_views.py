"""The service-trade forms of the exchange page: a provider records the time spent and,
in a swap of services, each member confirms the other's. POST only; only the two
parties reach them (anyone else gets 404); each calls one service and goes back to the
exchange page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.ratelimit import limit_posts
from core.templatetags.partage import hours
from exchanges import selectors, services
from exchanges.forms import RecordTimeForm
from exchanges.models import State
from exchanges.services import ExchangeError, TimeNeedsConfirmation
from exchanges.views import render_exchange_page


@login_required
@require_POST
@limit_posts("exchange_action")
def record_time(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = selectors.exchange_for_party(request.user, pk)
    if exchange is None:
        raise Http404
    form = RecordTimeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(
            str(message) for errors in form.errors.values() for message in errors
        ))
        return redirect(exchange)
    minutes = form.cleaned_data["minutes"]
    try:
        services.exchange_record_time(
            exchange=exchange, by=request.user, minutes=minutes,
            confirm_far_above=form.cleaned_data["confirm_far_above"],
        )
    except TimeNeedsConfirmation as error:
        # The page again, the time as typed, the reason beside it and a box to tick.
        form.add_service_errors(error)
        form.ask_to_confirm(hours(minutes))
        request.record_time_form = form
        return render_exchange_page(request, exchange, status=400)
    except ExchangeError as error:
        if hasattr(error, "error_dict"):
            form.add_service_errors(error)
            request.record_time_form = form
            return render_exchange_page(request, exchange, status=400)
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The time is recorded. The other member can now confirm it."))
    return redirect(exchange)


@login_required
@require_POST
@limit_posts("exchange_action")
def confirm_time(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = selectors.exchange_for_party(request.user, pk)
    if exchange is None:
        raise Http404
    try:
        confirmed = services.exchange_confirm_time(exchange=exchange, by=request.user)
    except ExchangeError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if confirmed.state == State.COMPLETED:
            messages.success(request, _("Both times are confirmed: the hours moved and the trade is done."))
        else:
            messages.success(request, _("Confirmed. The trade is done once the other member confirms your time too."))
    return redirect(exchange)
