"""The exchange pages: my exchanges, one exchange with its timeline and actions, the
request sent from a listing page, and the owner's blocked days.

Views stay thin: fetch and authorise, call one service, render or redirect. Only the
two parties see an exchange; anyone else gets 404 on every URL, never 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from core import once
from core.fragments import render_page_or_fragment
from core.ratelimit import limit_posts
from exchanges import availability, selectors, services
from exchanges.forms import ActionForm, BlockedPeriodForm, request_form_for
from exchanges.models import BlockedPeriod, Exchange, ExchangeKind, action_label
from exchanges.services import ExchangeError
from listings import views as listing_views
from listings.models import Kind, Listing, Status, Terms
from messaging import services as notifications

PAST_PER_PAGE = 20

# How each action shows on the exchange page.
NOTE_REQUIRED = {"dispute"}
NOTE_OFFERED = {"decline", "dispute", "call_off"}
CONFIRM = {
    "decline": gettext_lazy("Decline this request?"),
    "call_off": gettext_lazy("Cancel this deal? The other member will be told."),
    "cancel": gettext_lazy("Withdraw your request?"),
}
DANGER = {"decline", "call_off", "cancel", "dispute"}
DONE = {
    "accept": gettext_lazy("You accepted the request."),
    "decline": gettext_lazy("You declined the request."),
    "cancel": gettext_lazy("Your request is withdrawn."),
    "call_off": gettext_lazy("The deal is cancelled."),
    "start": gettext_lazy("The hand-over is confirmed."),
    "start:ride": gettext_lazy("The departure is confirmed: have a good trip."),
    "start:service": gettext_lazy("The service has started."),
    "complete:ride": gettext_lazy("Arrived: the ride is completed."),
    "complete:loan": gettext_lazy("Returned: the loan is completed."),
    "complete": gettext_lazy("Done: the exchange is completed."),
    "dispute": gettext_lazy("Your report is recorded; a moderator will look at it."),
}


def _get_exchange_for_party(request: HttpRequest, pk: int) -> Exchange:
    """The exchange if the member is one of its parties; 404 for anyone else."""
    exchange = selectors.exchange_for_party(request.user, pk)
    if exchange is None:
        raise Http404
    return exchange


def _get_own_loan_listing(request: HttpRequest, pk: int) -> Listing:
    """The member's own listing that is lent (the only kind with a calendar), or 404."""
    return get_object_or_404(
        Listing.objects.exclude(status=Status.REMOVED),
        pk=pk, owner=request.user, kind=Kind.ITEM, terms=Terms.LEND,
    )


@login_required
@require_GET
def exchange_list(request: HttpRequest) -> HttpResponse:
    active = list(selectors.active_exchanges_of(request.user))
    past = Paginator(selectors.past_exchanges_of(request.user), PAST_PER_PAGE).get_page(
        request.GET.get("page")
    )
    for exchange in [*active, *past]:
        exchange.viewer_role = exchange.role_of(request.user)
        exchange.viewer_other = exchange.other_party(request.user)
    return render_page_or_fragment(request, "exchanges/list.html", "exchanges/_list_groups.html", {
        "asking": [e for e in active if e.viewer_role == "asker"],
        "owning": [e for e in active if e.viewer_role == "owner"],
        "past": past,
    })


@login_required
@require_GET
def exchange_detail(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = _get_exchange_for_party(request, pk)
    return render_exchange_page(request, exchange)


def render_exchange_page(request: HttpRequest, exchange: Exchange, status: int = 200) -> HttpResponse:
    """The exchange page for one of its parties (the caller checked), or for htmx the
    parts that follow the deal live; also what a refused form POST shows again, with
    its bound form on the request."""
    actions = [
        {
            "name": name,
            "label": action_label(name, exchange.kind),
            "note_required": name in NOTE_REQUIRED,
            "note_offered": name in NOTE_OFFERED,
            "confirm": CONFIRM.get(name, ""),
            "danger": name in DANGER,
        }
        for name in services.available_actions(exchange, request.user)
    ]
    events = selectors.timeline(exchange)
    version = selectors.exchange_version(exchange, events)
    if request.htmx and request.GET.get("v") == version:
        # The open page already shows this state (a resync after the socket opened).
        return HttpResponse(status=204)
    if not request.htmx and request.method == "GET":
        # The member is looking at the deal itself: what told them about it is read.
        notifications.notifications_read_about(member=request.user, exchange=exchange)
    response = render_page_or_fragment(request, "exchanges/detail.html", "exchanges/_detail_live.html", {
        "version": version,
        "exchange": exchange,
        "listing": exchange.listing,
        "role": exchange.role_of(request.user),
        "other": exchange.other_party(request.user),
        "events": events,
        "actions": actions,
        "offered": list(exchange.offered_listings.all()),
        "is_overdue": exchange.is_overdue(),
        "exact_place": selectors.exact_place_for(exchange, request.user),
    })
    response.status_code = status
    return response


@login_required
@require_POST
@limit_posts("exchange_action")
def exchange_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    service = services.ACTIONS.get(action)
    if service is None:
        raise Http404
    exchange = _get_exchange_for_party(request, pk)
    form = ActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors.get("note", [])))
        return redirect(exchange)
    note = form.cleaned_data["note"]
    try:
        service(exchange=exchange, by=request.user, note=note)
    except ExchangeError as error:
        # Also what a second click on the same button gets: the state machine refuses.
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, DONE.get(f"{action}:{exchange.kind}") or DONE[action])
    return redirect(exchange)


