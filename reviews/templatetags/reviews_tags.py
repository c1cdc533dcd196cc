"""{% load reviews_tags %}: ratings and reviews on other apps' pages (listing cards and
pages, profiles, the exchange page) without those apps importing reviews."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django import template

from reviews import selectors
from reviews.forms import ReplyForm, ReviewForm
from reviews.models import MAX_RATING

register = template.Library()

LATEST_ON_PROFILE = 3


@register.filter
def stars(rating) -> str:
    """1–5 (or an average) as five star glyphs: 4 -> ★★★★☆. Decorative: pages give
    the number in words next to it."""
    if rating is None:
        return ""
    full = int(Decimal(rating).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    full = max(0, min(MAX_RATING, full))
    return "★" * full + "☆" * (MAX_RATING - full)


@register.inclusion_tag("reviews/_rating.html")
def owner_rating(member) -> dict:
    """The member's rating if the page joined it (listing cards): never a query."""
    return {"member": member, "reputation": selectors.cached_reputation(member)}


@register.inclusion_tag("reviews/_rating.html")
def member_rating(member) -> dict:
    """The member's rating, read if it was not joined (one query at most)."""
    return {"member": member, "reputation": selectors.reputation_of(member), "link": True}


@register.inclusion_tag("reviews/_reputation.html", takes_context=True)
def reputation_summary(context, member) -> dict:
    """The profile block: averages overall and per role, count, latest reviews."""
    return {
        "member": member,
        "figures": selectors.figures_of(member),
        "latest": list(selectors.public_reviews_of(member)[:LATEST_ON_PROFILE]),
        "user": context.get("user"),
    }


@register.simple_tag(takes_context=True)
def review_panel(context, exchange):
    """The review panel of the exchange page for the member reading it, or None."""
    user = context.get("user")
    if user is None or not user.is_authenticated:
        return None
    # The exchange page's timeline says when it completed: no query for the window.
    panel = selectors.exchange_panel(exchange, user, events=context.get("events"))
    if panel is not None:
        # Blank forms for the panel; a form with errors is shown on its own page.
        panel.form = ReviewForm(auto_id="review_%s")
        panel.reply_form = ReplyForm(auto_id="reply_%s")
    return panel
