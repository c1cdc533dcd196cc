"""The home page: hero, kind shortcuts, a few cards per kind, category shortcuts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from listings.models import Kind, Photo, Status, Terms
from tests.factories import ListingFactory, RideFactory, ServiceFactory, category

pytestmark = pytest.mark.django_db

URL = reverse("home")


def section(response, key: str) -> list[str]:
    [found] = [s for s in response.context["sections"] if s.key == key]
    return [listing.title for listing in found.listings]


def test_it_renders_without_any_listing(client):
    response = client.get(URL)

    body = response.content.decode()
    assert response.status_code == 200
    assert 'class="hero"' in body
    assert f'href="{reverse("listings:list")}"' in body
    assert f'href="{reverse("listings:create")}"' in body
    assert "Post a listing" in body
    assert "No rides planned yet." in body
    assert "Nobody is looking for anything yet." in body


def test_it_shows_each_kind_in_its_own_section(client):
    ListingFactory(title="Ladder")
    RideFactory(title="To Geneva")
    ServiceFactory(title="Italian lessons")
    ListingFactory(title="Looking for a tent", kind=Kind.WANTED, terms=Terms.LEND,
                   category=category("camping"))

    response = client.get(URL)

    assert section(response, "items") == ["Ladder"]
    assert section(response, "rides") == ["To Geneva"]
    assert section(response, "services") == ["Italian lessons"]
    assert section(response, "wanted") == ["Looking for a tent"]
    body = response.content.decode()
    for title in ("Ladder", "To Geneva", "Italian lessons", "Looking for a tent"):
        assert title in body


def test_it_shows_only_public_listings(client):
    ListingFactory(title="Paused ladder", status=Status.PAUSED)
    ListingFactory(title="Removed ladder", status=Status.REMOVED)
    RideFactory(title="Gone ride", departs_at=timezone.now() - timedelta(hours=1))

    body = client.get(URL).content.decode()

    assert "Paused ladder" not in body
    assert "Removed ladder" not in body
    assert "Gone ride" not in body


def test_upcoming_rides_come_soonest_first_and_sections_stay_small(client):
    now = timezone.now()
    for days in (5, 1, 3, 2, 4, 6):
        RideFactory(title=f"In {days} days", departs_at=now + timedelta(days=days))
    for n in range(6):
        ListingFactory(title=f"Item {n}", created_at=now - timedelta(hours=n))

    response = client.get(URL)

    assert section(response, "rides") == ["In 1 days", "In 2 days", "In 3 days", "In 4 days"]
    assert section(response, "items") == ["Item 0", "Item 1", "Item 2", "Item 3"]


def test_kind_and_category_shortcuts_link_to_the_browse_page(client):
    body = client.get(URL).content.decode()

    browse = reverse("listings:list")
    for kind in ("item", "ride", "service", "wanted"):
        assert f'href="{browse}?kind={kind}"' in body
    assert f'href="{browse}?category=tools"' in body
    assert f'href="{browse}?category=rides"' in body
    assert "power-tools" not in body  # only the first level of the tree


def test_a_category_shortcut_lists_that_category_and_its_children(client):
    ListingFactory(title="Drill", category=category("power-tools"))
    ListingFactory(title="Rake", category=category("garden-tools"))

    response = client.get(reverse("listings:list"), {"category": "tools"})

    assert [listing.title for listing in response.context["page_obj"]] == ["Drill"]


def _one_of_each_kind_with_photos() -> None:
    for listing in (
        ListingFactory(),
        RideFactory(),
        ServiceFactory(),
        ListingFactory(kind=Kind.WANTED, terms=Terms.GIVE),
    ):
        Photo.objects.create(listing=listing, image="listings/x.webp",
                             thumbnail="listings/x-thumb.webp", width=480, height=360)


def test_the_number_of_queries_does_not_grow_with_the_listings(client):
    _one_of_each_kind_with_photos()
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for _ in range(5):
        _one_of_each_kind_with_photos()
    with CaptureQueriesContext(connection) as many:
        response = client.get(URL)

    assert all(len(s.listings) == 4 for s in response.context["sections"])
    assert len(few) == len(many)
    # One query per section, one for all their photos, one for the categories.
    assert len(many) <= 6
    assert "x-thumb.webp" in response.content.decode()


def test_a_member_sees_the_same_home_page(member_client):
    ListingFactory(title="Ladder")

    response = member_client.get(URL)

    assert response.status_code == 200
    assert "Ladder" in response.content.decode()
