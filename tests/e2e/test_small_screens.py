"""Every public page is usable on a 360 px phone: nothing scrolls sideways, the menu
opens, and French is one click away."""

import re

import pytest
from playwright.sync_api import expect

from tests.factories import ListingFactory, MemberFactory, RideFactory, ServiceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def marketplace():
    owner = MemberFactory(display_name="Claire Dupont")
    drill = ListingFactory(owner=owner, title="Perceuse à percussion Bosch",
                           description="Très puissante, avec une mallette et deux batteries.")
    RideFactory(owner=owner)
    ServiceFactory(owner=owner)
    return {"owner": owner, "drill": drill}


def assert_fits(page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width}px wide on a {width}px screen"


def test_public_pages_fit_a_360_px_phone(page, live_server, marketplace, screenshot):
    page.set_viewport_size({"width": 360, "height": 740})
    paths = [
        "/", "/listings/", f"/listings/{marketplace['drill'].pk}/",
        f"/members/{marketplace['owner'].pk}/", "/accounts/login/", "/accounts/signup/",
        "/listings/?q=perceuse&near=Annecy", "/offline/", "/no-such-page/",
    ]
    for path in paths:
        page.goto(live_server.url + path)
        assert_fits(page, 360)
    page.goto(live_server.url + "/listings/")
    screenshot("listings-360")


def test_a_members_pages_fit_a_360_px_phone(page, live_server, marketplace, password):
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Email").fill(marketplace["owner"].email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Log in")).to_have_count(0)
    for path in ["/", "/notifications/", "/exchanges/", "/listings/mine/", "/listings/new/",
                 "/listings/new/item/", "/listings/new/ride/", "/members/me/edit/",
                 "/members/me/location/", f"/listings/{marketplace['drill'].pk}/"]:
        page.goto(live_server.url + path)
        assert_fits(page, 360)


def test_a_visitor_switches_to_french_from_the_menu(page, live_server, marketplace):
    page.goto(live_server.url + "/")
    page.locator("details.menu > summary").click()
    page.get_by_label("Language").select_option("fr")
    page.locator(".language-form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.locator("body")).to_contain_text(re.compile("Parcourir|Rechercher"))
