"""A page that is not found shows the site's own page, also under DEBUG (`make run`)."""

from __future__ import annotations

import pytest

from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db

SITE_PAGE = "We could not find that page"


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def test_an_unknown_address_shows_the_site_page(client, debug):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert SITE_PAGE in page
    assert "Using the URLconf" not in page  # Django's technical page lists the patterns
    assert "style-src" in response["Content-Security-Policy"]


def test_a_view_that_finds_nothing_shows_the_site_page(client, debug):
    listing = ListingFactory(status="removed")
    response = client.get(listing.get_absolute_url())
    assert response.status_code == 404
    assert SITE_PAGE in response.content.decode()


def test_a_view_own_404_page_is_kept(client, debug):
    listing = ListingFactory(status="paused")
    response = client.get(listing.get_absolute_url())
    assert response.status_code == 404
    assert "This listing is paused" in response.content.decode()


def test_the_technical_page_can_be_asked_for(client, settings):
    settings.DEBUG = True
    settings.DEBUG_TECHNICAL_404 = True
    assert "Using the URLconf" in client.get("/no-such-page/").content.decode()
