"""Review pages: write (and, before publication, change) a review from an exchange,
reply to one, and a member's public reviews.

Views stay thin: fetch and authorise, call one service, render or redirect. Only the
parties of an exchange reach its review pages, only a review's author its edit page,
only the reviewed member its reply page: anyone else gets 404.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from core import once
from core.ratelimit import limit_posts
from exchanges import selectors as exchange_selectors
from exchanges.models import Exchange
from members import selectors as member_selectors
from members.models import Member
from reviews import selectors, services
from reviews.forms import ReplyForm, ReviewForm
from reviews.models import Review
from reviews.services import ReviewError

REVIEWS_PER_PAGE = 20


def _get_exchange_for_party(request: HttpRequest, pk: int) -> Exchange:
    exchange = exchange_selectors.exchange_for_party(request.user, pk)
    if exchange is None:
        raise Http404
    return exchange


def _show_errors(form, error: ReviewError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def _why_not(panel: selectors.ExchangePanel | None) -> str:
    """Why the member cannot write a review now ("" if they can)."""
    if panel is None:
        return _("You can review once the exchange is completed.")
    if panel.mine is not None:
        return _("You have already reviewed this exchange.")
    if not panel.is_open:
        return _("The 14 days to review this exchange are over.")
    return ""


def _back_to(exchange: Exchange) -> str:
    return f"{exchange.get_absolute_url()}#reviews"


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("review")
def review_create(request: HttpRequest, pk: int) -> HttpResponse:
    exchange = _get_exchange_for_party(request, pk)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = once.submit_once(
                member=request.user, token=once.token_from(request), action="review_submit",
                create=lambda: services.review_submit(
                    exchange=exchange, author=request.user,
                    rating=form.cleaned_data["rating"], text=form.cleaned_data["text"],
                ),
                url_of=lambda _review: _back_to(exchange),
            )
        except ReviewError as error:
            _show_errors(form, error)
        else:
            review = sent.result
            if sent.replayed:
                once.tell_replayed(request)
            elif review.is_published:
                messages.success(request, _("Thank you. Both reviews are now published."))
            else:
                messages.success(request, _(
                    "Thank you. Your review stays hidden until the other member reviews "
                    "you too, or the 14 days are over."
                ))
            return redirect(sent.url)
    panel = selectors.exchange_panel(exchange, request.user)
    return render(request, "reviews/review_form.html", {
        "exchange": exchange, "panel": panel, "form": form,
        "refusal": "" if request.method == "POST" else _why_not(panel),
    })


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("review")
def review_edit(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review.objects.select_related("exchange__listing", "subject"),
                               pk=pk, author=request.user)
    exchange = review.exchange
    initial = {"rating": review.rating, "text": review.text}
    form = ReviewForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_edit(review=review, by=request.user,
                                 rating=form.cleaned_data["rating"], text=form.cleaned_data["text"])
        except ReviewError as error:
            _show_errors(form, error)
        else:
            messages.success(request, _("Your review is updated."))
            return redirect(_back_to(exchange))
    refusal = ""
    if request.method == "GET":
        if review.is_published:
            refusal = _("A published review cannot be changed.")
        elif not services.expected_window(exchange).is_open():
            refusal = _("The 14 days to review this exchange are over.")
    return render(request, "reviews/review_form.html", {
        "exchange": exchange, "panel": selectors.exchange_panel(exchange, request.user),
        "form": form, "review": review, "refusal": refusal,
    })


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("review")
def review_reply(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(
        Review.objects.public().select_related("exchange__listing", "author"),
        pk=pk, subject=request.user,
    )
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_reply(review=review, by=request.user, text=form.cleaned_data["reply"])
        except ReviewError as error:
            _show_errors(form, error)
        else:
            messages.success(request, _("Your reply is published."))
            return redirect(_back_to(review.exchange))
    refusal = _("You have already replied to this review.") if review.replied_at else ""
    return render(request, "reviews/reply_form.html", {
        "review": review, "exchange": review.exchange, "form": form, "refusal": refusal,
    })


@require_safe
def member_reviews(request: HttpRequest, pk: int) -> HttpResponse:
    """An active member's published reviews, to whoever may see their profile."""
    member = get_object_or_404(Member, pk=pk, is_active=True)
    if not member_selectors.profile_visible_to(member, request.user):
        return render(request, "members/profile_private.html", {"member": member})
    per_page = getattr(settings, "REVIEWS_PAGE_SIZE", REVIEWS_PER_PAGE)
    page = Paginator(selectors.public_reviews_of(member), per_page).get_page(
        request.GET.get("page")
    )
    return render(request, "reviews/member_reviews.html", {
        "member": member, "figures": selectors.figures_of(member), "page_obj": page,
        "reviews": page.object_list,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
    })
