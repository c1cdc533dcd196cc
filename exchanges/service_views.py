"""The provider's "record the time spent" form of a service trade, on the exchange page.
POST only; only the two parties reach it (anyone else gets 404); it calls one service,
exchanges.services.exchange_record_time, and goes back to the exchange page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from exchanges import selectors, services
from exchanges.forms import RecordTimeForm
from exchanges.services import ExchangeError


@login_required
@require_POST
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
    try:
        services.exchange_record_time(
            exchange=exchange, by=request.user, minutes=form.cleaned_data["minutes"]
        )
    except ExchangeError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The time is recorded. The other member can now confirm it."))
    return redirect(exchange)
