"""What the search page says when nothing matches, and the words its box suggests
(issue 17): the query repeated, broader searches as links that find something, and
"Save this search"."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from listings.demo import seed_demo
from listings.filters import ListingFilter
from listings.models import Kind, Listing, Terms
from tests.factories import ListingFactory, RideFactory, category

pytestmark = pytest.mark.django_db

URL = reverse("listings:list")
ANNECY = (45.8992, 6.1294)
NORTH_OF_ANNECY = (46.05, 6.1294)  # about 17 km: outside 10 km, inside 25


def broader_links(body: str) -> dict[str, str]:
    """label -> href of the broader searches offered."""
    block = re.search(r'<ul class="broader-searches">(.*?)</ul>', body, re.S)
    if block is None:
        return {}
    return {html.unescape(label): html.unescape(href)
            for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', block.group(1))}


def titles_at(client, href: str) -> list[str]:
    return [listing.title for listing in client.get(href).context["page_obj"]]


def test_the_empty_page_repeats_the_words_searched(client):
    body = client.get(URL, {"q": "<b>trampoline</b>"}).content.decode()

    assert "Nothing matches “&lt;b&gt;trampoline&lt;/b&gt;” yet." in body


def test_dropping_a_filter_is_offered_and_the_link_finds_what_it_says(client):
    ListingFactory(title="Cordless drill", category=category("power-tools"))

    response = client.get(URL, {"q": "drill", "kind": Kind.RIDE, "near": "Annecy"})

    assert list(response.context["page_obj"]) == []
    links = broader_links(response.content.decode())
    assert "All kinds, not only “Ride”" in links
    assert titles_at(client, links["All kinds, not only “Ride”"]) == ["Cordless drill"]
    assert "Anywhere" in links
    assert titles_at(client, links["Only “drill”, without the other filters"]) == [
        "Cordless drill",
    ]


def test_a_child_category_offers_its_parent_then_all_categories(client):
    ListingFactory(title="Hammer", category=category("hand-tools"))

    response = client.get(URL, {"q": "hammer", "category": "power-tools"})

    links = broader_links(response.content.decode())
    assert titles_at(client, links["All of “Tools”"]) == ["Hammer"]
    assert titles_at(client, links["All categories, not only “Power tools”"]) == ["Hammer"]


def test_a_wider_radius_is_offered_and_finds_the_listing_further_away(client):
    ListingFactory(title="Ladder", lat=NORTH_OF_ANNECY[0], lng=NORTH_OF_ANNECY[1])

    response = client.get(URL, {"q": "ladder", "near": "Annecy", "radius": "10"})

    links = broader_links(response.content.decode())
    wider = links["Within 25 km instead of 10 km"]
    assert "radius=25" in wider and "near=Annecy" in wider
    assert titles_at(client, wider) == ["Ladder"]
    assert titles_at(client, links["Anywhere"]) == ["Ladder"]


def test_several_words_offer_any_of_them(client):
    ListingFactory(title="Ladder", description="Aluminium.")

    response = client.get(URL, {"q": "ladder trampoline"})

    links = broader_links(response.content.decode())
    assert titles_at(client, links["Any of the words: ladder · trampoline"]) == ["Ladder"]


def test_price_date_and_terms_can_each_be_dropped(client):
    RideFactory(title="To Geneva")
    ListingFactory(title="Sold drill", terms=Terms.SELL, price_cents=9000)

    links = broader_links(client.get(URL, {"terms": Terms.SELL, "price_max": "10"})
                          .content.decode())
    assert titles_at(client, links["Any price"]) == ["Sold drill"]
    assert "Any terms, not only “Sell”" in links

    links = broader_links(client.get(URL, {"kind": Kind.RIDE, "date": "2030-01-01"})
                          .content.decode())
    assert titles_at(client, links["Any departure date"]) == ["To Geneva"]


def test_a_filter_that_did_not_validate_is_not_offered_again(client):
    body = client.get(URL, {"q": "trampoline", "kind": "spaceship"}).content.decode()

    assert not any("kind" in label.lower() for label in broader_links(body))


def test_members_can_save_the_search_that_found_nothing(member_client):
    body = member_client.get(URL, {"q": "trampoline", "near": "Annecy"}).content.decode()

    empty = body[body.index('class="empty-state'):]
    assert f'action="{reverse("listings:saved-create")}"' in empty
    assert 'name="query" value="q=trampoline&amp;near=Annecy"' in empty
    assert "Save this search" in empty

    response = member_client.post(reverse("listings:saved-create"),
                                  {"query": "q=trampoline&near=Annecy"})

    assert response.status_code == 302
    assert member_client.get(reverse("listings:saved")).content.decode().count("trampoline")


def test_visitors_are_asked_to_log_in_to_save_it(client):
    body = client.get(URL, {"q": "trampoline"}).content.decode()

    login = reverse("account_login")
    assert f'href="{login}?next=/listings/%3Fq%3Dtrampoline"' in body
    assert "Log in to save this search" in body


def test_the_suggestions_cost_no_query():
    from django.http import QueryDict

    data = QueryDict("q=trampoline&category=power-tools&near=Annecy&kind=item&price_max=5")
    listing_filter = ListingFilter(data, queryset=Listing.objects.all())
    list(listing_filter.qs)

    with CaptureQueriesContext(connection) as captured:
        offers = listing_filter.broader_searches()

    assert len(offers) >= 5
    assert len(captured) == 0


def test_no_suggestion_without_filters(client):
    listing_filter = ListingFilter({}, queryset=Listing.objects.all())
    listing_filter.qs  # noqa: B018

    assert listing_filter.broader_searches() == []


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_search_box_suggests_words_that_find_something(client, language):
    seed_demo()
    client.cookies["django_language"] = language

    body = client.get(URL, HTTP_ACCEPT_LANGUAGE=language).content.decode()
    form = body[body.index('class="filter-form"'):]
    box = re.search(r'<input[^>]*name="q"[^>]*>', form).group(0)
    placeholder = html.unescape(re.search(r'placeholder="([^"]+)"', box).group(1))
    expected = {"en": "bike, ladder, babysitting…", "fr": "vélo, échelle, garde d’enfants…"}

    assert placeholder == expected[language]
    for word in (word.strip(" …") for word in placeholder.split(",")):
        assert client.get(URL, {"q": word}).context["page_obj"].object_list, word
    # The header's box on every page, too.
    header = html.unescape(re.search(r'id="header-q"[^>]*placeholder="([^"]+)"', body).group(1))
    for word in (w.strip(" …") for w in header.removeprefix("Search ").split(",")):
        assert client.get(URL, {"q": word}).context["page_obj"].object_list, word
