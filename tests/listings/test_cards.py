"""Cached listing cards (listings/cards.py): an edit shows on the very next request,
whatever changed, and the distance from the place searched is never cached."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from listings import services
from listings.cards import card_key, render_cards
from listings.models import Listing, Status
from listings.selectors import with_owner_rating
from listings.services import ListingData
from reviews.models import Reputation
from tests.factories import ListingFactory, category, image_upload

pytestmark = pytest.mark.django_db

SEARCH = reverse("listings:list")
MINE = reverse("listings:mine")


@pytest.fixture
def drill(alice):
    # Each test reads the page once first, so a stale cached card would show after the edit.
    listing = ListingFactory(owner=alice, title="Cordless drill", price_cents=0,
                             terms="lend")
    return listing


def _search(client, **params) -> str:
    return client.get(SEARCH, params).content.decode()


def _edit(listing: Listing, **changes) -> None:
    data = ListingData(
        terms=listing.terms, title=listing.title, description=listing.description,
        category=listing.category, condition=listing.condition,
        price_cents=listing.price_cents,
    )
    for name, value in changes.items():
        setattr(data, name, value)
    services.listing_update(listing=listing, by=listing.owner, data=data)


def test_a_new_title_shows_at_once(client, drill):
    assert "Cordless drill" in _search(client)

    _edit(drill, title="Hammer drill")

    body = _search(client)
    assert "Hammer drill" in body and "Cordless drill" not in body


def test_a_new_price_shows_at_once(client, drill):
    assert "free loan" in _search(client)

    _edit(drill, price_cents=350)

    body = _search(client)
    assert "3.50 € / day" in body and "free loan" not in body


def test_a_new_photo_shows_at_once(client, drill, settings):
    assert "<img" not in _search(client).split('id="results"')[1]

    photo = services.photo_add(listing=drill, by=drill.owner, upload=image_upload())

    assert photo.thumbnail.url in _search(client)


def test_a_paused_listing_leaves_the_search_and_shows_paused_to_its_owner(client, drill):
    client.force_login(drill.owner)
    assert f'id="listing-{drill.pk}"' in _search(client)
    assert "badge-status" not in client.get(MINE).content.decode()

    services.listing_set_status(listing=drill, by=drill.owner, status=Status.PAUSED)

    assert f'id="listing-{drill.pk}"' not in _search(client)
    mine = client.get(MINE).content.decode()
    assert f'id="listing-{drill.pk}"' in mine and "badge-status" in mine


def test_the_owners_new_rating_and_name_show_at_once(client, drill):
    assert "★" not in _search(client)

    Reputation.objects.create(member=drill.owner, count=2, rating_sum=9,
                              average=Decimal("4.50"))
    drill.owner.display_name = "Alice M."
    drill.owner.save()

    body = _search(client)
    assert "★</span> 4.5" in body and "Alice M." in body


def test_the_distance_is_the_searchers_not_the_cached_one(client, drill):
    near = _search(client, near="Annecy", radius=10)
    far = _search(client, near="Seynod", radius=10)
    anywhere = _search(client)

    distances = [re.findall(r"<span>(about [\d.]+ km)</span>", body) for body in (near, far)]
    assert len(distances[0]) == len(distances[1]) == 1
    assert distances[0] != distances[1]
    card = anywhere.split(f'id="listing-{drill.pk}"')[1].split("</article>")[0]
    assert " km" not in card and "card-distance" not in card


def test_cards_follow_the_language(client, drill):
    assert "Tool or item" in _search(client)
    french = client.get(SEARCH, headers={"Accept-Language": "fr"}).content.decode()
    assert "Outil ou objet" in french and "Tool or item" not in french


def test_a_card_is_rendered_once_then_read_from_the_cache(drill, monkeypatch):
    cache.clear()
    listings = list(with_owner_rating(Listing.objects.for_cards()))
    first = render_cards(listings)
    assert cache.get(card_key(listings[0])) is not None

    # A second render must not touch the template: break it and render again.
    monkeypatch.setattr("listings.cards.get_template", None)
    assert render_cards(listings) == first


def test_any_shown_value_changes_the_key(drill):
    listing = with_owner_rating(Listing.objects.for_cards()).get()
    before = card_key(listing)
    listing.category = category("carpool")
    assert card_key(listing) != before
