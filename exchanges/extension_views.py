"""The buttons for loan extensions on the exchange page: ask for more days, withdraw
the question, accept or decline it. POST only; only the two parties of the loan reach
them (anyone else gets 404); each calls one service in exchanges/extensions.py and goes
back to the exchange page with a message."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import once
from core.ratelimit import limit_posts
from exchanges import extensions, selectors
from exchanges.models import Exchange, LoanExtension
from exchanges.services import ExchangeError


class ExtensionRequestForm(forms.Form):
    new_end_date = forms.DateField(label=gettext_lazy("Keep it until"))
    note = forms.CharField(label=gettext_lazy("A word for the owner (optional)"),
                           max_length=2000, required=False)


class DeclineForm(forms.Form):
    note = forms.CharField(max_length=2000, required=False)


def _get_exchange_for_party(request: HttpRequest, pk: int) -> Exchange:
    exchange = selectors.exchange_for_party(request.user, pk)
    if exchange is None:
        raise Http404
    return exchange


def _get_extension_for_party(request: HttpRequest, pk: int) -> LoanExtension:
    """The extension if the member is a party of its loan; 404 for anyone else."""
    extension = LoanExtension.objects.filter(pk=pk).first()
    if extension is None:
        raise Http404
    extension.exchange = _get_exchange_for_party(request, extension.exchange_id)
    return extension


def _form_errors(form: forms.Form) -> str:
    return " ".join(str(message) for errors in form.errors.values() for message in errors)


@login_required
@require_POST
@limit_posts("exchange_action")
def extension_request(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = _get_exchange_for_party(request, pk)
    form = ExtensionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect(exchange)
    try:
        sent = once.submit_once(
            member=request.user, token=once.token_from(request), action="extension_request",
            create=lambda: extensions.extension_request(
                exchange=exchange, by=request.user, **form.cleaned_data
            ),
            url_of=lambda _extension: exchange.get_absolute_url(),
        )
    except ExchangeError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if sent.replayed:
            once.tell_replayed(request)
        else:
            messages.success(request, _("You asked for more days. The owner will answer here."))
    return redirect(exchange)


def _answer(request: HttpRequest, pk: int, service, done: str, **kwargs) -> HttpResponse:
    extension = _get_extension_for_party(request, pk)
    try:
        service(extension=extension, by=request.user, **kwargs)
    except ExchangeError as error:
        # Also what a second click gets: the question is already answered.
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, done)
    return redirect(extension.exchange)


@login_required
@require_POST
@limit_posts("exchange_action")
def extension_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, extensions.extension_accept,
                   _("You accepted: the loan now runs longer."))


@login_required
@require_POST
@limit_posts("exchange_action")
def extension_decline(request: HttpRequest, pk: int) -> HttpResponse:
    form = DeclineForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    return _answer(request, pk, extensions.extension_decline,
                   _("You declined: the loan keeps its last day."), note=note)


@login_required
@require_POST
@limit_posts("exchange_action")
def extension_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _answer(request, pk, extensions.extension_cancel,
                   _("Your request for more days is withdrawn."))
