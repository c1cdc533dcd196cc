"""A newcomer's first visit, on a phone: sign up, verify the email, post a listing with
a photo, and find it by searching."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.factories import image_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_new_member_signs_up_posts_a_listing_with_a_photo_and_finds_it(
    page, live_server, screenshot, tmp_path
):
    page.goto(live_server.url + "/")
    page.locator("details.menu > summary").click()
    page.get_by_role("link", name="Sign up").click()

    page.get_by_label("Email").fill("camille@example.com")
    page.get_by_label("Display name").fill("Camille R.")
    page.get_by_label(re.compile(r"^Password:?$")).fill("a-long-and-unusual-phrase-7")
    page.get_by_label("Password again").fill("a-long-and-unusual-phrase-7")
    terms = page.get_by_label(re.compile("I accept the terms of use"))
    expect(terms).to_have_attribute("required", "")
    terms.check()
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Confirm your email address")).to_be_visible()

    # The verification link arrives by email; until then the member is not signed in.
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[0].body).group(0)
    page.goto(link.replace(re.match(r"https?://[^/]+", link).group(0), live_server.url))
    page.get_by_role("button", name="Confirm").click()

    page.goto(live_server.url + "/listings/new/")
    page.get_by_role("link", name=re.compile("Tool or item")).click()
    page.get_by_label("Lend").check()
    page.get_by_label("Title").fill("Ryobi hedge trimmer")
    page.get_by_label("Description").fill("Cordless, two batteries, ideal for a small garden.")
    page.get_by_label("Category").select_option(label="Garden tools")
    page.get_by_label("Condition").select_option(label="Good")
    page.get_by_label("Town").fill("Annecy")
    page.get_by_role("button", name="Publish").click()

    photo = tmp_path / "trimmer.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(1200, 900), color=(60, 140, 60)))
    page.get_by_label("Photo", exact=True).set_input_files(str(photo))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("img[src*='/media/listings/']").first).to_be_visible()

    page.get_by_label("Search listings").fill("hedge trimmer")
    page.get_by_label("Search listings").press("Enter")
    card = page.locator("article.card", has_text="Ryobi hedge trimmer")
    expect(card).to_be_visible()
    expect(card.locator("img")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot = screenshot("search-finds-new-listing")
    assert shot.stat().st_size > 10_000
