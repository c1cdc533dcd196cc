"""Listing cards, rendered once and then read from the cache.

Rendering a card through the template cost about 1.2 ms (20 cards: ~25 ms of a search
page). A card shows the same HTML to every visitor, so it is cached, under a key made of
everything it shows: the listing's own fields, its cover photo, its owner's name and
rating, its category, the language and time zone, and the card template itself. When any
of these changes the key changes, so an edit shows on the next request without any
invalidation to forget (a photo added, a review received, a category renamed: none of
them touches the listing's row). Stale entries are never read again and expire.

The one thing that differs between visitors, the distance from the place searched, is
not in the cached HTML: the template leaves a slot where it goes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.template.loader import get_template
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from core.templatetags.partage import km
from listings.models import Listing
from reviews.selectors import cached_reputation

CARD_TEMPLATE = "listings/_card.html"
# Where the distance goes in a cached card (an HTML comment: invisible if left alone).
DISTANCE_SLOT = mark_safe("<!--card-distance-->")
# Entries of listings that changed are never read again; they only wait to expire.
CARD_CACHE_SECONDS = 6 * 3600


@lru_cache(maxsize=1)
def _template_version() -> str:
    """A digest of the card template and what its URLs depend on: a deploy that
    changes them starts from fresh cards, even in a cache shared with older workers."""
    source = get_template(CARD_TEMPLATE).template.source
    return hashlib.sha1(f"{source}|{settings.MEDIA_URL}".encode()).hexdigest()[:12]


def _shown(listing: Listing) -> tuple:
    """Every value the card shows (read from the joined and prefetched rows: no query)."""
    owner = listing.owner
    reputation = cached_reputation(owner)
    cover = listing.cover
    category = listing.category
    return (
        listing.pk, listing.updated_at, listing.kind, listing.terms, listing.status,
        listing.title, listing.price_cents, listing.hours_minutes, listing.place_name,
        listing.origin_name, listing.destination_name, listing.departs_at, listing.seats,
        listing.seats_booked,
        owner.pk, owner.public_name,
        (reputation.average, reputation.count) if reputation else None,
        category.pk, category.name, category.icon,
        (cover.pk, cover.thumbnail.name, cover.alt_text) if cover else None,
    )


def card_key(listing: Listing) -> str:
    digest = hashlib.sha1(repr(_shown(listing)).encode()).hexdigest()
    return (f"card:{_template_version()}:{translation.get_language()}:"
            f"{timezone.get_current_timezone_name()}:{listing.pk}:{digest}")


def _distance(listing: Listing) -> str:
    distance = getattr(listing, "distance_km", None)
    return format_html("<span>{}</span>", km(distance)) if distance is not None else ""


def render_cards(listings: Iterable[Listing]) -> list[SafeString]:
    """The cards of these listings, in order: one cache read for all of them, and a
    template render only for those not cached yet."""
    listings = list(listings)
    keys = [card_key(listing) for listing in listings]
    found = cache.get_many(keys)
    missing = {}
    for key, listing in zip(keys, listings, strict=True):
        if key not in found:
            html = get_template(CARD_TEMPLATE).render(
                {"listing": listing, "distance_slot": DISTANCE_SLOT})
            found[key] = missing[key] = html
    if missing:
        cache.set_many(missing, CARD_CACHE_SECONDS)
    return [
        mark_safe(found[key].replace(DISTANCE_SLOT, _distance(listing), 1))
        for key, listing in zip(keys, listings, strict=True)
    ]
