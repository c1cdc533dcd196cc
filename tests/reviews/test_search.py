"""Owner ratings on the browse and home pages: shown on every card, joined in the same
query (the count does not grow with the page), and filterable by a minimum."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exchanges.models import ExchangeKind, State
from listings.models import Listing, Status
from reviews import services
from tests.exchanges.factories import listing_for, make_exchange
from tests.factories import ListingFactory, MemberFactory

pytestmark = pytest.mark.django_db

URL = reverse("listings:list")


def rated_owner(*ratings: int, name: str = "Owner"):
    """A member whose public reviews carry these ratings (as a lender)."""
    owner = MemberFactory(display_name=name)
    for rating in ratings:
        exchange = make_exchange(listing=listing_for(ExchangeKind.LOAN, owner),
                                 asker=MemberFactory(), state=State.COMPLETED)
        services.review_submit(exchange=exchange, author=exchange.asker, rating=rating, text="ok")
        services.review_submit(exchange=exchange, author=owner, rating=5, text="ok")
    # The deals' own listings are done with: only the listing a test makes shows.
    Listing.objects.filter(owner=owner).update(status=Status.CLOSED)
    return owner


def titles(response) -> list[str]:
    return sorted(listing.title for listing in response.context["page_obj"])


def count_queries(client, params) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(captured)


def test_cards_show_each_owners_rating(client):
    great = rated_owner(5, 4, name="Grace")
    ListingFactory(owner=great, title="Ladder")
    ListingFactory(owner=MemberFactory(display_name="Newbie"), title="Saw")

    body = client.get(URL, {"q": "ladder or saw"}).content.decode()

    cards = {re.search(r'card-title">([^<]+)<', card).group(1): card
             for card in body.split('<article class="card"')[1:]}
    assert "Rated 4.5 out of 5 from 2 reviews" in cards["Ladder"]
    assert "Rated" not in cards["Saw"]


@pytest.mark.parametrize("params", [{}, {"q": "drill", "near": "Annecy", "sort": "nearest"},
                                    {"min_rating": "4"}])
def test_ratings_cost_no_query_per_listing(client, settings, params):
    settings.LISTINGS_PAGE_SIZE = 50
    for n in range(3):
        ListingFactory(owner=rated_owner(4 + n % 2, name=f"O{n}"), title=f"Drill {n}")
    few = count_queries(client, params)
    for n in range(12):
        ListingFactory(owner=rated_owner(5, name=f"P{n}"), title=f"Drill x{n}")
    many = count_queries(client, params)

    assert few == many
    assert many <= 6  # the bound of tests/listings (no query added for ratings)
    body = client.get(URL, params).content.decode()
    assert body.count('class="rating"') == len(client.get(URL, params).context["page_obj"])


def test_the_search_joins_the_reputation_without_another_query(client):
    ListingFactory(owner=rated_owner(5), title="Drill")
    with CaptureQueriesContext(connection) as captured:
        client.get(URL)
    # The page's rows, not the capped count (which has a LIMIT too).
    listing_query = next(q["sql"] for q in captured if 'FROM "listings_listing"' in q["sql"]
                         and "LIMIT" in q["sql"].upper() and "COUNT(" not in q["sql"].upper())
    assert "reviews_reputation" in listing_query
    assert not any('FROM "reviews_reputation"' in q["sql"] for q in captured)


def test_the_minimum_rating_filter(client):
    ListingFactory(owner=rated_owner(5, 4), title="Four and a half")
    ListingFactory(owner=rated_owner(4), title="Four")
    ListingFactory(owner=rated_owner(2, 3), title="Two and a half")
    ListingFactory(owner=MemberFactory(), title="Unrated")

    assert titles(client.get(URL)) == ["Four", "Four and a half", "Two and a half", "Unrated"]
    assert titles(client.get(URL, {"min_rating": "3"})) == ["Four", "Four and a half"]
    assert titles(client.get(URL, {"min_rating": "4"})) == ["Four", "Four and a half"]
    assert titles(client.get(URL, {"min_rating": "4.5"})) == ["Four and a half"]


def test_the_filter_follows_a_removed_review(client):
    owner = rated_owner(5, 1)
    ListingFactory(owner=owner, title="Drill")
    assert titles(client.get(URL, {"min_rating": "4"})) == []

    low = owner.reviews_received.get(rating=1)
    services.review_remove(review=low)

    assert titles(client.get(URL, {"min_rating": "4"})) == ["Drill"]


@pytest.mark.parametrize("value", ["7", "abc", "-1", "4.49"])
def test_a_bad_minimum_is_a_field_error_and_is_ignored(client, value):
    ListingFactory(owner=MemberFactory(), title="Unrated")

    response = client.get(URL, {"min_rating": value})

    assert response.status_code == 200
    assert response.context["form"].errors["min_rating"]
    assert titles(response) == ["Unrated"]


def test_the_filter_has_a_label_and_counts_as_active(client):
    body = client.get(URL, {"min_rating": "4"}).content.decode()

    field_id = re.search(r'<select name="min_rating"[^>]*id="([^"]+)"', body).group(1)
    assert f'for="{field_id}"' in body
    assert "Owner&#x27;s rating" in body or "Owner's rating" in body
    assert response_active_count(client, {"min_rating": "4"}) == 1


def response_active_count(client, params) -> int:
    return client.get(URL, params).context["filter"].active_count


def test_home_cards_show_ratings_without_a_query_each(client):
    for n in range(3):
        ListingFactory(owner=rated_owner(4, name=f"H{n}"), title=f"Home {n}")

    body = client.get(reverse("home")).content.decode()

    assert body.count("Rated 4.0 out of 5 from 1 review") == 3
