"""On a phone: search, save the search, see it in "My saved searches", delete it.
The live socket cannot connect to the WSGI live server: the pages must not mind."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from listings.models import SavedSearch
from tests.factories import ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_member_saves_a_search_and_deletes_it(page, live_server, screenshot):
    member = MemberFactory(display_name="Camille")
    ListingFactory(title="Bosch cordless drill")
    client = Client()
    client.force_login(member)
    page.context.add_cookies([{
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": live_server.url,
    }])

    page.goto(live_server.url + "/listings/?q=drill&near=Annecy")
    page.get_by_label("Also send me a daily email").check()
    screenshot("results-with-save-form")
    page.get_by_role("button", name="Save this search").click()

    expect(page.get_by_role("heading", name="My saved searches")).to_be_visible()
    expect(page.get_by_role("link", name="drill · within 10 km of Annecy (FR)")).to_be_visible()
    expect(page.get_by_text("Notifications and a daily email")).to_be_visible()
    # Never connected, so never "offline": no banner on a server without websockets.
    expect(page.locator(".live-offline")).to_have_count(0)
    screenshot("saved-searches")
    assert SavedSearch.objects.get(owner=member).notify_email

    page.get_by_role("button", name="Delete “drill · within 10 km of Annecy (FR)”").click()
    expect(page.get_by_text("You have no saved searches yet.")).to_be_visible()
    screenshot("saved-searches-empty")
    assert not SavedSearch.objects.exists()
