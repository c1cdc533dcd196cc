"""`{% listing_cards listings %}` and `{% listing_card listing %}`: cached cards
(listings/cards.py). Pass listings from Listing.objects.for_cards()."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.safestring import SafeString, mark_safe

from listings.cards import render_cards
from listings.models import Listing

register = template.Library()


@register.simple_tag
def listing_cards(listings: Iterable[Listing]) -> SafeString:
    """All the cards of a list, read from the cache in one round trip."""
    return mark_safe("".join(render_cards(listings)))


@register.simple_tag
def listing_card(listing: Listing) -> SafeString:
    return render_cards([listing])[0]
