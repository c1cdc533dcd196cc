"""Getting around on a phone and on a laptop: the whole menu is reachable on every phone
size, the main actions sit in a tab bar on phones (with the unread counts) and in the
header on a laptop, and twenty results fit in a few screens on a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from messaging.conversations import conversation_for_listing, message_post
from tests.factories import PASSWORD, ListingFactory, MemberFactory, RideFactory, ServiceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONES = [(360, 640), (375, 667), (390, 664), (390, 844)]


def new_page(browser, width: int, height: int, locale: str = "en-GB"):
    context = browser.new_context(viewport={"width": width, "height": height}, locale=locale,
                                  device_scale_factor=1, is_mobile=width < 900,
                                  has_touch=width < 900)
    return context, context.new_page()


def log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + reverse("account_login"))
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=login]) [type=submit]").first.click()
    expect(page).not_to_have_url(re.compile("/accounts/login/"))


def shot(page, output_path, name: str) -> None:
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"))


@pytest.fixture
def alice():
    return MemberFactory(email="alice@example.com", display_name="Alice Martin")


@pytest.mark.parametrize(("width", "height"), PHONES)
def test_the_whole_menu_is_reachable_and_log_out_works_on_every_phone(
        browser, live_server, alice, width, height, output_path):
    context, page = new_page(browser, width, height)
    try:
        log_in(page, live_server.url, alice.email)
        page.locator("details.menu > summary").click()
        panel = page.locator(".menu-panel")
        # Every entry can be brought on screen inside the panel, down to the last one.
        for name in ["Account", "My data"]:
            link = panel.get_by_role("link", name=name)
            link.scroll_into_view_if_needed()
            box = link.bounding_box()
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, (name, box)
        panel_box = panel.bounding_box()
        assert panel_box["y"] + panel_box["height"] <= height, panel_box
        panel.get_by_role("button", name="Log out").scroll_into_view_if_needed()
        shot(page, output_path, f"menu-{width}x{height}")
        panel.get_by_role("button", name="Log out").click(timeout=5000)
        expect(page.locator("details.menu .menu-panel")).to_contain_text("Log in")
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), [(375, 667), (390, 664)])
def test_a_member_switches_language_from_the_menu_on_a_short_phone(
        browser, live_server, alice, width, height):
    context, page = new_page(browser, width, height)
    try:
        log_in(page, live_server.url, alice.email)
        page.locator("details.menu > summary").click()
        page.get_by_label("Language").select_option("fr", timeout=5000)
        page.locator(".language-form button[type=submit]").click(timeout=5000)
        expect(page.locator("html")).to_have_attribute("lang", "fr")
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
@pytest.mark.parametrize(("width", "height"), [(360, 640), (390, 844)])
def test_the_tab_bar_keeps_the_main_actions_one_tap_away_on_a_phone(
        browser, live_server, alice, width, height, locale, output_path):
    bob = MemberFactory(display_name="Bob")
    drill = ListingFactory(owner=alice)
    message_post(conversation=conversation_for_listing(listing=drill, member=bob),
                 sender=bob, body="Is it free on Saturday?")
    context, page = new_page(browser, width, height, locale)
    try:
        log_in(page, live_server.url, alice.email)
        page.goto(live_server.url + reverse("listings:list"))
        bar = page.locator("nav.tab-bar")
        expect(bar).to_be_visible()
        links = bar.get_by_role("link")
        expect(links).to_have_count(4)
        expect(bar.locator(".tab-label")).to_have_text(["Browse", "Post", "Messages", "Notifications"]
                                   if locale == "en-GB" else
                                   ["Parcourir", "Publier", "Messages", "Notifications"])
        # The bar stays on screen: its bottom edge is the screen's.
        box = bar.bounding_box()
        assert abs(box["y"] + box["height"] - height) <= 1, box
        expect(bar.locator('[data-live-count="messages"]')).to_have_text("1")
        expect(bar.get_by_role("link", name=re.compile("^Messages, 1 (unread|non lu)$"))).to_be_visible()
        expect(bar.locator('[aria-current="page"]')).to_have_attribute(
            "href", reverse("listings:list"))
        shot(page, output_path, f"tab-bar-{width}-{locale}")
        # The header keeps to the brand, the search and the menu on a phone.
        expect(page.locator(".header-nav")).to_be_hidden()
        expect(page.locator(".header-row > .notif-link").first).to_be_hidden()
        links.nth(1).click()
        expect(page).to_have_url(re.compile(reverse("listings:create") + "$"))
        links.nth(2).click()
        expect(page).to_have_url(re.compile(reverse("conversations:inbox") + "$"))
        links.nth(3).click()
        expect(page).to_have_url(re.compile(reverse("notifications:list") + "$"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()


def test_a_visitor_has_browse_post_and_log_in_in_the_tab_bar(browser, live_server):
    context, page = new_page(browser, 360, 640)
    try:
        page.goto(live_server.url + "/")
        bar = page.locator("nav.tab-bar")
        expect(bar.locator(".tab-label")).to_have_text(["Browse", "Post", "Log in"])
    finally:
        context.close()


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_a_laptop_shows_the_main_navigation_in_the_header(browser, live_server, alice,
                                                          locale, output_path):
    context, page = new_page(browser, 1280, 800, locale)
    try:
        log_in(page, live_server.url, alice.email)
        page.goto(live_server.url + reverse("home"))
        nav = page.locator(".header-nav")
        expect(nav).to_be_visible()
        expect(nav.get_by_role("link")).to_have_count(3)
        for link in nav.get_by_role("link").all():
            expect(link).to_be_visible()
        expect(page.locator(".header-row > .notif-link")).to_have_count(2)
        for link in page.locator(".header-row > .notif-link").all():
            expect(link).to_be_visible()
        expect(page.locator("nav.tab-bar")).to_be_hidden()
        # One row of header: the navigation sits beside the brand, not under it.
        brand, first = page.locator(".brand").bounding_box(), nav.get_by_role("link").first.bounding_box()
        menu = page.locator("details.menu > summary").bounding_box()
        for box in (first, menu):
            assert abs(brand["y"] + brand["height"] / 2 - box["y"] - box["height"] / 2) < 12, box
        shot(page, output_path, f"header-1280-{locale}")
    finally:
        context.close()


@pytest.fixture
def twenty_results(alice):
    for n in range(7):
        ListingFactory(owner=alice, title=f"Cordless drill number {n} with two batteries")
        RideFactory(owner=alice)
        if n < 6:
            ServiceFactory(owner=alice)


@pytest.mark.parametrize("locale", ["en-GB", "fr-FR"])
def test_twenty_results_fit_in_a_few_screens_on_a_phone_and_a_grid_on_a_laptop(
        browser, live_server, twenty_results, locale, output_path):
    context, page = new_page(browser, 360, 640, locale)
    try:
        page.goto(live_server.url + reverse("listings:list"))
        cards = page.locator("#results .card")
        expect(cards).to_have_count(20)
        shot(page, output_path, f"results-360-{locale}")
        height = page.locator("#results .grid").bounding_box()["height"]
        # A card per screen made ~8,700 px; compact rows take ~2,600 (English) to ~2,900 (French).
        assert height <= 3500, f"20 results take {height}px on a 360 px phone"
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.set_viewport_size({"width": 1280, "height": 800})
        first, second = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
        assert first["y"] == second["y"] and second["x"] > first["x"], (first, second)
        shot(page, output_path, f"results-1280-{locale}")
    finally:
        context.close()


def test_menu_and_tab_bar_work_without_javascript(browser, live_server, alice):
    context = browser.new_context(viewport={"width": 375, "height": 667}, locale="en-GB",
                                  java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server.url, alice.email)
        page.locator("nav.tab-bar").get_by_role("link").nth(2).click()
        expect(page).to_have_url(re.compile(reverse("conversations:inbox") + "$"))
        page.locator("details.menu > summary").click()
        page.locator(".menu-panel").get_by_role("button", name="Log out").click(timeout=5000)
        expect(page.locator("nav.tab-bar")).to_contain_text("Log in")
    finally:
        context.close()