@login_required
@require_POST
@limit_posts("exchange_request")
def exchange_request(request: HttpRequest, listing_pk: int) -> HttpResponse:
    listing = get_object_or_404(Listing.objects.exclude(status=Status.REMOVED), pk=listing_pk)
    kind = services.exchange_kind_for(listing)
    free_seats = None
    if kind == ExchangeKind.RIDE:
        free_seats = (listing.seats or 0) - services.seats_taken(listing)
    form = request_form_for(listing, request.user, kind, request.POST, free_seats=free_seats)
    if form is not None and form.is_valid():
        try:
            sent = once.submit_once(
                member=request.user, token=once.token_from(request), action="exchange_request",
                create=lambda: services.exchange_request(
                    listing=listing, asker=request.user, **form.request_kwargs()
                ),
                url_of=lambda exchange: exchange.get_absolute_url(),
            )
        except ExchangeError as error:
            if not hasattr(error, "error_dict"):
                return _refused(request, listing, error)
            form.add_service_errors(error)
        else:
            if sent.replayed:
                once.tell_replayed(request)
            else:
                messages.success(request, _("Your request is sent. You will hear back here."))
            return redirect(sent.url)
    elif form is None:
        return _refused(request, listing, ExchangeError(_("This listing does not take requests.")))
    if not _can_see(request, listing):
        return _refused(request, listing, ExchangeError(
            _("This listing is not available at the moment.")
        ))
    # Show the listing page again with the bound form and its errors next to the fields;
    # the listing view builds the page, the request tag reads the form from the request.
    request.exchange_request_form = form
    response = listing_views.listing_detail(request, listing.pk)
    response.status_code = 400
    return response


def _can_see(request: HttpRequest, listing: Listing) -> bool:
    return listing.is_active or listing.owner_id == request.user.pk


def _refused(request: HttpRequest, listing: Listing, error: ExchangeError) -> HttpResponse:
    messages.error(request, " ".join(error.messages))
    if _can_see(request, listing):
        return redirect(listing)
    return redirect("listings:list")


@login_required
@require_POST
@limit_posts("listing_change")
def blocked_period_add(request: HttpRequest, listing_pk: int) -> HttpResponse:
    listing = _get_own_loan_listing(request, listing_pk)
    form = BlockedPeriodForm(request.POST)
    if form.is_valid():
        try:
            sent = once.submit_once(
                member=request.user, token=once.token_from(request), action="blocked_period_add",
                create=lambda: availability.blocked_period_add(
                    listing=listing, by=request.user, **form.cleaned_data
                ),
                url_of=lambda _period: listing.get_absolute_url(),
            )
        except ExchangeError as error:
            form.add_service_errors(error)
        else:
            if sent.replayed:
                once.tell_replayed(request)
            else:
                messages.success(request, _("These days are blocked: nobody can borrow it then."))
            return redirect(sent.url)
    # The listing page again, with the errors next to the fields of the blocking form.
    request.blocked_period_form = form
    response = listing_views.listing_detail(request, listing.pk)
    response.status_code = 400
    return response


@login_required
@require_POST
@limit_posts("listing_change")
def blocked_period_delete(request: HttpRequest, pk: int) -> HttpResponse:
    period = get_object_or_404(
        BlockedPeriod.objects.select_related("listing").exclude(listing__status=Status.REMOVED),
        pk=pk, listing__owner=request.user,
    )
    try:
        availability.blocked_period_delete(period=period, by=request.user)
    except ExchangeError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("These days are free again."))
    return redirect(period.listing)
